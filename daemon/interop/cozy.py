"""Cozy exports in, and the Cozy export layout out (docs/cozy.md).

A Cozy's "move" export, as its owner downloads it, is a zip (or several, "parts"):

::

    My Cozy/Data/instance.json                     the instance (skipped)
    My Cozy/Data/<doctype>/<id>.json               one CouchDB document per entry
    My Cozy/Data/io.cozy.files/<id>.json           a file's (or folder's) metadata,
    My Cozy/Files/<path of the file>               … followed by that file's bytes
    My Cozy/Data/io.cozy.files.versions/<id>.json  old versions of files (skipped)

(cozy-stack ``model/move``: the stack keeps the documents in a ``.tar.gz`` of
``<doctype>/<id>.json`` — also read here — and the zip parts are made from it.)

Import: documents keep their ``_id`` (a second import changes nothing). Cozy doctypes
selfdata knows (``io.cozy.bank.operations``, ``io.cozy.bills``, ``io.cozy.contacts``…)
keep their name and are checked against their schema; other ``io.cozy.*`` data doctypes
become ``cozy.*`` (``io.cozy.bank.groups`` → ``cozy.bank.groups``: the ``io.cozy``
namespace is reserved for doctypes with a schema); any other doctype
(``com.grandlyon.*``, ``org.fing.mesinfos.*``) keeps its name. The Cozy's own machinery —
apps, konnectors, accounts (they hold credentials), triggers, jobs, sessions,
permissions, sharings, settings — is skipped. Files keep their id and metadata, and their
MD5 is checked when the Cozy gave one.

Export: :func:`export_cozy` writes the same zip layout from the box.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import io
import json
import posixpath
import tarfile
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, unquote

from ..archive.layout import SECRET_DOCTYPES
from ..box import Box
from ..connectors.safe_zip import ArchiveError, SafeZip
from ..connectors.sinks import BoxSink, Document, IngestReport, Problem, SourceFile, stable_id
from ..doctypes import builtin_doctypes, check_name
from ..errors import InputError, IntegrityError, NotFound, SelfdataError
from ..store import FILES_DOCTYPE

__all__ = ["cozy_doctype", "export_cozy", "import_cozy", "is_cozy_zip", "selfdata_doctype"]

DATA = "My Cozy/Data/"
FILES = "My Cozy/Files/"
ROOT_DIR = "io.cozy.files.root-dir"
TRASH_DIR = "io.cozy.files.trash-dir"
_SKIP = frozenset(
    {
        "io.cozy.apps",
        "io.cozy.konnectors",
        "io.cozy.accounts",
        "io.cozy.triggers",
        "io.cozy.jobs",
        "io.cozy.permissions",
        "io.cozy.sharings",
        "io.cozy.shared",
        "io.cozy.settings",
        "io.cozy.exports",
        "io.cozy.notifications",
        "io.cozy.files.versions",
        "io.cozy.apps_suggestions",
        "io.cozy.konnectors.suggestions",
        "io.cozy.accounts_types",
    }
)
_SKIP_PREFIXES = (
    "io.cozy.sessions",
    "io.cozy.oauth.",
    "io.cozy.bitwarden.",
    "io.cozy.auth.",
    "io.cozy.remote.",
)
_FILE_KEEP = ("dir_id", "class", "tags", "metadata", "trashed", "executable", "cozyMetadata")
_CHUNK = 256 * 1024
_BATCH = 500


# --- names ------------------------------------------------------------------------------------


def selfdata_doctype(cozy: str) -> str | None:
    """Where a Cozy doctype's documents go in the box (``None``: not imported)."""
    if cozy in _SKIP or cozy.startswith(_SKIP_PREFIXES) or cozy in SECRET_DOCTYPES:
        return None
    if cozy in builtin_doctypes():
        return cozy
    name = "cozy." + cozy.removeprefix("io.cozy.") if cozy.startswith("io.cozy.") else cozy
    try:
        check_name(name)
    except SelfdataError:
        return None
    if name.startswith("selfdata."):
        return None
    return name


def cozy_doctype(name: str) -> str:
    """The inverse of :func:`selfdata_doctype`, for the export to Cozy."""
    return "io.cozy." + name.removeprefix("cozy.") if name.startswith("cozy.") else name


# --- detection --------------------------------------------------------------------------------


def is_cozy_zip(source: SourceFile) -> bool:
    source.file.seek(0)
    try:
        with zipfile.ZipFile(source.file) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        return False
    finally:
        source.file.seek(0)
    return any(n.startswith((DATA, FILES)) for n in names)


# --- import -----------------------------------------------------------------------------------


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@dataclass(frozen=True)
class _FileItem:
    doc: dict[str, Any]
    open: Any  # () -> IO[bytes]
    where: str


async def import_cozy(box: Box, source: SourceFile, report: IngestReport) -> None:
    """Bring a Cozy export (zip part, or the documents' tar.gz) into the box."""
    box.documents  # noqa: B018
    source.file.seek(0)
    if source.head(4).startswith(b"PK"):
        try:
            with SafeZip(source.file) as archive:
                if archive.refused:
                    report.problem(archive.refused[0], "an unsafe name in the archive: skipped")
                await _drain(box, _zip_items(archive, report), report)
        except ArchiveError as err:
            raise InputError(f"{source.name}: {err.message}") from None
    else:
        source.file.seek(0)
        try:
            tar = tarfile.open(fileobj=source.file, mode="r|gz")  # noqa: SIM115
        except (tarfile.TarError, OSError, EOFError) as err:
            raise InputError(f"{source.name} is not a readable Cozy export: {err}") from None
        with tar:
            try:
                await _drain(box, _tar_items(tar, report), report)
            except (tarfile.TarError, OSError, EOFError) as err:
                raise InputError(
                    f"{source.name} is damaged or truncated ({err}); what was read is "
                    "stored: import it again once repaired"
                ) from None


async def _drain(
    box: Box, items: Iterator[Document | Problem | _FileItem | str], report: IngestReport
) -> None:
    sink = BoxSink(box, report)
    skipped: dict[str, int] = {}
    pending: dict[str, list[dict[str, Any]]] = {}

    async def flush() -> None:
        for doctype, docs in pending.items():
            await sink.save(doctype, docs)
        pending.clear()

    while True:
        item = await asyncio.to_thread(next, items, None)
        if item is None:
            break
        if isinstance(item, Problem):
            report.add(item)
        elif isinstance(item, str):
            skipped[item] = skipped.get(item, 0) + 1
        elif isinstance(item, Document):
            docs = pending.setdefault(item.doctype, [])
            docs.append(item.doc)
            if len(docs) >= _BATCH:
                await flush()
        else:
            await flush()
            await _import_file(box, item, report)
    await flush()
    if skipped:
        report.notes.append(
            "not imported (a Cozy's own machinery or old versions): "
            + ", ".join(f"{n} {d}" for d, n in sorted(skipped.items()))
        )


def _document(cozy: str, doc_id: str, raw: bytes, where: str) -> Document | Problem | str:
    doctype = selfdata_doctype(cozy)
    if doctype is None:
        return cozy
    try:
        doc = json.loads(raw)
    except ValueError as err:
        return Problem(where, f"not JSON: {err}")
    if not isinstance(doc, dict):
        return Problem(where, "not a JSON object")
    doc.pop("_rev", None)
    doc.setdefault("_id", doc_id)
    if not isinstance(doc["_id"], str) or doc["_id"].startswith("_design/"):
        return cozy  # CouchDB design documents are indexes, not data
    return Document(doctype, {k: v for k, v in doc.items() if v is not None})


def _zip_items(
    archive: SafeZip, report: IngestReport
) -> Iterator[Document | Problem | _FileItem | str]:
    members = archive.members
    i = 0
    while i < len(members):
        member = members[i]
        i += 1
        name = member.name
        if name.startswith(FILES):
            yield Problem(name, "a file without its metadata in this part: skipped")
            continue
        if not name.startswith(DATA):
            continue
        parts = name[len(DATA) :].split("/", 1)
        if len(parts) != 2 or not parts[1].endswith(".json"):
            continue  # instance.json
        cozy, doc_id = unquote(parts[0]), unquote(parts[1].removesuffix(".json"))
        with archive.open(member) as reader:
            raw = _read_all(reader)
        content = members[i] if i < len(members) and members[i].name.startswith(FILES) else None
        if cozy == "io.cozy.files.versions":
            i += 1 if content is not None else 0
            yield cozy
            continue
        if cozy != FILES_DOCTYPE:
            yield _document(cozy, doc_id, raw, name)
            continue
        doc = _document(cozy, doc_id, raw, name)
        if not isinstance(doc, Document):
            yield doc
            continue
        if doc.doc.get("type") == "directory":
            if doc.doc["_id"] not in (ROOT_DIR, TRASH_DIR) and doc.doc.get("name"):
                yield doc
            continue
        if content is None:
            yield Problem(name, "a file whose bytes are not in this part: skipped")
            continue
        i += 1
        yield _FileItem(doc.doc, lambda m=content: archive.open(m), content.name)


def _tar_items(
    tar: tarfile.TarFile, report: IngestReport
) -> Iterator[Document | Problem | _FileItem | str]:
    for info in tar:
        name = info.name.removeprefix("./")
        if not info.isreg() or ".." in name.split("/") or name.startswith("/"):
            continue
        fileobj = tar.extractfile(info)
        assert fileobj is not None
        if name.startswith("files/"):  # the older export: files by path, no metadata
            path = name.removeprefix("files/")
            doc = {"_id": stable_id("cozy-file", path), "name": posixpath.basename(path)}
            yield _FileItem(doc | {"path": "/" + path}, lambda f=fileobj: f, name)
            continue
        parts = name.split("/", 1)
        if len(parts) != 2 or not parts[1].endswith(".json"):
            continue
        cozy, doc_id = unquote(parts[0]), unquote(parts[1].removesuffix(".json"))
        item = _document(cozy, doc_id, _read_all(fileobj), name)
        if isinstance(item, Document) and item.doctype == FILES_DOCTYPE:
            if item.doc.get("type") != "directory":
                yield "io.cozy.files (bytes in the zip parts)"
                continue
            if item.doc["_id"] in (ROOT_DIR, TRASH_DIR) or not item.doc.get("name"):
                continue
        yield item


def _read_all(reader: _Readable, limit: int = 64 * 1024 * 1024) -> bytes:
    data = bytearray()
    while chunk := reader.read(_CHUNK):
        data += chunk
        if len(data) > limit:
            raise InputError("a Cozy document is larger than 64 MiB")
    return bytes(data)


async def _import_file(box: Box, item: _FileItem, report: IngestReport) -> None:
    doc = item.doc
    counts = report.counts(FILES_DOCTYPE)
    try:
        existing = await box.files.stat(doc["_id"])
    except NotFound:
        existing = None
    if existing is not None:
        counts.unchanged += 1
        return
    md5 = hashlib.md5()  # noqa: S324 - Cozy's checksum, checked, not trusted for security
    reader = item.open()

    async def chunks() -> AsyncIterator[bytes]:
        while data := await asyncio.to_thread(reader.read, _CHUNK):
            md5.update(data)
            yield data

    extra = {k: doc[k] for k in _FILE_KEEP if k in doc}
    if "path" in doc:
        extra["path"] = doc["path"]
    try:
        saved = await box.files.save(
            str(doc.get("name") or "file")[:255],
            chunks(),
            mime=str(doc.get("mime") or "application/octet-stream")[:255],
            extra=extra,
            file_id=doc["_id"],
        )
    except IntegrityError:
        raise
    except SelfdataError as err:
        report.problem(item.where, err.message)
        return
    expected = doc.get("md5sum")
    if isinstance(expected, str) and base64.b64encode(md5.digest()).decode() != expected:
        await box.files.delete(saved["_id"])
        report.problem(item.where, "the file's bytes do not match its MD5 in the export")
        return
    counts.created += 1


# --- export -----------------------------------------------------------------------------------


class _Out(io.RawIOBase):
    """Where zipfile writes: bytes collected here are handed out by :func:`export_cozy`."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self.parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data, self.parts = b"".join(self.parts), []
        return data


async def export_cozy(box: Box) -> AsyncIterator[bytes]:
    """The box in a Cozy export's zip layout, as a byte stream (docs/cozy.md)."""
    box.documents  # noqa: B018
    out = _Out()
    archive = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
    now = dt.datetime.now(dt.UTC).timetuple()[:6]

    def entry(name: str, stored: bool = False) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=now)
        info.compress_type = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
        info.external_attr = 0o640 << 16
        return info

    for doctype in sorted(await box.documents.doctypes()):
        if doctype == FILES_DOCTYPE or doctype in SECRET_DOCTYPES:
            continue
        folder = DATA + quote(cozy_doctype(doctype), safe=".") + "/"
        async for doc in box.documents.iterate(doctype):
            doc.pop("_rev", None)
            archive.writestr(entry(folder + quote(doc["_id"], safe="") + ".json"), _dumps(doc))
            if out.parts:
                yield out.take()
    # folders first (parents before children), then each file's metadata and bytes
    folders: dict[str, str] = {ROOT_DIR: ""}
    files: list[dict[str, Any]] = []
    directories: list[dict[str, Any]] = []
    async for doc in box.documents.iterate(FILES_DOCTYPE):
        doc.pop("_rev", None)
        (directories if doc.get("type") == "directory" else files).append(doc)
    for doc in sorted(directories, key=lambda d: str(d.get("path", "")).count("/")):
        parent = folders.get(str(doc.get("dir_id", ROOT_DIR)), "")
        folders[doc["_id"]] = str(doc.get("path") or f"{parent}/{doc['name']}")
        doc.setdefault("dir_id", ROOT_DIR)
        doc["path"] = folders[doc["_id"]]
        archive.writestr(
            entry(DATA + "io.cozy.files/" + quote(doc["_id"], safe="") + ".json"), _dumps(doc)
        )
    taken: set[str] = set()
    for doc in files:
        known = folders.get(str(doc.get("dir_id", "")))
        if known is None:
            known, doc["dir_id"] = "", ROOT_DIR
        folder = known
        path = _unique(f"{folder}/{doc['name']}", taken)
        doc["name"] = posixpath.basename(path)
        cozy_doc = {k: v for k, v in doc.items() if k not in ("sha256", "path")}
        cozy_doc["size"] = str(doc.get("size", 0))  # cozy-stack reads the size as a string
        archive.writestr(
            entry(DATA + "io.cozy.files/" + quote(doc["_id"], safe="") + ".json"), _dumps(cozy_doc)
        )
        yield out.take()
        with archive.open(entry(FILES + path.lstrip("/"), stored=True), "w", force_zip64=True) as w:
            async for chunk in box.files.read(doc["_id"]):
                w.write(chunk)
                yield out.take()
    # series: one io.cozy.timeseries.selfdata document per series and UTC day
    for info in await box.series.list():
        if info.first_day is None or info.last_day is None:
            continue
        for day in range(info.first_day, info.last_day + 1):
            points = await box.series.query(info.name, day * 86400, (day + 1) * 86400)
            if not points:
                continue
            doc_id = stable_id("series", info.name, day)
            start = dt.datetime.fromtimestamp(day * 86400, dt.UTC)
            series_doc = {
                "_id": doc_id,
                "source": "selfdata",
                "name": info.name,
                "unit": info.unit,
                "startDate": start.isoformat().replace("+00:00", "Z"),
                "endDate": (start + dt.timedelta(days=1)).isoformat().replace("+00:00", "Z"),
                "series": [[ts, value] for ts, value in points],
            }
            archive.writestr(
                entry(DATA + "io.cozy.timeseries.selfdata/" + doc_id + ".json"), _dumps(series_doc)
            )
            yield out.take()
    archive.close()
    yield out.take()


def _unique(path: str, taken: set[str]) -> str:
    candidate, n = path, 1
    stem, ext = posixpath.splitext(path)
    while candidate in taken:
        n += 1
        candidate = f"{stem} ({n}){ext}"
    taken.add(candidate)
    return candidate


def _dumps(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
