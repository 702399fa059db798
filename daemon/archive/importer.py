"""Importing a selfdata export back: verified first, then restored idempotently.

Two passes over the archive. The first (:func:`~.reader.verify`) writes nothing and
fails on any damage. The second stores what the archive holds: documents through the
same checks as any import (schema, JSON), series merged point by point, files with their
original ids, connector accounts without secrets (only where the box has none with that
id). Importing the same export twice reads "0 new" everywhere; an import cut short (a
full disk, a killed process) is simply run again.
"""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import IO, Any

from ..box import Box
from ..connectors.sinks import BoxSink, IngestReport, SourceFile
from ..doctypes import resolve
from ..errors import Conflict, IntegrityError, NotFound, SelfdataError
from ..store import FILES_DOCTYPE
from .layout import ACCOUNTS, FILES_INDEX, HEADER, LEDGER, MANIFEST, SECRET_DOCTYPES
from .reader import ExportDamaged, Manifest, open_stream, verify

__all__ = ["import_export"]

_CHUNK = 256 * 1024
_BATCH = 1000
_POINTS = 100_000
_FILE_FIELDS = frozenset(
    {"_id", "_rev", "type", "name", "mime", "size", "sha256", "created_at", "updated_at", "path"}
)


async def import_export(
    box: Box, source: SourceFile, report: IngestReport, passphrase: str | None = None
) -> None:
    """Verify ``source`` (a selfdata export, sealed or not), then store what it holds."""
    box.documents  # noqa: B018 - Locked before reading a byte
    manifest = await asyncio.to_thread(verify, source.file, passphrase)
    try:
        await _import(box, source.file, manifest, report)
    except ExportDamaged as err:
        raise IntegrityError(
            "the export changed while it was being imported "
            f"({err}); what was imported is intact: import it again"
        ) from None
    counts = manifest.data.get("counts", {})
    if counts.get("accounts"):
        report.notes.append(
            f"{counts['accounts']} source(s) came back without their secrets: "
            "enter them again on the Sources page"
        )


async def _import(box: Box, file: IO[bytes], manifest: Manifest, report: IngestReport) -> None:
    sink = BoxSink(box, report)
    files_index: dict[str, dict[str, Any]] | None = None
    members = manifest.members
    with open_stream(file, None, key=manifest.key) as (stream, _key):  # type: ignore[arg-type]
        walk = stream.members()
        while item := await asyncio.to_thread(next, walk, None):
            name, _size, fileobj = item
            checked = _Checked(fileobj, name, members.get(name))
            if name in (HEADER, MANIFEST):
                continue
            if name.startswith("documents/"):
                await _documents(sink, name, checked, report)
            elif name.startswith("series/"):
                info = manifest.series
                await _series(box, name, checked, info, report)
            elif name == FILES_INDEX:
                files_index = await _files_index(sink, checked, report)
            elif name.startswith("files/"):
                if files_index is None:
                    raise ExportDamaged(f"{name!r} comes before {FILES_INDEX}")
                await _file(box, name, checked, files_index.get(name), report)
            elif name == ACCOUNTS:
                await _accounts(box, checked, report)
            elif name == LEDGER:
                # read to its end, so its hash is checked; this box keeps its own ledger
                while await asyncio.to_thread(checked.read):
                    pass
                report.notes.append(
                    "the exported consent journal stays in the archive: this box keeps its own"
                )
            else:
                report.problem(name, "not a member selfdata knows: skipped")
            await asyncio.to_thread(checked.finish)


class _Checked:
    """A member's bytes, hashed as they are read, checked against the manifest at the end."""

    def __init__(self, fileobj: IO[bytes], name: str, expected: dict[str, Any] | None) -> None:
        self._file = fileobj
        self.name = name
        self._expected = expected or {}
        self._digest = hashlib.sha256()
        self._size = 0

    def read(self, size: int = _CHUNK) -> bytes:
        data = self._file.read(size)
        self._digest.update(data)
        self._size += len(data)
        return data

    def finish(self) -> None:
        while self.read():
            pass
        if (self._size, self._digest.hexdigest()) != (
            self._expected.get("size"),
            self._expected.get("sha256"),
        ):
            raise ExportDamaged(f"{self.name!r} does not match its SHA-256 in the manifest")

    def lines(self) -> Iterator[bytes]:
        pending = b""
        while data := self.read():
            pending += data
            *complete, pending = pending.split(b"\n")
            yield from complete
        if pending:
            yield pending

    async def chunks(self) -> AsyncIterator[bytes]:
        while data := await asyncio.to_thread(self.read):
            yield data


def _json_batches(
    member: _Checked, report: IngestReport, size: int = _BATCH
) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for number, line in enumerate(member.lines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError as err:
            report.problem(f"{member.name} line {number}", f"not JSON: {err}")
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("_id"), str):
            report.problem(f"{member.name} line {number}", "not a document with an _id")
            continue
        doc.pop("_rev", None)
        batch.append(doc)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


async def _documents(sink: BoxSink, name: str, member: _Checked, report: IngestReport) -> None:
    doctype = name.removeprefix("documents/").removesuffix(".jsonl")
    try:
        resolve(doctype)
        if doctype in SECRET_DOCTYPES or doctype == FILES_DOCTYPE:
            raise SelfdataError(f"{doctype} is not imported from this member")
    except SelfdataError as err:
        report.problem(name, err.message)
        return
    batches = _json_batches(member, report)
    while batch := await asyncio.to_thread(next, batches, None):
        await sink.save(doctype, batch)


async def _series(
    box: Box,
    name: str,
    member: _Checked,
    info: dict[str, dict[str, Any]],
    report: IngestReport,
) -> None:
    series = next((s for s, i in info.items() if i.get("member") == name), None)
    if series is None:
        report.problem(name, "a series the manifest does not name: skipped")
        return
    unit = str(info[series].get("unit", ""))
    rows = _csv_points(member, report)
    while batch := await asyncio.to_thread(next, rows, None):
        written = await box.series.write(series, batch, unit)
        report.series[series] = report.series.get(series, 0) + written


def _csv_points(member: _Checked, report: IngestReport) -> Iterator[list[tuple[int, float]]]:
    text = io.TextIOWrapper(io.BufferedReader(_Raw(member)), encoding="utf-8", newline="")
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None or header[:3] != ["time", "epoch", "value"]:
        report.problem(member.name, "the CSV does not start with time,epoch,value")
        return
    batch: list[tuple[int, float]] = []
    for number, row in enumerate(reader, 2):
        try:
            batch.append((int(row[1]), float(row[2])))
        except (IndexError, ValueError):
            report.problem(f"{member.name} line {number}", "not an epoch and a value")
            continue
        if len(batch) >= _POINTS:
            yield batch
            batch = []
    if batch:
        yield batch


class _Raw(io.RawIOBase):
    def __init__(self, member: _Checked) -> None:
        self._member = member

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        data = self._member.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


async def _files_index(
    sink: BoxSink, member: _Checked, report: IngestReport
) -> dict[str, dict[str, Any]]:
    by_member: dict[str, dict[str, Any]] = {}
    directories: list[dict[str, Any]] = []
    batches = _json_batches(member, report)
    while batch := await asyncio.to_thread(next, batches, None):
        for doc in batch:
            if doc.get("type") == "file" and isinstance(doc.get("path"), str):
                by_member[doc["path"]] = doc
            elif doc.get("type") == "directory":
                directories.append(doc)
    if directories:
        await sink.save(FILES_DOCTYPE, directories)
    return by_member


async def _file(
    box: Box, name: str, member: _Checked, doc: dict[str, Any] | None, report: IngestReport
) -> None:
    if doc is None:
        report.problem(name, f"a file {FILES_INDEX} does not describe: skipped")
        return
    counts = report.counts(FILES_DOCTYPE)
    try:
        existing = await box.files.stat(doc["_id"])
    except NotFound:
        existing = None
    if existing is not None:
        if existing.get("sha256") == doc.get("sha256"):
            counts.unchanged += 1
        else:
            report.problem(name, f"the box has another file with the id {doc['_id']!r}: kept it")
        return
    extra = {k: v for k, v in doc.items() if k not in _FILE_FIELDS}
    try:
        saved = await box.files.save(
            str(doc.get("name") or "file"),
            member.chunks(),
            mime=str(doc.get("mime") or "application/octet-stream"),
            extra=extra,
            file_id=doc["_id"],
        )
    except Conflict as err:
        report.problem(name, err.message)
        return
    except SelfdataError as err:
        if isinstance(err, IntegrityError):
            raise
        report.problem(name, err.message)
        return
    if doc.get("sha256") and saved["sha256"] != doc["sha256"]:
        await box.files.delete(saved["_id"])
        raise ExportDamaged(f"{name!r} does not match the SHA-256 of its index entry")
    counts.created += 1


async def _accounts(box: Box, member: _Checked, report: IngestReport) -> None:
    sink = BoxSink(box, report)
    batches = _account_batches(member, report)
    while batch := await asyncio.to_thread(next, batches, None):
        fresh = []
        for account in batch:
            try:
                await box.documents.get("selfdata.accounts", account["_id"])
            except NotFound:
                fresh.append(account)
            else:
                report.counts("selfdata.accounts").unchanged += 1
        if fresh:
            await sink.save("selfdata.accounts", fresh)


def _account_batches(member: _Checked, report: IngestReport) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for number, line in enumerate(member.lines(), 1):
        try:
            public = json.loads(line)
            batch.append(
                {
                    "_id": str(public["id"]),
                    "connector": str(public["connector"]),
                    "label": public.get("label", ""),
                    "fields": dict(public.get("settings", {})),
                    "secrets": "",
                    "secret_fields": [],
                    "base_urls": dict(public.get("base_urls", {})),
                    "schedule": public.get("schedule"),
                    "enabled": bool(public.get("enabled", True)),
                    "created_at": public.get("created_at", ""),
                    "updated_at": public.get("created_at", ""),
                }
            )
        except (ValueError, KeyError, TypeError) as err:
            report.problem(f"{member.name} line {number}", f"not an account: {err}")
    if batch:
        yield batch
