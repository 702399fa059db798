"""Unattended unlock in a running daemon: ``/api/v1/unattended`` and the key-file watcher.

After a restart the box unlocks as soon as its key file appears (merging what was
written while locked); an owner's lock is never undone behind their back; off means off.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from selfdata.box import Box
from selfdata.keyfile import key_file_text
from selfdata.paths import DataDir
from selfdata.store import InboxBatch

from ...conftest import PASSPHRASE
from .conftest import Api, Daemon, running_daemon

OFF = {"enabled": False, "path": None, "watching": False, "problem": None}


def stick(tmp_path: Path) -> Path:
    """Where a USB stick would be mounted: outside the data dir."""
    path = tmp_path / "media" / "selfdata-key"
    path.mkdir(parents=True, exist_ok=True)
    return path / "selfdata.key"


async def set_up(daemon: Daemon) -> None:
    async with daemon.admin() as admin:
        resp = await admin.post("/api/v1/setup", json={"passphrase": PASSPHRASE})
        assert resp.status == 201, await resp.text()


async def enable(owner: Api, path: Path) -> dict[str, Any]:
    status, body = await owner.call(
        "POST", "/api/v1/unattended", json={"passphrase": PASSPHRASE, "path": str(path)}
    )
    assert status == 201, body
    return dict(body)


async def locked(owner: Api) -> bool:
    status, body = await owner.call("GET", "/api/v1/status")
    assert status == 200
    return bool(body["locked"])


async def eventually(check: Callable[[], Any]) -> None:
    for _ in range(200):  # the box is watched from outside, as its owner would: its API
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("not within 10 s")


async def test_after_a_restart_the_box_unlocks_when_the_key_file_appears(
    data_dir: DataDir, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = stick(tmp_path)
    async with running_daemon(data_dir) as daemon:
        await set_up(daemon)
        async with daemon.client() as owner:
            await owner.login()
            body = await enable(owner, key)
    assert body | {"enabled": True, "path": str(key)} == body
    text = body["key_file"]
    # Written while the box was down: a locked-time batch waits in the inbox.
    box = await Box.open(data_dir)
    batch = InboxBatch()
    batch.add_documents("org.example.notes", [{"_id": "while-locked", "n": 1}])
    await box.inbox.put(batch)
    await box.close()

    async with (
        running_daemon(data_dir, key_file_interval=0.05) as daemon,
        daemon.client() as owner,
    ):
        await asyncio.sleep(0.3)  # several looks, no file yet
        assert await locked(owner)
        async with daemon.admin() as admin:
            state = await (await admin.get("/api/v1/unattended")).json()
        assert state["watching"] is True
        assert state["problem"].startswith("no key file at")
        key.write_text(text)  # the stick is mounted

        async def unlocked() -> bool:
            return not await locked(owner)

        await eventually(unlocked)
        await owner.login()
        status, doc = await owner.call(
            "GET", "/api/v1/doctypes/org.example.notes/documents/while-locked"
        )
        assert status == 200, doc
    assert "unlocked with the key file" in caplog.text
    assert text.splitlines()[2].split()[1] not in caplog.text  # the key is never logged


async def test_an_owner_lock_is_never_undone_and_off_means_off(
    data_dir: DataDir, tmp_path: Path
) -> None:
    key = stick(tmp_path)
    async with running_daemon(data_dir, key_file_interval=0.05) as daemon:
        await set_up(daemon)
        async with daemon.client() as owner:
            await owner.login()
            key.write_text((await enable(owner, key))["key_file"])
            status, _ = await owner.call("POST", "/api/v1/lock")
            assert status == 200
            await asyncio.sleep(0.3)
            assert await locked(owner)  # the file is there, but the owner locked the box
            status, body = await owner.call(
                "POST", "/api/v1/unlock", json={"key_file": key.read_text()}
            )
            assert status == 200, body  # by hand, the key file opens it
            status, body = await owner.call("DELETE", "/api/v1/unattended")
            assert (status, body) == (200, OFF)
            await owner.call("POST", "/api/v1/lock")
            status, body = await owner.call(
                "POST", "/api/v1/unlock", json={"key_file": key.read_text()}
            )
            assert status == 403
            assert "not enabled" in body["error"]["message"]


async def test_the_status_says_what_the_box_found(data_dir: DataDir, tmp_path: Path) -> None:
    key = stick(tmp_path)
    async with running_daemon(data_dir) as daemon:
        await set_up(daemon)
        async with daemon.client() as owner:
            await owner.login()
            await enable(owner, key)
    key.write_text(key_file_text("fedcba9876543210", bytes(32)))  # another box's stick
    async with running_daemon(data_dir, key_file_interval=0.05) as daemon:
        await asyncio.sleep(0.3)
        async with daemon.admin() as admin:
            body = await (await admin.get("/api/v1/unattended")).json()
    assert body | {"enabled": True, "watching": True} == body
    assert "another box" in body["problem"]


async def test_it_is_off_until_turned_on(owner: Api) -> None:
    status, body = await owner.call("GET", "/api/v1/unattended")
    assert (status, body) == (200, OFF)


async def test_renewing_makes_the_old_key_file_useless(owner: Api, tmp_path: Path) -> None:
    first = (await enable(owner, stick(tmp_path)))["key_file"]
    second = (await enable(owner, stick(tmp_path)))["key_file"]
    assert first != second
    await owner.call("POST", "/api/v1/lock")
    status, _ = await owner.call("POST", "/api/v1/unlock", json={"key_file": first})
    assert status == 403
    await asyncio.sleep(1.1)  # a failed secret makes the next try wait (login backoff)
    status, _ = await owner.call("POST", "/api/v1/unlock", json={"key_file": second})
    assert status == 200


@pytest.mark.parametrize(
    "body",
    [
        {"passphrase": PASSPHRASE, "key_file": "x"},  # both
        {},
        {"key_file": 12},
        {"key_file": "x" * 5000},
        {"key_file": "selfdata key file v1\nbox: nope\nkey: AAAA\n"},
        {"key_file": "not a key file at all"},
    ],
)
async def test_hostile_unlock_bodies_get_a_clear_4xx(owner: Api, body: Any) -> None:
    status, answer = await owner.call("POST", "/api/v1/unlock", json=body)
    assert 400 <= status < 500, answer
    assert answer["error"]["message"]


@pytest.mark.parametrize(
    "body",
    [
        {"passphrase": PASSPHRASE},
        {"path": "/media/k"},
        {"passphrase": "wrong wrong wrong", "path": "/media/k"},
        {"passphrase": PASSPHRASE, "path": "relative"},
        {"passphrase": PASSPHRASE, "path": ["/a"]},
        {"passphrase": PASSPHRASE, "path": "/" + "a" * 2000},
        {"passphrase": PASSPHRASE, "path": "/m/k", "extra": 1},
    ],
)
async def test_hostile_enable_bodies_change_nothing(owner: Api, body: Any) -> None:
    status, answer = await owner.call("POST", "/api/v1/unattended", json=body)
    assert 400 <= status < 500, answer
    status, state = await owner.call("GET", "/api/v1/unattended")
    assert state == OFF
