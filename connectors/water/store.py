"""Water readings → series in litres and the meter's contract document.

Series (``/{meter}`` when the export names the meter, else without it):

* ``water/daily[/{meter}]`` — litres used per day, at the local midnight starting it;
* ``water/monthly[/{meter}]`` — litres per month (monthly exports), at its first day;
* ``water/index[/{meter}]`` — the meter's index in litres, at the reading's time (its day's
  midnight when the export gives no time; a monthly index at the month's last day).

A point is its time and value, so re-importing an export, or two that overlap, writes the
same points again: nothing doubles. A daily export that gives only the index gets its
daily use from consecutive days' indexes.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

from ..meters import day_epoch
from ..sinks import IngestReport, Note, Problem, Sink, batches, stable_id
from .model import Meter, Reading

__all__ = ["CONTRACTS", "SERIES", "series_name", "store_water"]

CONTRACTS = "selfdata.energy.contracts"
SERIES = "water/"
UNIT = "L"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")

Item = Reading | Meter | Problem | Note


def series_name(kind: str, meter: str | None) -> str:
    key = _UNSAFE.sub("", meter or "")[:64]
    return f"{SERIES}{kind}/{key}" if key else f"{SERIES}{kind}"


async def store_water(sink: Sink, report: IngestReport, items: Iterator[Item], source: str) -> None:
    """Drain a water parser into ``sink``: contracts first, then points, batch by batch."""
    current: str | None = None
    seen_meters: set[str] = set()
    previous: dict[str | None, tuple[dt.date, float]] = {}
    async for batch in batches(items):
        points: dict[str, list[tuple[int, float]]] = {}
        contracts: list[dict[str, Any]] = []
        for item in batch:
            if report.took(item):
                continue
            if isinstance(item, Meter):
                current = item.meter_id
                if item.meter_id not in seen_meters:
                    seen_meters.add(item.meter_id)
                    contracts.append(_contract(item, source))
            elif isinstance(item, Reading):
                meter = item.meter or current
                if item.meter and item.meter not in seen_meters:
                    seen_meters.add(item.meter)
                    contracts.append(_contract(Meter(item.meter), source))
                for name, point in _points(item, meter, previous):
                    points.setdefault(name, []).append(point)
        if contracts:
            await sink.save(CONTRACTS, [await _merged(sink, doc) for doc in contracts])
        for name, pts in points.items():
            await sink.save_series(name, pts, UNIT)


def _points(
    reading: Reading, meter: str | None, previous: dict[str | None, tuple[dt.date, float]]
) -> Iterator[tuple[str, tuple[int, float]]]:
    litres = reading.litres
    if reading.period == "month":
        if litres is not None:
            yield series_name("monthly", meter), (day_epoch(reading.day), litres)
        if reading.index_litres is not None:
            last = _month_end(reading.day)
            yield series_name("index", meter), (day_epoch(last), reading.index_litres)
        return
    if reading.index_litres is not None:
        before = previous.get(meter)
        if litres is None and before is not None:
            day, index = before
            if day + dt.timedelta(days=1) == reading.day and reading.index_litres >= index:
                litres = reading.index_litres - index  # the day's use, told by the index
        previous[meter] = (reading.day, reading.index_litres)
        at = reading.at if reading.at is not None else day_epoch(reading.day)
        yield series_name("index", meter), (at, reading.index_litres)
    if litres is not None:
        yield series_name("daily", meter), (day_epoch(reading.day), litres)


async def _merged(sink: Sink, doc: dict[str, Any]) -> dict[str, Any]:
    """What an earlier export said of the meter (its supplier, say) stays."""
    old = {k: v for k, v in (await sink.stored(CONTRACTS, doc["_id"]) or {}).items() if k != "_rev"}
    return {**old, **doc, "metadata": {**(old.get("metadata") or {}), **doc["metadata"]}}


def _month_end(first: dt.date) -> dt.date:
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def _contract(meter: Meter, source: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": stable_id("water-meter", meter.meter_id),
        "energy": "water",
        "meterId": meter.meter_id[:64],
        "metadata": {"importedFrom": source},
    }
    if meter.supplier:
        doc["supplier"] = meter.supplier[:256]
    if meter.contract:
        doc["vendorId"] = meter.contract[:256]
    if meter.address:
        doc["address"] = meter.address[:512]
    return doc
