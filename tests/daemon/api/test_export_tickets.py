"""The web UI's export: a one-time link, for this session only, that streams the archive.

(A followed link lets the browser save a multi-gigabyte archive to disk as it arrives.)
"""

from __future__ import annotations

import io
import tarfile
import time

import pytest
from selfdata.api.tickets import Tickets

from .conftest import Api, Daemon


async def ticket(owner: Api, **options: object) -> str:
    status, body = await owner.call("POST", "/api/v1/export/tickets", json=options)
    assert status == 201, body
    assert body["expires_in"] == 60
    return str(body["url"])


async def test_a_ticket_streams_the_archive_once(owner: Api) -> None:
    await owner.call("PUT", "/api/v1/doctypes/org.example.notes/documents/n1", json={"t": "é"})
    url = await ticket(owner)
    async with owner.request("GET", url) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Disposition"].startswith('attachment; filename="selfdata-')
        data = await resp.read()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        assert "documents/org.example.notes.jsonl" in tar.getnames()
    status, body = await owner.call("GET", url)
    assert status == 404
    assert "used already or has expired" in body["error"]["message"]
    status, ledger = await owner.call("GET", "/api/v1/ledger")
    assert ledger["entries"][0]["summary"].startswith("Everything exported (selfdata archive)")


async def test_a_sealed_ticket_gives_a_sealed_archive(owner: Api) -> None:
    url = await ticket(owner, passphrase="a long export passphrase")
    async with owner.request("GET", url) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Disposition"].endswith('.tar.gz.sealed"')
        assert (await resp.read()).startswith(b"selfdata/export-encrypted/v1\n")


async def test_a_ticket_is_worth_nothing_to_another_session(
    owner: Api, ready_daemon: Daemon
) -> None:
    url = await ticket(owner)
    async with ready_daemon.client() as other:
        await other.login()
        status, _ = await other.call("GET", url)
        assert status == 404
    async with ready_daemon.client() as stranger:
        status, _ = await stranger.call("GET", url)
        assert status == 401
    async with owner.request("GET", url) as resp:  # still there for its own session
        assert resp.status == 200


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"format": "cozy", "passphrase": "a long export passphrase"}, "plain zip"),
        ({"passphrase": "short"}, "at least"),
        ({"format": "tar"}, ""),
        ({"passphrase": 12}, ""),
        ({"extra": True}, ""),
    ],
)
async def test_what_would_fail_is_refused_before_any_ticket(
    owner: Api, options: dict[str, object], message: str
) -> None:
    status, body = await owner.call("POST", "/api/v1/export/tickets", json=options)
    assert status == 400, body
    assert message in body["error"]["message"]


async def test_a_locked_box_issues_no_ticket(owner: Api) -> None:
    url = await ticket(owner)
    await owner.call("POST", "/api/v1/lock")
    await owner.login()
    status, _ = await owner.call("GET", url)  # the old session ended with the lock
    assert status == 404
    await owner.call("POST", "/api/v1/lock")
    status, _ = await owner.call("POST", "/api/v1/export/tickets", json={})
    assert status == 401


@pytest.mark.parametrize("token", ["x", "a" * 100, "../../etc/passwd", "%00" * 20])
async def test_made_up_tickets_are_not_found(owner: Api, token: str) -> None:
    status, _ = await owner.call("GET", f"/api/v1/export/{token}")
    assert status in (404, 405)


def test_tickets_expire_and_cannot_pile_up() -> None:
    tickets = Tickets(ttl=0.05, limit=3)
    first = tickets.issue("s", {"n": 1})
    time.sleep(0.1)
    assert tickets.redeem(first, "s") is None
    made = [tickets.issue("s", {"n": i}) for i in range(5)]
    assert [tickets.redeem(t, "s") for t in made[:2]] == [None, None]  # the oldest went
    assert tickets.redeem(made[4], "s") == {"n": 4}
