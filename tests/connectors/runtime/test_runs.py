"""A connector run end to end: a real child process, a real box, a local fake server."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from selfdata.box import Box
from selfdata.connectors.runtime.registry import discover

from .conftest import run_example


@pytest.fixture
async def api() -> object:
    calls: list[str] = []

    async def readings(request: web.Request) -> web.Response:
        calls.append(request.query.get("from", ""))
        if request.headers.get("Authorization") != "Bearer s3cret-token":
            return web.json_response({"error": "nope"}, status=401)
        start = int(request.query.get("from", "0"))
        return web.json_response([{"n": n, "value": n * 1.5} for n in range(start, start + 5)])

    app = web.Application()
    app.router.add_get("/readings", readings)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    server.calls = calls  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        await server.close()


def creds(behaviour: str = "ok", **more: str) -> dict[str, str]:
    return {"behaviour": behaviour, "token": "s3cret-token", **more}


async def test_a_run_saves_documents_and_points_and_moves_its_cursor(
    box: Box, api: TestServer
) -> None:
    base = {"api": str(api.make_url("/"))}
    run = await run_example("echo", box, creds(), base_urls=base)
    assert run.outcome == "ok", (run.message, run.log.lines)
    assert run.documents == {"org.example.readings": 5}
    assert run.series == {"echo/value": 5}
    assert run.state == {"cursor": 5}
    assert run.progress["done"] == 5
    assert run.http_requests == 1
    assert "landlock" in " ".join(run.isolation)
    assert "seccomp" in run.isolation
    assert await box.documents.count("org.example.readings") == 5
    # incremental: the next run starts from the cursor; idempotent: nothing duplicated
    again = await run_example("echo", box, creds(), base_urls=base, state=run.state)
    assert again.outcome == "ok"
    assert api.calls == ["0", "5"]  # type: ignore[attr-defined]
    assert await box.documents.count("org.example.readings") == 10
    rerun = await run_example("echo", box, creds(), base_urls=base, state=run.state)
    assert rerun.outcome == "ok"
    assert await box.documents.count("org.example.readings") == 10


async def test_the_token_never_reaches_the_log(box: Box, api: TestServer) -> None:
    run = await run_example("echo", box, creds(), base_urls={"api": str(api.make_url("/"))})
    text = str(run.to_json())
    assert "s3cret-token" not in text
    assert "[redacted]" in text


@pytest.mark.parametrize(
    ("behaviour", "outcome"),
    [
        ("auth", "auth_failed"),
        ("action", "user_action_needed"),
        ("ratelimit", "rate_limited"),
        ("down", "service_down"),
        ("bug", "bug"),
    ],
)
async def test_errors_are_classified(box: Box, behaviour: str, outcome: str) -> None:
    run = await run_example("echo", box, creds(behaviour))
    assert run.outcome == outcome, run.message
    assert run.status == "done"
    if outcome == "user_action_needed":
        assert run.url == "https://example.org/terms"
    if outcome == "rate_limited":
        assert run.retry_after == 120
    if outcome == "bug":
        assert "KeyError" in run.message
        assert any("Traceback" in line["message"] for line in run.log.lines)


async def test_an_unreachable_service_is_service_down_after_retries(box: Box) -> None:
    run = await run_example("echo", box, creds(), base_urls={"api": "http://127.0.0.1:9/"})
    assert run.outcome == "service_down", run.message
    assert run.http_requests == 4  # 1 + 3 retries


async def test_state_reached_before_a_failure_is_kept(box: Box, api: TestServer) -> None:
    run = await run_example(
        "echo", box, creds("partial"), base_urls={"api": str(api.make_url("/"))}
    )
    assert run.outcome == "service_down"
    assert run.state == {"cursor": 5}


async def test_a_run_times_out_and_is_killed(box: Box) -> None:
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    run = await run_example("echo", box, creds("slow", seconds="60"), timeout=1.5)
    assert run.outcome == "timeout"
    assert loop.time() - t0 < 10


async def test_files_are_streamed_in_and_deduplicated(box: Box) -> None:
    from selfdata.connectors.runtime.registry import ConnectorSpec  # noqa: F401

    first = await run_example("echo", box, creds("file"))
    assert first.outcome == "ok", (first.message, first.log.lines)
    file_id = first.state["file"]
    doc = await box.files.stat(file_id)
    assert doc["size"] == 200_009
    assert doc["metadata"] == {"vendor": "example"}
    data = b"".join([c async for c in box.files.read(file_id)])
    assert data.startswith(b"%PDF-1.4 ")


async def test_a_probe_answers_and_writes_nothing() -> None:
    run = await run_example("echo", None, creds(), mode="probe", options={"device": "/dev/null"})
    assert run.outcome == "ok", run.message
    assert run.result == {"echo": {"device": "/dev/null"}, "account": "acc1"}


async def test_discovery_finds_builtin_and_extra_connectors_in_a_child() -> None:
    registry = await discover(installed=False, extra=["tests.connectors.examples.echo"])
    echo = registry.get("test-echo")
    assert echo.origin == "extra"
    assert echo.probe
    assert echo.manifest.credentials[1].secret
    assert not registry.problems, registry.problems
