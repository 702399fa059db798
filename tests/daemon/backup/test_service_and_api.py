"""Backups as the owner uses them: the schedule, the API (web UI), and the first-run restore."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from selfdata.backup.config import TargetConfig, TargetStore
from selfdata.backup.repository import Retention
from selfdata.backup.service import BackupService
from selfdata.box import Box
from selfdata.doctypes import resolve
from selfdata.ledger import Ledger
from selfdata.paths import DataDir
from selfdata.scheduler.clock import Clock

from ...conftest import PASSPHRASE
from ..api.conftest import running_daemon
from ..archive.sample import OPERATIONS, populate

DAY = 86_400.0


class TrustedClock(Clock):
    def __init__(self) -> None:
        super().__init__()
        self.now = time.time()

    def wall(self) -> float:
        return self.now

    def synced(self) -> bool | None:
        return True


def config(schedule: str | None, last: dict[str, Any] | None = None) -> TargetConfig:
    return TargetConfig(name="usb", url="/nowhere", schedule=schedule, last=last)


def test_when_a_target_is_due() -> None:
    now = 1_800_000_000.0
    assert BackupService.due(config("every 1d"), now)  # never ran
    assert not BackupService.due(config("every 1d", {"at": now - 3600, "ok": True}), now)
    assert BackupService.due(config("every 1d", {"at": now - DAY, "ok": True}), now)
    assert not BackupService.due(config("manual"), now)
    assert not BackupService.due(config(None), now)
    # a failing target is retried after an hour, not at every tick
    assert not BackupService.due(config("every 1d", {"at": now - 600, "ok": False}), now)
    assert BackupService.due(config("every 1h", {"at": now - 3700, "ok": False}), now)
    assert BackupService.due(config("at unlock", {"at": now - 60, "ok": True}), now, at_unlock=True)
    assert not BackupService.due(config("at unlock", {"at": now - 60, "ok": True}), now)
    cron = config("30 3 * * *", {"at": now - 2 * DAY, "ok": True})
    assert BackupService.due(cron, now)


async def test_the_schedule_runs_backups_and_records_their_result(box: Box, tmp_path: Path) -> None:
    await populate(box, files=1)
    usb = tmp_path / "usb"
    usb.mkdir()
    store = TargetStore(box)
    await store.put(TargetConfig(name="usb", url=str(usb), schedule="every 1d"), {})
    await store.put(TargetConfig(name="gone", url=str(tmp_path / "no" / "disk")), {})
    clock = TrustedClock()
    service = BackupService(box, clock)
    assert sorted(await service.tick()) == ["gone", "usb"]
    usb_state = (await store.get("usb")).last
    gone_state = (await store.get("gone")).last
    assert usb_state is not None
    assert usb_state["ok"]
    assert usb_state["files"] == 1
    assert gone_state is not None
    assert not gone_state["ok"]
    assert "mounted" in gone_state["error"]
    assert await service.tick() == []  # nothing due an instant later
    clock.now += DAY + 1
    assert sorted(await service.tick()) == ["gone", "usb"]
    box.lock()
    clock.now += 2 * DAY
    assert await service.tick() == []  # a locked box cannot back up: it waits


async def test_backups_are_recorded_in_the_ledger(box: Box, tmp_path: Path) -> None:
    (tmp_path / "usb").mkdir()
    await TargetStore(box).put(TargetConfig(name="usb", url=str(tmp_path / "usb")), {})
    report = await BackupService(box).run("usb")
    entries = await Ledger(box).entries()
    backups = [e for e in entries if e.kind == "backup"]
    assert backups
    assert backups[0].details["snapshot"] == report.snapshot


async def test_target_secrets_are_sealed_and_never_shown(box: Box) -> None:
    store = TargetStore(box)
    await store.put(
        TargetConfig(
            name="nas", url="sftp://me@nas.local/backups", options={"host_key": "ssh-ed25519 AAAA"}
        ),
        {"ssh_key": "-----BEGIN OPENSSH PRIVATE KEY-----zqxSECRETjv"},
    )
    target = await store.get("nas")
    assert "zqxSECRETjv" not in str(target.public())
    assert target.public()["secrets_set"] == ["ssh_key"]
    raw = await box.documents.get("selfdata.backups", "nas")
    assert "zqxSECRETjv" not in str(raw)
    assert store.secrets(target)["ssh_key"].endswith("zqxSECRETjv")


async def test_the_api_adds_runs_and_lists_backups(data_dir: DataDir, tmp_path: Path) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    async with running_daemon(data_dir) as daemon:
        async with daemon.admin() as admin:
            resp = await admin.post("/api/v1/setup", json={"passphrase": PASSPHRASE})
            assert resp.status == 201
        async with daemon.client() as api:
            await api.login()
            status, body = await api.call(
                "PUT",
                "/api/v1/backups/usb",
                json={"url": str(usb), "schedule": "every 12h", "retention": {"daily": 3}},
            )
            assert status == 201, body
            assert body["retention"]["daily"] == 3
            assert body["secrets_set"] == []
            status, body = await api.call(
                "PUT", "/api/v1/backups/bad", json={"url": str(tmp_path / "x" / "y")}
            )
            assert status == 502
            assert "mounted" in body["error"]["message"]
            status, body = await api.call("PUT", "/api/v1/backups/usb", json={"url": "ftp://x"})
            assert status == 400
            status, report = await api.call("POST", "/api/v1/backups/usb/run")
            assert status == 200, report
            status, body = await api.call("GET", "/api/v1/backups/usb/snapshots")
            assert [s["id"] for s in body["snapshots"]] == [report["snapshot"]]
            status, body = await api.call("GET", "/api/v1/backups")
            assert body["targets"][0]["last"]["ok"] is True
            status, body = await api.call("GET", "/api/v1/ledger")
            assert any(e["kind"] == "backup" for e in body["entries"])
            status, _ = await api.call("DELETE", "/api/v1/backups/usb")
            assert status == 200
        async with daemon.client() as stranger:  # no session
            status, _ = await stranger.call("POST", "/api/v1/backups/usb/run")
            assert status == 401


async def test_export_and_import_through_the_api(data_dir: DataDir) -> None:
    box = await Box.open(data_dir)
    await box.init(PASSPHRASE)
    await populate(box, files=1)
    await box.close()
    async with running_daemon(data_dir) as daemon, daemon.client() as api:
        await api.login()
        async with api.request(
            "POST", "/api/v1/export", json={"passphrase": "export secret 1"}
        ) as resp:
            assert resp.status == 200
            assert "attachment" in resp.headers["Content-Disposition"]
            sealed = await resp.read()
        status, report = await api.call(
            "POST",
            "/api/v1/archive/import?name=export.sealed",
            data=sealed,
            headers={"X-Selfdata-Export-Passphrase": "export secret 1"},
        )
        assert status == 200, report
        assert report["format"] == "selfdata-export-encrypted"
        assert report["doctypes"]["io.cozy.bank.operations"]["unchanged"] == OPERATIONS
        status, body = await api.call(
            "POST",
            "/api/v1/archive/import?name=x",
            data=sealed,
            headers={"X-Selfdata-Export-Passphrase": "nope nope nope"},
        )
        assert status == 403
        assert body["error"]["code"] == "wrong_secret"
        # the detecting upload of the Sources page takes a sealed export the same way
        status, report = await api.call(
            "POST",
            "/api/v1/import?name=moi.tar.gz.sealed",
            data=sealed,
            headers={"X-Selfdata-Export-Passphrase": "export secret 1"},
        )
        assert status == 200, report
        assert report["doctypes"]["io.cozy.bank.operations"]["unchanged"] == OPERATIONS
        status, body = await api.call("POST", "/api/v1/import?name=moi.sealed", data=sealed)
        assert status >= 400
        assert "passphrase" in body["error"]["message"]
        status, body = await api.call(
            "POST",
            "/api/v1/archive/import?name=x",
            data=sealed[:-500],
            headers={"X-Selfdata-Export-Passphrase": "export secret 1"},
        )
        assert status >= 400
        assert "nothing was imported" in body["error"]["message"]
        async with api.request("POST", "/api/v1/export", json={"format": "cozy"}) as resp:
            assert resp.status == 200
            assert (await resp.read()).startswith(b"PK")
        status, body = await api.call("POST", "/api/v1/export", json={"passphrase": "short"})
        assert status == 400
        assert body["error"]["code"] == "weak_passphrase"
        status, body = await api.call("GET", "/api/v1/ledger")
        assert sum(e["kind"] == "export" for e in body["entries"]) == 2


async def test_first_run_restore_needs_the_setup_code_over_the_lan(
    data_dir: DataDir, tmp_path: Path
) -> None:
    # the old box, backed up to a disk
    old = await Box.open(DataDir(tmp_path / "old"))
    recovery = await old.init(PASSPHRASE)
    await old.documents.put_many(resolve("org.example.notes"), [{"_id": "n1", "text": "hello"}])
    (tmp_path / "usb").mkdir()
    await TargetStore(old).put(
        TargetConfig(name="usb", url=str(tmp_path / "usb"), retention=Retention()), {}
    )
    await BackupService(old).run("usb")
    await old.close()
    # the new, freshly flashed box
    async with running_daemon(data_dir) as daemon:
        body = {"url": str(tmp_path / "usb"), "recovery_key": recovery}
        async with daemon.client() as visitor:
            status, answer = await visitor.call("POST", "/api/v1/restore", json=body)
            assert status == 403
            assert "setup code" in answer["error"]["message"]
        async with daemon.admin() as admin:
            code = (await (await admin.get("/api/v1/admin/setup-code")).json())["setup_code"]
        async with daemon.client() as visitor:
            wrong = body | {"setup_code": code, "recovery_key": "-".join(["0000"] * 14)}
            status, answer = await visitor.call("POST", "/api/v1/restore", json=wrong)
            assert status == 429  # guessing is slowed down as for the passphrase
            await asyncio.sleep(1.1)
            status, answer = await visitor.call("POST", "/api/v1/restore", json=wrong)
            assert status == 403
            await asyncio.sleep(2.1)
        async with daemon.client() as visitor:
            status, answer = await visitor.call(
                "POST", "/api/v1/restore", json=body | {"setup_code": code, "list": True}
            )
            assert status == 200
            assert len(answer["snapshots"]) == 1
            status, answer = await visitor.call(
                "POST",
                "/api/v1/restore",
                json=body | {"setup_code": code, "new_passphrase": "a brand new passphrase"},
            )
            assert status == 201, answer
            assert answer["initialized"]
            assert not answer["locked"]
            status, _again = await visitor.call(
                "POST", "/api/v1/restore", json=body | {"setup_code": code}
            )
            assert status == 409  # there is a vault now
        async with daemon.client() as owner:
            await owner.login("a brand new passphrase")
            status, doc = await owner.call("GET", "/api/v1/doctypes/org.example.notes/documents/n1")
            assert status == 200
            assert doc["text"] == "hello"
