"""ISO 20022 CAMT.053 bank-to-customer statements (``camt.053.001.02`` to ``.001.13``).

Read with ``defusedxml``'s ``iterparse``: a DTD may be present, but no entity is ever
declared-and-expanded and nothing external is fetched (``EntitiesForbidden``,
``ExternalReferenceForbidden``), and each ``<Ntry>`` is cleared once read, so a year of
entries streams in bounded memory. Namespaces differ between versions and banks; only
local names are compared.

Only booked entries (``<Sts>BOOK``) become operations: a pending one comes back booked
in a later statement, with another reference, and would be counted twice.

An account's currency is its ``<Acct><Ccy>``, optional and often left out (Raiffeisen):
then it is the one currency its balances' ``<Amt Ccy>`` say (the balances come before
the entries, so the account is yielded at its first entry). Each operation's currency is
its own ``<Amt Ccy>``.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from typing import BinaryIO

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from ..sinks import Note, Problem
from .model import Account, Balance, Operation, parse_amount

__all__ = ["detect", "parse_camt"]

_CLOSING = ("CLBD", "CLAV", "ITBD")  # closing booked first, then what else there is


def detect(head: bytes) -> bool:
    text = head[:4096]
    return b"camt.053" in text and (b"<Document" in text or b":Document" in text)


def parse_camt(
    file: BinaryIO, where: str
) -> Iterator[Account | Operation | Balance | Problem | Note]:
    account: Account | None = None
    announced = False  # the account yielded, with its currency settled
    currencies: set[str] = set()  # what the balances' and entries' amounts say
    pending = 0
    entries = 0
    balances: list[tuple[str, Balance]] = []
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
                account, announced, currencies = _account(elem), False, set()
            elif name == "Bal" and account is not None:
                found = _balance(elem, account)
                if found is not None:
                    balances.append(found)
                currencies.update(_amount_currency(elem))
                elem.clear()
            elif name == "Ntry" and account is not None:
                if not announced:  # the balances come first: all of them are read
                    currencies = currencies or set(_amount_currency(elem))
                    account, announced = _with_currency(account, currencies), True
                    yield account
                if (_text(elem, "Sts", "Cd") or _text(elem, "Sts") or "BOOK").upper() != "BOOK":
                    pending += 1
                else:
                    yield _operation(elem, account, f"{where} entry {entries}")
                entries += 1
                stack[-1].remove(elem)  # read: let it go, so memory holds one entry
            elif name == "Stmt":
                if account is not None and not announced:
                    account = _with_currency(account, currencies)
                    yield account
                yield from _closing(balances, account)
                balances, account = [], None
                if stack:
                    stack[-1].remove(elem)
    except (DefusedXmlException, ET.ParseError, ValueError) as err:
        if account is not None and not announced:  # cut before the statement's entries
            yield _with_currency(account, currencies)
        yield Problem(where, f"not valid CAMT XML, stopped here: {err}"[:300])
    if pending:
        yield Note(f"{pending} pending (not booked) entries left out: they come back booked")


def _closing(balances: list[tuple[str, Balance]], account: Account | None) -> Iterator[Balance]:
    for code in _CLOSING:
        for kind, balance in balances:
            if kind == code:
                yield balance if account is None else replace(balance, account=account)
                return


def _with_currency(account: Account, currencies: set[str]) -> Account:
    """``account`` with the currency its amounts are in, when ``<Acct>`` names none.

    ``<Acct><Ccy>`` is optional (Raiffeisen leaves it out) but every ``<Amt>`` carries
    ``Ccy``: one currency across the balances (else across the first entry) is the
    account's; several (a multi-currency account) leave it unnamed."""
    if account.currency is not None or len(currencies) != 1:
        return account
    return replace(account, currency=next(iter(currencies)))


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


def _balance(bal: ET.Element, account: Account) -> tuple[str, Balance] | None:
    kind = (_text(bal, "Tp", "CdOrPrtry", "Cd") or "").upper()
    amount = parse_amount(_text(bal, "Amt") or "")
    if amount is None:
        return None
    if (_text(bal, "CdtDbtInd") or "CRDT").upper() == "DBIT":
        amount = -amount
    return kind, Balance(account, amount, _date(_text(bal, "Dt", "Dt") or _text(bal, "Dt", "DtTm")))


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
