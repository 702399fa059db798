"""ISO 20022 CAMT.053 bank-to-customer statements (``camt.053.001.02`` to ``.001.13``).

Read with ``defusedxml``'s ``iterparse``: a DTD may be present, but no entity is ever
declared-and-expanded and nothing external is fetched (``EntitiesForbidden``,
``ExternalReferenceForbidden``), and each ``<Ntry>`` is cleared once read, so a year of
entries streams in bounded memory. Namespaces differ between versions and banks; only
local names are compared.

Only booked entries (``<Sts>BOOK``) become operations: a pending one comes back booked
in a later statement, with another reference, and would be counted twice.

An account's currency is its ``<Acct><Ccy>``, optional and often left out (Raiffeisen).
Then it is its closing balance's ``<Amt Ccy>``, since that balance becomes the account's:
a number in that currency. When no balance names one, or there is a closing balance per
currency (a multi-currency account in one statement), it is the currency most of its
booked entries are in (among the balances' currencies, if any). The balances come before
the entries, so the account is yielded at its first entry or, when its entries must
decide, once they are read: they are held until then, at most :data:`_LOOKAHEAD` of
them. Each operation's currency is its own ``<Amt Ccy>``.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import BinaryIO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from ..sinks import Note, Problem
from .model import Account, Balance, Operation, parse_amount

__all__ = ["detect", "parse_camt"]

_CLOSING = ("CLBD", "CLAV", "ITBD")  # closing booked first, then what else there is
#: Entries held at most while they decide their account's currency (a month's statement
#: has far fewer); past that, the ones read so far decide.
_LOOKAHEAD = 2000

Item = Account | Operation | Balance | Problem | Note
_Balance = tuple[str, str | None, Balance]  # its kind (CLBD…), its currency, itself


def detect(head: bytes) -> bool:
    text = head[:4096]
    return b"camt.053" in text and (b"<Document" in text or b":Document" in text)


def parse_camt(file: BinaryIO, where: str) -> Iterator[Item]:
    statement: _Statement | None = None
    pending = 0
    entries = 0
    stack: list[ET.Element] = []
    try:
        for event, elem in iterparse(file, events=("start", "end"), forbid_dtd=False):
            name = _local(elem.tag)
            if event == "start":
                stack.append(elem)
                continue
            stack.pop()
            parent = _local(stack[-1].tag) if stack else ""
            if name == "Acct" and parent == "Stmt":
                statement = _Statement(_account(elem))
            elif name == "Bal" and statement is not None:
                statement.balance(elem)
                elem.clear()
            elif name == "Ntry" and statement is not None:
                yield from statement.before_entry()
                if (_text(elem, "Sts", "Cd") or _text(elem, "Sts") or "BOOK").upper() != "BOOK":
                    pending += 1
                else:
                    op = _operation(elem, statement.account, f"{where} entry {entries}")
                    yield from statement.entry(op)
                entries += 1
                stack[-1].remove(elem)  # read: let it go, so memory holds one entry
            elif name == "Stmt":
                if statement is not None:
                    yield from statement.close()
                statement = None
                if stack:
                    stack[-1].remove(elem)
    except (DefusedXmlException, ET.ParseError, ValueError) as err:
        if statement is not None:  # cut before, or among, the statement's entries
            yield from statement.announce()
        yield Problem(where, f"not valid CAMT XML, stopped here: {err}"[:300])
    if pending:
        yield Note(f"{pending} pending (not booked) entries left out: they come back booked")


class _Statement:
    """One ``<Stmt>`` being read: its account, its balances, and, while the account's
    currency waits for them, its entries."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.balances: list[_Balance] = []  # kind, currency, balance
        self.announced = False  # the account yielded, its currency settled
        self.waiting = False  # for its entries to settle its currency
        self.held: list[Operation | Problem] = []
        self.seen: Counter[str] = Counter()  # the held entries' currencies

    def balance(self, bal: ET.Element) -> None:
        found = _balance(bal, self.account)
        if found is not None:
            self.balances.append(found)

    def before_entry(self) -> Iterator[Item]:
        """Before each entry; at the first, the account if it or its balances name its
        currency (else its entries will: they are held)."""
        if self.announced or self.waiting:
            return
        if self.account.currency is None and len(_named(self.balances)) != 1:
            self.waiting = True
            return
        yield from self.announce()

    def entry(self, item: Operation | Problem) -> Iterator[Item]:
        if self.announced:
            yield item
            return
        self.held.append(item)
        if isinstance(item, Operation) and item.currency is not None:
            self.seen[item.currency] += 1  # its own: the account names none yet
        if len(self.held) >= _LOOKAHEAD:
            yield from self.announce()

    def announce(self) -> Iterator[Item]:
        """The account with its currency settled, then the entries held for it."""
        if self.announced:
            return
        self.account, self.announced = _with_currency(self.account, self.balances, self.seen), True
        yield self.account
        for item in self.held:
            yield _in(item, self.account) if isinstance(item, Operation) else item
        self.held, self.seen = [], Counter()

    def close(self) -> Iterator[Item]:
        yield from self.announce()
        closing = _closing(self.balances, self.account.currency)
        if closing is not None:
            yield replace(closing, account=self.account)


def _in(op: Operation, account: Account) -> Operation:
    """A held ``op`` in its account, now that the account's currency is known."""
    return replace(op, account=account, currency=op.currency or account.currency)


def _named(balances: list[_Balance]) -> list[str]:
    """The currencies the closing balances are in, else those of every balance."""
    for code in _CLOSING:
        named = [currency for kind, currency, _ in balances if kind == code and currency]
        if named:
            return list(dict.fromkeys(named))
    return list(dict.fromkeys(currency for _, currency, _ in balances if currency))


def _closing(balances: list[_Balance], currency: str | None) -> Balance | None:
    """The closing balance (booked first): the one in the account's currency, if several."""
    for code in _CLOSING:
        found = [(ccy, balance) for kind, ccy, balance in balances if kind == code]
        if found:
            return next((b for ccy, b in found if ccy == currency), found[0][1])
    return None


def _with_currency(account: Account, balances: list[_Balance], seen: Counter[str]) -> Account:
    """``account`` with the currency it is kept in, when ``<Acct>`` names none: its
    balances' one currency, else the one most entries are in (first seen on a tie),
    among the balances' currencies when they name several."""
    if account.currency is not None:
        return account
    named = _named(balances)
    if len(named) == 1:
        return replace(account, currency=named[0])
    ranked = [ccy for ccy, _ in seen.most_common() if not named or ccy in named]
    currency = ranked[0] if ranked else next(iter(named), None)
    return account if currency is None else replace(account, currency=currency)


def _amount_currency(elem: ET.Element) -> Iterator[str]:
    amt = _child(elem, "Amt")
    currency = _currency(amt.get("Ccy") if amt is not None else None)
    if currency is not None:
        yield currency


def _currency(text: str | None) -> str | None:
    """An ISO 4217 code (``CHF``), or None for anything else."""
    code = (text or "").strip().upper()
    return code if len(code) == 3 and code.isascii() and code.isalpha() else None


def _account(acct: ET.Element) -> Account:
    iban = _text(acct, "Id", "IBAN")
    other = _text(acct, "Id", "Othr", "Id")
    currency = _currency(_text(acct, "Ccy"))
    bank = (
        _text(acct, "Svcr", "FinInstnId", "Nm")
        or _text(acct, "Svcr", "FinInstnId", "BIC")
        or _text(acct, "Svcr", "FinInstnId", "BICFI")
    )
    number = (iban or other or "?").replace(" ", "").upper()
    return Account(
        key=f"iban:{number}" if iban else f"camt:{number}",
        label=_text(acct, "Nm") or number,
        number=number,
        iban=number if iban else None,
        type="Checkings",
        currency=currency,
        institution=bank,
    )


def _balance(bal: ET.Element, account: Account) -> _Balance | None:
    kind = (_text(bal, "Tp", "CdOrPrtry", "Cd") or "").upper()
    amount = parse_amount(_text(bal, "Amt") or "")
    if amount is None:
        return None
    if (_text(bal, "CdtDbtInd") or "CRDT").upper() == "DBIT":
        amount = -amount
    date = _date(_text(bal, "Dt", "Dt") or _text(bal, "Dt", "DtTm"))
    return kind, next(_amount_currency(bal), None), Balance(account, amount, date)


def _operation(ntry: ET.Element, account: Account, where: str) -> Operation | Problem:
    amount = parse_amount(_text(ntry, "Amt") or "")
    if amount is None:
        return Problem(where, "an entry without a valid <Amt>")
    indicator = (_text(ntry, "CdtDbtInd") or "").upper()
    if indicator not in ("CRDT", "DBIT"):
        return Problem(where, "an entry without CdtDbtInd CRDT or DBIT")
    if indicator == "DBIT":
        amount = -amount
    date = _date(_text(ntry, "BookgDt", "Dt") or _text(ntry, "BookgDt", "DtTm"))
    if date is None:
        return Problem(where, "an entry without a valid booking date")
    currency = next(_amount_currency(ntry), None)
    tx = _child(ntry, "NtryDtls", "TxDtls")
    party = None
    remittance = None
    if tx is not None:
        # who is on the other side: the creditor of a debit, the debtor of a credit
        side = "Cdtr" if indicator == "DBIT" else "Dbtr"
        party = _text(tx, "RltdPties", side, "Nm") or _text(tx, "RltdPties", side, "Pty", "Nm")
        remittance = _text(tx, "RmtInf", "Ustrd")
    info = _line(_text(ntry, "AddtlNtryInf"))
    remittance = _line(remittance)
    label = party or remittance or info or "operation"
    original = " ".join(p for p in (info, remittance) if p) or None
    return Operation(
        account=account,
        date=date,
        amount=amount,
        label=label,
        original_label=original,
        bank_id=_text(ntry, "AcctSvcrRef"),
        currency=currency or account.currency,
        value_date=_date(_text(ntry, "ValDt", "Dt") or _text(ntry, "ValDt", "DtTm")),
        type=(_text(ntry, "BkTxCd", "Domn", "Fmly", "SubFmlyCd") or "").lower() or None,
    )


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(elem: ET.Element, *path: str) -> ET.Element | None:
    node: ET.Element | None = elem
    for name in path:
        if node is None:
            return None
        node = next((c for c in node if _local(c.tag) == name), None)
    return node


def _text(elem: ET.Element, *path: str) -> str | None:
    node = _child(elem, *path)
    if node is None or node.text is None:
        return None
    return node.text.strip() or None


def _line(text: str | None) -> str | None:
    """Free text on one line: banks wrap ``AddtlNtryInf`` over several (Raiffeisen:
    ``Acquisto MIGROS M ARBEDO-CAST`` / ``31.03.2017/13:30 / N. carta Maestro …``). The
    operation's id does not change: it is the bank's ``AcctSvcrRef``, or else comes from
    the label with its spaces normalised."""
    if not text:
        return None
    return " ".join(text.split()) or None


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None
