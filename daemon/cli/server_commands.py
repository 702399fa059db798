"""Running the daemon and asking about it: serve, status, setup-code."""

from __future__ import annotations

from typing import Any

import click

from ..config import ServeConfig
from .main import Context, backend_call, emit, pass_context, setup_logging

__all__ = ["COMMANDS"]


@click.command()
@click.option("--host", default="0.0.0.0", show_default=True, help="Address to listen on.")  # noqa: S104
@click.option(
    "--port",
    default=8443,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="HTTPS port (443 on the appliance).",
)
@click.option(
    "--http-port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Plain HTTP port that only redirects to HTTPS (0: none).",
)
@click.option("--no-tls", is_flag=True, help="Serve plain HTTP (only behind a TLS proxy).")
@click.option("--no-mdns", is_flag=True, help="Do not advertise the box on the LAN.")
@click.option("-v", "--verbose", is_flag=True, help="Log every request (route patterns only).")
@pass_context
def serve(
    ctx: Context, host: str, port: int, http_port: int, no_tls: bool, no_mdns: bool, verbose: bool
) -> None:
    """Run the box: HTTPS web UI and API, admin socket, mDNS."""
    from ..server import run

    setup_logging(verbose)
    ctx.data_dir.create()
    run(
        ServeConfig(
            data_dir=ctx.data_dir,
            host=host,
            port=port,
            http_port=http_port or None,
            tls=not no_tls,
            mdns=not no_mdns,
        )
    )


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@pass_context
def status(ctx: Context, as_json: bool) -> None:
    """Is the box running, set up, locked? Where is it, which certificate?"""
    data = backend_call(ctx, lambda b: b.status())
    emit(data, as_json, _human_status)


def _human_status(s: dict[str, Any]) -> str:
    state = "not set up" if not s["initialized"] else "locked" if s["locked"] else "unlocked"
    lines = [
        f"selfdata {s['version']}: {state}",
        f"daemon:      {'running' if s['daemon'] else 'not running'}",
        f"data dir:    {s['data_dir']}",
    ]
    if s.get("port"):
        scheme = "https" if s.get("tls", True) else "http"
        lines.append(f"web:         {scheme}://<this box>:{s['port']}/")
    if s.get("fingerprint"):
        lines.append(f"certificate: SHA-256 {s['fingerprint']}")
    if s.get("inbox_pending"):
        lines.append(
            f"inbox:       {s['inbox_pending']} batch(es) written while locked, merged at unlock"
        )
    if not s["initialized"]:
        lines.append("next:        `selfdata setup-code` for the web setup, or `selfdata init`")
    elif s["locked"] and s["daemon"]:
        lines.append("next:        `selfdata unlock` or unlock from the web page")
    return "\n".join(lines)


@click.command("setup-code")
@pass_context
def setup_code(ctx: Context) -> None:
    """Print the one-time code that the first web visitor must type."""
    click.echo(backend_call(ctx, lambda b: b.setup_code()))


COMMANDS = [serve, status, setup_code]
