"""GRDF readings, from ADICT's NDJSON or the customer area's JSON, to series.

Gas is measured by volume (m³, the meter's index) and billed by energy: kWh = m³ ×
conversion coefficient (the gas's heating value × the altitude/pressure correction, about
11 kWh/m³), which GRDF publishes with each reading. A *gas day* runs from 6:00 to 6:00;
its points are stamped at the local midnight starting that day, like Enedis's days.

Series (``{pce}`` is the meter's PCE number):

* ``grdf/energy/{pce}`` — kWh per gas day (informative, daily data from Gazpar);
* ``grdf/volume/{pce}`` — m³ per gas day;
* ``grdf/conversion/{pce}`` — kWh/m³, the coefficient used that day;
* ``grdf/billed_energy/{pce}`` and ``grdf/billed_volume/{pce}`` — the published (billed)
  consumption per reading period, at the period's first day.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from typing import Any

from ..history import Batch
from ..meters import day_epoch, parse_day

__all__ = ["STATUS", "adict_batch", "adict_lines", "web_batch"]

#: ADICT's ``statut_restitution`` codes (GRDF "Référentiel des erreurs") and what they mean.
STATUS = {
    "1000000": "consent",  # the customer moved: the PCE is no longer theirs
    "1000001": "consent",  # the access right expired
    "1000002": "consent",  # no access right
    "1000008": "no_data",  # nothing for the requested period
    "1000009": "not_applicable",  # the right does not cover published data
    "1000010": "not_applicable",  # the right does not cover informative data
    "1000011": "consent",  # the proof of consent was refused
    "1000014": "consent",  # the holder withdrew consent
    "2000100": "retry",  # partial technical error: ask again later
}


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def adict_lines(body: bytes) -> Iterator[Mapping[str, Any] | None]:
    """Each NDJSON line as an object (``None`` for a line that is not one)."""
    for line in body.splitlines():
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            yield None
            continue
        yield item if isinstance(item, Mapping) else None


def adict_batch(
    items: list[Mapping[str, Any] | None], pce: str, *, billed: bool
) -> tuple[Batch, list[str]]:
    """Points of ADICT consumption records, and the ``statut_restitution`` codes seen."""
    energy: list[tuple[int, float]] = []
    volume: list[tuple[int, float]] = []
    coeff: list[tuple[int, float]] = []
    problems = 0
    codes: list[str] = []
    for item in items:
        if item is None:
            problems += 1
            continue
        status = item.get("statut_restitution")
        if isinstance(status, Mapping) and status.get("code"):
            codes.append(str(status["code"]))
        conso = item.get("consommation")
        if not isinstance(conso, Mapping):
            continue
        day_text = conso.get("journee_gaziere") or conso.get("date_debut_consommation")
        try:
            ts = day_epoch(parse_day(str(day_text)))
        except ValueError:
            problems += 1
            continue
        kwh, m3 = _number(conso.get("energie")), _number(conso.get("volume_brut"))
        if kwh is None and m3 is None:
            problems += 1
            continue
        if kwh is not None:
            energy.append((ts, kwh))
        if m3 is not None:
            volume.append((ts, m3))
        calc = conso.get("coeff_calcul")
        factor = _number(calc.get("coeff_conversion")) if isinstance(calc, Mapping) else None
        if factor is not None and not billed:
            coeff.append((ts, factor))
    if billed:
        series = {
            f"grdf/billed_energy/{pce}": (energy, "kWh"),
            f"grdf/billed_volume/{pce}": (volume, "m³"),
        }
    else:
        series = {
            f"grdf/energy/{pce}": (energy, "kWh"),
            f"grdf/volume/{pce}": (volume, "m³"),
            f"grdf/conversion/{pce}": (coeff, "kWh/m³"),
        }
    return Batch(series, problems), codes


def web_batch(payload: Any, pce: str) -> Batch:
    """Points of the customer area's ``{pce: {"releves": [...]}}`` answer."""
    releves: Any = []
    if isinstance(payload, Mapping):
        entry = payload.get(pce) or next(iter(payload.values()), None)
        if isinstance(entry, Mapping):
            releves = entry.get("releves") or []
    energy: list[tuple[int, float]] = []
    volume: list[tuple[int, float]] = []
    coeff: list[tuple[int, float]] = []
    problems = 0
    for row in releves if isinstance(releves, list) else []:
        if not isinstance(row, Mapping):
            problems += 1
            continue
        try:
            ts = day_epoch(parse_day(str(row.get("journeeGaziere"))))
        except ValueError:
            problems += 1
            continue
        kwh, m3 = _number(row.get("energieConsomme")), _number(row.get("volumeBrutConsomme"))
        factor = _number(row.get("coeffConversion"))
        if kwh is None and m3 is None:
            continue  # a day GRDF has no reading for yet
        if kwh is not None:
            energy.append((ts, kwh))
        if m3 is not None:
            volume.append((ts, m3))
        if factor is not None:
            coeff.append((ts, factor))
    return Batch(
        {
            f"grdf/energy/{pce}": (energy, "kWh"),
            f"grdf/volume/{pce}": (volume, "m³"),
            f"grdf/conversion/{pce}": (coeff, "kWh/m³"),
        },
        problems,
    )
