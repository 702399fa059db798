"""Budget: bank operations by month and category, recurring bills linked to operations.

Reads ``io.cozy.bank.operations`` (Cozy's categories: ``manualCategoryId`` beats
``automaticCategoryId``) and ``io.cozy.bills``. A bill is *linked* to the operation that
paid it: same amount to the cent, within a week of the bill's date, the one whose label
names the vendor preferred. A vendor billing at least twice is *recurring*; its next
bill is expected one median interval after the last.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "CATEGORIES",
    "Bill",
    "MonthSummary",
    "Operation",
    "RecurringBill",
    "bills_of",
    "by_category",
    "by_month",
    "category_of",
    "link_bills",
    "operations_of",
    "recurring_bills",
    "subscriptions",
]

#: Cozy Banks' category tree, by its top-level groups (the first four digits of an id).
CATEGORIES = {
    "0": "Uncategorized",
    "1": "Transfers",
    "2": "Income",
    "3": "Cash withdrawals",
    "4001": "Everyday life",
    "4002": "Transport",
    "4003": "Services and fees",
    "4004": "Children",
    "4005": "Taxes",
    "4006": "Health",
    "4007": "Leisure",
    "4008": "Going out and travel",
    "4009": "Education",
    "4010": "Housing",
    "4011": "Excluded from budget",
    "other": "Other",
}


def category_of(category_id: object) -> str:
    cid = str(category_id or "0").strip()
    if not cid.isdigit() or cid == "0":
        return "0"
    if cid.startswith("2"):
        return "2"
    if len(cid) == 6 and cid.startswith("4"):
        key = cid[:4]
        return key if key in CATEGORIES else "other"
    if cid in ("100", "200"):
        return "1"
    if cid == "300":
        return "3"
    return "other"


@dataclass(frozen=True)
class Operation:
    id: str
    date: dt.date
    label: str
    amount: float
    currency: str
    category: str


@dataclass(frozen=True)
class Bill:
    id: str
    date: dt.date
    vendor: str
    amount: float
    currency: str
    type: str


def _day(value: object) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def _amount(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def operations_of(docs: list[dict[str, Any]]) -> list[Operation]:
    """The readable operations (a bad row is skipped, not a crash), oldest first."""
    ops = []
    for doc in docs:
        day, amount = _day(doc.get("date")), _amount(doc.get("amount"))
        if day is None or amount is None:
            continue
        label = str(doc.get("label") or doc.get("originalBankLabel") or "")
        cat = category_of(doc.get("manualCategoryId") or doc.get("automaticCategoryId"))
        ops.append(
            Operation(
                str(doc.get("_id", "")), day, label, amount, str(doc.get("currency") or "EUR"), cat
            )
        )
    return sorted(ops, key=lambda o: (o.date, o.id))


def bills_of(docs: list[dict[str, Any]]) -> list[Bill]:
    bills = []
    for doc in docs:
        day, amount = _day(doc.get("date")), _amount(doc.get("amount"))
        if day is None or amount is None or not doc.get("vendor"):
            continue
        bills.append(
            Bill(
                str(doc.get("_id", "")),
                day,
                str(doc["vendor"]),
                amount,
                str(doc.get("currency") or "EUR"),
                str(doc.get("type") or ""),
            )
        )
    return sorted(bills, key=lambda b: (b.date, b.id))


@dataclass
class MonthSummary:
    year: int
    month: int
    income: float = 0.0
    spending: float = 0.0
    count: int = 0

    @property
    def net(self) -> float:
        return self.income + self.spending

    @property
    def key(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def by_month(
    ops: list[Operation], months: int = 12, today: dt.date | None = None
) -> list[MonthSummary]:
    """The last ``months`` months up to the latest operation (or ``today``), oldest first."""
    if not ops and today is None:
        return []
    last = today or ops[-1].date
    keys: list[tuple[int, int]] = []
    y, m = last.year, last.month
    for _ in range(months):
        keys.append((y, m))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    summaries = {k: MonthSummary(*k) for k in reversed(keys)}
    for op in ops:
        summary = summaries.get((op.date.year, op.date.month))
        if summary is None or op.category in ("1", "4011"):  # transfers move, not spend
            continue
        summary.count += 1
        if op.amount >= 0:
            summary.income += op.amount
        else:
            summary.spending += op.amount
    return list(summaries.values())


def by_category(ops: list[Operation], year: int, month: int) -> list[tuple[str, float]]:
    """Spending (negative totals) per category in a month, largest first."""
    totals: dict[str, float] = defaultdict(float)
    for op in ops:
        if (op.date.year, op.date.month) == (year, month) and op.amount < 0:
            totals[op.category] += op.amount
    return sorted(totals.items(), key=lambda kv: kv[1])


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def link_bills(bills: list[Bill], ops: list[Operation], days: int = 7) -> dict[str, Operation]:
    """bill id → the operation that paid it."""
    by_cents: dict[int, list[Operation]] = defaultdict(list)
    for op in ops:
        by_cents[round(abs(op.amount) * 100)].append(op)
    used: set[int] = set()  # by object: operations without an _id are still distinct
    links: dict[str, Operation] = {}
    for bill in bills:
        vendor = _norm(bill.vendor)
        candidates = [
            op
            for op in by_cents.get(round(abs(bill.amount) * 100), [])
            if id(op) not in used and abs((op.date - bill.date).days) <= days and op.amount < 0
        ]
        if not candidates:
            continue
        best = min(
            candidates,
            key=lambda op: (vendor not in _norm(op.label), abs((op.date - bill.date).days)),
        )
        used.add(id(best))
        links[bill.id] = best
    return links


@dataclass
class RecurringBill:
    vendor: str
    type: str
    currency: str
    bills: list[Bill] = field(default_factory=list)
    linked: int = 0

    @property
    def average(self) -> float:
        return statistics.fmean(b.amount for b in self.bills)

    @property
    def last(self) -> Bill:
        return self.bills[-1]

    @property
    def interval_days(self) -> int:
        gaps = [(b.date - a.date).days for a, b in zip(self.bills, self.bills[1:], strict=False)]
        return int(statistics.median(gaps)) if gaps else 0

    @property
    def next_date(self) -> dt.date | None:
        gap = self.interval_days
        return self.last.date + dt.timedelta(days=gap) if gap > 0 else None

    @property
    def yearly(self) -> float:
        gap = self.interval_days
        return self.average * 365 / gap if gap > 0 else self.average


def recurring_bills(bills: list[Bill], links: dict[str, Operation]) -> list[RecurringBill]:
    groups: dict[str, RecurringBill] = {}
    for bill in bills:
        key = _norm(bill.vendor)
        group = groups.setdefault(key, RecurringBill(bill.vendor, bill.type, bill.currency))
        group.bills.append(bill)
        group.linked += bill.id in links
    found = [g for g in groups.values() if len(g.bills) >= 2]
    return sorted(found, key=lambda g: -g.yearly)


@dataclass(frozen=True)
class Subscription:
    label: str
    average: float
    count: int
    last: dt.date


def subscriptions(ops: list[Operation], min_months: int = 3) -> list[Subscription]:
    """Debits with the same label in at least ``min_months`` distinct months, of similar size."""
    groups: dict[str, list[Operation]] = defaultdict(list)
    for op in ops:
        if op.amount < 0 and op.category not in ("1", "3"):
            key = re.sub(r"\d+", "", _norm(op.label)).strip()
            if key:
                groups[key].append(op)
    found = []
    for items in groups.values():
        months = {(o.date.year, o.date.month) for o in items}
        amounts = [o.amount for o in items]
        mean = statistics.fmean(amounts)
        if len(months) >= min_months and all(abs(a - mean) <= 0.2 * abs(mean) for a in amounts):
            found.append(Subscription(items[-1].label, mean, len(items), items[-1].date))
    return sorted(found, key=lambda s: s.average)
