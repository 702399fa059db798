"""``selfdata audit …``: the consent ledger — read it in plain words, check it, its key."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

import click

from ..errors import IntegrityError
from .consent_backend import run_consent
from .main import Context, emit, pass_context
from .secrets import passphrase_option

__all__ = ["COMMANDS"]


@click.group()
def audit() -> None:
    """The consent ledger: every share, export, answer and contribution, hash-chained."""


@audit.command("list")
@click.option("--limit", type=click.IntRange(1, 500), default=50, show_default=True)
@click.option("--before", type=click.IntRange(1), help="Only entries older than this seq.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def list_(
    ctx: Context, limit: int, before: int | None, as_json: bool, passphrase_file: str | None
) -> None:
    """The ledger's entries, newest first, in plain words."""
    data = run_consent(ctx.data_dir, passphrase_file, lambda c: c.ledger_entries(limit, before))
    emit(data, as_json, _human_entries)


@audit.command()
@click.option(
    "--key",
    help="The box's public key as you published it (`selfdata audit key`): refuse any other.",
)
@click.option(
    "--head",
    metavar="SEQ:HASH",
    help="A head you noted earlier (`--json` shows it): it must still be in the ledger, "
    "which catches a rollback to an older copy.",
)
@click.option(
    "--deep",
    is_flag=True,
    help="Offline: unlock (asks the passphrase) to check with the box's own key and "
    "decrypt every entry. Through an unlocked daemon this is always done.",
)
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def verify(
    ctx: Context,
    key: str | None,
    head: str | None,
    deep: bool,
    as_json: bool,
    passphrase_file: str | None,
) -> None:
    """Check every entry: exit 1, naming the first seq that breaks, on any edit,
    deletion, insertion or reordering."""
    data = run_consent(
        ctx.data_dir,
        passphrase_file,
        lambda c: c.ledger_verify(
            key and key[:200], head and head[:100], deep or passphrase_file is not None
        ),
    )
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        if not data["ok"]:
            sys.exit(1)
        return
    if not data["ok"]:
        raise IntegrityError(f"the ledger breaks at entry {data['broken_at']}: {data['problem']}")
    click.echo(_human_verdict(data))


@audit.command()
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def key(ctx: Context, as_json: bool, passphrase_file: str | None) -> None:
    """The box's Ed25519 public key: give it to whoever checks your answers or ledger."""
    data = run_consent(ctx.data_dir, passphrase_file, lambda c: c.ledger_key())
    emit(data, as_json, lambda d: f"{d['public_key']}\nkey id: {d['key_id']} ({d['algorithm']})")


def _human_entries(data: dict[str, Any]) -> str:
    rows = data["entries"]
    if not rows:
        return "the ledger is empty: nothing has left the box"
    lines = []
    for e in rows:
        when = dt.datetime.fromtimestamp(e["time"], dt.UTC).strftime("%Y-%m-%d %H:%M")
        lines.append(f"{e['seq']:>5}  {when}  {e['kind']:<14} {e['summary']}")
    if data.get("next_before"):
        lines.append(f"… older: `selfdata audit list --before {data['next_before']}`")
    return "\n".join(lines)


def _human_verdict(data: dict[str, Any]) -> str:
    head = data["head"]
    how = (
        "checked with the box's key, every entry decrypted"
        if data["deep"]
        else "chain and signatures checked (locked: add --deep or --key for the box's own key)"
    )
    text = f"ledger OK: {data['entries']} entries, head {head['seq']} {head['hash'][:16]}…; {how}"
    if data.get("queued"):
        text += f"\n{data['queued']} entry(ies) recorded while locked wait to be chained"
    return text


COMMANDS = [audit]
