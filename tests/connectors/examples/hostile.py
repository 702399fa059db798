# ruff: noqa: ASYNC220, ASYNC230, ASYNC251 - a hostile connector does what it should not
"""A deliberately hostile test connector (not shipped): each ``attack`` tries one way
out of its sandbox and records what it managed in its log, then reports through
``ctx.state["found"]`` (a list of what worked; the tests expect it empty).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from selfdata.connectors.sdk import Context, CredentialField, Manifest

MANIFEST = Manifest(
    id="test-hostile",
    name="Test hostile",
    vendor="selfdata tests",
    description="Tries to get out.",
    doctypes=("org.example.hostile",),
    series=("hostile/",),
    credentials=(
        CredentialField("attack", "Attack"),
        CredentialField("target", "A path to attack", required=False),
        CredentialField("canary", "A canary", required=False),
        CredentialField("password", "A secret", kind="secret", required=False),
    ),
    schedule="manual",
    timeout_seconds=20,
)


async def sync(ctx: Context) -> None:
    attack = ctx.credentials["attack"]
    target = ctx.credentials.get("target", "")
    found: list[str] = []
    ctx.state["found"] = found

    def note(what: str) -> None:
        found.append(what)
        ctx.log.error("GOT: %s", what)

    if attack == "read_store":
        root = Path(target)
        canary = ctx.credentials.get("canary", "").encode()
        for path in [root, *[root / n for n in ("selfdata.db", "selfdata.db-wal", "blobs")]]:
            try:
                if path.is_dir():
                    note(f"listed {path}: {os.listdir(path)}")
                else:
                    data = path.read_bytes()
                    note(f"read {path} ({len(data)} bytes)")
                    if canary and canary in data:
                        note("PLAINTEXT CANARY")
            except OSError as err:
                ctx.log.info("no: %s: %s", path, err)
        try:
            with open(root / "planted", "w") as f:
                f.write("x")
            note("wrote into the data dir")
        except OSError as err:
            ctx.log.info("no write: %s", err)
    elif attack == "admin_socket":
        for family in (socket.AF_UNIX,):
            try:
                s = socket.socket(family)
                s.connect(target)
                s.sendall(b"GET /api/v1/admin/status HTTP/1.0\r\n\r\n")
                note(f"admin socket answered {s.recv(200)!r}")
            except OSError as err:
                ctx.log.info("no socket: %s", err)
    elif attack == "memory":
        ppid = os.getppid()
        for path in (f"/proc/{ppid}/mem", f"/proc/{ppid}/environ", f"/proc/{ppid}/maps"):
            try:
                with open(path, "rb") as f:
                    f.read(16)
                note(f"read {path}")
            except OSError as err:
                ctx.log.info("no: %s: %s", path, err)
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.ptrace(16, ppid, 0, 0) == 0:  # PTRACE_ATTACH
            note("ptrace attached to the daemon")
        try:
            os.kill(ppid, 0)
            note("may signal the daemon")
        except OSError as err:
            ctx.log.info("no signal: %s", err)
    elif attack == "other_doctype":
        for doctype in ("io.cozy.bank.operations", "org.example.other"):
            try:
                await ctx.save(
                    doctype, [{"_id": "x", "amount": 1, "label": "x", "date": "2024-01-01"}]
                )
                note(f"wrote {doctype}")
            except Exception as err:
                ctx.log.info("refused: %s", err)
        try:
            await ctx.save_series("linky/papp", [(1_700_000_000, 1.0)])
            note("wrote linky/papp")
        except Exception as err:
            ctx.log.info("refused: %s", err)
        try:
            await ctx.save_file("x.pdf", b"x")
            note("stored a file")
        except Exception as err:
            ctx.log.info("refused: %s", err)
        try:
            doc = await ctx.stored("io.cozy.bank.operations", "x")
            note(f"read back {doc}")
        except Exception as err:
            ctx.log.info("refused: %s", err)
    elif attack == "spam":
        for i in range(200_000):
            ctx.log.info("spam %d %s", i, "y" * 100)
            if i % 1000 == 0:
                await ctx.progress(i, None, "spamming")
        for _ in range(200):
            with contextlib.suppress(Exception):
                await ctx.save("org.example.nope", [{"_id": "x"}])
    elif attack == "leak":
        secret = ctx.credentials["password"]
        ctx.log.info("the password is %s", secret)
        print("stdout:", secret, flush=True)
        print("stderr:", secret, file=sys.stderr, flush=True)
        ctx.state["secret"] = "kept in state"
        await ctx.progress(1, 1, f"leaking {secret}")
        raise RuntimeError(f"failed with {secret}")
    elif attack == "hang":
        # ignore SIGTERM and start a grandchild that tries to leave the process group
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            proc = subprocess.Popen(
                [sys.executable, "-c", "import os, time; os.setsid(); time.sleep(300)"],
                start_new_session=True,
            )
            ctx.state["grandchild"] = proc.pid
        except OSError as err:
            ctx.log.info("no escape: %s", err)
            proc2 = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
            ctx.state["grandchild"] = proc2.pid
        await ctx.progress(0, None, "hanging")
        while True:
            time.sleep(0.05)  # blocking: the event loop is stuck too
    elif attack == "crash":
        await ctx.save_series("hostile/x", [(1_700_000_000, 1.0)])
        ctx.state["before_crash"] = True
        await ctx.progress(1, None, "about to crash")
        os._exit(3)
    elif attack == "segfault":
        ctypes.string_at(0)
    elif attack == "garbage":
        # write raw bytes on the socket: a frame far over the limit
        for fd in range(3, 1024):
            try:
                os.write(fd, b"\xff\xff\xff\xff" + b"{" * 100)
            except OSError:
                continue
        await asyncio.sleep(5)
