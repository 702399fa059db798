"""A box: its setup code, its exclusive hold on the data dir, lock state, and fsck."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from selfdata.box import Box
from selfdata.doctypes import resolve
from selfdata.errors import (
    AlreadyInitialized,
    Locked,
    NotInitialized,
    StoreBusy,
    VaultError,
    WeakPassphrase,
    WrongPassphrase,
)
from selfdata.paths import DataDir
from selfdata.store.dictionaries import TRAIN_FROM

PASSPHRASE = "correct horse battery staple"
NOTES = resolve("org.example.notes")


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


def raw(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


@pytest.fixture
async def new_box(data_dir: DataDir) -> AsyncIterator[Box]:
    """A box on a fresh data dir, before ``init``."""
    box = await Box.open(data_dir)
    try:
        yield box
    finally:
        await box.close()


# --- setup code ---------------------------------------------------------------------------


async def test_the_setup_code_is_made_once_and_kept_private(
    new_box: Box, data_dir: DataDir
) -> None:
    old = os.umask(0o002)  # even with a permissive umask
    try:
        code = new_box.setup_code()
    finally:
        os.umask(old)
    assert len(code.replace("-", "")) == 12
    assert code.replace("-", "").isdigit()
    assert new_box.setup_code() == code
    assert stat.S_IMODE(data_dir.setup_code.stat().st_mode) == 0o640
    assert data_dir.setup_code.read_text().strip() == code


async def test_the_setup_code_survives_a_restart(data_dir: DataDir) -> None:
    box = await Box.open(data_dir)
    code = box.setup_code()
    await box.close()
    again = await Box.open(data_dir)
    try:
        assert again.setup_code() == code
    finally:
        await again.close()


async def test_the_setup_code_is_checked_with_separators_ignored(new_box: Box) -> None:
    code = new_box.setup_code()
    digits = code.replace("-", "")
    for typed in (
        code,
        digits,
        " ".join(code.split("-")),
        f" {code} ",
        digits[:4] + "." + digits[4:],
    ):
        assert new_box.check_setup_code(typed), typed
    wrong = str((int(digits[-1]) + 1) % 10)
    for typed in ("", digits[:-1], digits + "0", digits[:-1] + wrong, "abc", "٠" * 12):
        assert not new_box.check_setup_code(typed), typed


async def test_there_is_no_setup_code_to_check_before_one_was_made(new_box: Box) -> None:
    assert not new_box.check_setup_code("")
    assert not new_box.check_setup_code("0000-0000-0000")


async def test_init_deletes_the_setup_code_for_good(new_box: Box, data_dir: DataDir) -> None:
    code = new_box.setup_code()
    await new_box.init(PASSPHRASE)
    assert not data_dir.setup_code.exists()
    assert not new_box.check_setup_code(code)
    with pytest.raises(AlreadyInitialized):
        new_box.setup_code()


# --- lifecycle -------------------------------------------------------------------------------------


async def test_a_new_box_is_uninitialised_and_locked(new_box: Box) -> None:
    assert new_box.status() | {"version": None} == {
        "version": None,
        "initialized": False,
        "locked": True,
    }
    with pytest.raises(NotInitialized):
        new_box.documents  # noqa: B018
    with pytest.raises(NotInitialized):
        await new_box.unlock(PASSPHRASE)


async def test_init_unlocks_and_returns_the_recovery_key(new_box: Box) -> None:
    recovery = await new_box.init(PASSPHRASE)
    assert len(recovery.split("-")) == 14
    assert new_box.status()["initialized"]
    assert not new_box.locked
    with pytest.raises(AlreadyInitialized):
        await new_box.init(PASSPHRASE)


async def test_init_refuses_a_weak_passphrase_and_stays_uninitialised(new_box: Box) -> None:
    with pytest.raises(WeakPassphrase):
        await new_box.init("password")
    assert not new_box.initialized


async def test_locking_forgets_the_keys_and_unlocking_needs_the_passphrase(box: Box) -> None:
    await box.documents.create(NOTES, {"_id": "a"})
    keys = box.keys
    box.lock()
    assert box.locked
    assert keys.master == bytearray(32)
    for attr in ("keys", "documents", "series", "files"):
        with pytest.raises(Locked):
            getattr(box, attr)
    with pytest.raises(WrongPassphrase):
        await box.unlock("not the passphrase")
    assert box.locked
    await box.unlock(PASSPHRASE)
    assert (await box.documents.get("org.example.notes", "a"))["_id"] == "a"
    await box.unlock(PASSPHRASE)  # unlocking an unlocked box is harmless
    assert not box.locked


async def test_a_second_box_on_the_same_data_dir_is_refused(box: Box, data_dir: DataDir) -> None:
    with pytest.raises(StoreBusy, match="another selfdata process"):
        await Box.open(data_dir)
    with pytest.raises(StoreBusy):
        await Box.open(DataDir(data_dir.root / "."))


async def test_the_data_dir_is_free_again_once_the_box_is_closed(data_dir: DataDir) -> None:
    first = await Box.open(data_dir)
    await first.close()
    second = await Box.open(data_dir)
    await second.close()


async def test_the_data_dir_is_private(box: Box, data_dir: DataDir) -> None:
    assert stat.S_IMODE(data_dir.root.stat().st_mode) & 0o007 == 0
    assert stat.S_IMODE(data_dir.blobs.stat().st_mode) & 0o007 == 0


async def test_a_corrupt_vault_header_is_refused_and_releases_the_data_dir(
    data_dir: DataDir,
) -> None:
    box = await Box.open(data_dir)
    await box.init(PASSPHRASE)
    await box.close()
    raw(data_dir.database, "UPDATE meta SET value = '{\"version\": 1}' WHERE key = 'vault'")
    with pytest.raises(VaultError, match="corrupt"):
        await Box.open(data_dir)
    with pytest.raises(VaultError, match="corrupt"):  # not StoreBusy: nothing was left open
        await Box.open(data_dir)


async def test_a_vault_header_with_a_weakened_kdf_is_refused(data_dir: DataDir) -> None:
    box = await Box.open(data_dir)
    await box.init(PASSPHRASE)
    await box.close()
    raw(
        data_dir.database,
        "UPDATE meta SET value = json_set(value, '$.kdf.opslimit', 1) WHERE key = 'vault'",
    )
    with pytest.raises(VaultError, match="opslimit"):
        await Box.open(data_dir)


# --- fsck ----------------------------------------------------------------------------------------


async def filled(box: Box) -> list[str]:
    for i in range(5):
        await box.documents.create(NOTES, {"_id": f"n{i}", "i": i})
    await box.series.write("s", [(19_700 * 86_400 + i, float(i)) for i in range(10)])
    return [(await box.files.save(f"f{i}.txt", chunks(b"x" * i)))["_id"] for i in range(3)]


async def test_fsck_of_a_healthy_box_checks_everything_and_finds_nothing(box: Box) -> None:
    await filled(box)
    report = await box.fsck()
    assert report.ok, report.problems
    assert report.deep
    assert report.checked["documents"] == 5 + 3
    assert report.checked["files"] == 3
    assert report.checked["series_chunks"] == 1


async def test_fsck_of_a_locked_box_checks_only_sqlite(box: Box) -> None:
    await filled(box)
    box.lock()
    report = await box.fsck()
    assert report.ok
    assert not report.deep
    assert report.to_json() == {"ok": True, "deep": False, "checked": {}, "problems": []}


async def test_fsck_finds_a_deleted_blob(box: Box) -> None:
    ids = await filled(box)
    box.files.blob_path(ids[1]).unlink()
    report = await box.fsck()
    assert not report.ok
    assert [p for p in report.problems if ids[1] in p]


async def test_fsck_finds_a_corrupted_blob(box: Box) -> None:
    ids = await filled(box)
    path = box.files.blob_path(ids[2])
    blob = bytearray(path.read_bytes())
    blob[-1] ^= 1
    path.write_bytes(bytes(blob))
    report = await box.fsck()
    assert [p for p in report.problems if ids[2] in p]


async def test_fsck_finds_an_orphan_blob(box: Box) -> None:
    ids = await filled(box)
    orphan = box.files.blob_path("no-such-file")
    orphan.parent.mkdir(exist_ok=True)
    orphan.write_bytes(box.files.blob_path(ids[0]).read_bytes())
    report = await box.fsck()
    assert report.problems == ["1 blob(s) on disk belong to no file"]


CORRUPTIBLE = [
    ("documents", "body", "seq"),
    ("doctypes", "name", "hash"),
    ("series_chunks", "body", "day"),
    ("series", "name", "hash"),
]


@pytest.mark.parametrize(("table", "column", "key"), CORRUPTIBLE)
async def test_fsck_finds_a_corrupted_row(
    box: Box, data_dir: DataDir, table: str, column: str, key: str
) -> None:
    await filled(box)
    (row_key, value), *_ = raw(data_dir.database, f"SELECT {key}, {column} FROM {table}")
    assert isinstance(value, bytes)
    tampered = bytearray(value)
    tampered[30] ^= 0x10
    raw(
        data_dir.database,
        f"UPDATE {table} SET {column} = ? WHERE {key} = ?",
        bytes(tampered),
        row_key,
    )
    report = await box.fsck()
    assert not report.ok
    assert [p for p in report.problems if p.startswith(table)], report.problems


async def test_fsck_finds_a_corrupted_compression_dictionary(box: Box, data_dir: DataDir) -> None:
    docs = [
        {"_id": f"o{i}", "label": f"PRLV SEPA EDF CLIENTS PARTICULIERS {i}", "amount": -i}
        for i in range(TRAIN_FROM)
    ]
    await box.documents.put_many(NOTES, docs)
    assert (await box.fsck()).ok
    ((seq, body),) = raw(data_dir.database, "SELECT seq, body FROM dictionaries")
    raw(data_dir.database, "UPDATE dictionaries SET body = ? WHERE seq = ?",
        body[:30] + bytes([body[30] ^ 1]) + body[31:], seq)  # fmt: skip
    report = await box.fsck()
    assert report.checked["dictionaries"] == 1
    assert report.problems[0] == "dictionaries: a stored record failed authentication"
    # the documents packed with it cannot be read either, and each says so
    lacking = [p for p in report.problems if p.startswith("documents:")]
    assert len(lacking) == TRAIN_FROM
    assert "compression dictionary the store lacks" in lacking[0]


@pytest.mark.parametrize(("table", "column", "key"), CORRUPTIBLE)
async def test_a_blob_column_turned_into_text_neither_crashes_nor_lies(
    box: Box, data_dir: DataDir, table: str, column: str, key: str
) -> None:
    # One bit of a row's header is enough for SQLite to see TEXT (here not even UTF-8):
    # the bytes are unchanged, so they still authenticate, and nothing may crash.
    await filled(box)
    raw(data_dir.database, f"UPDATE {table} SET {column} = CAST({column} AS TEXT)")
    assert raw(data_dir.database, f"SELECT DISTINCT typeof({column}) FROM {table}") == [("text",)]
    report = await box.fsck()
    assert report.ok, report.problems
    assert (await box.documents.get("org.example.notes", "n3"))["i"] == 3
    assert await box.documents.doctypes() == {"io.cozy.files": 3, "org.example.notes": 5}
    assert len(await box.series.query("s", 0, 2**40)) == 10
    assert [i.name for i in await box.series.list()] == ["s"]
