"""Verifiable answers through the API, as the web UI drives them, and as a requester checks.

A request goes in, the owner sees exactly what would leave, approves with what they saw;
the statement verifies with the box's published key — with this package's verifier and
with an independent Ed25519 implementation (``cryptography``) following docs/answers.md.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from selfdata.answers import verify

from ..api.conftest import Api
from . import household

STATEMENT_FIELDS = {
    "type",
    "template",
    "params",
    "question",
    "answer",
    "period",
    "issued_at",
    "expires_at",
    "nonce",
    "requester",
    "key_id",
}


@pytest.fixture(autouse=True)
def _trusted_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELFDATA_TRUST_CLOCK", "1")


@pytest.fixture
async def household_owner(owner: Api) -> Api:
    await household.load(owner)
    return owner


async def public_key(api: Api) -> bytes:
    status, body = await api.call("GET", "/api/v1/ledger/key")
    assert status == 200, body
    return base64.b64decode(body["public_key"])


async def submit(api: Api, request: dict[str, Any]) -> dict[str, Any]:
    status, body = await api.call("POST", "/api/v1/answers", json=request)
    assert status == 201, body
    return body  # type: ignore[no-any-return]


async def approve(api: Api, shown: dict[str, Any]) -> tuple[int, Any]:
    preview = shown["preview"]
    return await api.call(
        "POST",
        f"/api/v1/answers/{shown['id']}/approve",
        json={"answer": preview["answer"], "period": preview["period"]},
    )


async def ledger_kinds(api: Api) -> list[tuple[str, dict[str, Any]]]:
    status, body = await api.call("GET", "/api/v1/ledger")
    assert status == 200, body
    return [(e["kind"], e["details"]) for e in body["entries"]]


async def test_the_owner_sees_exactly_what_would_leave_then_a_signed_yes(
    household_owner: Api,
) -> None:
    api = household_owner
    lowest = household.lowest_balance(3)
    shown = await submit(
        api,
        household.request(
            params={
                "account": household.IBAN,
                "threshold": round(lowest - 0.01, 2),
                "months": 3,
                "currency": "EUR",
            }
        ),
    )
    preview = shown["preview"]
    start, end = household.last_months(3)
    assert shown["state"] == "pending"
    assert preview["answerable"] is True
    assert preview["answer"] is True
    assert preview["period"] == {"start": start.isoformat(), "end": end.isoformat()}
    assert preview["requester"] == "Banque Exemple — crédit"
    assert f"{lowest:,.2f}" in " ".join(preview["facts_for_you_only"])
    status, done = await approve(api, shown)
    assert status == 200, done
    assert done["state"] == "approved"
    envelope = done["statement"]
    statement = json.loads(envelope["statement"])
    assert set(statement) == STATEMENT_FIELDS
    assert statement["answer"] is True
    assert statement["period"] == preview["period"]
    assert statement["nonce"] == shown["request"]["nonce"]
    # only the yes/no: the balance found appears nowhere in what leaves
    assert f"{lowest:.2f}" not in envelope["statement"]
    assert str(household.current_balance()) not in envelope["statement"]
    key = await public_key(api)
    outcome = verify.verify_statement(json.dumps(envelope), key)
    assert outcome.valid, outcome.message
    # an independent Ed25519 implementation, following docs/answers.md only
    Ed25519PublicKey.from_public_bytes(key).verify(
        base64.b64decode(envelope["signature"]),
        b"selfdata/answer/v1\0" + envelope["statement"].encode(),
    )
    status, again = await api.call("GET", f"/api/v1/answers/{shown['id']}/statement")
    assert status == 200
    assert again == envelope
    kinds = await ledger_kinds(api)
    assert kinds[0][0] == "answer"
    assert kinds[0][1]["decision"] == "approved"
    assert kinds[0][1]["answer"] is True
    status, verdict = await api.call("GET", "/api/v1/ledger/verify")
    assert verdict["ok"] is True, verdict
    assert verdict["deep"] is True


async def test_a_threshold_above_the_lowest_balance_answers_no(household_owner: Api) -> None:
    lowest = household.lowest_balance(3)
    shown = await submit(
        household_owner,
        household.request(
            params={"account": household.IBAN, "threshold": round(lowest + 0.01, 2), "months": 3}
        ),
    )
    assert shown["preview"]["answer"] is False
    status, done = await approve(household_owner, shown)
    assert status == 200
    assert json.loads(done["statement"]["statement"])["answer"] is False


async def test_the_electricity_question_over_twelve_months(household_owner: Api) -> None:
    total = household.yearly_kwh()
    below = await submit(
        household_owner,
        household.request(
            "electricity-use-below", params={"threshold_kwh": total + 1, "meter": household.PRM}
        ),
    )
    assert below["preview"]["answer"] is True
    above = await submit(
        household_owner, household.request("electricity-use-below", params={"threshold_kwh": total})
    )
    assert above["preview"]["answer"] is False  # "below" is strict
    last_year = household.today().year - 1
    calendar = await submit(
        household_owner,
        household.request(
            "electricity-use-below", params={"threshold_kwh": 10_000, "year": last_year}
        ),
    )
    assert calendar["preview"]["period"] == {
        "start": f"{last_year}-01-01",
        "end": f"{last_year}-12-31",
    }
    current = await submit(
        household_owner,
        household.request(
            "electricity-use-below", params={"threshold_kwh": 10_000, "year": last_year + 1}
        ),
    )
    assert current["preview"]["answerable"] is False
    assert "not over yet" in current["preview"]["reason"]


async def test_approving_something_else_than_what_was_shown_is_refused(
    household_owner: Api,
) -> None:
    shown = await submit(household_owner, household.request())
    preview = shown["preview"]
    for expect in (
        {"answer": not preview["answer"], "period": preview["period"]},
        {"answer": preview["answer"], "period": {"start": "2000-01-01", "end": "2000-03-31"}},
    ):
        status, body = await household_owner.call(
            "POST", f"/api/v1/answers/{shown['id']}/approve", json=expect
        )
        assert status == 409, body
        assert "review it again" in body["error"]["message"]
    status, still = await household_owner.call("GET", f"/api/v1/answers/{shown['id']}")
    assert still["state"] == "pending"
    assert await ledger_kinds(household_owner) == []


async def test_a_replayed_request_is_refused_and_changes_nothing(household_owner: Api) -> None:
    request = household.request()
    await submit(household_owner, request)
    for replay in (request, household.request("electricity-use-below", nonce=request["nonce"])):
        status, body = await household_owner.call("POST", "/api/v1/answers", json=replay)
        assert status == 409, body
        assert "replay" in body["error"]["message"]
    status, listed = await household_owner.call("GET", "/api/v1/answers")
    assert len(listed["requests"]) == 1


async def test_a_refusal_sends_nothing_and_is_recorded(household_owner: Api) -> None:
    shown = await submit(household_owner, household.request())
    status, done = await household_owner.call("POST", f"/api/v1/answers/{shown['id']}/refuse")
    assert status == 200
    assert done["state"] == "refused"
    assert "statement" not in done
    status, body = await household_owner.call("GET", f"/api/v1/answers/{shown['id']}/statement")
    assert status == 404
    status, body = await approve(household_owner, shown)
    assert status == 409
    assert "already refused" in body["error"]["message"]
    kinds = await ledger_kinds(household_owner)
    assert [k for k, _ in kinds] == ["answer"]
    assert kinds[0][1]["decision"] == "refused"
    assert "answer" not in kinds[0][1]


async def test_a_question_the_box_cannot_answer_shows_why_and_cannot_be_approved(
    household_owner: Api,
) -> None:
    shown = await submit(
        household_owner,
        household.request(
            params={"account": "FR7600000000000000000000000", "threshold": 1, "months": 3}
        ),
    )
    assert shown["preview"]["answerable"] is False
    assert "no bank account" in shown["preview"]["reason"]
    status, _ = await household_owner.call(
        "POST",
        f"/api/v1/answers/{shown['id']}/approve",
        json={"answer": True, "period": {"start": "2024-01-01", "end": "2024-03-31"}},
    )
    assert status == 409
    long_ago = await submit(
        household_owner,
        household.request(params={"account": household.IBAN, "threshold": 1, "months": 24}),
    )
    assert "operations from" in long_ago["preview"]["reason"]


async def test_pending_requests_are_capped(owner: Api) -> None:
    from selfdata.answers.desk import MAX_PENDING

    for _ in range(MAX_PENDING):
        await submit(owner, household.request())
    status, body = await owner.call("POST", "/api/v1/answers", json=household.request())
    assert status == 409
    assert "wait for your decision" in body["error"]["message"]


async def test_a_locked_box_answers_nothing(ready_daemon: Any) -> None:
    async with ready_daemon.client() as api:
        await api.login()
        shown = await submit(api, household.request())
    async with ready_daemon.admin() as admin:
        await admin.post("/api/v1/lock")
    async with ready_daemon.admin() as admin:
        for method, path in (
            ("GET", "/api/v1/answers"),
            ("GET", f"/api/v1/answers/{shown['id']}"),
            ("POST", f"/api/v1/answers/{shown['id']}/refuse"),
            ("GET", "/api/v1/contribution"),
            ("GET", "/api/v1/ledger"),
        ):
            async with admin.request(method, path) as resp:
                assert resp.status == 423, path
        async with admin.post("/api/v1/answers", json=household.request()) as resp:
            assert resp.status == 423
        async with admin.get("/api/v1/ledger/verify") as resp:  # works locked
            assert resp.status == 200
            assert (await resp.json())["ok"] is True


async def test_statements_expire(household_owner: Api) -> None:
    shown = await submit(household_owner, household.request(valid_days=1))
    _, done = await approve(household_owner, shown)
    key = await public_key(household_owner)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    outcome = verify.verify_statement(json.dumps(done["statement"]), key, now=later)
    assert outcome.status == verify.EXPIRED
    assert "expired" in outcome.message
