"""QIF (Quicken Interchange Format) statements, as French banks export them.

::

    !Type:Bank
    D02/01/2024
    T-12,50
    PCB CARREFOUR MARKET 31/12
    ^

A QIF file names no account and no currency; its dates may be day-first (France:
``D02/01/2024``) or month-first (Quicken US: ``D1/2'24``). The order is decided for the
whole file from the dates themselves: a first field above 12 means day-first, a second
above 12 month-first; a file that never says is read day-first, as French banks write.
The account is the ``!Account`` block's name when there is one, else the ``account``
option, else one "QIF" account, so overlapping exports of one account deduplicate.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

from ..sinks import Problem
from .model import Account, Operation, parse_amount

__all__ = ["MAX_QIF", "detect", "parse_qif"]

MAX_QIF = 32 * 1024 * 1024
_BANK_TYPES = {
    "bank": "Checkings",
    "cash": "Other",
    "ccard": "CreditCard",
    "oth a": "Other",
    "oth l": "Loan",
}
_DATE = re.compile(r"^\s*(\d{1,4})\s*[/.\-]\s*(\d{1,2})\s*(?:[/.\-']\s*(\d{1,4}))?\s*$")


def detect(head: bytes) -> bool:
    text = head[:2048].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith((b"!type:", b"!account", b"!option:", b"!clear:"))


@dataclass
class _Raw:
    fields: dict[str, str]
    line: int
    section: str
    account: str | None


def parse_qif(
    data: bytes, where: str, account_name: str | None = None
) -> Iterator[Account | Operation | Problem]:
    if len(data) > MAX_QIF:
        yield Problem(where, f"larger than {MAX_QIF:,} bytes: not a bank statement")
        return
    records, problems = _records(_decode(data), where)
    yield from problems
    day_first = _day_first(r.fields.get("D", "") for r in records)
    accounts: dict[str, Account] = {}
    for raw in records:
        here = f"{where} line {raw.line}"
        kind = raw.section.lower()
        if kind not in _BANK_TYPES:
            yield Problem(here, f"!Type:{raw.section} records are not bank operations: skipped")
            continue
        name = raw.account or account_name or "QIF"
        account = accounts.get(name)
        if account is None:
            account = Account(key=f"qif:{name}", label=name, type=_BANK_TYPES[kind])
            accounts[name] = account
            yield account
        yield _operation(raw, account, day_first, here)


def _operation(raw: _Raw, account: Account, day_first: bool, here: str) -> Operation | Problem:
    f = raw.fields
    amount = parse_amount(f.get("T", f.get("U", "")))
    date = _date(f.get("D", ""), day_first)
    if amount is None:
        return Problem(here, f"amount {f.get('T', f.get('U'))!r} is not a number")
    if date is None:
        return Problem(here, f"date {f.get('D')!r} is not a date")
    payee, memo = f.get("P"), f.get("M")
    label = payee or memo or "operation"
    original = " ".join(p for p in (payee, memo) if p)
    return Operation(
        account=account,
        date=date,
        amount=amount,
        label=label,
        original_label=original or None,
        type="check" if f.get("N", "").isdigit() else None,
    )


def _records(text: str, where: str) -> tuple[list[_Raw], list[Problem]]:
    records: list[_Raw] = []
    problems: list[Problem] = []
    section = "Bank"
    account: str | None = None
    in_account = False
    fields: dict[str, str] = {}
    start = 0
    for number, raw_line in enumerate(text.splitlines(), 1):
        line = raw_line.rstrip()
        if not line.strip():
            continue
        if line.startswith("!"):
            header = line[1:].strip()
            low = header.lower()
            if low == "account":
                in_account, fields = True, {}
            elif low.startswith("type:"):
                section, in_account = header[5:].strip(), False
            # !Option:AutoSwitch, !Clear:AutoSwitch: nothing to do
            continue
        if line.startswith("^"):
            if in_account:
                account = fields.get("N") or account
            elif fields:
                records.append(_Raw(fields, start, section, account))
            fields = {}
            continue
        code, value = line[0], line[1:].strip()
        if not fields:
            start = number
        if code in "SE$%":  # split lines: the total is the operation
            continue
        if code in fields and code == "M":
            fields[code] += " " + value
        else:
            fields.setdefault(code, value)
    if fields and not in_account:
        problems.append(
            Problem(
                f"{where} line {start}",
                "the last record has no closing ^: skipped (truncated file?)",
            )
        )
    return records, problems


def _day_first(dates: Iterator[str]) -> bool:
    for text in dates:
        m = _DATE.match(text)
        if not m or len(m[1]) == 4:
            continue
        if int(m[1]) > 12:
            return True
        if int(m[2]) > 12:
            return False
    return True


def _date(text: str, day_first: bool) -> dt.date | None:
    m = _DATE.match(text)
    if not m:
        return None
    a, b, c = m[1], m[2], m[3]
    try:
        if len(a) == 4:  # 2024-01-02
            return dt.date(int(a), int(b), int(c or 0))
        if c is None:
            return None
        year = int(c)
        if len(c) <= 2:  # '24: Quicken's two-digit years, 1970-2069
            year += 2000 if year < 70 else 1900
        day, month = (int(a), int(b)) if day_first else (int(b), int(a))
        return dt.date(year, month, day)
    except ValueError:
        return None


def _decode(data: bytes) -> str:
    data = data.removeprefix(b"\xef\xbb\xbf")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")
