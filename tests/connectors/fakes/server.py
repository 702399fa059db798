"""Run an aiohttp app on loopback for a test, and inject failures into it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer


@dataclass
class Faults:
    """Failures to answer with, one per matching request, in order.

    Each is ``"429"`` (with Retry-After), ``"500"``, ``"503"``, ``"empty"`` (200 with no
    body), ``"malformed"`` (200 with broken JSON) or ``"401"``.
    """

    queue: list[str] = field(default_factory=list)
    #: Failures by request number (1 = the first request the fake sees).
    at: dict[int, str] = field(default_factory=dict)
    seen: int = 0

    def pop(self) -> web.Response | None:
        self.seen += 1
        if self.seen in self.at:
            fault = self.at.pop(self.seen)
        elif self.queue:
            fault = self.queue.pop(0)
        else:
            return None
        if fault == "429":
            return web.json_response(
                {"error": "too_many_requests", "error_description": "quota"},
                status=429,
                headers={"Retry-After": "120"},
            )
        if fault in ("500", "503"):
            return web.Response(status=int(fault), text="<html>Service Unavailable</html>")
        if fault == "empty":
            return web.Response(status=200, body=b"", content_type="application/json")
        if fault == "malformed":
            return web.Response(
                status=200, text='{"meter_reading": {"interval_re', content_type="application/json"
            )
        if fault == "401":
            return web.json_response({"error": "invalid_token"}, status=401)
        raise AssertionError(fault)


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
