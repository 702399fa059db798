"""Where backups go: a directory (a USB disk), an SFTP server, an S3-compatible bucket.

Every target stores named objects (``blobs/ab/ab12…``, ``snapshots/<id>.db``) and offers
the same five operations. Writes are atomic — a temporary name, then a rename (S3: one
PUT, or a multipart upload that exists only once completed) — so an interrupted backup
never leaves a half object under its real name. Errors come out as
:class:`TargetError` with a message that says what to check.

A target is named by a URL:

* ``/media/usb/selfdata`` or ``file:///media/usb/selfdata`` — a directory;
* ``sftp://user@host[:port]/path`` — options ``host_key`` (the server's public key, as
  ``ssh-keyscan`` prints it); secrets ``ssh_key`` (a private key) or ``password``;
* ``s3://bucket[/prefix]`` — options ``endpoint`` (``https://s3.example.net``; AWS when
  absent), ``region``, ``access_key``; secret ``secret_key``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from pathlib import Path
from typing import Protocol
from urllib.parse import unquote, urlsplit

from ..errors import InputError, SelfdataError

__all__ = ["Target", "TargetError", "describe", "open_target"]

CHUNK = 1024 * 1024


class TargetError(SelfdataError):
    """A backup target could not be reached, read or written."""

    http_status = 502
    code = "backup_target"


class Target(Protocol):
    label: str

    async def put(self, name: str, chunks: AsyncIterable[bytes]) -> int: ...
    def get(self, name: str) -> AsyncIterator[bytes]: ...
    async def list(self, prefix: str) -> dict[str, int]: ...
    async def delete(self, name: str) -> None: ...
    async def close(self) -> None: ...


def describe(url: str) -> str:
    """The URL without anything secret (a password in the URL is refused anyway)."""
    parts = urlsplit(url)
    if parts.password:
        raise InputError("put no password in a target URL: give it as a secret")
    return url


async def open_target(
    url: str, options: Mapping[str, str] | None = None, secrets_: Mapping[str, str] | None = None
) -> Target:
    options = dict(options or {})
    secrets_ = dict(secrets_ or {})
    describe(url)
    parts = urlsplit(url)
    if parts.scheme in ("", "file"):
        path = unquote(parts.path) if parts.scheme == "file" else url
        if not path.startswith("/"):
            raise InputError(f"a backup directory must be an absolute path, not {url!r}")
        return LocalTarget(Path(path))
    if parts.scheme == "sftp":
        try:
            from .sftp import SftpTarget  # noqa: PLC0415 - asyncssh only when used
        except ImportError:
            raise TargetError(
                "SFTP backups need asyncssh (Debian: apt install python3-asyncssh)"
            ) from None
        return await SftpTarget.connect(parts, options, secrets_)
    if parts.scheme == "s3":
        try:
            import boto3  # noqa: F401, PLC0415 - boto3 only when used
        except ImportError:
            raise TargetError("S3 backups need boto3 (Debian: apt install python3-boto3)") from None
        from .s3 import S3Target  # noqa: PLC0415

        return await S3Target.connect(parts, options, secrets_)
    raise InputError(
        f"unknown backup target {url!r}: use a directory (/media/usb/selfdata), "
        "sftp://user@host/path or s3://bucket/prefix"
    )


def check_name(name: str) -> str:
    if not name or name.startswith("/") or ".." in name.split("/") or "\0" in name:
        raise ValueError(f"bad object name {name!r}")
    return name


class LocalTarget:
    """A directory, typically on a USB disk (``/media/usb/selfdata``)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.label = str(root)
        self._checked = False

    def _ready(self) -> None:
        if self._checked:
            return
        if not self.root.is_dir():
            parent = self.root.parent
            if parent.is_dir() and os.path.ismount(parent):
                self.root.mkdir(mode=0o700)
            else:
                raise TargetError(
                    f"{self.root} is not there: is the backup disk plugged in and mounted? "
                    "(make the directory once: selfdata only creates it at a mount point)"
                )
        self._checked = True

    async def put(self, name: str, chunks: AsyncIterable[bytes]) -> int:
        self._ready()
        path = self.root / check_name(name)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.partial")
        size = 0
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            with open(tmp, "xb") as out:  # noqa: ASYNC230 - writes go through a thread
                async for chunk in chunks:
                    await asyncio.to_thread(out.write, chunk)
                    size += len(chunk)
                out.flush()
                await asyncio.to_thread(os.fsync, out.fileno())
            os.replace(tmp, path)
        except OSError as err:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise _os_error(self.label, err) from None
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        return size

    async def get(self, name: str) -> AsyncIterator[bytes]:
        self._ready()
        try:
            with open(self.root / check_name(name), "rb") as file:  # noqa: ASYNC230
                while data := await asyncio.to_thread(file.read, CHUNK):
                    yield data
        except FileNotFoundError:
            raise TargetError(f"{self.label}: {name} is missing") from None
        except OSError as err:
            raise _os_error(self.label, err) from None

    async def list(self, prefix: str) -> dict[str, int]:
        self._ready()
        base = self.root / prefix if prefix else self.root

        def walk() -> dict[str, int]:
            found: dict[str, int] = {}
            if not base.is_dir():
                return found
            for path in base.rglob("*"):
                if path.is_file() and not path.name.startswith("."):
                    found[path.relative_to(self.root).as_posix()] = path.stat().st_size
            return found

        try:
            return await asyncio.to_thread(walk)
        except OSError as err:
            raise _os_error(self.label, err) from None

    async def delete(self, name: str) -> None:
        self._ready()
        try:
            (self.root / check_name(name)).unlink(missing_ok=True)
        except OSError as err:
            raise _os_error(self.label, err) from None

    async def close(self) -> None:
        return None


def _os_error(label: str, err: OSError) -> TargetError:
    if err.errno == errno.ENOSPC:
        return TargetError(f"{label}: the backup disk is full ({err.strerror})")
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return TargetError(f"{label}: cannot write there ({err.strerror})")
    return TargetError(f"{label}: {err.strerror or err}")
