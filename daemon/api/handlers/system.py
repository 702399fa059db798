"""The box itself: public status, OpenAPI document, fsck and the setup code."""

from __future__ import annotations

from aiohttp import web

from ... import __version__
from ..keys import CERTIFICATE, CONFIG
from ..requests import box_of, reply

__all__ = ["fsck", "openapi", "setup_code", "status"]


async def status(request: web.Request) -> web.Response:
    """Public: enough for a login page and for discovery, nothing about the data."""
    return reply(box_of(request).status())


async def status_admin(request: web.Request) -> web.Response:
    """What the owner's CLI shows: status plus where and how to reach the box."""
    box = box_of(request)
    config = request.app[CONFIG]
    cert = request.app.get(CERTIFICATE)
    return reply(
        {
            **box.status(),
            "data_dir": str(config.data_dir.root),
            "port": config.port,
            "tls": config.tls,
            "fingerprint": cert.fingerprint if cert else None,
            "inbox_pending": await box.inbox.pending() if box.initialized else 0,
        }
    )


async def openapi(request: web.Request) -> web.Response:
    from ..openapi import document  # noqa: PLC0415 - openapi imports the handlers

    return reply(document(__version__))


async def fsck(request: web.Request) -> web.Response:
    report = await box_of(request).fsck()
    return reply(report.to_json())


async def setup_code(request: web.Request) -> web.Response:
    return reply({"setup_code": box_of(request).setup_code()})
