"""Files: streamed in and out through secretstream, named on disk by a keyed hash."""

from __future__ import annotations

import hashlib
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from selfdata.errors import InputError, NotFound, ValidationError
from selfdata.store import DocumentStore, FileStore

from ._util import chunks_of

ODD = [1, 4_095, 65_537, 3, 100_003, 65_536, 7]


async def read_all(files: FileStore, file_id: str) -> bytes:
    return b"".join([piece async for piece in files.read(file_id)])


def on_disk(blobs: Path) -> list[Path]:
    return sorted(p for p in blobs.rglob("*") if p.is_file())


@pytest.mark.parametrize("size", [0, 1, 65_535, 65_536, 65_537, 3 * 1024 * 1024 + 11])
async def test_a_saved_file_reads_back_byte_for_byte(files: FileStore, size: int) -> None:
    data = random.Random(size).randbytes(size)
    doc = await files.save("relevé.pdf", chunks_of(data, ODD), mime="application/pdf")
    assert doc["size"] == size
    assert doc["sha256"] == hashlib.sha256(data).hexdigest()
    assert (doc["name"], doc["mime"], doc["type"], doc["_rev"]) == (
        "relevé.pdf",
        "application/pdf",
        "file",
        "1",
    )
    assert await read_all(files, doc["_id"]) == data
    stat = await files.stat(doc["_id"])
    assert stat["size"] == size
    assert stat["name"] == "relevé.pdf"


async def test_reading_streams_without_loading_the_whole_file(files: FileStore) -> None:
    data = random.Random(1).randbytes(2 * 1024 * 1024)
    doc = await files.save("big.bin", chunks_of(data))
    pieces = [len(p) async for p in files.read(doc["_id"])]
    assert sum(pieces) == len(data)
    assert len(pieces) > 4
    assert max(pieces) <= 512 * 1024


async def test_a_file_over_the_size_limit_is_refused_and_leaves_nothing_behind(
    files: FileStore, documents: DocumentStore, blobs: Path
) -> None:
    data = b"x" * 300_000
    with pytest.raises(InputError, match="larger than"):
        await files.save("too-big.bin", chunks_of(data, ODD), max_size=200_000)
    assert on_disk(blobs) == []
    assert await documents.count("io.cozy.files") == 0


async def test_a_file_exactly_at_the_size_limit_is_accepted(files: FileStore) -> None:
    doc = await files.save("fits.bin", chunks_of(b"y" * 1000, [333]), max_size=1000)
    assert doc["size"] == 1000


async def test_a_stream_that_fails_midway_leaves_nothing_behind(
    files: FileStore, documents: DocumentStore, blobs: Path
) -> None:
    class Disconnected(Exception):
        pass

    async def broken() -> AsyncIterator[bytes]:
        yield b"a" * 100_000
        raise Disconnected

    with pytest.raises(Disconnected):
        await files.save("upload.bin", broken())
    assert on_disk(blobs) == []
    assert await documents.count("io.cozy.files") == 0


async def test_invalid_metadata_is_refused_before_any_byte_is_written(
    files: FileStore, blobs: Path
) -> None:
    with pytest.raises(ValidationError):
        await files.save("", chunks_of(b"data"))
    assert on_disk(blobs) == []


async def test_blobs_are_named_by_a_keyed_hash_and_hold_no_clear_text(
    files: FileStore, blobs: Path
) -> None:
    secret = b"canary-file-content-5e2d " * 100
    doc = await files.save("canary-file-name.pdf", chunks_of(secret))
    (blob,) = on_disk(blobs)
    assert blob == files.blob_path(doc["_id"])
    assert len(blob.name) == 32
    assert int(blob.name, 16) >= 0
    assert blob.parent.name == blob.name[:2]
    for text in ("canary-file-name", doc["_id"]):
        assert text not in str(blob.relative_to(blobs))
    raw = blob.read_bytes()
    assert b"canary-file-content" not in raw
    assert len(raw) == len(secret) + 24 + 17
    assert files.blob_names() == {blob.name}


async def test_the_same_content_saved_twice_is_two_different_blobs(
    files: FileStore, blobs: Path
) -> None:
    a = await files.save("a.txt", chunks_of(b"same"))
    b = await files.save("a.txt", chunks_of(b"same"))
    assert a["_id"] != b["_id"]
    first, second = on_disk(blobs)
    assert first.read_bytes() != second.read_bytes()


async def test_deleting_a_file_removes_its_blob_and_its_document(
    files: FileStore, documents: DocumentStore, blobs: Path
) -> None:
    keep = await files.save("keep.txt", chunks_of(b"keep"))
    gone = await files.save("gone.txt", chunks_of(b"gone"))
    await files.delete(gone["_id"])
    assert on_disk(blobs) == [files.blob_path(keep["_id"])]
    with pytest.raises(NotFound):
        await read_all(files, gone["_id"])
    with pytest.raises(NotFound):
        await files.stat(gone["_id"])
    with pytest.raises(NotFound):
        await files.delete(gone["_id"])
    assert await read_all(files, keep["_id"]) == b"keep"
    assert await documents.count("io.cozy.files") == 1


async def test_extra_metadata_is_stored_with_the_file(files: FileStore) -> None:
    doc = await files.save("bill.pdf", chunks_of(b"%PDF"), extra={"class": "pdf", "tags": ["edf"]})
    stat = await files.stat(doc["_id"])
    assert stat["class"] == "pdf"
    assert stat["tags"] == ["edf"]


async def test_extra_metadata_cannot_override_what_describes_the_blob(files: FileStore) -> None:
    doc = await files.save(
        "bill.pdf", chunks_of(b"%PDF"), extra={"_id": "other", "size": 1, "sha256": "0" * 64}
    )
    assert doc["_id"] != "other"
    stat = await files.stat(doc["_id"])
    assert stat["size"] == 4
    assert stat["sha256"] == hashlib.sha256(b"%PDF").hexdigest()
    assert await read_all(files, doc["_id"]) == b"%PDF"
