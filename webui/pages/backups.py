"""Settings › Backups and Settings › Export: where the owner's data can go, on their say.

Backup targets are read from the same store the API uses (secrets are never read: only
which ones are set); adding, removing, running and listing snapshots are calls to the
backups API from ``backups.js``. Listing a target's snapshots reaches the target (a NAS
may be asleep), so it is a button, not part of the page. The export is a streamed
``POST /api/v1/export`` that ``export.js`` saves as a file.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ...api.keys import BACKUPS, BOX
from ...ledger import Ledger
from ..ledger_words import entry_words
from ..render import page, translator

__all__ = ["KINDS", "SCHEDULES", "backups_page", "export_page", "target_kind"]

SCHEDULES = (
    ("every 1d", "Every day"),
    ("every 6h", "Every 6 hours"),
    ("every 7d", "Every week"),
    ("at unlock", "Each time you unlock the box"),
    ("manual", "Only when you ask"),
)
KINDS = {"dir": "USB disk or folder", "sftp": "Another machine (SFTP)", "s3": "S3 object store"}
#: how many ledger entries the export page reads to show the last exports
_RECENT = 200


def target_kind(url: str) -> str:
    scheme = url.split("://", 1)[0] if "://" in url else "dir"
    return scheme if scheme in KINDS else "dir"


async def backups_page(request: web.Request) -> web.StreamResponse:
    targets: list[dict[str, Any]] = [
        {**t.public(), "kind": target_kind(t.url)} for t in await request.app[BACKUPS].store.all()
    ]
    labels = dict(SCHEDULES)
    return page(
        request,
        "backups.html",
        {
            "targets": targets,
            "kinds": KINDS,
            "schedules": SCHEDULES,
            "schedule_labels": labels,
        },
        title="Backups",
    )


async def export_page(request: web.Request) -> web.StreamResponse:
    entries = await Ledger(request.app[BOX]).entries(limit=_RECENT)
    t = translator(request)
    exports = [
        {**e.to_json(), "words": entry_words(t, e.to_json())} for e in entries if e.kind == "export"
    ][:5]
    return page(request, "export.html", {"exports": exports}, title="Export everything")
