"""The SQLite file: connections, pragmas, transactions and schema migrations.

One writer connection (serialised by a lock: SQLite has one writer anyway) and one
reader connection, so a page being read never sees another request's uncommitted
writes. WAL with ``synchronous=FULL``: a commit that returned survives a power cut.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import TypeVar

import aiosqlite

from ..errors import StoreError
from .migrations import MIGRATIONS

__all__ = ["BULK_CHECKPOINT_PAGES", "SCHEMA_VERSION", "Database"]

SCHEMA_VERSION = len(MIGRATIONS)
_T = TypeVar("_T")

_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    # Freed pages are zeroed, so deleted ciphertext does not linger in the file.
    "PRAGMA secure_delete=ON",
    "PRAGMA temp_store=MEMORY",
    # 8 MiB of page cache per connection (SQLite's default is 2): the id index is
    # random by design (keyed hashes), and imports touch all of it.
    "PRAGMA cache_size=-8192",
)


#: SQLite's default: a checkpoint once the WAL holds this many pages.
_CHECKPOINT_PAGES = 1000
#: While an import runs (see Database.bulk): 64 MiB of 4 KiB pages.
BULK_CHECKPOINT_PAGES = 16_384


class Database:
    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._bulk_writers = 0  # imports running (see bulk)

    @classmethod
    async def open(cls, path: Path, *, create: bool = True) -> Database:
        if not create and not path.exists():  # noqa: ASYNC240 - one stat, at start-up
            raise StoreError(f"no database at {path}")
        opened: list[aiosqlite.Connection] = []
        try:
            writer = await aiosqlite.connect(path, isolation_level=None)
            opened.append(writer)
            writer.text_factory = _text
            for pragma in _PRAGMAS:
                await writer.execute(pragma)
            await migrate(writer)
            reader = await aiosqlite.connect(path, isolation_level=None)
            opened.append(reader)
            reader.text_factory = _text
            for pragma in _PRAGMAS[1:]:
                await reader.execute(pragma)
            await reader.execute("PRAGMA query_only=ON")
        except BaseException as err:
            for conn in opened:  # a refused store must not leak connections (and threads)
                with suppress(sqlite3.Error):
                    await _complete(conn.close())
            if isinstance(err, sqlite3.DatabaseError):
                raise StoreError(f"cannot open the store at {path}: {err}") from err
            raise
        return cls(path, writer, reader)

    async def close(self) -> None:
        async with self._write_lock:
            await self._reader.close()
            # a reader elsewhere may hold the WAL: then the next open checkpoints
            with suppress(sqlite3.OperationalError):
                await self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            await self._writer.close()

    @asynccontextmanager
    async def bulk(self) -> AsyncIterator[None]:
        """Around a bulk write (an import): WAL checkpoints every ``BULK_CHECKPOINT_PAGES``
        instead of SQLite's 1,000 pages (4 MiB), then one checkpoint at the end.

        Every commit of an import rewrites pages of the random id index; checkpointed
        after each commit, they reach the main file as many times. Spaced out, a page
        rewritten by several commits is copied once. The WAL grows meanwhile (to about
        64 MiB): durability is the same, a commit is in the WAL and fsynced either way.
        """
        self._bulk_writers += 1
        if self._bulk_writers == 1:
            await self._set_autocheckpoint(BULK_CHECKPOINT_PAGES)
        try:
            yield
        finally:
            self._bulk_writers -= 1
            if not self._bulk_writers:  # else another import still runs, and ends this
                await self._set_autocheckpoint(_CHECKPOINT_PAGES)
                async with self._write_lock:  # readers may hold the WAL: it waits for later
                    with suppress(sqlite3.OperationalError):
                        await _complete(self._writer.execute("PRAGMA wal_checkpoint(PASSIVE)"))

    async def _set_autocheckpoint(self, pages: int) -> None:
        async with self._write_lock:  # a connection setting: taken between transactions
            await _complete(self._writer.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}"))

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; any exception (or cancellation) rolls back.

        Each of BEGIN, COMMIT and ROLLBACK runs to its end even when the task is cancelled
        meanwhile (aiosqlite's thread runs it anyway): otherwise a cancelled BEGIN could
        leave the writer inside a transaction that no one ever closes. SQLite errors come
        out as :class:`StoreError`.
        """
        async with self._write_lock:
            try:
                await _complete(self._writer.execute("BEGIN IMMEDIATE"))
                yield self._writer
                await _complete(self._writer.execute("COMMIT"))
            except BaseException as err:
                await self._rollback()  # a failed COMMIT can leave the transaction open, too
                if isinstance(err, sqlite3.Error):
                    raise StoreError(f"the store could not complete a write: {err}") from err
                raise

    async def _rollback(self) -> None:
        if self._writer.in_transaction:
            with suppress(sqlite3.Error):  # the original error is the one to report
                await _complete(self._writer.execute("ROLLBACK"))

    async def fetchall(self, sql: str, params: Sequence[object] = ()) -> list[sqlite3.Row]:
        try:
            async with self._reader.execute(sql, params) as cursor:
                return list(await cursor.fetchall())
        except sqlite3.Error as err:
            raise StoreError(f"the store could not be read: {err}") from err

    async def fetchone(self, sql: str, params: Sequence[object] = ()) -> sqlite3.Row | None:
        try:
            async with self._reader.execute(sql, params) as cursor:
                return await cursor.fetchone()
        except sqlite3.Error as err:
            raise StoreError(f"the store could not be read: {err}") from err

    async def iterate(
        self, sql: str, params: Sequence[object] = (), batch: int = 500
    ) -> AsyncIterator[list[sqlite3.Row]]:
        """Rows in batches, for streaming a whole table without holding it in memory."""
        try:
            async with self._reader.execute(sql, params) as cursor:
                while rows := list(await cursor.fetchmany(batch)):
                    yield rows
        except sqlite3.Error as err:
            raise StoreError(f"the store could not be read: {err}") from err

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
        problems += [
            f"foreign key: {tuple(r)}" for r in await self.fetchall("PRAGMA foreign_key_check")
        ]
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
        await _complete(db.execute("BEGIN IMMEDIATE"))
        try:
            for statement in _statements(script):
                await db.execute(statement)
            await db.execute(f"PRAGMA user_version = {version}")
            await _complete(db.execute("COMMIT"))
        except BaseException:
            if db.in_transaction:
                await _complete(db.execute("ROLLBACK"))
            raise


async def _complete(awaitable: Awaitable[_T]) -> _T:
    """Await ``awaitable`` to its end even if the caller is cancelled, then re-raise the cancel."""
    task = asyncio.ensure_future(awaitable)
    cancelled: asyncio.CancelledError | None = None
    while not task.done():
        try:
            await asyncio.shield(task)
        except asyncio.CancelledError as err:
            cancelled = err
    if cancelled is not None:
        if not task.cancelled():
            task.exception()  # retrieved: the cancellation is what the caller gets
        raise cancelled
    return task.result()


def _text(data: bytes) -> str | bytes:
    """TEXT values as str, unless they are not UTF-8.

    A single flipped bit in a row's header turns a BLOB column into TEXT; decoding it
    would fail the whole query. As bytes, the record fails authentication on its own,
    and fsck can name it.
    """
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
