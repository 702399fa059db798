"""Enedis "meter_reading" replies → series points, and Enedis error codes → what to do.

One shape for the four kinds, whether it comes from Data Connect v5 itself (wrapped in
``{"meter_reading": …}``), from myElectricalData (the same) or from Conso API (the
inside only)::

    {"usage_point_id": "…", "start": "2024-01-01", "end": "2024-01-08", "quality": "BRUT",
     "reading_type": {"unit": "W", "measurement_kind": "power", "aggregate": "average"},
     "interval_reading": [{"value": "540", "date": "2024-01-01 00:30:00",
                           "interval_length": "PT30M", "measure_type": "B"}, …]}

* daily consumption/production: Wh per local day, ``date`` is the day;
* load curve: mean power in W over ``interval_length`` (PT10M … PT60M), ``date`` is the
  END of the interval; stored as Wh (W × minutes / 60) at the interval's start;
* daily max power: VA, ``date`` is the moment it was reached.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ..history import Kind
from ..meters import PARIS, day_epoch, parse_day
from ..sinks import Problem

__all__ = ["KINDS", "enedis_error", "parse_readings"]


#: Enedis keeps 36 months of daily data and 24 of load curve; a load-curve request may
#: span 7 days at most (ADAM-ERR0126); after 5 empty weeks the curve was not collected.
KINDS: tuple[Kind, ...] = (
    Kind("daily_consumption", 36, 365, series="enedis/daily_consumption/{meter}", unit="Wh"),
    Kind("max_power", 36, 365, series="enedis/max_power/{meter}", unit="VA"),
    Kind("daily_production", 36, 365, series="enedis/daily_production/{meter}", unit="Wh"),
    Kind("load_curve", 24, 7, give_up_after=5, series="enedis/load_curve/{meter}", unit="Wh"),
)
KIND_KEYS = tuple(k.key for k in KINDS)

_INTERVAL = re.compile(r"^PT(\d+)M$")
#: Enedis's own codes; ``technical_error`` is what its 5xx answers carry (as Conso API and
#: myElectricalData relay them: ``{"error": {"error": "technical_error", …}}``).
_CODE = re.compile(
    r"^(ADAM-[A-Z]*-?[A-Z0-9-]+|no_data_found|invalid_request|technical_error)$", re.I
)


def _body(payload: Any) -> Mapping[str, Any] | None:
    if isinstance(payload, Mapping):
        inner = payload.get("meter_reading", payload)
        if isinstance(inner, Mapping):
            return inner
    return None


def parse_readings(kind: Kind, payload: Any) -> tuple[list[tuple[int, float]], list[Problem]]:
    """Points of ``payload`` for ``kind``; unreadable rows are problems, not crashes."""
    body = _body(payload)
    if body is None:
        return [], [Problem(kind.key, "the answer holds no meter_reading")]
    rows = body.get("interval_reading") or []
    if not isinstance(rows, list):
        return [], [Problem(kind.key, "interval_reading is not a list")]
    points: list[tuple[int, float]] = []
    problems: list[Problem] = []
    last = -1
    for row in _rows(rows, problems, kind):
        value_text, date = row["value"], row["date"]
        try:
            value = float(value_text)
            if not math.isfinite(value):
                raise ValueError(value_text)
            if kind.key == "load_curve":
                minutes = _minutes(row.get("interval_length"), body)
                end = _epoch(date, last)
                ts, value = end - minutes * 60, value * minutes / 60
                last = end
            elif kind.key == "max_power":
                ts = _epoch(date, last)
                last = ts
            else:
                ts = day_epoch(parse_day(date))
        except (ValueError, TypeError) as err:
            problems.append(Problem(f"{kind.key} {date}", f"unreadable reading: {err}"))
            continue
        points.append((ts, value))
    return points, problems


def _rows(rows: list[Any], problems: list[Problem], kind: Kind) -> Iterator[Mapping[str, Any]]:
    for row in rows:
        if not isinstance(row, Mapping) or not isinstance(row.get("date"), str):
            problems.append(Problem(kind.key, f"a reading without a date: {str(row)[:80]}"))
            continue
        if row.get("value") is None:
            continue  # Enedis leaves holes as null values
        yield row


def _minutes(interval: object, body: Mapping[str, Any]) -> int:
    if not isinstance(interval, str):
        reading_type = body.get("reading_type")
        if isinstance(reading_type, Mapping):
            interval = reading_type.get("interval_length") or reading_type.get("measuring_period")
    match = _INTERVAL.match(interval if isinstance(interval, str) else "")
    if not match or int(match.group(1)) not in (5, 10, 15, 30, 60):
        raise ValueError(f"unknown interval_length {interval!r}")
    return int(match.group(1))


def _epoch(text: str, last: int) -> int:
    """A local wall-clock time; in the autumn's repeated hour, the second pass (fold=1)
    when the first would not move forward from the previous reading."""
    naive = dt.datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    if naive.tzinfo is not None:
        return int(naive.timestamp())
    ts = int(naive.replace(tzinfo=PARIS).timestamp())
    if ts <= last:
        later = int(naive.replace(tzinfo=PARIS, fold=1).timestamp())
        if later > ts:
            return later
    return ts


def enedis_error(payload: Any) -> tuple[str, str]:
    """``(code, description)`` of an Enedis error, as Enedis, Conso API or myElectricalData
    wrap it: ``{"error": "ADAM-ERR0069", "error_description": …}``, ``{"error": {…}}``,
    ``{"enedis_return": {…}}``. ``("", "")`` when there is none."""
    stack = [payload]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            code = item.get("error") or item.get("code")
            if isinstance(code, str) and _CODE.match(code):
                desc = item.get("error_description") or item.get("message") or ""
                return code, str(desc)
            stack.extend(v for v in item.values() if isinstance(v, Mapping | list))
        elif isinstance(item, list):
            stack.extend(item)
    return "", ""
