"""Bringing data in from files: record readers and the import run that stores them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .records import FORMATS, RowError

if TYPE_CHECKING:
    from .run import ImportReport, OpenFile, import_records


def __getattr__(name: str) -> Any:
    """The import run (and the store it needs) only when asked for: the CLI lists
    ``FORMATS`` at every start, and through the daemon it stores nothing itself."""
    if name in ("ImportReport", "OpenFile", "import_records"):
        from . import run  # noqa: PLC0415 - see above

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["FORMATS", "ImportReport", "OpenFile", "RowError", "import_records"]
