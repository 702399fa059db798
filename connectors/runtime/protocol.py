"""The message protocol between the daemon and a connector's child process.

One ``AF_UNIX`` stream socket pair, made by the daemon before it starts the child.
Every message is a frame: a 4-byte big-endian length, then a UTF-8 JSON object with an
``"op"``. The first frame, from the daemon, is ``init``; the last, from the child, is
``done``. In between the child sends:

* fire-and-forget: ``log`` (level, message), ``progress`` (done, total, message),
  ``state`` (the whole incremental state, whenever it changed);
* requests answered by a ``reply`` with the same ``id``: ``save`` (doctype, documents),
  ``series`` (name, unit, points), ``file_begin`` / ``file_chunk`` (base64) /
  ``file_end``, ``stored`` (doctype, doc_id).

A frame larger than :data:`MAX_FRAME`, a frame that is not a JSON object, or an
unknown ``op`` ends the run: the daemon trusts nothing the child says.
"""

from __future__ import annotations

import asyncio
import json
import struct
from typing import Any

__all__ = [
    "MAX_FRAME",
    "ProtocolError",
    "decode",
    "encode",
    "read_frame",
    "read_frame_blocking",
    "write_frame",
]

#: Largest frame either side accepts (a batch of documents or points, a file chunk).
MAX_FRAME = 4 * 1024 * 1024
_HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    """The other side broke the protocol (oversized, malformed or unexpected frame)."""


def encode(message: dict[str, Any]) -> bytes:
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    if len(body) > MAX_FRAME:
        raise ProtocolError(f"a message of {len(body)} bytes is over the {MAX_FRAME}-byte limit")
    return _HEADER.pack(len(body)) + body


def decode(body: bytes) -> dict[str, Any]:
    try:
        message = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError) as err:
        raise ProtocolError("a frame is not JSON") from err
    if not isinstance(message, dict) or not isinstance(message.get("op"), str):
        raise ProtocolError("a frame is not a JSON object with an op")
    return message


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def read_frame(reader: asyncio.StreamReader) -> dict[str, Any] | None:
    """The next message, or ``None`` at a clean end of stream."""
    try:
        header = await reader.readexactly(_HEADER.size)
    except asyncio.IncompleteReadError as err:
        if not err.partial:
            return None
        raise ProtocolError("the stream ended inside a frame header") from err
    (size,) = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ProtocolError(f"a frame of {size} bytes is over the {MAX_FRAME}-byte limit")
    try:
        body = await reader.readexactly(size)
    except asyncio.IncompleteReadError as err:
        raise ProtocolError("the stream ended inside a frame") from err
    return decode(body)


async def write_frame(writer: asyncio.StreamWriter, message: dict[str, Any]) -> None:
    writer.write(encode(message))
    await writer.drain()


def read_frame_blocking(fd: int) -> dict[str, Any]:
    """The first frame (``init``), read before the child has an event loop."""
    import os  # noqa: PLC0415 - child-only path

    def exactly(size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = os.read(fd, size - len(data))
            if not chunk:
                raise ProtocolError("the daemon closed the connection")
            data += chunk
        return data

    (size,) = _HEADER.unpack(exactly(_HEADER.size))
    if size > MAX_FRAME:
        raise ProtocolError("the init frame is too large")
    return decode(exactly(size))
