"""Files the CLI hands to the daemon: an open descriptor instead of a copy of the bytes.

The daemon may run as another user and cannot open an admin's paths, so ``selfdata
import`` used to stream the file through HTTP: every byte copied by the CLI, parsed by
the daemon's event loop and piped on to the import's reader, which on a Pi is most of an
import's time. Instead the CLI opens the file and passes the descriptor (``SCM_RIGHTS``)
on a Unix socket next to the admin socket, with the same permissions, so the same people
may use it. The daemon answers a *ticket*; a request on the admin socket names it to
import the file, which the daemon (or its confined reader) then reads itself.

A ticket is random, works once and expires within a minute (its descriptor is closed
then); a few are kept at most. Only a regular file opened for reading is taken: not a
pipe or a device (a read that never ends), not an ``O_PATH`` handle.

The descriptor shares its file offset with the CLI's: the CLI shows progress by asking
where the daemon's reader has got to (:func:`position`).
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import fcntl
import logging
import os
import secrets
import socket
import stat
import time
from pathlib import Path
from typing import IO

from .errors import InputError

__all__ = ["HandedFiles", "hand_over", "is_regular_file", "position"]

log = logging.getLogger(__name__)

#: How long a ticket waits for the request that uses it.
TTL = 60.0
#: Tickets held at once: a flood cannot hold more descriptors than this.
LIMIT = 8
_HELLO = b"selfdata-file\n"
_TICKET_BYTES = 24
_EXCHANGE_SECONDS = 5.0
#: Room for two descriptors: a second one is seen (and refused), more are closed by Linux.
_ANCILLARY = socket.CMSG_SPACE(2 * array.array("i").itemsize)


class HandedFiles:
    """The daemon's side: the socket, and the descriptors waiting for their request."""

    def __init__(self, ttl: float = TTL, limit: int = LIMIT) -> None:
        self._ttl = ttl
        self._limit = limit
        self._files: dict[str, tuple[int, float]] = {}  # ticket -> (descriptor, expiry)
        self._sock: socket.socket | None = None
        self._path: Path | None = None
        self._serving: asyncio.Task[None] | None = None
        self._exchanges: set[asyncio.Task[None]] = set()

    def listen(self, path: Path) -> None:
        """Take descriptors on ``path`` (read-write for owner and group, as the admin socket)."""
        with contextlib.suppress(FileNotFoundError):
            path.unlink()  # left by a killed daemon (the caller holds the data dir's lock)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        old = os.umask(0o117)
        try:
            sock.bind(str(path))
        finally:
            os.umask(old)
        sock.listen(LIMIT)
        sock.setblocking(False)
        self._sock, self._path = sock, path
        self._serving = asyncio.create_task(self._serve(sock))

    async def close(self) -> None:
        tasks = [*self._exchanges, *([self._serving] if self._serving else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._sock is not None:
            self._sock.close()
        if self._path is not None:
            with contextlib.suppress(FileNotFoundError):
                self._path.unlink()
        for fd, _ in self._files.values():
            os.close(fd)
        self._files.clear()

    def claim(self, ticket: str) -> int:
        """The descriptor of ``ticket``, now the caller's to close; once."""
        self._expire()
        found = next((t for t in self._files if secrets.compare_digest(t, ticket)), None)
        if found is None:
            raise InputError(
                "this file ticket is unknown, used or expired: hand the file over again"
            )
        fd, _ = self._files.pop(found)
        return fd

    def take(self, fd: int) -> str:
        """Keep ``fd`` (checked: a regular file, readable) under a new ticket."""
        try:
            _check(fd)
        except BaseException:
            os.close(fd)
            raise
        self._expire()
        while len(self._files) >= self._limit:
            oldest = min(self._files, key=lambda t: self._files[t][1])
            os.close(self._files.pop(oldest)[0])
        ticket = secrets.token_urlsafe(_TICKET_BYTES)
        self._files[ticket] = (fd, time.monotonic() + self._ttl)
        return ticket

    def _expire(self) -> None:
        now = time.monotonic()
        for ticket in [t for t, (_, expires) in self._files.items() if expires <= now]:
            os.close(self._files.pop(ticket)[0])

    async def _serve(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            conn, _ = await loop.sock_accept(sock)
            exchange = asyncio.create_task(self._exchange(conn))
            self._exchanges.add(exchange)
            exchange.add_done_callback(self._exchanges.discard)

    async def _exchange(self, conn: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        with conn:
            try:
                data, fds = await asyncio.wait_for(_receive(conn), _EXCHANGE_SECONDS)
                if data != _HELLO or len(fds) != 1:
                    for fd in fds:
                        os.close(fd)
                    raise InputError("expected one file descriptor")
                answer = b"ok " + self.take(fds[0]).encode()
            except InputError as err:
                answer = b"no " + err.message.encode()
            except (OSError, TimeoutError) as err:
                log.info("a file hand-over failed: %s", type(err).__name__)
                return
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(loop.sock_sendall(conn, answer + b"\n"), _EXCHANGE_SECONDS)


async def _receive(conn: socket.socket) -> tuple[bytes, list[int]]:
    """One message and its descriptors (close-on-exec: no connector inherits them)."""
    loop = asyncio.get_running_loop()
    received: asyncio.Future[tuple[bytes, list[int]]] = loop.create_future()

    def readable() -> None:
        if received.done():
            return
        try:  # not socket.recv_fds: before Python 3.13 it drops its flags
            data, ancillary, _, _ = conn.recvmsg(64, _ANCILLARY, socket.MSG_CMSG_CLOEXEC)
        except BlockingIOError:
            return
        except OSError as err:
            received.set_exception(err)
            return
        fds = array.array("i")
        for level, kind, payload in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        received.set_result((data, list(fds)))

    conn.setblocking(False)
    loop.add_reader(conn.fileno(), readable)
    try:
        return await received
    except asyncio.CancelledError:  # timed out, or the daemon stops: maybe just as it came
        if received.done() and not received.cancelled() and received.exception() is None:
            for fd in received.result()[1]:
                os.close(fd)
        raise
    finally:
        loop.remove_reader(conn.fileno())


def _check(fd: int) -> None:
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    if flags & getattr(os, "O_PATH", 0) or flags & os.O_ACCMODE == os.O_WRONLY:
        raise InputError("the file was not opened for reading")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        raise InputError("only a regular file can be handed over (not a pipe or a device)")


# --- the CLI's side ---------------------------------------------------------------------


def hand_over(path: Path, file: IO[bytes]) -> str | None:
    """A ticket for ``file``, or None when it cannot be handed over (not a regular file,
    no such socket: an older daemon): then the caller sends the bytes as before."""
    if not is_regular_file(file):
        return None
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC) as sock:
            sock.settimeout(_EXCHANGE_SECONDS)
            sock.connect(str(path))
            socket.send_fds(sock, [_HELLO], [file.fileno()])
            answer = b""
            while not answer.endswith(b"\n") and len(answer) < 4096:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                answer += chunk
    except OSError:
        return None
    word, _, rest = answer.decode("utf-8", "replace").strip().partition(" ")
    if word == "no":
        raise InputError(f"the daemon refused the file: {rest}")
    return rest if word == "ok" and rest else None


def is_regular_file(file: IO[bytes]) -> bool:
    """Whether ``file`` is a regular file with a descriptor: what can be handed over, or
    read by its descriptor."""
    try:
        return stat.S_ISREG(os.fstat(file.fileno()).st_mode)
    except (OSError, ValueError):  # no descriptor (a BytesIO)
        return False


def position(file: IO[bytes]) -> int:
    """How far the reader on the other side of the shared descriptor has got."""
    return os.lseek(file.fileno(), 0, os.SEEK_CUR)
