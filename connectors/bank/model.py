"""What every statement format reads: accounts, operations and balances.

The parsers (OFX, QIF, CAMT.053) yield these; :mod:`.store` turns them into Cozy
``io.cozy.bank.accounts`` / ``io.cozy.bank.operations`` documents with stable ids.
Amounts stay :class:`~decimal.Decimal` until the document is made, so "-12,50" and
"-12.50" are the same operation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from ..numbers import parse_decimal

__all__ = ["Account", "Balance", "Operation", "parse_amount"]


@dataclass(frozen=True)
class Account:
    #: What identifies the account across statements: ``iban:FR76…``, ``ofx:30004:…``.
    key: str
    label: str
    number: str | None = None
    iban: str | None = None
    #: Cozy's words: Checkings, Savings, CreditCard, Loan, Other.
    type: str | None = None
    currency: str | None = None
    institution: str | None = None


@dataclass(frozen=True)
class Operation:
    account: Account
    date: dt.date
    amount: Decimal
    label: str
    original_label: str | None = None
    #: The bank's own id for the operation (OFX FITID, CAMT AcctSvcrRef), when it gives one.
    bank_id: str | None = None
    currency: str | None = None
    value_date: dt.date | None = None
    type: str | None = None


@dataclass(frozen=True)
class Balance:
    account: Account
    amount: Decimal
    date: dt.date | None


#: Amounts in every spelling French banks use (see :func:`~..numbers.parse_decimal`).
parse_amount = parse_decimal
