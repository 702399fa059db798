"""The command-line side of ``selfdata import FILE`` when no ``--doctype`` is given.

Through the running daemon the file is streamed to ``POST /api/v1/import`` (the daemon
may run as another user, so it is sent, not named); with no daemon it is read here,
into the box opened on the data dir.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import InputError
from .main import Context, backend_call, emit

__all__ = ["human_report", "import_detected"]


def import_detected(ctx: Context, file: str, as_json: bool, asker: Callable[[], str]) -> None:
    if file == "-":
        raise InputError("give a file name: telling the format of standard input needs --doctype")
    path = Path(file)
    if not path.is_file():
        raise InputError(f"cannot read {file}: no such file")
    report = backend_call(ctx, lambda b: b.import_any(path), asker)
    emit(report, as_json, human_report)
    if report["errors"]:
        sys.exit(1)


def human_report(r: dict[str, Any]) -> str:
    lines = [f"{r['file']}: {r['format']}"]
    for name, c in r["doctypes"].items():
        lines.append(
            f"  {c['stored']:,} in {name}: {c['created']:,} new, {c['updated']:,} updated, "
            f"{c['unchanged']:,} unchanged"
        )
    for name, points in r["series"].items():
        lines.append(f"  {points:,} point(s) in series {name}")
    if not r["doctypes"] and not r["series"]:
        lines.append("  nothing stored")
    lines += [f"  note: {n}" for n in r["notes"]]
    if r["errors"]:
        lines.append(f"{r['errors']:,} record(s) skipped:")
        lines += [f"  {e['where']}: {e['message']}" for e in r["error_samples"]]
        if r["errors"] > len(r["error_samples"]):
            lines.append(f"  … and {r['errors'] - len(r['error_samples']):,} more")
    return "\n".join(lines)
