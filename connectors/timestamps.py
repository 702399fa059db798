"""Times as exports write them, to epoch seconds and to the ISO strings documents hold."""

from __future__ import annotations

import datetime as dt
import math

__all__ = ["epoch_of", "iso_utc"]

_UTC = dt.UTC
#: 1970 to 2100: anything else in an export is a damaged record, not a time.
_LATEST = 4_102_444_800


def epoch_of(value: object) -> int | None:
    """Epoch seconds of an ISO 8601 string (naive = UTC) or of epoch milliseconds.

    ``None`` when ``value`` is not a plausible time: the caller reports the record.
    """
    seconds: int | None = None
    if isinstance(value, str):
        if value.isdigit() and len(value) < 20:  # Takeout's older "timestampMs": "1493000000000"
            seconds = int(value) // 1000
        else:
            try:
                parsed = dt.datetime.fromisoformat(value)
            except ValueError:
                return None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=_UTC)
            seconds = int(parsed.timestamp())
    elif isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        seconds = int(value) // 1000
    if seconds is None or not 0 <= seconds < _LATEST:
        return None
    return seconds


def iso_utc(epoch: int) -> str:
    return dt.datetime.fromtimestamp(epoch, _UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
