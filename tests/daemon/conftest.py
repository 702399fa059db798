"""Running the real ``selfdata`` command, offline or next to a real daemon process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selfdata.paths import DataDir

from ..conftest import PASSPHRASE


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Cli:
    data_dir: DataDir
    env: dict[str, str]

    def __call__(self, *args: str, input: str | bytes | None = None, timeout: float = 60) -> Result:
        data = input.encode() if isinstance(input, str) else input
        proc = subprocess.run(
            [sys.executable, "-m", "selfdata", "--data-dir", str(self.data_dir.root), *args],
            input=data,
            capture_output=True,
            env=self.env,
            timeout=timeout,
            check=False,
        )
        return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())

    def ok(self, *args: str, **kwargs: Any) -> Result:
        result = self(*args, **kwargs)
        assert result.code == 0, f"selfdata {' '.join(args)} failed: {result.err}"
        return result


def assert_one_line_error(result: Result, fragment: str) -> None:
    """The CLI's promise: non-zero exit, one clear line, never a traceback."""
    assert result.code != 0
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.err
    assert fragment in lines[0], lines[0]


@pytest.fixture
def cli(data_dir: DataDir) -> Cli:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELFDATA_")}
    env["SELFDATA_KDF_SECONDS"] = "0"
    return Cli(data_dir, env)


@pytest.fixture
def initialised(cli: Cli, passphrase_file: Path) -> Cli:
    cli.ok("init", "--passphrase-file", str(passphrase_file))
    return cli


@dataclass
class DaemonProcess:
    proc: subprocess.Popen[bytes]
    log: Path

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=30)


def start_daemon(cli: Cli, log: Path, *extra: str) -> DaemonProcess:
    log_file = open(log, "wb")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "selfdata",
            "--data-dir",
            str(cli.data_dir.root),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--http-port",
            "0",
            "--no-mdns",
            *extra,
        ],
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=cli.env,
    )
    log_file.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"daemon exited: {log.read_text()}")
        if cli.data_dir.socket.exists() and b"serving" in log.read_bytes():
            return DaemonProcess(proc, log)
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"daemon did not start: {log.read_text()}")


@pytest.fixture
def daemon(cli: Cli, tmp_path: Path) -> Iterator[DaemonProcess]:
    running = start_daemon(cli, tmp_path / "daemon.log")
    try:
        yield running
    finally:
        if running.proc.poll() is None:
            running.stop()


__all__ = ["PASSPHRASE", "Cli", "DaemonProcess", "Result", "assert_one_line_error", "start_daemon"]
