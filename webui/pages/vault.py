"""First-run setup, unlock, recovery, and the welcome steps after setup.

The forms post to the JSON API (``/api/v1/setup``, ``/unlock``, ``/recover``) from a
small script, so the login backoff, the Origin checks and the session cookie are the
API's own; these handlers only render pages and send people to the right one.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from ...api.keys import BOX
from ..render import has_session, page
from .backups import KINDS

__all__ = ["recover_page", "safe_next", "setup_page", "unlock_page", "welcome_page"]


def safe_next(request: web.Request) -> str:
    """Where to go after unlocking: a path on this box, never another site."""
    target = request.query.get("next", "/")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


async def setup_page(request: web.Request) -> web.StreamResponse:
    box = request.app[BOX]
    if box.initialized:
        raise web.HTTPSeeOther("/" if has_session(request) else "/unlock")
    # restoring is the other way to start: its target fields are the backups page's
    return page(request, "setup.html", {"kinds": KINDS}, title="Set up your box")


async def unlock_page(request: web.Request) -> web.StreamResponse:
    box = request.app[BOX]
    if not box.initialized:
        raise web.HTTPSeeOther("/setup")
    if not box.locked and has_session(request):
        raise web.HTTPSeeOther(safe_next(request))
    return page(
        request,
        "unlock.html",
        {"locked": box.locked, "next": safe_next(request)},
        title="Unlock" if box.locked else "Sign in",
    )


async def recover_page(request: web.Request) -> web.StreamResponse:
    if not request.app[BOX].initialized:
        raise web.HTTPSeeOther("/setup")
    return page(request, "recover.html", title="Forgot your passphrase?")


async def welcome_page(request: web.Request) -> web.StreamResponse:
    """After setup: unattended unlock explained, then the first sources."""
    step = request.query.get("step", "unattended")
    if step not in ("unattended", "sources"):
        step = "unattended"
    return page(request, "welcome.html", {"step": step}, title="Welcome")
