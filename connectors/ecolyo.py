"""Energy series in the shape Grand Lyon's Ecolyo app reads (``com.grandlyon.*``).

Ecolyo (Métropole de Lyon, on Cozy) keeps one document per time step, in kWh and in
local time, with the fields ``load, year, month, day, hour, minute`` (``month`` from 1
to 12; the fields finer than the step are 0)::

    com.grandlyon.enedis.minute  {"load": 0.21, "year": 2024, "month": 3, "day": 14, "hour": 0, "minute": 30}
    com.grandlyon.enedis.day     {"load": 9.4,  "year": 2024, "month": 3, "day": 14, "hour": 0, "minute": 0}
    com.grandlyon.enedis.month   {"load": 301.2, "year": 2024, "month": 3, "day": 0, "hour": 0, "minute": 0}
    com.grandlyon.enedis.year    {"load": 3650.0, "year": 2024, "month": 0, "day": 0, "hour": 0, "minute": 0}

and the same under ``com.grandlyon.grdf.*`` for gas. :func:`ecolyo_documents` turns the
box's series (Enedis in Wh, GRDF in kWh) into those documents, with stable ids so an
export written twice is the same; months and years are sums of the days.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any, Literal

from .meters import PARIS

__all__ = ["Fluid", "Step", "ecolyo_documents"]

Fluid = Literal["enedis", "grdf"]
Step = Literal["minute", "day", "month", "year"]
#: The box's unit per fluid, as a factor to kWh.
_TO_KWH: dict[str, float] = {"enedis": 1 / 1000, "grdf": 1.0}


def ecolyo_documents(
    points: Iterable[tuple[int, float]], fluid: Fluid, step: Step
) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(doctype, document)`` pairs for ``points`` of an energy series.

    ``minute`` keeps each point (a load-curve interval) at its local start; ``day``
    expects daily points (stamped at local midnight); ``month`` and ``year`` add up daily
    points per local month or year.
    """
    factor = _TO_KWH[fluid]
    doctype = f"com.grandlyon.{fluid}.{step}"
    totals: dict[tuple[int, int, int, int, int], float] = {}
    for ts, value in points:
        local = dt.datetime.fromtimestamp(ts, PARIS)
        if step == "minute":
            key = (local.year, local.month, local.day, local.hour, local.minute)
        elif step == "day":
            key = (local.year, local.month, local.day, 0, 0)
        elif step == "month":
            key = (local.year, local.month, 0, 0, 0)
        else:
            key = (local.year, 0, 0, 0, 0)
        totals[key] = totals.get(key, 0.0) + value * factor
    for (year, month, day, hour, minute), load in sorted(totals.items()):
        yield (
            doctype,
            {
                "_id": f"{doctype}:{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}",
                "load": round(load, 6),
                "year": year,
                "month": month,
                "day": day,
                "hour": hour,
                "minute": minute,
            },
        )
