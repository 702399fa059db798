"""Reading requests safely: bounded JSON bodies checked against a schema, typed queries."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

import fastjsonschema
from aiohttp import web

from ..box import Box
from ..errors import InputError
from .auth import COOKIE, is_admin_socket
from .keys import BOX, CONFIG, HANDED_FILES

__all__ = [
    "box_of",
    "client_address",
    "handed_file",
    "json_body",
    "query_int",
    "reply",
    "session_of",
]


def box_of(request: web.Request) -> Box:
    return request.app[BOX]


def session_of(request: web.Request) -> str:
    """Who is asking, for what must stay theirs: the session cookie, or the admin socket."""
    return "admin socket" if is_admin_socket(request) else request.cookies.get(COOKIE, "")


def handed_file(request: web.Request) -> int | None:
    """The descriptor of the file the CLI handed over (``?file=`` its ticket, see
    selfdata.handover), the caller's to close; None if the file comes in the body."""
    ticket = request.query.get("file")
    if ticket is None:
        return None
    if not is_admin_socket(request):
        raise InputError("file= names a file handed over on the admin socket: use it there")
    return request.app[HANDED_FILES].claim(ticket)


def client_address(request: web.Request) -> str:
    return request.remote or "unix"


async def json_body(request: web.Request, schema: dict[str, Any]) -> dict[str, Any]:
    """The request's JSON object, within the size limit and matching ``schema``."""
    limit = request.app[CONFIG].max_json_body
    if request.content_length is not None and request.content_length > limit:
        raise InputError(f"the request body is larger than {limit} bytes")
    body = bytearray()
    async for chunk in request.content.iter_any():  # read() would stop at what has arrived
        body += chunk
        if len(body) > limit:
            raise InputError(f"the request body is larger than {limit} bytes")
    raw = bytes(body)
    try:
        value = json.loads(raw or b"null")
    except (ValueError, RecursionError) as err:
        raise InputError(f"the request body is not valid JSON: {err}"[:300]) from None
    try:
        _validator(json.dumps(schema, sort_keys=True))(value)
    except fastjsonschema.JsonSchemaValueException as err:
        raise InputError(f"invalid request: {err.message}"[:300]) from None
    if not isinstance(value, dict):
        raise InputError("the request body must be a JSON object")
    return value


@cache
def _validator(schema_json: str) -> Callable[[Any], Any]:
    return fastjsonschema.compile(json.loads(schema_json))  # type: ignore[no-any-return]


def query_int(request: web.Request, name: str, default: int | None, lo: int, hi: int) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"query parameter {name!r} must be an integer") from None
    if not lo <= value <= hi:
        raise InputError(f"query parameter {name!r} must be between {lo} and {hi}")
    return value


def reply(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=_dumps)


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
