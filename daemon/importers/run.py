"""One import of a stream of records into a doctype: batched, idempotent, reported.

Idempotent without an id in the data: a record without ``_id`` (or ``--id-field``) gets
a *content id*, a keyed hash of its canonical JSON and of how many identical records
came before it in this import. Importing the same file twice changes nothing; two
identical rows in one file stay two documents. "Came before in this import" is asked of
the store (rows written after this run's first ``seq``), so memory stays bounded
whatever the size of the file.

Records are read and checked by :mod:`.checked`: in a child process for a big input
(:mod:`.worker`, a second core), here for a small one. Either way this module gets the
same batches, and gives ids, seals and writes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from ..doctypes import Doctype
from ..store import DocumentStore
from ..store.documents import BulkWriter, Existing, Prepared
from .checked import BATCH, Checked, Item, checked_batches, with_id
from .records import FORMATS, RowError
from .worker import worker_batches

__all__ = ["BATCH", "WORKER_FROM", "ImportReport", "OpenFile", "import_records"]

#: Inputs at least this big are checked in a child process (auto mode).
WORKER_FROM = 1024 * 1024
MAX_REPORTED_ERRORS = 100
_FILE_CHUNK = 256 * 1024


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


@dataclass(frozen=True)
class OpenFile:
    """An input the import reads itself, from its descriptor's offset to its end: a file
    the CLI handed over (:mod:`selfdata.handover`), or opened by an offline CLI. The
    reader moves the shared offset, which is how the CLI shows progress."""

    fd: int


async def import_records(
    documents: DocumentStore,
    doctype: Doctype,
    chunks: AsyncIterable[bytes] | OpenFile,
    fmt: str,
    *,
    id_field: str | None = None,
    progress: Callable[[ImportReport], None] | None = None,
    worker: bool | None = None,
) -> ImportReport:
    """Store the records of ``chunks`` (or of the file); ``worker``: check them in a child
    process (:mod:`.worker`), in this one, or (``None``) in a child when the input is big."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    report = ImportReport(doctype.name)
    async with documents.bulk(doctype) as writer:
        run = _Run(writer, report)
        batches = await _checked(documents, chunks, fmt, doctype, id_field, worker)
        # Batch k is written (SQLite works in its own thread) while batch k+1 is checked.
        writing: asyncio.Task[None] | None = None
        try:
            async for items in batches:
                for item in items:
                    if isinstance(item, bytes):  # the dictionary the worker trained
                        run.batch.dictionary = item
                        continue
                    report.read += 1
                    if len(item) == 2:
                        report.add_error(RowError(*item))  # type: ignore[misc]
                    else:
                        run.add(item)  # type: ignore[arg-type]
                    if len(run.batch.prepared) >= BATCH:
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
            await batches.aclose()
    if progress:
        progress(report)
    return report


async def _checked(
    documents: DocumentStore,
    chunks: AsyncIterable[bytes] | OpenFile,
    fmt: str,
    doctype: Doctype,
    id_field: str | None,
    worker: bool | None,
) -> AsyncGenerator[list[Item | bytes], None]:
    if isinstance(chunks, OpenFile):
        fd = chunks.fd
        if worker is None:
            left = os.fstat(fd).st_size - os.lseek(fd, 0, os.SEEK_CUR)
            worker = left >= WORKER_FROM and (os.cpu_count() or 1) > 1
        if worker:  # it reads the file itself: no byte of it goes through this process
            dictionary = await documents.dictionary(doctype.name)
            return worker_batches(fd, fmt, doctype, id_field, documents.names_key(), dictionary)
        chunks = _file_chunks(fd)
    if worker is None:  # a child costs ~0.1 s to start: worth it past a few thousand rows
        head: list[bytes] = []
        size = 0
        stream = aiter(chunks)
        async for chunk in stream:
            head.append(chunk)
            size += len(chunk)
            if size >= WORKER_FROM:
                break
        worker = size >= WORKER_FROM and (os.cpu_count() or 1) > 1
        chunks = _chain(head, stream)
    if worker:
        dictionary = await documents.dictionary(doctype.name)
        return worker_batches(chunks, fmt, doctype, id_field, documents.names_key(), dictionary)
    return checked_batches(chunks, fmt, doctype, id_field, documents.namer)  # type: ignore[return-value]


async def _file_chunks(fd: int) -> AsyncIterator[bytes]:
    while chunk := await asyncio.to_thread(os.read, fd, _FILE_CHUNK):
        yield chunk


async def _chain(head: list[bytes], rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in head:
        yield chunk
    async for chunk in rest:
        yield chunk


#: (canonical JSON, doc id, id hash, packed JSON or None): an id a record may get
_Candidate = tuple[bytes, str, bytes, bytes | None]


@dataclass
class _Batch:
    #: Records with an id, ready; None where a record gets a content id
    prepared: list[Prepared | None] = field(default_factory=list)
    content: list[tuple[int, bytes]] = field(default_factory=list)  # (index, canonical JSON)
    #: canonical JSON -> its occurrence-0 content id, id hash and packed JSON (as checked)
    first: dict[bytes, tuple[str, bytes, bytes | None]] = field(default_factory=dict)
    #: a dictionary the worker trained, which this batch's records are packed with
    dictionary: bytes | None = None


class _Run:
    def __init__(self, writer: BulkWriter, report: ImportReport) -> None:
        self.writer = writer
        self.store = writer.store
        self.doctype = writer.doctype
        self.report = report
        self.batch = _Batch()

    def take(self) -> _Batch:
        batch, self.batch = self.batch, _Batch()
        return batch

    def add(self, item: Checked) -> None:
        _, given, canonical, doc_id, ih, packed = item
        batch = self.batch
        if given is None:
            batch.content.append((len(batch.prepared), canonical))
            batch.first[canonical] = (doc_id, ih, packed)
            batch.prepared.append(None)
        else:
            batch.prepared.append(Prepared(given, canonical, ih, packed=packed))

    async def flush(self, batch: _Batch) -> None:
        dh = self.writer.dh
        if batch.dictionary is not None:  # checked there, even if no record came with it
            await self.store.add_dictionary(await self.writer.transaction(), dh, batch.dictionary)
        if not batch.prepared:
            return
        tx = await self.writer.transaction()
        items = batch.prepared
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
        lookup for the whole batch; only repeated contents need more. Occurrence 0, by far
        the most common, was named (and packed) when the record was checked.
        """
        dh, start, name = self.writer.dh, self.writer.start, self.doctype.name
        content_id, id_hash, first_of = self.store.content_id, self.store.id_hash, batch.first
        pending: dict[bytes, list[int]] = {}  # canonical JSON -> batch indexes
        if len(first_of) == len(batch.content):
            # Each content once in the batch, the usual case: its occurrence 0 unless this
            # run wrote that already; only those few go through the rounds below.
            found = await self.store.lookup(tx, dh, [ih for _, ih, _ in first_of.values()])
            existing.update(found)
            for index, canonical in batch.content:
                doc_id, ih, packed = first_of[canonical]
                old = found.get(ih)
                if old is None or old.seq <= start:
                    items[index] = Prepared(doc_id, with_id(doc_id, canonical), ih, True, packed)
                else:
                    pending[canonical] = [index]
            tried = dict.fromkeys(pending, 1)  # occurrence numbers below this were taken
        else:
            for index, canonical in batch.content:
                pending.setdefault(canonical, []).append(index)
            tried = dict.fromkeys(pending, 0)
        while pending:
            # (canonical, doc id, id hash, packed) per candidate
            candidates: list[_Candidate] = []
            for canonical, indexes in pending.items():
                first = tried[canonical]
                for n in range(first, first + len(indexes)):
                    if n == 0:
                        candidates.append((canonical, *first_of[canonical]))
                    else:
                        doc_id = content_id(name, canonical, n)
                        candidates.append((canonical, doc_id, id_hash(dh, doc_id), None))
                tried[canonical] = first + len(indexes)
            existing.update(await self.store.lookup(tx, dh, [c[2] for c in candidates]))
            free: dict[bytes, list[_Candidate]] = {}
            for candidate in candidates:
                old = existing.get(candidate[2])
                if old is None or old.seq <= start:
                    free.setdefault(candidate[0], []).append(candidate)
            still: dict[bytes, list[int]] = {}
            for canonical, indexes in pending.items():
                ids = free.get(canonical, [])
                for index, (_, doc_id, ih, packed) in zip(indexes, ids, strict=False):
                    plain = with_id(doc_id, canonical)
                    items[index] = Prepared(doc_id, plain, ih, True, packed)
                if len(indexes) > len(ids):
                    still[canonical] = indexes[len(ids) :]
            pending = still
