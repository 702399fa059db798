"""One import of a stream of records into a doctype: batched, idempotent, reported.

Idempotent without an id in the data: a record without ``_id`` (or ``--id-field``) gets
a *content id*, a keyed hash of its canonical JSON and of how many identical records
came before it in this import. Importing the same file twice changes nothing; two
identical rows in one file stay two documents. "Came before in this import" is asked of
the store (rows written after this run's first ``seq``), so memory stays bounded
whatever the size of the file.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from typing import Any

from ..doctypes import Doctype
from ..errors import SelfdataError
from ..store import DocumentStore
from ..store.codec import dumps
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
    run = _Run(documents, doctype, id_field, report)
    await documents.ensure_doctype(doctype)
    run.start = await documents.last_seq()
    async for line, item in read_records(chunks, fmt):
        if isinstance(item, RowError):
            report.read += 1
            report.add_error(item)
            continue
        report.read += 1
        run.add(line, item)
        if len(run.batch) >= BATCH:
            await run.flush()
            if progress:
                progress(report)
    await run.flush()
    if progress:
        progress(report)
    return report


class _Run:
    def __init__(
        self, documents: DocumentStore, doctype: Doctype, id_field: str | None, report: ImportReport
    ) -> None:
        self.documents = documents
        self.doctype = doctype
        self.id_field = id_field
        self.report = report
        self.start = 0
        self.batch: list[Record] = []
        self.content: list[tuple[int, bytes]] = []  # (index in batch, canonical JSON)

    def add(self, line: int, record: Record) -> None:
        if self.doctype.builtin:
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
            canonical = dumps(record)  # also rejects NaN/Infinity, which JSON cannot hold
        except SelfdataError as err:
            self.report.add_error(RowError(line, err.message))
            return
        except ValueError as err:
            self.report.add_error(RowError(line, str(err)))
            return
        if "_id" not in record:
            self.content.append((len(self.batch), canonical))
        self.batch.append(record)

    async def flush(self) -> None:
        if not self.batch:
            return
        await self._assign_content_ids()
        results = await self.documents.put_many(
            self.doctype, self.batch, touched_after=self.start if self.content else None
        )
        for r in results:
            if r.created:
                self.report.created += 1
            elif r.changed:
                self.report.updated += 1
            else:
                self.report.unchanged += 1
        self.batch, self.content = [], []

    async def _assign_content_ids(self) -> None:
        """Give each record without an id the lowest free occurrence number of its content.

        "Free" means not yet written by this run. Every run hands the numbers out in the
        same order (0, 1, 2, … per distinct content), so a re-import finds the same ids.
        One query per round for the whole batch; a round settles every content whose
        candidates are free, so k copies spread over b batches take about b rounds.
        """
        pending: dict[bytes, list[int]] = {}  # canonical JSON -> batch indexes without an id
        for index, canonical in self.content:
            pending.setdefault(canonical, []).append(index)
        tried = dict.fromkeys(pending, 0)  # occurrence numbers below this were taken
        name = self.doctype.name
        while pending:
            candidates: dict[str, bytes] = {}  # id -> content, in occurrence order
            for canonical, indexes in pending.items():
                first = tried[canonical]
                for n in range(first, first + len(indexes)):
                    candidates[self.documents.content_id(name, canonical, n)] = canonical
                tried[canonical] = first + len(indexes)
            taken = await self.documents.touched_since(name, self.start, candidates)
            still: dict[bytes, list[int]] = {}
            free: dict[bytes, list[str]] = {}
            for doc_id, canonical in candidates.items():
                if doc_id not in taken:
                    free.setdefault(canonical, []).append(doc_id)
            for canonical, indexes in pending.items():
                ids = free.get(canonical, [])
                for index, doc_id in zip(indexes, ids, strict=False):
                    self.batch[index]["_id"] = doc_id
                if len(indexes) > len(ids):
                    still[canonical] = indexes[len(ids) :]
            pending = still
