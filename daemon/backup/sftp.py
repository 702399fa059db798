"""Backups to another machine over SFTP, with asyncssh (Debian: python3-asyncssh).

The server's host key must be given (``host_key``: a line as ``ssh-keyscan`` prints it,
``ssh-ed25519 AAAA…``): a backup never trusts a server on first use. The client
authenticates with a private key (``ssh_key`` secret, OpenSSH format) or a password.
"""

from __future__ import annotations

import contextlib
import posixpath
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Mapping
from typing import Any
from urllib.parse import SplitResult, unquote

import asyncssh

from ..errors import InputError
from .targets import CHUNK, TargetError, check_name

__all__ = ["SftpTarget"]

CONNECT_TIMEOUT = 20


class SftpTarget:
    def __init__(self, conn: Any, sftp: Any, root: str, label: str) -> None:
        self._conn = conn
        self._sftp = sftp
        self.root = root
        self.label = label

    @classmethod
    async def connect(
        cls, parts: SplitResult, options: Mapping[str, str], secret: Mapping[str, str]
    ) -> SftpTarget:
        host = parts.hostname
        if not host or not parts.username:
            raise InputError("an SFTP target is sftp://user@host[:port]/path")
        port = parts.port or 22
        label = f"sftp://{parts.username}@{host}:{port}{parts.path}"
        host_key = options.get("host_key", "").strip()
        if not host_key:
            raise InputError(
                f"give the host key of {host} (the line `ssh-keyscan -p {port} {host}` "
                "prints, e.g. ssh-ed25519 AAAA…): backups never trust an unknown server"
            )
        pattern = host if port == 22 else f"[{host}]:{port}"
        try:
            known = asyncssh.import_known_hosts(f"{pattern} {_key_part(host_key)}\n")
            keys = [asyncssh.import_private_key(secret["ssh_key"])] if secret.get("ssh_key") else []
        except (asyncssh.KeyImportError, ValueError) as err:
            raise InputError(f"{label}: a key is unreadable ({err})") from None
        if not keys and not secret.get("password"):
            raise InputError(f"{label}: give an SSH private key or a password")
        try:
            conn = await asyncssh.connect(
                host,
                port,
                username=parts.username,
                known_hosts=known,
                client_keys=keys or None,
                password=secret.get("password") or None,
                agent_path=None,
                connect_timeout=CONNECT_TIMEOUT,
                preferred_auth="publickey,password" if keys else "password",
            )
            sftp = await conn.start_sftp_client()
        except asyncssh.HostKeyNotVerifiable:
            raise TargetError(
                f"{label}: the server's host key is not the one given: refusing to connect"
            ) from None
        except asyncssh.PermissionDenied:
            raise TargetError(f"{label}: the server refused the key or password") from None
        except (OSError, asyncssh.Error, TimeoutError) as err:
            raise TargetError(f"{label}: cannot connect ({_reason(err)})") from None
        root = unquote(parts.path) or "."
        target = cls(conn, sftp, root, label)
        try:
            await sftp.makedirs(root, exist_ok=True)
        except (OSError, asyncssh.Error) as err:
            await target.close()
            raise TargetError(f"{label}: cannot use {root} ({_reason(err)})") from None
        return target

    def _path(self, name: str) -> str:
        return posixpath.join(self.root, check_name(name))

    async def put(self, name: str, chunks: AsyncIterable[bytes]) -> int:
        path = self._path(name)
        tmp = posixpath.join(
            posixpath.dirname(path), f".{posixpath.basename(path)}.{secrets.token_hex(4)}.partial"
        )
        size = 0
        try:
            await self._sftp.makedirs(posixpath.dirname(path), exist_ok=True)
            async with self._sftp.open(tmp, "wb") as out:
                async for chunk in chunks:
                    await out.write(chunk)
                    size += len(chunk)
            try:
                await self._sftp.posix_rename(tmp, path)
            except asyncssh.SFTPOpUnsupported:
                with contextlib.suppress(asyncssh.SFTPNoSuchFile):
                    await self._sftp.remove(path)
                await self._sftp.rename(tmp, path)
        except (OSError, asyncssh.Error) as err:
            with contextlib.suppress(OSError, asyncssh.Error):
                await self._sftp.remove(tmp)
            raise TargetError(f"{self.label}: cannot write {name} ({_reason(err)})") from None
        return size

    async def get(self, name: str) -> AsyncIterator[bytes]:
        try:
            async with self._sftp.open(self._path(name), "rb") as src:
                while data := await src.read(CHUNK):
                    yield data
        except asyncssh.SFTPNoSuchFile:
            raise TargetError(f"{self.label}: {name} is missing") from None
        except (OSError, asyncssh.Error) as err:
            raise TargetError(f"{self.label}: cannot read {name} ({_reason(err)})") from None

    async def list(self, prefix: str) -> dict[str, int]:
        found: dict[str, int] = {}

        async def walk(rel: str) -> None:
            try:
                entries = await self._sftp.readdir(
                    posixpath.join(self.root, rel) if rel else self.root
                )
            except asyncssh.SFTPNoSuchFile:
                return
            for entry in entries:
                name = entry.filename
                if name in (".", "..") or name.startswith("."):
                    continue
                child = posixpath.join(rel, name) if rel else name
                if entry.attrs.type == asyncssh.FILEXFER_TYPE_DIRECTORY:
                    await walk(child)
                else:
                    found[child] = int(entry.attrs.size or 0)

        try:
            await walk(prefix.rstrip("/"))
        except (OSError, asyncssh.Error) as err:
            raise TargetError(f"{self.label}: cannot list {prefix} ({_reason(err)})") from None
        return found

    async def delete(self, name: str) -> None:
        try:
            await self._sftp.remove(self._path(name))
        except asyncssh.SFTPNoSuchFile:
            return
        except (OSError, asyncssh.Error) as err:
            raise TargetError(f"{self.label}: cannot delete {name} ({_reason(err)})") from None

    async def close(self) -> None:
        self._sftp.exit()
        self._conn.close()
        with contextlib.suppress(Exception):
            await self._conn.wait_closed()


def _key_part(line: str) -> str:
    """``ssh-ed25519 AAAA… [comment]`` from a known_hosts or ssh-keyscan line."""
    fields = line.split()
    for i, field in enumerate(fields):
        if field.startswith(("ssh-", "ecdsa-", "sk-")) and i + 1 < len(fields):
            return f"{field} {fields[i + 1]}"
    raise InputError("the host key must look like `ssh-ed25519 AAAA…` (as ssh-keyscan prints)")


def _reason(err: BaseException) -> str:
    text = getattr(err, "reason", None) or getattr(err, "strerror", None) or str(err)
    return str(text) or type(err).__name__
