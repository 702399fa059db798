"""When an account runs: its schedule, parsed into triggers.

A schedule is one or more triggers separated by ``;``:

* ``every 30m`` / ``every 6h`` / ``every 1d`` — an interval (``s``, ``m``, ``h``, ``d``);
* a cron line, ``30 7 * * *`` (five fields, in the box's local time zone);
* ``at unlock`` — each time the owner unlocks the box;
* ``manual`` — only when the owner asks (alone).

Intervals are measured from the last run's start; cron times need a trusted clock. Both
get a jitter, stable for an account and a due time, so a household's boxes do not all
call a service at 07:30:00.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from croniter import croniter

from ..errors import InputError

__all__ = ["Schedule", "jitter", "parse_schedule"]

_EVERY = re.compile(r"^every\s+(\d+(?:\.\d+)?)\s*([smhd])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_INTERVAL = 30.0
MAX_INTERVAL = 366 * 86400.0


@dataclass(frozen=True)
class Schedule:
    text: str
    interval: float | None = None
    cron: str | None = None
    at_unlock: bool = False

    @property
    def manual(self) -> bool:
        return self.interval is None and self.cron is None and not self.at_unlock

    def next_cron(self, after: dt.datetime) -> dt.datetime | None:
        """The first cron time strictly after ``after`` (aware), in the same zone."""
        if self.cron is None:
            return None
        local = after.astimezone()
        nxt: dt.datetime = croniter(self.cron, local).get_next(dt.datetime)
        return nxt

    def previous_cron(self, before: dt.datetime) -> dt.datetime | None:
        if self.cron is None:
            return None
        prev: dt.datetime = croniter(self.cron, before.astimezone()).get_prev(dt.datetime)
        return prev

    @property
    def period(self) -> float:
        """Roughly how often it fires (for the size of the jitter)."""
        if self.interval is not None:
            return self.interval
        if self.cron is not None:
            base = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
            first = croniter(self.cron, base).get_next(dt.datetime)
            second = croniter(self.cron, first).get_next(dt.datetime)
            return float((second - first).total_seconds())
        return 86400.0


def parse_schedule(text: str) -> Schedule:
    """Parse a schedule; a one-line :class:`InputError` says what is wrong."""
    if not isinstance(text, str) or len(text) > 200:
        raise InputError("a schedule is a short text such as 'every 6h' or '30 7 * * *'")
    parts = [p.strip().lower() for p in text.split(";") if p.strip()]
    if not parts:
        raise InputError("the schedule is empty: use 'manual' for a source you run by hand")
    interval: float | None = None
    cron: str | None = None
    at_unlock = False
    for part in parts:
        if part == "manual":
            if len(parts) > 1:
                raise InputError("'manual' cannot be combined with other triggers")
            continue
        if part in ("at unlock", "after unlock"):
            at_unlock = True
            continue
        if match := _EVERY.match(part):
            seconds = float(match[1]) * _UNITS[match[2]]
            if not MIN_INTERVAL <= seconds <= MAX_INTERVAL:
                raise InputError(f"{part!r}: an interval is between 30 s and a year")
            interval = seconds
            continue
        if len(part.split()) == 5 and croniter.is_valid(part):
            cron = part
            continue
        raise InputError(
            f"{part!r} is not a schedule: use 'every 6h', a cron line such as '30 7 * * *', "
            "'at unlock' or 'manual'"
        )
    return Schedule(text="; ".join(parts), interval=interval, cron=cron, at_unlock=at_unlock)


def jitter(account_id: str, due: float, period: float) -> float:
    """Seconds to add to ``due``: up to 5 % of the period (at most 10 min), stable."""
    span = min(600.0, period * 0.05)
    if span <= 0:
        return 0.0
    digest = hashlib.blake2b(f"{account_id}:{int(due)}".encode(), digest_size=4).digest()
    return span * int.from_bytes(digest, "big") / 2**32
