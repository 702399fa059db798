"""Documents: JSON objects of a doctype, one encrypted row each.

On disk a row is ``(seq, doctype hash, id hash, version, ciphertext)``; the doctype name
and the document id are only inside ciphertexts. ``_id`` and ``_rev`` are the Cozy-style
fields the API shows: ``_rev`` is the version number as a string.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite

from ..doctypes import Doctype
from ..errors import Conflict, InputError, NotFound
from ..vault import Keys, Purpose
from .codec import ad_for, open_json, seal_json
from .db import Database

__all__ = ["DocumentStore", "PutResult"]

_MAX_PARAMS = 900  # below SQLite's oldest limit on bound parameters
Doc = dict[str, Any]


@dataclass(frozen=True)
class PutResult:
    id: str
    rev: str
    created: bool
    changed: bool


class DocumentStore:
    def __init__(self, db: Database, keys: Keys) -> None:
        self._db = db
        self._keys = keys
        self._key = keys.subkey(Purpose.DOCUMENTS)
        self._known_doctypes: set[bytes] = set()

    # -- naming --------------------------------------------------------------------------

    def doctype_hash(self, doctype: str) -> bytes:
        return self._keys.name("doctype", doctype)

    def id_hash(self, doctype_hash: bytes, doc_id: str) -> bytes:
        return self._keys.name("document", doctype_hash, doc_id)

    def content_id(self, doctype: str, canonical: bytes, occurrence: int) -> str:
        """A stable ``_id`` for a record that has none (see :mod:`selfdata.importers.run`)."""
        return self._keys.name("content", doctype, canonical, str(occurrence)).hex()

    # -- reading -------------------------------------------------------------------------

    async def doctypes(self) -> dict[str, int]:
        """Every doctype holding documents (or created by an import), with its count."""
        rows = await self._db.fetchall(
            "SELECT d.hash, d.name, count(x.seq) FROM doctypes d "
            "LEFT JOIN documents x ON x.doctype = d.hash GROUP BY d.hash"
        )
        return dict(sorted((self._open_doctype_name(h, n), c) for h, n, c in rows))

    async def exists(self, doctype: str) -> bool:
        h = self.doctype_hash(doctype)
        return await self._db.fetchone("SELECT 1 FROM doctypes WHERE hash = ?", (h,)) is not None

    async def get(self, doctype: str, doc_id: str) -> Doc:
        dh = self.doctype_hash(doctype)
        ih = self.id_hash(dh, doc_id)
        row = await self._db.fetchone(
            "SELECT version, body FROM documents WHERE doctype = ? AND id = ?", (dh, ih)
        )
        if row is None:
            raise NotFound(f"no document {doc_id!r} in {doctype}")
        return self._open(dh, ih, row[0], row[1])

    async def count(self, doctype: str) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM documents WHERE doctype = ?", (self.doctype_hash(doctype),)
        )
        return int(row[0]) if row else 0

    async def page(
        self, doctype: str, *, after: int = 0, limit: int = 100
    ) -> tuple[list[Doc], int | None]:
        """Up to ``limit`` documents in write order after cursor ``after``, and the next cursor."""
        if limit < 1:  # a page of none would answer "no more" and end a client's paging early
            raise InputError("a page must hold at least one document (limit >= 1)")
        dh = self.doctype_hash(doctype)
        rows = await self._db.fetchall(
            "SELECT seq, id, version, body FROM documents WHERE doctype = ? AND seq > ? "
            "ORDER BY seq LIMIT ?",
            (dh, after, limit + 1),
        )
        more = len(rows) > limit
        rows = rows[:limit]
        docs = [self._open(dh, ih, v, b) for _, ih, v, b in rows]
        return docs, (rows[-1][0] if more and rows else None)

    async def iterate(self, doctype: str) -> AsyncIterator[Doc]:
        """Every document of ``doctype``, streamed in write order."""
        dh = self.doctype_hash(doctype)
        async for rows in self._db.iterate(
            "SELECT id, version, body FROM documents WHERE doctype = ? ORDER BY seq", (dh,)
        ):
            for ih, v, b in rows:
                yield self._open(dh, ih, v, b)

    # -- writing -------------------------------------------------------------------------

    async def ensure_doctype(self, doctype: Doctype) -> None:
        async with self._db.transaction() as db:
            await self._ensure_doctype(db, doctype.name)

    async def create(self, doctype: Doctype, doc: Doc) -> PutResult:
        doc = dict(doc)
        doc.setdefault("_id", uuid.uuid4().hex)
        doc.pop("_rev", None)
        doctype.validate(doc)
        (result,) = await self.put_many(doctype, [doc], expect_new=True)
        return result

    async def update(self, doctype: Doctype, doc_id: str, doc: Doc, rev: str | None) -> PutResult:
        doc = {k: v for k, v in doc.items() if k != "_rev"} | {"_id": doc_id}
        doctype.validate(doc)
        (result,) = await self.put_many(doctype, [doc], expected_revs={doc_id: rev})
        return result

    async def put_many(
        self,
        doctype: Doctype,
        docs: Sequence[Doc],
        *,
        expect_new: bool = False,
        expected_revs: dict[str, str | None] | None = None,
        touched_after: int | None = None,
    ) -> list[PutResult]:
        """Upsert validated documents (each with an ``_id``) in one transaction.

        A document equal to the stored one is left alone (no write, same ``_rev``),
        unless ``touched_after`` is given: then every row is rewritten so its ``seq``
        records that this import run wrote it (see :mod:`selfdata.importers`).
        """
        dh = self.doctype_hash(doctype.name)
        async with self._db.transaction() as db:
            await self._ensure_doctype(db, doctype.name)
            hashes = [self.id_hash(dh, d["_id"]) for d in docs]
            existing = await self._existing(db, dh, hashes)
            results: list[PutResult] = []
            rows: list[tuple[bytes, bytes, int, bytes]] = []
            for doc, ih in zip(docs, hashes, strict=True):
                old = existing.get(ih)
                doc_id = doc["_id"]
                if expect_new and old is not None:
                    raise Conflict(f"a document {doc_id!r} already exists in {doctype.name}")
                if expected_revs is not None:
                    self._check_rev(doctype.name, doc_id, old, expected_revs.get(doc_id))
                version = 1 if old is None else old[1] + 1
                unchanged = (
                    old is not None
                    and bool(old[2])
                    and doc == open_json(self._key, old[2], ad_for(b"doc", dh, ih, old[1]))
                )
                if unchanged:
                    assert old is not None
                    results.append(PutResult(doc_id, str(old[1]), False, False))
                    if touched_after is None:
                        continue
                    version = old[1]  # same content, rewritten only to move its seq
                else:
                    results.append(PutResult(doc_id, str(version), old is None, True))
                body = seal_json(self._key, doc, ad_for(b"doc", dh, ih, version))
                rows.append((dh, ih, version, body))
                existing[ih] = (0, version, body)  # a later duplicate in this batch sees it
            await db.executemany(
                "INSERT OR REPLACE INTO documents(doctype, id, version, body) VALUES (?, ?, ?, ?)",
                rows,
            )
        return results

    async def delete(self, doctype: str, doc_id: str, rev: str | None = None) -> None:
        dh = self.doctype_hash(doctype)
        ih = self.id_hash(dh, doc_id)
        async with self._db.transaction() as db:
            async with db.execute(
                "SELECT version FROM documents WHERE doctype = ? AND id = ?", (dh, ih)
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                raise NotFound(f"no document {doc_id!r} in {doctype}")
            if rev is not None and rev != str(row[0]):
                raise Conflict(f"document {doc_id!r} changed since revision {rev} (now {row[0]})")
            await db.execute("DELETE FROM documents WHERE doctype = ? AND id = ?", (dh, ih))

    async def touched_since(self, doctype: str, after: int, doc_ids: Iterable[str]) -> set[str]:
        """Which of ``doc_ids`` were written after ``seq`` ``after`` (by this import run)."""
        dh = self.doctype_hash(doctype)
        by_hash = {self.id_hash(dh, i): i for i in doc_ids}
        found: set[str] = set()
        items = list(by_hash)
        for start in range(0, len(items), _MAX_PARAMS):
            chunk = items[start : start + _MAX_PARAMS]
            rows = await self._db.fetchall(
                f"SELECT id FROM documents WHERE doctype = ? AND seq > ? AND id IN ({_marks(chunk)})",  # noqa: S608
                (dh, after, *chunk),
            )
            found.update(by_hash[r[0]] for r in rows)
        return found

    async def last_seq(self) -> int:
        row = await self._db.fetchone("SELECT coalesce(max(seq), 0) FROM documents")
        return int(row[0]) if row else 0

    # -- internals -------------------------------------------------------------------------

    async def _ensure_doctype(self, db: aiosqlite.Connection, name: str) -> None:
        h = self.doctype_hash(name)
        if h in self._known_doctypes:
            return
        await db.execute(
            "INSERT OR IGNORE INTO doctypes(hash, name) VALUES (?, ?)",
            (h, seal_json(self._key, name, ad_for(b"doctype", h))),
        )
        self._known_doctypes.add(h)

    def _open_doctype_name(self, h: bytes, blob: bytes) -> str:
        return str(open_json(self._key, blob, ad_for(b"doctype", h)))

    async def _existing(
        self, db: aiosqlite.Connection, dh: bytes, hashes: list[bytes]
    ) -> dict[bytes, tuple[int, int, bytes]]:
        found: dict[bytes, tuple[int, int, bytes]] = {}
        for start in range(0, len(hashes), _MAX_PARAMS):
            chunk = hashes[start : start + _MAX_PARAMS]
            async with db.execute(
                f"SELECT id, seq, version, body FROM documents WHERE doctype = ? AND id IN ({_marks(chunk)})",  # noqa: S608
                (dh, *chunk),
            ) as cur:
                for ih, seq, version, body in await cur.fetchall():
                    found[ih] = (seq, version, body)
        return found

    def _open(self, dh: bytes, ih: bytes, version: int, body: bytes) -> Doc:
        doc: Doc = open_json(self._key, body, ad_for(b"doc", dh, ih, version))
        doc["_rev"] = str(version)
        return doc

    @staticmethod
    def _check_rev(
        doctype: str, doc_id: str, old: tuple[int, int, bytes] | None, rev: str | None
    ) -> None:
        if old is None:
            if rev is not None:
                raise NotFound(f"no document {doc_id!r} in {doctype}")
            return
        if rev is None or rev != str(old[1]):
            raise Conflict(
                f"document {doc_id!r} is at revision {old[1]}: send its current _rev to update it"
            )


def _marks(items: Sequence[object]) -> str:
    return ",".join("?" * len(items))
