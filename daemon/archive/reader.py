"""Reading a selfdata export without trusting it: open, walk, verify.

:func:`verify` reads the whole archive once and checks it against its manifest (every
member present, none added, each one's size and SHA-256), and, when sealed, that every
byte authenticates up to the final tag. Only then does an import write anything, so a
damaged, truncated or edited export changes nothing. Members are read as a stream
(``tarfile`` ``r|gz``): the archive is never extracted, and no member name is ever
used as a path.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO, Any, BinaryIO

from ..errors import InputError, IntegrityError
from .container import is_encrypted, open_encrypted
from .layout import FORMAT, HEADER, MANIFEST, VERSION

__all__ = ["ArchiveStream", "ExportDamaged", "Manifest", "damaged", "open_stream", "verify"]

_CHUNK = 256 * 1024
_MAX_JSON = 64 * 1024 * 1024  # export.json and manifest.json: generous, bounded
_ERRORS = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError, ValueError)


class ExportDamaged(IntegrityError):
    """The export failed a check: its message says which, and that nothing was imported."""


def damaged(detail: str) -> ExportDamaged:
    return ExportDamaged(
        f"the export is damaged, truncated or was changed ({detail}): nothing was imported"
    )


@dataclass(frozen=True)
class Manifest:
    data: dict[str, Any]
    key: bytes | None  # the sealed export's key, so the import needs no second Argon2id

    @property
    def members(self) -> dict[str, dict[str, Any]]:
        members: dict[str, dict[str, Any]] = self.data["members"]
        return members

    @property
    def series(self) -> dict[str, dict[str, Any]]:
        series: dict[str, dict[str, Any]] = self.data.get("series", {})
        return series


class ArchiveStream:
    """The members of an open export, one at a time (a sequential tar reader)."""

    def __init__(self, tar: tarfile.TarFile, payload: IO[bytes]) -> None:
        self._tar = tar
        self._payload = payload

    def members(self) -> Iterator[tuple[str, int, IO[bytes]]]:
        for info in self._tar:
            name = info.name
            if not info.isreg():
                raise damaged(f"unexpected entry {name!r}")
            if not _safe(name):
                raise damaged(f"unsafe member name {name!r}")
            fileobj = self._tar.extractfile(info)
            assert fileobj is not None  # a regular file
            yield name, info.size, fileobj

    def drain(self) -> None:
        """Read to the very end: a sealed stream must end on its final tag."""
        while self._payload.read(_CHUNK):
            pass


@contextmanager
def open_stream(
    file: BinaryIO, passphrase: str | None, *, key: bytes | None = None
) -> Iterator[tuple[ArchiveStream, bytes | None]]:
    """Open (and, when sealed, decrypt) an export from its start; errors are clear."""
    file.seek(0)
    head = file.read(64)
    file.seek(0)
    payload: IO[bytes] = file
    if is_encrypted(head):
        if passphrase is None and key is None:
            raise InputError("this export is encrypted: give its passphrase")
        reader, key = open_encrypted(file, passphrase or "", key=key)
        payload = io.BufferedReader(reader, buffer_size=_CHUNK)
    try:
        tar = tarfile.open(fileobj=payload, mode="r|gz")  # noqa: SIM115 - closed below
    except _ERRORS as err:
        raise damaged(f"not a gzip-compressed tar: {err}") from None
    except IntegrityError as err:
        raise damaged(str(err)) from None
    try:
        yield ArchiveStream(tar, payload), key
    except ExportDamaged:
        raise
    except IntegrityError as err:  # the seal: a changed or truncated ciphertext
        raise damaged(str(err)) from None
    except _ERRORS as err:
        raise damaged(str(err) or type(err).__name__) from None
    finally:
        tar.close()


def verify(file: BinaryIO, passphrase: str | None) -> Manifest:
    """Read the whole export and check it against its manifest; return the manifest."""
    seen: dict[str, tuple[int, str]] = {}
    manifest: dict[str, Any] | None = None
    header: dict[str, Any] | None = None
    with open_stream(file, passphrase) as (stream, key):
        for name, size, fileobj in stream.members():
            if manifest is not None:
                raise damaged(f"{name!r} comes after the manifest")
            if name in seen:
                raise damaged(f"{name!r} appears twice")
            if name in (HEADER, MANIFEST):
                if size > _MAX_JSON:
                    raise damaged(f"{name} is too large")
                data = fileobj.read()
                seen[name] = (len(data), hashlib.sha256(data).hexdigest())
                value = _json(name, data)
                if name == HEADER:
                    header = value
                else:
                    manifest = value
                continue
            if header is None:
                raise damaged(f"{HEADER} is not the first member")
            seen[name] = _digest(fileobj)
        stream.drain()
    if header is None or header.get("format") != FORMAT:
        raise damaged("not a selfdata export")
    if header.get("version") != VERSION:
        raise InputError(
            f"this export has format version {header.get('version')}: this selfdata reads "
            f"version {VERSION} (upgrade selfdata)"
        )
    if manifest is None:
        raise damaged("the manifest is missing: the export is truncated")
    members = manifest.get("members")
    if not isinstance(members, dict):
        raise damaged("the manifest lists no members")
    listed = set(members)
    present = set(seen) - {MANIFEST}
    if missing := sorted(listed - present):
        raise damaged(f"{len(missing)} member(s) missing, e.g. {missing[0]!r}")
    if extra := sorted(present - listed):
        raise damaged(f"{extra[0]!r} is not in the manifest")
    for name in sorted(present):
        expected = members[name]
        if (
            not isinstance(expected, dict)
            or (
                expected.get("size"),
                expected.get("sha256"),
            )
            != seen[name]
        ):
            raise damaged(f"{name!r} does not match its SHA-256 in the manifest")
    return Manifest(manifest, key)


def _digest(fileobj: IO[bytes]) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    while data := fileobj.read(_CHUNK):
        digest.update(data)
        size += len(data)
    return size, digest.hexdigest()


def _json(name: str, data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except ValueError as err:
        raise damaged(f"{name} is not JSON: {err}") from None
    if not isinstance(value, dict):
        raise damaged(f"{name} is not a JSON object")
    return value


def _safe(name: str) -> bool:
    path = PurePosixPath(name)
    return bool(name) and not path.is_absolute() and ".." not in path.parts and "\0" not in name
