"""Who may call what: the router walked route by route, sessions, origins, backoff."""

from __future__ import annotations

import re

import pytest
from selfdata.api.routes import ROUTES, Access

from ...conftest import PASSPHRASE
from .conftest import Api, Daemon

PUBLIC = {(r.method, r.path) for r in ROUTES if r.access is Access.PUBLIC}


def concrete(path: str) -> str:
    """A real URL for a route pattern: every {param} filled with a plausible value."""
    values = {
        "doctype": "org.example.walk",
        "doc_id": "abc",
        "file_id": "abc",
        "name": "power",
        "connector_id": "test-echo",
        "account_id": "0" * 32,
        "run_id": "0" * 32,
        "request_id": "0" * 32,
        "ticket": "a" * 32,
    }
    return re.sub(r"\{(\w+)(?::[^}]*)?\}", lambda m: values[m[1]], path)


def test_the_public_list_is_short_and_exactly_what_we_mean() -> None:
    assert {p for _, p in PUBLIC} == {
        "/api/v1/status",
        "/api/v1/openapi.json",
        "/api/v1/setup",
        "/api/v1/unlock",
        "/api/v1/recover",
        # first run only, like setup: restore a backup (needs the setup code over TCP)
        "/api/v1/restore",
        # the web UI: only the pages that setting up and unlocking need, and its own
        # static files (no data); tests/webui checks they reveal nothing while locked
        "/setup",
        "/unlock",
        "/recover",
        "/static/{path:[A-Za-z0-9._/-]+}",
    }


@pytest.mark.parametrize(
    "route",
    [r for r in ROUTES if r.access is not Access.PUBLIC],
    ids=lambda r: f"{r.method} {r.path}",
)
async def test_every_private_route_refuses_a_request_without_a_session(
    ready_daemon: Daemon, route: object
) -> None:
    async with ready_daemon.client() as api:
        status, body = await api.call(route.method, concrete(route.path))  # type: ignore[attr-defined]
    expected = 403 if route.access is Access.ADMIN else 401  # type: ignore[attr-defined]
    assert status == expected, body
    assert body["error"]["message"]


async def test_the_router_has_no_route_missing_from_the_route_list(ready_daemon: Daemon) -> None:
    # Walk the live app's router, not our list: a route added by hand elsewhere would show.
    from selfdata.api.app import create_app

    app = create_app(ready_daemon.config)
    listed = {(r.method, r.path) for r in ROUTES}
    for route in app.router.routes():
        info = route.get_info()
        path = info.get("path") or info.get("formatter")
        pattern = next(
            (
                p
                for m, p in listed
                if m == route.method and re.sub(r"\{(\w+)(?::[^}]*)?\}", r"{\1}", p) == path
            ),
            None,
        )
        assert pattern is not None, f"{route.method} {path} is not in ROUTES"


async def test_a_session_cookie_is_secure_httponly_and_strict(ready_daemon: Daemon) -> None:
    async with (
        ready_daemon.client() as api,
        api.request("POST", "/api/v1/unlock", json={"passphrase": PASSPHRASE}) as resp,
    ):
        assert resp.status == 200
        cookie = resp.headers["Set-Cookie"]
    assert "Secure" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie


async def test_a_logged_in_owner_reaches_private_routes(owner: Api) -> None:
    status, body = await owner.call("GET", "/api/v1/session")
    assert status == 200
    assert body["authenticated"] is True
    assert body["admin"] is False


async def test_a_write_from_another_origin_is_refused_even_with_a_session(owner: Api) -> None:
    status, body = await owner.call(
        "POST",
        "/api/v1/doctypes/org.example.x/documents",
        json={"a": 1},
        headers={"Origin": "https://evil.example"},
    )
    assert status == 403
    assert "cross-origin" in body["error"]["message"]


async def test_a_write_without_origin_or_referer_is_refused_with_a_session(
    ready_daemon: Daemon,
) -> None:
    async with ready_daemon.client() as api:
        await api.login()
        api.origin = None
        status, _ = await api.call("POST", "/api/v1/lock")
    assert status == 403


async def test_a_referer_from_this_box_is_accepted_when_origin_is_absent(
    ready_daemon: Daemon,
) -> None:
    async with ready_daemon.client() as api:
        await api.login()
        api.origin = None
        status, _ = await api.call(
            "POST", "/api/v1/lock", headers={"Referer": ready_daemon.url + "/x"}
        )
    assert status == 200


async def test_a_foreign_page_cannot_drive_the_public_unlock(ready_daemon: Daemon) -> None:
    async with ready_daemon.client(origin="https://evil.example") as api:
        status, _ = await api.call("POST", "/api/v1/unlock", json={"passphrase": PASSPHRASE})
    assert status == 403


async def test_admin_routes_answer_only_on_the_unix_socket(
    ready_daemon: Daemon, owner: Api
) -> None:
    status, _ = await owner.call("GET", "/api/v1/admin/status")
    assert status == 403
    async with ready_daemon.admin() as admin, admin.get("/api/v1/admin/status") as resp:
        assert resp.status == 200
        assert (await resp.json())["initialized"] is True


async def test_locking_ends_every_session(ready_daemon: Daemon) -> None:
    async with ready_daemon.client() as first, ready_daemon.client() as second:
        await first.login()
        await second.login()
        assert (await first.call("POST", "/api/v1/lock"))[0] == 200
        assert (await second.call("GET", "/api/v1/session"))[0] == 401


async def test_logging_out_ends_only_this_session(ready_daemon: Daemon) -> None:
    async with ready_daemon.client() as first, ready_daemon.client() as second:
        await first.login()
        await second.login()
        assert (await first.call("DELETE", "/api/v1/session"))[0] == 200
        assert (await first.call("GET", "/api/v1/session"))[0] == 401
        assert (await second.call("GET", "/api/v1/session"))[0] == 200


async def test_wrong_passphrases_are_slowed_down_exponentially(ready_daemon: Daemon) -> None:
    async with ready_daemon.client() as api:
        status, body = await api.call(
            "POST", "/api/v1/unlock", json={"passphrase": "wrong guess 1"}
        )
        assert status == 403
        assert body["error"]["code"] == "wrong_secret"
        async with api.request("POST", "/api/v1/unlock", json={"passphrase": PASSPHRASE}) as resp:
            # even the right passphrase waits: the guard does not reveal what it would say
            assert resp.status == 429
            assert int(resp.headers["Retry-After"]) >= 1


async def test_the_admin_socket_is_not_slowed_down(ready_daemon: Daemon) -> None:
    async with ready_daemon.admin() as admin:
        for _ in range(3):
            async with admin.post("/api/v1/unlock", json={"passphrase": "wrong guess"}) as resp:
                assert resp.status == 403
        async with admin.post("/api/v1/unlock", json={"passphrase": PASSPHRASE}) as resp:
            assert resp.status == 200


async def test_the_admin_socket_is_only_for_its_owner_and_group(ready_daemon: Daemon) -> None:
    mode = ready_daemon.data_dir.socket.stat().st_mode & 0o777
    assert mode == 0o660


async def test_public_status_reveals_no_data(ready_daemon: Daemon) -> None:
    async with ready_daemon.client() as api:
        status, body = await api.call("GET", "/api/v1/status")
    assert status == 200
    assert set(body) == {"version", "initialized", "locked"}


async def test_responses_carry_security_headers_and_no_version_banner(owner: Api) -> None:
    async with owner.request("GET", "/api/v1/session") as resp:
        headers = resp.headers
    assert headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store"
    assert headers["Server"] == "selfdata"
