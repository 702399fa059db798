"""The child's side: the :class:`~selfdata.connectors.sdk.Context` a connector receives.

It holds no store and no key: every ``save*`` becomes a message to the daemon, which
checks it against the manifest before writing, and answers. State changes travel with
each call, so the daemon always has the last state the connector reached, even if the
child is killed.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import json
import logging
from collections.abc import AsyncIterable, Iterable, Mapping
from types import MappingProxyType
from typing import Any

from ..sdk import CapabilityError, ClockNotTrusted, Manifest
from .http import Client
from .protocol import ProtocolError, encode, read_frame

__all__ = ["Channel", "ChildContext"]

DOC_BATCH = 500
POINT_BATCH = 20_000
BATCH_BYTES = 1024 * 1024
FILE_CHUNK = 48 * 1024


class Channel:
    """Messages to the daemon; requests wait for their reply (one at a time)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._lock = asyncio.Lock()
        self._next = 0

    def post(self, message: dict[str, Any]) -> None:
        """Send without waiting (logs, progress, state)."""
        self._writer.write(encode(message))

    async def flush(self) -> None:
        await self._writer.drain()

    async def call(self, message: dict[str, Any]) -> dict[str, Any]:
        async with self._lock:
            self._next += 1
            message["id"] = self._next
            self._writer.write(encode(message))
            await self._writer.drain()
            reply = await read_frame(self._reader)
        if reply is None or reply.get("op") != "reply" or reply.get("id") != self._next:
            raise ProtocolError("the daemon did not answer as expected")
        if "error" in reply:
            if reply.get("refused"):
                raise CapabilityError(str(reply["error"]))
            raise RuntimeError(str(reply["error"]))
        return reply

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


class _ChannelHandler(logging.Handler):
    def __init__(self, channel: Channel) -> None:
        super().__init__(logging.DEBUG)
        self._channel = channel

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
            self._channel.post({"op": "log", "level": record.levelname, "message": text})
        except Exception:
            self.handleError(record)


class ChildContext:
    def __init__(
        self,
        channel: Channel,
        manifest: Manifest,
        *,
        account_id: str,
        credentials: Mapping[str, str],
        state: dict[str, Any],
        base_urls: Mapping[str, str],
        http: Client,
        clock_trusted: bool = True,
    ) -> None:
        self.manifest = manifest
        self.account_id = account_id
        self.credentials: Mapping[str, str] = MappingProxyType(dict(credentials))
        self.state: dict[str, Any] = state
        self.http = http
        self._channel = channel
        self._bases = {**manifest.base_urls, **base_urls}
        self._clock_trusted = clock_trusted
        self._sent_state = _dump(state)
        self.log = logging.getLogger(f"selfdata.connector.{manifest.id}")
        self.log.propagate = False
        self.log.setLevel(logging.DEBUG)
        self.log.handlers[:] = [_ChannelHandler(channel)]

    # -- reading ---------------------------------------------------------------------------

    def url(self, base: str, path: str = "") -> str:
        try:
            root = self._bases[base]
        except KeyError:
            raise KeyError(f"the manifest of {self.manifest.id} has no base URL {base!r}") from None
        if not path:
            return root
        return root.rstrip("/") + "/" + path.lstrip("/")

    def now(self) -> dt.datetime:
        # the daemon said whether its clock was trusted when the run started (time sync
        # done, or an RTC, and past the build date): a reading dated by a clock that
        # believes it is 1970 would be stored in the wrong place for good
        if not self._clock_trusted:
            raise ClockNotTrusted(
                "the box's clock is not synchronised yet (no time sync since it started): "
                "nothing was dated or stored; it runs again once the clock is set"
            )
        return dt.datetime.now(dt.UTC)

    async def stored(self, doctype: str, doc_id: str) -> dict[str, Any] | None:
        reply = await self._call({"op": "stored", "doctype": doctype, "doc_id": doc_id})
        doc = reply.get("document")
        return doc if isinstance(doc, dict) else None

    # -- writing ---------------------------------------------------------------------------

    async def save(self, doctype: str, documents: Iterable[dict[str, Any]]) -> int:
        stored = 0
        for batch in _batches(documents, DOC_BATCH):
            reply = await self._call({"op": "save", "doctype": doctype, "documents": batch})
            stored += int(reply.get("stored", 0))
        return stored

    async def save_series(
        self, name: str, points: Iterable[tuple[int, float]], unit: str = ""
    ) -> int:
        written = 0
        for batch in _batches(([int(t), float(v)] for t, v in points), POINT_BATCH):
            reply = await self._call({"op": "series", "name": name, "unit": unit, "points": batch})
            written += int(reply.get("written", 0))
        return written

    async def save_file(
        self,
        name: str,
        content: bytes | AsyncIterable[bytes],
        *,
        mime: str = "application/octet-stream",
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        meta = dict(metadata or {})
        await self._call({"op": "file_begin", "name": name, "mime": mime, "metadata": meta})
        if isinstance(content, bytes | bytearray):
            for start in range(0, len(content), FILE_CHUNK):
                await self._chunk(bytes(content[start : start + FILE_CHUNK]))
        else:
            async for data in content:
                for start in range(0, len(data), FILE_CHUNK):
                    await self._chunk(data[start : start + FILE_CHUNK])
        reply = await self._call({"op": "file_end"})
        return str(reply["file_id"])

    async def _chunk(self, data: bytes) -> None:
        await self._channel.call({"op": "file_chunk", "data": base64.b64encode(data).decode()})

    async def progress(self, done: int, total: int | None = None, message: str = "") -> None:
        self._channel.post(
            {"op": "progress", "done": int(done), "total": total, "message": str(message)[:500]}
        )
        self.sync_state()
        await self._channel.flush()

    # -- state -----------------------------------------------------------------------------

    def sync_state(self) -> None:
        """Send the state if it changed since it was last sent."""
        text = _dump(self.state)
        if text != self._sent_state:
            self._channel.post({"op": "state", "state": json.loads(text)})
            self._sent_state = text

    async def _call(self, message: dict[str, Any]) -> dict[str, Any]:
        self.sync_state()
        return await self._channel.call(message)


def _dump(state: dict[str, Any]) -> str:
    return json.dumps(state, sort_keys=True, allow_nan=False, default=str)


def _batches(items: Iterable[Any], count: int) -> Iterable[list[Any]]:
    batch: list[Any] = []
    size = 0
    for item in items:
        batch.append(item)
        size += len(json.dumps(item, default=str)) if count == DOC_BATCH else 24
        if len(batch) >= count or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch
