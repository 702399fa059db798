"""Rendering pages: the shared context, preference cookies, and HTML error pages.

Every page is rendered through :func:`page`, which gives templates ``_`` (translate),
``said`` (an API message, e.g. a backup's last error, in the page's language: see
:mod:`.messages`), ``said_line`` (a line of a run's log, likewise), ``t`` (the :class:`~selfdata.webui.i18n.Translator`: dates, numbers,
money), ``asset`` (hashed static URLs), the navigation and the language switch. Pages are
never cached by the browser (``Cache-Control: no-store`` is set for everything but static
files), so the back button cannot show data after the box is locked.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web
from markupsafe import Markup, escape

from .. import __version__
from ..api.auth import COOKIE
from ..api.keys import BOX, SESSIONS
from .assets import ASSETS, api_messages_file
from .i18n import (
    LANG_COOKIE,
    LANGUAGES,
    TZ_COOKIE,
    Translator,
    language_of,
    timezone_of,
    valid_timezone,
)

__all__ = [
    "NAV",
    "data_block",
    "error_page",
    "has_session",
    "page",
    "setup_templates",
    "translator",
    "wants_html",
]


def data_block(data: Any) -> str:
    """JSON for a ``<script type="application/json">`` block: data for a page's script,
    never executed (the CSP forbids inline script), and unable to close its element."""
    return json.dumps(data, separators=(",", ":")).replace("</", "<\\/")


#: (path, label) of the main navigation, in order.
NAV = (
    ("/", "Home"),
    ("/apps/logis", "Mon Logis"),
    ("/apps/energy", "Énergie"),
    ("/apps/budget", "Budget"),
    ("/connectors", "Sources"),
    ("/data", "Data"),
    ("/privacy", "Privacy"),
    ("/settings", "Settings"),
)


def setup_templates(app: web.Application) -> jinja2.Environment:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("selfdata.webui", "templates"),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        default_helpers=False,
    )
    env.globals["version"] = __version__
    env.globals["LANGUAGES"] = LANGUAGES
    return env


def wants_html(request: web.Request) -> bool:
    """A browser navigating to a page (not a script calling the API)."""
    if request.path.startswith("/api/") or request.method not in ("GET", "HEAD"):
        return False
    return "text/html" in request.headers.get("Accept", "")


def has_session(request: web.Request) -> bool:
    return request.app[SESSIONS].check(request.cookies.get(COOKIE))


def translator(request: web.Request) -> Translator:
    return Translator(language_of(request), timezone_of(request))


def page(
    request: web.Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status: int = 200,
    title: str = "",
) -> web.Response:
    t = translator(request)
    box = request.app[BOX]
    assets = request.app[ASSETS]
    full: dict[str, Any] = {
        "_": t.gettext,
        "t": t,
        "lang": t.language,
        "asset": assets.url,
        "nav": NAV,
        "current": request.path,
        "title": t(title) if title else "",
        "signed_in": not box.locked and has_session(request),
        "initialized": box.initialized,
        "lang_links": {code: request.rel_url.update_query(lang=code) for code in LANGUAGES},
        "said": _said(t),
        "said_line": _said(t, line=True),
        # the API's messages in this language, fetched by common.js when it needs them
        "api_messages": None if t.language == "en" else assets.url(api_messages_file(t.language)),
        **(context or {}),
    }
    response = aiohttp_jinja2.render_template(template, request, full, status=status)
    _remember_preferences(request, response)
    response.headers["Content-Language"] = t.language
    return response


def _said(t: Translator, *, line: bool = False) -> Callable[[str], Markup]:
    def said(message: str) -> Markup:
        """An API message in the page's language; marked as English when it stays so."""
        text = t.say_line(message) if line else t.say(message)
        if t.language != "en" and text == message:
            return Markup('<span lang="en">{}</span>').format(text)
        return escape(text)

    return said


def _remember_preferences(request: web.Request, response: web.StreamResponse) -> None:
    """``?lang=fr`` or ``?tz=Europe/Paris`` on any page: remember it in a cookie."""
    lang, tz = request.query.get("lang"), request.query.get("tz")
    year = 365 * 86400
    if lang in LANGUAGES and lang != request.cookies.get(LANG_COOKIE):
        response.set_cookie(
            LANG_COOKIE, lang, max_age=year, path="/", secure=True, httponly=True, samesite="Strict"
        )
    if tz and valid_timezone(tz) and tz != request.cookies.get(TZ_COOKIE):
        response.set_cookie(
            TZ_COOKIE, tz, max_age=year, path="/", secure=True, httponly=True, samesite="Strict"
        )


_TITLES = {
    400: "Something is wrong with this request",
    401: "Please unlock the box",
    403: "Not allowed",
    404: "Page not found",
    405: "Not allowed",
    409: "Not possible right now",
    413: "Too large",
    422: "Something is wrong with this request",
    423: "The box is locked",
    429: "Too many attempts",
}


def error_page(request: web.Request, status: int, message: str) -> web.Response:
    """An error for a person in a browser: what happened, and a way on. Never data."""
    title = _TITLES.get(status, "Something went wrong")
    return page(
        request,
        "error.html",
        {"status": status, "message": translator(request).say(message)},
        status=status,
        title=title,
    )
