"""``selfdata export --all``: everything in the box, in open formats, in one archive.

The archive is a gzip-compressed tar (optionally sealed with a passphrase, see
:mod:`.container`), produced as a stream of bytes: nothing is held in memory but the
member being written. Members whose size is only known at their end (a doctype's JSON
Lines, a series' CSV) are first written to an :class:`~selfdata.store.spool.EncryptedSpool`
in the data dir — ciphertext under a key that lives in memory only — then copied into
the tar. docs/export-format.md is the reference for what goes where.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import __version__, crypto
from ..box import Box
from ..store import FILES_DOCTYPE, SeriesInfo
from ..store.spool import EncryptedSpool
from .container import Sealer
from .layout import (
    ACCOUNTS,
    FILES_INDEX,
    FORMAT,
    HEADER,
    LEDGER,
    MANIFEST,
    SECRET_DOCTYPES,
    VERSION,
    document_member,
    file_member,
    series_member,
)
from .tarstream import Pipeline, TarWriter

__all__ = ["ExportSummary", "doctype_lines", "export_archive"]

DAY = 86_400
_CHUNK = 256 * 1024
_THREAD_AT = 64 * 1024  # compress/encrypt bigger chunks in a worker thread


@dataclass
class ExportSummary:
    """Filled in as the export streams; complete once the stream has ended."""

    documents: dict[str, int] = field(default_factory=dict)
    series: dict[str, dict[str, Any]] = field(default_factory=dict)
    files: int = 0
    file_bytes: int = 0
    accounts: int = 0
    ledger: int = 0
    encrypted: bool = False
    done: bool = False

    def counts(self) -> dict[str, Any]:
        return {
            "documents": dict(self.documents),
            "series": {k: v["points"] for k, v in self.series.items()},
            "files": self.files,
            "file_bytes": self.file_bytes,
            "accounts": self.accounts,
            "ledger": self.ledger,
        }


async def export_archive(
    box: Box,
    *,
    passphrase: str | None = None,
    kdf: crypto.KdfParams | None = None,
    summary: ExportSummary | None = None,
) -> AsyncIterator[bytes]:
    """The whole box as a ``.tar.gz`` byte stream, sealed when ``passphrase`` is given."""
    box.documents  # noqa: B018 - Locked / NotInitialized before the first byte
    summary = summary if summary is not None else ExportSummary()
    sealer = None
    if passphrase is not None:
        if kdf is None:
            from ..box import kdf_target_seconds  # noqa: PLC0415

            kdf = await asyncio.to_thread(crypto.calibrate_kdf, kdf_target_seconds())
        sealer = await asyncio.to_thread(Sealer, passphrase, kdf)
        summary.encrypted = True
    pipe = Pipeline(sealer)
    tar = TarWriter()
    created = _now()

    async def out(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            data = (
                await asyncio.to_thread(pipe.update, chunk)
                if len(chunk) >= _THREAD_AT
                else pipe.update(chunk)
            )
            if data:
                yield data

    header = _json_bytes(
        {"format": FORMAT, "version": VERSION, "created": created, "selfdata": __version__}
    )
    async for data in out(tar.member(HEADER, len(header), _once(header))):
        yield data
    # documents, one JSON Lines member per doctype
    for doctype in sorted(await box.documents.doctypes()):
        if doctype == FILES_DOCTYPE or doctype in SECRET_DOCTYPES:
            continue
        with EncryptedSpool(box.paths.root) as spool:
            count = await _write_documents(box, doctype, spool)
            summary.documents[doctype] = count
            async for data in out(_spooled(tar, spool, document_member(doctype))):
                yield data
    # series, one CSV member per series
    for info in await box.series.list():
        with EncryptedSpool(box.paths.root) as spool:
            points = await _write_series(box, info.name, info.unit, info, spool)
            member = series_member(info.name)
            summary.series[info.name] = {"member": member, "unit": info.unit, "points": points}
            async for data in out(_spooled(tar, spool, member)):
                yield data
    # files: the index first (metadata), then each file's original bytes
    files: list[tuple[str, str, int]] = []
    with EncryptedSpool(box.paths.root) as spool:
        async for doc in box.documents.iterate(FILES_DOCTYPE):
            doc.pop("_rev", None)
            if doc.get("type") == "file":
                member = file_member(doc["_id"], str(doc.get("name", "file")))
                doc["path"] = member
                files.append((doc["_id"], member, int(doc.get("size", 0))))
            spool.write(_json_line(doc))
        async for data in out(_spooled(tar, spool, FILES_INDEX)):
            yield data
    for file_id, member, size in files:
        async for data in out(tar.member(member, size, box.files.read(file_id))):
            yield data
        summary.files += 1
        summary.file_bytes += size
    # connector accounts, without their secrets
    with EncryptedSpool(box.paths.root) as spool:
        async for doc in box.documents.iterate("selfdata.accounts"):
            spool.write(_json_line(_public_account(doc)))
            summary.accounts += 1
        async for data in out(_spooled(tar, spool, ACCOUNTS)):
            yield data
    # the consent ledger, in plain words (docs/ledger.md)
    with EncryptedSpool(box.paths.root) as spool:
        summary.ledger = await _write_ledger(box, spool)
        async for data in out(_spooled(tar, spool, LEDGER)):
            yield data
    manifest = _json_bytes(
        {
            "format": FORMAT,
            "version": VERSION,
            "created": created,
            "selfdata": __version__,
            "counts": summary.counts(),
            "series": summary.series,
            "members": {
                name: {"size": rec.size, "sha256": rec.sha256} for name, rec in tar.members.items()
            },
        }
    )
    async for data in out(tar.member(MANIFEST, len(manifest), _once(manifest))):
        yield data
    tail = pipe.update(tar.end()) + pipe.close()
    summary.done = True
    yield tail


async def doctype_lines(box: Box, doctype: str) -> AsyncIterator[bytes]:
    """A doctype's documents as JSON Lines, a batch per chunk; ``_rev`` is ours, left out.

    One line per document and no newline inside one (JSON escapes them), so a chunk's
    ``count(b"\\n")`` is how many documents it holds.
    """
    lines: list[bytes] = []
    async for doc in box.documents.iterate(doctype):
        doc.pop("_rev", None)
        lines.append(_json_line(doc))
        if len(lines) >= 500:
            yield b"".join(lines)
            lines = []
    if lines:
        yield b"".join(lines)


async def _write_ledger(box: Box, spool: EncryptedSpool) -> int:
    from ..ledger import Ledger  # noqa: PLC0415 - the ledger imports the box, as we do

    ledger = Ledger(box)
    entries: list[dict[str, Any]] = []
    before: int | None = None
    while page := await ledger.entries(limit=500, before=before):  # newest first
        entries.extend(e.to_json() for e in page)
        before = page[-1].seq
    for entry in reversed(entries):
        spool.write(_json_line(entry))
    return len(entries)


async def _write_documents(box: Box, doctype: str, spool: EncryptedSpool) -> int:
    count = 0
    async for chunk in doctype_lines(box, doctype):
        spool.write(chunk)
        count += chunk.count(b"\n")
    return count


async def _write_series(
    box: Box, name: str, unit: str, info: SeriesInfo, spool: EncryptedSpool
) -> int:
    spool.write(b"time,epoch,value,unit\r\n")
    first, last = info.first_day, info.last_day
    if first is None or last is None:
        return 0
    count = 0
    for day in range(first, last + 1):  # one day at a time: memory holds one day's points
        points = await box.series.query(name, day * DAY, (day + 1) * DAY)
        if points:
            spool.write(_csv_rows(points, unit))
            count += len(points)
    return count


def _csv_rows(points: Iterable[tuple[int, float]], unit: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for ts, value in points:
        stamp = dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        writer.writerow((stamp, ts, repr(float(value)), unit))
    return buffer.getvalue().encode()


async def _spooled(tar: TarWriter, spool: EncryptedSpool, name: str) -> AsyncIterator[bytes]:
    spool.finish()
    reader = spool.reader()

    async def chunks() -> AsyncIterator[bytes]:
        while data := await asyncio.to_thread(reader.read, _CHUNK):
            yield data

    async for data in tar.member(name, spool.size, chunks()):
        yield data


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _public_account(doc: dict[str, Any]) -> dict[str, Any]:
    """A connector account as the owner sees it: which secrets were set, never their values."""
    return {
        "id": doc.get("_id"),
        "connector": doc.get("connector"),
        "label": doc.get("label", ""),
        "settings": doc.get("fields", {}),
        "secrets_set": doc.get("secret_fields", []),
        "base_urls": doc.get("base_urls", {}),
        "schedule": doc.get("schedule"),
        "enabled": doc.get("enabled", True),
        "created_at": doc.get("created_at", ""),
    }


def _json_line(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def _json_bytes(value: Any) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
