"""The new file and woob paths leave no plaintext on disk or in the logs: canaries go in
through a water export, the drop folder (locked and unlocked) and a woob run, then every
byte under the data dir and every log line is searched (as tests/daemon/test_canary.py)."""

from __future__ import annotations

import io
import logging
import os
import time
from pathlib import Path

import pytest
from selfdata.box import Box
from selfdata.connectors import drop_folder
from selfdata.connectors.files import import_file
from selfdata.connectors.runtime.registry import ConnectorSpec, discover
from selfdata.connectors.runtime.runner import Run, RunRequest, execute
from selfdata.connectors.runtime.targets import BoxTarget
from selfdata.connectors.sinks import SourceFile

from ..conftest import PASSPHRASE
from ..daemon.test_canary import scan
from .fakes.server import serve
from .fakes.woob_bank import LOGIN, PASSWORD, FakeBank
from .woob_bridge.test_woob_bridge import MODULES

CANARY = "zqxCANARYjv"


async def test_water_drop_folder_and_woob_leave_no_plaintext(
    box: Box, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    water = (
        f"N° de compteur;{CANARY}meter\nAdresse;{CANARY}address\n"
        "Date;Index (m³);Consommation (m³)\n10/02/2024;451,234;0,312\n"
    ).encode("cp1252")
    report = await import_file(box, SourceFile("w.csv", io.BytesIO(water)))
    assert report.stored == 3

    folder = tmp_path / "drop"
    folder.mkdir()
    qif = f"!Type:Bank\nD02/01/2024\nT-3,20\nP{CANARY}label\n^\n".encode()
    old = time.time() - 60
    for name, data in (("a.qif", qif), ("w.csv", water)):
        (folder / name).write_bytes(data)
        os.utime(folder / name, (old, old))
    spec = ConnectorSpec(drop_folder.MANIFEST, drop_folder.__name__)
    box.lock()  # the drop folder writes into the sealed inbox
    request = RunRequest(spec, account_id="d", credentials={"folder": str(folder)})
    run = await execute(Run.start(request), request, BoxTarget(box, may_use_inbox=True))
    assert run.outcome == "ok", run.message
    assert await box.inbox.pending() >= 1
    await box.unlock(PASSPHRASE)

    monkeypatch.syspath_prepend(str(MODULES))
    registry = await discover(installed=False, protect=(box.paths.root,))
    fake = FakeBank()
    async with serve(fake.app()) as url:
        woob = RunRequest(
            registry.get("woob-fakebank"),
            account_id="w",
            credentials={"login": LOGIN, "password": PASSWORD},
            base_urls={"site": url},
        )
        done = await execute(
            Run.start(woob), woob, BoxTarget(box, may_use_inbox=False), protect=(box.paths.root,)
        )
    assert done.outcome == "ok", done.message
    assert PASSWORD not in str(done.to_json())

    needles = [f"{CANARY}meter", f"{CANARY}address", f"{CANARY}label", PASSWORD]
    files = [p for p in box.paths.root.rglob("*") if p.is_file()]
    assert files
    assert scan(files, needles) == []
    log_file = tmp_path / "log.txt"
    log_file.write_text(caplog.text)
    assert scan([log_file], needles) == []
