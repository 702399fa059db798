"""Whoever holds the SD card can change bytes; they cannot make the box return wrong data.

Every test rewrites the SQLite file or a blob behind the store's back (``raw_sql`` is an
independent connection), then reads through a *fresh* store object, as after a restart.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from selfdata.doctypes import resolve
from selfdata.errors import IntegrityError, NotFound
from selfdata.store import Database, DocumentStore, FileStore, SeriesStore
from selfdata.vault import Keys

from ._util import chunks_of, flipped

NOTES = resolve("org.example.notes")
DAY = 86_400
T0 = 19_700 * DAY


def one_blob(raw_sql, sql: str) -> tuple[object, bytes]:  # type: ignore[no-untyped-def]
    ((key, blob),) = raw_sql(sql)
    assert isinstance(blob, bytes)
    return key, blob


# --- documents ----------------------------------------------------------------------------


async def test_a_flipped_byte_anywhere_in_a_document_is_detected(
    db: Database, keys: Keys, raw_sql
) -> None:  # type: ignore[no-untyped-def]
    await DocumentStore(db, keys).create(NOTES, {"_id": "a", "v": 1})
    seq, body = one_blob(raw_sql, "SELECT seq, body FROM documents")
    for position in range(len(body)):
        raw_sql("UPDATE documents SET body = ? WHERE seq = ?", flipped(body, position), seq)
        store = DocumentStore(db, keys)
        with pytest.raises(IntegrityError):
            await store.get("org.example.notes", "a")
        with pytest.raises(IntegrityError):
            _ = [d async for d in store.iterate("org.example.notes")]
        with pytest.raises(IntegrityError):
            await store.page("org.example.notes")
    raw_sql("UPDATE documents SET body = ? WHERE seq = ?", body, seq)
    assert (await DocumentStore(db, keys).get("org.example.notes", "a"))["v"] == 1


async def test_a_flipped_byte_anywhere_in_a_doctype_name_is_detected(
    db: Database, keys: Keys, raw_sql
) -> None:  # type: ignore[no-untyped-def]
    await DocumentStore(db, keys).create(NOTES, {"v": 1})
    h, name = one_blob(raw_sql, "SELECT hash, name FROM doctypes")
    for position in range(len(name)):
        raw_sql("UPDATE doctypes SET name = ? WHERE hash = ?", flipped(name, position), h)
        with pytest.raises(IntegrityError):
            await DocumentStore(db, keys).doctypes()


async def test_documents_swapped_between_rows_are_detected(
    db: Database, keys: Keys, raw_sql
) -> None:  # type: ignore[no-untyped-def]
    store = DocumentStore(db, keys)
    await store.create(NOTES, {"_id": "a", "owner": "alice"})
    await store.create(NOTES, {"_id": "b", "owner": "bob"})
    (sa, ba), (sb, bb) = raw_sql("SELECT seq, body FROM documents ORDER BY seq")
    raw_sql("UPDATE documents SET body = ? WHERE seq = ?", bb, sa)
    raw_sql("UPDATE documents SET body = ? WHERE seq = ?", ba, sb)
    for doc_id in ("a", "b"):
        with pytest.raises(IntegrityError):
            await store.get("org.example.notes", doc_id)


async def test_a_document_moved_to_another_doctype_is_detected(
    db: Database, keys: Keys, raw_sql
) -> None:  # type: ignore[no-untyped-def]
    store = DocumentStore(db, keys)
    await store.create(NOTES, {"_id": "a", "secret": 1})
    await store.create(resolve("org.example.public"), {"_id": "a", "public": 1})
    rows = raw_sql("SELECT doctype, body FROM documents ORDER BY seq")
    raw_sql("UPDATE documents SET body = ? WHERE doctype = ?", rows[0][1], rows[1][0])
    with pytest.raises(IntegrityError):
        await store.get("org.example.public", "a")


async def test_a_document_moved_to_another_id_is_detected(
    db: Database, keys: Keys, raw_sql
) -> None:  # type: ignore[no-untyped-def]
    store = DocumentStore(db, keys)
    await store.create(NOTES, {"_id": "a", "v": 1})
    raw_sql(
        "UPDATE documents SET id = ?", store.id_hash(store.doctype_hash("org.example.notes"), "b")
    )
    with pytest.raises(IntegrityError):
        await store.get("org.example.notes", "b")


async def test_an_old_version_put_back_under_the_new_version_number_is_detected(
    db: Database, keys: Keys, raw_sql
) -> None:  # type: ignore[no-untyped-def]
    store = DocumentStore(db, keys)
    await store.create(NOTES, {"_id": "a", "balance": 10})
    _, old_body = one_blob(raw_sql, "SELECT version, body FROM documents")
    await store.update(NOTES, "a", {"balance": 1_000_000}, "1")
    raw_sql("UPDATE documents SET body = ?", old_body)  # version column stays 2
    with pytest.raises(IntegrityError):
        await store.get("org.example.notes", "a")
    raw_sql("UPDATE documents SET version = 3")  # or the version bumped alone
    with pytest.raises(IntegrityError):
        await store.get("org.example.notes", "a")


@pytest.mark.parametrize("size", [0, 1, 39, 40, -1])
async def test_a_truncated_document_is_detected(
    db: Database, keys: Keys, raw_sql, size: int
) -> None:  # type: ignore[no-untyped-def]
    await DocumentStore(db, keys).create(NOTES, {"_id": "a", "v": "x" * 50})
    _, body = one_blob(raw_sql, "SELECT seq, body FROM documents")
    raw_sql("UPDATE documents SET body = ?", body[:size])
    with pytest.raises(IntegrityError):
        await DocumentStore(db, keys).get("org.example.notes", "a")


@pytest.mark.parametrize("value", [None, 12, "text", 1.5])
async def test_a_column_rewritten_with_another_type_is_detected(
    db: Database, keys: Keys, raw_sql, value: object
) -> None:  # type: ignore[no-untyped-def]
    await DocumentStore(db, keys).create(NOTES, {"_id": "a", "v": 1})
    raw_sql("PRAGMA ignore_check_constraints = ON")
    raw_sql("UPDATE documents SET version = ?", value if value is not None else "x")
    with pytest.raises(IntegrityError):
        _ = [d async for d in DocumentStore(db, keys).iterate("org.example.notes")]
    if value is not None:
        raw_sql("UPDATE documents SET version = 1, body = ?", value)
        with pytest.raises(IntegrityError):
            _ = [d async for d in DocumentStore(db, keys).iterate("org.example.notes")]


async def test_another_boxs_ciphertext_does_not_open(db: Database, keys: Keys, raw_sql) -> None:  # type: ignore[no-untyped-def]
    other = Keys(bytearray(32))
    await DocumentStore(db, other).create(NOTES, {"_id": "a", "v": 1})
    await DocumentStore(db, keys).create(NOTES, {"_id": "a", "v": 2})
    (_, theirs), (seq, _) = raw_sql("SELECT seq, body FROM documents ORDER BY seq")
    raw_sql("UPDATE documents SET body = ? WHERE seq = ?", theirs, seq)
    with pytest.raises(IntegrityError):
        await DocumentStore(db, keys).get("org.example.notes", "a")


# --- series ----------------------------------------------------------------------------------------


async def test_a_flipped_byte_anywhere_in_a_series_chunk_is_detected(
    db: Database, keys: Keys, raw_sql
) -> None:  # type: ignore[no-untyped-def]
    await SeriesStore(db, keys).write("s", [(T0, 1.0), (T0 + 60, 2.0)])
    ((day, body),) = raw_sql("SELECT day, body FROM series_chunks")
    for position in range(len(body)):
        raw_sql("UPDATE series_chunks SET body = ? WHERE day = ?", flipped(body, position), day)
        store = SeriesStore(db, keys)
        with pytest.raises(IntegrityError):
            await store.query("s", T0, T0 + DAY)
        with pytest.raises(IntegrityError):
            await store.query("s", T0, T0 + DAY, step=3600, agg="max")
        with pytest.raises(IntegrityError):  # nor can new points be merged into it
            await store.write("s", [(T0 + 120, 3.0)])


async def test_a_flipped_byte_anywhere_in_a_series_name_is_detected(
    db: Database, keys: Keys, raw_sql
) -> None:  # type: ignore[no-untyped-def]
    await SeriesStore(db, keys).write("linky.papp", [(T0, 1.0)], unit="VA")
    h, name = one_blob(raw_sql, "SELECT hash, name FROM series")
    for position in range(len(name)):
        raw_sql("UPDATE series SET name = ? WHERE hash = ?", flipped(name, position), h)
        with pytest.raises(IntegrityError):
            await SeriesStore(db, keys).list()


async def test_series_days_swapped_are_detected(db: Database, keys: Keys, raw_sql) -> None:  # type: ignore[no-untyped-def]
    await SeriesStore(db, keys).write("s", [(T0, 1.0), (T0 + DAY, 2.0)])
    (d1, b1), (d2, b2) = raw_sql("SELECT day, body FROM series_chunks ORDER BY day")
    raw_sql("UPDATE series_chunks SET body = ? WHERE day = ?", b2, d1)
    raw_sql("UPDATE series_chunks SET body = ? WHERE day = ?", b1, d2)
    with pytest.raises(IntegrityError):
        await SeriesStore(db, keys).query("s", T0, T0 + DAY)
    with pytest.raises(IntegrityError):
        await SeriesStore(db, keys).query("s", T0 + DAY, T0 + 2 * DAY)


async def test_a_chunk_moved_to_another_day_is_detected(db: Database, keys: Keys, raw_sql) -> None:  # type: ignore[no-untyped-def]
    await SeriesStore(db, keys).write("s", [(T0, 1.0)])
    raw_sql("UPDATE series_chunks SET day = day + 1")
    with pytest.raises(IntegrityError):
        await SeriesStore(db, keys).query("s", 0, 2**40)


async def test_a_chunk_moved_to_another_series_is_detected(
    db: Database, keys: Keys, raw_sql
) -> None:  # type: ignore[no-untyped-def]
    store = SeriesStore(db, keys)
    await store.write("private", [(T0, 1.0)])
    await store.write("public", [(T0, 2.0)])
    body = raw_sql("SELECT body FROM series_chunks WHERE series = ?", store.series_hash("private"))
    raw_sql(
        "UPDATE series_chunks SET body = ? WHERE series = ?",
        body[0][0],
        store.series_hash("public"),
    )
    with pytest.raises(IntegrityError):
        await SeriesStore(db, keys).query("public", T0, T0 + 1)


async def test_an_old_series_chunk_under_the_new_version_number_is_detected(
    db: Database, keys: Keys, raw_sql
) -> None:  # type: ignore[no-untyped-def]
    store = SeriesStore(db, keys)
    await store.write("s", [(T0, 1.0)])
    ((old,),) = raw_sql("SELECT body FROM series_chunks")
    await store.write("s", [(T0, 2.0)])
    assert raw_sql("SELECT version FROM series_chunks") == [(2,)]
    raw_sql("UPDATE series_chunks SET body = ?", old)
    with pytest.raises(IntegrityError):
        await SeriesStore(db, keys).query("s", T0, T0 + 1)


@pytest.mark.parametrize("size", [0, 10, 40, -1])
async def test_a_truncated_series_chunk_is_detected(
    db: Database, keys: Keys, raw_sql, size: int
) -> None:  # type: ignore[no-untyped-def]
    await SeriesStore(db, keys).write("s", [(T0 + i, float(i)) for i in range(100)])
    ((body,),) = raw_sql("SELECT body FROM series_chunks")
    raw_sql("UPDATE series_chunks SET body = ?", body[:size])
    with pytest.raises(IntegrityError):
        await SeriesStore(db, keys).query("s", T0, T0 + DAY)


# --- files ----------------------------------------------------------------------------------------


async def read_all(files: FileStore, file_id: str) -> bytes:
    return b"".join([p async for p in files.read(file_id)])


@pytest.mark.parametrize("size", [0, 40])
async def test_a_flipped_byte_anywhere_in_a_file_blob_is_detected(
    files: FileStore, size: int
) -> None:
    doc = await files.save("f.bin", chunks_of(b"z" * size))
    path = files.blob_path(doc["_id"])
    blob = path.read_bytes()
    for position in range(len(blob)):
        path.write_bytes(flipped(blob, position))
        with pytest.raises(IntegrityError):
            await read_all(files, doc["_id"])
    path.write_bytes(blob)
    assert await read_all(files, doc["_id"]) == b"z" * size


async def test_file_blobs_swapped_are_detected(files: FileStore, tmp_path: Path) -> None:
    a = await files.save("a.pdf", chunks_of(b"alice's payslip"))
    b = await files.save("b.pdf", chunks_of(b"bob's payslip"))
    pa, pb = files.blob_path(a["_id"]), files.blob_path(b["_id"])
    shutil.move(pa, tmp_path / "tmp")
    shutil.move(pb, pa)
    shutil.move(tmp_path / "tmp", pb)
    for file_id in (a["_id"], b["_id"]):
        with pytest.raises(IntegrityError):
            await read_all(files, file_id)


@pytest.mark.parametrize("cut", [0, 10, 24, 24 + 65_536 + 17, 24 + 65_536 + 17 + 5, -1])
async def test_a_truncated_file_blob_is_detected(files: FileStore, cut: int) -> None:
    doc = await files.save("f.bin", chunks_of(b"q" * 100_000))
    path = files.blob_path(doc["_id"])
    path.write_bytes(path.read_bytes()[:cut])
    with pytest.raises(IntegrityError):
        await read_all(files, doc["_id"])


async def test_a_file_blob_with_bytes_appended_is_detected(files: FileStore) -> None:
    doc = await files.save("f.bin", chunks_of(b"q" * 1000))
    path = files.blob_path(doc["_id"])
    with path.open("ab") as blob:
        blob.write(b"\0" * 20)
    with pytest.raises(IntegrityError):
        await read_all(files, doc["_id"])


async def test_a_deleted_file_blob_is_not_found(files: FileStore) -> None:
    doc = await files.save("f.bin", chunks_of(b"q"))
    files.blob_path(doc["_id"]).unlink()
    with pytest.raises(NotFound):
        await read_all(files, doc["_id"])
