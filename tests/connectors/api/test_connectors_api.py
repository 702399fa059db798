"""The connectors API for the web UI: catalogue, accounts (secrets write-only), runs."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from typing import Any

import pytest
from selfdata.paths import DataDir

from ...conftest import PASSPHRASE
from ...daemon.api.conftest import Api, Daemon, running_daemon

ECHO = "tests.connectors.examples.echo"


@pytest.fixture
async def daemon(data_dir: DataDir, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Daemon]:
    monkeypatch.setenv("SELFDATA_CONNECTOR_MODULES", ECHO)
    async with running_daemon(data_dir) as d:
        async with d.admin() as admin:
            resp = await admin.post("/api/v1/setup", json={"passphrase": PASSPHRASE})
            assert resp.status == 201
        yield d


@pytest.fixture
async def owner(daemon: Daemon) -> AsyncIterator[Api]:
    async with daemon.client() as api:
        await api.login()
        yield api


async def add_echo(owner: Api, **more: Any) -> dict[str, Any]:
    body = {
        "connector": "test-echo",
        "label": "mine",
        "credentials": {"behaviour": "auth", "token": "tok-123456"},
        "schedule": "manual",
        **more,
    }
    status, account = await owner.call("POST", "/api/v1/accounts", json=body)
    assert status == 201, account
    return account  # type: ignore[no-any-return]


async def wait_run(owner: Api, run_id: str) -> dict[str, Any]:
    status, run = await owner.call("GET", f"/api/v1/runs/{run_id}?wait=1")
    assert status == 200, run
    return run  # type: ignore[no-any-return]


async def test_the_catalogue_lists_manifests_with_their_form_fields(owner: Api) -> None:
    status, body = await owner.call("GET", "/api/v1/connectors")
    assert status == 200
    echo = next(c for c in body["connectors"] if c["id"] == "test-echo")
    assert [f["name"] for f in echo["credentials"]] == ["behaviour", "token", "seconds"]
    assert echo["credentials"][1]["kind"] == "secret"
    assert body["isolation"]["landlock_abi"] >= 0
    status, one = await owner.call("GET", "/api/v1/connectors/test-echo")
    assert status == 200
    assert one["name"] == "Test echo"
    status, _missing = await owner.call("GET", "/api/v1/connectors/no-such-thing")
    assert status == 404


async def test_secrets_are_write_only_and_never_stored_in_clear(owner: Api, daemon: Daemon) -> None:
    account = await add_echo(owner)
    assert account["secrets_set"] == ["token"]
    assert "tok-123456" not in str(account)
    status, listed = await owner.call("GET", "/api/v1/accounts")
    assert "tok-123456" not in str(listed)
    # the generic documents API shows the sealed value only
    status, docs = await owner.call("GET", "/api/v1/doctypes/selfdata.accounts/documents")
    assert status == 200
    assert docs["documents"][0]["secrets"]
    assert "tok-123456" not in str(docs)
    for path in daemon.data_dir.root.rglob("*"):
        if path.is_file() and not path.is_socket():
            assert b"tok-123456" not in path.read_bytes(), path


async def test_auth_failure_needs_action_until_the_owner_edits_the_account(owner: Api) -> None:
    account = await add_echo(owner)
    status, run = await owner.call("POST", f"/api/v1/accounts/{account['id']}/run")
    assert status == 202, run
    done = await wait_run(owner, run["id"])
    assert done["outcome"] == "auth_failed"
    assert "[redacted]" in str(done["log"])
    assert "tok-123456" not in str(done)
    status, now = await owner.call("GET", f"/api/v1/accounts/{account['id']}")
    assert now["status"] == "needs_action"
    assert now["needs_action"]
    assert now["message"] == "the token was refused"
    assert now["next_run"] is None  # automatic runs stopped
    # the owner fixes the credentials: the account may run again
    status, fixed = await owner.call(
        "PATCH",
        f"/api/v1/accounts/{account['id']}",
        json={"credentials": {"behaviour": "slow", "seconds": "0"}},
    )
    assert status == 200, fixed
    assert fixed["status"] == "new"
    assert fixed["secrets_set"] == ["token"]
    status, run = await owner.call("POST", f"/api/v1/accounts/{account['id']}/run")
    assert (await wait_run(owner, run["id"]))["outcome"] == "ok"
    status, runs = await owner.call("GET", f"/api/v1/accounts/{account['id']}/runs")
    assert [r["outcome"] for r in runs["runs"]] == ["ok", "auth_failed"]
    assert "log" not in runs["runs"][0]


async def test_bad_accounts_are_refused_with_a_message(owner: Api) -> None:
    cases = [
        {"connector": "test-echo", "credentials": {}},  # the token is required
        {"connector": "test-echo", "credentials": {"token": "x", "nope": "y"}},
        {"connector": "test-echo", "credentials": {"token": "x"}, "schedule": "sometimes"},
        {"connector": "test-echo", "credentials": {"token": "x"}, "base_urls": {"api": "ftp://x"}},
        {
            "connector": "test-echo",
            "credentials": {"token": "x"},
            "base_urls": {"other": "http://x"},
        },
        {"connector": "test-echo", "credentials": {"token": "x", "seconds": "ten"}},
        {"connector": "test-echo", "credentials": {"token": 12}},
        {"connector": "no-such", "credentials": {}},
        {"credentials": {}},
    ]
    for body in cases:
        status, answer = await owner.call("POST", "/api/v1/accounts", json=body)
        assert 400 <= status < 500, (body, status, answer)
        assert answer["error"]["message"], body
    status, listed = await owner.call("GET", "/api/v1/accounts")
    assert listed["accounts"] == []


BAD_BODIES = [b"", b"[", b"[1]", b"null", b'{"a": "\xff"}', b"{" * 10_000 + b"}" * 10_000,
              b'{"credentials": {"token": "' + b"x" * 2_000_000 + b'"}}']  # fmt: skip


async def test_hostile_bodies_to_every_connectors_write_route_are_client_errors(owner: Api) -> None:
    account = await add_echo(owner)
    routes = [
        ("POST", "/api/v1/accounts"),
        ("PATCH", f"/api/v1/accounts/{account['id']}"),
        ("POST", "/api/v1/connectors/test-echo/probe"),
    ]
    for method, path in routes:
        for body in BAD_BODIES:
            status, answer = await owner.call(
                method, path, data=io.BytesIO(body), headers={"Content-Type": "application/json"}
            )
            assert 400 <= status < 500, (method, path, body[:20], status, answer)
    for path in ("/api/v1/accounts/zz", "/api/v1/runs/" + "0" * 32, "/api/v1/accounts/" + "f" * 32):
        status, _ = await owner.call("GET", path)
        assert status == 404, path
    status, _ = await owner.call("POST", "/api/v1/accounts/" + "f" * 32 + "/run")
    assert status == 404


async def test_a_probe_runs_in_the_sandbox(owner: Api) -> None:
    status, result = await owner.call(
        "POST", "/api/v1/connectors/test-echo/probe", json={"options": {"frames": "3"}}
    )
    assert status == 200, result
    assert result["outcome"] == "ok"
    assert result["result"] == {"echo": {"frames": "3"}, "account": ""}


async def test_removing_an_account_forgets_it_and_its_runs(owner: Api) -> None:
    account = await add_echo(
        owner, credentials={"behaviour": "slow", "seconds": "0", "token": "t0k3n"}
    )
    status, run = await owner.call("POST", f"/api/v1/accounts/{account['id']}/run")
    await wait_run(owner, run["id"])
    status, _ = await owner.call("DELETE", f"/api/v1/accounts/{account['id']}")
    assert status == 200
    status, _ = await owner.call("GET", f"/api/v1/runs/{run['id']}")
    assert status == 404
    status, listed = await owner.call("GET", "/api/v1/accounts")
    assert listed["accounts"] == []


async def test_locking_stops_the_runs_that_need_secrets(owner: Api, daemon: Daemon) -> None:
    account = await add_echo(
        owner, credentials={"behaviour": "slow", "seconds": "30", "token": "t0k3n"}
    )
    _status, run = await owner.call("POST", f"/api/v1/accounts/{account['id']}/run")
    await asyncio.sleep(1.0)
    async with daemon.admin() as admin:
        resp = await admin.post("/api/v1/lock")
        assert resp.status == 200
        await asyncio.sleep(0.5)
        resp = await admin.get(f"/api/v1/accounts/{account['id']}")
        assert resp.status == 423  # locked: nothing to show
        resp = await admin.post("/api/v1/unlock", json={"passphrase": PASSPHRASE})
        assert resp.status == 200
        resp = await admin.get(f"/api/v1/runs/{run['id']}")
        record = await resp.json()
    assert record["outcome"] == "cancelled"
