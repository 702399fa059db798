"""The worker process of big imports: used when it pays, and never a way to hang, leak a
process or lose committed rows when something fails."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from selfdata.doctypes import resolve
from selfdata.errors import SelfdataError
from selfdata.importers import import_records
from selfdata.importers import run as import_run
from selfdata.importers import worker as import_worker
from selfdata.store import DocumentStore

NOTES = resolve("org.example.notes")
OTHER = resolve("org.example.other")


@pytest.fixture
def spawned(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records each worker started (its doctype)."""
    started: list[str] = []
    original = import_worker.worker_batches

    def counting(chunks, fmt, doctype, *rest):  # type: ignore[no-untyped-def]
        started.append(doctype.name)
        return original(chunks, fmt, doctype, *rest)

    monkeypatch.setattr(import_run, "worker_batches", counting)
    return started


def rows(count: int, start: int = 0) -> bytes:
    return b"".join(
        b'{"n": %d, "label": "row %d of the file"}\n' % (i, i) for i in range(start, count)
    )


async def chunked(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for pos in range(0, len(data), size):
        yield data[pos : pos + size]


def workers_alive() -> list[int]:
    """Our children still running the worker (zombies included)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == os.getpid() and b"selfdata.importers.worker" in cmdline:
            found.append(int(entry.name))
    return found


async def test_a_big_input_is_checked_in_a_worker_and_a_small_one_here(
    documents: DocumentStore, spawned: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_run.os, "cpu_count", lambda: 2)
    big = rows(40_000)
    assert len(big) > import_run.WORKER_FROM
    report = await import_records(documents, NOTES, chunked(big), "jsonl")
    assert (report.read, report.created) == (40_000, 40_000)
    assert spawned == ["org.example.notes"]
    report = await import_records(documents, NOTES, chunked(rows(100)), "jsonl")
    assert report.unchanged == 100
    assert spawned == ["org.example.notes"]  # no second worker for 100 rows
    assert workers_alive() == []


async def test_one_core_checks_everything_here(
    documents: DocumentStore, spawned: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(import_run.os, "cpu_count", lambda: 1)
    report = await import_records(documents, NOTES, chunked(rows(40_000)), "jsonl")
    assert report.created == 40_000
    assert spawned == []


async def test_a_worker_killed_mid_import_is_a_clear_error_and_committed_rows_stay(
    documents: DocumentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from selfdata.store.documents import BulkWriter

    monkeypatch.setattr(BulkWriter, "COMMIT_ROWS", 4000)  # commits before the kill
    data = rows(60_000)

    async def killing() -> AsyncIterator[bytes]:
        async for chunk in chunked(data[: len(data) // 2]):
            yield chunk
        await asyncio.sleep(0.5)  # the first half checked, stored and committed
        for pid in workers_alive():
            os.kill(pid, signal.SIGKILL)
        async for chunk in chunked(data[len(data) // 2 :]):
            yield chunk

    with pytest.raises(SelfdataError, match=r"reader failed \(killed by signal 9\)"):
        await import_records(documents, NOTES, killing(), "jsonl", worker=True)
    kept = await documents.count("org.example.notes")
    assert 4000 <= kept < 60_000
    assert workers_alive() == []
    again = await import_records(documents, NOTES, chunked(data), "jsonl", worker=True)
    assert (again.unchanged, again.created) == (kept, 60_000 - kept)  # idempotent: the rest


async def test_an_input_that_fails_gives_its_own_error_and_stops_the_worker(
    documents: DocumentStore,
) -> None:
    class Gone(Exception):
        pass

    async def breaking() -> AsyncIterator[bytes]:
        yield rows(3000)
        raise Gone("the client went away")

    with pytest.raises(Gone):
        await import_records(documents, NOTES, breaking(), "jsonl", worker=True)
    assert workers_alive() == []


async def test_a_cancelled_import_stops_its_worker(documents: DocumentStore) -> None:
    async def endless() -> AsyncIterator[bytes]:
        n = 0
        while True:
            yield rows(n + 500, n)
            n += 500

    task = asyncio.create_task(import_records(documents, NOTES, endless(), "jsonl", worker=True))
    async with asyncio.timeout(60):  # a loaded machine may take a while to start it
        while not (workers_alive() and await documents.count(NOTES.name)):  # noqa: ASYNC110 - a process, no event to wait on
            await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert workers_alive() == []


@pytest.mark.parametrize(
    ("says", "error"),
    [
        (r"printf '\377\377\377\177garbage'", "malformed message"),  # 2 GiB
        (r"printf '\000\000\000\005\001\002'", "malformed message"),  # 80 MiB
        (r"printf '\020\000\000\000abc'", "stopped mid-message"),
        (r"printf '\003\000\000\000\377\377\377'", "malformed message"),  # not marshal
        (r"printf '\005\000\000\000\351\001\000\000\000'", "malformed message"),  # not a list
        ("echo 'Traceback: it broke' >&2; exit 3", r"exit status 3\): Traceback: it broke"),
        (  # a batch that starts with a "dictionary" zstd cannot load
            r"printf '\037\000\000\000\133\001\000\000\000\363\025\000\000\000"
            r"\156\157\164\040\141\040\172\163\164\144\040\144\151\143\164\151"
            r"\157\156\141\162\171'",
            "malformed compression dictionary",
        ),
    ],
)
async def test_a_worker_that_breaks_the_protocol_is_an_error_and_nothing_is_stored(
    documents: DocumentStore,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    says: str,
    error: str,
) -> None:
    """What the daemon does if its child were subverted: it stops, and trusts nothing."""
    impostor = tmp_path / "impostor"
    impostor.write_text(f"#!/bin/sh\ncat >/dev/null\n{says}\n")
    impostor.chmod(0o755)
    monkeypatch.setattr(import_worker.sys, "executable", str(impostor))
    with pytest.raises(SelfdataError, match=error):
        await import_records(documents, NOTES, chunked(rows(10)), "jsonl", worker=True)
    assert await documents.count("org.example.notes") == 0


async def test_the_worker_trains_the_doctypes_dictionary_and_the_next_import_uses_it(
    documents: DocumentStore,
) -> None:
    data = rows(30_000)
    await import_records(documents, NOTES, chunked(data), "jsonl", worker=True)
    trained = await documents.dictionary(NOTES.name)
    assert trained is not None
    more = await import_records(
        documents, NOTES, chunked(rows(60_000, 30_000)), "jsonl", worker=True
    )
    assert more.created == 30_000
    assert await documents.dictionary(NOTES.name) == trained
    again = await import_records(documents, NOTES, chunked(data), "jsonl", worker=True)
    assert again.unchanged == 30_000
    async for doc in documents.iterate(NOTES.name):
        assert doc["label"] == f"row {doc['n']} of the file"


async def test_the_worker_reports_bad_rows_like_this_process(documents: DocumentStore) -> None:
    data = b'{"n": 1}\nnot json\n' + b"x" * (2 * 1024 * 1024) + b'\n{"_id": 5}\n\xff{"n": 2}\n'
    here = await import_records(documents, NOTES, chunked(data), "jsonl", worker=False)
    there = await import_records(documents, OTHER, chunked(data), "jsonl", worker=True)
    assert json.dumps(there.to_json() | {"doctype": NOTES.name}) == json.dumps(here.to_json())
    assert [e.line for e in there.errors] == [2, 3, 4, 5]


def test_the_worker_confines_itself_to_reading_python(tmp_path: Path) -> None:
    """Parsing a hostile file happens where there is nothing else to read or reach."""
    from selfdata.connectors.runtime.sandbox import landlock_abi

    secret = tmp_path / "data-dir-file"
    secret.write_text("canary")
    probe = f"""
import json, socket, sys
from selfdata.importers.worker import _confine
layers = _confine()
import xml.dom.minidom  # a lazy import of the standard library still works
try:
    open({str(secret)!r}).read()
    read = "read"
except PermissionError:
    read = "refused"
try:
    socket.socket(socket.AF_UNIX).connect("/run/does-not-matter.sock")
    unix = "connected"
except PermissionError:
    unix = "refused"
except OSError:
    unix = "reached"
try:
    open({str(tmp_path / "new")!r}, "w")
    wrote = "wrote"
except PermissionError:
    wrote = "refused"
import ctypes
dumpable = ctypes.CDLL(None).prctl(3, 0, 0, 0, 0)  # PR_GET_DUMPABLE
print(json.dumps({{"layers": layers, "read": read, "unix": unix, "wrote": wrote, "dumpable": dumpable}}))
"""
    done = subprocess.run(
        [sys.executable, "-I", "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    seen = json.loads(done.stdout)
    assert "no_new_privs" in seen["layers"]
    assert seen["dumpable"] == 0  # no process of its user can read its memory
    if landlock_abi() > 0:
        assert any(layer.startswith("landlock") for layer in seen["layers"])
        assert seen["read"] == "refused"
        assert seen["wrote"] == "refused"
    assert "seccomp" in seen["layers"]
    assert seen["unix"] == "refused"


@pytest.mark.parametrize("in_worker", [False, True], ids=["read here", "read by a worker"])
async def test_a_file_is_read_from_its_descriptors_offset_to_its_end(
    documents: DocumentStore, tmp_path: Path, spawned: list[str], in_worker: bool
) -> None:
    """What the CLI hands over: the import reads it by its descriptor, and the offset it
    moves (shared with the CLI, which shows it as progress) ends at the end of the file."""
    path = tmp_path / "handed.jsonl"
    path.write_bytes(b"not a record: before the offset\n" + rows(5_000))
    with path.open("rb") as file:
        file.seek(len(b"not a record: before the offset\n"))
        report = await import_records(
            documents, NOTES, import_run.OpenFile(file.fileno()), "jsonl", worker=in_worker
        )
        assert os.lseek(file.fileno(), 0, os.SEEK_CUR) == path.stat().st_size
    assert (report.read, report.created, report.error_count) == (5_000, 5_000, 0)
    assert spawned == (["org.example.notes"] if in_worker else [])
    assert workers_alive() == []


async def test_a_file_that_ends_mid_record_is_reported_like_a_stream(
    documents: DocumentStore, tmp_path: Path
) -> None:
    path = tmp_path / "cut.jsonl"
    path.write_bytes(rows(3_000) + b'{"n": 3000, "label": "cut sh')
    with path.open("rb") as file:
        there = await import_records(
            documents, NOTES, import_run.OpenFile(file.fileno()), "jsonl", worker=True
        )
    here = await import_records(documents, OTHER, chunked(path.read_bytes()), "jsonl", worker=False)
    assert json.dumps(there.to_json() | {"doctype": OTHER.name}) == json.dumps(here.to_json())
    assert there.error_count == 1
    assert there.errors[0].line == 3_001
