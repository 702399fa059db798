"""Unattended unlock: `selfdata unattended status|enable|disable`."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from typing import Any

import click

from ..errors import InputError
from .main import Context, backend_call, emit, pass_context
from .secrets import passphrase_option, read_secret

__all__ = ["COMMANDS"]

_TRADE_OFF = """\
Unattended unlock is on: after a restart, the box unlocks itself as soon as it finds
the key file at {path}.
The trade-off: whoever takes the box *and* the key file can read everything in it.
Keep the USB stick out of sight, or take it out once the box is unlocked and plug it
back in before a planned restart. `selfdata unattended disable` undoes this; a new
`enable` makes a new key file and the old one stops working."""


@click.group()
def unattended() -> None:
    """Unlock after a restart with a key file on a USB stick (opt-in; see docs/threat-model.md)."""


@unattended.command()
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@pass_context
def status(ctx: Context, as_json: bool) -> None:
    """On or off, where the key file is expected, and what the box last found there."""
    data = backend_call(ctx, lambda b: b.unattended())
    emit(data, as_json, _human_status)


def _human_status(data: dict[str, Any]) -> str:
    if not data["enabled"]:
        return "Unattended unlock is off: the box starts locked until you unlock it."
    lines = [f"Unattended unlock is on: key file expected at {data['path']}."]
    if data["watching"]:
        lines.append(f"The box is locked and looking for it ({data['problem'] or 'not yet'}).")
    return "\n".join(lines)


@unattended.command()
@click.argument("path")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True, writable=True),
    help="Write the key file here instead of PATH (- for stdout), e.g. to copy it later.",
)
@click.option("--force", is_flag=True, help="Replace an existing file.")
@passphrase_option()
@click.option("--json", "as_json", is_flag=True, help="Output JSON (without the key).")
@pass_context
def enable(
    ctx: Context,
    path: str,
    output: str | None,
    force: bool,
    passphrase_file: str | None,
    as_json: bool,
) -> None:
    """Turn unattended unlock on: make a key file the box will look for at PATH.

    PATH is where the box will find the file after a restart, e.g. on a USB stick:
    /media/selfdatakey/selfdata.key. Running it again makes a new key; the old one
    stops working.
    """
    target = output or path
    secret = read_secret(passphrase_file, "Passphrase")
    if target == "-":
        data = backend_call(ctx, lambda b: b.enable_unattended(secret, path))
        sys.stdout.write(data.pop("key_file"))
        click.echo(_TRADE_OFF.format(path=data["path"]), err=True)
        return
    if os.path.lexists(target) and not force:
        raise InputError(f"{target} exists: give --force to replace it")
    # A scratch file beside the target first: a place we cannot write fails before the
    # vault changes, and a failed enable leaves an existing key file as it was.
    fd, scratch = _scratch_beside(target, ctx.data_dir.root)
    try:
        data = backend_call(ctx, lambda b: b.enable_unattended(secret, path))
        with os.fdopen(fd, "w", encoding="ascii") as file:
            fd = -1
            file.write(data.pop("key_file"))
            file.flush()
            os.fsync(file.fileno())
        os.replace(scratch, target)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(scratch)
        raise
    emit({**data, "written": target}, as_json, lambda d: _TRADE_OFF.format(path=d["path"]))


def _scratch_beside(target: str, data_dir: os.PathLike[str]) -> tuple[int, str]:
    folder = os.path.dirname(os.path.abspath(target))
    try:
        fd, scratch = tempfile.mkstemp(prefix=".selfdata-key-", dir=folder)
    except OSError as err:
        raise InputError(f"cannot write the key file in {folder}: {err.strerror}") from None
    # The daemon runs as the data dir's group (the admin group on the appliance): let it
    # read the file. On a FAT stick the mount options decide instead, and this is a no-op.
    with contextlib.suppress(OSError):
        os.fchown(fd, -1, os.stat(data_dir).st_gid)
        os.fchmod(fd, 0o640)
    return fd, scratch


@unattended.command()
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@pass_context
def disable(ctx: Context, as_json: bool) -> None:
    """Turn unattended unlock off: no key file opens the box any more."""
    data = backend_call(ctx, lambda b: b.disable_unattended())
    emit(data, as_json, lambda d: "Unattended unlock is off; you may delete the key file.")


COMMANDS = [unattended]
