"""Data in and out: import, export, doctypes, fsck."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import click

from ..doctypes import check_name
from ..errors import InputError
from ..importers import FORMATS
from .archive_commands import export_all, export_options, import_options, import_sealed
from .backend import open_backend
from .main import Context, backend_call, emit, pass_context
from .secrets import passphrase_option, read_secret

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

__all__ = ["COMMANDS"]

_EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
}


@click.command("import")
@click.option(
    "--doctype",
    "-t",
    help="Doctype to import into, e.g. org.example.mycsv [default: detect the file: OFX, "
    "QIF, CAMT.053, a water utility's export, Google Takeout, Facebook, or CSV/JSON Lines "
    "fitting a known doctype].",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    help="jsonl or csv [default: from the file name].",
)
@click.option("--id-field", help="Column or field holding each record's id (re-imports update it).")
@click.option("--json", "as_json", is_flag=True, help="Output the report as JSON.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@passphrase_option()
@import_options
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@pass_context
def import_(
    ctx: Context,
    doctype: str | None,
    fmt: str | None,
    id_field: str | None,
    as_json: bool,
    no_progress: bool,
    passphrase_file: str | None,
    export_passphrase_file: str | None,
    file: str,
) -> None:
    """Import FILE (JSON Lines or CSV, - for stdin) into a doctype, streaming.

    A known doctype checks each record against its schema; a new reverse-domain name
    (outside io.cozy.* and selfdata.*) creates a schemaless doctype. Bad lines are
    reported and skipped; good ones are stored. Importing the same file twice changes
    nothing. Without --doctype the file's format is detected (bank statements, water
    consumption exports, Google and Facebook exports: see docs/file-imports.md; a selfdata export, sealed or not, a
    Cozy export and MesInfos files: see docs/export-format.md and docs/cozy.md) and the
    report is per doctype.
    """
    if doctype is None:
        from .file_import import import_detected

        if import_sealed(ctx, file, as_json, export_passphrase_file, _asker(passphrase_file)):
            return

        import_detected(ctx, file, as_json, _asker(passphrase_file))
        return
    check_name(doctype)
    fmt = fmt or _format_of(file)
    stream, size = _open_input(file)
    show = not (no_progress or as_json) and sys.stderr.isatty() and size > 0
    with stream, _progress(size, show) as advance:
        report = backend_call(
            ctx,
            lambda b: b.import_file(doctype, stream, fmt, id_field, advance),
            _asker(passphrase_file),
        )
    emit(report, as_json, _human_report)
    if report["errors"]:
        sys.exit(1)


@contextmanager
def _progress(size: int, show: bool) -> Iterator[Callable[[int], None]]:
    if not show:  # click 8.1 (Debian trixie) has no progressbar(hidden=...)
        yield lambda _: None
        return
    # click 8.1 cannot infer the item type of a length-only bar
    bar: ProgressBar[int]
    with click.progressbar(length=size, label="Importing", file=sys.stderr) as bar:
        yield bar.update


def _format_of(file: str) -> str:
    fmt = _EXTENSIONS.get(Path(file).suffix.lower())
    if fmt is None:
        raise InputError(f"cannot tell the format of {file}: give --format {' or '.join(FORMATS)}")
    return fmt


def _open_input(file: str) -> tuple[IO[bytes], int]:
    if file == "-":
        return sys.stdin.buffer, 0
    try:
        stream = open(file, "rb")  # noqa: SIM115 - closed by the caller's with
    except OSError as err:
        raise InputError(f"cannot read {file}: {err.strerror}") from None
    return stream, os.fstat(stream.fileno()).st_size


def _human_report(r: dict[str, Any]) -> str:
    lines = [
        f"{r['stored']:,} record(s) in {r['doctype']}: {r['created']:,} new, "
        f"{r['updated']:,} updated, {r['unchanged']:,} unchanged"
    ]
    if r["errors"]:
        lines.append(f"{r['errors']:,} line(s) skipped:")
        lines += [f"  line {e['line']}: {e['message']}" for e in r["error_samples"]]
        if r["errors"] > len(r["error_samples"]):
            lines.append(f"  … and {r['errors'] - len(r['error_samples']):,} more")
    return "\n".join(lines)


@click.command()
@click.option("--doctype", "-t", help="Doctype to export (or --all).")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    help="Write to this file instead of stdout.",
)
@passphrase_option()
@export_options
@pass_context
def export(
    ctx: Context,
    doctype: str | None,
    output: str,
    passphrase_file: str | None,
    everything: bool,
    cozy: bool,
    encrypt: bool,
    export_passphrase_file: str | None,
) -> None:
    """Export a doctype as JSON Lines (to stdout by default), or --all of the box."""
    if everything or doctype is None:
        if not everything or doctype is not None:
            raise InputError("give either --doctype T or --all")
        export_all(
            ctx,
            output,
            cozy=cozy,
            encrypt=encrypt,
            export_passphrase_file=export_passphrase_file,
            asker=_asker(passphrase_file),
        )
        return
    check_name(doctype)

    async def go() -> None:
        async with open_backend(ctx.data_dir, _asker(passphrase_file)) as backend:
            with click.open_file(output, "wb", atomic=output != "-") as out:
                async for chunk in backend.export(doctype):
                    out.write(chunk)

    asyncio.run(go())


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def doctypes(ctx: Context, as_json: bool, passphrase_file: str | None) -> None:
    """List doctypes: the known ones and those in this box, with counts."""
    data = backend_call(ctx, lambda b: b.doctypes(), _asker(passphrase_file))
    emit(
        data,
        as_json,
        lambda rows: "\n".join(
            f"{r['name']:<40} {r['count']:>9,}  {'' if r['builtin'] else '(user doctype)'}".rstrip()
            for r in rows
        ),
    )


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@click.option(
    "--deep",
    is_flag=True,
    help="When the daemon is not running: ask for the "
    "passphrase and authenticate every record and file too.",
)
@passphrase_option()
@pass_context
def fsck(ctx: Context, as_json: bool, deep: bool, passphrase_file: str | None) -> None:
    """Check the store; exit status 1 if anything is wrong."""
    asker = _asker(passphrase_file) if (deep or passphrase_file) else None
    report = backend_call(ctx, lambda b: b.fsck(), asker)
    emit(report, as_json, _human_fsck)
    if not report["ok"]:
        sys.exit(1)


def _human_fsck(r: dict[str, Any]) -> str:
    checked = ", ".join(f"{v:,} {k}" for k, v in r["checked"].items())
    head = "OK" if r["ok"] else "PROBLEMS FOUND"
    depth = f"authenticated {checked}" if r["deep"] else "SQLite structure only (box locked)"
    return "\n".join([f"{head}: {depth}", *(f"  - {p}" for p in r["problems"])])


def _asker(passphrase_file: str | None) -> Callable[[], str]:
    return lambda: read_secret(passphrase_file, "Passphrase")


COMMANDS = [import_, export, doctypes, fsck]
