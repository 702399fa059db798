"""Whatever a third party writes into a request, the box answers 4xx and stores nothing."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from selfdata.answers.request import parse_request
from selfdata.errors import InputError

from ..api.conftest import Api
from . import household


def bad(**changes: Any) -> dict[str, Any]:
    request = household.request()
    for key, value in changes.items():
        if value is _DROP:
            request.pop(key)
        else:
            request[key] = value
    return request


def bad_params(template: str = "bank-balance-above", **changes: Any) -> dict[str, Any]:
    request = household.request(template)
    for key, value in changes.items():
        if value is _DROP:
            request["params"].pop(key)
        else:
            request["params"][key] = value
    return request


_DROP = object()

HOSTILE: dict[str, Any] = {
    "not an object": [1, 2],
    "no type": bad(type=_DROP),
    "wrong type": bad(type="selfdata.answer-request/2"),
    "unknown field": bad(answer=True),
    "unknown template": bad(template="give-me-everything"),
    "template not a string": bad(template=["bank-balance-above"]),
    "params not an object": bad(params="account=1"),
    "unknown parameter": bad_params(show_operations=True),
    "missing parameter": bad_params(account=_DROP),
    "account with SQL": bad_params(account="x'; DROP TABLE ledger;--"),
    "account too long": bad_params(account="A" * 65),
    "account empty": bad_params(account=""),
    "threshold a string": bad_params(threshold="100"),
    "threshold a boolean": bad_params(threshold=True),
    "threshold huge": bad_params(threshold=10**13),
    "threshold enormous": bad_params(threshold=10**400),
    "threshold too precise": bad_params(threshold=1.001),
    "months zero": bad_params(months=0),
    "months huge": bad_params(months=10**9),
    "months a float": bad_params(months=3.0),
    "months a string": bad_params(months="3"),
    "currency lower case": bad_params(currency="eur"),
    "kwh zero": bad_params("electricity-use-below", threshold_kwh=0),
    "kwh negative": bad_params("electricity-use-below", threshold_kwh=-5),
    "kwh huge": bad_params("electricity-use-below", threshold_kwh=1e300),
    "year far": bad_params("electricity-use-below", year=1066),
    "meter not 14 digits": bad_params("electricity-use-below", meter="1234"),
    "nonce missing": bad(nonce=_DROP),
    "nonce short": bad(nonce="abc"),
    "nonce with symbols": bad(nonce="a" * 20 + "!!"),
    "nonce huge": bad(nonce="a" * 10_000),
    "nonce a number": bad(nonce=12345678901234567890123),
    "requester missing": bad(requester=_DROP),
    "requester empty": bad(requester="   "),
    "requester too long": bad(requester="B" * 121),
    "requester with a newline": bad(requester="Banque\nApproved: YES"),
    "requester with an escape": bad(requester="Banque \x1b[2J"),
    "requester with a bidi override": bad(requester="Banque \u202eSEY"),
    "requester with a zero-width space": bad(requester="Ban\u200bque"),
    "purpose too long": bad(purpose="p" * 301),
    "valid_days zero": bad(valid_days=0),
    "valid_days a year": bad(valid_days=365),
    "valid_days a boolean": bad(valid_days=True),
    "huge params": bad_params(account="A" * 2_000_000),
}


@pytest.mark.parametrize("case", list(HOSTILE), ids=str)
def test_a_hostile_request_is_refused_by_the_parser(case: str) -> None:
    with pytest.raises(InputError):
        parse_request(json.dumps(HOSTILE[case]))


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b"null", b'"text"', b"[" * 50_000 + b"]" * 50_000, b"\xff\xfe{}", b"NaN"],
    ids=["empty", "truncated", "null", "string", "deep", "binary", "nan"],
)
def test_raw_garbage_is_refused_by_the_parser(raw: bytes) -> None:
    with pytest.raises(InputError):
        parse_request(raw)


def test_nan_and_infinity_are_not_numbers() -> None:
    for token in ("NaN", "Infinity", "-Infinity"):
        text = json.dumps(household.request()).replace('"threshold": 100', f'"threshold": {token}')
        with pytest.raises(InputError):
            parse_request(text)


async def test_every_hostile_request_gets_a_4xx_and_nothing_is_stored(owner: Api) -> None:
    for case, body in HOSTILE.items():
        status, answer = await owner.call(
            "POST",
            "/api/v1/answers",
            data=io.BytesIO(json.dumps(body).encode()),
            headers={"Content-Type": "application/json"},
        )
        assert 400 <= status < 500, f"{case}: {status} {answer}"
        assert answer["error"]["message"], case
    status, listed = await owner.call("GET", "/api/v1/answers")
    assert listed["requests"] == []
    status, ledger = await owner.call("GET", "/api/v1/ledger")
    assert ledger["entries"] == []


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("GET", "/api/v1/answers/" + "0" * 32, None, 404),
        ("GET", "/api/v1/answers/abc", None, 404),
        ("GET", "/api/v1/answers/" + "a" * 500, None, 404),
        ("POST", "/api/v1/answers/" + "0" * 32 + "/refuse", None, 404),
        ("GET", "/api/v1/answers/" + "0" * 32 + "/statement", None, 404),
        ("POST", "/api/v1/answers/" + "0" * 32 + "/approve", {"answer": True}, 400),
        (
            "POST",
            "/api/v1/answers/" + "0" * 32 + "/approve",
            {"answer": "yes", "period": {"start": "a", "end": "b"}},
            400,
        ),
        (
            "POST",
            "/api/v1/answers/" + "0" * 32 + "/approve",
            {"answer": True, "period": {"start": "2024-01-01", "end": "2024-03-31"}},
            404,
        ),
        ("GET", "/api/v1/ledger?limit=0", None, 400),
        ("GET", "/api/v1/ledger?limit=abc", None, 400),
        ("GET", "/api/v1/ledger?before=-1", None, 400),
        ("GET", "/api/v1/ledger/verify?key=notakey", None, 400),
        ("GET", "/api/v1/ledger/verify?key=" + "A" * 5000, None, 400),
    ],
)
async def test_bad_ids_bodies_and_queries_are_client_errors(
    owner: Api, method: str, path: str, body: Any, expected: int
) -> None:
    status, answer = await owner.call(method, path, json=body)
    assert status == expected, answer
    assert answer["error"]["message"]
