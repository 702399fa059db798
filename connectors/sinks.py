"""Where file-based sources put what they read, and the report of what they stored.

A file source (bank statement, Google Takeout, Facebook archive) is a pure parser that
yields documents, points and :class:`Problem` values; an ingest function sends them to a
:class:`Sink`. The sink's ``save``/``save_series`` have the same shape as the connector
SDK's :class:`~selfdata.connectors.sdk.Context`, so the same ingest code runs from
``selfdata import FILE`` (a :class:`BoxSink` on an unlocked box) and from a connector run.

Parsing is synchronous (zip inflate, ijson, XML) and CPU-bound: :func:`batches` runs a
parser in a worker thread one batch at a time, so the daemon's event loop keeps
answering while a multi-GB archive streams in, and memory holds one batch.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, Protocol, TypeVar

from selfdata.box import Box
from selfdata.doctypes import resolve
from selfdata.errors import SelfdataError
from selfdata.store.codec import dumps

__all__ = [
    "BATCH",
    "BoxSink",
    "DoctypeCounts",
    "Document",
    "IngestReport",
    "Note",
    "Problem",
    "Sink",
    "SourceFile",
    "batches",
    "head_text",
    "stable_id",
    "store_documents",
]

BATCH = 2000
MAX_SAMPLES = 50
T = TypeVar("T")
Doc = dict[str, Any]


@dataclass(frozen=True)
class Problem:
    """A record that could not be read or stored: reported, never fatal."""

    where: str
    message: str


@dataclass(frozen=True)
class SourceFile:
    """A file handed to a file source: its name (a hint only) and seekable bytes."""

    name: str
    file: BinaryIO
    #: Options a source may take (``account`` for QIF, which names none itself).
    options: dict[str, str] = field(default_factory=dict)

    def head(self, size: int = 64 * 1024) -> bytes:
        self.file.seek(0)
        data = self.file.read(size)
        self.file.seek(0)
        return data


def head_text(head: bytes) -> str | None:
    """A file's first bytes as text (UTF-8, else Windows-1252), ``None`` when binary."""
    if b"\0" in head:
        return None
    try:
        return head.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        if err.start >= len(head) - 4:  # a character cut by the end of the head
            return head[: err.start].decode("utf-8-sig")
        return head.decode("cp1252", errors="replace")


@dataclass(frozen=True, slots=True)
class Document:
    """A document a parser read, with the doctype it belongs to."""

    doctype: str
    doc: Doc


@dataclass(frozen=True)
class Note:
    """Something the owner should know that is not an error ("3 pending operations")."""

    message: str


@dataclass
class DoctypeCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def stored(self) -> int:
        return self.created + self.updated + self.unchanged


@dataclass
class IngestReport:
    """What one file brought in: per doctype, per series, and the records left out."""

    file: str
    format: str
    doctypes: dict[str, DoctypeCounts] = field(default_factory=dict)
    series: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    error_count: int = 0
    #: Things worth saying that are not errors ("12 pending operations not imported").
    notes: list[str] = field(default_factory=list)

    def problem(self, where: str, message: str) -> None:
        self.add(Problem(where, message))

    def add(self, problem: Problem) -> None:
        self.error_count += 1
        if len(self.problems) < MAX_SAMPLES:
            self.problems.append(problem)

    def took(self, item: object) -> bool:
        """Record ``item`` if it is a :class:`Problem` or a :class:`Note` (a parser's
        values that are not data); ``False`` for anything else."""
        if isinstance(item, Problem):
            self.add(item)
        elif isinstance(item, Note):
            self.notes.append(item.message)
        else:
            return False
        return True

    def counts(self, doctype: str) -> DoctypeCounts:
        return self.doctypes.setdefault(doctype, DoctypeCounts())

    @property
    def stored(self) -> int:
        return sum(c.stored for c in self.doctypes.values()) + sum(self.series.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "stored": self.stored,
            "doctypes": {
                name: {
                    "stored": c.stored,
                    "created": c.created,
                    "updated": c.updated,
                    "unchanged": c.unchanged,
                }
                for name, c in sorted(self.doctypes.items())
            },
            "series": dict(sorted(self.series.items())),
            "errors": self.error_count,
            "error_samples": [{"where": p.where, "message": p.message} for p in self.problems],
            "notes": self.notes,
        }


class Sink(Protocol):
    """The writing half of a connector context (same signatures as ``sdk.Context``)."""

    async def save(self, doctype: str, documents: Iterable[Doc]) -> int: ...

    async def save_series(
        self, name: str, points: Iterable[tuple[int, float]], unit: str = ""
    ) -> int: ...

    async def stored(self, doctype: str, doc_id: str) -> Doc | None:
        """The document this source stored earlier under ``doc_id``, if any."""
        ...


class BoxSink:
    """Writes straight into an unlocked box, checking each document against its schema.

    A document its schema refuses is a :class:`Problem` in the report; the others of the
    batch are stored. Counts distinguish new, changed and unchanged documents, so a
    second import of the same file reads "0 new".
    """

    def __init__(self, box: Box, report: IngestReport) -> None:
        self._box = box
        self.report = report

    async def save(self, doctype: str, documents: Iterable[Doc]) -> int:
        resolved = resolve(doctype)
        good: list[Doc] = []
        seen: dict[str, int] = {}
        for doc in documents:
            try:
                resolved.validate(doc)
                dumps(doc)  # NaN and friends: JSON cannot hold them
            except SelfdataError as err:
                self.report.problem(f"{doctype} {doc.get('_id', '?')}", err.message)
                continue
            except ValueError as err:
                self.report.problem(f"{doctype} {doc.get('_id', '?')}", str(err))
                continue
            # the last of two documents with one id in a batch wins, as a re-import would
            if doc["_id"] in seen:
                good[seen[doc["_id"]]] = doc
                continue
            seen[doc["_id"]] = len(good)
            good.append(doc)
        if not good:
            return 0
        counts = self.report.counts(doctype)
        for result in await self._box.documents.put_many(resolved, good):
            if result.created:
                counts.created += 1
            elif result.changed:
                counts.updated += 1
            else:
                counts.unchanged += 1
        return len(good)

    async def save_series(
        self, name: str, points: Iterable[tuple[int, float]], unit: str = ""
    ) -> int:
        written = await self._box.series.write(name, points, unit)
        self.report.series[name] = self.report.series.get(name, 0) + written
        return written

    async def stored(self, doctype: str, doc_id: str) -> Doc | None:
        from selfdata.errors import NotFound  # noqa: PLC0415 - a rare path

        try:
            return await self._box.documents.get(doctype, doc_id)
        except NotFound:
            return None


async def batches(items: Iterator[T], size: int = BATCH) -> AsyncIterator[list[T]]:
    """Pull ``items`` in a worker thread, ``size`` at a time, keeping the loop free."""
    while True:
        batch = await asyncio.to_thread(lambda: list(itertools.islice(items, size)))
        if not batch:
            return
        yield batch


async def store_documents(
    sink: Sink, report: IngestReport, items: Iterator[Document | Problem]
) -> None:
    """Drain a parser: documents to the sink by doctype, problems to the report."""
    async for batch in batches(items):
        by_doctype: dict[str, list[Doc]] = {}
        for item in batch:
            if isinstance(item, Problem):
                report.add(item)
            else:
                by_doctype.setdefault(item.doctype, []).append(item.doc)
        for doctype, docs in by_doctype.items():
            await sink.save(doctype, docs)


def stable_id(*parts: object) -> str:
    """A short id that is the same for the same parts on every import and every box.

    Ids live only inside ciphertexts (the store names rows by a keyed hash of them), so
    an unkeyed hash is enough; 128 bits keep collisions out of reach.
    """
    h = hashlib.blake2b(digest_size=16)
    for p in parts:
        h.update(str(p).encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()
