"""What every water export reads: readings (a day's or a month's use, the meter's index)
and the meter they belong to, plus the dates and units those exports spell.

Parsers (:mod:`.csv_export`, :mod:`.json_export`) yield :class:`Reading`, :class:`Meter`
and :class:`~selfdata.connectors.sinks.Problem` values; :mod:`.store` turns them into
series (litres) and a ``selfdata.energy.contracts`` document. A portal connector would
yield the same values from the portal's answers (docs/sources/water.md).
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from ..meters import PARIS

__all__ = [
    "MAX_LITRES",
    "Meter",
    "ParsedDate",
    "Reading",
    "Unit",
    "normalise",
    "parse_date",
    "to_litres",
    "unit_in",
]

Unit = Literal["L", "m3"]
Period = Literal["day", "month"]
#: More than this in one reading is a damaged record (a city's use, not a household's).
MAX_LITRES = 10**10


@dataclass(frozen=True, slots=True)
class Reading:
    #: The day the reading is about (the month's first day for a monthly export).
    day: dt.date
    period: Period
    #: Water used over the period, in litres.
    litres: float | None = None
    #: The meter's index (cumulative volume) at the reading, in litres.
    index_litres: float | None = None
    #: The reading's time, when the export gives one (epoch seconds).
    at: int | None = None
    #: The utility estimated the index instead of reading the meter.
    estimated: bool = False
    #: The meter it belongs to, when the export names it per line.
    meter: str | None = None


@dataclass(frozen=True, slots=True)
class Meter:
    """The meter and contract an export names (in a preamble, a column or its JSON)."""

    meter_id: str
    contract: str | None = None
    supplier: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class ParsedDate:
    day: dt.date
    period: Period
    at: int | None  # epoch seconds when a time of day was given


def normalise(text: str) -> str:
    """Lower case, no accents, single spaces: ``"Index relevé (m³)"`` → ``"index releve (m3)"``."""
    folded = unicodedata.normalize("NFKD", text.replace("³", "3"))
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return " ".join(plain.lower().split())


_UNIT_M3 = re.compile(r"\bm ?3\b|metres? cubes?|\bm3\)")
_UNIT_L = re.compile(r"\blitres?\b|\bliters?\b|\(l\)|\ben l\b")


def unit_in(header: str) -> Unit | None:
    """The unit a column header states: ``(litres)``, ``(litre)``, ``(m3)``, ``m³``…"""
    text = normalise(header)
    if _UNIT_M3.search(text):
        return "m3"
    if _UNIT_L.search(text):
        return "L"
    return None


def to_litres(value: Decimal, unit: Unit) -> float:
    return float(value * 1000 if unit == "m3" else value)


_DAY_FIRST = re.compile(
    r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T]+(\d{1,2})[:h](\d{2})(?::(\d{2}))?)?$"
)
_ISO = re.compile(
    r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$"
)
_MONTH = re.compile(r"^(?:(\d{1,2})[/.-](\d{4})|(\d{4})-(\d{1,2}))$")


def parse_date(text: str) -> ParsedDate | None:
    """The dates water exports write, read in French local time (Europe/Paris):

    ``25/09/2022``, ``25/09/2022 20:00``, ``2022-09-25 20:00:00`` (Veolia Eau
    d'Île-de-France), ``2024-01-02T00:00:00+01:00``, and months: ``09/2022``, ``2022-09``.
    ``None`` when it is none of them or not a real date.
    """
    text = text.strip()
    try:
        if m := _DAY_FIRST.match(text):
            day = dt.date(int(m[3]), int(m[2]), int(m[1]))
            return _with_time(day, m[4], m[5], m[6], None)
        if m := _ISO.match(text):
            day = dt.date(int(m[1]), int(m[2]), int(m[3]))
            return _with_time(day, m[4], m[5], m[6], m[7])
        if m := _MONTH.match(text):
            year, month = (int(m[2]), int(m[1])) if m[1] else (int(m[3]), int(m[4]))
            return ParsedDate(dt.date(year, month, 1), "month", None)
    except ValueError:
        return None
    return None


def _with_time(
    day: dt.date, hour: str | None, minute: str | None, second: str | None, zone: str | None
) -> ParsedDate | None:
    if not 1970 <= day.year < 2100:
        return None
    if hour is None:
        return ParsedDate(day, "day", None)
    moment = dt.datetime(
        day.year, day.month, day.day, int(hour), int(minute or 0), int(second or 0)
    )
    if zone:
        offset = dt.UTC if zone == "Z" else _offset(zone)
        aware = moment.replace(tzinfo=offset).astimezone(PARIS)
    else:
        aware = moment.replace(tzinfo=PARIS)
    return ParsedDate(aware.date(), "day", int(aware.timestamp()))


def _offset(zone: str) -> dt.timezone:
    sign = -1 if zone[0] == "-" else 1
    digits = zone[1:].replace(":", "")
    return dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
