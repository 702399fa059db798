"""Languages, time zones and formatting: French and English, per request.

The language comes from the ``selfdata_lang`` cookie (set by ``?lang=`` on any page),
else from ``Accept-Language``, else English. Messages are English ``msgid``s; the French
catalogue is ``locale/fr.po``, read with Babel at start-up (no compiled ``.mo`` to keep
in step); its entries under ``msgctxt "api"`` are the API's messages (see
:mod:`.messages`). Dates, numbers and money are formatted by Babel for the request's locale, in
the owner's time zone (cookie ``selfdata_tz``, else the box's own).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from aiohttp import web
from babel import Locale
from babel.dates import format_date, format_datetime, format_skeleton
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal, format_percent

from .messages import ApiMessages

__all__ = [
    "API_CONTEXT",
    "LANGUAGES",
    "LANG_COOKIE",
    "TZ_COOKIE",
    "Translator",
    "api_messages",
    "box_timezone",
    "catalog",
    "language_of",
    "timezone_of",
    "valid_timezone",
    "zone_names",
]

LANGUAGES = {"en": "English", "fr": "Français"}
LANG_COOKIE = "selfdata_lang"
TZ_COOKIE = "selfdata_tz"


#: The msgctxt of the API's messages in a catalogue.
API_CONTEXT = "api"


@cache
def _catalogs(language: str) -> dict[str | None, dict[str, str]]:
    """msgctxt → msgid → translation, as ``locale/<language>.po`` has them."""
    if language == "en":
        return {}
    source = resources.files(__package__).joinpath("locale", f"{language}.po")
    with source.open("rb") as f:
        po = read_po(f, locale=language)
    found: dict[str | None, dict[str, str]] = {}
    for m in po:
        if m.id and m.string and not m.fuzzy:
            found.setdefault(m.context, {})[str(m.id)] = str(m.string)
    return found


def catalog(language: str) -> dict[str, str]:
    """msgid → translation of the pages' texts for ``language`` (English: none)."""
    return _catalogs(language).get(None, {})


@cache
def api_messages(language: str) -> ApiMessages:
    """The API's messages in ``language`` (English: as they are)."""
    return ApiMessages(_catalogs(language).get(API_CONTEXT, {}))


def language_of(request: web.Request) -> str:
    chosen = request.query.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";", 1)[0].strip().lower()[:2]
        if tag in LANGUAGES:
            return tag
    return "en"


@cache
def zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def valid_timezone(name: str | None) -> bool:
    return bool(name) and name in zone_names()


@cache
def box_timezone() -> str:
    """The box's own IANA time zone: ``$TZ``, ``/etc/timezone``, ``/etc/localtime``, UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    try:
        target = os.readlink("/etc/localtime")
        candidates.append(target.split("zoneinfo/", 1)[-1])
    except OSError:
        pass
    return next((c for c in candidates if valid_timezone(c)), "UTC")


def timezone_of(request: web.Request) -> str:
    chosen = request.query.get("tz") or request.cookies.get(TZ_COOKIE)
    return chosen if chosen and valid_timezone(chosen) else box_timezone()


@dataclass(frozen=True)
class Translator:
    """Everything a template needs to speak and format in one language and time zone."""

    language: str
    timezone: str

    @property
    def locale(self) -> Locale:
        return Locale.parse(self.language)

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("UTC")

    def gettext(self, message: str, **values: object) -> str:
        text = catalog(self.language).get(message, message)
        return text.format(**values) if values else text

    __call__ = gettext

    def say(self, message: str) -> str:
        """A message of the API (an error, a backup's last failure) in this language."""
        return api_messages(self.language).say(message)

    def say_line(self, line: str) -> str:
        """A line of a run's log in this language (see :meth:`.ApiMessages.say_line`)."""
        return api_messages(self.language).say_line(line, self.gettext("{where}: {message}"))

    # -- formatting ------------------------------------------------------------------------

    def number(self, value: float | Decimal, digits: int = 0) -> str:
        fmt = "#,##0" + ("." + "0" * digits if digits else "")
        return format_decimal(value, format=fmt, locale=self.language)

    def percent(self, value: float) -> str:
        return format_percent(value, locale=self.language)

    def money(self, value: float | Decimal, currency: str = "EUR") -> str:
        try:
            return format_currency(value, currency or "EUR", locale=self.language)
        except ValueError:  # an unknown currency code in someone's data
            return f"{self.number(value, 2)} {currency}"

    def date(
        self, value: dt.date | dt.datetime | str | int | float | None, fmt: str = "medium"
    ) -> str:
        moment = self.to_datetime(value)
        if moment is None:
            return "" if value is None else str(value)
        if isinstance(value, str) and len(value) == 10:  # a plain date: no time zone shift
            return format_date(moment.date(), format=fmt, locale=self.language)
        return format_date(moment.astimezone(self.zone).date(), format=fmt, locale=self.language)

    def datetime(self, value: dt.datetime | str | int | float | None, fmt: str = "medium") -> str:
        moment = self.to_datetime(value)
        if moment is None:
            return "" if value is None else str(value)
        return format_datetime(moment, format=fmt, tzinfo=self.zone, locale=self.language)

    def month(self, year: int, month: int, fmt: str = "yMMMM") -> str:
        return format_skeleton(fmt, dt.date(year, month, 1), locale=self.language)

    def to_datetime(self, value: object) -> dt.datetime | None:
        """A moment from an ISO string, epoch seconds, a date or a datetime (UTC if naive)."""
        moment: dt.datetime | None
        if isinstance(value, dt.datetime):
            moment = value
        elif isinstance(value, dt.date):
            moment = dt.datetime(value.year, value.month, value.day)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            moment = dt.datetime.fromtimestamp(value, dt.UTC)
        elif isinstance(value, str):
            try:
                moment = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            except ValueError:
                return None
        else:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
        return moment
