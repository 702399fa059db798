"""A fake open-data collector on loopback that records every request it receives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Received:
    path: str
    body: bytes
    headers: dict[str, str]


@dataclass
class Collector:
    url: str
    received: list[Received] = field(default_factory=list)
    status: int = 201
    redirect_to: str | None = None


@asynccontextmanager
async def collector() -> AsyncIterator[Collector]:
    state = Collector(url="")

    async def handle(request: web.Request) -> web.StreamResponse:
        state.received.append(Received(request.path, await request.read(), dict(request.headers)))
        if state.redirect_to is not None:
            raise web.HTTPTemporaryRedirect(state.redirect_to)
        return web.json_response({"ok": state.status < 300}, status=state.status)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    state.url = f"http://127.0.0.1:{port}/contributions"
    try:
        yield state
    finally:
        await runner.cleanup()
