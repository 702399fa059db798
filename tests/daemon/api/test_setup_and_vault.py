"""First run over the web, unlocking, locking, passphrase and recovery key."""

from __future__ import annotations

from selfdata.vault import parse_recovery_key

from ...conftest import PASSPHRASE
from .conftest import Api, Daemon


async def setup_code(daemon: Daemon) -> str:
    async with daemon.admin() as admin, admin.get("/api/v1/admin/setup-code") as resp:
        return str((await resp.json())["setup_code"])


async def test_first_run_over_the_web_needs_the_setup_code(daemon: Daemon) -> None:
    async with daemon.client() as api:
        status, body = await api.call(
            "POST", "/api/v1/setup", json={"passphrase": PASSPHRASE, "setup_code": "0000-0000-0000"}
        )
        assert status == 403
        assert "setup code" in body["error"]["message"]
        assert (await api.call("GET", "/api/v1/status"))[1]["initialized"] is False


async def test_first_run_with_the_setup_code_creates_the_vault_and_logs_in(daemon: Daemon) -> None:
    code = await setup_code(daemon)
    async with daemon.client() as api:
        status, body = await api.call(
            "POST",
            "/api/v1/setup",
            json={"passphrase": PASSPHRASE, "setup_code": code.replace("-", " ")},
        )
        assert status == 201, body
        assert parse_recovery_key(body["recovery_key"])
        assert (await api.call("GET", "/api/v1/session"))[0] == 200
    assert not daemon.data_dir.setup_code.exists()


async def test_setup_cannot_run_twice(ready_daemon: Daemon) -> None:
    async with ready_daemon.client() as api:
        status, _ = await api.call(
            "POST", "/api/v1/setup", json={"passphrase": PASSPHRASE, "setup_code": "1234"}
        )
    assert status in (403, 409)


async def test_a_weak_passphrase_is_refused_at_setup(daemon: Daemon) -> None:
    code = await setup_code(daemon)
    async with daemon.client() as api:
        status, body = await api.call(
            "POST", "/api/v1/setup", json={"passphrase": "short", "setup_code": code}
        )
    assert status == 400
    assert "at least" in body["error"]["message"]


async def test_data_routes_say_locked_while_the_box_is_locked(ready_daemon: Daemon) -> None:
    async with ready_daemon.client() as api:
        await api.login()
        # a second session keeps a valid cookie check path: lock, then log in again is needed
        assert (await api.call("POST", "/api/v1/lock"))[0] == 200
    async with ready_daemon.admin() as admin, admin.get("/api/v1/doctypes") as resp:
        assert resp.status == 423
        assert (await resp.json())["error"]["code"] == "locked"


async def test_unlock_before_setup_says_so(daemon: Daemon) -> None:
    async with daemon.client() as api:
        status, body = await api.call("POST", "/api/v1/unlock", json={"passphrase": PASSPHRASE})
    assert status == 409
    assert body["error"]["code"] == "not_initialized"


async def test_changing_the_passphrase_needs_the_old_one_and_counts_as_a_guess(owner: Api) -> None:
    new = {"new_passphrase": "a brand new passphrase"}
    status, body = await owner.call(
        "POST", "/api/v1/passphrase", json={"old_passphrase": "not the passphrase"} | new
    )
    assert (status, body["error"]["code"]) == (403, "wrong_secret")
    status, body = await owner.call(
        "POST", "/api/v1/passphrase", json={"old_passphrase": PASSPHRASE} | new
    )
    assert (status, body["error"]["code"]) == (429, "too_many_attempts")


async def test_passphrase_change_then_unlock_with_the_new_one(ready_daemon: Daemon) -> None:
    async with ready_daemon.admin() as admin:
        resp = await admin.post(
            "/api/v1/passphrase",
            json={"old_passphrase": PASSPHRASE, "new_passphrase": "a brand new passphrase"},
        )
        assert resp.status == 200
        assert (await admin.post("/api/v1/lock")).status == 200
        assert (await admin.post("/api/v1/unlock", json={"passphrase": PASSPHRASE})).status == 403
        resp = await admin.post("/api/v1/unlock", json={"passphrase": "a brand new passphrase"})
        assert resp.status == 200


async def test_the_recovery_key_sets_a_new_passphrase(daemon: Daemon) -> None:
    async with daemon.admin() as admin:
        resp = await admin.post("/api/v1/setup", json={"passphrase": PASSPHRASE})
        recovery = (await resp.json())["recovery_key"]
        await admin.post("/api/v1/lock")
    async with daemon.client() as api:
        status, body = await api.call(
            "POST",
            "/api/v1/recover",
            json={"recovery_key": recovery.lower(), "new_passphrase": "forgot it, new one now"},
        )
        assert status == 200, body
        assert body["locked"] is False
        assert (await api.call("GET", "/api/v1/session"))[0] == 200
    async with daemon.admin() as admin:
        await admin.post("/api/v1/lock")
        resp = await admin.post("/api/v1/unlock", json={"passphrase": "forgot it, new one now"})
        assert resp.status == 200


async def test_a_new_recovery_key_replaces_the_old_one(daemon: Daemon) -> None:
    async with daemon.admin() as admin:
        old = (await (await admin.post("/api/v1/setup", json={"passphrase": PASSPHRASE})).json())[
            "recovery_key"
        ]
        resp = await admin.post("/api/v1/recovery-key", json={"passphrase": PASSPHRASE})
        new = (await resp.json())["recovery_key"]
        assert new != old
        resp = await admin.post(
            "/api/v1/recover", json={"recovery_key": old, "new_passphrase": "another passphrase"}
        )
        assert resp.status == 403
        resp = await admin.post(
            "/api/v1/recover", json={"recovery_key": new, "new_passphrase": "another passphrase"}
        )
        assert resp.status == 200


async def test_a_mistyped_recovery_key_says_so(ready_daemon: Daemon) -> None:
    async with ready_daemon.admin() as admin:
        resp = await admin.post(
            "/api/v1/recover", json={"recovery_key": "ABCD", "new_passphrase": "another passphrase"}
        )
        assert resp.status == 403
        assert "recovery key" in (await resp.json())["error"]["message"]
