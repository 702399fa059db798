"""Nothing recorded in the ledger, asked by a third party, or contributed is readable on disk
or in the logs: canary strings go through the answers, the ledger (also while locked) and
the contribution, then every byte of the data dir and the daemon's log is searched."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from selfdata import ledger
from selfdata.box import Box
from selfdata.paths import DataDir

from ..answers import household
from ..conftest import Cli, start_daemon
from ..test_canary import CANARY, scan

ACCOUNT = f"{CANARY}number"
NONCE = f"{CANARY}nonce_0123456789"
REQUESTER = f"{CANARY} requester"
PURPOSE = f"{CANARY} purpose"
LOCKED = f"{CANARY}locked"
PATH = f"/{CANARY}path"


class Sink(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def sink() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{PATH}"
    finally:
        server.shutdown()
        server.server_close()


def test_consent_canaries_never_reach_the_disk_or_the_logs(
    cli: Cli, data_dir: DataDir, tmp_path: Path, passphrase_file: Path, sink: str
) -> None:
    cli.env["SELFDATA_TRUST_CLOCK"] = "1"
    daemon = start_daemon(cli, tmp_path / "daemon.log", "--verbose")
    try:
        cli.ok("init", "--passphrase-file", str(passphrase_file))
        asyncio.run(_through_the_api(cli, sink))
        request = household.request(
            params={"account": ACCOUNT, "threshold": 100, "months": 3},
            nonce=NONCE,
            requester=REQUESTER,
            purpose=PURPOSE,
        )
        path = tmp_path / "request.json"
        path.write_text(json.dumps(request))
        cli.ok("answers", "submit", str(path))
        rid = cli.ok("answers", "list", "--json").json()[0]["id"]
        statement = cli.ok("answers", "approve", rid, "--yes").json()
        assert ACCOUNT in statement["statement"]  # it does leave: the requester asked it
        cli.ok("audit", "list")
        cli.ok("audit", "verify")
        cli.ok("lock")
    finally:
        daemon.stop()
    asyncio.run(_while_locked(data_dir))
    files = [p for p in data_dir.root.rglob("*") if p.is_file()]
    needles = [ACCOUNT, NONCE, REQUESTER, PURPOSE, LOCKED, PATH.strip("/")]
    assert scan(files, needles) == []
    log = daemon.log.read_text()
    assert CANARY not in log
    assert "GET /api/v1/ledger" in log


async def _through_the_api(cli: Cli, sink: str) -> None:
    connector = aiohttp.UnixConnector(path=str(cli.data_dir.socket))
    async with aiohttp.ClientSession(connector=connector, base_url="http://selfdata") as admin:

        async def ok(method: str, path: str, **kwargs: Any) -> Any:
            async with admin.request(method, path, **kwargs) as resp:
                assert resp.status < 300, await resp.text()
                return await resp.json()

        account = household.account() | {"number": ACCOUNT, "iban": "FR76000"}
        await ok("POST", "/api/v1/doctypes/io.cozy.bank.accounts/documents", json=account)
        lines = "\n".join(json.dumps(op) for op in household.operations()).encode()
        await ok("POST", "/api/v1/doctypes/io.cozy.bank.operations/import", data=lines)
        await ok(
            "POST",
            f"/api/v1/series/enedis/daily_consumption/{household.PRM}",
            json={"unit": "Wh", "points": household.electricity(100)},
        )
        await ok(
            "PUT",
            "/api/v1/contribution/settings",
            json={"enabled": True, "endpoint": sink, "area": "69383"},
        )
        shown = await ok("POST", "/api/v1/contribution/preview", json={})
        await ok("POST", "/api/v1/contribution/send", json={"sha256": shown["sha256"]})
        entries = await ok("GET", "/api/v1/ledger")
        assert any(PATH in json.dumps(e) for e in entries["entries"])


async def _while_locked(data_dir: DataDir) -> None:
    box = await Box.open(data_dir)
    try:
        assert box.locked
        assert await ledger.append(box, "share", {"with": LOCKED}) is None
    finally:
        await box.close()
