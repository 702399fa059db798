"""Setting up, unlocking and locking the box; sessions; passphrase and recovery key."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from aiohttp import web

from ...errors import TooManyAttempts, WrongPassphrase
from ..auth import COOKIE, is_admin_socket
from ..keys import LOGIN_GUARD, SESSIONS, STATE_LISTENERS
from ..requests import box_of, client_address, json_body, reply

__all__ = [
    "end_session",
    "lock",
    "new_recovery_key",
    "passphrase",
    "recover",
    "session",
    "setup",
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
    _notify(request)
    response = reply({"recovery_key": recovery, **box.status()}, status=201)
    _start_session(request, response)
    return response


async def _check_setup_code(ok: bool) -> None:
    if not ok:
        raise WrongPassphrase("wrong setup code: run `selfdata setup-code` on the box to see it")


async def unlock(request: web.Request) -> web.Response:
    body = await json_body(
        request,
        {
            "type": "object",
            "required": ["passphrase"],
            "properties": {"passphrase": _SECRET},
            "additionalProperties": False,
        },
    )
    box = box_of(request)
    box.header  # noqa: B018  (not initialised: say so, and do not count a failure)
    merged = await _guarded(request, box.unlock(body["passphrase"]))
    if merged.batches:
        log.info("merged %d inbox batch(es) written while locked", merged.batches)
    if merged.failed:
        log.warning("%d inbox batch(es) could not be merged: run `selfdata fsck`", merged.failed)
    _notify(request)
    response = reply({**box.status(), "merged": merged.__dict__})
    _start_session(request, response)
    return response


async def lock(request: web.Request) -> web.Response:
    box = box_of(request)
    box.header  # noqa: B018
    box.lock()
    request.app[SESSIONS].end_all()
    log.info("box locked")
    _notify(request)
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
    _notify(request)
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


def _notify(request: web.Request) -> None:
    box = box_of(request)
    for listener in request.app[STATE_LISTENERS]:
        listener(box)
