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
from ..render import data_block, page, translator

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
    "waiting": "Waiting (the service asked to slow down)",
    "disabled": "Paused",
}
OUTCOME_LABELS = {
    "ok": "OK",
    "auth_failed": "Login refused",
    "user_action_needed": "Needs your action",
    "rate_limited": "The service asked to slow down",
    "service_down": "The service did not answer",
    "bug": "The connector failed",
    "timeout": "Took too long",
    "cancelled": "Cancelled",
    "queued": "Waiting its turn",
    "running": "Running",
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
    accounts = [_last_run(a) for a in await scheduler.accounts()]
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
            "outcome_labels": OUTCOME_LABELS,
            "targets": [(n, known[n].title if n in known else n) for n in targets],
        },
        title="Sources",
    )


def _last_run(account: dict[str, Any]) -> dict[str, Any]:
    """The account with its last run's time and outcome (``last_run`` is the run's record)."""
    last = account.get("last_run")
    if not isinstance(last, dict):
        return {**account, "last_run_at": last, "last_outcome": None}
    at = last.get("ended_at") or last.get("started_at")
    return {**account, "last_run_at": at, "last_outcome": last.get("outcome")}


def _schedules(manifest: dict[str, Any], current: str | None = None) -> list[str]:
    """The usual choices, the connector's own default first, and the one in use kept."""
    first = [s for s in (current, manifest.get("schedule") or "every 1d") if s]
    return list(dict.fromkeys([*first, *SCHEDULES]))


async def add_page(request: web.Request) -> web.StreamResponse:
    scheduler = request.app[SCHEDULER]
    manifest = await scheduler.connector(_query_id(request, "connector", _CONNECTOR))
    return page(
        request,
        "connector_add.html",
        {"m": manifest, "schedules": _schedules(manifest), "input_types": INPUT_TYPES},
        title="Add a source",
    )


async def source_page(request: web.Request) -> web.StreamResponse:
    scheduler = request.app[SCHEDULER]
    account_id = _query_id(request, "account")
    account = _last_run(await scheduler.account(account_id))
    runs = await scheduler.runs(account_id)
    manifest = await scheduler.connector(account["connector"]) if account["installed"] else None
    return page(
        request,
        "connector_source.html",
        {
            "a": account,
            "runs": runs[:20],
            "m": manifest,
            "schedules": _schedules(manifest, account["schedule"]) if manifest else [],
            "input_types": INPUT_TYPES,
            "status_labels": STATUS_LABELS,
            "outcome_labels": OUTCOME_LABELS,
            "outcomes_json": _outcomes_json(request),
        },
        title=account["name"],
    )


def _outcomes_json(request: web.Request) -> str:
    """The outcome labels in the page's language, for the script that shows a run's end."""
    t = translator(request)
    return data_block({k: t(v) for k, v in OUTCOME_LABELS.items()})


async def run_page(request: web.Request) -> web.StreamResponse:
    scheduler = request.app[SCHEDULER]
    run: dict[str, Any] = await scheduler.run_record(_query_id(request, "run"))
    return page(
        request,
        "connector_run.html",
        {
            "run": run,
            "lines": (run.get("log") or {}).get("lines", []),
            "outcome_labels": OUTCOME_LABELS,
        },
        title="Run",
    )
