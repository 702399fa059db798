"""Setting up, unlocking and locking the box; sessions; passphrase and recovery key."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from aiohttp import web

from ...errors import TooManyAttempts, WrongPassphrase
from ...keyfile import parse_key_file
from ...store import MergeReport
from ..auth import COOKIE, is_admin_socket
from ..keys import KEY_FILE_WATCHER, LOGIN_GUARD, SESSIONS, announce_state
from ..requests import box_of, client_address, json_body, reply

__all__ = [
    "disable_unattended",
    "enable_unattended",
    "end_session",
    "lock",
    "log_merge",
    "new_recovery_key",
    "passphrase",
    "recover",
    "session",
    "setup",
    "unattended",
    "unlock",
]

log = logging.getLogger(__name__)
T = TypeVar("T")
_SECRET = {"type": "string", "minLength": 1, "maxLength": 1024}


async def setup(request: web.Request) -> web.Response:
    body = await json_body(
        request,
        {
            "type": "object",
            "required": ["passphrase"],
            "properties": {
                "passphrase": _SECRET,
                "setup_code": {"type": "string", "maxLength": 64},
            },
            "additionalProperties": False,
        },
    )
    box = box_of(request)
    if not is_admin_socket(request):
        code = str(body.get("setup_code", ""))
        await _guarded(request, _check_setup_code(box.check_setup_code(code)))
    recovery = await box.init(body["passphrase"])
    log.info("vault created")
    announce_state(request.app)
    response = reply({"recovery_key": recovery, **box.status()}, status=201)
    _start_session(request, response)
    return response


async def _check_setup_code(ok: bool) -> None:
    if not ok:
        raise WrongPassphrase("wrong setup code: run `selfdata setup-code` on the box to see it")


async def unlock(request: web.Request) -> web.Response:
    """With the passphrase, or with the key file of unattended unlock (its text)."""
    body = await json_body(
        request,
        {
            "type": "object",
            "properties": {
                "passphrase": _SECRET,
                "key_file": {"type": "string", "minLength": 1, "maxLength": 4096},
            },
            "oneOf": [{"required": ["passphrase"]}, {"required": ["key_file"]}],
            "additionalProperties": False,
        },
    )
    box = box_of(request)
    header = box.header  # not initialised: say so, and do not count a failure
    if "key_file" in body:
        secret = parse_key_file(body["key_file"].encode(), header.box_id)
        merged = await _guarded(request, box.unlock_with_key_file(secret))
    else:
        merged = await _guarded(request, box.unlock(body["passphrase"]))
    log_merge(merged)
    announce_state(request.app)
    response = reply({**box.status(), "merged": merged.__dict__})
    _start_session(request, response)
    return response


async def lock(request: web.Request) -> web.Response:
    box = box_of(request)
    box.header  # noqa: B018
    box.lock()
    request.app[SESSIONS].end_all()
    log.info("box locked")
    announce_state(request.app)
    response = reply(box.status())
    response.del_cookie(COOKIE, path="/")
    return response


async def session(request: web.Request) -> web.Response:
    return reply(
        {"authenticated": True, "admin": is_admin_socket(request), **box_of(request).status()}
    )


async def end_session(request: web.Request) -> web.Response:
    request.app[SESSIONS].end(request.cookies.get(COOKIE))
    response = reply({"authenticated": False})
    response.del_cookie(COOKIE, path="/")
    return response


async def passphrase(request: web.Request) -> web.Response:
    body = await json_body(
        request,
        {
            "type": "object",
            "required": ["old_passphrase", "new_passphrase"],
            "properties": {"old_passphrase": _SECRET, "new_passphrase": _SECRET},
            "additionalProperties": False,
        },
    )
    box = box_of(request)
    await _guarded(request, box.change_passphrase(body["old_passphrase"], body["new_passphrase"]))
    log.info("passphrase changed")
    return reply({"changed": True})


async def recover(request: web.Request) -> web.Response:
    body = await json_body(
        request,
        {
            "type": "object",
            "required": ["recovery_key", "new_passphrase"],
            "properties": {"recovery_key": _SECRET, "new_passphrase": _SECRET},
            "additionalProperties": False,
        },
    )
    box = box_of(request)
    box.header  # noqa: B018
    await _guarded(request, box.recover(body["recovery_key"], body["new_passphrase"]))
    log.info("passphrase reset with the recovery key")
    announce_state(request.app)
    response = reply({"changed": True, **box.status()})
    _start_session(request, response)
    return response


async def new_recovery_key(request: web.Request) -> web.Response:
    body = await json_body(
        request,
        {
            "type": "object",
            "required": ["passphrase"],
            "properties": {"passphrase": _SECRET},
            "additionalProperties": False,
        },
    )
    key = await _guarded(request, box_of(request).new_recovery_key(body["passphrase"]))
    log.info("new recovery key made; the old one no longer works")
    return reply({"recovery_key": key})


async def unattended(request: web.Request) -> web.Response:
    box_of(request).header  # noqa: B018
    return reply(request.app[KEY_FILE_WATCHER].status())


async def enable_unattended(request: web.Request) -> web.Response:
    body = await json_body(
        request,
        {
            "type": "object",
            "required": ["passphrase", "path"],
            "properties": {
                "passphrase": _SECRET,
                "path": {"type": "string", "minLength": 1, "maxLength": 1024},
            },
            "additionalProperties": False,
        },
    )
    box = box_of(request)
    text = await _guarded(request, box.enable_unattended(body["passphrase"], body["path"]))
    watcher = request.app[KEY_FILE_WATCHER]
    watcher.settings_changed()
    status = watcher.status()
    log.info("unattended unlock turned on: key file expected at %s", status["path"])
    return reply({**status, "key_file": text}, status=201)


async def disable_unattended(request: web.Request) -> web.Response:
    box = box_of(request)
    await box.disable_unattended()
    watcher = request.app[KEY_FILE_WATCHER]
    watcher.settings_changed()
    log.info("unattended unlock turned off: no key file opens the box any more")
    return reply(watcher.status())


def log_merge(merged: MergeReport) -> None:
    if merged.batches:
        log.info("merged %d inbox batch(es) written while locked", merged.batches)
    if merged.failed:
        log.warning("%d inbox batch(es) could not be merged: run `selfdata fsck`", merged.failed)


async def _guarded(request: web.Request, attempt: Awaitable[T]) -> T:
    """Run a secret check under the login backoff; 429 while a client must wait."""
    guard = request.app[LOGIN_GUARD]
    client = client_address(request)
    wait = 0.0 if is_admin_socket(request) else guard.retry_after(client)
    if wait > 0:
        if hasattr(attempt, "close"):
            attempt.close()  # never started: do not leave a coroutine unawaited
        raise TooManyAttempts(int(wait) + 1)
    try:
        result = await attempt
    except WrongPassphrase:
        guard.failed(client)
        raise
    guard.succeeded(client)
    return result


def _start_session(request: web.Request, response: web.Response) -> None:
    if is_admin_socket(request):
        return
    token = request.app[SESSIONS].create()
    response.set_cookie(COOKIE, token, path="/", secure=True, httponly=True, samesite="Strict")
