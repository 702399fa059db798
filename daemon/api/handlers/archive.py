"""The GDPR export (a streamed archive) and importing one back (docs/export-format.md)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re

from aiohttp import web

from ...archive import ExportSummary, export_archive
from ...archive.detect import ARCHIVE_FORMATS, archive_format, ingest_archive
from ...archive.events import record
from ...connectors.sinks import IngestReport, SourceFile
from ...errors import InputError, SelfdataError
from ...interop.cozy import export_cozy
from ...store.spool import EncryptedSpool
from ..keys import CONFIG, SCHEDULER
from ..requests import box_of, json_body, reply

__all__ = ["export_all", "import_archive"]

log = logging.getLogger(__name__)
PASSPHRASE_HEADER = "X-Selfdata-Export-Passphrase"  # noqa: S105 - a header name
_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,255}$")
_CHUNK = 256 * 1024


async def export_all(request: web.Request) -> web.StreamResponse:
    body = await json_body(
        request,
        {
            "type": "object",
            "properties": {
                "format": {"enum": ["selfdata", "cozy"]},
                "passphrase": {"type": "string", "minLength": 1, "maxLength": 1024},
            },
            "additionalProperties": False,
        },
    )
    box = box_of(request)
    box.documents  # noqa: B018 - Locked before the response starts
    fmt = body.get("format", "selfdata")
    passphrase = body.get("passphrase")
    if fmt == "cozy" and passphrase:
        raise InputError("the Cozy layout is a plain zip: a passphrase only seals selfdata's")
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
    name = request.query.get("name", "export")
    if not _NAME.match(name):
        raise InputError("name= must be 1 to 255 characters, without / or control characters")
    passphrase = request.headers.get(PASSPHRASE_HEADER) or None
    limit = request.app[CONFIG].max_file_size * 4
    with EncryptedSpool(box.paths.root) as spool:
        async for chunk in request.content.iter_chunked(_CHUNK):
            if spool.size + len(chunk) > limit:
                raise InputError(f"the archive is larger than {limit:,} bytes")
            await asyncio.to_thread(spool.write, chunk)
        with spool.reader() as stream:
            options = {"passphrase": passphrase} if passphrase else {}
            source = SourceFile(name, stream, options)
            fmt = await asyncio.to_thread(archive_format, source)
            if fmt not in ARCHIVE_FORMATS:
                raise InputError(
                    f"{name} is not a selfdata export, a Cozy export or a MesInfos file"
                )
            assert fmt is not None
            report = IngestReport(name, fmt)
            await ingest_archive(box, source, report, fmt)
    if report.doctypes.get("selfdata.accounts") and SCHEDULER in request.app:
        await request.app[SCHEDULER].reload()
    return reply(report.to_json())
