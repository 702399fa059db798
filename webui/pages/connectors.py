"""Sources: the connector catalogue, adding a source, its runs and logs, file imports.

Pages are rendered from the scheduler (``selfdata.scheduler``) the connectors API uses;
every action (add, run now, remove) is a call to that JSON API from a small script, so
its checks — schema, Origin, locked box — are the API's own. Live progress is the run
polled through ``GET /api/v1/runs/<id>``. Ids travel in the query string (``?account=``)
so the page routes keep the route list's parameter names.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ...api.keys import BOX, SCHEDULER
from ...doctypes import builtin_doctypes
from ...errors import InputError
from ..render import page

__all__ = ["add_page", "connectors_page", "run_page", "source_page"]

_ID = re.compile(r"^[0-9a-f]{1,64}$")
_CONNECTOR = re.compile(r"^[a-z][a-z0-9-]{1,49}$")
SCHEDULES = ("every 1h", "every 6h", "every 1d", "every 7d", "manual")
STATUS_LABELS = {
    "new": "New",
    "ok": "OK",
    "running": "Running",
    "needs_action": "Needs your action",
    "failing": "Failing",
    "disabled": "Paused",
}
INPUT_TYPES = {"secret": "password", "email": "email", "number": "number", "url": "url"}


def _query_id(request: web.Request, name: str, pattern: re.Pattern[str] = _ID) -> str:
    value = request.query.get(name, "")
    if not pattern.match(value):
        raise InputError(f"give ?{name}= a valid id")
    return value


async def connectors_page(request: web.Request) -> web.StreamResponse:
    box = request.app[BOX]
    scheduler = request.app[SCHEDULER]
    registry = await scheduler.registry()
    accounts = await scheduler.accounts()
    existing = await box.documents.doctypes()
    known = builtin_doctypes()
    targets = sorted(set(known) - {"io.cozy.files"} | set(existing))
    return page(
        request,
        "connectors.html",
        {
            "catalogue": [spec.to_json() for spec in registry.all()],
            "accounts": accounts,
            "needs_action": [a for a in accounts if a.get("needs_action")],
            "status_labels": STATUS_LABELS,
            "targets": [(n, known[n].title if n in known else n) for n in targets],
        },
        title="Sources",
    )


async def add_page(request: web.Request) -> web.StreamResponse:
    scheduler = request.app[SCHEDULER]
    manifest = await scheduler.connector(_query_id(request, "connector", _CONNECTOR))
    schedules = list(dict.fromkeys([manifest.get("schedule") or "every 1d", *SCHEDULES]))
    return page(
        request,
        "connector_add.html",
        {"m": manifest, "schedules": schedules, "input_types": INPUT_TYPES},
        title="Add a source",
    )


async def source_page(request: web.Request) -> web.StreamResponse:
    scheduler = request.app[SCHEDULER]
    account_id = _query_id(request, "account")
    account = await scheduler.account(account_id)
    runs = await scheduler.runs(account_id)
    return page(
        request, "connector_source.html", {"a": account, "runs": runs[:20]}, title=account["name"]
    )


async def run_page(request: web.Request) -> web.StreamResponse:
    scheduler = request.app[SCHEDULER]
    run: dict[str, Any] = await scheduler.run_record(_query_id(request, "run"))
    return page(
        request,
        "connector_run.html",
        {"run": run, "lines": (run.get("log") or {}).get("lines", [])},
        title="Run",
    )
