"""Bank statements from files: OFX (v1 SGML, v2 XML), QIF and CAMT.053.

Each becomes Cozy ``io.cozy.bank.accounts`` and ``io.cozy.bank.operations`` documents,
deduplicated across overlapping statements (see :mod:`.store`). Files come from an
upload, from ``selfdata import FILE`` or from a watched drop folder
(:mod:`selfdata.connectors.drop_folder`).
"""

from __future__ import annotations

from ..sdk import Manifest
from ..sinks import IngestReport, Sink, SourceFile
from . import camt, ofx, qif
from .store import ACCOUNTS, OPERATIONS, store_bank_items

__all__ = ["FORMATS", "MANIFEST", "detect", "format_of", "ingest"]

MANIFEST = Manifest(
    id="bank-files",
    name="Bank statements (OFX, QIF, CAMT)",
    vendor="Any bank",
    description="Accounts and operations from the statement files your bank's website "
    "exports: OFX (Money/Quicken), QIF, or ISO 20022 CAMT.053.",
    doctypes=(ACCOUNTS, OPERATIONS),
    schedule="manual",
    category="bank",
    file_formats=("ofx", "qif", "camt"),
    runs_locked=True,
)

FORMATS = ("ofx", "qif", "camt")
MAX_STATEMENT = 32 * 1024 * 1024


def format_of(head: bytes) -> str | None:
    if ofx.detect(head):
        return "ofx"
    if camt.detect(head):
        return "camt"
    if qif.detect(head):
        return "qif"
    return None


def detect(name: str, head: bytes) -> bool:
    return format_of(head) is not None


async def ingest(sink: Sink, source: SourceFile, report: IngestReport) -> None:
    fmt = format_of(source.head())
    if fmt is None:
        report.problem(source.name, "not an OFX, QIF or CAMT.053 statement")
        return
    source.file.seek(0)
    if fmt == "camt":
        items = camt.parse_camt(source.file, source.name)
    else:
        data = source.file.read(MAX_STATEMENT + 1)
        if fmt == "ofx":
            items = ofx.parse_ofx(data, source.name)
        else:
            items = qif.parse_qif(data, source.name, source.options.get("account"))
    await store_bank_items(sink, report, items, fmt)
