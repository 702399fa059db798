"""Small helpers shared by the store tests."""

from __future__ import annotations

from collections.abc import AsyncIterator


async def chunks_of(data: bytes, sizes: list[int] | None = None) -> AsyncIterator[bytes]:
    """``data`` as an async stream, cut at the given sizes (cycled), default 64 KiB."""
    sizes = sizes or [64 * 1024]
    pos = i = 0
    while pos < len(data):
        size = sizes[i % len(sizes)]
        yield data[pos : pos + size]
        pos += size
        i += 1


def flipped(blob: bytes, position: int) -> bytes:
    out = bytearray(blob)
    out[position] ^= 0x01
    return bytes(out)
