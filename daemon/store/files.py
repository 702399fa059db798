"""Files: bytes as secretstream-encrypted blobs, metadata as ``io.cozy.files`` documents.

A blob's file name is a keyed hash of its file id, so names on disk reveal nothing; its
ciphertext is bound to that name. Blobs are immutable: written to a temporary file,
fsynced, renamed into place, and only then recorded, so a crash leaves at worst an
orphan blob (``fsck`` reports it), never a document without its bytes.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Any

from .. import crypto
from ..doctypes import resolve
from ..errors import Conflict, InputError, NotFound
from ..vault import Keys, Purpose
from .documents import DocumentStore

__all__ = ["FILES_DOCTYPE", "FileStore"]

FILES_DOCTYPE = "io.cozy.files"
DEFAULT_MAX_SIZE = 4 * 1024**3
_READ = 256 * 1024


class FileStore:
    def __init__(self, blobs: Path, documents: DocumentStore, keys: Keys) -> None:
        self._blobs = blobs
        self._documents = documents
        self._keys = keys
        self._key = keys.subkey(Purpose.FILES)

    def blob_path(self, file_id: str) -> Path:
        name = self._keys.name("blob", file_id).hex()
        return self._blobs / name[:2] / name

    async def save(
        self,
        name: str,
        chunks: AsyncIterable[bytes],
        *,
        mime: str = "application/octet-stream",
        max_size: int = DEFAULT_MAX_SIZE,
        extra: dict[str, Any] | None = None,
        file_id: str | None = None,
    ) -> dict[str, Any]:
        """Stream ``chunks`` into a new encrypted blob and record it; returns the document.

        ``file_id`` keeps a file's id when it comes back from an export or a Cozy (a
        file with that id must not exist yet: blobs are never overwritten).
        """
        file_id = file_id or uuid.uuid4().hex
        doc: dict[str, Any] = {"_id": file_id, "type": "file", "name": name, "mime": mime}
        doctype = resolve(FILES_DOCTYPE)
        doctype.validate(doc | {"size": 0})
        path = self.blob_path(file_id)
        if path.exists():  # only with a given id: never replace another file's blob
            raise Conflict(f"a file {file_id!r} already exists")
        path.parent.mkdir(exist_ok=True, mode=0o750)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        sealer = crypto.StreamEncryptor(self._key, _ad(path))
        digest = hashlib.sha256()
        try:
            # page-cache writes of one chunk each; the fsync, which can block, runs in a thread
            with open(tmp, "xb") as out:  # noqa: ASYNC230
                async for chunk in chunks:
                    if sealer.plaintext_size + len(chunk) > max_size:
                        raise InputError(f"the file is larger than the {max_size} bytes allowed")
                    digest.update(chunk)
                    out.write(sealer.update(chunk))
                out.write(sealer.close())
                out.flush()
                await asyncio.to_thread(os.fsync, out.fileno())
            os.replace(tmp, path)
            await asyncio.to_thread(_fsync_dir, path.parent)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        # extra metadata never overrides what describes the blob (id, size, digest)
        doc = (
            (extra or {})
            | doc
            | {
                "size": sealer.plaintext_size,
                "sha256": digest.hexdigest(),
                "created_at": now,
                "updated_at": now,
            }
        )
        try:
            result = await self._documents.create(doctype, doc)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return doc | {"_rev": result.rev}

    async def stat(self, file_id: str) -> dict[str, Any]:
        return await self._documents.get(FILES_DOCTYPE, file_id)

    async def read(self, file_id: str) -> AsyncIterator[bytes]:
        """The file's bytes, decrypted as they are read; raises on any tampering."""
        path = self.blob_path(file_id)
        if not path.exists():
            raise NotFound(f"no file {file_id!r}")
        opener = crypto.StreamDecryptor(self._key, _ad(path))
        with open(path, "rb") as blob:  # noqa: ASYNC230 - reads of 256 KiB, yielding between
            while data := blob.read(_READ):
                if plain := opener.update(data):
                    yield plain
                await asyncio.sleep(0)
        if tail := opener.close():
            yield tail

    async def delete(self, file_id: str) -> None:
        await self._documents.delete(FILES_DOCTYPE, file_id)
        self.blob_path(file_id).unlink(missing_ok=True)

    async def verify(self, file_id: str) -> None:
        async for _ in self.read(file_id):
            pass

    def blob_names(self) -> set[str]:
        return {p.name for p in self._blobs.glob("??/*") if not p.name.startswith(".")}


def _ad(path: Path) -> bytes:
    return b"file\0" + path.name.encode()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
