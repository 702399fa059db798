"""The SQLite file: pragmas, migrations, transactions that commit or roll back, never half."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sqlite3
from pathlib import Path

import pytest
from selfdata.errors import StoreError
from selfdata.store import SCHEMA_VERSION, Database
from selfdata.store.migrations import MIGRATIONS

TABLES = {"meta", "doctypes", "documents", "series", "series_chunks", "inbox"}


def plain(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def tables(path: Path) -> set[str]:
    return {r[0] for r in plain(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}


# --- opening and migrating ------------------------------------------------------------------


async def test_a_new_store_is_created_at_the_current_schema(db: Database, db_path: Path) -> None:
    assert SCHEMA_VERSION == len(MIGRATIONS) >= 1
    assert plain(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert tables(db_path) >= TABLES


async def test_the_store_is_in_wal_mode_with_full_synchronous_commits(
    db: Database, db_path: Path
) -> None:
    assert plain(db_path, "PRAGMA journal_mode") == [("wal",)]  # persistent, in the file
    async with db.transaction() as writer:
        async with writer.execute("PRAGMA synchronous") as cur:
            assert await cur.fetchone() == (2,)  # FULL: a returned commit survives power loss
        async with writer.execute("PRAGMA foreign_keys") as cur:
            assert await cur.fetchone() == (1,)
        async with writer.execute("PRAGMA secure_delete") as cur:
            assert await cur.fetchone() == (1,)
    assert await db.fetchone("PRAGMA synchronous") == (2,)
    assert await db.fetchone("PRAGMA query_only") == (1,)  # the reader cannot write


async def test_reopening_a_store_keeps_its_data_and_runs_no_migration_twice(db_path: Path) -> None:
    first = await Database.open(db_path)
    await first.set_meta("k", "v")
    await first.close()
    again = await Database.open(db_path)
    try:
        assert await again.get_meta("k") == "v"
        assert await again.fetchone("PRAGMA user_version") == (SCHEMA_VERSION,)
    finally:
        await again.close()


async def test_an_empty_sqlite_file_at_version_0_is_migrated(db_path: Path) -> None:
    plain(db_path, "CREATE TABLE unrelated (x)")
    db = await Database.open(db_path)
    try:
        assert tables(db_path) >= TABLES
        assert await db.fetchone("PRAGMA user_version") == (SCHEMA_VERSION,)
    finally:
        await db.close()


async def test_a_store_written_by_a_newer_selfdata_is_refused_untouched(db_path: Path) -> None:
    db = await Database.open(db_path)
    await db.close()
    plain(db_path, f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = db_path.read_bytes()  # noqa: ASYNC240
    with pytest.raises(StoreError, match="newer selfdata"):
        await Database.open(db_path)
    gc.collect()  # a connection leaked by the failed open would warn here (an error)
    assert plain(db_path, "PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
    assert db_path.read_bytes() == before  # noqa: ASYNC240


async def test_a_failing_migration_rolls_back_entirely(db_path: Path) -> None:
    # a table in the way makes migration 1 fail half-way through its script
    plain(db_path, "CREATE TABLE series (x)")
    with pytest.raises(StoreError):
        await Database.open(db_path)
    gc.collect()
    assert plain(db_path, "PRAGMA user_version") == [(0,)]
    assert tables(db_path) == {"series"}  # meta, doctypes, documents were rolled back


async def test_a_file_that_is_not_a_database_is_a_clear_store_error(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not an SQLite file at all" * 100)
    with pytest.raises(StoreError, match="cannot open the store"):
        await Database.open(path)
    gc.collect()


async def test_opening_without_create_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="no database"):
        await Database.open(tmp_path / "missing.db", create=False)
    assert not (tmp_path / "missing.db").exists()


async def test_closing_checkpoints_the_wal_into_the_main_file(db_path: Path) -> None:
    db = await Database.open(db_path)
    await db.set_meta("k", "v" * 10_000)
    await db.close()
    wal = db_path.with_name(db_path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    assert plain(db_path, "SELECT length(value) FROM meta WHERE key = 'k'") == [(10_000,)]


async def test_integrity_check_of_a_healthy_store_finds_nothing(db: Database) -> None:
    assert await db.integrity_check() == []


# --- transactions ---------------------------------------------------------------------------------


async def test_a_committed_transaction_is_visible_to_another_process(
    db: Database, db_path: Path
) -> None:
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO meta VALUES ('a', '1')")
    assert plain(db_path, "SELECT value FROM meta WHERE key = 'a'") == [("1",)]


async def test_an_exception_rolls_the_whole_transaction_back(db: Database, db_path: Path) -> None:
    class Boom(Exception):
        pass

    async def write_then_fail() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO meta VALUES ('a', '1')")
            await conn.execute("INSERT INTO meta VALUES ('b', '2')")
            raise Boom

    with pytest.raises(Boom):
        await write_then_fail()
    assert plain(db_path, "SELECT count(*) FROM meta") == [(0,)]
    await db.set_meta("c", "3")  # and the connection is usable again
    assert await db.get_meta("c") == "3"


async def test_a_failing_statement_rolls_back_the_earlier_ones_and_says_so(db: Database) -> None:
    async def write_twice() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO meta VALUES ('a', '1')")
            await conn.execute("INSERT INTO meta VALUES ('a', '2')")  # duplicate key

    with pytest.raises(StoreError, match="UNIQUE constraint"):
        await write_twice()
    assert await db.get_meta("a") is None


async def test_cancelling_a_task_mid_transaction_rolls_it_back(db: Database, db_path: Path) -> None:
    inside = asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO meta VALUES ('a', '1')")
            inside.set()
            await asyncio.Event().wait()  # the shutdown (SIGTERM) arrives here

    task = asyncio.create_task(writer())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert plain(db_path, "SELECT count(*) FROM meta") == [(0,)]
    await db.set_meta("b", "2")
    assert await db.get_meta("b") == "2"


@pytest.mark.parametrize("ticks", range(6))
async def test_cancelling_at_any_point_of_a_transaction_leaves_the_store_usable(
    db: Database, db_path: Path, ticks: int
) -> None:
    async def writer() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO meta VALUES ('a', '1')")
            await conn.execute("INSERT INTO meta VALUES ('b', '1')")

    task = asyncio.create_task(writer())
    for _ in range(ticks):
        await asyncio.sleep(0)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    count = plain(db_path, "SELECT count(*) FROM meta")[0][0]
    assert count in (0, 2)  # all or nothing
    async with db.transaction() as conn:  # no transaction was left open on the writer
        await conn.execute("INSERT INTO meta VALUES ('c', '1')")
    assert await db.get_meta("c") == "1"


async def test_cancelling_while_the_transaction_begins_leaves_none_open(db: Database) -> None:
    async def writer() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO meta VALUES ('a', '1')")

    for _ in range(5):
        task = asyncio.create_task(writer())
        await asyncio.sleep(0)  # the task is now waiting for BEGIN IMMEDIATE to run
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await db.set_meta("after", "ok")
        assert await db.get_meta("after") == "ok"
        await db.set_meta("after", "")


async def test_concurrent_transactions_are_serialised(db: Database) -> None:
    await db.set_meta("n", "0")

    async def increment() -> None:
        async with db.transaction() as conn:
            async with conn.execute("SELECT value FROM meta WHERE key = 'n'") as cur:
                (value,) = await cur.fetchone()  # type: ignore[misc]
            await asyncio.sleep(0)
            await conn.execute("UPDATE meta SET value = ? WHERE key = 'n'", (str(int(value) + 1),))

    await asyncio.gather(*(increment() for _ in range(40)))
    assert await db.get_meta("n") == "40"


async def test_readers_never_see_uncommitted_writes(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO meta VALUES ('a', '1')")
        assert await db.get_meta("a") is None
    assert await db.get_meta("a") == "1"


async def test_iterate_streams_every_row_in_batches(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO meta VALUES (?, ?)", [(f"k{i:04}", "v") for i in range(1234)]
        )
    sizes = []
    keys = []
    async for rows in db.iterate("SELECT key FROM meta ORDER BY key", batch=500):
        sizes.append(len(rows))
        keys += [r[0] for r in rows]
    assert sizes == [500, 500, 234]
    assert keys == [f"k{i:04}" for i in range(1234)]
