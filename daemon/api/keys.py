"""Typed keys for everything the aiohttp application holds (no string keys)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from ..backup.service import BackupService
from ..box import Box
from ..config import ServeConfig
from ..handover import HandedFiles
from ..scheduler import Scheduler
from ..tls import Certificate
from ..unattended import KeyFileWatcher
from .auth import LoginGuard, SessionStore
from .tickets import Tickets

__all__ = [
    "BACKUPS",
    "BOX",
    "CERTIFICATE",
    "CONFIG",
    "HANDED_FILES",
    "KEY_FILE_WATCHER",
    "LOGIN_GUARD",
    "SCHEDULER",
    "SESSIONS",
    "STATE_LISTENERS",
    "TICKETS",
    "announce_state",
]

CONFIG = web.AppKey("config", ServeConfig)
BOX = web.AppKey("box", Box)
SESSIONS = web.AppKey("sessions", SessionStore)
LOGIN_GUARD = web.AppKey("login_guard", LoginGuard)
CERTIFICATE = web.AppKey("certificate", Certificate)
#: Called after lock/unlock/setup, e.g. to update systemd's STATUS= line.
STATE_LISTENERS: web.AppKey[list[Callable[[Box], None]]] = web.AppKey("state_listeners", list)
#: Runs the connectors (see selfdata.scheduler).
SCHEDULER = web.AppKey("scheduler", Scheduler)
#: Backup targets and their schedule (see selfdata.backup.service).
BACKUPS = web.AppKey("backups", BackupService)
#: One-time download links (selfdata.api.tickets): the web UI's export.
TICKETS = web.AppKey("tickets", Tickets)
#: Files the CLI hands over on a socket of their own (selfdata.handover).
HANDED_FILES = web.AppKey("handed_files", HandedFiles)
#: Unattended unlock: looks for the key file while the box is locked (selfdata.unattended).
KEY_FILE_WATCHER = web.AppKey("key_file_watcher", KeyFileWatcher)


def announce_state(app: web.Application) -> None:
    """Tell every state listener that the box was set up, locked, unlocked or restored."""
    box = app[BOX]
    for listener in app[STATE_LISTENERS]:
        listener(box)
