"""``POST /api/v1/import``: any file a file source reads, its format detected.

The body is spooled to an encrypted scratch file in the data dir (a zip's index is at
its end, and detection reads the head twice): only ciphertext under a key held in
memory ever reaches the disk (:mod:`selfdata.store.spool`).
"""

from __future__ import annotations

import asyncio
import re

from aiohttp import web

from ...errors import InputError
from ...store.spool import EncryptedSpool
from ..keys import CONFIG
from ..requests import box_of, reply

__all__ = ["import_any"]

_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,255}$")
_CHUNK = 256 * 1024


async def import_any(request: web.Request) -> web.Response:
    # the file sources' parsers (8 MB) load on the first import, not at start-up
    from ...connectors.files import import_file  # noqa: PLC0415
    from ...connectors.sinks import SourceFile  # noqa: PLC0415

    box = box_of(request)
    box.documents  # noqa: B018 - Locked before reading the body
    name = request.query.get("name", "upload")
    if not _NAME.match(name):
        raise InputError("name= must be 1 to 255 characters, without / or control characters")
    limit = request.app[CONFIG].max_file_size
    if request.content_length is not None and request.content_length > limit:
        raise InputError(f"the file is larger than {limit:,} bytes")
    with EncryptedSpool(box.paths.root) as spool:
        async for chunk in request.content.iter_chunked(_CHUNK):
            if spool.size + len(chunk) > limit:
                raise InputError(f"the file is larger than {limit:,} bytes")
            await asyncio.to_thread(spool.write, chunk)
        with spool.reader() as stream:
            report = await import_file(box, SourceFile(name, stream))
    return reply(report.to_json())
