"""Bank accounts and operations → Cozy documents with ids that make re-imports no-ops.

An operation's ``_id`` is derived, never random:

* from the bank's own id when the file has one (OFX ``FITID``, CAMT ``AcctSvcrRef``),
  scoped to the account: the same operation in two overlapping statements is one
  document;
* else (QIF, or a bank that leaves FITID empty) from the account, the date, the amount,
  the label (spaces and case normalised) and the *occurrence*: the second identical
  coffee of the day is ``…:1``. Overlapping statements list the same day's operations,
  so occurrences line up and nothing doubles.

A bank that repeats one FITID for two different operations (it happens) gets the same
occurrence treatment on the FITID.

An account's balance is the newest one seen: importing last year's statement after this
month's leaves this month's balance in place.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ..sinks import IngestReport, Note, Problem, Sink, batches, stable_id
from .model import Account, Balance, Operation

__all__ = ["ACCOUNTS", "OPERATIONS", "account_id", "store_bank_items"]

ACCOUNTS = "io.cozy.bank.accounts"
OPERATIONS = "io.cozy.bank.operations"
_SPACES = re.compile(r"\s+")
_CENT = Decimal("0.01")

Item = Account | Operation | Balance | Problem | Note


def account_id(account: Account) -> str:
    return stable_id("bank-account", account.key)


async def store_bank_items(
    sink: Sink, report: IngestReport, items: Iterator[Item], source: str
) -> None:
    occurrences: Counter[tuple[object, ...]] = Counter()
    accounts: dict[str, dict[str, Any]] = {}
    balances: dict[str, Balance] = {}
    async for batch in batches(items):
        operations: list[dict[str, Any]] = []
        new_accounts: list[dict[str, Any]] = []
        for item in batch:
            if report.took(item):
                continue
            if isinstance(item, Account):
                doc = _account_doc(item, source)
                if doc["_id"] not in accounts:
                    accounts[doc["_id"]] = doc
                    new_accounts.append(doc)
            elif isinstance(item, Balance):
                key = account_id(item.account)
                if _newer(item, balances.get(key)):
                    balances[key] = item
            elif isinstance(item, Operation):
                operations.append(_operation_doc(item, occurrences, source))
        # accounts first: an app never sees an operation whose account is missing
        if new_accounts:
            await sink.save(
                ACCOUNTS,
                [await _with_balance(sink, d, balances.pop(d["_id"], None)) for d in new_accounts],
            )
        if operations:
            await sink.save(OPERATIONS, operations)
    # balances read after their account was saved (a long statement): one more write
    later = [
        await _with_balance(sink, accounts[key], balance)
        for key, balance in balances.items()
        if key in accounts
    ]
    if later:
        await sink.save(ACCOUNTS, later)


async def _with_balance(sink: Sink, doc: dict[str, Any], balance: Balance | None) -> dict[str, Any]:
    """``doc`` with the newest balance known: this statement's, or the one stored."""
    doc = dict(doc)
    old = await sink.stored(ACCOUNTS, doc["_id"]) or {}
    old_date = str((old.get("metadata") or {}).get("balanceDate") or "")
    if balance is not None and (
        "balance" not in old or (balance.date is not None and balance.date.isoformat() >= old_date)
    ):
        doc["balance"] = float(balance.amount)
        if balance.date is not None:
            doc["metadata"] = doc["metadata"] | {"balanceDate": balance.date.isoformat()}
    elif "balance" in old:
        doc["balance"] = old["balance"]
        if old_date:
            doc["metadata"] = doc["metadata"] | {"balanceDate": old_date}
    return doc


def _newer(balance: Balance, than: Balance | None) -> bool:
    if than is None or than.date is None:
        return True
    return balance.date is not None and balance.date >= than.date


def _account_doc(account: Account, source: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": account_id(account), "label": account.label[:512] or "?"}
    for key, value in (
        ("institutionLabel", account.institution),
        ("number", account.number),
        ("iban", account.iban),
        ("type", account.type),
        ("currency", account.currency),
    ):
        if value:
            doc[key] = value[:64] if key in ("number", "iban", "type") else value
    doc["vendorId"] = account.key[:256]
    doc["metadata"] = {"importedFrom": source}
    return doc


def _operation_doc(
    op: Operation, occurrences: Counter[tuple[object, ...]], source: str
) -> dict[str, Any]:
    account = account_id(op.account)
    amount = _cents(op.amount)
    if op.bank_id:
        key: tuple[object, ...] = (account, "fitid", op.bank_id)
    else:
        label = _SPACES.sub(" ", op.label).strip().upper()
        key = (account, op.date.isoformat(), str(amount), label)
    n = occurrences[key]
    occurrences[key] += 1
    doc: dict[str, Any] = {
        "_id": stable_id("bank-operation", *key, n),
        "account": account,
        "date": f"{op.date.isoformat()}T00:00:00Z",
        "amount": float(amount),
        "label": op.label[:1024],
    }
    if op.original_label:
        doc["originalBankLabel"] = op.original_label[:1024]
    if op.currency:
        doc["currency"] = op.currency[:8]
    if op.value_date:
        doc["valueDate"] = f"{op.value_date.isoformat()}T00:00:00Z"
    if op.type:
        doc["type"] = op.type[:64]
    if op.bank_id:
        doc["vendorId"] = op.bank_id[:256]
    doc["metadata"] = {"importedFrom": source}
    return doc


def _cents(amount: Decimal) -> Decimal:
    """``-12.5`` and ``-12.50`` are one amount; sub-cent precision (FX) is kept."""
    exponent = amount.as_tuple().exponent
    return amount.quantize(_CENT) if isinstance(exponent, int) and exponent >= -2 else amount
