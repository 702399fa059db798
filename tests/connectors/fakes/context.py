"""A test-only connector Context over a real unlocked Box and a real aiohttp session.

It implements :class:`selfdata.connectors.sdk.Context` the way the SDK documents it
(429 → ``RateLimited``, 5xx and connection errors retried then ``ServiceDown``; other
statuses returned) and enforces the manifest's capability: a doctype or series outside
it fails the test. Replace with the runner's Context once connectors/runtime lands.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from selfdata.box import Box
from selfdata.connectors.meters import retry_after
from selfdata.connectors.sdk import HttpClient, Manifest, RateLimited, ServiceDown
from selfdata.doctypes import resolve


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    async def json(self) -> Any:
        import json

        return json.loads(self.body)

    async def text(self) -> str:
        return self.body.decode()

    async def read(self) -> bytes:
        return self.body


@dataclass
class Http:
    session: aiohttp.ClientSession
    retries: int = 2
    requests: list[tuple[str, str]] = field(default_factory=list)

    async def request(self, method: str, url: str, **kwargs: Any) -> Response:
        for attempt in range(self.retries + 1):
            self.requests.append((method, url))
            try:
                async with self.session.request(method, url, **kwargs) as resp:
                    body = await resp.read()
                    status, headers = resp.status, dict(resp.headers)
            except aiohttp.ClientError as err:
                if attempt == self.retries:
                    raise ServiceDown(f"cannot reach {url}: {err}") from err
                continue
            if status == 429:
                raise RateLimited("too many requests", retry_after(headers))
            if status >= 500:
                if attempt == self.retries:
                    raise ServiceDown(f"HTTP {status} from {url}")
                await asyncio.sleep(0)
                continue
            return Response(status, headers, body)
        raise AssertionError("unreachable")

    async def get(self, url: str, **kwargs: Any) -> Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str, **kwargs: Any) -> Response:
        return await self.request("POST", url, **kwargs)


class BoxContext:
    def __init__(
        self,
        box: Box,
        session: aiohttp.ClientSession,
        manifest: Manifest,
        credentials: Mapping[str, str],
        *,
        base_urls: Mapping[str, str] | None = None,
        now: dt.datetime | None = None,
        state: dict[str, Any] | None = None,
    ) -> None:
        self.box = box
        self.manifest = manifest
        self.account_id = "test-account"
        self.credentials: Mapping[str, str] = dict(credentials)
        self.state: MutableMapping[str, Any] = state if state is not None else {}
        self.client = Http(session)
        self.http: HttpClient = self.client
        self.log = logging.getLogger(f"selfdata.connectors.{manifest.id}")
        self._bases = {**manifest.base_urls, **(base_urls or {})}
        self._now = now or dt.datetime(2024, 3, 15, 9, 30, tzinfo=dt.UTC)
        self.saved: dict[str, int] = {}
        self.progressed: list[tuple[int, int | None, str]] = []

    def url(self, base: str, path: str = "") -> str:
        root = self._bases[base]
        if not path:
            return root
        return root.rstrip("/") + "/" + path.lstrip("/")

    def now(self) -> dt.datetime:
        return self._now

    def set_now(self, now: dt.datetime) -> None:
        self._now = now

    async def save(self, doctype: str, documents: Iterable[dict[str, Any]]) -> int:
        assert doctype in self.manifest.doctypes, f"{doctype} is outside the manifest"
        resolved = resolve(doctype)
        docs = list(documents)
        for doc in docs:
            assert doc.get("_id"), "every document needs a stable _id"
            resolved.validate(doc)
        if docs:
            await self.box.documents.put_many(resolved, docs)
        self.saved[doctype] = self.saved.get(doctype, 0) + len(docs)
        return len(docs)

    async def save_series(
        self, name: str, points: Iterable[tuple[int, float]], unit: str = ""
    ) -> int:
        assert any(name.startswith(p) for p in self.manifest.series), (
            f"{name} is outside the manifest"
        )
        written = await self.box.series.write(name, points, unit)
        self.saved[name] = self.saved.get(name, 0) + written
        return written

    async def save_file(
        self,
        name: str,
        content: bytes | AsyncIterable[bytes],
        *,
        mime: str = "application/octet-stream",
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        raise AssertionError("these sources store no files")

    async def stored(self, doctype: str, doc_id: str) -> dict[str, Any] | None:
        from selfdata.errors import NotFound

        assert doctype in self.manifest.doctypes, f"{doctype} is outside the manifest"
        try:
            return await self.box.documents.get(doctype, doc_id)
        except NotFound:
            return None

    async def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        self.progressed.append((done, total, message))

    async def points(
        self, name: str, start: int = 0, end: int = 4_102_444_800
    ) -> list[tuple[int, float]]:
        return await self.box.series.query(name, start, end)
