"""Starting, feeding and stopping a connector's child process (the daemon's side).

:func:`run_child` spawns ``python -I -m selfdata.connectors.runtime.child FD`` with:
an empty private work dir as cwd (and ``HOME``/``TMPDIR``), a scrubbed environment
(no ``SELFDATA_*``, no secrets: credentials travel in the ``init`` message), only the
socket inherited (every other descriptor closed), its own session and process group, and
a :class:`~.sandbox.Policy` it applies before importing any connector code. It then
answers the child's messages until ``done``, the time-out, or a protocol breach, and
makes sure the whole process group is gone afterwards (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import socket
import stat
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .protocol import ProtocolError, encode, read_frame
from .sandbox import Policy, landlock_abi, protect_memory, python_paths

__all__ = [
    "Refused",
    "RunLog",
    "TooManyRefusals",
    "isolation_available",
    "make_policy",
    "run_child",
]

log = logging.getLogger("selfdata.connectors")

NOBODY = 65534
TERM_GRACE = 3.0
EXIT_GRACE = 5.0
MAX_REFUSALS = 50
_SYSTEM_READ = (
    "/usr", "/lib", "/lib64", "/etc/ssl", "/etc/ca-certificates", "/etc/pki",
    "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/gai.conf",
    "/etc/host.conf", "/etc/localtime", "/etc/services", "/etc/protocols",
    "/etc/ld.so.cache", "/etc/mime.types", "/dev/null", "/dev/urandom", "/dev/random",
    "/dev/zero",
)  # fmt: skip
_WARNED: set[Path] = set()


class Refused(Exception):
    """A request outside the connector's capability: answered with an error, counted."""


class TooManyRefusals(Exception):
    pass


@dataclass
class RunLog:
    """A run's log: capped in size, with the account's secret values blanked out."""

    secrets: Sequence[str] = ()
    max_bytes: int = 64 * 1024
    max_line: int = 2000
    lines: list[dict[str, Any]] = field(default_factory=list)
    dropped: int = 0
    _size: int = 0

    def __post_init__(self) -> None:
        forms: set[str] = set()
        for value in self.secrets:
            if len(value) >= 4:
                forms |= {value, quote(value, safe=""), quote(value)}
        self._forms = sorted(forms, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for form in self._forms:
            text = text.replace(form, "[redacted]")
        return text

    def add(self, level: str, message: str) -> None:
        text = self.redact(str(message))
        if len(text) > self.max_line:
            text = text[: self.max_line] + " …"
        if self._size + len(text) > self.max_bytes:
            self.dropped += 1
            return
        self._size += len(text) + 40
        level = level if level in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") else "INFO"
        self.lines.append({"t": round(time.time(), 3), "level": level, "message": text})

    def to_json(self) -> dict[str, Any]:
        return {"lines": self.lines, "dropped": self.dropped}


def isolation_available() -> dict[str, Any]:
    """Which sandbox layers this box can apply (shown by the API and the CLI)."""
    return {
        "landlock_abi": landlock_abi(),
        "drop_uid": os.geteuid() == 0 and _interpreter_world_readable(),
        "seccomp": sys.platform == "linux",
    }


def make_policy(
    workdir: Path,
    *,
    protect: Iterable[Path] = (),
    devices: Iterable[str] = (),
    read_extra: Iterable[str] = (),
) -> Policy:
    """The child's view: Python and its libraries, a few system files, its work dir.

    A path that would contain one of ``protect`` (the data dir) is left out, whatever
    brought it in.
    """
    guarded = [Path(os.path.realpath(p)) for p in protect]
    read: list[str] = []
    for path in (*_read_paths(tuple(sys.path)), *read_extra):
        real = Path(os.path.realpath(path))
        if any(g == real or g.is_relative_to(real) for g in guarded):
            if real not in _WARNED:
                _WARNED.add(real)
                log.warning("not letting connectors read %s: it holds the data dir", real)
            continue
        read.append(str(real))
    drop = os.geteuid() == 0 and _interpreter_world_readable()
    granted = []
    for device in devices:
        real = Path(os.path.realpath(device))
        # neither a folder holding the data dir nor anything inside it: a drop folder
        # named there would let a connector move the box's own files
        if any(g == real or g.is_relative_to(real) or real.is_relative_to(g) for g in guarded):
            log.warning("not letting a connector use %s: it is or holds the data dir", real)
            continue
        granted.append(str(real))
    return Policy(
        read=sorted(set(read)),
        write=[str(workdir)],
        devices=granted,
        uid=NOBODY if drop else None,
        gid=NOBODY if drop else None,
    )


@cache
def _read_paths(python_path: tuple[str, ...]) -> tuple[str, ...]:
    """What the child may read; by Python path, which a test (or a plugin) may extend."""
    paths = python_paths(python_path) | set(_SYSTEM_READ)
    return tuple(sorted(paths | {os.path.realpath(p) for p in paths}))


@cache
def _interpreter_world_readable() -> bool:
    """Whether ``nobody`` could run this Python (not so from a root-only pyenv, say)."""
    targets = [os.path.realpath(sys.executable), os.path.dirname(os.__file__)]
    targets += [p for p in sys.path if p and os.path.isdir(p)]
    for target in targets:
        path = Path(target)
        for part in [path, *path.parents]:
            try:
                mode = part.stat().st_mode
            except OSError:
                return False
            need = stat.S_IXOTH if part != path or stat.S_ISDIR(mode) else stat.S_IROTH
            if not mode & need:
                return False
    return True


Serve = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


async def run_child(
    init: dict[str, Any],
    *,
    serve: Serve,
    log_to: RunLog,
    timeout: float,  # noqa: ASYNC109 - the run's limit, enforced with asyncio.timeout
    protect: Sequence[Path] = (),
    devices: Sequence[str] = (),
    read_extra: Sequence[str] = (),
    on_hello: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Run one child to its end; returns its ``done`` message (or one made for it)."""
    protect_memory()  # the daemon's
    workdir = Path(tempfile.mkdtemp(prefix="selfdata-run-"))
    policy = make_policy(workdir, protect=protect, devices=devices, read_extra=read_extra)
    if policy.uid is not None:
        os.chown(workdir, policy.uid, policy.gid if policy.gid is not None else policy.uid)
    parent, child = socket.socketpair()
    proc: asyncio.subprocess.Process | None = None
    graceful = False
    pump: asyncio.Task[None] | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-I", "-u", "-m", "selfdata.connectors.runtime.child",
            str(child.fileno()),
            pass_fds=(child.fileno(),),
            cwd=workdir,
            env=_child_env(workdir),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        child.close()
        assert proc.stdout is not None
        pump = asyncio.create_task(_pump_output(proc.stdout, log_to))
        reader, writer = await asyncio.open_connection(sock=parent)
        message = {
            **init, "op": "init", "policy": policy.to_json(),
            "sys_path": [p for p in sys.path if p],
        }  # fmt: skip
        writer.write(encode(message))
        await writer.drain()
        try:
            async with asyncio.timeout(timeout):
                done = await _serve(reader, writer, serve, log_to, on_hello)
        except TimeoutError:
            done = {"outcome": "timeout", "message": f"stopped after {timeout:.0f} s"}
        except ProtocolError as err:
            done = {"outcome": "bug", "message": f"the connector broke the protocol: {err}"}
        except TooManyRefusals:
            done = {
                "outcome": "bug",
                "message": f"stopped after {MAX_REFUSALS} refused writes outside its manifest",
            }
        graceful = done.get("op") == "done"
        if done.get("outcome") is None:  # the stream ended without a "done"
            code = await _wait(proc, EXIT_GRACE)
            done = {"outcome": "bug", "message": _describe_exit(code)}
        return done
    finally:
        child.close()
        if writer is not None:
            writer.close()
        else:
            parent.close()
        if proc is not None:
            await _stop(proc, graceful)
        if pump is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(pump, 2)
        shutil.rmtree(workdir, ignore_errors=True)


async def _serve(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    serve: Serve,
    log_to: RunLog,
    on_hello: Callable[[dict[str, Any]], None] | None,
) -> dict[str, Any]:
    refusals = 0
    frames = 0
    while True:
        message = await read_frame(reader)
        if message is None:
            return {}
        frames += 1
        if frames % 64 == 0:
            await asyncio.sleep(0)  # a flood of frames must not starve the daemon
        op = message["op"]
        if op == "done":
            return message
        if op == "hello":
            if on_hello is not None:
                on_hello(message)
            continue
        if op == "log":
            log_to.add(str(message.get("level", "INFO")), str(message.get("message", "")))
            continue
        try:
            reply = await serve(message)
        except Refused as err:
            refusals += 1
            log_to.add("ERROR", f"refused: {err}")
            if refusals >= MAX_REFUSALS:
                raise TooManyRefusals() from None
            reply = {"error": str(err), "refused": True}
        if "id" in message:
            writer.write(encode({"op": "reply", "id": message["id"], **(reply or {})}))
            await writer.drain()
        elif reply is not None:
            raise ProtocolError(f"{op} needs an id")


async def _pump_output(stream: asyncio.StreamReader, log_to: RunLog) -> None:
    """What the child prints (print(), warnings, a crash's traceback) goes to the run log."""
    pending = b""
    while data := await stream.read(4096):
        pending += data
        *lines, pending = pending.split(b"\n")
        for line in lines:
            log_to.add("INFO", "output: " + line.decode("utf-8", "replace"))
        if len(pending) > 4096:
            log_to.add("INFO", "output: " + pending.decode("utf-8", "replace"))
            pending = b""
    if pending:
        log_to.add("INFO", "output: " + pending.decode("utf-8", "replace"))


async def _wait(proc: asyncio.subprocess.Process, seconds: float) -> int | None:
    try:
        return await asyncio.wait_for(proc.wait(), seconds)
    except TimeoutError:
        return None


async def _stop(proc: asyncio.subprocess.Process, graceful: bool) -> None:
    """The child and anything it started are gone when this returns."""
    if proc.returncode is None and await _wait(proc, EXIT_GRACE if graceful else 0) is None:
        _killpg(proc.pid, signal.SIGTERM)
        if await _wait(proc, TERM_GRACE) is None:
            _killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
    _killpg(proc.pid, signal.SIGKILL)  # stragglers of its process group


def _killpg(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _child_env(workdir: Path) -> dict[str, str]:
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
    }


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "the connector's process stopped talking and did not exit"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"the connector's process was killed by {name}"
    return f"the connector's process exited (status {code}) without a result"
