"""Google Takeout: location history, Timeline, and My Activity, from the zip or a JSON file.

Reads, streaming and without extracting anything:

* ``Location History/Records.json`` → series ``location/lat``, ``location/lon``,
  ``location/accuracy`` (one point per fix);
* ``Semantic Location History/<year>/<year>_<MONTH>.json`` → ``selfdata.location.visits``
  and ``selfdata.location.trips``;
* the phone's Timeline export (``Timeline.json``, Android or iOS) → the same visits and
  trips, and its paths and raw positions as fixes;
* ``My Activity/<product>/MyActivity.json`` → ``selfdata.google.activity``.

A multi-GB archive streams through in bounded memory (see :mod:`..safe_zip` and
:mod:`..json_stream`); re-importing it, or an overlapping later Takeout, adds only what
is new.
"""

from __future__ import annotations

from ..safe_zip import first_zip_entry, is_zip
from ..sdk import Manifest
from ..sinks import IngestReport, Sink, SourceFile
from .activity import ACTIVITY
from .archive import ingest_json, ingest_zip, kind_of
from .locations import TRIPS, VISITS

__all__ = ["MANIFEST", "detect", "ingest"]

MANIFEST = Manifest(
    id="google-takeout",
    name="Google Takeout",
    vendor="Google",
    description="Location history, Timeline and My Activity from a Takeout archive or "
    "the phone's Timeline export.",
    doctypes=(VISITS, TRIPS, ACTIVITY),
    series=("location/",),
    schedule="manual",
    category="exports",
    file_formats=("takeout", "google-json"),
    help_url="https://takeout.google.com/",
)


def detect(name: str, head: bytes) -> bool:
    """A Takeout zip (entries under ``Takeout/``) or a Google location/activity JSON."""
    if is_zip(head):
        return first_zip_entry(head).startswith("Takeout/")
    return kind_of(head) is not None


async def ingest(sink: Sink, source: SourceFile, report: IngestReport) -> None:
    if is_zip(source.head(4)):
        await ingest_zip(sink, source, report)
    else:
        await ingest_json(sink, source, report)
