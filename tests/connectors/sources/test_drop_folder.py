"""The drop folder: a connector run in the real sandboxed child, by the real scheduler,
while the box is unlocked and while it is locked (sealed inbox)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from selfdata.box import Box
from selfdata.connectors import drop_folder
from selfdata.connectors.runtime.registry import ConnectorSpec
from selfdata.connectors.runtime.runner import Run, RunRequest, execute
from selfdata.connectors.runtime.sandbox import landlock_abi
from selfdata.connectors.runtime.targets import BoxTarget
from selfdata.scheduler import Scheduler, SchedulerConfig

from ...conftest import PASSPHRASE
from ..scheduler.test_scheduler import FakeClock, settle
from .file_helpers import sample

OPERATIONS = "io.cozy.bank.operations"
JAN = sample("bank", "banque-regionale-2024-01.ofx")
FEB = sample("bank", "banque-regionale-2024-02.ofx")
OLD = time.time() - 60


def put(folder: Path, name: str, data: bytes, *, settled: bool = True) -> Path:
    path = folder / name
    path.write_bytes(data)
    if settled:
        os.utime(path, (OLD, OLD))
    return path


async def run(box: Box, folder: Path, state: dict[str, object] | None = None) -> Run:
    spec = ConnectorSpec(drop_folder.MANIFEST, drop_folder.__name__)
    request = RunRequest(
        spec,
        account_id="drop",
        credentials={"folder": str(folder), "settle_seconds": "5"},
        state=dict(state or {}),
    )
    return await execute(
        Run.start(request), request, BoxTarget(box, may_use_inbox=True), protect=(box.paths.root,)
    )


def messages(run_: Run) -> str:
    return "\n".join(line["message"] for line in run_.log.lines)


async def test_settled_statements_and_water_exports_come_in(box: Box, tmp_path: Path) -> None:
    folder = tmp_path / "Relevés"
    folder.mkdir()
    put(folder, "releve-janvier.ofx", JAN)
    put(folder, "export.qif", sample("bank", "boursorama-2024-02.qif"))
    put(folder, "historique_jours_litres.csv", sample("water", "historique_jours_litres.csv"))
    put(folder, "photo.jpg", b"\xff\xd8\xff\xe0 not a statement")
    put(folder, "releve-fevrier.ofx.crdownload", FEB)  # the browser is still writing it
    put(folder, ".hidden.ofx", FEB)
    put(folder, "still-writing.ofx", FEB, settled=False)  # modified just now
    (folder / "link.ofx").symlink_to(folder / "releve-janvier.ofx")

    first = await run(box, folder)
    assert first.outcome == "ok", (first.message, messages(first))
    if landlock_abi():
        assert f"landlock-v{landlock_abi()}" in first.isolation  # and yet it read the folder
    assert first.documents[OPERATIONS] == 8
    assert first.series == {"water/daily": 7, "water/index": 7}
    assert sorted(p.name for p in (folder / "imported").iterdir()) == [
        "export.qif",
        "historique_jours_litres.csv",
        "releve-janvier.ofx",
    ]
    assert [p.name for p in (folder / "not-imported").iterdir()] == ["photo.jpg"]
    assert "releve-janvier.ofx: ofx, 6 document(s)" in messages(first)
    assert await box.documents.count(OPERATIONS) == 8

    second = await run(box, folder, first.state)
    assert second.documents == {}  # nothing new settled
    os.utime(folder / "still-writing.ofx", (OLD, OLD))
    third = await run(box, folder, second.state)
    assert third.outcome == "ok"
    assert await box.documents.count(OPERATIONS) == 9  # February: its two coffees were known


async def test_spreadsheets_come_in_from_the_sandboxed_child(box: Box, tmp_path: Path) -> None:
    folder = tmp_path / "Téléchargements"
    folder.mkdir()
    put(folder, "historique.xls", sample("water", "veolia-historique.xls"))
    put(folder, "export.xlsx", sample("water", "suez-tout-sur-mon-eau.xlsx"))
    put(folder, "lettre.docx", sample("water", "suez-tout-sur-mon-eau.xlsx")[:200])  # cut zip
    done = await run(box, folder)
    assert done.outcome == "ok", (done.message, messages(done))
    assert done.series == {"water/daily": 18, "water/index": 18}  # xlrd, openpyxl: allowed
    assert sorted(p.name for p in (folder / "imported").iterdir()) == [
        "export.xlsx",
        "historique.xls",
    ]
    assert [p.name for p in (folder / "not-imported").iterdir()] == ["lettre.docx"]


async def test_a_read_only_folder_is_not_imported_again_and_again(box: Box, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    folder = tmp_path / "ro"
    folder.mkdir()
    put(folder, "releve.ofx", JAN)
    folder.chmod(0o555)
    try:
        first = await run(box, folder)
        assert first.outcome == "ok"
        assert first.state["handled"][0][0] == "releve.ofx"
        again = await run(box, folder, first.state)
        assert again.documents == {}
    finally:
        folder.chmod(0o755)


async def test_a_missing_folder_asks_the_owner(box: Box, tmp_path: Path) -> None:
    result = await run(box, tmp_path / "nowhere")
    assert result.outcome == "user_action_needed"
    assert "cannot read the folder" in result.message


@pytest.mark.skipif(not landlock_abi(), reason="needs Landlock to keep the folder out")
async def test_the_data_dir_is_never_a_drop_folder(box: Box) -> None:
    result = await run(box, box.paths.root)
    assert result.outcome == "user_action_needed"  # the sandbox did not let it list it
    assert (box.paths.root / "imported").exists() is False


def config() -> SchedulerConfig:
    return SchedulerConfig(installed=False, extra=(), http_backoff=0.01, first_run_delay=5.0)


async def test_the_scheduler_watches_it_unlocked_and_locked(box: Box, tmp_path: Path) -> None:
    folder = tmp_path / "Téléchargements"
    folder.mkdir()
    put(folder, "releve-janvier.ofx", JAN)
    clock = FakeClock()
    scheduler = Scheduler(box, config(), clock)
    await scheduler.reload()
    try:
        account = await scheduler.add_account(
            "drop-folder", credentials={"folder": str(folder), "settle_seconds": "0"}
        )
        clock.advance(6)
        await settle(scheduler)
        assert scheduler._states[account["id"]]["last_run"]["outcome"] == "ok"
        assert await box.documents.count(OPERATIONS) == 5
        assert 300 <= (scheduler._due[account["id"]] or 0) - clock.monotonic() <= 300 + 16
    finally:
        await scheduler.close()
    # a reboot: the box comes back locked, and a statement is saved in the folder
    box.lock()
    put(folder, "releve-fevrier.ofx", FEB)
    rebooted = Scheduler(box, config(), clock)
    await rebooted.reload()
    try:
        assert list(rebooted._accounts) == [account["id"]]
        clock.advance(400)
        await settle(rebooted)
        assert rebooted._pending[account["id"]][0]["outcome"] == "ok"
        assert await box.inbox.pending() >= 1  # sealed: nothing readable was written
        assert (folder / "imported" / "releve-fevrier.ofx").exists()
        await box.unlock(PASSPHRASE)
        await rebooted._after_box_change()
        assert await box.documents.count(OPERATIONS) == 6
        runs = await rebooted.runs(account["id"])
        assert [r["outcome"] for r in runs] == ["ok", "ok"]
    finally:
        await rebooted.close()
