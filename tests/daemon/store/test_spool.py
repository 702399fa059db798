"""The encrypted scratch file: random access to an upload, ciphertext only on disk."""

from __future__ import annotations

import io
import os
import random
import zipfile
from pathlib import Path

import pytest
from selfdata.errors import IntegrityError
from selfdata.store.spool import BLOCK, EncryptedSpool


def spooled(tmp_path: Path, data: bytes, piece: int = 7_777) -> EncryptedSpool:
    spool = EncryptedSpool(tmp_path)
    for i in range(0, len(data), piece):
        spool.write(data[i : i + piece])
    spool.finish()
    return spool


@pytest.mark.parametrize("size", [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * BLOCK + 123])
def test_what_is_written_reads_back_whole(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    with spooled(tmp_path, data) as spool, spool.reader() as reader:
        assert reader.read() == data
        assert spool.size == size


def test_random_seeks_read_the_right_bytes(tmp_path: Path) -> None:
    data = os.urandom(5 * BLOCK + 999)
    rng = random.Random(7)
    with spooled(tmp_path, data) as spool, spool.reader() as reader:
        for _ in range(200):
            start = rng.randrange(len(data))
            length = rng.randrange(1, 3 * BLOCK)
            reader.seek(start)
            assert reader.read(length) == data[start : start + length]
        reader.seek(-10, io.SEEK_END)
        assert reader.read() == data[-10:]


def test_a_zip_can_be_read_from_the_spool(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("Takeout/a.json", '{"x": 1}' * 10_000)
        archive.writestr("Takeout/b.json", "[]")
    with (
        spooled(tmp_path, buffer.getvalue()) as spool,
        spool.reader() as reader,
        zipfile.ZipFile(reader) as archive,
    ):
        assert archive.namelist() == ["Takeout/a.json", "Takeout/b.json"]
        assert archive.read("Takeout/b.json") == b"[]"


def test_only_ciphertext_reaches_the_disk(tmp_path: Path) -> None:
    canary = b"zqxSPOOLCANARYjv" * 5000
    with spooled(tmp_path, canary) as spool:
        spool._file.seek(0)
        on_disk = spool._file.read()
        assert len(on_disk) >= len(canary)
        assert b"SPOOLCANARY" not in on_disk
        assert list(tmp_path.iterdir()) == []  # created unlinked: no name left behind


def test_a_changed_block_on_disk_is_detected(tmp_path: Path) -> None:
    with spooled(tmp_path, os.urandom(2 * BLOCK)) as spool:
        spool._file.seek(BLOCK + 100)
        byte = spool._file.read(1)
        spool._file.seek(BLOCK + 100)
        spool._file.write(bytes([byte[0] ^ 1]))
        spool._file.flush()
        with spool.reader() as reader, pytest.raises(IntegrityError):
            reader.read()


def test_writing_after_finish_is_refused(tmp_path: Path) -> None:
    with spooled(tmp_path, b"abc") as spool, pytest.raises(ValueError, match="finished"):
        spool.write(b"more")
