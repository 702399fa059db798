"""Shared by the file-source tests: samples, real zip archives, imports into a real box."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from selfdata.box import Box
from selfdata.connectors.files import import_file
from selfdata.connectors.sinks import SourceFile

SAMPLES = Path(__file__).parent / "samples"


def sample(*parts: str) -> bytes:
    return SAMPLES.joinpath(*parts).read_bytes()


def zip_bytes(entries: dict[str, bytes | str], *, stored: bool = False) -> bytes:
    buffer = io.BytesIO()
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


async def ingest(box: Box, name: str, data: bytes, **kwargs: Any) -> dict[str, Any]:
    """Import ``data`` as a file called ``name``, through format detection; the report."""
    report = await import_file(box, SourceFile(name, io.BytesIO(data)), **kwargs)
    return report.to_json()


async def documents(box: Box, doctype: str) -> list[dict[str, Any]]:
    return [doc async for doc in box.documents.iterate(doctype)]


def counts(report: dict[str, Any], doctype: str) -> tuple[int, int, int]:
    """(created, updated, unchanged) for ``doctype`` in an import report."""
    c = report["doctypes"].get(doctype, {"created": 0, "updated": 0, "unchanged": 0})
    return c["created"], c["updated"], c["unchanged"]
