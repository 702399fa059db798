"""woob's exceptions → the SDK's, whose names say what the box does next.

=====================================================  ==========================
woob raises                                            the run ends as
=====================================================  ==========================
``BrowserIncorrectPassword`` (``BrowserUserBanned``),   :class:`AuthFailed`
a module ``ConfigError`` (a missing or malformed field)
``ActionNeeded`` (``BrowserPasswordExpired``,           :class:`UserActionNeeded`
``AuthMethodNotImplemented``), ``BrowserInteraction``
(``BrowserQuestion``, ``OTPQuestion``,
``DecoupledValidation``, ``AppValidation``…),
``CaptchaQuestion``, ``NeedInteractive*``,
``BrowserForbidden``, ``AppValidationError``
``BrowserTooManyRequests``                              :class:`RateLimited` (until ``next_try``)
``BrowserUnavailable`` (``ServerError``, SSL errors,    :class:`ServiceDown`
``ScrapingBlocked``), ``BrowserHTTPError``,
connection errors of ``requests``
anything else (``ParseError``, a module's bug)          ``bug`` (its traceback in the log)
=====================================================  ==========================

A box cannot answer a question in the middle of a run (a one-time code, a CAPTCHA):
those become "user action needed" with the site to visit, and the owner runs again
once the site stops asking (many banks remember a device for 90 days).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..sdk import AuthFailed, ConnectorError, RateLimited, ServiceDown, UserActionNeeded

__all__ = ["translate"]


def translate(err: BaseException, site: str | None = None) -> ConnectorError | None:
    """The SDK error for a woob exception (``None``: not woob's, let it be a bug)."""
    import requests  # noqa: PLC0415 - woob's dependency, present when woob is
    from woob import exceptions as we  # noqa: PLC0415 - woob is an optional extra
    from woob.browser.exceptions import BrowserTooManyRequests  # noqa: PLC0415
    from woob.tools.backend import Module  # noqa: PLC0415

    text = _text(err)
    if isinstance(err, we.BrowserIncorrectPassword):
        return AuthFailed(f"the site refused the credentials{text}")
    if isinstance(err, Module.ConfigError):
        return AuthFailed(f"the module's settings are not right{text}")
    if isinstance(err, we.ActionNeeded):
        return UserActionNeeded(f"the site wants you to act{text}", _url(err) or site)
    if isinstance(err, we.CaptchaQuestion):
        return UserActionNeeded("the site shows a CAPTCHA: log in once in a browser", site)
    if isinstance(err, we.BrowserInteraction | we.NeedInteractive | we.AppValidationError):
        return UserActionNeeded(
            f"the site asks for a confirmation (a code, the bank's app){text}: "
            "log in once in a browser, then run again",
            _url(err) or site,
        )
    if isinstance(err, we.BrowserForbidden):
        return UserActionNeeded(f"the site refuses access{text}", site)
    if isinstance(err, BrowserTooManyRequests):
        return RateLimited(f"the site says too many requests{text}", _wait_until(err.next_try))
    if isinstance(err, we.BrowserUnavailable | we.BrowserHTTPError):
        return ServiceDown(f"the site is unavailable{text}")
    if isinstance(err, requests.ConnectionError | requests.Timeout):
        return ServiceDown(f"the site cannot be reached ({type(err).__name__})")
    return None


def _text(err: BaseException) -> str:
    message = str(err).strip()
    return f": {message[:300]}" if message else ""


def _url(err: BaseException) -> str | None:
    url = getattr(err, "url", None)
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def _wait_until(next_try: Any) -> float | None:
    if not isinstance(next_try, dt.datetime):
        return None
    now = dt.datetime.now(next_try.tzinfo)
    return max(0.0, (next_try - now).total_seconds())
