"""Idle memory: the daemon after start-up (locked) and after unlock, and a floor.

The floor is a minimal aiohttp hello-world server started the same way (same
interpreter, loopback, port chosen by the kernel). Readings are taken after a short
settling pause, from /proc/<pid>/status of the running process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from ingest import IngestPlan, init_vault
from procs import PYTHON, Daemon, run, selfdata, vm

__all__ = ["run_idle"]

SETTLE = 1.0


def daemon_idle(plan: IngestPlan) -> dict[str, Any]:
    data_dir = plan.work / "idle"
    init_vault(plan, data_dir)
    daemon = Daemon(data_dir, plan.work / "idle.log")
    try:
        time.sleep(SETTLE)
        locked = vm(daemon.pid)
        unlock = run(selfdata(data_dir, "unlock", "--passphrase-file", str(plan.passphrase_file)))
        time.sleep(SETTLE)
        unlocked = vm(daemon.pid)
    finally:
        daemon.stop()
    return {
        "ready_s": daemon.ready_after,
        "locked_rss_kib": locked["VmRSS"],
        "unlocked_rss_kib": unlocked["VmRSS"],
        "peak_rss_kib": unlocked["VmHWM"],  # includes Argon2id's 64 MiB during unlock
        "unlock_cli_wall": unlock.wall,
    }


def hello_idle(work: Path) -> dict[str, Any]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [PYTHON, str(Path(__file__).parent / "peer_hello.py")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        proc.stdout.readline()  # the port: it is listening
        ready = time.perf_counter() - start
        time.sleep(SETTLE)
        rss = vm(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    return {"ready_s": ready, "rss_kib": rss["VmRSS"]}


def run_idle(plan: IngestPlan, say: Any) -> dict[str, Any]:
    say("idle RSS: selfdata serve, locked then unlocked")
    selfdata_idle = daemon_idle(plan)
    say("idle RSS: aiohttp hello-world (floor)")
    return {"selfdata": selfdata_idle, "hello": hello_idle(plan.work)}
