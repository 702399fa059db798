"""``selfdata import FILE`` without ``--doctype``: tell what a file is, and bring it in.

:func:`detect_format` looks at the bytes, never at the file name alone (a bank names
its export ``export.txt``; a Takeout part is ``takeout-20240105T101112Z-001.zip``):

========== ==========================================================================
``ofx``     OFX v1 (``OFXHEADER:``) or v2 (``<?OFX`` after the XML declaration)
``camt``    ISO 20022 ``camt.053`` XML
``qif``     QIF (``!Type:``, ``!Account``, ``!Option:``)
``takeout`` a zip with entries under ``Takeout/``
``facebook`` a zip laid out as Facebook's "Download your information"
``google-json`` a lone Google export: the phone's ``Timeline.json``, ``Records.json``…
``water``   a water utility's consumption history (CSV, JSON, .xls or .xlsx: date, use,
            index); an .xls by the OLE2 signature and its workbook stream, an .xlsx by
            the ``xl/workbook.xml`` in its zip index
``jsonl``   JSON Lines: one object per line
``csv``     delimited text with a header line
========== ==========================================================================

CSV and JSON Lines name no doctype: the one whose schema their columns fit is used
(say, ``date``/``amount``/``label`` → ``io.cozy.bank.operations``), else ``--doctype``
must say.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import BinaryIO

from selfdata.archive.detect import ARCHIVE_FORMATS, archive_format, ingest_archive
from selfdata.box import Box
from selfdata.doctypes import builtin_doctypes, resolve
from selfdata.errors import InputError
from selfdata.importers import import_records

from . import bank, facebook, google_takeout, water
from .google_takeout.archive import kind_of
from .safe_zip import SafeZip, is_zip
from .sinks import BoxSink, IngestReport, Sink, SourceFile, head_text

__all__ = ["FORMATS", "detect_format", "detect_source", "import_file", "import_path"]

FORMATS = (
    "ofx",
    "camt",
    "qif",
    "takeout",
    "facebook",
    "google-json",
    "water",
    "jsonl",
    "csv",
    *ARCHIVE_FORMATS,  # selfdata exports, Cozy and MesInfos: selfdata.archive.detect
)
_CHUNK = 256 * 1024
_DELIMITERS = ",;\t|"

Ingest = Callable[[Sink, SourceFile, IngestReport], Awaitable[None]]
_INGEST: dict[str, Ingest] = {
    "ofx": bank.ingest,
    "camt": bank.ingest,
    "qif": bank.ingest,
    "takeout": google_takeout.ingest,
    "google-json": google_takeout.ingest,
    "facebook": facebook.ingest,
    "water": water.ingest,
}


def detect_format(path: str | Path) -> str:
    """The format of the file at ``path`` (one of :data:`FORMATS`), or InputError."""
    try:
        with open(path, "rb") as file:
            return detect_source(SourceFile(Path(path).name, file))
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror}") from None


def detect_source(source: SourceFile) -> str:
    head = source.head()
    if not head:
        raise InputError(f"{source.name} is empty")
    if (archive := archive_format(source)) is not None:
        return archive
    if is_zip(head):
        return _archive_format(source)
    fmt = bank.format_of(head)
    if fmt is not None:
        return fmt
    if kind_of(head) is not None:
        return "google-json"
    # before CSV and JSON Lines: a water export is one of those too, of a known shape
    if water.detect_source(source):
        return "water"
    text = head_text(head)
    if text is not None:
        if _is_json_lines(text):
            return "jsonl"
        if _is_csv(text):
            return "csv"
    raise InputError(
        f"cannot tell what {source.name} is: selfdata reads OFX, QIF and CAMT.053 "
        "statements, Google Takeout and Facebook archives, water consumption exports (CSV, "
        "JSON, .xls, .xlsx), CSV and JSON Lines"
    )


async def import_path(box: Box, path: str | Path, *, doctype: str | None = None) -> IngestReport:
    try:
        file = open(path, "rb")  # noqa: SIM115, ASYNC230 - closed below; opening is instant
    except OSError as err:
        raise InputError(f"cannot read {path}: {err.strerror}") from None
    with file:
        return await import_file(box, SourceFile(Path(path).name, file), doctype=doctype)


async def import_file(
    box: Box, source: SourceFile, *, doctype: str | None = None, fmt: str | None = None
) -> IngestReport:
    """Detect ``source``'s format and store what it holds in the (unlocked) box."""
    box.documents  # noqa: B018 - Locked before reading a byte
    if fmt is None:
        fmt = await asyncio.to_thread(detect_source, source)
    report = IngestReport(source.name, fmt)
    if fmt in ARCHIVE_FORMATS:
        await ingest_archive(box, source, report, fmt)
    elif fmt in ("csv", "jsonl"):
        await _import_records(box, source, fmt, doctype, report)
    else:
        source.file.seek(0)
        await _INGEST[fmt](BoxSink(box, report), source, report)
    return report


def _archive_format(source: SourceFile) -> str:
    source.file.seek(0)
    with SafeZip(source.file) as archive:
        names = [m.name for m in archive.members]
    source.file.seek(0)
    if any(name.startswith("Takeout/") for name in names):
        return "takeout"
    if facebook.looks_like_facebook(names):
        return "facebook"
    if water.is_workbook(names):  # an .xlsx; its sheets say whether it is water
        return "water"
    raise InputError(
        f"{source.name} is a zip archive, but neither a Google Takeout, a Facebook "
        '"Download your information" export nor an .xlsx spreadsheet'
    )


# --- CSV and JSON Lines -----------------------------------------------------------------------


async def _import_records(
    box: Box, source: SourceFile, fmt: str, doctype: str | None, report: IngestReport
) -> None:
    if doctype is None:
        doctype = _doctype_for(_first_keys(source, fmt))
        if doctype is None:
            raise InputError(
                f"{source.name} is {fmt.upper()} whose columns fit no known doctype: "
                "say which with --doctype (e.g. --doctype org.example.mydata)"
            )
    source.file.seek(0)
    result = await import_records(box.documents, resolve(doctype), _chunks(source.file), fmt)
    counts = report.counts(result.doctype)
    counts.created, counts.updated, counts.unchanged = (
        result.created,
        result.updated,
        result.unchanged,
    )
    for error in result.errors:
        report.problem(f"line {error.line}", error.message)
    report.error_count = result.error_count


def _doctype_for(keys: list[str]) -> str | None:
    """The built-in doctype whose schema the columns fit best, if one fits at all."""
    best: tuple[float, str] | None = None
    present = set(keys)
    for name, doctype in builtin_doctypes().items():
        schema = doctype.schema or {}
        required = set(schema.get("required", ()))
        known = set(schema.get("properties", {})) - {"_id"}
        if not required or not required <= present:
            continue
        share = len(present & known) / max(len(present), 1)
        if share >= 0.5 and (best is None or share > best[0]):
            best = (share, name)
    return best[1] if best else None


def _first_keys(source: SourceFile, fmt: str) -> list[str]:
    text = head_text(source.head()) or ""
    line = next((ln for ln in text.splitlines() if ln.strip()), "")
    if fmt == "jsonl":
        try:
            value = json.loads(line)
        except ValueError:
            return []
        return [str(k) for k in value] if isinstance(value, dict) else []
    delimiter = max(_DELIMITERS, key=line.count)
    return [cell.strip().strip('"') for cell in line.split(delimiter)]


async def _chunks(file: BinaryIO) -> AsyncIterator[bytes]:
    while data := await asyncio.to_thread(file.read, _CHUNK):
        yield data


def _is_json_lines(text: str) -> bool:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines or not lines[0].lstrip().startswith("{"):
        return False
    try:
        first = json.loads(lines[0])
    except ValueError:
        # one line longer than the head: JSON Lines if it is the only thing we saw
        return len(lines) == 1 and len(text) >= 32 * 1024
    return isinstance(first, dict)


def _is_csv(text: str) -> bool:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if not lines:
        return False
    header = lines[0]
    return any(header.count(d) >= 1 for d in _DELIMITERS) and not header.lstrip().startswith(
        ("{", "[", "<")
    )
