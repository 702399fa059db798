"""What the meter sources share: French local time, day windows, and reading replies.

Enedis, GRDF and the Linky meter speak in Paris local time ("2024-03-31 02:30:00" is a
wall-clock time); series are stored in UTC epoch seconds, so every conversion goes through
:data:`PARIS`. Days are half-open: ``[start, end)``, as the APIs want them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from .sdk import HttpResponse, RateLimited, ServiceDown

__all__ = [
    "PARIS",
    "add_months",
    "day_epoch",
    "local_epoch",
    "local_today",
    "parse_day",
    "read_json",
    "retry_after",
    "shed_transient",
    "windows",
]

PARIS = ZoneInfo("Europe/Paris")


def parse_day(text: str) -> dt.date:
    return dt.date.fromisoformat(text[:10])


def day_epoch(day: dt.date, tz: dt.tzinfo = PARIS) -> int:
    """Epoch seconds of local midnight starting ``day``."""
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=tz).timestamp())


def local_epoch(text: str, tz: dt.tzinfo = PARIS) -> int:
    """Epoch seconds of ``"2024-01-02 03:30:00"``, ``"2024-01-02T03:30"`` or an ISO time
    with an offset; a naive time is local to ``tz``.

    In the autumn hour that happens twice, a naive time is read as the first one (fold=0).
    """
    parsed = dt.datetime.fromisoformat(text.strip().replace(" ", "T", 1))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return int(parsed.timestamp())


def local_today(now: dt.datetime, tz: dt.tzinfo = PARIS) -> dt.date:
    return now.astimezone(tz).date()


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` moved by ``months`` (negative: back), clamped to the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    for last in (31, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, last))
        except ValueError:
            continue
    raise AssertionError("unreachable")  # pragma: no cover


def windows(start: dt.date, end: dt.date, days: int) -> Iterator[tuple[dt.date, dt.date]]:
    """``[start, end)`` cut in consecutive windows of at most ``days`` days."""
    step = dt.timedelta(days=days)
    while start < end:
        stop = min(start + step, end)
        yield start, stop
        start = stop


def retry_after(headers: Mapping[str, str], default: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date)."""
    value = headers.get("Retry-After") or headers.get("retry-after")
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        from email.utils import parsedate_to_datetime  # noqa: PLC0415 - rare path

        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def shed_transient(resp: HttpResponse, service: str) -> None:
    """Raise for a 429 or a 5xx the HTTP client handed back (it normally raises them)."""
    if resp.status == 429:
        raise RateLimited(f"{service} says too many requests", retry_after(resp.headers))
    if resp.status >= 500:
        raise ServiceDown(f"{service} answered HTTP {resp.status}")


async def read_json(resp: HttpResponse, service: str) -> Any:
    """The body as JSON; an empty or malformed body means the service is not well."""
    body = await resp.read()
    if not body.strip():
        raise ServiceDown(f"{service} sent an empty answer (HTTP {resp.status})")
    try:
        return json.loads(body)
    except ValueError as err:
        raise ServiceDown(
            f"{service} sent something that is not JSON (HTTP {resp.status})"
        ) from err
