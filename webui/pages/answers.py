"""Answer requests: a third party's yes/no question, what would leave, approve or refuse.

The page shows the desk's preview (:class:`selfdata.answers.desk.AnswerDesk`) and puts
the answer and period it shows into the Approve button's data, so approving sends back
exactly what the owner saw — the API refuses an approval whose answer or period changed
since. What a statement carries is the desk's own list (``preview.revealed``),
translated by the template. The question is shown as the statement will carry it (in English: it is the
signed text), marked as such.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from ...answers.desk import AnswerDesk
from ...answers.templates import TEMPLATES
from ...api.keys import BOX
from ...box import Box
from ...errors import InputError
from ...ledger import Ledger
from ..render import page
from .privacy import privacy_context

__all__ = ["answer_page", "answers_page", "pending_requests"]

_ID = re.compile(r"^[0-9a-f]{32}$")
STATES = {"pending": "Waiting for you", "approved": "Answered", "refused": "Refused"}


async def pending_requests(box: Box) -> list[dict[str, Any]]:
    return [r for r in await AnswerDesk(box).list() if r["state"] == "pending"]


async def answers_page(request: web.Request) -> web.StreamResponse:
    box = request.app[BOX]
    return page(
        request,
        "answers.html",
        {
            **privacy_context(request),
            "requests": await AnswerDesk(box).list(),
            "states": STATES,
            "templates": [t.describe() for t in TEMPLATES.values()],
            "key": await Ledger(box).key_info(),
        },
        title="Answer requests",
    )


async def answer_page(request: web.Request) -> web.StreamResponse:
    box = request.app[BOX]
    request_id = request.query.get("request", "")
    if not _ID.match(request_id):
        raise InputError("give ?request= a valid request id")
    view = await AnswerDesk(box).show(request_id)
    return page(
        request,
        "answer.html",
        {
            **privacy_context(request),
            "r": view,
            "preview": view.get("preview"),
            "states": STATES,
            "key": await Ledger(box).key_info(),
        },
        title="Answer request",
    )
