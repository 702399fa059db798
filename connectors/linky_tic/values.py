"""What a frame means: the meter's id, its apparent power and its energy indexes, and
the one-minute series they become.

Series (``{meter}`` is ADCO/ADSC, the meter's 12-digit address):

* ``linky/{meter}/power`` — VA, the minute's mean of PAPP (historic) or SINSTS (standard);
* ``linky/{meter}/injection`` — VA, the minute's mean of SINSTI (producers, standard);
* ``linky/{meter}/index/{LABEL}`` — Wh, the index at the end of the minute: BASE, HCHC,
  HCHP, EJPHN, EJPHPM, BBRHCJB…BBRHPJR (historic), EAST, EASF01…10, EASD01…04, EAIT
  (standard).

Each point is stamped at the start of its minute (UTC epoch seconds); a minute written
twice (a run restarted) is overwritten, never doubled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .frames import Frame

__all__ = ["INDEX_LABELS", "MinuteSeries", "frame_summary"]

INDEX_LABELS = re.compile(
    r"^(BASE|HCHC|HCHP|EJPHN|EJPHPM|BBRH[CP]J[BWR]|EAST|EASF(0[1-9]|10)|EASD0[1-4]|EAIT)$"
)
POWER = ("SINSTS", "PAPP")


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(int(text))
    except ValueError:
        return None


def frame_summary(frame: Frame) -> dict[str, object]:
    """What an owner checking the wiring wants to see (the probe's output)."""
    power = next((v for v in (_number(frame.get(p)) for p in POWER) if v is not None), None)
    return {
        "mode": frame.mode,
        "meter": frame.meter,
        "tariff": frame.get("OPTARIF") or frame.get("NGTF"),
        "power_va": power,
        "indexes_wh": {
            label: _number(g.value)
            for label, g in frame.groups.items()
            if INDEX_LABELS.match(label) and _number(g.value)
        },
        "bad_groups": frame.bad_groups,
        "groups": {label: g.value for label, g in frame.groups.items()},
    }


@dataclass
class _Minute:
    start: int
    power_sum: float = 0.0
    power_n: int = 0
    inj_sum: float = 0.0
    inj_n: int = 0
    indexes: dict[str, float] = field(default_factory=dict)


@dataclass
class MinuteSeries:
    """Folds frames into one-minute points; :meth:`add` returns the minutes it closed."""

    meter: str | None = None
    _current: _Minute | None = None

    def add(self, frame: Frame, ts: float) -> dict[str, list[tuple[int, float]]]:
        closed: dict[str, list[tuple[int, float]]] = {}
        meter = frame.meter
        if meter is None:
            return closed
        start = int(ts) - int(ts) % 60
        if self._current is not None and (start != self._current.start or meter != self.meter):
            closed = self.flush()
        self.meter = meter
        if self._current is None:
            self._current = _Minute(start)
        minute = self._current
        power = next((v for v in (_number(frame.get(p)) for p in POWER) if v is not None), None)
        if power is not None:
            minute.power_sum += power
            minute.power_n += 1
        injected = _number(frame.get("SINSTI"))
        if injected is not None:
            minute.inj_sum += injected
            minute.inj_n += 1
        for label, group in frame.groups.items():
            if INDEX_LABELS.match(label):
                value = _number(group.value)
                if value is not None:
                    minute.indexes[label] = value
        return closed

    def flush(self) -> dict[str, list[tuple[int, float]]]:
        minute, self._current = self._current, None
        out: dict[str, list[tuple[int, float]]] = {}
        if minute is None or self.meter is None:
            return out
        base = f"linky/{self.meter}"
        if minute.power_n:
            out[f"{base}/power"] = [(minute.start, round(minute.power_sum / minute.power_n, 1))]
        if minute.inj_n:
            out[f"{base}/injection"] = [(minute.start, round(minute.inj_sum / minute.inj_n, 1))]
        for label, value in minute.indexes.items():
            out[f"{base}/index/{label}"] = [(minute.start, value)]
        return out
