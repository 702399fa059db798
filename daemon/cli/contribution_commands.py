"""``selfdata contribution …``: open-data contribution, opt-in, preview, consent, send."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from ..errors import InputError
from .consent_backend import ConsentClient, run_consent
from .main import Context, emit, pass_context
from .secrets import passphrase_option

__all__ = ["COMMANDS"]


@click.group()
def contribution() -> None:
    """Share anonymised aggregates with an open-data collector: set, preview, send."""


@contribution.command()
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def show(ctx: Context, as_json: bool, passphrase_file: str | None) -> None:
    """The settings, the pending preview and the months already sent."""
    data = run_consent(ctx.data_dir, passphrase_file, lambda c: c.contribution_status())
    emit(data, as_json, _human_status)


@contribution.command("set")
@click.option("--enable/--disable", "enabled", default=None, help="Opt in, or out.")
@click.option("--endpoint", help="The collector's https:// URL.")
@click.option("--area", help="Your INSEE commune code (5 characters) or IRIS code (9).")
@click.option("--meter", help="The Linky's 14-digit number, when the box has several.")
@click.option("--epsilon", type=float, help="Privacy loss per value (0.05 to 5) [default: 1].")
@click.option("--sensitivity", "sensitivity_kwh", type=int, help="Clip bound in kWh per month.")
@click.option("--k", "k", type=int, help="Minimum contributors per published figure.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def set_(
    ctx: Context,
    enabled: bool | None,
    endpoint: str | None,
    area: str | None,
    meter: str | None,
    epsilon: float | None,
    sensitivity_kwh: int | None,
    k: int | None,
    as_json: bool,
    passphrase_file: str | None,
) -> None:
    """Change the settings; opting in or out is recorded in the ledger."""
    given = {
        "enabled": enabled,
        "endpoint": endpoint,
        "area": area,
        "meter": meter,
        "epsilon": epsilon,
        "sensitivity_kwh": sensitivity_kwh,
        "k": k,
    }
    changes = {name: value for name, value in given.items() if value is not None}
    if not changes:
        raise InputError("nothing to change: see `selfdata contribution set --help`")
    data = run_consent(ctx.data_dir, passphrase_file, lambda c: c.contribution_set(changes))
    emit(data, as_json, _human_status)


@contribution.command()
@click.option("--month", "months", multiple=True, metavar="YYYY-MM", help="Only these months.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def preview(
    ctx: Context, months: tuple[str, ...], as_json: bool, passphrase_file: str | None
) -> None:
    """The exact payload that `send` would send (its noise is drawn once, now)."""
    chosen = list(months) or None
    data = run_consent(ctx.data_dir, passphrase_file, lambda c: c.contribution_preview(chosen))
    emit(data, as_json, _human_preview)


@contribution.command()
@click.option("--yes", is_flag=True, help="Do not ask: send the payload `preview` showed.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def send(ctx: Context, yes: bool, as_json: bool, passphrase_file: str | None) -> None:
    """Show the previewed payload, ask, and send exactly it (recorded in the ledger)."""

    async def go(client: ConsentClient) -> dict[str, Any]:
        pending = (await client.contribution_status())["pending"]
        if pending is None:
            raise InputError("nothing to send: `selfdata contribution preview` first")
        if not yes and not sys.stdin.isatty():
            raise InputError("add --yes to send without a question (no terminal to ask)")
        click.echo(_human_preview(pending), err=True)
        if not yes:
            click.confirm("Send exactly this?", abort=True, err=True)
        return await client.contribution_send(pending["sha256"])

    data = run_consent(ctx.data_dir, passphrase_file, go)
    emit(data, as_json, lambda d: f"sent {len(d['months'])} month(s): {', '.join(d['months'])}")


@contribution.command()
@passphrase_option()
@pass_context
def discard(ctx: Context, passphrase_file: str | None) -> None:
    """Forget the pending preview (the next one draws new noise)."""
    run_consent(ctx.data_dir, passphrase_file, lambda c: c.contribution_discard())
    click.echo("preview discarded")


def _human_status(data: dict[str, Any]) -> str:
    s = data["settings"]
    state = "ON" if s["enabled"] else "off"
    lines = [
        f"contribution: {state}  dataset: {s['dataset']}  area: {s['area'] or '-'}",
        f"collector: {s['endpoint'] or '-'}",
        f"privacy: Laplace noise, ε = {s['epsilon']} per value, clipped at "
        f"{s['sensitivity_kwh']} kWh; k = {s['k']}",
        f"months sent: {', '.join(data['sent_months']) or 'none'}",
    ]
    if data.get("pending"):
        lines.append("a preview waits: `selfdata contribution send`")
    return "\n".join(lines)


def _human_preview(pending: dict[str, Any]) -> str:
    payload = json.dumps(json.loads(pending["payload"]), ensure_ascii=False, indent=2)
    return (
        f"to: {pending['endpoint']}\n"
        f"exactly these bytes (SHA-256 {pending['sha256']}):\n{pending['payload']}\n"
        f"readable:\n{payload}\n"
        f"privacy spent: ε = {pending['epsilon_spent']} over {len(pending['months'])} value(s)"
    )


COMMANDS = [contribution]
