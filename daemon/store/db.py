"""The SQLite file: connections, pragmas, transactions and schema migrations.

One writer connection (serialised by a lock: SQLite has one writer anyway) and one
reader connection, so a page being read never sees another request's uncommitted
writes. WAL with ``synchronous=FULL``: a commit that returned survives a power cut.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import aiosqlite

from ..errors import StoreError
from .migrations import MIGRATIONS

__all__ = ["Database", "SCHEMA_VERSION"]

SCHEMA_VERSION = len(MIGRATIONS)

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    # Freed pages are zeroed, so deleted ciphertext does not linger in the file.
    "PRAGMA secure_delete=ON",
    "PRAGMA temp_store=MEMORY",
)


class Database:
    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: Path, *, create: bool = True) -> Database:
        if not create and not path.exists():
            raise StoreError(f"no database at {path}")
        try:
            writer = await aiosqlite.connect(path, isolation_level=None)
            for pragma in _PRAGMAS:
                await writer.execute(pragma)
            await migrate(writer)
            reader = await aiosqlite.connect(path, isolation_level=None)
            for pragma in _PRAGMAS[1:]:
                await reader.execute(pragma)
            await reader.execute("PRAGMA query_only=ON")
        except sqlite3.DatabaseError as err:
            raise StoreError(f"cannot open the store at {path}: {err}") from err
        return cls(path, writer, reader)

    async def close(self) -> None:
        async with self._write_lock:
            await self._reader.close()
            try:
                await self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.OperationalError:
                pass  # a reader elsewhere holds the WAL; the next open checkpoints
            await self._writer.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; any exception (or cancellation) rolls back."""
        async with self._write_lock:
            await self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield self._writer
            except BaseException:
                await asyncio.shield(self._writer.execute("ROLLBACK"))
                raise
            await asyncio.shield(self._writer.execute("COMMIT"))

    async def fetchall(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        async with self._reader.execute(sql, params) as cursor:
            return list(await cursor.fetchall())

    async def fetchone(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        async with self._reader.execute(sql, params) as cursor:
            return await cursor.fetchone()

    async def iterate(
        self, sql: str, params: Sequence[object] = (), batch: int = 500
    ) -> AsyncIterator[list[sqlite3.Row]]:
        """Rows in batches, for streaming a whole table without holding it in memory."""
        async with self._reader.execute(sql, params) as cursor:
            while rows := list(await cursor.fetchmany(batch)):
                yield rows

    async def get_meta(self, key: str) -> str | None:
        row = await self.fetchone("SELECT value FROM meta WHERE key = ?", (key,))
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        async with self.transaction() as db:
            await db.execute(
                "INSERT INTO meta(key, value) VALUES(?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    async def integrity_check(self) -> list[str]:
        rows = await self.fetchall("PRAGMA integrity_check")
        problems = [str(r[0]) for r in rows if r[0] != "ok"]
        problems += [f"foreign key: {tuple(r)}" for r in await self.fetchall("PRAGMA foreign_key_check")]
        return problems


async def migrate(db: aiosqlite.Connection) -> None:
    """Bring the file to :data:`SCHEMA_VERSION`, one migration per transaction."""
    async with db.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    if current > len(MIGRATIONS):
        raise StoreError(
            f"this store was written by a newer selfdata (schema {current}); upgrade selfdata"
        )
    for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
        await db.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(script):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {version}")
        except BaseException:
            await db.execute("ROLLBACK")
            raise
        await db.execute("COMMIT")


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
