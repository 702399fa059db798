"""Water: the consumption history a utility's customer area exports (CSV or JSON).

Daily or monthly use and the meter's index, in litres or m³, from Veolia (Eau
d'Île-de-France, eau-services.com, eau.veolia.fr), Eau du Grand Lyon, Suez "Tout sur mon
eau" and the agencies built like them → series in litres (:mod:`.store`) and, when the
export names the meter, a ``selfdata.energy.contracts`` document.

Parsing is separate from fetching: :mod:`.csv_export` and :mod:`.json_export` turn bytes
into :class:`~.model.Reading` values, and :func:`~.store.store_water` writes them into any
sink — the box for ``selfdata import FILE``, or a connector's ``ctx``. A portal connector
(log in, fetch ``consommationsJournalieres``) would reuse both: docs/sources/water.md.
"""

from __future__ import annotations

from ..sdk import Manifest
from ..sinks import IngestReport, Sink, SourceFile, head_text
from .csv_export import detect_csv, read_csv
from .json_export import detect_json, read_json
from .store import CONTRACTS, SERIES, store_water

__all__ = ["CONTRACTS", "FORMAT", "MANIFEST", "SERIES", "detect", "ingest"]

FORMAT = "water"

MANIFEST = Manifest(
    id="water-files",
    name="Water consumption (utility export)",
    vendor="Any water utility",
    description="Daily or monthly water use and the meter's index from the consumption "
    "history your water utility's customer area exports (CSV or JSON): Veolia, Eau du "
    "Grand Lyon, Suez and others.",
    doctypes=(CONTRACTS,),
    series=(SERIES,),
    schedule="manual",
    category="utilities",
    file_formats=(FORMAT,),
    runs_locked=True,
)


def detect(name: str, head: bytes) -> bool:
    if detect_json(head):
        return True
    text = head_text(head)
    return text is not None and detect_csv(text)


async def ingest(sink: Sink, source: SourceFile, report: IngestReport) -> None:
    source.file.seek(0)
    head = source.head()
    items = read_json(source.file, source.name) if detect_json(head) else None
    if items is None:
        source.file.seek(0)
        items = read_csv(source.file, source.name)
    await store_water(sink, report, items, FORMAT)
