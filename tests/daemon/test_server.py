"""``selfdata serve`` as a process: plain HTTP only redirects, and SIGTERM in the middle of
an import finishes or rolls back what is in flight, never leaving a damaged store."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import aiohttp
import pytest
from selfdata.importers.run import BATCH
from selfdata.paths import DataDir

from .api.conftest import running_daemon
from .conftest import Cli, start_daemon


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
async def test_plain_http_only_redirects_to_https(data_dir: DataDir, method: str) -> None:
    http_port = free_port()
    async with running_daemon(data_dir, http_port=http_port) as daemon:
        https_port = int(daemon.url.rsplit(":", 1)[1])
        async with (
            aiohttp.ClientSession() as plain,
            plain.request(
                method,
                f"http://127.0.0.1:{http_port}/api/v1/status?x=1",
                allow_redirects=False,
                data=b'{"passphrase": "never read"}',
            ) as resp,
        ):
            body = await resp.text()
    # 308 keeps the method and body, so a script's POST is not turned into a GET
    assert resp.status == 308
    assert resp.headers["Location"] == f"https://127.0.0.1:{https_port}/api/v1/status?x=1"
    assert "initialized" not in body  # nothing of the box answers over plain HTTP


def stored_documents(cli: Cli) -> int:
    with closing(sqlite3.connect(f"file:{cli.data_dir.database}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT count(*) FROM documents").fetchone()[0])


def test_sigterm_during_an_import_commits_or_rolls_back_never_corrupts(
    cli: Cli, tmp_path: Path, passphrase_file: Path
) -> None:
    rows = 200_000
    source = tmp_path / "big.jsonl"
    with source.open("w") as f:
        for i in range(rows):
            f.write(json.dumps({"_id": f"r{i:06}", "amount": i, "label": "opération"}) + "\n")
    daemon = start_daemon(cli, tmp_path / "daemon.log")
    cli.ok("init", "--passphrase-file", str(passphrase_file))
    before = stored_documents(cli)
    importer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "selfdata",
            "--data-dir",
            str(cli.data_dir.root),
            "import",
            "-t",
            "org.example.term",
            str(source),
            "--no-progress",
            "--json",
        ],
        env=cli.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # the signal comes once the import is under way (a first transaction is in), not a
    # guessed delay after which a fast machine would have finished it
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and importer.poll() is None:
        if stored_documents(cli) > before:  # the first transaction committed
            break
        time.sleep(0.05)
    assert importer.poll() is None, "the import finished before the signal: make it bigger"
    assert daemon.stop(signal.SIGTERM) == 0  # a clean exit, within systemd's stop timeout
    out, err = importer.communicate(timeout=60)
    log = daemon.log.read_text()
    assert "stopped" in log
    assert "Traceback" not in log

    with sqlite3.connect(cli.data_dir.database) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    report = cli.ok("fsck", "--json", "--passphrase-file", str(passphrase_file)).json()
    assert report["ok"], report["problems"]
    exported = cli("export", "-t", "org.example.term", "--passphrase-file", str(passphrase_file))
    assert exported.code == 0 or "no doctype" in exported.err  # nothing committed yet
    ids = [json.loads(line)["_id"] for line in exported.out.splitlines()]
    assert ids == [f"r{i:06}" for i in range(len(ids))], "not a prefix of the file"
    if importer.returncode == 0:  # the daemon said it was all stored: it must all be there
        assert json.loads(out)["created"] == rows
        assert len(ids) == rows
    else:  # cut short: said in one line, and what is stored is whole batches
        assert len(err.decode().strip().splitlines()) == 1, err
        assert len(ids) % BATCH == 0
