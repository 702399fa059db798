"""Where CLI commands run: through the running daemon, or on the data dir directly.

Both backends offer the same async methods, so each command is written once. The
daemon is used whenever its admin socket answers; otherwise the command opens the data
dir itself (taking its lock, so a daemon started meanwhile waits its turn).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import aiohttp

from ..doctypes import builtin_doctypes, check_name, resolve
from ..errors import DaemonError, Locked, UnknownDoctype, from_code
from ..handover import hand_over, is_regular_file, position
from ..paths import DataDir
from ..tls import fingerprint_of

if TYPE_CHECKING:  # the store, imported only offline: through the daemon the CLI needs none
    from ..box import Box

__all__ = ["Backend", "DaemonBackend", "LocalBackend", "open_backend"]

CHUNK = 256 * 1024
_FOLLOW_SECONDS = 0.2


class Backend(Protocol):
    daemon: bool

    async def status(self) -> dict[str, Any]: ...
    async def setup_code(self) -> str: ...
    async def init(self, passphrase: str) -> str: ...
    async def unlock(self, passphrase: str) -> dict[str, Any]: ...
    async def lock(self) -> dict[str, Any]: ...
    async def change_passphrase(self, old: str, new: str) -> None: ...
    async def recover(self, recovery_key: str, new: str) -> None: ...
    async def unlock_with_key_file(self, text: str) -> dict[str, Any]: ...
    async def unattended(self) -> dict[str, Any]: ...
    async def enable_unattended(self, passphrase: str, path: str) -> dict[str, Any]: ...
    async def disable_unattended(self) -> dict[str, Any]: ...
    async def doctypes(self) -> list[dict[str, Any]]: ...
    async def import_file(
        self,
        doctype: str,
        stream: IO[bytes],
        fmt: str,
        id_field: str | None,
        advance: Callable[[int], None],
    ) -> dict[str, Any]: ...
    def export(self, doctype: str) -> AsyncIterator[bytes]: ...
    async def import_any(self, path: Path) -> dict[str, Any]: ...
    async def fsck(self) -> dict[str, Any]: ...


@asynccontextmanager
async def open_backend(
    data_dir: DataDir, passphrase: Callable[[], str] | None = None
) -> AsyncIterator[Backend]:
    """The daemon if it answers on the admin socket, else the data dir itself.

    ``passphrase`` is called only when an offline command needs the data unlocked.
    """
    if data_dir.socket.exists():
        connector = aiohttp.UnixConnector(path=str(data_dir.socket))
        session = aiohttp.ClientSession(
            connector=connector,
            base_url="http://selfdata",
            timeout=aiohttp.ClientTimeout(total=None),
        )
        try:
            async with session.get("/api/v1/status"):
                pass
        except aiohttp.ClientError:
            await session.close()  # a socket left by a killed daemon: go offline
        else:
            try:
                yield DaemonBackend(session, data_dir.handover_socket)
            finally:
                await session.close()
            return
    if not data_dir.database.exists() and not data_dir.root.exists():
        data_dir.create()
    from ..box import Box

    box = await Box.open(data_dir)
    try:
        yield LocalBackend(box, passphrase)
    finally:
        await box.close()


class DaemonBackend:
    daemon = True

    def __init__(self, session: aiohttp.ClientSession, handover: Path) -> None:
        self._session = session
        self._handover = handover

    async def _call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        try:
            async with self._session.request(method, "/api/v1" + path, json=body, **kwargs) as resp:
                return await _answer(resp)
        except aiohttp.ClientError as err:
            raise DaemonError(f"lost the connection to the daemon: {err}") from None

    async def status(self) -> dict[str, Any]:
        data: dict[str, Any] = await self._call("GET", "/admin/status")
        return {"daemon": True, **data}

    async def setup_code(self) -> str:
        return str((await self._call("GET", "/admin/setup-code"))["setup_code"])

    async def init(self, passphrase: str) -> str:
        return str((await self._call("POST", "/setup", {"passphrase": passphrase}))["recovery_key"])

    async def unlock(self, passphrase: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "/unlock", {"passphrase": passphrase})
        return result

    async def lock(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "/lock")
        return result

    async def change_passphrase(self, old: str, new: str) -> None:
        await self._call("POST", "/passphrase", {"old_passphrase": old, "new_passphrase": new})

    async def recover(self, recovery_key: str, new: str) -> None:
        await self._call("POST", "/recover", {"recovery_key": recovery_key, "new_passphrase": new})

    async def unlock_with_key_file(self, text: str) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "/unlock", {"key_file": text})
        return result

    async def unattended(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("GET", "/unattended")
        return result

    async def enable_unattended(self, passphrase: str, path: str) -> dict[str, Any]:
        body = {"passphrase": passphrase, "path": path}
        result: dict[str, Any] = await self._call("POST", "/unattended", body)
        return result

    async def disable_unattended(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("DELETE", "/unattended")
        return result

    async def doctypes(self) -> list[dict[str, Any]]:
        return list((await self._call("GET", "/doctypes"))["doctypes"])

    async def import_file(
        self,
        doctype: str,
        stream: IO[bytes],
        fmt: str,
        id_field: str | None,
        advance: Callable[[int], None],
    ) -> dict[str, Any]:
        """Hand the file over (selfdata.handover) if it is one, else send its bytes."""
        check_name(doctype)
        params = {"format": fmt} | ({"id_field": id_field} if id_field else {})
        path = f"/doctypes/{doctype}/import"
        ticket = await asyncio.to_thread(hand_over, self._handover, stream)
        if ticket is None:
            result: dict[str, Any] = await self._call(
                "POST", path, data=_chunks(stream, advance), params=params
            )
            return result
        async with _following(stream, advance):
            return await self._call("POST", path, params=params | {"file": ticket})  # type: ignore[no-any-return]

    async def import_any(self, path: Path) -> dict[str, Any]:
        """Hand the file over, or send it: the daemon may run as another user, and cannot
        open our path."""
        params = {"name": path.name}
        with open(path, "rb") as file:  # noqa: ASYNC230 - each read goes through a thread
            ticket = await asyncio.to_thread(hand_over, self._handover, file)
            data = _chunks(file, lambda _: None) if ticket is None else None
            result: dict[str, Any] = await self._call(
                "POST", "/import", data=data, params=params | ({"file": ticket} if ticket else {})
            )
        return result

    async def export(self, doctype: str) -> AsyncIterator[bytes]:
        check_name(doctype)
        try:
            async with self._session.get(f"/api/v1/doctypes/{doctype}/export") as resp:
                if resp.status != 200:
                    await _answer(resp)
                async for chunk in resp.content.iter_chunked(CHUNK):
                    yield chunk
        except aiohttp.ClientError as err:
            raise DaemonError(f"lost the connection to the daemon: {err}") from None

    async def fsck(self) -> dict[str, Any]:
        result: dict[str, Any] = await self._call("POST", "/fsck")
        return result


async def _answer(resp: aiohttp.ClientResponse) -> Any:
    text = await resp.text()
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = {}
    if resp.status >= 400:
        error = data.get("error", {}) if isinstance(data, dict) else {}
        raise from_code(str(error.get("code", "daemon")), str(error.get("message", text[:200])))
    return data


class LocalBackend:
    daemon = False

    def __init__(self, box: Box, passphrase: Callable[[], str] | None) -> None:
        self._box = box
        self._passphrase = passphrase

    async def _unlocked(self) -> Box:
        if self._box.locked:
            self._box.header  # noqa: B018  (NotInitialized first)
            if self._passphrase is None:
                raise Locked(
                    "the daemon is not running and this command cannot ask for a passphrase"
                )
            await self._box.unlock(self._passphrase())
        return self._box

    async def status(self) -> dict[str, Any]:
        box = self._box
        return {
            "daemon": False,
            **box.status(),
            "data_dir": str(box.paths.root),
            "inbox_pending": await box.inbox.pending() if box.initialized else 0,
            "fingerprint": _fingerprint(box.paths.tls_dir / "cert.pem"),
        }

    async def setup_code(self) -> str:
        return self._box.setup_code()

    async def init(self, passphrase: str) -> str:
        return await self._box.init(passphrase)

    async def unlock(self, passphrase: str) -> dict[str, Any]:
        raise DaemonError(
            "the daemon is not running: there is nothing to unlock (start it with "
            "`selfdata serve` or `systemctl start selfdata`; offline commands ask for the "
            "passphrase themselves)"
        )

    async def lock(self) -> dict[str, Any]:
        raise DaemonError("the daemon is not running: the box is already locked")

    async def change_passphrase(self, old: str, new: str) -> None:
        await self._box.change_passphrase(old, new)

    async def recover(self, recovery_key: str, new: str) -> None:
        await self._box.recover(recovery_key, new)

    async def unlock_with_key_file(self, text: str) -> dict[str, Any]:
        return await self.unlock(text)

    async def unattended(self) -> dict[str, Any]:
        from ..unattended import describe

        return describe(self._box)  # only a running daemon watches

    async def enable_unattended(self, passphrase: str, path: str) -> dict[str, Any]:
        text = await self._box.enable_unattended(passphrase, path)
        return {**await self.unattended(), "key_file": text}

    async def disable_unattended(self) -> dict[str, Any]:
        await self._box.disable_unattended()
        return await self.unattended()

    async def doctypes(self) -> list[dict[str, Any]]:
        box = await self._unlocked()
        counts = await box.documents.doctypes()
        return [
            {
                "name": n,
                "title": resolve(n).title,
                "builtin": n in builtin_doctypes(),
                "count": counts.get(n, 0),
            }
            for n in sorted(set(counts) | set(builtin_doctypes()))
        ]

    async def import_file(
        self,
        doctype: str,
        stream: IO[bytes],
        fmt: str,
        id_field: str | None,
        advance: Callable[[int], None],
    ) -> dict[str, Any]:
        from ..importers import OpenFile, import_records

        resolved = resolve(doctype)
        box = await self._unlocked()
        if not is_regular_file(stream):
            chunks = _chunks(stream, advance)
            report = await import_records(box.documents, resolved, chunks, fmt, id_field=id_field)
            return report.to_json()
        async with _following(stream, advance):  # read by the import (its worker) itself
            source = OpenFile(stream.fileno())
            report = await import_records(box.documents, resolved, source, fmt, id_field=id_field)
        return report.to_json()

    async def import_any(self, path: Path) -> dict[str, Any]:
        from ..connectors.files import import_path

        box = await self._unlocked()
        return (await import_path(box, path)).to_json()

    async def export(self, doctype: str) -> AsyncIterator[bytes]:
        from ..archive import doctype_lines
        from ..archive.events import record_doctype_export

        check_name(doctype)
        box = await self._unlocked()
        if doctype not in builtin_doctypes() and not await box.documents.exists(doctype):
            raise UnknownDoctype(f"no doctype {doctype!r} in this box")
        count = 0
        async for chunk in doctype_lines(box, doctype):
            yield chunk
            count += chunk.count(b"\n")
        await record_doctype_export(box, doctype, count)

    async def fsck(self) -> dict[str, Any]:
        if self._passphrase is not None and self._box.initialized:
            await self._unlocked()  # a deep check: authenticate every record
        return (await self._box.fsck()).to_json()


async def _chunks(stream: IO[bytes], advance: Callable[[int], None]) -> AsyncIterator[bytes]:
    while data := await asyncio.to_thread(stream.read, CHUNK):
        advance(len(data))
        yield data


@asynccontextmanager
async def _following(stream: IO[bytes], advance: Callable[[int], None]) -> AsyncIterator[None]:
    """``advance`` told how far a reader sharing ``stream``'s descriptor has got."""
    done = position(stream)

    def moved() -> None:
        nonlocal done
        now = position(stream)
        if now > done:
            advance(now - done)
            done = now

    async def follow() -> None:
        while True:
            await asyncio.sleep(_FOLLOW_SECONDS)
            moved()

    task = asyncio.create_task(follow())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
    moved()


def _fingerprint(cert: Path) -> str | None:
    try:
        return fingerprint_of(cert.read_bytes())
    except (OSError, ValueError):
        return None
