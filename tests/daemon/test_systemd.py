"""Under systemd the daemon says READY=1, keeps the watchdog fed and reports its state."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import systemd.daemon  # noqa: F401 - the suite installs the `systemd` extra: this must import
from selfdata.paths import DataDir

from .conftest import Cli


def receive(sock: socket.socket, until: str, timeout: float = 20) -> list[str]:
    messages: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            messages.append(sock.recv(4096).decode())
        except TimeoutError:
            break
        if any(until in m for m in messages):
            return messages
    raise AssertionError(f"never got {until!r}; got {messages}")


def test_ready_status_watchdog_and_stopping_reach_systemd(
    cli: Cli, data_dir: DataDir, tmp_path: Path, passphrase_file: Path
) -> None:
    notify_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify_path))
    env = cli.env | {"NOTIFY_SOCKET": str(notify_path), "WATCHDOG_USEC": "300000"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "selfdata",
            "--data-dir",
            str(data_dir.root),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--http-port",
            "0",
            "--no-mdns",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        ready = receive(sock, "READY=1")
        assert any("STATUS=Waiting for setup" in m for m in ready)
        watchdog = receive(sock, "WATCHDOG=1", timeout=5)
        assert watchdog
        cli.ok("init", "--passphrase-file", str(passphrase_file))
        assert any("STATUS=Unlocked" in m for m in receive(sock, "STATUS=Unlocked"))
        cli.ok("lock")
        assert receive(sock, "STATUS=Locked")
        proc.terminate()
        assert receive(sock, "STOPPING=1")
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()


def test_without_systemd_the_glue_is_silent() -> None:
    from selfdata import systemd as glue

    assert glue.notify(READY="1") is False
    assert glue.journal_handler() is None
