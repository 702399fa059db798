"""The API's messages in the owner's language, by matching them against templates.

The API always speaks English (``error.message``, an import's ``error_samples``, a run's
``message``): scripts and logs rely on it. A page shows those texts in its language by
matching each against the API's templates, which ``locale/<lang>.po`` holds under
``msgctxt "api"``: the msgid is the English text with a ``{placeholder}`` for each
value, e.g. ``{target}: cannot connect ({reason})``. A message quoting another
(``backup to X failed: <why>``) has its values translated the same way, so both parts
are French; a value that matches nothing (a host name, the system's ``timed out``)
stays as it is, and so does a message no template matches.

The most specific template wins: the one with the most literal text. The same matching
runs here (:meth:`ApiMessages.say`: error pages, messages stored in a page, e.g. a
backup's last error) and in the browser (``common.js``'s ``say``, from :meth:`table`,
served as a static file), and ``tests/webui`` checks both give the same text for every
template; they also walk the API's code for every message a page can show, so that each
has its template.
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
        if message in self.exact:
            return self.exact[message]
        for _, translated, pattern in self.templates:
            found = pattern.fullmatch(message)
            if found:
                # each value is shorter than the message (templates have literal text)
                return fill(translated, {k: self.say(v) for k, v in found.groupdict().items()})
        return message

    def table(self) -> bytes:
        """The templates for ``common.js``: exact texts, then templates, most specific first."""
        data = {"exact": self.exact, "templates": [[e, t] for e, t, _ in self.templates]}
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
