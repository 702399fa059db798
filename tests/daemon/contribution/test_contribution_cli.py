"""`selfdata contribution …` offline, against a collector on loopback (in a thread, since the
CLI runs in another process): nothing before `send`, then exactly the previewed bytes."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from selfdata.box import Box
from selfdata.paths import DataDir

from ...conftest import PASSPHRASE
from ..answers import household
from ..conftest import Cli, assert_one_line_error


class Recorder(BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        type(self).received.append(self.rfile.read(length))
        self.send_response(201)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def collector_url() -> Iterator[str]:
    Recorder.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/c"
    finally:
        server.shutdown()
        server.server_close()


def load_meter(data_dir: DataDir) -> None:
    async def go() -> None:
        box = await Box.open(data_dir)
        try:
            await box.unlock(PASSPHRASE)
            await box.series.write(
                f"enedis/daily_consumption/{household.PRM}",
                [(int(t), v) for t, v in household.electricity(200)],
                unit="Wh",
            )
        finally:
            await box.close()

    asyncio.run(go())


def test_preview_then_send_exactly_it(
    initialised: Cli, passphrase_file: Path, collector_url: str
) -> None:
    load_meter(initialised.data_dir)
    pf = ("--passphrase-file", str(passphrase_file))
    assert_one_line_error(initialised("contribution", "preview", *pf), "opt in first")
    shown = initialised.ok(
        "contribution", "set", "--enable", "--endpoint", collector_url, "--area", "69383",
        "--epsilon", "0.5", *pf,
    ).out  # fmt: skip
    assert "contribution: ON" in shown
    preview = initialised.ok("contribution", "preview", "--json", *pf).json()
    assert Recorder.received == []
    assert json.loads(preview["payload"])["privacy"]["epsilon"] == 0.5
    assert_one_line_error(initialised("contribution", "send", *pf), "--yes")
    assert Recorder.received == []
    sent = initialised.ok("contribution", "send", "--yes", "--json", *pf).json()
    assert sent["sha256"] == preview["sha256"]
    assert Recorder.received == [preview["payload"].encode()]
    assert_one_line_error(initialised("contribution", "send", "--yes", *pf), "preview")
    status = initialised.ok("contribution", "show", "--json", *pf).json()
    assert status["sent_months"] == sorted(preview["months"])
    kinds = [e["kind"] for e in initialised.ok("audit", "list", "--json", *pf).json()["entries"]]
    assert kinds == ["contribution", "contribution", "contribution-settings"]


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("contribution", "set"), "nothing to change"),
        (("contribution", "set", "--endpoint", "http://example.org/c"), "https://"),
        (("contribution", "set", "--area", "nowhere"), "INSEE"),
        (("contribution", "set", "--epsilon", "50"), "epsilon"),
        (("contribution", "set", "--k", "1"), "k must be"),
        (("contribution", "set", "--enable"), "endpoint and your area first"),
        (("contribution", "preview", "--month", "2024-13"), "opt in first"),
        (("contribution", "send", "--yes"), "preview` first"),
    ],
)
def test_bad_contribution_input_is_a_one_line_error(
    initialised: Cli, passphrase_file: Path, args: tuple[str, ...], fragment: str
) -> None:
    result = initialised(*args, "--passphrase-file", str(passphrase_file))
    assert_one_line_error(result, fragment)
