"""The GDPR export (art. 20): everything in the box, in open formats, in one archive.

* :func:`export_archive` streams the archive (``.tar.gz``, optionally sealed with a
  passphrase: :mod:`.container`); docs/export-format.md documents its layout.
* :func:`import_export` verifies one and brings it back, idempotently.
* :func:`archive_format` / :func:`ingest_archive` hook the export, Cozy and MesInfos
  formats into ``selfdata import FILE``'s detection.
"""

from .detect import ARCHIVE_FORMATS, archive_format, ingest_archive
from .export import ExportSummary, doctype_lines, export_archive
from .importer import import_export

__all__ = [
    "ARCHIVE_FORMATS",
    "ExportSummary",
    "archive_format",
    "doctype_lines",
    "export_archive",
    "import_export",
    "ingest_archive",
]
