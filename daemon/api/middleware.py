"""Middlewares: errors as JSON (HTML pages for browsers), access control, security headers.

A browser navigating to a page (``GET`` with ``Accept: text/html``, outside ``/api/``)
gets errors as HTML pages and, without a session, a redirect to the unlock (or setup)
page; scripts and the CLI get JSON, as before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from ..errors import Locked, SelfdataError, TooManyAttempts
from ..webui.render import error_page, wants_html
from .auth import COOKIE, is_admin_socket, same_origin
from .keys import BOX, SESSIONS
from .routes import Access, Route

__all__ = ["ROUTE_INFO", "access_middleware", "error_middleware", "security_headers"]

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ROUTE_INFO: web.AppKey[dict[web.AbstractRoute, Route]] = web.AppKey("route_info", dict)
_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def error_body(code: str, message: str, status: int) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except SelfdataError as err:
        if wants_html(request):
            if isinstance(err, Locked):
                raise _to_unlock(request) from None
            return error_page(request, err.http_status, err.message)
        response = error_body(err.code, err.message, err.http_status)
        if isinstance(err, TooManyAttempts):
            response.headers["Retry-After"] = str(err.retry_after)
        return response
    except web.HTTPException as err:
        if err.status < 400:
            raise
        reason = err.reason.lower().replace(" ", "_")
        text = err.text if err.text and not err.text.startswith(f"{err.status}:") else err.reason
        if wants_html(request):
            return error_page(request, err.status, text)
        response = error_body(reason, text, err.status)
        for header in ("Allow", "Retry-After"):
            if header in err.headers:
                response.headers[header] = err.headers[header]
        return response
    except (ConnectionResetError, TimeoutError):
        raise
    except Exception:
        # Never echo internals (or data) to the client; the journal keeps the traceback,
        # which names code, not user data.
        log.exception("internal error in %s %s", request.method, _pattern(request))
        return error_body("internal", "internal error: see `journalctl -u selfdata`", 500)


@web.middleware
async def access_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.app[ROUTE_INFO].get(request.match_info.route)
    if route is None or is_admin_socket(request):
        return await handler(request)
    if route.access is Access.ADMIN:
        raise web.HTTPForbidden(text="this only works on the box's admin socket (the CLI)")
    unsafe = request.method not in _SAFE
    if route.access is Access.PUBLIC:
        # Browsers always send Origin on POST: a foreign page must not drive setup/unlock.
        if unsafe and "Origin" in request.headers and not same_origin(request):
            raise web.HTTPForbidden(text="cross-origin request refused")
        return await handler(request)
    if not request.app[SESSIONS].check(request.cookies.get(COOKIE)):
        if wants_html(request):
            raise _to_unlock(request)
        raise web.HTTPUnauthorized(text="log in first: unlock the box with your passphrase")
    if unsafe and not same_origin(request):
        raise web.HTTPForbidden(text="cross-origin request refused")
    return await handler(request)


def _to_unlock(request: web.Request) -> web.HTTPSeeOther:
    """Where a browser without a session goes: setup on a new box, else unlock."""
    if not request.app[BOX].initialized:
        return web.HTTPSeeOther("/setup")
    target = request.rel_url.path_qs
    return web.HTTPSeeOther("/unlock" if target == "/" else f"/unlock?next={quote(target)}")


async def security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    )
    headers["Server"] = "selfdata"  # no version banner for the LAN
    # Nothing but the web UI's static files may be kept by a browser: a page seen while
    # unlocked must not come back from the cache after the box is locked.
    headers.setdefault("Cache-Control", "no-store")


def _pattern(request: web.Request) -> str:
    info = request.match_info
    resource = info.route.resource if info.route is not None else None
    return resource.canonical if resource is not None else "?"
