"""Énergie: consumption by day, month and year; cost by tariff; weather sensitivity.

Everything starts from *hourly* energy, asked of the series store already downsampled
(``step=1h``): a year is 8,760 points however fine the meter's readings are. Hours are
then placed in the owner's time zone, so days, months and off-peak hours are local.

* A series in ``Wh``/``kWh`` is summed per hour; one in ``W``/``VA`` (power) is averaged
  per hour, which is the energy of that hour in Wh.
* Cost by tariff: the same hours priced under the single-rate ("Base") tariff and the
  peak/off-peak one ("Heures creuses"), with the contract's off-peak hours.
* Weather: daily energy against the day's mean outdoor temperature (an Open-Meteo series
  when present); the slope below 15 °C says how many kWh each colder degree costs.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

__all__ = [
    "DEFAULT_PRICES",
    "ENERGY_UNITS",
    "POWER_UNITS",
    "Prices",
    "TariffCost",
    "daily",
    "heating_sensitivity",
    "hourly_wh",
    "is_temperature",
    "localize",
    "monthly",
    "parse_off_peak",
    "tariff_costs",
    "yearly",
]

ENERGY_UNITS = {"wh": 1.0, "kwh": 1000.0}
POWER_UNITS = {"w", "va", "kw"}
HEATING_BASE_C = 15.0


@dataclass(frozen=True)
class Prices:
    """Euros per kWh, taxes included (subscriptions left out: they do not vary with use)."""

    base: float
    peak: float
    off_peak: float
    source: str


#: France's regulated "Tarif Bleu" from 1 February 2025, per kWh, taxes included.
DEFAULT_PRICES = Prices(0.2016, 0.2146, 0.1696, "default")


def is_temperature(name: str, unit: str) -> bool:
    return "temperature" in name.lower() or unit.strip().lower() in ("°c", "c", "degc")


def hourly_wh(
    points: Iterable[Sequence[float]], unit: str, step: int = 3600
) -> list[tuple[int, float]]:
    """Downsampled points (``sum`` for energy, ``avg`` for power) → Wh per bucket."""
    u = unit.strip().lower()
    if u in ENERGY_UNITS:
        factor = ENERGY_UNITS[u]
        return [(int(t), float(v) * factor) for t, v in points]
    scale = 1000.0 if u == "kw" else 1.0
    return [(int(t), float(v) * scale * step / 3600) for t, v in points]


Local = tuple[dt.date, int, float]  # local day, local hour, value


def _offset(ts: int, zone: ZoneInfo) -> int:
    moment = dt.datetime.fromtimestamp(ts, dt.UTC).astimezone(zone)
    offset = moment.utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def localize(points: Iterable[Sequence[float]], zone: ZoneInfo) -> list[Local]:
    """(epoch, value) → (local day, local hour, value), fast: a year is 8,760 hours.

    The UTC offset is asked of the zone once per UTC day (twice where it changes that
    day, around a DST switch), not once per point.
    """
    out: list[Local] = []
    offsets: dict[int, tuple[int, int] | None] = {}
    epoch = dt.date(1970, 1, 1)
    dates: dict[int, dt.date] = {}
    for t, v in points:
        ts = int(t)
        day = ts // 86_400
        known = offsets.get(day, ())
        if known == ():
            a, b = _offset(day * 86_400, zone), _offset(day * 86_400 + 86_399, zone)
            known = offsets[day] = (a, a) if a == b else None
        offset = known[0] if known else _offset(ts, zone)
        local = ts + offset
        local_day = local // 86_400
        date = dates.get(local_day)
        if date is None:
            date = dates[local_day] = epoch + dt.timedelta(days=local_day)
        out.append((date, (local % 86_400) // 3600, float(v)))
    return out


def _local(ts: int, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, dt.UTC).astimezone(zone)


def daily(hours: Iterable[tuple[int, float]] | list[Local], zone: ZoneInfo) -> dict[dt.date, float]:
    """Energy per local day; accepts (epoch, Wh) or already localized points."""
    out: dict[dt.date, float] = defaultdict(float)
    for day, _, wh in _localized(hours, zone):
        out[day] += wh
    return dict(sorted(out.items()))


def _localized(points: Iterable[Any], zone: ZoneInfo) -> list[Local]:
    items = points if isinstance(points, list) else list(points)
    if items and isinstance(items[0][0], dt.date):
        return items
    return localize(items, zone)


def monthly(days: dict[dt.date, float]) -> dict[tuple[int, int], float]:
    out: dict[tuple[int, int], float] = defaultdict(float)
    for day, wh in days.items():
        out[(day.year, day.month)] += wh
    return dict(sorted(out.items()))


def yearly(days: dict[dt.date, float]) -> dict[int, float]:
    out: dict[int, float] = defaultdict(float)
    for day, wh in days.items():
        out[day.year] += wh
    return dict(sorted(out.items()))


_HOUR = re.compile(r"(\d{1,2})\s*[h:H]\s*(\d{2})?")


def parse_off_peak(text: str | None) -> list[tuple[int, int]]:
    """``"22:00-06:00"``, ``"HC (1H30-7H30 ; 12h30-14h30)"`` → [(start, end)] in minutes.

    Unreadable or missing: the most common French window, 22:00–06:00.
    """
    windows = []
    for part in re.split(r"[;,/]| et | and ", text or ""):
        found = _HOUR.findall(part)
        if len(found) >= 2:
            (h1, m1), (h2, m2) = found[0], found[1]
            start, end = int(h1) * 60 + int(m1 or 0), int(h2) * 60 + int(m2 or 0)
            if 0 <= start < 1440 and 0 <= end <= 1440 and start != end:
                windows.append((start, end))
    return windows or [(22 * 60, 6 * 60)]


def _off_peak_share(hour: int, windows: list[tuple[int, int]]) -> float:
    """Which part of the local hour [hour, hour+1) falls in off-peak windows."""
    lo, hi = hour * 60, hour * 60 + 60
    covered = 0
    for start, end in windows:
        spans = [(start, end)] if start < end else [(start, 1440), (0, end)]
        for a, b in spans:
            covered += max(0, min(hi, b) - max(lo, a))
    return min(1.0, covered / 60)


@dataclass(frozen=True)
class TariffCost:
    kwh: float
    off_peak_kwh: float
    base: float
    peak_off_peak: float
    prices: Prices

    @property
    def off_peak_share(self) -> float:
        return self.off_peak_kwh / self.kwh if self.kwh else 0.0

    @property
    def cheaper(self) -> str:
        return "peak_off_peak" if self.peak_off_peak < self.base else "base"

    @property
    def saving(self) -> float:
        return abs(self.base - self.peak_off_peak)


def tariff_costs(
    hours: Iterable[tuple[int, float]] | list[Local],
    zone: ZoneInfo,
    windows: list[tuple[int, int]],
    prices: Prices,
) -> TariffCost:
    total = off = 0.0
    shares = [_off_peak_share(h, windows) for h in range(24)]
    for _, hour, wh in _localized(hours, zone):
        kwh = wh / 1000
        total += kwh
        off += kwh * shares[hour]
    peak = total - off
    return TariffCost(
        kwh=total,
        off_peak_kwh=off,
        base=total * prices.base,
        peak_off_peak=peak * prices.peak + off * prices.off_peak,
        prices=prices,
    )


@dataclass(frozen=True)
class Sensitivity:
    kwh_per_degree: float
    days: int
    correlation: float


def heating_sensitivity(
    days_kwh: dict[dt.date, float], days_temp: dict[dt.date, float]
) -> Sensitivity | None:
    """Least-squares slope of daily kWh against degrees below 15 °C (days below it)."""
    pairs = [
        (HEATING_BASE_C - days_temp[d], kwh)
        for d, kwh in days_kwh.items()
        if d in days_temp and days_temp[d] < HEATING_BASE_C
    ]
    if len(pairs) < 7:
        return None
    xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
    if len(set(xs)) < 2 or len(set(ys)) < 2:
        return None
    slope, _ = statistics.linear_regression(xs, ys)
    return Sensitivity(slope, len(pairs), statistics.correlation(xs, ys))


def daily_mean(points: Iterable[Sequence[float]], zone: ZoneInfo) -> dict[dt.date, float]:
    """Hourly temperatures → the mean of each local day."""
    acc: dict[dt.date, list[float]] = defaultdict(list)
    for day, _, v in localize(points, zone):
        acc[day].append(v)
    return {d: statistics.fmean(v) for d, v in sorted(acc.items())}
