"""A watched drop folder for bank statements: save the bank's export there, it comes in.

:func:`scan_drop_folder` is one pass over the folder, meant to be called on a schedule
by the daemon (it reads files the owner put there, so it runs in the daemon, not in a
sandboxed connector child, which may read nothing outside its own directory):

* only regular files whose size and modification time have not changed for
  ``settle_seconds`` (a browser still writing ``releve.ofx`` is left for the next pass),
  never hidden files nor ``.part``/``.crdownload``/``.tmp`` downloads, never symlinks;
* only OFX, QIF and CAMT.053, recognised by their content;
* an imported file moves to ``imported/`` inside the folder (so the owner sees it was
  taken); a file that is not a statement moves to ``not-imported/`` with its reason in
  the report. When the folder is read-only the files stay and are remembered for the
  daemon's lifetime; importing one again after a restart changes nothing anyway
  (operations have stable ids).
* While the box is locked, nothing is read: the files wait for the first pass after the
  owner unlocks.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from selfdata.box import Box
from selfdata.errors import SelfdataError

from ..sinks import BoxSink, IngestReport, SourceFile
from . import MAX_STATEMENT, format_of, ingest

__all__ = ["DropFolder", "scan_drop_folder"]

IMPORTED = "imported"
REJECTED = "not-imported"
_PARTIAL = (".part", ".crdownload", ".tmp", ".download", ".partial", "~")


@dataclass
class DropFolder:
    """What a daemon keeps between passes: files already handled that could not move."""

    path: Path
    settle_seconds: float = 10.0
    handled: set[tuple[str, int, int]] = field(default_factory=set)


async def scan_drop_folder(box: Box, folder: DropFolder) -> list[IngestReport]:
    if box.locked:
        return []
    reports: list[IngestReport] = []
    for path, key in await asyncio.to_thread(_ready_files, folder):
        report = await _import_one(box, path)
        reports.append(report)
        if report.format == "retry":
            continue  # the box was locked meanwhile: the file waits for the next pass
        target = IMPORTED if report.format != "unknown" else REJECTED
        if not await asyncio.to_thread(_move, path, folder.path / target):
            folder.handled.add(key)
    return reports


def _ready_files(folder: DropFolder) -> list[tuple[Path, tuple[str, int, int]]]:
    try:
        entries = sorted(os.scandir(folder.path), key=lambda e: e.name)
    except OSError:
        return []
    now = time.time()
    ready = []
    for entry in entries:
        name = entry.name
        if name.startswith(".") or name.lower().endswith(_PARTIAL):
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(info.st_mode) or now - info.st_mtime < folder.settle_seconds:
            continue
        key = (name, info.st_size, info.st_mtime_ns)
        if key not in folder.handled:
            ready.append((Path(entry.path), key))
    return ready


async def _import_one(box: Box, path: Path) -> IngestReport:
    try:
        file = open(path, "rb")  # noqa: SIM115, ASYNC230 - closed below; opening is instant
    except OSError as err:
        report = IngestReport(path.name, "unknown")
        report.problem(path.name, f"cannot read it: {err.strerror}")
        return report
    with file:
        source = SourceFile(path.name, file)
        fmt = format_of(source.head())
        size = os.fstat(file.fileno()).st_size
        if fmt is None or size > MAX_STATEMENT:
            report = IngestReport(path.name, "unknown")
            report.problem(path.name, "not an OFX, QIF or CAMT.053 statement (or too large)")
            return report
        report = IngestReport(path.name, fmt)
        try:
            await ingest(BoxSink(box, report), source, report)
        except SelfdataError as err:  # locked meanwhile, store busy: say so, keep the file
            report.problem(path.name, err.message)
            report.format = "retry"
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
