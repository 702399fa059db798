"""The aiohttp application: routes, middlewares, and the resources it owns.

Every resource lives in a ``cleanup_ctx`` in dependency order (the box, then the
certificate, then mDNS), so shutdown releases them in reverse and only if their
start-up finished.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from .. import __version__
from ..backup.service import backup_ctx
from ..box import Box
from ..config import ServeConfig
from ..handover import HandedFiles
from ..scheduler import Scheduler
from ..store import MergeReport
from ..tls import ensure_certificate
from ..unattended import KeyFileWatcher
from ..webui import setup_webui
from .auth import LoginGuard, SessionStore
from .handlers.vault import log_merge
from .keys import (
    BOX,
    CERTIFICATE,
    CONFIG,
    HANDED_FILES,
    KEY_FILE_WATCHER,
    LOGIN_GUARD,
    SCHEDULER,
    SESSIONS,
    STATE_LISTENERS,
    TICKETS,
    announce_state,
)
from .middleware import ROUTE_INFO, access_middleware, error_middleware, security_headers
from .routes import ROUTES
from .tickets import Tickets

__all__ = ["create_app"]

log = logging.getLogger("selfdata")


def create_app(config: ServeConfig) -> web.Application:
    app = web.Application(
        middlewares=[error_middleware, access_middleware],
        client_max_size=config.max_json_body,
    )
    app[CONFIG] = config
    app[SESSIONS] = SessionStore(config.session_idle_seconds, config.session_max_seconds)
    app[LOGIN_GUARD] = LoginGuard()
    app[TICKETS] = Tickets()
    app[STATE_LISTENERS] = []
    app[ROUTE_INFO] = {
        app.router.add_route(route.method, route.path, route.handler): route for route in ROUTES
    }
    app.on_response_prepare.append(security_headers)
    setup_webui(app)
    app.cleanup_ctx.append(_box_ctx)
    app.cleanup_ctx.append(_handed_files_ctx)
    app.cleanup_ctx.append(_scheduler_ctx)
    app.cleanup_ctx.append(backup_ctx)  # selfdata.backup.service: scheduled backups
    app.cleanup_ctx.append(_unattended_ctx)
    if config.tls:
        app.cleanup_ctx.append(_certificate_ctx)
    if config.mdns and config.tls:
        app.cleanup_ctx.append(_mdns_ctx)
    return app


async def _box_ctx(app: web.Application) -> AsyncIterator[None]:
    config = app[CONFIG]
    box = await Box.open(config.data_dir)
    app[BOX] = box
    if not box.initialized:
        code = box.setup_code()
        log.warning(
            "no vault yet: open the web page and enter the setup code %s "
            "(or run `selfdata init` on the box)",
            code,
        )
    yield
    await box.close()


async def _handed_files_ctx(app: web.Application) -> AsyncIterator[None]:
    """Files the CLI hands over (selfdata.handover): the server opens their socket next
    to the admin socket; whatever is still held is closed here."""
    app[HANDED_FILES] = HandedFiles()
    yield
    await app[HANDED_FILES].close()


async def _scheduler_ctx(app: web.Application) -> AsyncIterator[None]:
    """Connector runs (selfdata.scheduler): started after the box, stopped before it."""
    scheduler = Scheduler(app[BOX])
    app[SCHEDULER] = scheduler
    app[STATE_LISTENERS].append(scheduler.box_changed)
    await scheduler.start()
    yield
    await scheduler.close()


async def _unattended_ctx(app: web.Application) -> AsyncIterator[None]:
    """Unattended unlock (selfdata.unattended): last, so its unlock reaches every listener."""

    def unlocked(merged: MergeReport) -> None:
        log_merge(merged)
        announce_state(app)

    watcher = KeyFileWatcher(app[BOX], unlocked, app[CONFIG].key_file_interval)
    app[KEY_FILE_WATCHER] = watcher
    app[STATE_LISTENERS].append(watcher.box_changed)
    task = asyncio.create_task(watcher.run(), name="unattended-unlock")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _certificate_ctx(app: web.Application) -> AsyncIterator[None]:
    app[CERTIFICATE] = ensure_certificate(app[CONFIG].data_dir.tls_dir)
    log.info("HTTPS certificate fingerprint (SHA-256): %s", app[CERTIFICATE].fingerprint)
    yield


async def _mdns_ctx(app: web.Application) -> AsyncIterator[None]:
    """Announce the box on the LAN, in the background: start-up does not wait for it.

    (Probing who owns ``<host>.local`` and registering take a second or two, and mDNS
    is a convenience: the daemon is ready without it.)
    """
    from ..mdns import Announcement, advertise  # noqa: PLC0415 - zeroconf only when used

    announcement = Announcement(
        port=app[CONFIG].port, fingerprint=app[CERTIFICATE].fingerprint, version=__version__
    )
    stop = asyncio.Event()

    async def announce() -> None:
        async with advertise(announcement):
            await stop.wait()

    task = asyncio.create_task(announce(), name="mdns")
    yield
    stop.set()
    try:
        await asyncio.wait_for(task, 10)
    except Exception:  # shutting down: mDNS must not block it
        log.warning("mDNS did not stop cleanly", exc_info=True)
