"""Stores on a real SQLite file with a real (random) master key; no vault, no Argon2.

``raw_sql`` plays the attacker with the SD card: a separate plain ``sqlite3`` connection
that reads and rewrites rows behind the store's back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selfdata import crypto
from selfdata.store import Database, DocumentStore, FileStore, SeriesStore
from selfdata.vault import Keys

RawSql = Callable[..., list[Any]]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "store.db"


@pytest.fixture
async def db(db_path: Path) -> AsyncIterator[Database]:
    opened = await Database.open(db_path)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def keys() -> Keys:
    return Keys(bytearray(crypto.random_key()))


@pytest.fixture
def documents(db: Database, keys: Keys) -> DocumentStore:
    return DocumentStore(db, keys)


@pytest.fixture
def series(db: Database, keys: Keys) -> SeriesStore:
    return SeriesStore(db, keys)


@pytest.fixture
def blobs(tmp_path: Path) -> Path:
    path = tmp_path / "blobs"
    path.mkdir()
    return path


@pytest.fixture
def files(blobs: Path, documents: DocumentStore, keys: Keys) -> FileStore:
    return FileStore(blobs, documents, keys)


@pytest.fixture
def raw_sql(db_path: Path) -> Iterator[RawSql]:
    """Run SQL on the store's file through an independent connection (autocommit)."""
    conn = sqlite3.connect(db_path, isolation_level=None)

    def run(sql: str, *params: Any) -> list[Any]:
        return conn.execute(sql, params).fetchall()

    try:
        yield run
    finally:
        conn.close()
