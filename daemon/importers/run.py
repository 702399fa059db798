"""One import of a stream of records into a doctype: batched, idempotent, reported.

Idempotent without an id in the data: a record without ``_id`` (or ``--id-field``) gets
a *content id*, a keyed hash of its canonical JSON and of how many identical records
came before it in this import. Importing the same file twice changes nothing; two
identical rows in one file stay two documents. "Came before in this import" is asked of
the store (rows written after this run's first ``seq``), so memory stays bounded
whatever the size of the file.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from ..doctypes import Doctype
from ..errors import SelfdataError
from ..store import DocumentStore
from ..store.codec import encode_parsed
from ..store.documents import BulkWriter, Existing, Prepared
from .coerce import coerce_to_schema
from .records import Record, RowError, read_records

__all__ = ["BATCH", "ImportReport", "import_records"]

BATCH = 2000
MAX_REPORTED_ERRORS = 100


@dataclass
class ImportReport:
    doctype: str
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0

    @property
    def stored(self) -> int:
        return self.created + self.updated + self.unchanged

    def add_error(self, error: RowError) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(error)

    def to_json(self) -> dict[str, Any]:
        return {
            "doctype": self.doctype,
            "read": self.read,
            "stored": self.stored,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": self.error_count,
            "error_samples": [{"line": e.line, "message": e.message} for e in self.errors],
        }


async def import_records(
    documents: DocumentStore,
    doctype: Doctype,
    chunks: AsyncIterable[bytes],
    fmt: str,
    *,
    id_field: str | None = None,
    progress: Callable[[ImportReport], None] | None = None,
) -> ImportReport:
    report = ImportReport(doctype.name)
    async with documents.bulk(doctype) as writer:
        run = _Run(writer, id_field, report, coerce=fmt == "csv")
        # Batch k is written (SQLite works in its own thread) while batch k+1 is parsed.
        writing: asyncio.Task[None] | None = None
        try:
            async for line, item in read_records(chunks, fmt):
                report.read += 1
                if isinstance(item, RowError):
                    report.add_error(item)
                    continue
                run.add(line, item)
                if len(run.batch) >= BATCH:
                    if writing is not None:
                        await writing
                    writing = asyncio.create_task(run.flush(run.take()))
                    if progress:
                        progress(report)
            if writing is not None:
                await writing
            await run.flush(run.take())
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await writing
    if progress:
        progress(report)
    return report


@dataclass
class _Batch:
    records: list[Record] = field(default_factory=list)
    #: Each record's canonical JSON, encoded once: stored as is (with an id spliced in).
    encoded: list[bytes] = field(default_factory=list)
    content: list[tuple[int, bytes]] = field(default_factory=list)  # (index, canonical JSON)


class _Run:
    def __init__(
        self, writer: BulkWriter, id_field: str | None, report: ImportReport, *, coerce: bool
    ) -> None:
        self.writer = writer
        self.store = writer.store
        self.doctype = writer.doctype
        self.id_field = id_field
        self.report = report
        self.coerce = coerce and self.doctype.builtin
        self._batch = _Batch()

    @property
    def batch(self) -> list[Record]:
        return self._batch.records

    def take(self) -> _Batch:
        batch, self._batch = self._batch, _Batch()
        return batch

    def add(self, line: int, record: Record) -> None:
        if self.coerce:  # CSV cells are text; JSON already has its types
            record = coerce_to_schema(record, self.doctype.schema or {})
        if self.id_field is not None:
            value = record.get(self.id_field)
            if value in (None, ""):
                self.report.add_error(RowError(line, f"no value in id field {self.id_field!r}"))
                return
            record["_id"] = str(value)
        elif "_id" in record and not (isinstance(record["_id"], str) and record["_id"]):
            self.report.add_error(RowError(line, "_id must be a non-empty string"))
            return
        record.pop("_rev", None)
        try:
            self.doctype.validate(record)
            canonical = encode_parsed(record)
        except SelfdataError as err:
            self.report.add_error(RowError(line, err.message))
            return
        except ValueError as err:
            self.report.add_error(RowError(line, str(err)))
            return
        if "_id" not in record:
            self._batch.content.append((len(self._batch.records), canonical))
        self._batch.records.append(record)
        self._batch.encoded.append(canonical)

    async def flush(self, batch: _Batch) -> None:
        if not batch.records:
            return
        tx = await self.writer.transaction()
        items: list[Prepared | None] = [None] * len(batch.records)
        content_at = {index for index, _ in batch.content}
        dh = self.writer.dh
        for index, record in enumerate(batch.records):
            if index not in content_at:
                doc_id = record["_id"]
                items[index] = Prepared(
                    doc_id, batch.encoded[index], self.store.id_hash(dh, doc_id)
                )
        existing = await self.store.lookup(tx, dh, [i.id_hash for i in items if i is not None])
        await self._assign_content_ids(tx, batch, items, existing)
        ready = [i for i in items if i is not None]
        results = await self.store.write(tx, self.doctype.name, dh, ready, existing)
        for r in results:
            if r.created:
                self.report.created += 1
            elif r.changed:
                self.report.updated += 1
            else:
                self.report.unchanged += 1
        await self.writer.written(len(ready))

    async def _assign_content_ids(
        self,
        tx: aiosqlite.Connection,
        batch: _Batch,
        items: list[Prepared | None],
        existing: dict[bytes, Existing],
    ) -> None:
        """Give each record without an id the lowest free occurrence number of its content.

        "Free" means not yet written by this run (its row's ``seq`` is not above the
        run's start). Every run hands the numbers out in the same order (0, 1, 2, … per
        distinct content), so a re-import finds the same ids. The first round needs one
        lookup for the whole batch; only repeated contents need more.
        """
        pending: dict[bytes, list[int]] = {}  # canonical JSON -> batch indexes
        for index, canonical in batch.content:
            pending.setdefault(canonical, []).append(index)
        tried = dict.fromkeys(pending, 0)  # occurrence numbers below this were taken
        dh, start, name = self.writer.dh, self.writer.start, self.doctype.name
        content_id, id_hash = self.store.content_id, self.store.id_hash
        while pending:
            # (canonical, doc id, id hash) per candidate: a Prepared only for those taken
            candidates: list[tuple[bytes, str, bytes]] = []
            for canonical, indexes in pending.items():
                first = tried[canonical]
                for n in range(first, first + len(indexes)):
                    doc_id = content_id(name, canonical, n)
                    candidates.append((canonical, doc_id, id_hash(dh, doc_id)))
                tried[canonical] = first + len(indexes)
            existing.update(await self.store.lookup(tx, dh, [c[2] for c in candidates]))
            free: dict[bytes, list[tuple[str, bytes]]] = {}
            for canonical, doc_id, ih in candidates:
                old = existing.get(ih)
                if old is None or old.seq <= start:
                    free.setdefault(canonical, []).append((doc_id, ih))
            still: dict[bytes, list[int]] = {}
            for canonical, indexes in pending.items():
                ids = free.get(canonical, [])
                for index, (doc_id, ih) in zip(indexes, ids, strict=False):
                    items[index] = Prepared(doc_id, _with_id(doc_id, canonical), ih, True)
                    batch.records[index]["_id"] = doc_id
                if len(indexes) > len(ids):
                    still[canonical] = indexes[len(ids) :]
            pending = still


def _with_id(doc_id: str, canonical: bytes) -> bytes:
    """``canonical`` (a JSON object) with ``_id`` added first, without encoding it again."""
    head = b'{"_id":"' + doc_id.encode() + b'"'
    return head + b"}" if canonical == b"{}" else head + b"," + canonical[1:]
