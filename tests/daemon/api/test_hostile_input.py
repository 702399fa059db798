"""Malformed, oversize and mistyped requests get a 4xx with a message, never a 500."""

from __future__ import annotations

import io
import re

import pytest
from selfdata.api.routes import ROUTES, Access

from .conftest import Api

BAD_BODIES: dict[str, bytes] = {
    "empty": b"",
    "truncated": b'{"passphrase": "abc',
    "array": b"[1, 2, 3]",
    "string": b'"hello"',
    "null": b"null",
    "number": b"12",
    "wrong types": b'{"passphrase": 12, "points": "x", "new_passphrase": [], "name": {}}',
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    "invalid utf-8": b'{"a": "\xff\xfe"}',
    "nul bytes": b'{"a": "\x00\x00"}',
    "oversize": b'{"a": "' + b"x" * (2 * 1024 * 1024) + b'"}',
}

WRITE_ROUTES = [r for r in ROUTES if r.method in ("POST", "PUT") and r.access is not Access.ADMIN]


def concrete(path: str) -> str:
    values = {
        "doctype": "org.example.fuzz",
        "doc_id": "abc",
        "file_id": "abc",
        "name": "power",
        "connector_id": "test-echo",
        "account_id": "0" * 32,
        "run_id": "0" * 32,
        "request_id": "0" * 32,
    }
    return re.sub(r"\{(\w+)(?::[^}]*)?\}", lambda m: values[m[1]], path)


@pytest.mark.parametrize("body", list(BAD_BODIES), ids=str)
async def test_bad_bodies_to_every_write_route_are_client_errors(owner: Api, body: str) -> None:
    for route in WRITE_ROUTES:
        if route.path.endswith("/lock"):
            continue  # takes no body: would lock the box for the routes after it
        status, answer = await owner.call(
            route.method,
            concrete(route.path),
            data=io.BytesIO(BAD_BODIES[body]),
            headers={"Content-Type": "application/json"},
        )
        assert 200 <= status < 500, f"{route.method} {route.path}: {status} {answer}"
        if status >= 400:
            assert answer["error"]["message"], route.path


BAD_QUERIES = [
    ("/api/v1/doctypes/io.cozy.bills/documents?limit=abc", 400),
    ("/api/v1/doctypes/io.cozy.bills/documents?limit=0", 400),
    ("/api/v1/doctypes/io.cozy.bills/documents?limit=100000", 400),
    ("/api/v1/doctypes/io.cozy.bills/documents?cursor=-5", 400),
    ("/api/v1/series/power?start=yesterday&end=1", 400),
    ("/api/v1/series/power?start=10&end=5", 400),
    ("/api/v1/series/power?start=0&end=100&step=0", 400),
    ("/api/v1/series/power?start=0&end=100&step=-1h", 400),
    ("/api/v1/series/power?start=0&end=100&agg=median", 400),
    ("/api/v1/series/power?start=0&end=99999999999", 400),
    ("/api/v1/series/power", 400),
    ("/api/v1/doctypes/NOT%20A%20DOCTYPE", 404),
    ("/api/v1/doctypes/io.cozy.unknown", 404),
    ("/api/v1/doctypes/org.example.never-created/documents", 404),
    ("/api/v1/files/nope", 404),
    ("/api/v1/nothing-here", 404),
]


@pytest.mark.parametrize(("path", "expected"), BAD_QUERIES)
async def test_bad_queries_are_client_errors_with_messages(
    owner: Api, path: str, expected: int
) -> None:
    status, answer = await owner.call("GET", path)
    assert status == expected, answer
    assert answer["error"]["message"]


async def test_a_wrong_method_is_405_with_allow(owner: Api) -> None:
    async with owner.request("PATCH", "/api/v1/status") as resp:
        assert resp.status == 405
        assert "GET" in resp.headers["Allow"]


async def test_an_oversize_json_body_is_refused_before_it_is_read(owner: Api) -> None:
    status, answer = await owner.call(
        "POST",
        "/api/v1/doctypes/org.example.big/documents",
        data=io.BytesIO(b"x" * (5 * 1024 * 1024)),
        headers={"Content-Type": "application/json"},
    )
    assert status == 400
    assert "larger than" in answer["error"]["message"]


async def test_a_hostile_file_name_is_refused(owner: Api) -> None:
    for name in ["../../etc/passwd", "a/b", "", "x" * 300, "bad\x00name", ".."]:
        status, answer = await owner.call("POST", "/api/v1/files", params={"name": name}, data=b"x")
        assert status == 400, (name, answer)


async def test_a_hostile_document_id_is_handled(owner: Api) -> None:
    for doc_id in ["../..", "%00", "x" * 5000, "ｅｖｉｌ", "a b"]:
        status, _ = await owner.call(
            "PUT", f"/api/v1/doctypes/org.example.ids/documents/{doc_id}", json={"v": 1}
        )
        assert status in (200, 201, 400, 404), doc_id
