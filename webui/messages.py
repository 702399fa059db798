"""The API's messages in the owner's language, by matching them against templates.

The API always speaks English (``error.message``, an import's ``error_samples``, a run's
``message``): scripts and logs rely on it. A page shows those texts in its language by
matching each against the API's templates, which ``locale/<lang>.po`` holds under
``msgctxt "api"``: the msgid is the English text with a ``{placeholder}`` for each
value, e.g. ``{target}: cannot connect ({reason})``. A message quoting another
(``backup to X failed: <why>``) has its values translated the same way, so both parts
are French; a value that matches nothing (a host name, the system's ``timed out``)
stays as it is, and so does a message no template matches.

The most specific template wins: the one with the most literal text. A value that
matches nothing but is a list (``a; b``: a file's notes) has each item said. A run's log
line (:meth:`ApiMessages.say_line`) that matches nothing but is ``where: message`` (a
record left out) has both parts said, joined as the page's ``{where}: {message}`` says,
when their templates say more of it than the line's own.
The same matching runs here (:meth:`ApiMessages.say`: error pages, messages stored in a
page, e.g. a backup's last error or a source's "needs your action") and in the browser
(``common.js``'s ``say`` and ``sayLine``, from :meth:`table`, served as a static file),
and ``tests/webui`` checks both give the same text for every template; they also walk the
code of the API and of every built-in connector for every message a page can show, so
that each has its template.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

__all__ = ["PLACEHOLDER", "ApiMessages", "fill"]

PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*)\}")


def _pattern(english: str) -> re.Pattern[str]:
    parts = PLACEHOLDER.split(english)
    regex = "".join(
        re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)" for i, part in enumerate(parts)
    )
    return re.compile(regex, re.DOTALL)


def _specificity(english: str) -> tuple[int, int, str]:
    literal = PLACEHOLDER.sub("", english)
    return (-len(literal), len(PLACEHOLDER.findall(english)), english)


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with its placeholders replaced (a literal brace is left alone)."""
    return PLACEHOLDER.sub(lambda m: values.get(m[1], m[0]), template)


class ApiMessages:
    """One language's templates: ``translations`` maps each English msgid to its text."""

    def __init__(self, translations: Mapping[str, str]) -> None:
        self.translations = dict(translations)
        self.exact = {k: v for k, v in translations.items() if not PLACEHOLDER.search(k)}
        self.templates = [
            (english, translations[english], _pattern(english))
            for english in sorted(
                (k for k in translations if PLACEHOLDER.search(k)), key=_specificity
            )
        ]

    def say(self, message: str) -> str:
        """``message`` in this language, as far as its templates go."""
        found = self.match(message)
        if found is None:
            return message
        translated, values = found
        return fill(translated, {k: self._value(v) for k, v in values.items()})

    def match(self, message: str) -> tuple[str, dict[str, str]] | None:
        """The translation of the template ``message`` matches, and the values it holds
        (as they are, in English); ``None`` when no template matches."""
        found = self._template(message)
        return None if found is None else (found[1], found[2])

    def _template(self, message: str) -> tuple[str, str, dict[str, str]] | None:
        if message in self.exact:
            return message, self.exact[message], {}
        for english, translated, pattern in self.templates:
            found = pattern.fullmatch(message)
            if found:
                return english, translated, found.groupdict()
        return None

    def _literal(self, message: str) -> int:
        """How much of ``message`` its template says in words (0: none matches)."""
        found = self._template(message)
        return 0 if found is None else len(PLACEHOLDER.sub("", found[0]))

    def _value(self, value: str) -> str:
        # each value is shorter than the message (templates have literal text)
        said = self.say(value)
        if said == value and "; " in value:  # a list: each item said
            return "; ".join(self.say(item) for item in value.split("; "))
        return said

    def say_line(self, line: str, pair: str = "{where}: {message}") -> str:
        """A run's log line in this language: as :meth:`say`, unless it is ``where:
        message`` (a record left out) whose two parts' templates say more of it than the
        line's own (``line {n}`` would take all of ``line 3: a bad date``): then both
        parts are said, joined by ``pair``."""
        if ": " in line:
            where, message = line.split(": ", 1)
            if self._literal(where) + self._literal(message) > self._literal(line):
                values = {"where": self.say(where), "message": self._value(message)}
                return fill(pair, values)
        return self.say(line)

    def table(self) -> bytes:
        """The templates for ``common.js``: exact texts, then templates, most specific first."""
        data = {"exact": self.exact, "templates": [[e, t] for e, t, _ in self.templates]}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
