"""Boot the selfdata SD image in QEMU and talk to it as its owner would: over ssh.

`qemu-system-aarch64 -M virt`, software emulation (TCG), the image's own kernel, initrd
and kernel command line taken from its FAT partition, the whole card as a virtio
disk, user-mode networking with ssh, HTTPS and HTTP forwarded to loopback ports and
no other way out (``restrict=on``). Every wait polls with a bounded timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

__all__ = ["Card", "Guest", "GuestError", "make_stick", "prepare_card"]

GIB = 1024**3
SSH_USER = "admin"


class GuestError(AssertionError):
    """The guest did not do what was expected; the message carries its console's tail."""


@dataclass(frozen=True)
class Card:
    """A decompressed copy of the image, as a user's SD card after flashing and editing."""

    disk: Path
    kernel: Path
    initrd: Path
    cmdline: str
    image_bytes: int


def _mtools_env() -> dict[str, str]:
    return {**os.environ, "MTOOLS_SKIP_CHECK": "1"}


def fat_offset(disk: Path) -> int:
    table = json.loads(
        subprocess.run(
            ["sfdisk", "--json", str(disk)], capture_output=True, text=True, check=True
        ).stdout
    )
    first = table["partitiontable"]["partitions"][0]
    return int(first["start"]) * 512


def fat_files(disk: Path) -> list[str]:
    out = subprocess.run(
        ["mdir", "-b", "-i", f"{disk}@@{fat_offset(disk)}", "::/"],
        capture_output=True,
        text=True,
        check=True,
        env=_mtools_env(),
    ).stdout
    return [line.strip().removeprefix("::/") for line in out.splitlines() if line.strip()]


def fat_read(disk: Path, name: str, dest: Path) -> Path:
    subprocess.run(
        ["mcopy", "-o", "-i", f"{disk}@@{fat_offset(disk)}", f"::/{name}", str(dest)],
        check=True,
        env=_mtools_env(),
    )
    return dest


def fat_write(disk: Path, source: Path, name: str) -> None:
    subprocess.run(
        ["mcopy", "-o", "-i", f"{disk}@@{fat_offset(disk)}", str(source), f"::/{name}"],
        check=True,
        env=_mtools_env(),
    )


def make_stick(path: Path, label: str, files: dict[str, bytes]) -> Path:
    """A FAT USB stick image holding ``files``, made without mounting anything."""
    with path.open("wb") as disk:
        disk.truncate(32 * 1024**2)
    subprocess.run(["mkfs.vfat", "-n", label, str(path)], check=True, capture_output=True)
    for name, data in files.items():
        source = path.parent / f"stick-{name}"
        source.write_bytes(data)
        subprocess.run(
            ["mcopy", "-o", "-i", str(path), str(source), f"::/{name}"],
            check=True,
            env=_mtools_env(),
        )
    return path


def prepare_card(image_xz: Path, workdir: Path, settings: str, extra_bytes: int = GIB) -> Card:
    """Flash the image to a 'card' extra_bytes larger, and put the settings file on it."""
    disk = workdir / "card.img"
    if image_xz.suffix == ".img":  # an uncompressed image (when working on the image)
        subprocess.run(["cp", "--sparse=always", str(image_xz), str(disk)], check=True)
    else:
        with disk.open("wb") as out:
            subprocess.run(
                ["xz", "--decompress", "--stdout", str(image_xz)], stdout=out, check=True
            )
    image_bytes = disk.stat().st_size
    os.truncate(disk, image_bytes + extra_bytes)
    names = fat_files(disk)
    kernel = fat_read(disk, next(n for n in names if n.startswith("vmlinuz-")), workdir / "vmlinuz")
    initrd = fat_read(
        disk, next(n for n in names if n.startswith("initrd.img-")), workdir / "initrd"
    )
    cmdline = fat_read(disk, "cmdline.txt", workdir / "cmdline.txt").read_text().strip()
    toml = workdir / "selfdata.toml"
    toml.write_text(settings)
    fat_write(disk, toml, "selfdata.toml")
    return Card(disk, kernel, initrd, cmdline, image_bytes)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Guest:
    card: Card
    workdir: Path
    ssh_key: Path
    ports: dict[int, int] = field(default_factory=dict)  # guest port -> loopback port
    sticks: list[Path] = field(default_factory=list)  # more disks: USB sticks plugged in
    proc: subprocess.Popen[bytes] | None = None
    boots: int = 0
    _stderr: BinaryIO | None = None

    @property
    def console_log(self) -> Path:
        return self.workdir / f"console-{self.boots}.log"

    def qemu_command(self) -> list[str]:
        # The Pi's command line, with the consoles of QEMU's virt machine instead.
        args = [a for a in self.card.cmdline.split() if not a.startswith(("console=", "cma="))]
        append = " ".join([*args, "console=ttyAMA0", "systemd.show_status=1"])
        fwd = ",".join(
            f"hostfwd=tcp:127.0.0.1:{host}-:{guest}" for guest, host in self.ports.items()
        )
        return [
            "qemu-system-aarch64",
            "-M",
            "virt",
            "-cpu",
            "cortex-a72",
            "-smp",
            "2",
            "-m",
            "1024",
            "-accel",
            "tcg,thread=multi",
            "-kernel",
            str(self.card.kernel),
            "-initrd",
            str(self.card.initrd),
            "-append",
            append,
            "-drive",
            f"if=none,id=card,file={self.card.disk},format=raw,cache=unsafe",
            "-device",
            "virtio-blk-pci,drive=card",
            *[
                arg
                for i, stick in enumerate(self.sticks)
                for arg in (
                    "-drive",
                    f"if=none,id=stick{i},file={stick},format=raw,cache=unsafe",
                    "-device",
                    f"virtio-blk-pci,drive=stick{i}",
                )
            ],
            "-netdev",
            f"user,id=lan,restrict=on,{fwd}",
            "-device",
            "virtio-net-pci,netdev=lan,romfile=",
            "-device",
            "virtio-rng-pci",
            "-display",
            "none",
            "-monitor",
            "none",
            "-serial",
            f"file:{self.console_log}",
            "-no-reboot",
        ]

    def start(self) -> None:
        assert self.proc is None
        self.boots += 1
        self.ports = {22: free_port(), 443: free_port(), 80: free_port()}
        self._stderr = (self.workdir / "qemu.err").open("ab")
        self.proc = subprocess.Popen(
            self.qemu_command(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
        )

    def console_tail(self, lines: int = 60) -> str:
        try:
            text = self.console_log.read_text(errors="replace")
        except OSError:
            return "(no console log)"
        return "\n".join(text.splitlines()[-lines:])

    def fail(self, message: str) -> GuestError:
        return GuestError(f"{message}\n--- guest console (tail) ---\n{self.console_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ssh_argv(self, command: str) -> list[str]:
        return [
            "ssh",
            "-i",
            str(self.ssh_key),
            "-p",
            str(self.ports[22]),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=30",
            "-o",
            "ServerAliveInterval=10",
            "-o",
            "ServerAliveCountMax=6",
            f"{SSH_USER}@127.0.0.1",
            command,
        ]

    def ssh(
        self, command: str, timeout: float = 180, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a shell command in the guest as the admin user."""
        try:
            done = subprocess.run(
                self.ssh_argv(command),
                check=False,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as err:
            raise self.fail(f"ssh {command!r}: no answer in {timeout:.0f} s") from err
        if check and done.returncode != 0:
            raise self.fail(
                f"ssh {command!r} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
            )
        return done

    def wait_for(
        self, what: str, probe: Callable[[], bool], timeout: float, every: float = 5
    ) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if not self.alive():
                raise self.fail(f"QEMU exited while waiting for {what}")
            if probe():
                return
            if time.monotonic() > deadline:
                raise self.fail(f"{what}: not within {timeout:.0f} s")
            time.sleep(every)

    def wait_ssh(self, timeout: float) -> float:
        """Wait until ssh with the test key works; return the seconds it took."""
        started = time.monotonic()

        def probe() -> bool:
            try:
                return (
                    subprocess.run(
                        self.ssh_argv("true"),
                        check=False,
                        capture_output=True,
                        timeout=60,
                        stdin=subprocess.DEVNULL,
                    ).returncode
                    == 0
                )
            except subprocess.TimeoutExpired:
                return False

        self.wait_for("ssh login with the test key", probe, timeout)
        return time.monotonic() - started

    def power_cut(self) -> None:
        """Pull the plug: SIGKILL QEMU (what the guest had not written is lost)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=60)
        self._exited()

    def _exited(self) -> None:
        self.proc = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def shutdown(self, timeout: float = 180) -> None:
        if not self.alive():
            self._exited()
            return
        with contextlib.suppress(GuestError):
            self.ssh("sudo systemctl poweroff", timeout=30, check=False)
        assert self.proc is not None
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=60)
        self._exited()


def quote(*words: str) -> str:
    return " ".join(shlex.quote(w) for w in words)
