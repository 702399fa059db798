"""Documents: JSON objects of a doctype, one encrypted row each.

On disk a row is ``(seq, doctype hash, id hash, version, ciphertext)``; the doctype name
and the document id are only inside ciphertexts. The id hash is keyed over the doctype
hash, so it is unique on its own (migration 4): lookups by id write ``+doctype`` so that
SQLite finds the row through that unique index, never by scanning the doctype's rows. ``_id`` and ``_rev`` are the Cozy-style
fields the API shows: ``_rev`` is the version number as a string.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, NamedTuple, cast

import aiosqlite

from ..doctypes import Doctype
from ..errors import Conflict, InputError, IntegrityError, NotFound, StoreError
from ..vault import Keys, Namer, Purpose
from .codec import (
    ad_for,
    document_ads,
    dumps,
    open_dictionaries,
    open_document,
    open_json,
    pack_documents,
    seal_dictionary,
    seal_json,
    seal_packed,
)
from .db import Database
from .dictionaries import TRAIN_FROM, Dictionaries, MissingDictionary, checked_dictionary, train

__all__ = ["BulkWriter", "DocumentStore", "Existing", "Prepared", "PutResult"]

_MAX_PARAMS = 900  # below SQLite's oldest limit on bound parameters
Doc = dict[str, Any]


class PutResult(NamedTuple):
    id: str
    rev: str
    created: bool
    changed: bool


class Prepared(NamedTuple):
    """A document encoded once, as it will be stored (``_id`` included)."""

    doc_id: str
    plain: bytes  # the canonical JSON that is stored
    id_hash: bytes
    touch: bool = False
    #: ``plain`` as codec.pack_documents makes it, when the caller did that already
    packed: bytes | None = None


class Existing(NamedTuple):
    """A stored row, or one this transaction writes (then ``plain``: not sealed yet)."""

    seq: int
    version: int
    body: bytes
    plain: bytes | None = None


#: Batches at least this big are compressed in a thread (see codec.pack_documents).
_COMPRESS_IN_THREAD = 256


class DocumentStore:
    def __init__(self, db: Database, keys: Keys) -> None:
        self._db = db
        self._keys = keys
        self._key = keys.subkey(Purpose.DOCUMENTS)
        self._namer = keys.namer()
        self._known_doctypes: set[bytes] = set()
        self._dictionaries = Dictionaries()
        self._dictionaries_loaded = False

    # -- naming --------------------------------------------------------------------------

    @property
    def namer(self) -> Namer:
        return self._namer

    def names_key(self) -> bytes:
        """The naming key alone, for the import worker (see importers/worker.py)."""
        return self._keys.subkey(Purpose.NAMES)

    def doctype_hash(self, doctype: str) -> bytes:
        return self._namer.doctype_hash(doctype)

    def id_hash(self, doctype_hash: bytes, doc_id: str) -> bytes:
        return self._namer.id_hash(doctype_hash, doc_id)

    def content_id(self, doctype: str, canonical: bytes, occurrence: int) -> str:
        """A stable ``_id`` for a record that has none (see :mod:`selfdata.importers.run`)."""
        return self._namer.content_id(doctype, canonical, occurrence)

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
            "SELECT version, body FROM documents WHERE +doctype = ? AND id = ?", (dh, ih)
        )
        if row is None:
            raise NotFound(f"no document {doc_id!r} in {doctype}")
        return (await self._opened(dh, [(ih, row[0], row[1])]))[0]

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
        docs = await self._opened(dh, [(ih, v, b) for _, ih, v, b in rows])
        return docs, (rows[-1][0] if more and rows else None)

    async def iterate(self, doctype: str) -> AsyncIterator[Doc]:
        """Every document of ``doctype``, streamed in write order."""
        dh = self.doctype_hash(doctype)
        async for rows in self._db.iterate(
            "SELECT id, version, body FROM documents WHERE doctype = ? ORDER BY seq", (dh,)
        ):
            for doc in await self._opened(dh, rows):
                yield doc

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
    ) -> list[PutResult]:
        """Upsert validated documents (each with an ``_id``) in one transaction.

        A document equal to the stored one is left alone: no write, same ``_rev``.
        """
        dh = self.doctype_hash(doctype.name)
        items = [self.prepare(dh, doc) for doc in docs]
        await self.load_dictionaries(again=False)
        async with self._db.transaction() as tx:
            await self._ensure_doctype(tx, doctype.name)
            existing = await self.lookup(tx, dh, [i.id_hash for i in items])
            return await self.write(
                tx,
                doctype.name,
                dh,
                items,
                existing,
                expect_new=expect_new,
                expected_revs=expected_revs,
            )

    def prepare(self, dh: bytes, doc: Doc, *, touch: bool = False) -> Prepared:
        return Prepared(doc["_id"], dumps(doc), self.id_hash(dh, doc["_id"]), touch)

    async def lookup(
        self, conn: aiosqlite.Connection, dh: bytes, hashes: Sequence[bytes]
    ) -> dict[bytes, Existing]:
        """The stored rows for these id hashes, seen from ``conn`` (its own writes included)."""
        found: dict[bytes, Existing] = {}
        for start in range(0, len(hashes), _MAX_PARAMS):
            chunk = hashes[start : start + _MAX_PARAMS]
            async with conn.execute(
                f"SELECT id, seq, version, body FROM documents WHERE +doctype = ? AND id IN ({_marks(chunk)})",  # noqa: S608
                (dh, *chunk),
            ) as cur:
                for ih, seq, version, body in await cur.fetchall():
                    found[ih] = Existing(seq, version, body)
        return found

    async def write(
        self,
        conn: aiosqlite.Connection,
        doctype: str,
        dh: bytes,
        items: Sequence[Prepared],
        existing: dict[bytes, Existing],
        *,
        expect_new: bool = False,
        expected_revs: dict[str, str | None] | None = None,
    ) -> list[PutResult]:
        """Write prepared documents inside the caller's transaction ``conn``.

        An unchanged document is skipped unless it is marked ``touch``: then it is
        rewritten (same version) so that its ``seq`` shows this import run wrote it.
        """
        results: list[PutResult] = []
        ids: list[bytes] = []
        versions: list[int] = []
        plains: list[bytes] = []
        ready: list[bytes | None] = []  # packed, where the caller did it
        key = self._key
        for item in items:
            ih = item.id_hash
            old = existing.get(ih)
            if expect_new and old is not None:
                raise Conflict(f"a document {item.doc_id!r} already exists in {doctype}")
            if expected_revs is not None:
                self._check_rev(doctype, item.doc_id, old, expected_revs.get(item.doc_id))
            if old is None:
                version = 1
                results.append(PutResult(item.doc_id, "1", True, True))
            elif _same(
                old.plain
                if old.plain is not None
                else open_document(
                    key, old.body, ad_for(b"doc", dh, ih, old.version), self._dictionaries
                ),
                item.plain,
            ):
                results.append(PutResult(item.doc_id, str(old.version), False, False))
                if not item.touch:
                    continue
                version = old.version  # same content, rewritten only to move its seq
            else:
                version = old.version + 1
                results.append(PutResult(item.doc_id, str(version), False, True))
            ids.append(ih)
            versions.append(version)
            plains.append(item.plain)
            ready.append(item.packed)
            existing[ih] = Existing(0, version, b"", item.plain)  # a later duplicate sees it
        # sealed in batch: zstd in one call (in a thread for big batches), nonces at once
        todo = [i for i, p in enumerate(ready) if p is None]
        if todo:
            unpacked = [plains[i] for i in todo]
            dictionary = self._dictionaries.newest(dh)
            if dictionary is None and len(unpacked) >= TRAIN_FROM:
                dictionary = await asyncio.to_thread(train, unpacked)
                if dictionary is not None:
                    await self.add_dictionary(conn, dh, dictionary)
            if len(todo) >= _COMPRESS_IN_THREAD:
                done = await asyncio.to_thread(pack_documents, unpacked, dictionary)
            else:
                done = pack_documents(unpacked, dictionary)
            for i, p in zip(todo, done, strict=True):
                ready[i] = p
        packed = cast("list[bytes]", ready)
        bodies = seal_packed(key, packed, document_ads(dh, ids, versions))
        await conn.executemany(
            "INSERT OR REPLACE INTO documents(doctype, id, version, body) VALUES (?, ?, ?, ?)",
            zip(itertools.repeat(dh), ids, versions, bodies),
        )
        return results

    def bulk(self, doctype: Doctype) -> BulkWriter:
        """A writer for one import: batches share a transaction for a while (see BulkWriter)."""
        return BulkWriter(self, self._db, doctype)

    async def delete(self, doctype: str, doc_id: str, rev: str | None = None) -> None:
        dh = self.doctype_hash(doctype)
        ih = self.id_hash(dh, doc_id)
        async with self._db.transaction() as db:
            async with db.execute(
                "SELECT version FROM documents WHERE +doctype = ? AND id = ?", (dh, ih)
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                raise NotFound(f"no document {doc_id!r} in {doctype}")
            if rev is not None and rev != str(row[0]):
                raise Conflict(f"document {doc_id!r} changed since revision {rev} (now {row[0]})")
            await db.execute("DELETE FROM documents WHERE +doctype = ? AND id = ?", (dh, ih))
            async with db.execute(
                "SELECT 1 FROM documents WHERE doctype = ? LIMIT 1", (dh,)
            ) as cur:
                emptied = await cur.fetchone() is None
            if emptied:  # its dictionaries hold pieces of its records: they go too
                await db.execute("DELETE FROM dictionaries WHERE doctype = ?", (dh,))
        if emptied:
            self._dictionaries.drop(dh)

    async def last_seq(self) -> int:
        row = await self._db.fetchone("SELECT coalesce(max(seq), 0) FROM documents")
        return int(row[0]) if row else 0

    # -- compression dictionaries (see dictionaries.py) -------------------------------------

    async def load_dictionaries(self, *, again: bool = True) -> None:
        """Read the store's dictionaries (``again=False``: unless read already)."""
        if self._dictionaries_loaded and not again:
            return
        rows = await self._db.fetchall("SELECT id, doctype, body FROM dictionaries ORDER BY seq")
        self._dictionaries = open_dictionaries(self._key, rows)
        self._dictionaries_loaded = True

    def clear_cache(self) -> None:
        """Forget the decrypted dictionaries (they hold pieces of records): at lock."""
        self._dictionaries = Dictionaries()
        self._dictionaries_loaded = False

    async def dictionary(self, doctype: str) -> bytes | None:
        """The dictionary ``doctype``'s documents are compressed with now, if it has one."""
        await self.load_dictionaries(again=False)
        return self._dictionaries.newest(self.doctype_hash(doctype))

    async def add_dictionary(self, conn: aiosqlite.Connection, dh: bytes, data: bytes) -> None:
        """Store a new dictionary for doctype ``dh`` in the caller's transaction; the
        doctype's writes use it from now on."""
        dict_id, _ = checked_dictionary(data)
        try:
            await conn.execute(
                "INSERT INTO dictionaries(id, doctype, body) VALUES (?, ?, ?)",
                (dict_id, dh, seal_dictionary(self._key, dh, dict_id, data)),
            )
        except sqlite3.IntegrityError:  # a random 31-bit id drawn twice: 1 in 2**31
            raise StoreError(
                "two compression dictionaries drew the same id: run the import again"
            ) from None
        self._dictionaries.add(dict_id, dh, data)

    async def _opened(self, dh: bytes, rows: Sequence[Sequence[Any]]) -> list[Doc]:
        """Rows opened; a dictionary another writer added since is read first."""
        await self.load_dictionaries(again=False)
        try:
            return [self._open(dh, ih, v, b) for ih, v, b in rows]
        except MissingDictionary as err:
            await self.load_dictionaries()
            if err.dict_id not in self._dictionaries:
                raise
            return [self._open(dh, ih, v, b) for ih, v, b in rows]

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

    def _open(self, dh: bytes, ih: bytes, version: int, body: bytes) -> Doc:
        plain = open_document(self._key, body, ad_for(b"doc", dh, ih, version), self._dictionaries)
        try:
            doc: Doc = json.loads(plain)
        except ValueError as err:  # authentic but unparsable: a bug, not tampering
            raise IntegrityError("a stored record is not valid JSON") from err
        doc["_rev"] = str(version)
        return doc

    @staticmethod
    def _check_rev(doctype: str, doc_id: str, old: Existing | None, rev: str | None) -> None:
        if old is None:
            if rev is not None:
                raise NotFound(f"no document {doc_id!r} in {doctype}")
            return
        if rev is None or rev != str(old.version):
            raise Conflict(
                f"document {doc_id!r} is at revision {old.version}: send its current _rev to update it"
            )


def _same(stored: bytes, new: bytes) -> bool:
    """Equal documents: the same bytes (a re-import), or the same JSON in another key order."""
    return stored == new or json.loads(stored) == json.loads(new)


def _marks(items: Sequence[object]) -> str:
    return ",".join("?" * len(items))


class BulkWriter:
    """The writes of one import: transactions that grow, and few WAL checkpoints.

    Each commit writes every page of the id index that its rows touched, and keyed
    hashes land at random places: a big transaction rewrites most of the index, however
    many rows it holds. So the first transaction commits after ``COMMIT_ROWS`` rows or
    ``COMMIT_SECONDS``, and each next one may hold twice as many (up to
    ``MAX_COMMIT_ROWS``, ``MAX_COMMIT_SECONDS``): a long import commits a few times, not
    once a second. WAL checkpoints are spaced out meanwhile (``Database.bulk``), so a
    page rewritten by several commits reaches the main file once.

    A crash loses at most the open transaction, never a committed one (an import is
    idempotent: running it again stores the rest); between transactions other writers
    get their turn.
    """

    COMMIT_ROWS = 20_000
    COMMIT_SECONDS = 1.0
    MAX_COMMIT_ROWS = 160_000
    MAX_COMMIT_SECONDS = 8.0

    def __init__(self, store: DocumentStore, db: Database, doctype: Doctype) -> None:
        self.store = store
        self.doctype = doctype
        self.dh = store.doctype_hash(doctype.name)
        self._db = db
        self._context: AbstractAsyncContextManager[aiosqlite.Connection] | None = None
        self._bulk: AbstractAsyncContextManager[None] | None = None
        self._tx: aiosqlite.Connection | None = None
        self._rows = 0
        self._opened = 0.0
        self._max_rows = self.COMMIT_ROWS
        self._max_seconds = self.COMMIT_SECONDS
        #: The last ``seq`` before this import: rows above it were written by it.
        self.start = 0

    async def __aenter__(self) -> BulkWriter:
        await self.store.ensure_doctype(self.doctype)
        await self.store.load_dictionaries(again=False)
        self.start = await self.store.last_seq()
        self._bulk = self._db.bulk()
        await self._bulk.__aenter__()
        return self

    async def __aexit__(self, kind: object, err: BaseException | None, tb: object) -> None:
        try:
            await self._commit(err)
        finally:
            if self._bulk is not None:
                bulk, self._bulk = self._bulk, None
                await bulk.__aexit__(None, None, None)

    async def _commit(self, err: BaseException | None = None) -> None:
        if self._context is not None:
            context, self._context, self._tx = self._context, None, None
            await context.__aexit__(type(err) if err else None, err, None)

    async def transaction(self) -> aiosqlite.Connection:
        if self._tx is None:
            self._context = self._db.transaction()
            self._tx = await self._context.__aenter__()
            self._rows, self._opened = 0, time.monotonic()
        return self._tx

    async def written(self, rows: int) -> None:
        """Count rows written; commit when the transaction is big or old enough."""
        self._rows += rows
        if self._rows >= self._max_rows or time.monotonic() - self._opened >= self._max_seconds:
            await self._commit()
            self._max_rows = min(2 * self._max_rows, self.MAX_COMMIT_ROWS)
            self._max_seconds = min(2 * self._max_seconds, self.MAX_COMMIT_SECONDS)
