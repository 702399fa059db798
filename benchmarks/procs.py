"""Processes under measurement: timed runs, the daemon, /proc readings, the admin socket.

Every process started here is reaped here (``wait4``, which also hands back its CPU
time, peak RSS and bytes written), and a daemon that does not stop on SIGTERM is
killed, so a benchmark run leaves nothing behind.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "VENV_BIN",
    "ChildrenPeak",
    "Daemon",
    "Finished",
    "UnixHTTP",
    "cpu_seconds",
    "io_written",
    "reset_peak_rss",
    "run",
    "selfdata",
    "vm",
]

VENV_BIN = Path(sys.executable).parent
PYTHON = sys.executable
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Finished:
    """A process that ran to its end: wall time and what the kernel counted for it."""

    argv: list[str]
    wall: float
    cpu: float  # user + system seconds, all threads
    max_rss_kib: int  # peak resident set (VmHWM, sampled; 0 for a daemon)
    written: int  # bytes sent to the storage layer (write_bytes), all threads
    stdout: str


def selfdata(data_dir: Path, *args: str) -> list[str]:
    return [str(VENV_BIN / "selfdata"), "--data-dir", str(data_dir), *args]


def run(
    argv: Sequence[str], env: Mapping[str, str] | None = None, *, check: bool = True
) -> Finished:
    """Run ``argv`` to completion; wall time covers the whole process, start-up included."""
    full_env = {**os.environ, **(env or {})}
    with tempfile.TemporaryFile() as out_f, tempfile.TemporaryFile() as err_f:
        start = time.perf_counter()
        proc = subprocess.Popen(list(argv), env=full_env, stdout=out_f, stderr=err_f)
        peak = PeakRss(proc.pid)
        try:
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)  # ended, not yet reaped
            wall = time.perf_counter() - start
        except BaseException:
            proc.kill()
            raise
        finally:
            peak.stop()
            _, status, usage = os.wait4(proc.pid, 0)  # reaps it, with its resource usage
        proc.returncode = os.waitstatus_to_exitcode(status)
        out_f.seek(0)
        err_f.seek(0)
        out = out_f.read().decode(errors="replace")
        err = err_f.read().decode(errors="replace")
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({proc.returncode}): {err.strip()[-800:]}")
    return Finished(
        list(argv),
        wall,
        usage.ru_utime + usage.ru_stime,
        peak.kib,
        usage.ru_oublock * 512,
        out,
    )


class PeakRss:
    """Samples a child's VmHWM until it ends (every 10 ms; VmHWM only grows).

    ``wait4``'s ``ru_maxrss`` cannot be used: Linux carries the parent's high-water mark
    over fork and exec into it, so every child of a big benchmark process would seem big.
    """

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        self.pid = pid
        self.kib = 0
        self._interval = interval
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while True:
            with suppress(OSError):
                self.kib = max(self.kib, vm(self.pid).get("VmHWM", 0))
            if self._done.wait(self._interval):
                return

    def stop(self) -> None:
        self._done.set()
        self._thread.join()


# -- /proc ------------------------------------------------------------------------------


def vm(pid: int) -> dict[str, int]:
    """VmRSS, VmHWM, … of a live process, in KiB."""
    values: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Vm") or line.startswith("Rss"):
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0])
    return values


class ChildrenPeak:
    """The largest VmHWM of any child of ``pid`` (the import worker), sampled every 20 ms
    in a thread while it runs: a child's peak is gone once it has exited."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> ChildrenPeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            for task in Path(f"/proc/{self.pid}/task").glob("*/children"):
                try:
                    children = task.read_text().split()
                except OSError:
                    continue
                for child in children:
                    try:
                        self.peak_kib = max(self.peak_kib, vm(int(child)).get("VmHWM", 0))
                    except (OSError, ValueError):
                        continue  # gone meanwhile


def reset_peak_rss(pid: int) -> None:
    """Reset VmHWM to the current RSS (Linux ``clear_refs`` 5), for a peak of what follows."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def io_written(pid: int) -> int:
    """Bytes this process (all threads) caused to be written to storage so far.

    ``write_bytes`` counts page-cache pages dirtied for a file: what later reaches the
    disk. It is the number ``wait4`` reports as ``ru_oublock`` (in 512-byte blocks) when
    the process ends, so readings before and after the exit can be subtracted.
    """
    for line in Path(f"/proc/{pid}/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    raise RuntimeError(f"no write_bytes in /proc/{pid}/io")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process, all threads, and of the children it
    has waited for (the daemon's import worker: its CPU is the import's too)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return sum(int(f) for f in fields[11:15]) / TICKS


# -- the admin socket -----------------------------------------------------------------------


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("selfdata", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class UnixHTTP:
    """A keep-alive HTTP/1.1 client on the daemon's admin socket (stdlib, synchronous)."""

    def __init__(self, path: Path, timeout: float = 300.0) -> None:
        self._conn = _UnixConnection(str(path), timeout)

    def request(self, method: str, url: str, body: bytes | None = None) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        self._conn.request(method, url, body=body, headers=headers)
        resp = self._conn.getresponse()
        return resp.status, resp.read()

    def json(self, method: str, url: str, body: Any = None) -> Any:
        raw = None if body is None else json.dumps(body).encode()
        status, data = self.request(method, url, raw)
        if status >= 400:
            raise RuntimeError(f"{method} {url}: HTTP {status}: {data[:300]!r}")
        return json.loads(data)

    def close(self) -> None:
        self._conn.close()


# -- the daemon -------------------------------------------------------------------------------


class Daemon:
    """``selfdata serve`` on loopback, ports chosen by the kernel, no mDNS."""

    def __init__(self, data_dir: Path, log: Path, env: Mapping[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.socket = data_dir / "selfdata.sock"
        argv = selfdata(
            data_dir, "serve", "--host", "127.0.0.1", "--port", "0", "--http-port", "0", "--no-mdns"
        )
        self._log_path = log
        self._log = log.open("ab")
        self._started = time.perf_counter()
        self.proc = subprocess.Popen(
            argv, env={**os.environ, **(env or {})}, stdout=self._log, stderr=self._log
        )
        self.pid = self.proc.pid
        self.final: Finished | None = None
        try:
            self.ready_after = self._wait_ready()
        except BaseException:
            self.stop(timeout=5)
            raise

    def _wait_ready(self, timeout: float = 60.0) -> float:
        deadline = self._started + timeout
        while time.perf_counter() < deadline:
            if os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                raise RuntimeError(f"the daemon exited early:\n{self.log_tail()}")
            if self.socket.exists():
                client = UnixHTTP(self.socket, timeout=5)
                try:
                    status, _ = client.request("GET", "/api/v1/status")
                    if status == 200:
                        return time.perf_counter() - self._started
                except OSError:
                    pass
                finally:
                    client.close()
            time.sleep(0.02)
        raise RuntimeError(f"the daemon did not answer on its admin socket:\n{self.log_tail()}")

    def log_tail(self, lines: int = 15) -> str:
        self._log.flush()
        return "\n".join(self._log_path.read_text(errors="replace").splitlines()[-lines:])

    def client(self) -> UnixHTTP:
        return UnixHTTP(self.socket)

    def stop(self, timeout: float = 60.0) -> Finished:
        """SIGTERM, wait (the daemon checkpoints its WAL as it closes), reap."""
        if self.final is not None:
            return self.final
        with suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.perf_counter() + timeout
        while True:
            pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.kill(self.pid, signal.SIGKILL)
                _, status, usage = os.wait4(self.pid, 0)
                break
            time.sleep(0.02)
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        self._log.close()
        self.final = Finished(
            self.proc.args if isinstance(self.proc.args, list) else [],
            time.perf_counter() - self._started,
            usage.ru_utime + usage.ru_stime,
            0,
            usage.ru_oublock * 512,
            "",
        )
        return self.final


@contextmanager
def daemon(data_dir: Path, log: Path, env: Mapping[str, str] | None = None) -> Iterator[Daemon]:
    d = Daemon(data_dir, log, env)
    try:
        yield d
    finally:
        d.stop()
