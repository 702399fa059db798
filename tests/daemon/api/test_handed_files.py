"""Imports of a file the CLI handed over (selfdata.handover): the daemon reads it itself.

The CLI's side in these tests is the CLI's own code (``DaemonBackend``), in a thread-free
event loop shared with the daemon; the file's reads are made to fail on the CLI's side,
so an import that works read nothing there.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import IO, Any

import aiohttp
import pytest
from selfdata.cli.backend import DaemonBackend
from selfdata.handover import hand_over

from .conftest import Api, Daemon

BANK = Path(__file__).parents[2] / "connectors" / "sources" / "samples" / "bank"


class Unread:
    """A file the CLI must not read: only its descriptor may be used."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file

    def fileno(self) -> int:
        return self._file.fileno()

    def read(self, *_: Any) -> bytes:
        raise AssertionError("the CLI read the file it handed over")


def backend(session: aiohttp.ClientSession, daemon: Daemon) -> DaemonBackend:
    return DaemonBackend(session, daemon.data_dir.handover_socket)


def rows(count: int) -> bytes:
    return b"".join(json.dumps({"_id": f"r{i}", "n": i}).encode() + b"\n" for i in range(count))


@pytest.mark.parametrize("count", [3, 60_000], ids=["small: read here", "big: read by a worker"])
async def test_the_cli_hands_a_file_over_and_the_daemon_reads_it(
    ready_daemon: Daemon, tmp_path: Path, count: int
) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(rows(count))
    progress: list[int] = []
    async with ready_daemon.admin() as session:
        with path.open("rb") as file:
            report = await backend(session, ready_daemon).import_file(
                "org.example.rows", Unread(file), "jsonl", None, progress.append
            )  # type: ignore[arg-type]
        assert (report["created"], report["errors"]) == (count, 0)
        assert sum(progress) == path.stat().st_size
        async with session.get("/api/v1/doctypes/org.example.rows") as resp:
            assert (await resp.json())["count"] == count


async def test_a_detected_file_is_handed_over_and_read_where_it_is(
    ready_daemon: Daemon, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with ready_daemon.admin() as session:
        spooled: list[object] = []
        from selfdata.api.handlers import file_import

        monkeypatch.setattr(file_import, "spooled_body", lambda *a: spooled.append(a))
        report = await backend(session, ready_daemon).import_any(
            BANK / "banque-regionale-2024-01.ofx"
        )
    assert report["format"] == "ofx"
    assert report["doctypes"]["io.cozy.bank.operations"]["created"] > 0
    assert spooled == []  # not copied to a scratch file: read from the CLI's descriptor


async def test_a_ticket_works_only_on_the_admin_socket(
    ready_daemon: Daemon, owner: Api, tmp_path: Path
) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(rows(3))
    with path.open("rb") as file:
        ticket = await asyncio.to_thread(hand_over, ready_daemon.data_dir.handover_socket, file)
    assert ticket is not None
    for where in (f"/api/v1/doctypes/org.example.rows/import?file={ticket}",
                  f"/api/v1/import?name=rows.jsonl&file={ticket}"):  # fmt: skip
        status, body = await owner.call("POST", where, data=b"")
        assert status == 400
        assert "admin socket" in body["error"]["message"]
    async with ready_daemon.admin() as session:  # still there for the admin
        url = f"/api/v1/doctypes/org.example.rows/import?file={ticket}"
        async with session.post(url) as resp:
            assert resp.status == 200, await resp.text()
            assert (await resp.json())["created"] == 3


@pytest.mark.parametrize(
    ("path", "sample"),
    [("/doctypes/org.example.rows/import", rows(3)),
     ("/import", (BANK / "banque-regionale-2024-01.ofx").read_bytes())],
    ids=["doctype import", "detected import"],
)  # fmt: skip
async def test_an_unknown_or_used_ticket_is_a_clear_error(
    ready_daemon: Daemon, tmp_path: Path, path: str, sample: bytes
) -> None:
    source = tmp_path / "upload"
    source.write_bytes(sample)
    with source.open("rb") as file:
        ticket = await asyncio.to_thread(hand_over, ready_daemon.data_dir.handover_socket, file)
    async with ready_daemon.admin() as session:
        for attempt, expected in ((ticket, 200), (ticket, 400), ("made-up", 400)):
            async with session.post(f"/api/v1{path}", params={"file": str(attempt)}) as resp:
                body = await resp.json()
                assert resp.status == expected, body
                if expected == 400:
                    assert "unknown, used or expired" in body["error"]["message"]


async def test_a_locked_box_refuses_and_lets_go_of_the_file(
    ready_daemon: Daemon, tmp_path: Path
) -> None:
    source = tmp_path / "rows.jsonl"
    source.write_bytes(rows(3))
    async with ready_daemon.admin() as session:
        async with session.post("/api/v1/lock") as resp:
            assert resp.status == 200
        with source.open("rb") as file:
            ticket = await asyncio.to_thread(hand_over, ready_daemon.data_dir.handover_socket, file)
        url = f"/api/v1/doctypes/org.example.rows/import?file={ticket}"
        async with session.post(url) as resp:
            assert resp.status == 423, await resp.text()
        async with session.post(url) as resp:  # claimed, then closed: not kept for later
            assert resp.status in (400, 423)
