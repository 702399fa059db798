"""``POST /api/v1/import``: any file a file source reads, its format detected.

The body is spooled to an encrypted scratch file in the data dir (a zip's index is at
its end, and detection reads the head twice): only ciphertext under a key held in
memory ever reaches the disk (:mod:`selfdata.store.spool`). A file the CLI handed over
(``?file=``, :mod:`selfdata.handover`) is read where it is: a multi-GB Takeout is not
copied, so the upload's size limit does not apply to it.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import BinaryIO

from aiohttp import web

from ...errors import InputError
from ...store.spool import EncryptedSpool
from ..keys import CONFIG, SCHEDULER
from ..requests import box_of, handed_file, reply

__all__ = ["PASSPHRASE_HEADER", "import_any", "spooled_body", "upload_name"]

PASSPHRASE_HEADER = "X-Selfdata-Export-Passphrase"  # noqa: S105 - a header name

_NAME = re.compile(r"^[^/\\\x00-\x1f]{1,255}$")
_CHUNK = 256 * 1024


async def import_any(request: web.Request) -> web.Response:
    # the file sources' parsers (8 MB) load on the first import, not at start-up
    from ...connectors.files import import_file  # noqa: PLC0415
    from ...connectors.sinks import SourceFile  # noqa: PLC0415

    box = box_of(request)
    box.documents  # noqa: B018 - Locked before reading the body
    name = upload_name(request, "upload")
    # a sealed selfdata export is detected here too, given its passphrase
    passphrase = request.headers.get(PASSPHRASE_HEADER)
    options = {"passphrase": passphrase} if passphrase else {}
    fd = handed_file(request)
    if fd is not None:  # the CLI's own file: read where it is, whatever its size
        with open(fd, "rb") as stream:  # noqa: ASYNC230 - a descriptor: nothing to wait for
            report = await import_file(box, SourceFile(name, stream, options))
    else:
        async with spooled_body(request, request.app[CONFIG].max_file_size) as stream:
            report = await import_file(box, SourceFile(name, stream, options))
    if report.doctypes.get("selfdata.accounts") and SCHEDULER in request.app:
        await request.app[SCHEDULER].reload()  # an export brought sources back
    return reply(report.to_json())


def upload_name(request: web.Request, default: str) -> str:
    """The ``name=`` of an upload: a hint to detection, never a path."""
    name = request.query.get("name", default)
    if not _NAME.match(name):
        raise InputError("name= must be 1 to 255 characters, without / or control characters")
    return name


@asynccontextmanager
async def spooled_body(request: web.Request, limit: int) -> AsyncIterator[BinaryIO]:
    """The request body in an encrypted scratch file, readable and seekable, ``limit``
    bytes at most (checked as it arrives, not only from Content-Length)."""
    box = box_of(request)
    if request.content_length is not None and request.content_length > limit:
        raise InputError(f"the file is larger than {limit:,} bytes")
    with EncryptedSpool(box.paths.root) as spool:
        async for chunk in request.content.iter_chunked(_CHUNK):
            if spool.size + len(chunk) > limit:
                raise InputError(f"the file is larger than {limit:,} bytes")
            await asyncio.to_thread(spool.write, chunk)
        with spool.reader() as stream:
            yield stream
