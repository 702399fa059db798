"""Doctypes: the kinds of documents the box holds, and the schemas that check them.

Cozy's doctypes (``io.cozy.*``) keep Cozy's names and fields so data moves to and from a
Cozy; selfdata's own live under ``selfdata.*``. Both namespaces are reserved: only the
doctypes defined in ``schemas/`` exist there. Any other reverse-domain name (say
``org.example.mycsv``) is a *user doctype*: schemaless, created by the first import,
so any export a person has can come in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema

from ..errors import UnknownDoctype, ValidationError

__all__ = ["RESERVED_PREFIXES", "Doctype", "builtin_doctypes", "check_name", "resolve"]

RESERVED_PREFIXES = ("io.cozy.", "selfdata.")
_NAME = re.compile(r"^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9_-]*)+$")
MAX_NAME = 128


@dataclass(frozen=True)
class Doctype:
    name: str
    title: str
    schema: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def builtin(self) -> bool:
        return self.schema is not None

    def validate(self, doc: dict[str, Any]) -> None:
        if self.schema is None:
            return
        try:
            _validator(self.name)(doc)
        except fastjsonschema.JsonSchemaValueException as err:
            raise ValidationError(f"{self.name}: {err.message}", path=err.path) from None


def check_name(name: str) -> str:
    if not isinstance(name, str) or len(name) > MAX_NAME or not _NAME.fullmatch(name):
        raise UnknownDoctype(
            f"{str(name)[:MAX_NAME]!r} is not a doctype name: use a reverse-domain name "
            "such as org.example.mydata"
        )
    return name


def resolve(name: str) -> Doctype:
    """The doctype called ``name``: built-in, or a new/existing user doctype."""
    check_name(name)
    builtin = builtin_doctypes().get(name)
    if builtin is not None:
        return builtin
    if name.startswith(RESERVED_PREFIXES):
        raise UnknownDoctype(
            f"unknown doctype {name!r}: the io.cozy.* and selfdata.* namespaces are reserved "
            "for known doctypes (`selfdata doctypes` lists them)"
        )
    return Doctype(name=name, title=name)


@cache
def builtin_doctypes() -> dict[str, Doctype]:
    found: dict[str, Doctype] = {}
    for entry in resources.files(__package__).joinpath("schemas").iterdir():
        if not entry.name.endswith(".json"):
            continue
        schema = json.loads(entry.read_text(encoding="utf-8"))
        name = entry.name.removesuffix(".json")
        found[name] = Doctype(name=name, title=schema.get("title", name), schema=schema)
    return dict(sorted(found.items()))


@cache
def _validator(name: str) -> Callable[[Any], Any]:
    schema = builtin_doctypes()[name].schema
    assert schema is not None  # only built-in doctypes have a validator
    return fastjsonschema.compile(schema)  # type: ignore[no-any-return]
