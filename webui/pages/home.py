"""Home: what is in the box, what needs the owner, and the apps."""

from __future__ import annotations

from aiohttp import web

from ...api.keys import BOX
from ..render import page
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
        },
        title="Home",
    )
