"""Telling an archive ``selfdata import FILE`` can restore, and bringing it in.

Hooked into :mod:`selfdata.connectors.files` (the file sources' detection), before its
own checks:

=========================== ============================================================
``selfdata-export``          a selfdata export: gzip'd tar whose first member is
                             ``export.json``
``selfdata-export-encrypted`` the same, sealed with a passphrase (``selfdata/export-…``)
``cozy``                     a Cozy export: a zip with ``My Cozy/Data/…`` (the "move"
                             download) or a tar.gz of ``<doctype>/<id>.json`` documents
``mesinfos``                 a MesInfos / Cozy data file: a JSON object whose keys are
                             doctypes (``org.fing.mesinfos.*``, ``io.cozy.*``…) and
                             whose values are lists of documents
=========================== ============================================================
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
import zlib

from ..box import Box
from ..connectors.sinks import IngestReport, SourceFile
from ..errors import InputError
from .container import is_encrypted

__all__ = ["ARCHIVE_FORMATS", "archive_format", "ingest_archive"]

ARCHIVE_FORMATS = ("selfdata-export", "selfdata-export-encrypted", "cozy", "mesinfos")
_DOCTYPE_KEY = re.compile(
    rb'^\s*(?:\xef\xbb\xbf)?\s*\{\s*"([a-z][a-z0-9-]*(?:\.[a-zA-Z0-9_-]+)+)"\s*:\s*\['
)


def archive_format(source: SourceFile) -> str | None:
    """One of :data:`ARCHIVE_FORMATS` if ``source`` is such an archive, else ``None``."""
    head = source.head()
    if is_encrypted(head):
        return "selfdata-export-encrypted"
    if head.startswith(b"\x1f\x8b"):
        first = _first_tar_member(source)
        if first == "export.json":
            return "selfdata-export"
        if first is not None and _cozy_tar_name(first):
            return "cozy"
        return None
    if head.startswith(b"PK\x03\x04"):
        from ..interop.cozy import is_cozy_zip  # noqa: PLC0415

        return "cozy" if is_cozy_zip(source) else None
    if _DOCTYPE_KEY.match(head):
        return "mesinfos"
    return None


async def ingest_archive(box: Box, source: SourceFile, report: IngestReport, fmt: str) -> None:
    """Bring in an archive of one of :data:`ARCHIVE_FORMATS` (already detected)."""
    if fmt in ("selfdata-export", "selfdata-export-encrypted"):
        from .importer import import_export  # noqa: PLC0415

        passphrase = source.options.get("passphrase")
        if fmt == "selfdata-export-encrypted" and not passphrase:
            raise InputError(
                f"{source.name} is an encrypted selfdata export: import it with "
                "`selfdata import FILE`, which asks for its passphrase"
            )
        await import_export(box, source, report, passphrase)
    elif fmt == "cozy":
        from ..interop.cozy import import_cozy  # noqa: PLC0415

        await import_cozy(box, source, report)
    elif fmt == "mesinfos":
        from ..interop.mesinfos import import_mesinfos  # noqa: PLC0415

        await import_mesinfos(box, source, report)
    else:
        raise InputError(f"unknown archive format {fmt!r}")


def _first_tar_member(source: SourceFile) -> str | None:
    source.file.seek(0)
    try:
        with gzip.GzipFile(fileobj=source.file) as gz:
            block = gz.read(tarfile.BLOCKSIZE * 4)
        info = tarfile.TarInfo.frombuf(block[: tarfile.BLOCKSIZE], "utf-8", "surrogateescape")
        name: str | None = info.name
        if info.type in (tarfile.XHDTYPE, tarfile.XGLTYPE):  # PAX header: the next one
            with tarfile.open(fileobj=io.BytesIO(block), mode="r|") as tar:
                name = next(iter(tar)).name
    except (OSError, EOFError, zlib.error, tarfile.TarError, StopIteration, ValueError):
        name = None
    finally:
        source.file.seek(0)
    return name


def _cozy_tar_name(name: str) -> bool:
    name = name.removeprefix("./")
    return name == "instance.json" or name.startswith("files/") or name.startswith("io.cozy.")
