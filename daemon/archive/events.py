"""Recording exports, backups and restores in the owner's consent ledger.

The one place that calls :func:`selfdata.ledger.append` for this package, so an export
or a backup is recorded the same way from the CLI, the API and the backup schedule. The
data already left when this runs (the export streamed, the backup is on its target): a
ledger that fails is logged loudly, and does not turn a finished export into an error.
"""

from __future__ import annotations

import logging
from typing import Any

from .. import ledger
from ..box import Box

__all__ = ["record", "record_doctype_export", "record_restore"]

log = logging.getLogger(__name__)


async def record(box: Box, kind: str, details: dict[str, Any]) -> None:
    """Append ``kind`` (``export``, ``backup``, ``restore``) with ``details`` (and a
    ``summary`` in plain words) to the ledger."""
    try:
        await ledger.append(box, kind, details)
    except Exception:
        log.exception("could not record a %s in the consent ledger", kind)


async def record_doctype_export(box: Box, doctype: str, documents: int) -> None:
    """One doctype's JSON Lines left the box (a download, or ``selfdata export``)."""
    await record(
        box,
        "export",
        {
            "what": "doctype",
            "doctype": doctype,
            "documents": documents,
            "summary": f"The {documents} document(s) of {doctype} exported as JSON Lines",
        },
    )


async def record_restore(box: Box, source: str, snapshot: str, created: str) -> None:
    """A backup came back onto this box (recorded sealed: a restored box is locked)."""
    await record(
        box,
        "restore",
        {
            "from": source,
            "snapshot": snapshot,
            "created": created,
            "summary": f"Restored from the backup at {source} (snapshot of {created[:10]})",
        },
    )
