"""Unattended unlock in the daemon: watch for the key file while the box starts locked.

After a restart the box is locked. When the owner opted in (``selfdata unattended
enable``), the daemon looks for the key file at the path the vault header names, every
few seconds, and unlocks as soon as it finds it — the USB stick may be mounted after the
daemon started. If the owner locks the box by hand, the watcher stands down until the
next start: an explicit lock is never undone behind the owner's back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .box import Box
from .errors import InputError, VaultError
from .keyfile import read_key_file
from .store import MergeReport

__all__ = ["KeyFileWatcher", "describe"]

log = logging.getLogger(__name__)


def describe(box: Box, *, watching: bool = False, problem: str | None = None) -> dict[str, Any]:
    """Unattended unlock as the API and the CLI report it."""
    settings = box.header.unattended
    return {
        "enabled": settings is not None,
        "path": settings.path if settings else None,
        "watching": settings is not None and watching,
        "problem": problem if settings is not None else None,
    }


class KeyFileWatcher:
    def __init__(
        self,
        box: Box,
        on_unlock: Callable[[MergeReport], None],
        interval: float = 5.0,
    ) -> None:
        self._box = box
        self._on_unlock = on_unlock
        self._interval = interval
        self._stood_down = False
        self._problem: str | None = None
        self._wake = asyncio.Event()

    def status(self) -> dict[str, Any]:
        watching = self._box.locked and not self._stood_down
        return describe(self._box, watching=watching, problem=self._problem)

    def box_changed(self, box: Box) -> None:
        """A state listener (selfdata.api.keys.STATE_LISTENERS): lock, unlock, setup."""
        if box.initialized and box.locked:
            self._stood_down = True  # the owner locked it: leave it so until restart
        self._wake.set()

    def settings_changed(self) -> None:
        """Unattended unlock was turned on, renewed or off: look again now."""
        self._problem = None
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()
            await self.try_once()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._interval)

    async def try_once(self) -> bool:
        box = self._box
        if self._stood_down or not box.initialized or not box.locked:
            return False
        settings = box.header.unattended
        if settings is None:
            return False
        try:
            secret = await asyncio.to_thread(read_key_file, Path(settings.path), box.header.box_id)
            merged = await box.unlock_with_key_file(secret)
        except (InputError, VaultError) as err:
            self._report(err.message)
            return False
        self._problem = None
        log.info("unlocked with the key file at %s (unattended unlock)", settings.path)
        self._on_unlock(merged)
        return True

    def _report(self, problem: str) -> None:
        if problem != self._problem:  # once per new problem, not every few seconds
            level = logging.INFO if problem.startswith("no key file") else logging.WARNING
            log.log(level, "unattended unlock: %s; the box stays locked until it is found", problem)
            self._problem = problem
