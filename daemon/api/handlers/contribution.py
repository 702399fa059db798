"""Open-data contribution: settings, the exact payload's preview, and the consent to send."""

from __future__ import annotations

from aiohttp import web

from ...contribution import Contribution
from ..requests import box_of, json_body, reply

__all__ = [
    "contribution_status",
    "discard_preview",
    "preview_contribution",
    "send_contribution",
    "set_contribution",
]

_SETTINGS = {
    "type": "object",
    "maxProperties": 16,
    "properties": {
        "enabled": {"type": "boolean"},
        "endpoint": {"type": "string", "maxLength": 300},
        "area": {"type": "string", "maxLength": 16},
        "dataset": {"type": "string", "maxLength": 64},
        "meter": {"type": ["string", "null"], "maxLength": 14},
        "epsilon": {"type": "number"},
        "sensitivity_kwh": {"type": "integer"},
        "k": {"type": "integer"},
    },
    "additionalProperties": False,
}
_PREVIEW = {
    "type": "object",
    "properties": {
        "months": {
            "type": "array",
            "minItems": 1,
            "maxItems": 12,
            "items": {"type": "string", "maxLength": 7},
        }
    },
    "additionalProperties": False,
}
_SEND = {
    "type": "object",
    "required": ["sha256"],
    "properties": {"sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
    "additionalProperties": False,
}


def _desk(request: web.Request) -> Contribution:
    return Contribution(box_of(request))


async def contribution_status(request: web.Request) -> web.Response:
    return reply(await _desk(request).status())


async def set_contribution(request: web.Request) -> web.Response:
    box_of(request).keys  # noqa: B018  (Locked before reading a body)
    body = await json_body(request, _SETTINGS)
    return reply(await _desk(request).configure(body))


async def preview_contribution(request: web.Request) -> web.Response:
    box_of(request).keys  # noqa: B018
    body = await json_body(request, _PREVIEW) if request.can_read_body else {}
    return reply(await _desk(request).preview(body.get("months")))


async def discard_preview(request: web.Request) -> web.Response:
    return reply(await _desk(request).discard())


async def send_contribution(request: web.Request) -> web.Response:
    box_of(request).keys  # noqa: B018
    body = await json_body(request, _SEND)
    return reply(await _desk(request).send(body["sha256"]))
