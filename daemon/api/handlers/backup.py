"""Backup targets, backup runs, and restoring a fresh box (docs/backups.md)."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web

from ...backup import open_target, restore, snapshots
from ...backup.config import TargetConfig, check_target
from ...backup.repository import Retention
from ...errors import AlreadyInitialized, InputError, NotFound, TooManyAttempts, WrongPassphrase
from ...vault import check_passphrase
from ..auth import is_admin_socket
from ..keys import BACKUPS, LOGIN_GUARD, announce_state
from ..requests import box_of, client_address, json_body, reply

__all__ = [
    "delete_target",
    "list_snapshots",
    "list_targets",
    "put_target",
    "restore_box",
    "run_backup_now",
]

log = logging.getLogger(__name__)
_STR = {"type": "string", "maxLength": 8192}
_TARGET_FIELDS: dict[str, Any] = {
    "url": {"type": "string", "minLength": 1, "maxLength": 2048},
    "options": {"type": "object", "additionalProperties": _STR},
    "secrets": {"type": "object", "additionalProperties": _STR},
}


async def list_targets(request: web.Request) -> web.Response:
    service = request.app[BACKUPS]
    return reply({"targets": [t.public() for t in await service.store.all()]})


async def put_target(request: web.Request) -> web.Response:
    body = await json_body(
        request,
        {
            "type": "object",
            "required": ["url"],
            "properties": {
                **_TARGET_FIELDS,
                "schedule": {"type": ["string", "null"], "maxLength": 200},
                "retention": {
                    "type": "object",
                    "additionalProperties": {"type": "integer", "minimum": 0, "maximum": 10000},
                },
                "enabled": {"type": "boolean"},
                "check": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
    )
    name = request.match_info["name"]
    service = request.app[BACKUPS]
    store = service.store
    options, secrets = dict(body.get("options", {})), body.get("secrets")
    schedule = body.get("schedule", "every 1d")
    check_target(name, body["url"], options, secrets or {}, schedule)
    try:
        retention = Retention.from_json(body.get("retention"))
    except ValueError as err:
        raise InputError(str(err)) from None
    try:
        config = await store.get(name)
        created = False
    except NotFound:
        config = TargetConfig(name=name, url=body["url"])
        created = True
        secrets = secrets or {}
    config.url, config.options, config.schedule = body["url"], options, schedule
    config.retention, config.enabled = retention, body.get("enabled", True)
    if body.get("check", True):  # reach it now: a typo is better found today than at 3 am
        current = store.secrets(config) if secrets is None else secrets
        target = await open_target(config.url, config.options, current)
        try:
            await target.list("snapshots")
        finally:
            await target.close()
    await store.put(config, secrets)
    return reply((await store.get(name)).public(), status=201 if created else 200)


async def delete_target(request: web.Request) -> web.Response:
    await request.app[BACKUPS].store.delete(request.match_info["name"])
    return reply({"deleted": True})


async def run_backup_now(request: web.Request) -> web.Response:
    report = await request.app[BACKUPS].run(request.match_info["name"])
    return reply(report.to_json())


async def list_snapshots(request: web.Request) -> web.Response:
    """The target's snapshots, read with this box's keys."""
    from ...backup.repository import list_snapshots as ids  # noqa: PLC0415
    from ...backup.repository import read_manifest  # noqa: PLC0415
    from ...backup.sealing import backup_key  # noqa: PLC0415

    box = box_of(request)
    store = request.app[BACKUPS].store
    config = await store.get(request.match_info["name"])
    target = await open_target(config.url, config.options, store.secrets(config))
    try:
        key = backup_key(box.keys)
        found = []
        for snapshot_id in await ids(target):
            manifest = await read_manifest(target, key, snapshot_id)
            found.append(
                {
                    "id": snapshot_id,
                    "created": manifest.get("created"),
                    "files": len(manifest.get("blobs", {})),
                    "database_bytes": manifest["database"]["size"],
                }
            )
    finally:
        await target.close()
    return reply({"snapshots": found})


async def restore_box(request: web.Request) -> web.Response:
    """First run: bring a backup back onto this fresh box with the recovery key."""
    body = await json_body(
        request,
        {
            "type": "object",
            "required": ["url", "recovery_key"],
            "properties": {
                **_TARGET_FIELDS,
                "recovery_key": {"type": "string", "minLength": 1, "maxLength": 256},
                "snapshot": {"type": "string", "maxLength": 64},
                "new_passphrase": {"type": "string", "minLength": 1, "maxLength": 1024},
                "setup_code": {"type": "string", "maxLength": 64},
                "list": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
    )
    box = box_of(request)
    if box.initialized:  # said before any secret is checked (and counted)
        raise AlreadyInitialized("this box already has a vault: restore onto a freshly set-up box")
    guard = request.app[LOGIN_GUARD]
    client = client_address(request)
    admin = is_admin_socket(request)
    wait = 0.0 if admin else guard.retry_after(client)
    if wait > 0:
        raise TooManyAttempts(int(wait) + 1)
    if not admin and not box.check_setup_code(str(body.get("setup_code", ""))):
        guard.failed(client)
        raise WrongPassphrase("wrong setup code: run `selfdata setup-code` on the box to see it")
    if body.get("new_passphrase"):
        check_passphrase(body["new_passphrase"])  # before the restore, not after it
    options = dict(body.get("options", {}))
    check_target("restore", body["url"], options, dict(body.get("secrets", {})), None)
    target = await open_target(body["url"], options, body.get("secrets", {}))
    try:
        if body.get("list"):
            try:
                found = await snapshots(target, body["recovery_key"])
            except WrongPassphrase:
                guard.failed(client)
                raise
            return reply({"snapshots": found})
        try:
            report = await restore(box, target, body["recovery_key"], body.get("snapshot"))
        except WrongPassphrase:
            guard.failed(client)
            raise
    finally:
        await target.close()
    guard.succeeded(client)
    log.info("box restored from a backup (snapshot %s)", report.snapshot)
    if body.get("new_passphrase"):
        await box.recover(body["recovery_key"], body["new_passphrase"])
    announce_state(request.app)
    return reply({**report.to_json(), **box.status()}, status=201)
