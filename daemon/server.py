"""Running the daemon: HTTPS, the HTTP redirect, the admin socket, signals, systemd."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from . import __version__, systemd
from .api.app import create_app
from .api.keys import BOX, CERTIFICATE, HANDED_FILES, STATE_LISTENERS
from .box import Box
from .config import ServeConfig
from .tls import server_context

__all__ = ["run", "serve"]

log = logging.getLogger("selfdata")
#: Unix sockets have a path limit of 107 bytes on Linux.
_MAX_SOCKET_PATH = 107
#: How long in-flight requests may take to finish after SIGTERM.
SHUTDOWN_TIMEOUT = 20.0


class AccessLogger(AbstractAccessLogger):
    """Logs the route pattern, never the concrete path: ids and names are user data."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        info = getattr(request, "match_info", None)
        route = getattr(info, "route", None)
        resource = getattr(route, "resource", None)
        pattern = resource.canonical if resource is not None else "(no route)"
        self.logger.info("%s %s %d %.0fms", request.method, pattern, response.status, time * 1000)


def run(config: ServeConfig) -> None:
    asyncio.run(serve(config))


async def serve(
    config: ServeConfig,
    *,
    started: Callable[[list[Any]], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT (or ``stop``); then finish requests in flight and close.

    ``started`` receives the bound addresses once every listener is up.
    """
    app = create_app(config)
    app[STATE_LISTENERS].append(_systemd_status)
    runner = web.AppRunner(
        app, access_log_class=AccessLogger, shutdown_timeout=SHUTDOWN_TIMEOUT, handle_signals=False
    )
    redirect_runner: web.AppRunner | None = None
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await runner.setup()
        box = app[BOX]
        ssl_context = server_context(app[CERTIFICATE]) if config.tls else None
        await web.TCPSite(runner, config.host, config.port, ssl_context=ssl_context).start()
        await _start_admin_sockets(runner, config)
        if config.tls and config.http_port:
            # the port really bound (--port 0 lets the system choose)
            https_port = next(a[1] for a in runner.addresses if isinstance(a, tuple))
            redirect_runner = web.AppRunner(_redirect_app(https_port), access_log=None)
            await redirect_runner.setup()
            await web.TCPSite(redirect_runner, config.host, config.http_port).start()
        # Start-up's objects (modules, routes, templates) live as long as the daemon: out of
        # the collector's generations, every full collection a request triggers is cheaper.
        gc.freeze()
        scheme = "https" if config.tls else "http"
        shown = "localhost" if config.host in ("0.0.0.0", "::", "") else config.host  # noqa: S104
        log.info(
            "selfdata %s serving %s://%s:%d/ (admin socket %s)",
            __version__,
            scheme,
            shown,
            config.port,
            config.data_dir.socket,
        )
        async with systemd.watchdog():
            systemd.notify(READY="1", STATUS=_status_line(box))
            if started is not None:
                started(runner.addresses)
            await stop.wait()
            log.info("stopping: finishing requests in flight")
            systemd.notify(STOPPING="1", STATUS="Stopping")
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        if redirect_runner is not None:
            await redirect_runner.cleanup()
        await runner.cleanup()
        with suppress(FileNotFoundError):
            config.data_dir.socket.unlink()
        log.info("stopped")


async def _start_admin_sockets(runner: web.AppRunner, config: ServeConfig) -> None:
    path = config.data_dir.socket
    if len(str(path)) > _MAX_SOCKET_PATH:
        log.warning("data dir path too long for the admin socket; the CLI will work offline only")
        return
    # We hold the data dir's lock: a socket file left here is from a killed daemon.
    with suppress(FileNotFoundError):
        path.unlink()
    old = os.umask(0o117)  # rw for owner and group (admins), from the first instant
    try:
        await web.UnixSite(runner, str(path)).start()
    finally:
        os.umask(old)
    handover = config.data_dir.handover_socket
    if len(str(handover)) <= _MAX_SOCKET_PATH:  # without it, the CLI sends files' bytes
        runner.app[HANDED_FILES].listen(handover)


def _redirect_app(https_port: int) -> web.Application:
    async def redirect(request: web.Request) -> web.Response:
        host = request.url.host or "selfdata.local"
        if ":" in host:
            host = f"[{host}]"
        port = "" if https_port == 443 else f":{https_port}"
        raise web.HTTPPermanentRedirect(f"https://{host}{port}{request.rel_url}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", redirect)
    return app


def _status_line(box: Box) -> str:
    if not box.initialized:
        return "Waiting for setup"
    return "Locked" if box.locked else "Unlocked"


def _systemd_status(box: Box) -> None:
    systemd.notify(STATUS=_status_line(box))
