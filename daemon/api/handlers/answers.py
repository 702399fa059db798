"""Verifiable answers: the owner pastes a third party's request, looks, approves or refuses.

There is no public intake route: a request reaches the box only through the owner
(docs/answers.md explains why), so nobody on the LAN can fill the box with questions.
"""

from __future__ import annotations

from aiohttp import web

from ...answers.desk import AnswerDesk, check_id
from ...answers.templates import TEMPLATES
from ..requests import box_of, json_body, reply

__all__ = [
    "approve_request",
    "get_request",
    "get_statement",
    "list_requests",
    "list_templates",
    "refuse_request",
    "submit_request",
]

_ANY_OBJECT = {"type": "object", "maxProperties": 16}
_APPROVAL = {
    "type": "object",
    "required": ["answer", "period"],
    "properties": {
        "answer": {"type": "boolean"},
        "period": {
            "type": "object",
            "required": ["start", "end"],
            "properties": {
                "start": {"type": "string", "maxLength": 10},
                "end": {"type": "string", "maxLength": 10},
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}


def _desk(request: web.Request) -> AnswerDesk:
    return AnswerDesk(box_of(request))


def _id(request: web.Request) -> str:
    return check_id(request.match_info["request_id"])


async def list_templates(request: web.Request) -> web.Response:
    return reply({"templates": [t.describe() for t in TEMPLATES.values()]})


async def list_requests(request: web.Request) -> web.Response:
    return reply({"requests": await _desk(request).list()})


async def submit_request(request: web.Request) -> web.Response:
    box_of(request).keys  # noqa: B018  (Locked before reading a body)
    body = await json_body(request, _ANY_OBJECT)
    return reply(await _desk(request).submit(body), status=201)


async def get_request(request: web.Request) -> web.Response:
    return reply(await _desk(request).show(_id(request)))


async def approve_request(request: web.Request) -> web.Response:
    request_id = _id(request)
    box_of(request).keys  # noqa: B018
    body = await json_body(request, _APPROVAL)
    return reply(await _desk(request).approve(request_id, body))


async def refuse_request(request: web.Request) -> web.Response:
    return reply(await _desk(request).refuse(_id(request)))


async def get_statement(request: web.Request) -> web.Response:
    request_id = _id(request)
    statement = await _desk(request).statement(request_id)
    response = reply(statement)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="selfdata-answer-{request_id[:8]}.json"'
    )
    return response
