"""Bringing data in from files: record readers and the import run that stores them."""

from .records import FORMATS, RowError
from .run import ImportReport, import_records

__all__ = ["FORMATS", "ImportReport", "RowError", "import_records"]
