"""A real daemon in the test's event loop: HTTPS on loopback plus the admin socket."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from selfdata.config import ServeConfig
from selfdata.paths import DataDir
from selfdata.server import serve

from ...conftest import PASSPHRASE


@dataclass
class Daemon:
    data_dir: DataDir
    url: str
    config: ServeConfig

    def client(self, **kwargs: Any) -> Api:
        return Api(self.url, **kwargs)

    def admin(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.UnixConnector(path=str(self.data_dir.socket)),
            base_url="http://selfdata",
        )


class Api:
    """A browser-like client: keeps cookies, sends this box's Origin on writes."""

    def __init__(self, url: str, *, origin: str | None = "self") -> None:
        self.url = url
        self.origin = url if origin == "self" else origin
        self.session = aiohttp.ClientSession(
            base_url=url,
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            connector=aiohttp.TCPConnector(ssl=False),
        )

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = dict(kwargs.pop("headers", {}) or {})
        if method not in ("GET", "HEAD") and self.origin is not None:
            headers.setdefault("Origin", self.origin)
        return self.session.request(method, path, headers=headers, **kwargs)

    async def call(self, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
        async with self.request(method, path, **kwargs) as resp:
            try:
                body = await resp.json(content_type=None)
            except ValueError:
                body = await resp.text()
            return resp.status, body

    async def login(self, passphrase: str = PASSPHRASE) -> None:
        status, body = await self.call("POST", "/api/v1/unlock", json={"passphrase": passphrase})
        assert status == 200, body


@contextlib.asynccontextmanager
async def running_daemon(data_dir: DataDir, **overrides: Any) -> AsyncIterator[Daemon]:
    settings: dict[str, Any] = {"host": "127.0.0.1", "port": 0, "http_port": None, "mdns": False}
    config = ServeConfig(data_dir=data_dir, **(settings | overrides))
    data_dir.create()
    ready: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
    stop = asyncio.Event()
    task = asyncio.create_task(serve(config, started=ready.set_result, stop=stop))
    done, _ = await asyncio.wait([task, ready], timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        task.result()  # raises what went wrong
    addresses = ready.result()
    port = next(a[1] for a in addresses if isinstance(a, tuple))
    scheme = "https" if config.tls else "http"
    try:
        yield Daemon(data_dir, f"{scheme}://127.0.0.1:{port}", config)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def daemon(data_dir: DataDir) -> AsyncIterator[Daemon]:
    """A daemon whose vault does not exist yet."""
    async with running_daemon(data_dir) as d:
        yield d


@pytest.fixture
async def ready_daemon(daemon: Daemon) -> Daemon:
    """A daemon with an unlocked vault (made over the admin socket)."""
    async with daemon.admin() as admin:
        resp = await admin.post("/api/v1/setup", json={"passphrase": PASSPHRASE})
        assert resp.status == 201, await resp.text()
    return daemon


@pytest.fixture
async def owner(ready_daemon: Daemon) -> AsyncIterator[Api]:
    """A logged-in browser session."""
    async with ready_daemon.client() as api:
        await api.login()
        yield api
