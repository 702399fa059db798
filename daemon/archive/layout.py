"""Where things go inside a selfdata export (docs/export-format.md describes it)."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

__all__ = [
    "ACCOUNTS",
    "FILES_INDEX",
    "FORMAT",
    "HEADER",
    "LEDGER",
    "MANIFEST",
    "SECRET_DOCTYPES",
    "VERSION",
    "document_member",
    "file_member",
    "series_member",
    "series_name_of",
]

FORMAT = "selfdata-export"
VERSION = 1
#: The first member: tells what the archive is before anything else is read.
HEADER = "export.json"
#: The last member: counts and the SHA-256 of every other member.
MANIFEST = "manifest.json"
FILES_INDEX = "files/index.jsonl"
ACCOUNTS = "connectors/accounts.jsonl"
#: The consent ledger, oldest first, in plain words: for the owner's records. A box's
#: ledger is its own signed chain, so importing an export never copies it in.
LEDGER = "consent/ledger.jsonl"
#: Doctypes that hold secrets (sealed credentials) or a connector's private state: never
#: exported as such. Accounts are exported without their secrets in ``ACCOUNTS``.
SECRET_DOCTYPES = frozenset({"selfdata.accounts", "selfdata.accounts.state", "selfdata.backups"})
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")


def document_member(doctype: str) -> str:
    return f"documents/{doctype}.jsonl"


def series_member(name: str) -> str:
    return f"series/{quote(name, safe='')}.csv"


def series_name_of(member: str) -> str:
    return unquote(member.removeprefix("series/").removesuffix(".csv"))


def file_member(file_id: str, name: str) -> str:
    clean = _UNSAFE.sub("_", name).strip() or "file"
    if clean in (".", ".."):
        clean = "file"
    return f"files/{quote(file_id, safe='')}/{clean[:200]}"
