"""Typed keys for everything the aiohttp application holds (no string keys)."""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from ..backup.service import BackupService
from ..box import Box
from ..config import ServeConfig
from ..scheduler import Scheduler
from ..tls import Certificate
from .auth import LoginGuard, SessionStore

__all__ = [
    "BACKUPS",
    "BOX",
    "CERTIFICATE",
    "CONFIG",
    "LOGIN_GUARD",
    "SCHEDULER",
    "SESSIONS",
    "STATE_LISTENERS",
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
