"""Privacy: the consent ledger ("what left the box") and the open-data contribution.

Both read the same objects the JSON API answers from (:class:`selfdata.ledger.Ledger`,
:class:`selfdata.contribution.Contribution`); every change — checking the ledger,
opting in, previewing, sending — is a call to that API from ``privacy.js``, so its
checks (schema, Origin, the preview's hash as consent) are the API's own.
"""

from __future__ import annotations

import json
import math
from typing import Any

from aiohttp import web

from ...api.keys import BOX
from ...api.requests import query_int
from ...contribution import Contribution
from ...ledger import Ledger
from ..i18n import Translator
from ..ledger_words import entry_words
from ..render import page, translator

__all__ = ["PRIVACY_NAV", "contribution_page", "ledger_page", "privacy_context"]

PAGE_SIZE = 25
#: The privacy area's own tabs, shown on each of its pages.
PRIVACY_NAV = (
    ("/privacy", "What left the box"),
    ("/privacy/answers", "Answer requests"),
    ("/privacy/contribution", "Open-data contribution"),
)


def privacy_context(request: web.Request) -> dict[str, Any]:
    return {"privacy_nav": PRIVACY_NAV}


async def ledger_page(request: web.Request) -> web.StreamResponse:
    t = translator(request)
    book = Ledger(request.app[BOX])
    before = query_int(request, "before", None, 2, 2**62)
    entries = [e.to_json() for e in await book.entries(limit=PAGE_SIZE, before=before)]
    last = entries[-1]["seq"] if entries else None
    rows = [{**e, "words": entry_words(t, e)} for e in entries]
    return page(
        request,
        "ledger.html",
        {
            **privacy_context(request),
            "entries": rows,
            "total": await book.count(),
            "before": before,
            "older": last if last is not None and last > 1 else None,
            "key": await book.key_info(),
        },
        title="What left the box",
    )


def noise_words(epsilon: float, sensitivity: int) -> dict[str, float]:
    """The Laplace noise's spread, for the explanation: one value, and a mean of 1,000 homes."""
    scale = sensitivity / epsilon
    spread = math.sqrt(2) * scale  # the standard deviation of Laplace(0, scale)
    return {"one": spread, "thousand": spread / math.sqrt(1000)}


async def contribution_page(request: web.Request) -> web.StreamResponse:
    t = translator(request)
    status = await Contribution(request.app[BOX]).status()
    settings = status["settings"]
    pending = status["pending"]
    payload = None
    if pending:
        # shown as the exact text that would be sent, and laid out for reading
        payload = json.dumps(json.loads(pending["payload"]), ensure_ascii=False, indent=2)
    return page(
        request,
        "contribution.html",
        {
            **privacy_context(request),
            "s": settings,
            "pending": pending,
            "payload_pretty": payload,
            "sent_months": [_month(t, m) for m in status["sent_months"]],
            "datasets": status["datasets"],
            "noise": noise_words(float(settings["epsilon"]), int(settings["sensitivity_kwh"])),
        },
        title="Open-data contribution",
    )


def _month(t: Translator, month: str) -> str:
    try:
        return t.month(int(month[:4]), int(month[5:7]))
    except ValueError:
        return month
