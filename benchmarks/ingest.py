"""Ingest of bank operations: selfdata (through the daemon, and offline) against peers.

Every run gets a fresh data dir (or database file) and the runs of the tools are
interleaved, repetition by repetition, so drift of the machine hits them alike. The
input file is read once before the first run: every tool reads it from the page cache.
"""

from __future__ import annotations

import json
import os
import sqlite3
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gen import DOCTYPE
from procs import (
    PYTHON,
    VENV_BIN,
    ChildrenPeak,
    Daemon,
    cpu_seconds,
    io_written,
    reset_peak_rss,
    run,
    selfdata,
    vm,
)

__all__ = ["IngestPlan", "run_ingest", "run_peak_rss"]

HERE = Path(__file__).parent
#: Only to make ``selfdata init`` fast: Argon2id at its floor (t=2, 64 MiB) instead of
#: calibrated to ~1 s. Unlocking then costs the floor too; it is reported on its own.
FAST_KDF = {"SELFDATA_KDF_SECONDS": "0"}


@dataclass(frozen=True)
class IngestPlan:
    work: Path
    passphrase: str
    passphrase_file: Path
    data: Path  # the JSON Lines file
    docs: int
    reps: int


def init_vault(plan: IngestPlan, data_dir: Path) -> None:
    run(
        selfdata(data_dir, "init", "--passphrase-file", str(plan.passphrase_file), "--json"),
        FAST_KDF,
    )


def _check_report(stdout: str, docs: int) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(stdout)
    if report["stored"] != docs or report["errors"]:
        raise RuntimeError(f"import stored {report['stored']} of {docs}, {report['errors']} errors")
    return report


def _sizes(data_dir: Path, name: str = "selfdata.db") -> int:
    return sum(p.stat().st_size for p in data_dir.glob(name + "*") if p.is_file())


def daemon_import(plan: IngestPlan, data: Path, docs: int, tag: str) -> dict[str, Any]:
    """``selfdata import`` through a running, unlocked daemon; daemon-side /proc readings."""
    data_dir = plan.work / f"daemon-{tag}"
    init_vault(plan, data_dir)
    daemon = Daemon(data_dir, plan.work / f"daemon-{tag}.log")
    try:
        unlock = run(selfdata(data_dir, "unlock", "--passphrase-file", str(plan.passphrase_file)))
        time.sleep(0.2)
        idle = vm(daemon.pid)
        written0, cpu0 = io_written(daemon.pid), cpu_seconds(daemon.pid)
        reset_peak_rss(daemon.pid)
        with ChildrenPeak(daemon.pid) as worker:
            cli = run(
                selfdata(
                    data_dir, "import", "--doctype", DOCTYPE, str(data), "--json", "--no-progress"
                )
            )
        _check_report(cli.stdout, docs)
        after = vm(daemon.pid)
        written1, cpu1 = io_written(daemon.pid), cpu_seconds(daemon.pid)
    finally:
        final = daemon.stop()
    return {
        "wall": cli.wall,
        "cli_cpu": cli.cpu,
        "cli_peak_rss_kib": cli.max_rss_kib,
        "daemon_cpu": cpu1 - cpu0,
        "daemon_ready_s": daemon.ready_after,
        "unlock_cli_wall": unlock.wall,
        "daemon_rss_before_kib": idle["VmRSS"],
        "daemon_peak_rss_kib": after["VmHWM"],
        "daemon_rss_after_kib": after["VmRSS"],
        "worker_peak_rss_kib": worker.peak_kib,
        "written_during_import": written1 - written0,
        # the daemon's writes from just before the import to its exit: includes the WAL
        # checkpoint (TRUNCATE) it runs as it closes the store
        "written_incl_shutdown": final.written - written0,
        "store_bytes": _sizes(data_dir),
    }


def offline_import(plan: IngestPlan, tag: str) -> dict[str, Any]:
    """``selfdata import --passphrase-file`` with no daemon: opens, unlocks, imports, closes."""
    data_dir = plan.work / f"offline-{tag}"
    init_vault(plan, data_dir)
    cli = run(
        selfdata(
            data_dir,
            "import",
            "--doctype",
            DOCTYPE,
            str(plan.data),
            "--passphrase-file",
            str(plan.passphrase_file),
            "--json",
            "--no-progress",
        )
    )
    _check_report(cli.stdout, plan.docs)
    return {
        "wall": cli.wall,
        "cpu": cli.cpu,
        "peak_rss_kib": cli.max_rss_kib,
        "written": cli.written,
        "store_bytes": _sizes(data_dir),
        "unlock_s": argon2_unlock_seconds(data_dir, plan.passphrase),
    }


def argon2_unlock_seconds(data_dir: Path, passphrase: str) -> float:
    """Time to unwrap the master key with this vault's stored Argon2id parameters."""
    from selfdata.vault import VaultHeader

    db = sqlite3.connect(data_dir / "selfdata.db")
    try:
        (text,) = db.execute("SELECT value FROM meta WHERE key = 'vault'").fetchone()
    finally:
        db.close()
    header = VaultHeader.from_json(text)
    start = time.perf_counter()
    header.unlock(passphrase).wipe()
    return time.perf_counter() - start


def peer_run(plan: IngestPlan, name: str, tag: str) -> dict[str, Any]:
    db = plan.work / f"{name}-{tag}.db"
    if name == "sqlite-utils":
        argv = [str(VENV_BIN / "sqlite-utils"), "insert", str(db), "ops", str(plan.data), "--nl"]
    else:
        argv = [PYTHON, str(HERE / f"peer_{name.replace('-', '_')}.py"), str(plan.data), str(db)]
    done = run(argv)
    rows = sqlite3.connect(db)
    try:
        (count,) = rows.execute("SELECT count(*) FROM ops").fetchone()
    finally:
        rows.close()
    if count != plan.docs:
        raise RuntimeError(f"{name} stored {count} rows of {plan.docs}")
    size = _sizes(db.parent, db.name)
    for path in db.parent.glob(db.name + "*"):
        path.unlink()
    return {
        "wall": done.wall,
        "cpu": done.cpu,
        "peak_rss_kib": done.max_rss_kib,
        "written": done.written,
        "store_bytes": size,
    }


PEERS = ("sqlite-utils", "raw", "naive-aead")


def run_ingest(plan: IngestPlan, say: Any) -> dict[str, Any]:
    plan.data.read_bytes()  # into the page cache, for every tool alike
    say("CLI start-up: selfdata --version")
    startup = statistics.median(
        run([str(VENV_BIN / "selfdata"), "--version"]).wall for _ in range(3)
    )
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in ("daemon", "offline", *PEERS)}
    for rep in range(plan.reps):
        tag = f"r{rep}"
        say(f"ingest rep {rep + 1}/{plan.reps}: selfdata via daemon")
        runs["daemon"].append(daemon_import(plan, plan.data, plan.docs, tag))
        say(f"ingest rep {rep + 1}/{plan.reps}: selfdata offline")
        runs["offline"].append(offline_import(plan, tag))
        for peer in PEERS:
            say(f"ingest rep {rep + 1}/{plan.reps}: {peer}")
            runs[peer].append(peer_run(plan, peer, tag))
    return {
        "cli_startup_s": startup,
        "runs": runs,
        "median": {k: _medians(v) for k, v in runs.items()},
    }


def run_peak_rss(plan: IngestPlan, big: Path, big_docs: int, say: Any) -> dict[str, Any]:
    """The daemon's peak RSS while importing a file ``big_docs / docs`` times larger."""
    say(f"peak RSS: import of {big_docs:,} documents through a fresh daemon")
    big.read_bytes()
    return daemon_import(plan, big, big_docs, "big")


def _medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def cleanup(work: Path) -> None:
    for path in work.glob("*.db*"):
        os.unlink(path)
