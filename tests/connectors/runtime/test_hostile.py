"""A deliberately hostile connector (examples/hostile.py) against the real sandbox.

Every attempt must fail or be contained, the run must end, and it must be classified.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from selfdata.box import Box
from selfdata.connectors.runtime.sandbox import landlock_abi

from .conftest import run_example

CANARY = "hostile-canary-7f3a9c"
needs_landlock = pytest.mark.skipif(landlock_abi() < 1, reason="the kernel has no Landlock")


def attack(name: str, **more: str) -> dict[str, str]:
    return {"attack": name, **more}


@needs_landlock
async def test_it_cannot_read_or_write_the_data_dir(box: Box) -> None:
    from selfdata.doctypes import resolve

    await box.documents.put_many(resolve("org.example.secret"), [{"_id": "a", "text": CANARY}])
    run = await run_example(
        "hostile", box, attack("read_store", target=str(box.paths.root), canary=CANARY)
    )
    assert run.state["found"] == [], run.log.lines
    assert not (box.paths.root / "planted").exists()
    assert run.outcome == "ok"


async def test_it_cannot_reach_the_admin_socket(box: Box, tmp_path: Path) -> None:
    import socket

    path = tmp_path / "admin.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen(1)
    try:
        run = await run_example("hostile", box, attack("admin_socket", target=str(path)))
    finally:
        server.close()
    assert run.state["found"] == [], run.log.lines


async def test_it_cannot_read_the_daemons_memory_or_signal_it(box: Box) -> None:
    run = await run_example("hostile", box, attack("memory"))
    assert run.state["found"] == [], run.log.lines


async def test_writes_outside_its_manifest_are_refused_and_the_run_is_a_bug(box: Box) -> None:
    run = await run_example("hostile", box, attack("other_doctype"))
    assert run.state["found"] == [], run.log.lines
    assert run.outcome == "bug"
    assert "refused" in run.message
    assert run.refused == 5
    assert await box.documents.count("io.cozy.bank.operations") == 0
    assert await box.documents.count("org.example.other") == 0
    assert [s.name for s in await box.series.list()] == []


async def test_a_flood_of_messages_is_capped(box: Box) -> None:
    run = await run_example("hostile", box, attack("spam"))
    assert run.outcome == "bug"  # it stopped itself with too many refused writes
    assert run.log.dropped > 0
    assert len(str(run.log.to_json())) < 200 * 1024


async def test_secrets_are_blanked_everywhere_it_prints_them(box: Box) -> None:
    secret = "hunter2-very-secret"
    run = await run_example("hostile", box, attack("leak", password=secret))
    assert run.outcome == "bug"
    everything = str(run.to_json()) + str(run.state)
    assert secret not in everything
    assert everything.count("[redacted]") >= 4  # log, stdout, stderr, progress, message


async def test_a_hung_connector_and_its_children_are_killed(box: Box) -> None:
    run = await run_example("hostile", box, attack("hang"), timeout=2)
    assert run.outcome == "timeout"
    grandchild = run.state["grandchild"]
    assert not _alive(grandchild)


@pytest.mark.parametrize(("name", "fragment"), [("crash", "status 3"), ("segfault", "SIGSEGV")])
async def test_a_crash_is_a_bug_and_keeps_what_was_saved(
    box: Box, name: str, fragment: str
) -> None:
    run = await run_example("hostile", box, attack(name))
    assert run.outcome == "bug"
    assert fragment in run.message
    if name == "crash":
        assert run.state.get("before_crash") is True
        assert run.series == {"hostile/x": 1}


async def test_garbage_on_the_socket_ends_the_run(box: Box) -> None:
    run = await run_example("hostile", box, attack("garbage"))
    assert run.outcome == "bug"
    assert "protocol" in run.message


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status and os.path.exists(f"/proc/{pid}")
