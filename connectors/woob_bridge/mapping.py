"""woob objects → what the box stores.

* ``CapBank`` accounts and transactions become the bank statements' own values
  (:mod:`selfdata.connectors.bank.model`), so they are stored by the same code as an
  OFX file (:func:`~selfdata.connectors.bank.store.store_bank_items`): Cozy
  ``io.cozy.bank.accounts``/``io.cozy.bank.operations`` with stable ids, an operation
  without the bank's id deduplicated by day, amount, label and rank.
* ``CapDocument`` bills become Cozy ``io.cozy.bills`` documents pointing at their PDF
  (``invoice: "io.cozy.files:<id>"``), stored with ``save_file``.

Every function here is called in a worker thread (woob is synchronous and does its own
HTTP): they may block.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from ..bank.model import Account, Balance, Operation
from ..sinks import Note, Problem, stable_id

__all__ = ["BILLS", "bank_items", "bill_document", "file_name", "value"]

BILLS = "io.cozy.bills"
#: woob's ``AccountType`` names → Cozy's account types.
_ACCOUNT_TYPES = {
    "CHECKING": "Checkings",
    "JOINT": "Checkings",
    "CARD": "CreditCard",
    "LOAN": "Loan",
    "MORTGAGE": "Loan",
    "CONSUMER_CREDIT": "Loan",
    "REVOLVING_CREDIT": "Loan",
    **{
        name: "Savings"
        for name in ("SAVINGS", "DEPOSIT", "LIVRET_A", "LIVRET_B", "LDDS", "PEL", "CEL", "CSL")
    },
}

Item = Account | Operation | Balance | Problem | Note


def value(obj: Any, name: str) -> Any:
    """A woob field, ``None`` when woob says it is empty (``NotLoaded``, ``NotAvailable``)."""
    from woob.capabilities.base import empty  # noqa: PLC0415 - woob is an optional extra

    found = getattr(obj, name, None)
    return None if empty(found) else found


def bank_items(backend: Any, module: str, institution: str, today: dt.date) -> Iterator[Item]:
    """Every account of a ``CapBank`` backend, its balance and its booked transactions."""
    for woob_account in backend.iter_accounts():
        account = _account(woob_account, module, institution)
        yield account
        balance = value(woob_account, "balance")
        if balance is not None:
            yield Balance(account, Decimal(balance), today)
        for count, transaction in enumerate(backend.iter_history(woob_account), 1):
            yield _operation(transaction, account, f"{module} {account.label} #{count}")
        pending = _count_coming(backend, woob_account)
        if pending:
            yield Note(f"{account.label}: {pending} pending operation(s) not imported")


def _count_coming(backend: Any, woob_account: Any) -> int:
    iter_coming = getattr(backend, "iter_coming", None)
    if iter_coming is None:
        return 0
    try:
        return sum(1 for _ in iter_coming(woob_account))
    except NotImplementedError:
        return 0


def _member(enum: Any, found: Any) -> str:
    """The name of a woob enum's value: woob's ``Enum`` members are plain ints."""
    if found is None:
        return ""
    return next((k for k, v in enum.__members__.items() if v == found), "")


def _account(woob_account: Any, module: str, institution: str) -> Account:
    from woob.capabilities.bank import AccountType  # noqa: PLC0415 - an optional extra

    kind = _member(AccountType, value(woob_account, "type"))
    currency = value(woob_account, "currency")
    return Account(
        key=f"woob:{module}:{woob_account.id}",
        label=str(value(woob_account, "label") or woob_account.id),
        number=_text(value(woob_account, "number") or woob_account.id),
        iban=_text(value(woob_account, "iban")),
        type=_ACCOUNT_TYPES.get(kind, "Other") if kind else None,
        currency=_text(currency),
        institution=_text(value(woob_account, "bank_name")) or institution,
    )


def _operation(transaction: Any, account: Account, where: str) -> Operation | Problem:
    day = _day(value(transaction, "date") or value(transaction, "rdate"))
    amount = value(transaction, "amount")
    if day is None or amount is None:
        return Problem(where, "a transaction without a date or an amount")
    raw = _text(value(transaction, "raw"))
    label = _text(value(transaction, "label")) or raw or "?"
    from woob.capabilities.bank import TransactionType  # noqa: PLC0415

    kind_name = _member(TransactionType, value(transaction, "type"))
    return Operation(
        account=account,
        date=day,
        amount=Decimal(amount),
        label=label,
        original_label=raw if raw and raw != label else None,
        bank_id=_text(value(transaction, "id")),
        currency=_text(value(transaction, "original_currency")) or account.currency,
        value_date=_day(value(transaction, "vdate")),
        type=kind_name.lower() if kind_name and kind_name != "UNKNOWN" else None,
    )


def bill_document(
    document: Any, subscription: Any, module: str, vendor: str, file_id: str | None
) -> dict[str, Any] | None:
    """The ``io.cozy.bills`` document of a woob ``Bill``; ``None`` for a document that is
    not a bill (a contract, a notice: only its file is kept)."""
    price = value(document, "total_price")
    day = _day(value(document, "date"))
    if price is None or day is None:
        return None
    price = Decimal(price)
    doc: dict[str, Any] = {
        "_id": stable_id("woob-bill", module, subscription.id, document.id),
        "vendor": vendor[:256],
        "amount": float(abs(price)),
        "date": f"{day.isoformat()}T00:00:00Z",
        "isRefund": price < 0,
        "contractId": str(subscription.id)[:256],
        "metadata": {"woobModule": module, "documentId": str(document.id)},
    }
    if currency := _text(value(document, "currency")):
        doc["currency"] = currency[:8]
    if label := _text(value(document, "label")):
        doc["subtype"] = label[:256]
    if file_id:
        doc["invoice"] = f"io.cozy.files:{file_id}"
    for field in ("duedate", "startdate", "finishdate"):
        if (when := _day(value(document, field))) is not None:
            doc["metadata"][field] = when.isoformat()
    if sub_label := _text(value(subscription, "label")):
        doc["metadata"]["subscription"] = sub_label[:256]
    return doc


def file_name(document: Any, module: str) -> str:
    day = _day(value(document, "date"))
    fmt = _text(value(document, "format")) or "pdf"
    stem = "_".join(p for p in (day.isoformat() if day else "", module, str(document.id)) if p)
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in stem)
    return f"{safe[:200]}.{fmt.lower()[:8]}"


def _day(when: Any) -> dt.date | None:
    if isinstance(when, dt.datetime):
        return when.date()
    return when if isinstance(when, dt.date) else None


def _text(found: Any) -> str | None:
    if found is None:
        return None
    text = str(found).strip()
    return text or None
