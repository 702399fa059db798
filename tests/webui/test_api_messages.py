"""The API's messages in French: every one a page can show has its template in fr.po.

The messages are found by walking the code the API reaches and every built-in
connector's (:mod:`.message_walk`), not from a list: a new error, import problem, run
message, "needs your action" or run log line without French fails here, with where it
is and what to add. The templates are then checked for what matching needs
(each says its own French, none hides another), and against the libraries' messages the
API passes on (the JSON Schema validator's, aiohttp's).
"""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from pathlib import Path

import fastjsonschema
import pytest
import selfdata.connectors.sdk
import selfdata.errors
from aiohttp import web
from selfdata.backup.repository import Retention
from selfdata.errors import Locked, TooManyAttempts
from selfdata.webui import i18n
from selfdata.webui.messages import PLACEHOLDER, fill

from .message_walk import HOLE, QUOTED, Walk, skeleton, worded

FRENCH = i18n.api_messages("fr")


@pytest.fixture(scope="module")
def walk() -> Walk:
    return Walk()


def library_messages() -> list[str]:
    """What the libraries say that the API passes on to a page, made by the libraries."""
    said: list[str] = []
    schema = {
        "type": "object",
        "required": ["name"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "minLength": 2, "maxLength": 3, "pattern": "^[a-z]+$"},
            "kind": {"enum": ["a", "b"]},
            "count": {"type": "integer", "minimum": 1, "maximum": 9},
            "share": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
            "on": {"type": "boolean"},
            "tags": {"type": "array", "minItems": 1, "maxItems": 2, "uniqueItems": True},
            "options": {"type": "object"},
            "note": {"type": ["string", "null"]},
            "day": {"type": "string", "format": "date"},
            "at": {"type": "string", "format": "date-time"},
            "one": {"oneOf": [{"type": "string"}, {"type": "integer"}]},
        },
    }
    check = fastjsonschema.compile(schema)
    for bad in (
        {},
        {"name": "ab", "extra": 1},
        {"name": 1},
        {"name": "a"},
        {"name": "abcd"},
        {"name": "A1"},
        {"name": "ab", "kind": "c"},
        {"name": "ab", "count": "x"},
        {"name": "ab", "count": 0},
        {"name": "ab", "count": 10},
        {"name": "ab", "share": "x"},
        {"name": "ab", "share": 0},
        {"name": "ab", "share": 1},
        {"name": "ab", "on": "x"},
        {"name": "ab", "tags": "x"},
        {"name": "ab", "tags": []},
        {"name": "ab", "tags": [1, 2, 3]},
        {"name": "ab", "tags": [1, 1]},
        {"name": "ab", "options": 1},
        {"name": "ab", "note": 1},
        {"name": "ab", "day": "soon"},
        {"name": "ab", "at": "soon"},
        {"name": "ab", "one": 1.5},
        [],
    ):
        with pytest.raises(fastjsonschema.JsonSchemaValueException) as err:
            check(bad)
        # as a request's body (api.requests) and as a document (doctypes.validate)
        said += [f"invalid request: {err.value.message}", f"io.cozy.bills: {err.value.message}"]
    with pytest.raises(ValueError, match=r".") as value:
        Retention.from_json({"last": -1})
    said.append(str(value.value))  # PUT /api/v1/backups answers it as it is
    # a route that is not there, or not for that method (the middleware says the reason)
    said += [web.HTTPNotFound().reason, web.HTTPMethodNotAllowed("GET", ["POST"]).reason]
    return said


def missing(walk: Walk) -> dict[str, list[str]]:
    """The messages the walk found with no template in fr.po, and where each is."""
    templates = {skeleton(m) for m in FRENCH.translations}
    found_: dict[str, list[str]] = defaultdict(list)
    for found in walk.found:
        if found.skeleton not in templates:
            found_[found.text].append(found.where)
    return found_


def test_every_message_a_page_can_show_has_its_french(walk: Walk) -> None:
    without = missing(walk)
    assert not without, (
        'add these to webui/locale/fr.po, each under msgctxt "api", a {name} for each {…}:\n'
        + "\n".join(f"  {text!r}  ({', '.join(sorted(set(w)))})" for text, w in without.items())
    )


def test_a_message_the_walk_cannot_read_is_accounted_for(walk: Walk) -> None:
    seen = {(d.module, d.expression): d.where for d in walk.dynamic}
    unknown = {key: where for key, where in seen.items() if key not in QUOTED}
    assert not unknown, (
        "messages made of something the walk cannot read: give a literal message, or say "
        f"in message_walk.QUOTED where their words come from: {unknown}"
    )
    assert not set(QUOTED) - set(seen), f"gone from the code: {set(QUOTED) - set(seen)}"


def test_every_french_api_message_is_still_the_apis(walk: Walk) -> None:
    skeletons = {found.skeleton for found in walk.found}
    library = library_messages()
    stale = [
        english
        for english in FRENCH.translations
        if skeleton(english) not in skeletons
        and not any(_pattern(english).fullmatch(m) for m in library)
    ]
    assert not stale, f"no message of the API says these any more (remove them): {stale}"


def test_the_walk_reads_through_parameters_returns_and_quotes() -> None:
    """The walk itself: a test that could not fail would be no test."""
    errors = Path(selfdata.errors.__file__)
    source = """
from selfdata.errors import InputError, SelfdataError

def check(value, what):
    if not value:
        raise InputError(f"{what} is empty")

def use(name):
    check("", "the colour of the sky")
    raise InputError(f"no {name} here" if name else _why())

def _why():
    return "nothing at all"

def quoting():
    try:
        use("x")
    except SelfdataError as err:
        raise InputError(f"it failed: {err}") from None
    except ValueError as err:
        raise InputError(str(err)) from None
"""
    walk = Walk(
        {"selfdata.errors": ast.parse(errors.read_text()), "selfdata.fake": ast.parse(source)}
    )
    found = {(f.skeleton, f.fragment) for f in walk.found}
    assert {
        (f"{HOLE} is empty", False),
        ("the colour of the sky", True),
        (f"no {HOLE} here", False),
        ("nothing at all", False),
        (f"it failed: {HOLE}", False),
        ("the box is locked: unlock it with your passphrase first", False),  # a default
        (f"too many wrong attempts: try again in {HOLE} s", False),  # handed up by __init__
    } <= found
    dynamic = [d.expression for d in walk.dynamic if d.module == "selfdata.fake"]
    assert dynamic == ["str(err)"]  # a ValueError's words: QUOTED must say whose


def test_a_connectors_message_without_french_fails_the_walk() -> None:
    """A connector's errors, its log lines and what they show, found in its own module
    (the runner loads it in a child: the API never imports it); one without French is
    what the test above lists."""
    sdk = Path(selfdata.connectors.sdk.__file__)
    source = """
import logging

from selfdata.connectors.sdk import AuthFailed, UserActionNeeded

log = logging.getLogger(__name__)


class NotThere(Exception):
    pass


async def sync(ctx):
    try:
        look()
    except NotThere as err:
        ctx.log.info("%s: %s; looking in the attic", "the cellar", err)
    ctx.log.warning("%d socks left out%s", 3, "".join(f"; {n}" for n in ctx.state["notes"]))
    log.warning("only the box's journal says this")
    if not ctx.credentials.get("key"):
        raise AuthFailed("the key was refused")
    raise UserActionNeeded(f"plug the {ctx.credentials['what']} in", "https://example.org")


def look():
    raise NotThere("no sock under the bed")
"""
    walk = Walk(
        {
            "selfdata.connectors.sdk": ast.parse(sdk.read_text()),
            "selfdata.connectors.x": ast.parse(source),
        }
    )
    found = {f.skeleton for f in walk.found}
    assert {
        f"plug the {HOLE} in",  # "needs your action"
        "the key was refused",
        f"the cellar: {HOLE}; looking in the attic",  # a log line, its literal %s read in
        "no sock under the bed",  # the exception that log line shows
        f"{HOLE} socks left out",  # a list that may be empty: without it…
        f"{HOLE} socks left out; {HOLE}",  # … and with it
    } <= found
    assert not any("journal" in text for text in found)  # a module's logger: not a page's
    assert not walk.dynamic
    without = missing(walk)
    assert "plug the {…} in" in without  # where it is, for the one who adds its French
    assert [w.split(":")[0] for w in without["the key was refused"]] == ["selfdata.connectors.x"]


def test_the_walk_covers_the_api_and_the_connectors(walk: Walk) -> None:
    assert "selfdata.connectors.files" in walk.modules  # imported where it is used
    for connector in ("linky_tic.port", "grdf.web", "drop_folder", "woob_bridge.errors"):
        assert f"selfdata.connectors.{connector}" in walk.modules  # loaded by the runner
    assert not any(m.startswith("selfdata.cli") for m in walk.modules)
    skeletons = {found.skeleton for found in walk.found}
    for expected in (
        Locked().message,
        skeleton(TooManyAttempts(7).message.replace("7", "{n}")),
        "cross-origin request refused",  # web.HTTPForbidden(text=…)
        "unterminated quoted field",  # an import's RowError
        "not an OFX, QIF or CAMT.053 statement",  # a file's report.problem()
        f"line {HOLE}",  # where a problem is
        "the run was stopped",  # a run's message
        f"entry {HOLE} failed authentication",  # the ledger check's verdict.fail()
        f"there is no {HOLE}: plug the TIC dongle in, or set the right device",  # the dongle's
        "GRDF refused the e-mail or password",  # AuthFailed
        f"{HOLE}: the meter's owner has not given (or has withdrawn) consent for this "
        "service; give it again",  # Enedis's UserActionNeeded, its text read through
        "the site refused the credentials",  # woob's: a field of the module's own words,
        f"the site refused the credentials: {HOLE}",  # with its detail or without
        f"{HOLE}: {HOLE}; asking again in 30 days",  # a log line (ctx.log.info)
        f"GRDF: the access right does not cover {HOLE} ({HOLE})",  # the exception it shows
        f"{HOLE}: {HOLE}, {HOLE} document(s) and {HOLE} point(s) stored, {HOLE} record(s) "
        f"left out; {HOLE}",  # the drop folder's, with the file's notes
        f"{HOLE}: document left out: {HOLE}",  # the runner's own log line
        f"lowest end-of-day balance: {HOLE} on {HOLE}",  # an answer's facts
        "no state",  # a field's own words ({state or 'no state'})
    ):
        assert expected in skeletons, expected
    fragments = {found.skeleton for found in walk.found if found.fragment}
    assert "Enedis (token)" in fragments
    assert "Enedis Data Connect" not in fragments  # a name, not words


def test_each_template_is_ready_for_matching() -> None:
    for english, french in FRENCH.translations.items():
        names = PLACEHOLDER.findall(english)
        assert len(names) == len(set(names)), f"a placeholder twice in {english!r}"
        assert sorted(names) == sorted(PLACEHOLDER.findall(french)), english
        assert worded(skeleton(english)), f"{english!r}: nothing to translate"


def examples() -> list[tuple[str, str]]:
    """Each template filled with values that match nothing, and its French so filled."""
    pairs = []
    for english, french in FRENCH.translations.items():
        values = {name: f"«{i}»" for i, name in enumerate(PLACEHOLDER.findall(english))}
        pairs.append((fill(english, values), fill(french, values)))
    return pairs


def test_each_template_says_its_own_french() -> None:
    """No template hides another: the most specific one (most literal text) wins."""
    wrong = [(m, FRENCH.say(m)) for m, french in examples() if FRENCH.say(m) != french]
    assert not wrong, wrong


def test_a_message_quoting_another_is_french_through_and_through() -> None:
    message = "backup to nas failed: nas: cannot connect (timed out)"
    assert (
        FRENCH.say(message)
        == "la sauvegarde vers nas a échoué : nas : connexion impossible (timed out)"
    )
    assert FRENCH.say("the purpose is empty") != "the purpose is empty"
    assert FRENCH.say("odd") == "odd"
    assert i18n.api_messages("en").say(message) == message


def test_a_log_line_and_a_list_are_french_through_and_through() -> None:
    pair = "{where} : {message}"
    # "where: message": both parts, though "line {n}" alone would take the whole line
    assert FRENCH.say_line("line 3: unterminated quoted field", pair) == (
        "ligne 3 : champ entre guillemets non terminé"
    )
    assert FRENCH.say_line("Takeout/x.json: not a JSON object", pair) == (
        "Takeout/x.json : pas un objet JSON"
    )
    # a line its own template says more of than its parts
    line = "there is no /dev/ttyUSB9: plug the TIC dongle in, or set the right device"
    assert FRENCH.say_line(line, pair) == FRENCH.say(line) != line
    assert FRENCH.say_line("output: odd: words", pair) == "output: odd: words"
    # a value that is a list: each item
    notes = (
        "2 line(s) without a reading yet (left for a later export); "
        "1 reading(s) estimated by the utility, not read on the meter"
    )
    assert FRENCH.say(
        f"eau.csv: water, 0 document(s) and 4 point(s) stored, 0 record(s) left out; {notes}"
    ) == (
        "eau.csv : water, 0 document(s) et 4 point(s) rangés, 0 enregistrement(s) écarté(s) ; "
        "2 ligne(s) encore sans relevé (laissées pour un prochain export); "
        "1 relevé(s) estimé(s) par le distributeur, pas lu(s) sur le compteur"
    )
    assert i18n.api_messages("en").say_line(line) == line


def test_the_libraries_messages_are_french_too() -> None:
    untranslated = [m for m in library_messages() if FRENCH.say(m) == m]
    assert not untranslated, untranslated
    for message in library_messages():
        rest = FRENCH.say(message)
        assert not re.search(r"\bmust\b|\bcontain\b", rest), rest


def _pattern(english: str) -> re.Pattern[str]:
    parts = PLACEHOLDER.split(english)
    return re.compile("".join(re.escape(p) if i % 2 == 0 else ".+?" for i, p in enumerate(parts)))
