"""selfdata benchmarks: measure selfdata and its peers in the same run, report ratios.

Usage (from the repository, with the dev venv)::

    .venv/bin/python benchmarks/run.py [--quick] [--json OUT] [--reps N] [--keep]

Prints Markdown tables (the numbers, the ratios, the targets of DESIGN.md met or not)
and, with ``--json``, writes every measurement to OUT. Works in a temporary directory
under /tmp that it removes; starts only loopback servers and stops every process it
started. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))  # the sibling modules, however run

from gen import write_bank_operations
from idle import run_idle
from ingest import IngestPlan, run_ingest, run_peak_rss
from procs import VENV_BIN
from report import render, targets
from series import run_series

PASSPHRASE = "benchmark passphrase, not a secret"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="CI smoke run: small files, one repetition"
    )
    parser.add_argument("--json", type=Path, help="write all measurements to this file")
    parser.add_argument("--reps", type=int, help="repetitions of each ingest (default 3, quick 1)")
    parser.add_argument(
        "--docs", type=int, help="documents to ingest (default 100000, quick 20000)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--label", help="what is measured, e.g. a commit installed in this venv")
    args = parser.parse_args()
    docs = args.docs or (20_000 if args.quick else 100_000)
    reps = args.reps or (1 if args.quick else 3)
    warm = 5 if args.quick else 20

    for tool in ("selfdata", "sqlite-utils"):
        if not (VENV_BIN / tool).exists():
            parser.error(f"no {tool} next to {sys.executable}: run with the dev venv's python")
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="sdbench-", dir="/tmp"))  # short: socket paths
    try:
        say(f"work directory {work}")
        results = measure(work, docs, reps, warm)
    except BaseException:
        say(f"failed; daemon logs were in {work}")
        raise
    finally:
        if args.keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["config"]["duration_s"] = round(time.perf_counter() - started, 1)
    if args.label:
        results["machine"]["selfdata"]["label"] = args.label
    results["targets"] = targets(results)
    print(render(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        say(f"wrote {args.json}")
    return 0


def measure(work: Path, docs: int, reps: int, warm: int) -> dict[str, Any]:
    passphrase_file = work / "passphrase"
    passphrase_file.write_text(PASSPHRASE + "\n")
    data = work / f"ops-{docs}.jsonl"
    big_docs = docs * 4
    big = work / f"ops-{big_docs}.jsonl"
    say(f"generating {docs:,} and {big_docs:,} bank operations")
    data_bytes = write_bank_operations(data, docs)
    big_bytes = write_bank_operations(big, big_docs)
    plan = IngestPlan(work, PASSPHRASE, passphrase_file, data, docs, reps)
    results: dict[str, Any] = {
        "machine": machine(work),
        "config": {
            "docs": docs,
            "input_bytes": data_bytes,
            "big_docs": big_docs,
            "big_input_bytes": big_bytes,
            "reps": reps,
            "warm_runs": warm,
        },
    }
    results["ingest"] = run_ingest(plan, say)
    results["peak_rss"] = run_peak_rss(plan, big, big_docs, say)
    big.unlink()
    results["series"] = run_series(plan, warm, say)
    results["idle"] = run_idle(plan, say)
    results["machine"]["fsync_ms_end"] = fsync_latency(work)
    results["machine"]["load_end"] = os.getloadavg()[0]
    return results


def machine(work: Path) -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kib = int(Path("/proc/meminfo").read_text().split()[1])
    versions: dict[str, str | None] = {}
    for dist in ("selfdata", "aiohttp", "aiosqlite", "PyNaCl", "zstandard", "sqlite-utils"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            versions[dist] = None
    return {
        "selfdata": source(),
        "cores": os.cpu_count(),
        "cpu": cpu,
        "arch": platform.machine(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "versions": versions,
        "fsync_ms": fsync_latency(work),
        "load_start": os.getloadavg()[0],  # 1-minute load average: others' work skews us
    }


def source() -> dict[str, Any]:
    """Which selfdata was measured: its package path, and the git commit when it is this
    repository's working tree (``dirty``: uncommitted changes in the package's folders)."""
    import selfdata

    path = Path(selfdata.__file__).resolve().parent
    repo = Path(__file__).resolve().parent.parent
    info: dict[str, Any] = {"package": str(path)}
    try:
        head = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        status = subprocess.run(
            [
                "git",
                "-C",
                str(repo),
                "status",
                "--porcelain",
                "--",
                "daemon",
                "connectors",
                "webui",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return info
    if path.is_relative_to(repo) or (repo / "build") in path.parents:
        info |= {"commit": head, "dirty": bool(status.strip())}
    return info


def fsync_latency(work: Path, count: int = 50) -> float:
    """Median time to write 4 KiB and fsync it, in the work directory: peers that commit
    often are bound by this number, so it is reported with the results."""
    path = work / "fsync-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    samples = []
    try:
        for _ in range(count):
            start = time.perf_counter()
            os.write(fd, b"\0" * 4096)
            os.fsync(fd)
            samples.append(time.perf_counter() - start)
    finally:
        os.close(fd)
        path.unlink()
    return round(statistics.median(samples) * 1e3, 2)


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
