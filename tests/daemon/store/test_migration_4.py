"""Migration 4: a store written at schema 3 upgrades to documents unique by id hash alone."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from selfdata.doctypes import resolve
from selfdata.store import SCHEMA_VERSION, Database, DocumentStore
from selfdata.store.migrations import MIGRATIONS
from selfdata.vault import Keys

NOTES = resolve("org.example.notes")
OPERATIONS = resolve("io.cozy.bank.operations")


def _schema_3_copy(source: Path, target: Path) -> None:
    """``target``: the rows of ``source`` in a file laid out as schema 3 left it."""
    old = sqlite3.connect(target, isolation_level=None)
    try:
        for script in MIGRATIONS[:3]:
            for statement in (s for s in script.split(";") if s.strip()):
                old.execute(statement)
        old.execute("PRAGMA user_version = 3")
        old.execute("ATTACH DATABASE ? AS new", (str(source),))
        old.execute("INSERT INTO meta SELECT * FROM new.meta")
        old.execute("INSERT INTO doctypes SELECT * FROM new.doctypes")
        old.execute(
            "INSERT INTO documents(seq, doctype, id, version, body) "
            "SELECT seq, doctype, id, version, body FROM new.documents"
        )
        old.execute("DETACH DATABASE new")
    finally:
        old.close()


@asynccontextmanager
async def _store(path: Path, keys: Keys) -> AsyncIterator[DocumentStore]:
    db = await Database.open(path)
    try:
        yield DocumentStore(db, keys)
    finally:
        await db.close()


def _indexes(path: Path) -> dict[str, str | None]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'documents'"
        ).fetchall()
    finally:
        conn.close()
    return dict(rows)


async def test_a_schema_3_store_upgrades_keeping_every_document_and_its_place(
    tmp_path: Path, keys: Keys
) -> None:
    current = tmp_path / "current.db"
    async with _store(current, keys) as store:
        await store.put_many(NOTES, [{"_id": f"n{i}", "i": i} for i in range(50)])
        await store.update(NOTES, "n7", {"i": "seven"}, "1")  # version 2
        await store.delete("org.example.notes", "n3")  # a gap in seq
        await store.put_many(OPERATIONS, [{"_id": "n1", "amount": 1.5, "date": "2024-01-02"}])
        before = [d async for d in store.iterate("org.example.notes")]
        first_page, cursor = await store.page("org.example.notes", limit=10)

    legacy = tmp_path / "legacy.db"
    _schema_3_copy(current, legacy)
    assert "sqlite_autoindex_documents_1" in _indexes(legacy)  # UNIQUE (doctype, id)

    upgraded = await Database.open(legacy)
    try:
        assert await upgraded.fetchone("PRAGMA user_version") == (SCHEMA_VERSION,)
        store = DocumentStore(upgraded, keys)
        assert [d async for d in store.iterate("org.example.notes")] == before
        assert await store.page("org.example.notes", limit=10) == (first_page, cursor)
        assert cursor is not None
        rest, _ = await store.page("org.example.notes", after=cursor, limit=100)
        assert len(rest) == 49 - 10  # the cursor of the old store still pages on
        assert (await store.get("org.example.notes", "n7"))["_rev"] == "2"
        assert (await store.get("io.cozy.bank.operations", "n1"))["amount"] == 1.5
        assert await store.doctypes() == {"io.cozy.bank.operations": 1, "org.example.notes": 49}
        assert await upgraded.integrity_check() == []
        # the upgraded store keeps working: updates, and new documents after the old ones
        await store.update(NOTES, "n7", {"i": 7}, "2")
        await store.create(NOTES, {"_id": "new", "i": -1})
        assert [d["_id"] async for d in store.iterate("org.example.notes")][-2:] == ["n7", "new"]
    finally:
        await upgraded.close()
    indexes = _indexes(legacy)
    assert set(indexes) == {"documents_by_id", "documents_by_doctype"}
    assert "UNIQUE" in str(indexes["documents_by_id"])


async def test_of_two_rows_with_one_id_hash_the_first_written_is_kept(
    tmp_path: Path, keys: Keys
) -> None:
    """Only tampering makes them (the hash is keyed over the doctype): the copy goes."""
    current = tmp_path / "current.db"
    async with _store(current, keys) as store:
        await store.create(NOTES, {"_id": "a", "text": "genuine"})
        await store.ensure_doctype(OPERATIONS)
    legacy = tmp_path / "legacy.db"
    _schema_3_copy(current, legacy)
    conn = sqlite3.connect(legacy, isolation_level=None)
    try:  # the same id and body, moved to another doctype: allowed by UNIQUE (doctype, id)
        conn.execute(
            "INSERT INTO documents(doctype, id, version, body) "
            "SELECT ?, id, version, body FROM documents",
            (store.doctype_hash(OPERATIONS.name),),
        )
    finally:
        conn.close()
    upgraded = await Database.open(legacy)
    try:
        store = DocumentStore(upgraded, keys)
        assert (await store.get("org.example.notes", "a"))["text"] == "genuine"
        assert await store.doctypes() == {"io.cozy.bank.operations": 0, "org.example.notes": 1}
    finally:
        await upgraded.close()
