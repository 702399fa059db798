"""``selfdata answers …`` and ``selfdata verify-answer``: yes/no answers instead of data.

The owner receives a request file from a third party (by mail, a download, a form) and
adds it with ``answers submit``; ``show`` is exactly what would be revealed; ``approve``
writes the signed statement to hand back. ``verify-answer`` is the third party's side
and needs no box (it is :mod:`selfdata.answers.verify`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..errors import InputError
from .consent_backend import ConsentClient, resolve_request_id, run_consent
from .main import Context, emit, pass_context
from .secrets import passphrase_option

__all__ = ["COMMANDS"]

MAX_REQUEST_FILE = 64 * 1024


@click.group()
def answers() -> None:
    """Third parties' yes/no questions: submit, list, show, approve, refuse, statement."""


@answers.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def submit(ctx: Context, file: str, as_json: bool, passphrase_file: str | None) -> None:
    """Add the request FILE a third party gave you (- for stdin); shows what it asks."""
    body = _read_request(file)
    data = run_consent(ctx.data_dir, passphrase_file, lambda c: c.answers_submit(body))
    emit(data, as_json, _human_request)


@answers.command("list")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def list_(ctx: Context, as_json: bool, passphrase_file: str | None) -> None:
    """The requests: pending ones first."""
    data = run_consent(ctx.data_dir, passphrase_file, lambda c: c.answers_list())
    emit(data, as_json, _human_list)


@answers.command()
@click.argument("request_id")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def show(ctx: Context, request_id: str, as_json: bool, passphrase_file: str | None) -> None:
    """One request and, while pending, exactly what approving it would reveal."""

    async def go(client: ConsentClient) -> dict[str, Any]:
        return await client.answers_show(await resolve_request_id(client, request_id))

    emit(run_consent(ctx.data_dir, passphrase_file, go), as_json, _human_request)


@answers.command()
@click.argument("request_id")
@click.option("--yes", is_flag=True, help="Do not ask: approve what `show` displays.")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the signed statement to this file [default: stdout].",
)
@passphrase_option()
@pass_context
def approve(
    ctx: Context, request_id: str, yes: bool, output: str | None, passphrase_file: str | None
) -> None:
    """Show what would be revealed, ask, then sign the answer and record it."""

    async def go(client: ConsentClient) -> dict[str, Any]:
        rid = await resolve_request_id(client, request_id)
        shown = await client.answers_show(rid)
        preview = shown.get("preview")
        if preview is None:
            raise InputError(f"this request was already {shown['state']}")
        if not preview["answerable"]:
            raise InputError(f"the box cannot answer it: {preview['reason']}")
        if not yes and not sys.stdin.isatty():
            raise InputError("add --yes to approve without a question (no terminal to ask)")
        click.echo(_human_request(shown), err=True)
        if not yes:
            click.confirm("Send this answer?", abort=True, err=True)
        expect = {"answer": preview["answer"], "period": preview["period"]}
        return await client.answers_approve(rid, expect)

    data = run_consent(ctx.data_dir, passphrase_file, go)
    _write_statement(data["statement"], output)


@answers.command()
@click.argument("request_id")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def refuse(ctx: Context, request_id: str, as_json: bool, passphrase_file: str | None) -> None:
    """Refuse a request: nothing leaves the box, the refusal is recorded."""

    async def go(client: ConsentClient) -> dict[str, Any]:
        return await client.answers_refuse(await resolve_request_id(client, request_id))

    emit(run_consent(ctx.data_dir, passphrase_file, go), as_json, lambda d: f"refused {d['id']}")


@answers.command()
@click.argument("request_id")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, writable=True),
    help="Write it to this file [default: stdout].",
)
@passphrase_option()
@pass_context
def statement(
    ctx: Context, request_id: str, output: str | None, passphrase_file: str | None
) -> None:
    """The signed statement of an approved request, to hand to the requester."""

    async def go(client: ConsentClient) -> dict[str, Any]:
        return await client.answers_statement(await resolve_request_id(client, request_id))

    _write_statement(run_consent(ctx.data_dir, passphrase_file, go), output)


@click.command("verify-answer")
@click.argument(
    "statement_file", metavar="STATEMENT", type=click.Path(dir_okay=False, allow_dash=True)
)
@click.option("--key", required=True, help="The box's public key (base64), or a file holding it.")
@click.option("--nonce", help="The nonce your request carried: refuse a statement for another.")
@click.option(
    "--seen",
    type=click.Path(dir_okay=False),
    help="A file of nonces already accepted: refuse a replay, and record this one.",
)
@click.option("--at", "at", help="Check validity at this time (ISO 8601) instead of now.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
def verify_answer(
    statement_file: str,
    key: str,
    nonce: str | None,
    seen: str | None,
    at: str | None,
    as_json: bool,
) -> None:
    """Check a statement signed by a selfdata box, without the box (the requester's side).

    Exit status: 0 valid, 1 forged/altered/wrong key/malformed, 3 expired, 4 replayed or
    another request's. The same check runs as `python -m selfdata.answers.verify`.
    """
    from ..answers import verify

    outcome = verify.run(statement_file, key, nonce=nonce, seen_file=seen, at=at)
    if outcome.status == verify.USAGE:
        raise InputError(outcome.message)
    if as_json:
        click.echo(json.dumps(outcome.to_json(), ensure_ascii=False, indent=2))
    else:
        click.echo(verify.describe(outcome))
    sys.exit(outcome.status)


def _read_request(file: str) -> dict[str, Any]:
    try:
        if file == "-":
            raw = sys.stdin.buffer.read(MAX_REQUEST_FILE + 1)
        else:
            with open(file, "rb") as handle:
                raw = handle.read(MAX_REQUEST_FILE + 1)
    except OSError as err:
        raise InputError(f"cannot read {file}: {err.strerror or err}") from None
    if len(raw) > MAX_REQUEST_FILE:
        raise InputError(f"an answer request file is at most {MAX_REQUEST_FILE} bytes")
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        raise InputError("the request file is not JSON") from None
    if not isinstance(data, dict):
        raise InputError("the request file must hold a JSON object")
    return data


def _write_statement(statement: dict[str, Any], output: str | None) -> None:
    text = json.dumps(statement, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as err:
        raise InputError(f"cannot write {output}: {err.strerror or err}") from None
    click.echo(f"statement written to {output}", err=True)


def _human_list(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no answer requests"
    return "\n".join(
        f"{r['id'][:8]}  {r['state']:<8}  {r['requester']}: {r['question']}" for r in rows
    )


def _human_request(data: dict[str, Any]) -> str:
    lines = [
        f"request {data['id']} ({data['state']}) from {data['requester']}",
        f"question: {data['question']}",
    ]
    purpose = (data.get("request") or {}).get("purpose")
    if purpose:
        lines.append(f"purpose:  {purpose}")
    preview = data.get("preview")
    if preview:
        if preview["answerable"]:
            answer = "YES" if preview["answer"] else "NO"
            period = preview["period"]
            lines += [
                "If you approve, exactly this leaves the box, signed:",
                f"  answer:   {answer}",
                f"  period:   {period['start']} to {period['end']}",
                f"  valid:    {preview['issued_at']} to {preview['expires_at']}",
                f"  to:       {preview['requester']} (nonce {preview['nonce']})",
                "Only for your eyes (never sent): " + "; ".join(preview["facts_for_you_only"]),
            ]
        else:
            lines.append(f"the box cannot answer it: {preview['reason']}")
    if data.get("statement"):
        lines.append("approved: `selfdata answers statement` writes the signed file")
    return "\n".join(lines)


COMMANDS = [answers, verify_answer]
