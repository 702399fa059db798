"""Writing a tar stream as it goes: headers, member bytes, padding; then gzip, then a seal.

Python's ``tarfile`` needs a file object to write to; an export must instead *yield*
bytes (to an HTTP response, a file, a pipe) without holding a member in memory. A tar
member is a 512-byte header (made here by ``tarfile.TarInfo.tobuf``, PAX format for long
or non-ASCII names), the bytes, and zero padding to 512: that is all this module writes.
"""

from __future__ import annotations

import hashlib
import tarfile
import time
import zlib
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import IntegrityError

__all__ = ["MemberRecord", "Pipeline", "TarWriter"]

BLOCK = 512
RECORD = 20 * BLOCK
GZIP_LEVEL = 6


class _Stage(Protocol):
    def update(self, data: bytes) -> bytes: ...
    def close(self) -> bytes: ...


class _Gzip:
    def __init__(self) -> None:
        self._z = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)  # 31: a gzip container

    def update(self, data: bytes) -> bytes:
        return self._z.compress(data)

    def close(self) -> bytes:
        return self._z.flush()


class Pipeline:
    """tar bytes → gzip → optional encryption → output bytes."""

    def __init__(self, sealer: _Stage | None = None, *, gzip: bool = True) -> None:
        self._stages: list[_Stage] = [_Gzip()] if gzip else []
        if sealer is not None:
            self._stages.append(sealer)

    def update(self, data: bytes) -> bytes:
        for stage in self._stages:
            data = stage.update(data)
        return data

    def close(self) -> bytes:
        pending = b""
        for stage in self._stages:  # each stage's tail goes through the stages after it
            pending = (stage.update(pending) if pending else b"") + stage.close()
        return pending


@dataclass
class MemberRecord:
    size: int
    sha256: str


@dataclass
class TarWriter:
    """Tar members in, tar bytes out; remembers each member's size and SHA-256."""

    mtime: int = field(default_factory=lambda: int(time.time()))
    members: dict[str, MemberRecord] = field(default_factory=dict)
    written: int = 0

    def header(self, name: str, size: int) -> bytes:
        if name in self.members:
            raise ValueError(f"duplicate member {name!r}")
        info = tarfile.TarInfo(name)
        info.size = size
        info.mtime = self.mtime
        info.mode = 0o644
        info.type = tarfile.REGTYPE
        info.uname = info.gname = "selfdata"
        data = info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")
        self.written += len(data)
        return data

    async def member(
        self, name: str, size: int, chunks: AsyncIterable[bytes]
    ) -> AsyncIterator[bytes]:
        """The member's header, bytes and padding; its bytes must add up to ``size``."""
        yield self.header(name, size)
        digest = hashlib.sha256()
        seen = 0
        async for chunk in chunks:
            seen += len(chunk)
            if seen > size:
                raise IntegrityError(f"{name} grew while it was being exported")
            digest.update(chunk)
            yield chunk
        if seen != size:
            raise IntegrityError(f"{name} changed size while it was being exported")
        self.written += size
        self.members[name] = MemberRecord(size, digest.hexdigest())
        pad = -size % BLOCK
        if pad:
            self.written += pad
            yield bytes(pad)

    def end(self) -> bytes:
        """Two zero blocks, then zeros to a whole record, as tar(1) writes."""
        size = self.written + 2 * BLOCK
        tail = 2 * BLOCK + (-size % RECORD)
        self.written += tail
        return bytes(tail)
