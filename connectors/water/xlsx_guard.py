"""Vet an .xlsx before openpyxl opens it: an .xlsx is a zip of XML parts, and a hostile
one is a zip bomb, an XML bomb or a part that openpyxl would hold whole in memory.

openpyxl in read-only mode streams the worksheets row by row, but reads every other part
it needs whole (the content types, the workbook and its relationships, the shared strings,
the styles, the theme, the document properties, chartsheets). So, before it sees a byte:

* the archive is opened by :class:`~selfdata.connectors.safe_zip.SafeZip`: at most
  :data:`MAX_PARTS` entries, no overlapping entries (the non-recursive zip bomb), no name
  that leaves the archive (``../``, absolute paths);
* every entry is inflated once and counted — its real size, not the one its header
  claims, which must agree — and inflating more than 200 times its compressed size past
  the first 4 MiB is a bomb;
* a part may be :data:`MAX_STREAMED` bytes only when openpyxl streams it: the content
  types declare it a worksheet and nothing else, and the workbook's relationships point
  at it only as a worksheet. Every other part is at most :data:`MAX_WHOLE` bytes, and
  :data:`MAX_WHOLE_TOTAL` all together (a few kB each in a real export);
* no part carries a DTD (``<!DOCTYPE``, ``<!ENTITY``): spreadsheets never do, and entity
  expansion is how XML bombs work. openpyxl also parses with defusedxml (streamed parts)
  and, when lxml is there, with entity resolution off (parts read whole).
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from typing import BinaryIO
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring

from ..safe_zip import ArchiveError, Member, MiB, SafeZip, ZipLimits

__all__ = [
    "MAX_PARTS",
    "MAX_STREAMED",
    "MAX_WHOLE",
    "MAX_WHOLE_TOTAL",
    "WORKBOOK",
    "check_xlsx",
    "is_workbook",
]

WORKBOOK = "xl/workbook.xml"
MAX_PARTS = 500
MAX_STREAMED = 32 * MiB
MAX_STREAMED_TOTAL = 128 * MiB
MAX_WHOLE = 2 * MiB
MAX_WHOLE_TOTAL = 16 * MiB
LIMITS = ZipLimits(
    max_members=MAX_PARTS, max_member_bytes=MAX_STREAMED, max_total_bytes=MAX_STREAMED_TOTAL
)

_CONTENT_TYPES = "[Content_Types].xml"
_WORKSHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_WORKBOOK_TYPES = {
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
}
_WORKSHEET_REL = "/worksheet"
_DTD = tuple(
    marker.encode(codec)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for codec in ("ascii", "utf-16-le", "utf-16-be")
)
_OVERLAP = max(len(m) for m in _DTD)


def is_workbook(names: Iterable[str]) -> bool:
    """Whether a zip holding ``names`` is an .xlsx (or .xlsm) workbook."""
    listed = set(names)
    return WORKBOOK in listed and _CONTENT_TYPES in listed


def check_xlsx(file: BinaryIO) -> None:
    """Raise :class:`ArchiveError` (one clear sentence) unless ``file`` is safe to open."""
    file.seek(0)
    with SafeZip(file, LIMITS) as archive:
        if archive.refused:
            raise ArchiveError(
                f"an entry named {archive.refused[0][:80]!r} points outside the archive: "
                "not an honest spreadsheet, refused"
            )
        names = [m.name for m in archive.members]
        if not is_workbook(names):
            raise ArchiveError(f"a zip archive, but not an .xlsx workbook (no {WORKBOOK})")
        streamed = _worksheets(archive)
        whole_total = 0
        for member in archive.members:
            cap = MAX_STREAMED if member.name in streamed else MAX_WHOLE
            if member.size > cap:
                raise ArchiveError(_too_big(member.name, member.size, cap))
            size = _inflate(archive, member, cap)
            if size != member.size:
                raise ArchiveError(
                    f"{member.name} inflates to {size:,} bytes where the archive says "
                    f"{member.size:,}: damaged or forged, refused"
                )
            if member.name not in streamed:
                whole_total += size
                if whole_total > MAX_WHOLE_TOTAL:
                    raise ArchiveError(
                        f"the parts read whole inflate past {MAX_WHOLE_TOTAL:,} bytes: refused"
                    )
    file.seek(0)


def _too_big(name: str, size: int, cap: int) -> str:
    return f"{name} inflates to {size:,} bytes, more than the {cap:,} allowed: refused"


def _inflate(archive: SafeZip, member: Member, cap: int) -> int:
    """Inflate ``member`` to count its real bytes; refuse a DTD on the way."""
    tail = b""
    with archive.open(member) as reader:
        while chunk := reader.read(1 * MiB):
            if reader.produced > cap:
                raise ArchiveError(_too_big(member.name, reader.produced, cap))
            window = tail + chunk
            if any(marker in window for marker in _DTD):
                raise ArchiveError(
                    f"{member.name} declares a DTD or entities, which spreadsheets never "
                    "do (an XML bomb?): refused"
                )
            tail = window[-_OVERLAP:]
        return reader.produced


def _read_small(archive: SafeZip, name: str) -> Element | None:
    member = next((m for m in reversed(archive.members) if m.name == name), None)
    if member is None:
        return None
    if member.size > MAX_WHOLE:
        raise ArchiveError(_too_big(name, member.size, MAX_WHOLE))
    with archive.open(member) as reader:
        data = b"".join(iter(lambda: reader.read(1 * MiB), b""))
    if len(data) > MAX_WHOLE:
        raise ArchiveError(_too_big(name, len(data), MAX_WHOLE))
    try:
        root: Element = fromstring(data)
    except Exception as err:  # defusedxml's refusals, and every way XML can be broken
        raise ArchiveError(f"{name} is not readable XML ({type(err).__name__}): refused") from None
    return root


def _worksheets(archive: SafeZip) -> set[str]:
    """The parts openpyxl streams: declared worksheets (and nothing else) that the
    workbook's relationships use only as worksheets. The way openpyxl finds them
    (``reader/excel.py``, ``packaging/relationship.py``) is followed step by step."""
    types = _content_types(archive)
    workbook = next((name for name, kinds in types.items() if kinds & _WORKBOOK_TYPES), WORKBOOK)
    candidates = {name for name, kinds in types.items() if kinds == {_WORKSHEET}}
    folder, base = posixpath.split(workbook)
    rels_path = posixpath.join(folder, "_rels", f"{base}.rels")
    rels = _read_small(archive, rels_path)
    parent = posixpath.split(posixpath.dirname(rels_path))[0]
    for rel in rels if rels is not None else ():
        if not rel.tag.endswith("}Relationship") or rel.get("TargetMode") == "External":
            continue
        target = rel.get("Target") or ""
        target = (
            target[1:]
            if target.startswith("/")
            else posixpath.normpath(posixpath.join(parent, target))
        )
        if not (rel.get("Type") or "").endswith(_WORKSHEET_REL):
            candidates.discard(target)
    return candidates - {workbook}


def _content_types(archive: SafeZip) -> dict[str, set[str]]:
    root = _read_small(archive, _CONTENT_TYPES)
    found: dict[str, set[str]] = {}
    for node in root if root is not None else ():
        if node.tag.endswith("}Override"):
            name = (node.get("PartName") or "").lstrip("/")
            found.setdefault(name, set()).add(node.get("ContentType") or "")
    return found
