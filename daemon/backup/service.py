"""The daemon's backups: configured targets, run on their schedule while the box is unlocked.

The connector scheduler (:mod:`selfdata.scheduler`) runs connector *accounts*; backups
are not accounts, so this is a small loop of its own that reuses its pieces: the same
schedule syntax (``every 1d``, a cron line, ``at unlock``, ``manual``) and the same
distrust of the wall clock before time sync (:class:`~selfdata.scheduler.clock.Clock`).
A backup needs the master key: scheduled runs happen only while the box is unlocked
(``at unlock`` runs one each time the owner unlocks). A failing target is retried after
an hour (or its own period, if shorter); its state flip is logged once.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from ..box import Box
from ..errors import Conflict, SelfdataError
from ..scheduler.clock import Clock, SystemClock
from ..scheduler.triggers import parse_schedule
from .config import TargetConfig, TargetStore
from .engine import BackupReport, run_backup
from .targets import open_target

__all__ = ["BackupService", "backup_ctx"]

log = logging.getLogger(__name__)
TICK = 60.0
RETRY = 3600.0


class BackupService:
    def __init__(self, box: Box, clock: Clock | None = None) -> None:
        self.box = box
        self.clock = clock or SystemClock()
        self._locks: dict[str, asyncio.Lock] = {}
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._unlocked = asyncio.Event()

    @property
    def store(self) -> TargetStore:
        return TargetStore(self.box)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="backups")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def box_changed(self, box: Box) -> None:
        if not box.locked:
            self._unlocked.set()
            self._wake.set()

    # -- running -----------------------------------------------------------------------------

    async def run(self, name: str, trigger: str = "manual") -> BackupReport:
        """Back up to target ``name`` now; one run per target at a time."""
        lock = self._locks.setdefault(name, asyncio.Lock())
        if lock.locked():
            raise Conflict(f"a backup to {name} is already running")
        async with lock:
            store = self.store
            config = await store.get(name)
            started = time.time()
            try:
                target = await open_target(config.url, config.options, store.secrets(config))
                try:
                    report = await run_backup(self.box, target, config.retention)
                finally:
                    await target.close()
            except SelfdataError as err:
                await self._finished(config, started, trigger, error=err.message)
                raise
            await self._finished(config, started, trigger, report=report)
            from ..archive.events import record  # noqa: PLC0415

            await record(
                self.box,
                "backup",
                {
                    "to": name,
                    "url": config.url,
                    "snapshot": report.snapshot,
                    "files": report.blobs,
                    "summary": f"Encrypted backup {report.snapshot} sent to {name} ({config.url})",
                },
            )
            return report

    async def _finished(
        self,
        config: TargetConfig,
        started: float,
        trigger: str,
        *,
        report: BackupReport | None = None,
        error: str | None = None,
    ) -> None:
        was_ok = (config.last or {}).get("ok", True)
        last: dict[str, Any] = {
            "at": started,
            "time": dt.datetime.fromtimestamp(started, dt.UTC).isoformat(timespec="seconds"),
            "trigger": trigger,
            "ok": error is None,
        }
        if report is not None:
            last |= {
                "snapshot": report.snapshot,
                "files": report.blobs,
                "files_sent": report.blobs_sent,
                "bytes_sent": report.bytes_sent,
                "problems": report.problems[:20],
            }
            if not was_ok:
                log.info("backups to %s work again", config.name)
        else:
            last["error"] = (error or "")[:2000]
            if was_ok:
                log.warning("backups to %s are failing: %s", config.name, error)
        with contextlib.suppress(SelfdataError):
            await self.store.record(config.name, last)

    # -- the schedule ------------------------------------------------------------------------------

    async def _loop(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive any one target's bug
                log.exception("the backup scheduler hit a bug; it carries on")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK)

    async def tick(self, now: float | None = None) -> list[str]:
        """Run what is due (the box unlocked, the clock trusted); returns the targets run."""
        at_unlock = self._unlocked.is_set()
        self._unlocked.clear()
        if not self.box.initialized or self.box.locked or not self.clock.trusted():
            return []
        now = self.clock.wall() if now is None else now
        ran = []
        for config in await self.store.all():
            if (
                config.enabled
                and config.name not in self._running()
                and self.due(config, now, at_unlock)
            ):
                ran.append(config.name)
                with contextlib.suppress(SelfdataError):  # recorded in the target's state
                    await self.run(config.name, "schedule")
        return ran

    def _running(self) -> set[str]:
        return {name for name, lock in self._locks.items() if lock.locked()}

    @staticmethod
    def due(config: TargetConfig, now: float, at_unlock: bool = False) -> bool:
        if not config.schedule:
            return False
        schedule = parse_schedule(config.schedule)
        if schedule.manual:
            return False
        if at_unlock and schedule.at_unlock:
            return True
        last = config.last or {}
        last_at = last.get("at")
        if not isinstance(last_at, int | float):
            return schedule.interval is not None or schedule.cron is not None
        if not last.get("ok", True) and now - last_at < min(RETRY, schedule.period):
            return False
        if schedule.interval is not None and now - last_at >= schedule.interval:
            return True
        if schedule.cron is not None:
            following = schedule.next_cron(dt.datetime.fromtimestamp(last_at, dt.UTC))
            return following is not None and following.timestamp() <= now
        return False


async def backup_ctx(app: web.Application) -> AsyncIterator[None]:
    """The backup loop: started after the box, stopped before it (see api/app.py)."""
    from ..api.keys import BACKUPS, BOX, STATE_LISTENERS  # noqa: PLC0415 - api imports us

    service = BackupService(app[BOX])
    app[BACKUPS] = service
    app[STATE_LISTENERS].append(service.box_changed)
    await service.start()
    yield
    await service.close()
