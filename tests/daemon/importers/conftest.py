"""What the importer tests share: a document store on a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from selfdata import crypto
from selfdata.store import Database, DocumentStore
from selfdata.vault import Keys


@pytest.fixture
async def documents(tmp_path: Path) -> AsyncIterator[DocumentStore]:
    db = await Database.open(tmp_path / "import.db")
    try:
        yield DocumentStore(db, Keys(bytearray(crypto.random_key())))
    finally:
        await db.close()
