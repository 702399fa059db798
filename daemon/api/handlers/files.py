"""Files: streamed encrypted uploads and downloads, metadata as io.cozy.files."""

from __future__ import annotations

import re
import urllib.parse

from aiohttp import web

from ...errors import InputError
from ...store import FILES_DOCTYPE
from ..keys import CONFIG
from ..requests import box_of, query_int, reply

__all__ = ["delete_file", "download_file", "file_info", "list_files", "upload_file"]

_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,255}$")
_CHUNK = 256 * 1024


async def list_files(request: web.Request) -> web.Response:
    limit = query_int(request, "limit", 100, 1, 1000)
    cursor = query_int(request, "cursor", 0, 0, 2**62)
    docs, following = await box_of(request).documents.page(
        FILES_DOCTYPE, after=cursor or 0, limit=limit or 100
    )
    return reply({"files": docs, "next": following})


async def upload_file(request: web.Request) -> web.Response:
    box = box_of(request)
    files = box.files
    name = request.query.get("name", "")
    if not _NAME.match(name) or name in (".", ".."):
        raise InputError(
            "give the file a name= of 1 to 255 characters, without / or control characters"
        )
    mime = request.content_type or "application/octet-stream"
    doc = await files.save(
        name,
        request.content.iter_chunked(_CHUNK),
        mime=mime[:255],
        max_size=request.app[CONFIG].max_file_size,
    )
    return reply(doc, status=201)


async def file_info(request: web.Request) -> web.Response:
    return reply(await box_of(request).files.stat(request.match_info["file_id"]))


async def download_file(request: web.Request) -> web.StreamResponse:
    files = box_of(request).files
    file_id = request.match_info["file_id"]
    info = await files.stat(file_id)
    response = web.StreamResponse(
        headers={
            "Content-Type": str(info.get("mime", "application/octet-stream")),
            "Content-Disposition": "attachment; filename*=UTF-8''"
            + urllib.parse.quote(str(info["name"])),
            "X-Content-Type-Options": "nosniff",
        }
    )
    response.content_length = int(info["size"])
    stream = files.read(file_id)
    first = await anext(stream, b"")  # authentication errors surface before headers go out
    await response.prepare(request)
    if first:
        await response.write(first)
    async for chunk in stream:
        await response.write(chunk)
    await response.write_eof()
    return response


async def delete_file(request: web.Request) -> web.Response:
    await box_of(request).files.delete(request.match_info["file_id"])
    return reply({"deleted": True})
