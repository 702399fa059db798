"""Connectors for the web UI and the CLI: the catalogue, accounts, runs, probes.

Secret credential values are write-only: they are accepted in ``POST``/``PATCH`` bodies
and never answered (an account shows which secret fields are set, not their values).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ...connectors.runtime.process import isolation_available
from ...scheduler import Scheduler
from ..keys import SCHEDULER
from ..requests import json_body, reply

__all__ = [
    "add_account",
    "catalogue",
    "connector",
    "delete_account",
    "get_account",
    "get_run",
    "list_accounts",
    "list_runs",
    "probe",
    "run_account",
    "update_account",
]

_VALUES = {
    "type": "object",
    "maxProperties": 64,
    "additionalProperties": {"type": "string", "maxLength": 4096},
}
_ACCOUNT_FIELDS: dict[str, Any] = {
    "label": {"type": "string", "maxLength": 200},
    "credentials": _VALUES,
    "base_urls": {
        "type": "object",
        "maxProperties": 16,
        "additionalProperties": {"type": "string", "maxLength": 2048},
    },
    "schedule": {"type": ["string", "null"], "maxLength": 200},
    "enabled": {"type": "boolean"},
}
_NEW_ACCOUNT = {
    "type": "object",
    "required": ["connector"],
    "properties": {"connector": {"type": "string", "maxLength": 50}, **_ACCOUNT_FIELDS},
    "additionalProperties": False,
}
_CHANGES = {"type": "object", "properties": _ACCOUNT_FIELDS, "additionalProperties": False}
_PROBE = {
    "type": "object",
    "properties": {
        "options": _VALUES,
        "account_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    },
    "additionalProperties": False,
}


def _scheduler(request: web.Request) -> Scheduler:
    return request.app[SCHEDULER]


async def catalogue(request: web.Request) -> web.Response:
    scheduler = _scheduler(request)
    registry = await scheduler.registry()
    return reply(
        {
            "connectors": [spec.to_json() for spec in registry.all()],
            "problems": registry.problems,
            "isolation": isolation_available(),
        }
    )


async def connector(request: web.Request) -> web.Response:
    return reply(await _scheduler(request).connector(request.match_info["connector_id"]))


async def probe(request: web.Request) -> web.Response:
    body = await json_body(request, _PROBE)
    result = await _scheduler(request).probe(
        request.match_info["connector_id"], body.get("options", {}), body.get("account_id")
    )
    return reply(result)


async def list_accounts(request: web.Request) -> web.Response:
    return reply({"accounts": await _scheduler(request).accounts()})


async def add_account(request: web.Request) -> web.Response:
    scheduler = _scheduler(request)
    scheduler.box.documents  # noqa: B018  (locked: say so before reading the body)
    body = await json_body(request, _NEW_ACCOUNT)
    account = await scheduler.add_account(
        body["connector"],
        credentials=body.get("credentials", {}),
        label=body.get("label", ""),
        base_urls=body.get("base_urls"),
        schedule=body.get("schedule"),
        enabled=body.get("enabled", True),
    )
    return reply(account, status=201)


async def get_account(request: web.Request) -> web.Response:
    return reply(await _scheduler(request).account(request.match_info["account_id"]))


async def update_account(request: web.Request) -> web.Response:
    scheduler = _scheduler(request)
    scheduler.box.documents  # noqa: B018
    body = await json_body(request, _CHANGES)
    return reply(await scheduler.update_account(request.match_info["account_id"], body))


async def delete_account(request: web.Request) -> web.Response:
    await _scheduler(request).remove_account(request.match_info["account_id"])
    return reply({"deleted": True})


async def run_account(request: web.Request) -> web.Response:
    run = await _scheduler(request).run_now(request.match_info["account_id"])
    return reply(run, status=202)


async def list_runs(request: web.Request) -> web.Response:
    return reply({"runs": await _scheduler(request).runs(request.match_info["account_id"])})


async def get_run(request: web.Request) -> web.Response:
    scheduler = _scheduler(request)
    run_id = request.match_info["run_id"]
    if request.query.get("wait") == "1":
        return reply(await scheduler.wait(run_id))
    return reply(await scheduler.run_record(run_id))
