"""French and English: every message has its translation, and formats follow the locale.

The API's own messages (``msgctxt "api"``) are checked in test_api_messages.py."""

from __future__ import annotations

import re
from pathlib import Path

from selfdata.answers.desk import _REVEALED
from selfdata.webui import i18n
from selfdata.webui.apps import budget, logis
from selfdata.webui.pages import answers, backups, connectors, privacy
from selfdata.webui.render import _TITLES, NAV

WEBUI = Path(i18n.__file__).parent
MSG = re.compile(r"""\b_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")
PY_CALL = re.compile(r'\bt\(\s*((?:"(?:[^"\\]|\\.)*"\s*)+)')
CALL = re.compile(r"""\b(?:t|title=)\(?\s*"((?:[^"\\]|\\.)*)\"""")


def messages() -> set[str]:
    found: set[str] = set()
    for template in (WEBUI / "templates").glob("*.html"):
        found |= {a or b for a, b in MSG.findall(template.read_text())}
    for module in [*(WEBUI / "pages").glob("*.py"), *WEBUI.glob("*.py")]:
        # a long message is split over lines: adjacent literals are one msgid
        for literals in PY_CALL.findall(module.read_text()):
            found.add("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', literals)))
        found |= set(re.findall(r'\btitle="([^"]+)"', module.read_text()))
    found |= {label for _, label in NAV} | set(_TITLES.values()) | {"Something went wrong"}
    found |= set(budget.CATEGORIES.values()) | {label for label, _ in logis.DOMAINS.values()}
    found |= {label for _, label in privacy.PRIVACY_NAV} | set(answers.STATES.values())
    found |= set(backups.KINDS.values()) | {label for _, label in backups.SCHEDULES}
    found |= set(connectors.STATUS_LABELS.values()) | set(connectors.OUTCOME_LABELS.values())
    found |= set(_REVEALED)  # the desk's list of what a statement carries, translated on the page
    return found


def test_every_message_has_a_french_translation() -> None:
    french = i18n.catalog("fr")
    missing = sorted(m for m in messages() if m not in french)
    assert not missing, f"add these to webui/locale/fr.po: {missing}"


def test_placeholders_match_between_languages() -> None:
    french = {**i18n.catalog("fr"), **i18n.api_messages("fr").translations}
    for msgid, text in french.items():
        assert set(re.findall(r"\{\w+\}", msgid)) == set(re.findall(r"\{\w+\}", text)), msgid


def test_formats_follow_the_language_and_time_zone() -> None:
    fr = i18n.Translator("fr", "Europe/Paris")
    en = i18n.Translator("en", "America/New_York")
    assert fr.money(-1234.5) == "-1\u202f234,50\u00a0€"
    assert en.money(-1234.5) == "-€1,234.50"
    assert fr.date("2025-03-01") == "1 mars 2025"
    assert en.date("2025-03-01") == "Mar 1, 2025"
    assert en.date(1740787200) == "Feb 28, 2025"  # midnight UTC is the evening before there
    assert fr.month(2025, 2) == "février 2025"
    assert fr("{n} documents", n=3) == "3 documents"
    assert fr.money(3, "XYZ").endswith("XYZ")


def test_an_unknown_time_zone_falls_back_to_the_box_one() -> None:
    assert not i18n.valid_timezone("Mars/Olympus")
    assert i18n.valid_timezone(i18n.box_timezone())
