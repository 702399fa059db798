"""Answer requests: a third party's yes/no question, what would leave, approve or refuse.

The page shows the desk's preview (:class:`selfdata.answers.desk.AnswerDesk`) and puts
the answer and period it shows into the Approve button's data, so approving sends back
exactly what the owner saw — the API refuses an approval whose answer or period changed
since. What a statement carries is the desk's own list (``preview.revealed``),
translated by the template. The question is shown as the statement will carry it (in English: it is the
signed text), marked as such. What the box found (``facts_for_you_only``, the API's English
words) is shown in the page's language: its words from the API's templates (fr.po's
``msgctxt "api"``), its amounts and dates formatted for the page.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from aiohttp import web

from ...answers.desk import AnswerDesk
from ...answers.templates import TEMPLATES
from ...api.keys import BOX
from ...box import Box
from ...errors import InputError
from ...ledger import Ledger
from ..i18n import Translator, api_messages
from ..messages import fill
from ..render import page, translator
from .privacy import privacy_context

__all__ = ["answer_page", "answers_page", "pending_requests"]

_ID = re.compile(r"^[0-9a-f]{32}$")
#: An amount as the API writes it (``1,476.94``, ``-12``, ``3120.5``), maybe with its unit.
_AMOUNT = re.compile(r"(-?(?:\d{1,3}(?:,\d{3})+|\d+))(\.\d+)?(?: ([A-Za-z]\w*))?")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
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
    preview, t = view.get("preview"), translator(request)
    return page(
        request,
        "answer.html",
        {
            **privacy_context(request),
            "r": view,
            "preview": preview,
            "facts": [_fact(t, f) for f in (preview or {}).get("facts_for_you_only") or []],
            "states": STATES,
            "key": await Ledger(box).key_info(),
        },
        title="Answer request",
    )


def _fact(t: Translator, fact: str) -> tuple[str, str]:
    """What the box found, in the page's language, and that language (the API's English
    words when no template matches them)."""
    found = api_messages(t.language).match(fact) if t.language != "en" else None
    if found is None:
        return fact, "en"
    template, values = found
    return fill(template, {k: _value(t, v) for k, v in values.items()}), t.language


def _value(t: Translator, value: str) -> str:
    """A fact's value for the page: a date, an amount (in its currency) or a number."""
    if _DAY.fullmatch(value):
        return t.date(value)
    amount = _AMOUNT.fullmatch(value)
    if amount is None:
        return t.say(value)
    whole, decimals, unit = amount.groups()
    number = Decimal(whole.replace(",", "") + (decimals or ""))
    digits = len(decimals or ".") - 1
    if unit and re.fullmatch(r"[A-Z]{3}", unit):
        return t.money(number, unit)
    return t.number(number, digits) + (f" {unit}" if unit else "")
