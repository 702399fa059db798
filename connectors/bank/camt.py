"""ISO 20022 CAMT.053 bank-to-customer statements (``camt.053.001.02`` to ``.001.13``).

Read with ``defusedxml``'s ``iterparse``: a DTD may be present, but no entity is ever
declared-and-expanded and nothing external is fetched (``EntitiesForbidden``,
``ExternalReferenceForbidden``), and each ``<Ntry>`` is cleared once read, so a year of
entries streams in bounded memory. Namespaces differ between versions and banks; only
local names are compared.

Only booked entries (``<Sts>BOOK``) become operations: a pending one comes back booked
in a later statement, with another reference, and would be counted twice.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from collections.abc import Iterator
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
                account = _account(elem)
                yield account
            elif name == "Bal" and account is not None:
                found = _balance(elem, account)
                if found is not None:
                    balances.append(found)
                elem.clear()
            elif name == "Ntry" and account is not None:
                if (_text(elem, "Sts", "Cd") or _text(elem, "Sts") or "BOOK").upper() != "BOOK":
                    pending += 1
                else:
                    yield _operation(elem, account, f"{where} entry {entries}")
                entries += 1
                stack[-1].remove(elem)  # read: let it go, so memory holds one entry
            elif name == "Stmt":
                yield from _closing(balances)
                balances, account = [], None
                if stack:
                    stack[-1].remove(elem)
    except (DefusedXmlException, ET.ParseError, ValueError) as err:
        yield Problem(where, f"not valid CAMT XML, stopped here: {err}"[:300])
    if pending:
        yield Note(f"{pending} pending (not booked) entries left out: they come back booked")


def _closing(balances: list[tuple[str, Balance]]) -> Iterator[Balance]:
    for code in _CLOSING:
        for kind, balance in balances:
            if kind == code:
                yield balance
                return


def _account(acct: ET.Element) -> Account:
    iban = _text(acct, "Id", "IBAN")
    other = _text(acct, "Id", "Othr", "Id")
    currency = _text(acct, "Ccy")
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
        currency=currency.upper() if currency else None,
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
    amt = _child(ntry, "Amt")
    currency = amt.get("Ccy") if amt is not None else None
    tx = _child(ntry, "NtryDtls", "TxDtls")
    party = None
    remittance = None
    if tx is not None:
        # who is on the other side: the creditor of a debit, the debtor of a credit
        side = "Cdtr" if indicator == "DBIT" else "Dbtr"
        party = _text(tx, "RltdPties", side, "Nm") or _text(tx, "RltdPties", side, "Pty", "Nm")
        remittance = _text(tx, "RmtInf", "Ustrd")
    info = _text(ntry, "AddtlNtryInf")
    label = party or remittance or info or "operation"
    original = " ".join(p for p in (info, remittance) if p) or None
    return Operation(
        account=account,
        date=date,
        amount=amount,
        label=label,
        original_label=original,
        bank_id=_text(ntry, "AcctSvcrRef"),
        currency=(currency or account.currency or "").upper() or None,
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


def _date(text: str | None) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None
