"""systemd glue: READY=1, WATCHDOG=1, STATUS= and journald, when systemd-python is there.

Everything here is a silent no-op elsewhere (a laptop, the test suite without
systemd-python), so the daemon never depends on running under systemd.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

__all__ = ["journal_handler", "notify", "watchdog"]

log = logging.getLogger(__name__)


def _optional(module: str) -> Any:
    try:  # python3-systemd on Debian; the optional extra `systemd` from PyPI
        return importlib.import_module(module)
    except ImportError:  # pragma: no cover - depends on the machine
        return None


_daemon = _optional("systemd.daemon")
_journal = _optional("systemd.journal")


def notify(**fields: str) -> bool:
    """``notify(READY="1", STATUS="Locked")``; False when not under systemd."""
    if _daemon is None or not os.environ.get("NOTIFY_SOCKET"):
        return False
    message = "\n".join(f"{key}={value}" for key, value in fields.items())
    return bool(_daemon.notify(message))


def journal_handler() -> logging.Handler | None:
    """A journald handler when stderr is connected to the journal, else None."""
    if _journal is None or not os.environ.get("JOURNAL_STREAM"):
        return None
    return _journal.JournalHandler(SYSLOG_IDENTIFIER="selfdata")  # type: ignore[no-any-return]


@asynccontextmanager
async def watchdog() -> AsyncIterator[None]:
    """Ping the watchdog at half of ``WATCHDOG_USEC`` while the event loop is healthy.

    Pings come from the event loop itself, so a blocked loop (a hung handler doing
    synchronous work) stops them and systemd restarts the daemon, as intended.
    """
    usec = int(os.environ.get("WATCHDOG_USEC", "0") or 0)
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())) or _daemon is None:
        yield
        return

    async def ping() -> None:
        while True:
            notify(WATCHDOG="1")
            await asyncio.sleep(usec / 2 / 1_000_000)

    task = asyncio.create_task(ping(), name="systemd-watchdog")
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
