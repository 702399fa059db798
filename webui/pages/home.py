"""Home: what is in the box, what needs the owner (answer requests too), and the apps."""

from __future__ import annotations

from aiohttp import web

from ...api.keys import BOX
from ..render import page
from .answers import pending_requests
from .apps import recent_energy

__all__ = ["home_page"]


async def home_page(request: web.Request) -> web.StreamResponse:
    box = request.app[BOX]
    doctypes = await box.documents.doctypes()
    series = await box.series.list()
    pending = await box.inbox.pending()
    return page(
        request,
        "home.html",
        {
            "doctypes": doctypes,
            "documents": sum(doctypes.values()),
            "series": series,
            "pending": pending,
            "electricity": await recent_energy(request),
            "answer_requests": await pending_requests(box),
        },
        title="Home",
    )
