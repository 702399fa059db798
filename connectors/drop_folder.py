"""A watched drop folder: save the bank's statement or the water utility's export there,
and it comes in.

A connector like any other (``drop-folder``): the owner adds it with the folder's path,
the scheduler runs it every 5 minutes, in a sandboxed child that may read that folder's
files and move them within it, and nothing else of the disk. It needs no secret, so it
runs while the box is locked too: its writes are sealed into the inbox and merged at
unlock (docs/file-imports.md#the-drop-folder).

Each run is one pass:

* only regular files whose size and modification time have not changed for
  ``settle_seconds`` (a browser still writing ``releve.ofx`` is left for the next pass),
  never hidden files nor ``.part``/``.crdownload``/``.tmp`` downloads, never symlinks;
* OFX, QIF and CAMT.053 statements and water consumption exports (CSV, JSON, .xls,
  .xlsx), recognised by their content;
* an imported file moves to ``imported/`` inside the folder (so the owner sees it was
  taken); any other file to ``not-imported/``. When a file cannot be moved (a read-only
  folder) it is remembered in the account's state, so it is not imported again and
  again; importing it again would change nothing anyway (ids are stable).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from . import bank, water
from .bank.store import ACCOUNTS, OPERATIONS
from .sdk import Context, CredentialField, Manifest, RateLimit, UserActionNeeded
from .sinks import IngestReport, Sink, SourceFile

__all__ = ["IMPORTED", "MANIFEST", "REJECTED", "ready_files", "sync"]

IMPORTED = "imported"
REJECTED = "not-imported"
MAX_FILE = 32 * 1024 * 1024
MAX_REMEMBERED = 1000
_PARTIAL = (".part", ".crdownload", ".tmp", ".download", ".partial", "~")

Key = tuple[str, int, int]
Ingest = Callable[[Sink, SourceFile, IngestReport], Awaitable[None]]

MANIFEST = Manifest(
    id="drop-folder",
    name="Drop folder (bank statements, water exports)",
    vendor="This box",
    description="Imports the OFX, QIF and CAMT.053 statements and the water consumption "
    "exports saved in a folder of this machine, then moves them to its imported/ "
    "sub-folder. Runs while the box is locked.",
    doctypes=(ACCOUNTS, OPERATIONS, water.CONTRACTS),
    series=(water.SERIES,),
    credentials=(
        CredentialField(
            "folder",
            "Folder to watch",
            kind="path",
            help="A folder of this machine the box's user may read and write, e.g. a "
            "shared folder where the household's downloads go.",
        ),
        CredentialField(
            "settle_seconds",
            "Seconds a file must stay unchanged",
            kind="number",
            required=False,
            default="10",
        ),
    ),
    schedule="every 5m",
    rate_limit=RateLimit(requests=1, per_seconds=1),
    runs_locked=True,
    category="bank",
    file_formats=(*bank.FORMATS, water.FORMAT),
    timeout_seconds=30 * 60,
)


async def sync(ctx: Context) -> None:
    folder = Path(ctx.credentials["folder"].strip())
    settle = float(ctx.credentials.get("settle_seconds") or 10)
    handled: set[Key] = {
        (str(k[0]), int(k[1]), int(k[2])) for k in ctx.state.get("handled", []) if len(k) == 3
    }
    ready = await asyncio.to_thread(ready_files, folder, settle, handled)
    if ready is None:
        raise UserActionNeeded(
            f"the box cannot read the folder {folder}: check that it exists and that the "
            "box's user may read and write it"
        )
    for done, (path, key) in enumerate(ready, 1):
        counted = _Counted(ctx)
        report = await _import_one(counted, path)
        target = IMPORTED if report.format != "unknown" else REJECTED
        if not await asyncio.to_thread(_move, path, folder / target):
            handled.add(key)
        ctx.log.info(
            "%s: %s, %d document(s) and %d point(s) stored, %d record(s) left out%s",
            path.name,
            report.format,
            counted.documents,
            counted.points,
            report.error_count,
            "".join(f"; {n}" for n in report.notes),
        )
        for problem in report.problems[:10]:
            ctx.log.warning("%s: %s", problem.where, problem.message)
        ctx.state["handled"] = [list(k) for k in sorted(handled)[-MAX_REMEMBERED:]]
        await ctx.progress(done, len(ready), f"{done} file(s)")


class _Counted:
    """The run's context as a sink, counting what one file brought."""

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self.documents = self.points = 0

    async def save(self, doctype: str, documents: Iterable[dict[str, Any]]) -> int:
        stored = await self._ctx.save(doctype, documents)
        self.documents += stored
        return stored

    async def save_series(
        self, name: str, points: Iterable[tuple[int, float]], unit: str = ""
    ) -> int:
        written = await self._ctx.save_series(name, points, unit)
        self.points += written
        return written

    async def stored(self, doctype: str, doc_id: str) -> dict[str, Any] | None:
        return await self._ctx.stored(doctype, doc_id)


def ready_files(folder: Path, settle: float, handled: set[Key]) -> list[tuple[Path, Key]] | None:
    """The files ready to import, by name; ``None`` when the folder cannot be read."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:
        return None
    now = time.time()  # against the files' mtimes, which the same clock wrote
    ready = []
    for entry in entries:
        name = entry.name
        if name.startswith(".") or name.lower().endswith(_PARTIAL):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < settle:
            continue
        key = (name, info.st_size, info.st_mtime_ns)
        if key not in handled:
            ready.append((Path(entry.path), key))
    return ready


def _source_of(source: SourceFile) -> tuple[str, Ingest] | None:
    head = source.head()
    if (fmt := bank.format_of(head)) is not None:
        return fmt, bank.ingest
    if water.detect_source(source):
        return water.FORMAT, water.ingest
    return None


async def _import_one(sink: Sink, path: Path) -> IngestReport:
    try:
        file = open(path, "rb")  # noqa: SIM115, ASYNC230 - closed below; opening is instant
    except OSError as err:
        report = IngestReport(path.name, "unknown")
        report.problem(path.name, f"cannot read it: {err.strerror}")
        return report
    with file:
        source = SourceFile(path.name, file)
        found = _source_of(source)
        if found is None or os.fstat(file.fileno()).st_size > MAX_FILE:
            report = IngestReport(path.name, "unknown")
            report.problem(
                path.name, "neither a bank statement nor a water export (or over 32 MiB)"
            )
            return report
        fmt, ingest = found
        report = IngestReport(path.name, fmt)
        await ingest(sink, source, report)
        return report


def _move(path: Path, into: Path) -> bool:
    with contextlib.suppress(OSError):
        into.mkdir(exist_ok=True, mode=0o750)
        target = into / path.name
        n = 1
        while target.exists():  # a second "releve.ofx" does not overwrite the first
            target = into / f"{path.stem} ({n}){path.suffix}"
            n += 1
        path.rename(target)
        return True
    return False
