"""A made-up household, deterministic: a year of bank operations, bills, contracts, an
hourly electricity series and the outdoor temperature. Used by the web UI's tests, the
screenshots and benchmarks/webui_pages.py. ``CANARY`` is in a label: it must never be
seen while the box is locked.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import random
import time
from pathlib import Path
from typing import Any

__all__ = [
    "CANARY",
    "END",
    "bank_operations",
    "bills",
    "contracts",
    "drop_folder",
    "electricity",
    "temperature",
]

CANARY = "CANARY-7f3a-webui"
END = dt.date(2025, 3, 1)  # the day after the last data
START = dt.date(2024, 3, 1)


def _days() -> list[dt.date]:
    return [START + dt.timedelta(days=i) for i in range((END - START).days)]


def bills() -> list[dict[str, Any]]:
    out = []
    month = START
    while month < END:
        for vendor, kind, amount in (
            ("EDF", "energy", 92.40),
            ("Free", "telecom", 29.99),
            ("MAIF", "insurance", 41.12),
            ("Eau du Grand Lyon", "water", 24.50),
        ):
            out.append(
                {
                    "_id": f"bill-{vendor[:3].lower()}-{month:%Y%m}",
                    "vendor": vendor,
                    "type": kind,
                    "amount": amount,
                    "currency": "EUR",
                    "date": (month + dt.timedelta(days=4)).isoformat(),
                }
            )
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return out


def bank_operations() -> list[dict[str, Any]]:
    rng = random.Random(7)
    ops: list[dict[str, Any]] = []
    for bill in bills():
        day = dt.date.fromisoformat(bill["date"]) + dt.timedelta(days=2)
        ops.append(
            {
                "label": f"PRLV SEPA {bill['vendor'].upper()}",
                "amount": -bill["amount"],
                "date": day.isoformat(),
                "currency": "EUR",
                "automaticCategoryId": "401080",
            }
        )
    for day in _days():
        if day.day == 28:
            ops.append(
                {
                    "label": "VIR SALAIRE ACME",
                    "amount": 2450.0,
                    "date": day.isoformat(),
                    "currency": "EUR",
                    "automaticCategoryId": "200110",
                }
            )
        if rng.random() < 0.5:
            ops.append(
                {
                    "label": rng.choice(["CB CARREFOUR", "CB MARCHE CROIX-ROUSSE", "CB BIOCOOP"]),
                    "amount": -round(rng.uniform(8, 95), 2),
                    "date": day.isoformat(),
                    "currency": "EUR",
                    "automaticCategoryId": "400110",
                }
            )
        if rng.random() < 0.08:
            ops.append(
                {
                    "label": "CB SNCF",
                    "amount": -round(rng.uniform(20, 80), 2),
                    "date": day.isoformat(),
                    "currency": "EUR",
                    "automaticCategoryId": "400200",
                }
            )
    ops.append(
        {
            "label": f"CB LIBRAIRIE {CANARY}",
            "amount": -18.5,
            "date": "2025-02-20",
            "currency": "EUR",
            "automaticCategoryId": "400700",
        }
    )
    return ops


def contracts() -> list[dict[str, Any]]:
    return [
        {
            "_id": "contract-elec",
            "energy": "electricity",
            "meterId": "09123456789012",
            "supplier": "EDF",
            "tariff": "Heures creuses",
            "subscribedPowerKva": 6,
            "offPeakHours": "22:00-06:00",
        },
        {
            "_id": "contract-water",
            "energy": "water",
            "meterId": "W-42",
            "supplier": "Eau du Grand Lyon",
        },
    ]


def _wobble(key: int, scale: float) -> float:
    """A repeatable offset in [-scale, scale] for ``key`` (a day, an hour): real data is
    never a smooth curve."""
    return (random.Random(key).random() * 2 - 1) * scale


def temperature_at(ts: int) -> float:
    day = (ts - 1_709_251_200) / 86400  # days since 2024-03-01
    seasonal = 12 - 9 * math.cos(2 * math.pi * (day - 320) / 365)
    weather = _wobble(int(day) // 3, 3.0) + _wobble(int(day) + 50_000, 1.0)  # fronts, days
    return round(seasonal + weather + 4 * math.sin(2 * math.pi * (ts % 86400) / 86400 - 2), 1)


def _hours() -> range:
    start = int(dt.datetime(START.year, START.month, START.day, tzinfo=dt.UTC).timestamp())
    end = int(dt.datetime(END.year, END.month, END.day, tzinfo=dt.UTC).timestamp())
    return range(start, end, 3600)


def temperature() -> list[list[float]]:
    return [[ts, temperature_at(ts)] for ts in _hours()]


def electricity(step: int = 3600) -> list[list[float]]:
    """Energy per ``step`` (Wh): a base load, evenings, and heating when it is cold."""
    start, end = _hours()[0], _hours()[-1] + 3600
    out = []
    for ts in range(start, end, step):
        hour = (ts % 86400) / 3600 + 1  # roughly local time in France
        weekend = dt.datetime.fromtimestamp(ts, dt.UTC).weekday() >= 5
        load = 250 + (700 if 18 <= hour < 22 else 0) + (900 if hour >= 23 or hour < 5 else 0)
        load += 350 if weekend and 9 <= hour < 18 else 0  # at home on Saturdays and Sundays
        load *= 1 + _wobble(ts // 3600, 0.25)  # the oven, the kettle, a guest
        heating = max(0.0, 15 - temperature_at(ts)) * 120
        out.append([ts, round((load + heating) * step / 3600, 1)])
    return out


def drop_folder(parent: Path) -> Path:
    """The household's downloads folder, holding a water export a minute old (settled, so
    a drop folder takes it) with a day-first date it cannot read and an empty reading."""
    folder = parent / "Téléchargements"
    folder.mkdir()
    (folder / "eau.csv").write_text(
        "Date de relevé;Index relevé (litres);Consommation du jour (litres);Index Mesuré/Estimé\n"
        "2024-01-28 20:00:00;1412300;401;Mesuré\n"
        "2024-01-29 20:00:00;1412762;462;Estimé\n"
        "hier;1412962;200;Mesuré\n"
        "2024-01-31 20:00:00;;;\n",
        encoding="utf-8",
    )
    os.utime(folder / "eau.csv", (time.time() - 60, time.time() - 60))
    return folder
