"""The GDPR export (a streamed archive) and importing one back (docs/export-format.md)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from aiohttp import web

from ...archive import ExportSummary, export_archive
from ...archive.detect import ARCHIVE_FORMATS, archive_format, ingest_archive
from ...archive.events import record
from ...connectors.sinks import IngestReport, SourceFile
from ...errors import InputError, NotFound, SelfdataError
from ...interop.cozy import export_cozy
from ...vault import check_passphrase
from ..keys import CONFIG, SCHEDULER, TICKETS
from ..requests import box_of, json_body, reply, session_of
from .file_import import PASSPHRASE_HEADER, spooled_body, upload_name

__all__ = ["export_all", "export_download", "export_ticket", "import_archive"]

log = logging.getLogger(__name__)


_EXPORT_OPTIONS = {
    "type": "object",
    "properties": {
        "format": {"enum": ["selfdata", "cozy"]},
        "passphrase": {"type": "string", "minLength": 1, "maxLength": 1024},
    },
    "additionalProperties": False,
}


async def export_all(request: web.Request) -> web.StreamResponse:
    """The archive in the response to this POST (scripts, the CLI)."""
    options = _checked(request, await json_body(request, _EXPORT_OPTIONS))
    return await _stream_export(request, **options)


async def export_ticket(request: web.Request) -> web.Response:
    """A one-time link to the archive, for a browser to save it as it streams."""
    options = _checked(request, await json_body(request, _EXPORT_OPTIONS))
    tickets = request.app[TICKETS]
    token = tickets.issue(session_of(request), options)
    return reply({"url": f"/api/v1/export/{token}", "expires_in": tickets.ttl}, status=201)


async def export_download(request: web.Request) -> web.StreamResponse:
    options = request.app[TICKETS].redeem(request.match_info["ticket"], session_of(request))
    if options is None:
        raise NotFound("this download link was used already or has expired: ask for a new one")
    return await _stream_export(request, **options)


def _checked(request: web.Request, body: dict[str, Any]) -> dict[str, Any]:
    """Refuse what would fail, before any header is sent (or any ticket issued)."""
    box_of(request).documents  # noqa: B018 - Locked
    fmt = body.get("format", "selfdata")
    passphrase = body.get("passphrase")
    if fmt == "cozy" and passphrase:
        raise InputError("the Cozy layout is a plain zip: a passphrase only seals selfdata's")
    if passphrase:
        check_passphrase(passphrase)
    return {"fmt": fmt, "passphrase": passphrase}


async def _stream_export(
    request: web.Request, fmt: str, passphrase: str | None
) -> web.StreamResponse:
    box = box_of(request)
    summary = ExportSummary()
    stream = (
        export_cozy(box)
        if fmt == "cozy"
        else export_archive(box, passphrase=passphrase, summary=summary)
    )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d")
    name = (
        f"selfdata-cozy-{stamp}.zip"
        if fmt == "cozy"
        else f"selfdata-export-{stamp}.tar.gz" + (".sealed" if passphrase else "")
    )
    first = await anext(stream, b"")  # errors (locked, a passphrase too weak) before headers
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/zip" if fmt == "cozy" else "application/octet-stream",
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
        }
    )
    await response.prepare(request)
    try:
        await response.write(first)
        async for chunk in stream:
            await response.write(chunk)
    except SelfdataError as err:
        # the headers are gone: cut the stream, so the download is visibly incomplete (a
        # truncated archive fails its checks on import) rather than quietly short
        log.warning("export stopped: %s", err.message)
        raise ConnectionResetError("export stopped") from None
    await response.write_eof()
    await record(
        box,
        "export",
        {
            "what": "all",
            "format": fmt,
            "encrypted": bool(passphrase),
            "counts": summary.counts(),
            "summary": f"Everything exported ({'Cozy layout' if fmt == 'cozy' else 'selfdata archive'}"
            f"{', sealed with a passphrase' if passphrase else ''}), downloaded from the box",
        },
    )
    return response


async def import_archive(request: web.Request) -> web.Response:
    """An export (sealed or not), a Cozy export or a MesInfos file, from the request body."""
    box = box_of(request)
    box.documents  # noqa: B018 - Locked before reading the body
    name = upload_name(request, "export")
    passphrase = request.headers.get(PASSPHRASE_HEADER) or None
    async with spooled_body(request, request.app[CONFIG].max_file_size * 4) as stream:
        options = {"passphrase": passphrase} if passphrase else {}
        source = SourceFile(name, stream, options)
        fmt = await asyncio.to_thread(archive_format, source)
        if fmt not in ARCHIVE_FORMATS:
            raise InputError(f"{name} is not a selfdata export, a Cozy export or a MesInfos file")
        assert fmt is not None
        report = IngestReport(name, fmt)
        await ingest_archive(box, source, report, fmt)
    if report.doctypes.get("selfdata.accounts") and SCHEDULER in request.app:
        await request.app[SCHEDULER].reload()
    return reply(report.to_json())
