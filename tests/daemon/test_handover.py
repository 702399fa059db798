"""Handing a file to the daemon: a descriptor on a socket, claimed once by its ticket.

A real socket in the test's event loop; the CLI's side (blocking) runs in a thread, as
the CLI does.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import io
import os
import socket
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from selfdata import handover
from selfdata.errors import InputError
from selfdata.handover import HandedFiles, hand_over, position


@pytest.fixture
def sock_path(tmp_path: Path) -> Path:
    return tmp_path / "files.sock"


@pytest.fixture
async def files(sock_path: Path) -> AsyncIterator[HandedFiles]:
    handed = HandedFiles()
    handed.listen(sock_path)
    yield handed
    await handed.close()


@pytest.fixture
def file(tmp_path: Path) -> Path:
    path = tmp_path / "statement.jsonl"
    path.write_bytes(b'{"n": 1}\n{"n": 2}\n')
    return path


def held(target: Path | str) -> int:
    """How many descriptors of this process (the daemon's side too) are open on ``target``."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the listing's own descriptor, closed by now
            count += os.readlink(f"/proc/self/fd/{fd}") == str(target)
    return count


async def exchange(sock_path: Path, data: bytes, fds: list[int]) -> bytes:
    """What a (maybe hostile) client gets for ``data`` and ``fds``."""

    def talk() -> bytes:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(10)
            sock.connect(str(sock_path))
            socket.send_fds(sock, [data], fds) if fds else sock.sendall(data)
            return sock.recv(4096)

    return await asyncio.to_thread(talk)


async def test_a_handed_file_is_read_by_its_ticket_once(
    files: HandedFiles, sock_path: Path, file: Path
) -> None:
    with file.open("rb") as f:
        ticket = await asyncio.to_thread(hand_over, sock_path, f)
        assert ticket is not None
        assert len(ticket) >= 32
        fd = files.claim(ticket)
        try:
            assert os.read(fd, 100) == b'{"n": 1}\n{"n": 2}\n'
            assert position(f) == 18  # the offset is shared: how the CLI shows progress
            assert fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC  # no connector inherits it
        finally:
            os.close(fd)
    with pytest.raises(InputError, match="unknown, used or expired"):
        files.claim(ticket)


async def test_an_unknown_ticket_is_refused(files: HandedFiles) -> None:
    with pytest.raises(InputError, match="hand the file over again"):
        files.claim("not-a-ticket")


async def test_a_ticket_expires_and_its_file_is_closed(sock_path: Path, file: Path) -> None:
    files = HandedFiles(ttl=0.05)
    files.listen(sock_path)
    try:
        with file.open("rb") as f:
            ticket = await asyncio.to_thread(hand_over, sock_path, f)
        assert ticket is not None
        assert held(file) == 1  # the daemon's
        await asyncio.sleep(0.1)
        with pytest.raises(InputError):
            files.claim(ticket)
        assert held(file) == 0
    finally:
        await files.close()


async def test_a_flood_of_hand_overs_holds_only_the_newest_few(sock_path: Path, file: Path) -> None:
    files = HandedFiles(limit=2)
    files.listen(sock_path)
    try:
        with file.open("rb") as f:
            tickets = [await asyncio.to_thread(hand_over, sock_path, f) for _ in range(5)]
        assert held(file) == 2
        for ticket in tickets[:3]:
            with pytest.raises(InputError):
                files.claim(str(ticket))
        for ticket in tickets[3:]:
            os.close(files.claim(str(ticket)))
    finally:
        await files.close()


async def test_the_socket_is_for_owner_and_group_only(files: HandedFiles, sock_path: Path) -> None:
    mode = os.stat(sock_path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o660


async def test_close_lets_go_of_every_file_and_the_socket(sock_path: Path, file: Path) -> None:
    files = HandedFiles()
    files.listen(sock_path)
    with file.open("rb") as f:
        assert await asyncio.to_thread(hand_over, sock_path, f) is not None
    assert held(file) == 1
    await files.close()
    assert held(file) == 0
    assert sock_path.name not in os.listdir(sock_path.parent)


# --- what is refused ----------------------------------------------------------------------


async def test_a_pipe_is_refused_it_could_be_read_forever(
    files: HandedFiles, sock_path: Path
) -> None:
    read, write = os.pipe()
    try:
        pipe = os.readlink(f"/proc/self/fd/{read}")
        answer = await exchange(sock_path, b"selfdata-file\n", [read])
        assert answer.startswith(b"no only a regular file")
        assert held(pipe) == 2  # ours, both ends: the daemon's copy is closed
    finally:
        os.close(read)
        os.close(write)


async def test_a_file_open_only_for_writing_is_refused(
    files: HandedFiles, sock_path: Path, file: Path
) -> None:
    with file.open("ab") as f, pytest.raises(InputError, match="not opened for reading"):
        await asyncio.to_thread(hand_over, sock_path, f)


async def test_an_o_path_handle_is_refused(files: HandedFiles, sock_path: Path, file: Path) -> None:
    fd = os.open(file, os.O_PATH)
    try:
        answer = await exchange(sock_path, b"selfdata-file\n", [fd])
        assert answer.startswith(b"no the file was not opened for reading")
    finally:
        os.close(fd)


@pytest.mark.parametrize(
    ("data", "count"),
    [(b"selfdata-file\n", 0), (b"selfdata-file\n", 2), (b"GET / HTTP/1.1\r\n\r\n", 1)],
    ids=["no descriptor", "two descriptors", "something else"],
)
async def test_anything_but_one_descriptor_and_the_greeting_is_refused_and_closed(
    files: HandedFiles, sock_path: Path, file: Path, data: bytes, count: int
) -> None:
    fds = [os.open(file, os.O_RDONLY) for _ in range(count)]
    try:
        answer = await exchange(sock_path, data, fds)
        assert answer == b"no expected one file descriptor\n"
        assert held(file) == count  # ours only
    finally:
        for fd in fds:
            os.close(fd)


async def test_a_silent_client_is_dropped_and_others_are_served_meanwhile(
    files: HandedFiles, sock_path: Path, file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handover, "_EXCHANGE_SECONDS", 0.3)
    silent = socket.socket(socket.AF_UNIX)
    silent.connect(str(sock_path))
    try:
        with file.open("rb") as f:  # served while the silent one waits
            assert await asyncio.to_thread(hand_over, sock_path, f) is not None
        silent.settimeout(5)
        assert await asyncio.to_thread(silent.recv, 100) == b""  # dropped, no ticket
    finally:
        silent.close()


# --- the CLI's side -----------------------------------------------------------------------


def test_without_the_socket_the_cli_sends_the_bytes_instead(tmp_path: Path, file: Path) -> None:
    with file.open("rb") as f:
        assert hand_over(tmp_path / "no-daemon.sock", f) is None


def test_what_is_not_a_regular_file_is_sent_not_handed_over(sock_path: Path) -> None:
    assert hand_over(sock_path, io.BytesIO(b"{}\n")) is None
    read, write = os.pipe()
    with os.fdopen(read, "rb") as r, os.fdopen(write, "wb"):
        assert hand_over(sock_path, r) is None
