"""The vault: init, unlock, lock, passwd, recover."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from ..errors import InputError
from ..keyfile import MAX_SIZE
from .main import Context, backend_call, emit, pass_context
from .secrets import passphrase_option, read_secret

__all__ = ["COMMANDS"]

_NEW = passphrase_option(
    "--new-passphrase-file",
    "SELFDATA_NEW_PASSPHRASE_FILE",
    "Read the new passphrase from this file (- for stdin).",
)

_RECOVERY_EXPLAINED = """\
Recovery key (write it down, keep it away from the box; shown only this once):

    {key}

With it you can set a new passphrase if you forget yours (`selfdata recover`).
Without passphrase and recovery key, nobody (not even you) can read this box's data."""


@click.command()
@passphrase_option()
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@pass_context
def init(ctx: Context, passphrase_file: str | None, as_json: bool) -> None:
    """Create the vault: choose a passphrase, get a recovery key."""
    secret = read_secret(passphrase_file, "New passphrase", confirm=True)
    key = backend_call(ctx, lambda b: b.init(secret))
    emit(
        {"recovery_key": key}, as_json, lambda d: _RECOVERY_EXPLAINED.format(key=d["recovery_key"])
    )


@click.command()
@passphrase_option()
@click.option(
    "--key-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Unlock with the key file of unattended unlock instead of the passphrase.",
)
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@pass_context
def unlock(ctx: Context, passphrase_file: str | None, key_file: Path | None, as_json: bool) -> None:
    """Unlock the running box."""
    if key_file is not None:
        text = _read_key_file(key_file)
        data = backend_call(ctx, lambda b: b.unlock_with_key_file(text))
    else:
        secret = read_secret(passphrase_file, "Passphrase")
        data = backend_call(ctx, lambda b: b.unlock(secret))
    emit(data, as_json, _human_unlock)


def _read_key_file(path: Path) -> str:
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_SIZE + 1)
    except OSError as err:
        raise InputError(f"cannot read the key file {path}: {err.strerror}") from None
    if len(data) > MAX_SIZE:
        raise InputError(f"{path} is not a selfdata key file (too large)")
    return data.decode("ascii", errors="replace")


def _human_unlock(data: dict[str, Any]) -> str:
    merged = data.get("merged") or {}
    lines = ["Unlocked."]
    if merged.get("batches"):
        lines.append(f"Merged {merged['batches']} batch(es) written while locked.")
    if merged.get("failed"):
        lines.append(
            f"Warning: {merged['failed']} batch(es) could not be merged; run `selfdata fsck`."
        )
    return " ".join(lines)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@pass_context
def lock(ctx: Context, as_json: bool) -> None:
    """Lock the running box: keys forgotten, every session ended."""
    data = backend_call(ctx, lambda b: b.lock())
    emit(data, as_json, lambda d: "Locked.")


@click.command()
@passphrase_option(help_text="Read the current passphrase from this file (- for stdin).")
@_NEW
@pass_context
def passwd(ctx: Context, passphrase_file: str | None, new_passphrase_file: str | None) -> None:
    """Change the passphrase (nothing is re-encrypted; the recovery key stays valid)."""
    old = read_secret(passphrase_file, "Current passphrase")
    new = read_secret(new_passphrase_file, "New passphrase", confirm=True)
    backend_call(ctx, lambda b: b.change_passphrase(old, new))
    click.echo("Passphrase changed.")


@click.command()
@click.option(
    "--recovery-key-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    envvar="SELFDATA_RECOVERY_KEY_FILE",
    help="Read the recovery key from this file (- for stdin). [env: SELFDATA_RECOVERY_KEY_FILE]",
)
@_NEW
@pass_context
def recover(ctx: Context, recovery_key_file: str | None, new_passphrase_file: str | None) -> None:
    """Forgot the passphrase? Set a new one with the recovery key."""
    key = read_secret(recovery_key_file, "Recovery key")
    new = read_secret(new_passphrase_file, "New passphrase", confirm=True)
    backend_call(ctx, lambda b: b.recover(key, new))
    click.echo("New passphrase set.")


COMMANDS = [init, unlock, lock, passwd, recover]
