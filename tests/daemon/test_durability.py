"""``kill -9`` in the middle of big imports, again and again: nothing committed is lost.

Imports commit in batches; a crash loses at most the batch in flight. After each crash
the daemon restarts on the same data dir, and every record that was committed before
is still there, the new doctype holds a whole number of batches (a prefix of the file),
``selfdata fsck`` authenticates everything and SQLite's integrity_check passes.
"""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from selfdata.importers.run import BATCH

from .conftest import Cli, start_daemon

ROWS = 150_000
ROUNDS = 4


def test_kill_9_during_imports_never_loses_committed_records(
    cli: Cli, tmp_path: Path, passphrase_file: Path
) -> None:
    source = tmp_path / "big.jsonl"
    with source.open("w") as f:
        for i in range(ROWS):
            f.write(json.dumps({"_id": f"r{i:06}", "amount": i, "label": "opération"}) + "\n")
    keep = tmp_path / "keep.jsonl"
    keep.write_text("".join(json.dumps({"_id": f"k{i}", "v": i}) + "\n" for i in range(500)))
    rng = random.Random(20261123)

    interrupted = 0
    committed: dict[str, int] = {}
    daemon = start_daemon(cli, tmp_path / "d0.log")
    cli.ok("init", "--passphrase-file", str(passphrase_file))
    cli.ok("import", "-t", "org.example.keep", str(keep))
    for round_no in range(ROUNDS):
        before = stored_rows(cli.data_dir.database)
        importer = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "selfdata",
                "--data-dir",
                str(cli.data_dir.root),
                "import",
                "-t",
                f"org.example.crash{round_no}",
                str(source),
                "--no-progress",
            ],
            env=cli.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # at a random point once it is under way (its first commit), however loaded the machine
        wait_for_rows(cli.data_dir.database, more_than=before)
        time.sleep(rng.uniform(0.0, 1.0))
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(timeout=30)
        importer.wait(timeout=60)

        with sqlite3.connect(cli.data_dir.database) as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        daemon = start_daemon(cli, tmp_path / f"d{round_no + 1}.log")
        cli.ok("unlock", "--passphrase-file", str(passphrase_file))
        kept = cli.ok("export", "-t", "org.example.keep").out.splitlines()
        assert len(kept) == 500
        report = cli.ok("fsck", "--json").json()
        assert report["ok"], report["problems"]
        crashed = cli("export", "-t", f"org.example.crash{round_no}")
        ids = [json.loads(line)["_id"] for line in crashed.out.splitlines()]
        assert ids == [f"r{i:06}" for i in range(len(ids))], "not a prefix of the file"
        assert len(ids) % BATCH == 0 or len(ids) == ROWS
        interrupted += 0 < len(ids) < ROWS
        # what earlier rounds committed survived this crash too, to the last record
        for earlier, count in committed.items():
            if count:  # a round killed before its first batch made no doctype
                assert len(cli.ok("export", "-t", earlier).out.splitlines()) == count, earlier
        committed[f"org.example.crash{round_no}"] = len(ids)
    daemon.stop()
    assert interrupted >= ROUNDS // 2, (
        "the kills must land mid-import for this test to mean anything"
    )


def stored_rows(database: Path) -> int:
    """Documents committed so far (what a reader of the WAL sees)."""
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
        (count,) = db.execute("SELECT count(*) FROM documents").fetchone()
    return int(count)


def wait_for_rows(database: Path, more_than: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while stored_rows(database) <= more_than:
        assert time.monotonic() < deadline, "the import never committed"
        time.sleep(0.02)
