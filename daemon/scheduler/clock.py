"""How far to trust the wall clock. A Raspberry Pi has no real-time clock: until NTP
answers, it may believe it is 1970, or the moment it was last shut down.

The clock is trusted when:

* ``SELFDATA_TRUST_CLOCK=1`` is set (the owner vouches for the machine's clock), or
* systemd-timesyncd says it synchronised (``/run/systemd/timesync/synchronized``), or
* where timesyncd is not in charge: the machine has a real-time clock (a Pi 5, a PC),
  or the kernel says an NTP daemon disciplines the clock (``adjtimex``: no
  ``STA_UNSYNC``), or none of these can be asked (then: trusted);

and in every case only if it is later than a floor: this package's build date. Intervals
are measured on the monotonic clock; :meth:`Clock.jumped` tells when the wall clock moved
against it (a sync at boot, an owner fixing the date), so the scheduler re-plans.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import os
import sys
import time
from pathlib import Path

__all__ = ["Clock", "SystemClock", "build_floor"]

SYNCHRONIZED = Path("/run/systemd/timesync/synchronized")
TIMESYNC_DIR = Path("/run/systemd/timesync")
RTC = Path("/sys/class/rtc/rtc0")
_FLOOR_DEFAULT = dt.datetime(2025, 1, 1, tzinfo=dt.UTC).timestamp()
_STA_UNSYNC = 0x0040
JUMP = 120.0


def build_floor() -> float:
    """No earlier than this: the package's files' date (the build date in a .deb)."""
    here = Path(__file__)
    try:
        return max(_FLOOR_DEFAULT, here.stat().st_mtime - 86400)
    except OSError:
        return _FLOOR_DEFAULT


class Clock:
    """The scheduler's clock (tests use :class:`~tests` fakes with the same methods)."""

    def __init__(self) -> None:
        self._offset: float | None = None

    def wall(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def synced(self) -> bool | None:
        """Whether the system says the clock is synchronised (``None``: cannot tell)."""
        return None

    def floor(self) -> float:
        return _FLOOR_DEFAULT

    def trusted(self) -> bool:
        if self.wall() < self.floor():
            return False
        return self.synced() is not False

    def jumped(self) -> float:
        """Seconds the wall clock moved against the monotonic one since last asked
        (0 when less than :data:`JUMP`)."""
        offset = self.wall() - self.monotonic()
        previous, self._offset = self._offset, offset
        if previous is None or abs(offset - previous) < JUMP:
            if previous is not None and abs(offset - previous) >= 1:
                self._offset = previous  # drift: keep the reference
            return 0.0
        return offset - previous

    def mono_of(self, wall: float) -> float:
        """The monotonic time of a wall-clock time (the clock being trusted)."""
        return wall - self.wall() + self.monotonic()

    def wall_of(self, mono: float) -> float:
        return mono - self.monotonic() + self.wall()


class SystemClock(Clock):
    def floor(self) -> float:
        return build_floor()

    def synced(self) -> bool | None:
        if os.environ.get("SELFDATA_TRUST_CLOCK") == "1":
            return True  # the owner vouches for this machine's clock
        if SYNCHRONIZED.exists():
            return True
        if TIMESYNC_DIR.is_dir():
            return False  # timesyncd runs and has not synchronised yet
        if RTC.exists():
            return True  # set from a real-time clock at boot (the floor catches a dead one)
        return _kernel_synced()


def _kernel_synced() -> bool | None:
    buf = (ctypes.c_byte * 512)()  # struct timex, modes = 0: only read
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        state = libc.adjtimex(buf)
    except (OSError, AttributeError):
        return None
    if state < 0:
        return None  # filtered (systemd's ProtectClock=): cannot tell
    at = 5 * ctypes.sizeof(ctypes.c_long)  # after modes, offset, freq, maxerror, esterror
    status = int.from_bytes(bytes(buf)[at : at + 4], sys.byteorder, signed=True)
    return not status & _STA_UNSYNC
