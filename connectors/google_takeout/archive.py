"""Which Google export a JSON file is, and how to stream it into the box.

Files are recognised by their first JSON keys, not by their paths: Takeout translates
folder names ("Historique des positions", "Mon activité"), the keys stay the same.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..json_stream import Readable, sniff, stream_items
from ..safe_zip import ArchiveError, SafeZip
from ..sinks import Document, IngestReport, Problem, Sink, SourceFile, batches
from .activity import from_my_activity
from .locations import (
    ACCURACY,
    LAT,
    LON,
    TRIPS,
    VISITS,
    Fix,
    from_records,
    from_semantic,
    from_timeline_segments,
    from_timeline_signals,
)

__all__ = ["KINDS", "ingest_json", "ingest_zip", "kind_of"]

Parser = Callable[[Iterable[Any], str], Iterator[Fix | Document | Problem]]

#: kind -> the (ijson prefix, parser) passes that read it
KINDS: dict[str, tuple[tuple[str, Parser], ...]] = {
    "records": (("locations.item", from_records),),
    "semantic": (("timelineObjects.item", from_semantic),),
    "timeline": (
        ("semanticSegments.item", from_timeline_segments),
        ("rawSignals.item", from_timeline_signals),
    ),
    "timeline-ios": (("item", from_timeline_segments),),
    "activity": (("item", from_my_activity),),
}
_TOP_KEYS = {
    "locations": "records",
    "timelineObjects": "semantic",
    "semanticSegments": "timeline",
    "rawSignals": "timeline",
}
_SEGMENT_KEYS = {"startTime", "endTime", "visit", "activity", "timelinePath"}
_ACTIVITY_KEYS = {"header", "title", "titleUrl", "time", "products", "activityControls"}


def kind_of(head: bytes) -> str | None:
    """The kind of Google export a JSON document is, from its first bytes."""
    events = sniff(head.removeprefix(b"\xef\xbb\xbf"))
    if len(events) < 2:
        return None
    if events[0][1] == "start_map":
        for prefix, event, value in events:
            if prefix == "" and event == "map_key":
                return _TOP_KEYS.get(value)
        return None
    if events[0][1] == "start_array":
        keys = {v for p, e, v in events if p == "item" and e == "map_key"}
        if keys & _SEGMENT_KEYS:
            return "timeline-ios"
        if keys & _ACTIVITY_KEYS:
            return "activity"
    return None


async def ingest_zip(sink: Sink, source: SourceFile, report: IngestReport) -> None:
    with SafeZip(source.file) as archive:
        for name in archive.refused:
            report.problem(name, "an unsafe entry name (absolute or with ..): refused")
        skipped = 0
        for member in archive.members:
            if not member.name.lower().endswith(".json"):
                skipped += 1
                continue
            try:
                with archive.open(member) as reader:
                    kind = kind_of(reader.read(16 * 1024))
                if kind is None:
                    skipped += 1
                    continue
                for prefix, parser in KINDS[kind]:
                    with archive.open(member) as reader:
                        items = parser(stream_items(reader, prefix, member.name), member.name)
                        await _store(sink, report, items)
            except ArchiveError as err:  # this entry is damaged or encrypted: the next may not be
                report.problem(member.name, err.message)
        if skipped:
            report.notes.append(f"{skipped:,} file(s) in the archive hold nothing this box reads")


async def ingest_json(sink: Sink, source: SourceFile, report: IngestReport) -> None:
    """A lone export file: the phone's Timeline.json, or a Records.json taken out of a zip."""
    kind = kind_of(source.head(16 * 1024))
    if kind is None:
        report.problem(source.name, "not a Google location or activity export")
        return
    for prefix, parser in KINDS[kind]:
        source.file.seek(0)
        reader: Readable = source.file
        await _store(sink, report, parser(stream_items(reader, prefix, source.name), source.name))


async def _store(
    sink: Sink, report: IngestReport, items: Iterator[Fix | Document | Problem]
) -> None:
    async for batch in batches(items, 10_000):
        lat: list[tuple[int, float]] = []
        lon: list[tuple[int, float]] = []
        accuracy: list[tuple[int, float]] = []
        docs: dict[str, list[dict[str, Any]]] = {}
        for item in batch:
            if isinstance(item, Fix):
                lat.append((item.ts, item.lat))
                lon.append((item.ts, item.lon))
                if item.accuracy is not None:
                    accuracy.append((item.ts, item.accuracy))
            elif isinstance(item, Problem):
                report.add(item)
            else:
                docs.setdefault(item.doctype, []).append(item.doc)
        if lat:
            await sink.save_series(LAT, lat, "deg")
            await sink.save_series(LON, lon, "deg")
        if accuracy:
            await sink.save_series(ACCURACY, accuracy, "m")
        for doctype, group in docs.items():
            await sink.save(doctype, [await _merged(sink, doctype, doc) for doc in group])


async def _merged(sink: Sink, doctype: str, doc: dict[str, Any]) -> dict[str, Any]:
    """One visit seen by two exports (Semantic History, then the phone's Timeline) is one
    document holding what both said; what was stored first wins a disagreement, so
    importing either export again changes nothing."""
    if doctype not in (VISITS, TRIPS):
        return doc
    old = await sink.stored(doctype, doc["_id"])
    if old is None or old.get("source") == doc.get("source"):
        return doc
    old.pop("_rev", None)
    sources = {*str(old.get("source", "")).split(","), str(doc.get("source", ""))} - {""}
    return doc | old | {"source": ",".join(sorted(sources))}
