"""The questions a third party may ask, and how the box answers them from its data.

Each template checks its parameters strictly (a third party wrote them), turns them into
one sentence, and evaluates to a yes/no over a period that depends only on the issue
date and the parameters — so the period reveals nothing about the data either. What the
evaluation also finds (the lowest balance, the total) is shown to the owner only.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar, TypeGuard
from zoneinfo import ZoneInfo

from ..errors import Conflict, InputError

if TYPE_CHECKING:
    from ..box import Box

__all__ = [
    "PARIS",
    "TEMPLATES",
    "BalanceAbove",
    "ElectricityBelow",
    "Evaluation",
    "Template",
    "is_number",
    "last_months",
]

PARIS = ZoneInfo("Europe/Paris")
ACCOUNTS = "io.cozy.bank.accounts"
OPERATIONS = "io.cozy.bank.operations"
DAILY_CONSUMPTION = "enedis/daily_consumption/"
_ACCOUNT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._:-]{0,63}$")
_CURRENCY = re.compile(r"^[A-Z]{3}$")
_PRM = re.compile(r"^\d{14}$")
_MAX_AMOUNT = Decimal(10) ** 12


@dataclass(frozen=True)
class Evaluation:
    answer: bool
    start: dt.date
    end: dt.date
    facts: list[str] = field(default_factory=list)  # for the owner's eyes only


class Template:
    id: ClassVar[str]
    title: ClassVar[str]
    _params: ClassVar[frozenset[str]]
    _required: ClassVar[frozenset[str]]

    def check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(params) - self._params)
        if unknown:
            raise InputError(f"{self.id}: unknown parameter(s) {', '.join(unknown)[:80]}")
        missing = sorted(self._required - set(params))
        if missing:
            raise InputError(f"{self.id}: missing parameter(s) {', '.join(missing)}")
        return self._check(params)

    def _check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def question(self, params: Mapping[str, Any]) -> str:
        raise NotImplementedError

    def period(self, params: Mapping[str, Any], today: dt.date) -> tuple[dt.date, dt.date]:
        raise NotImplementedError

    async def evaluate(self, box: Box, params: Mapping[str, Any], today: dt.date) -> Evaluation:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "params": sorted(self._params)}


class BalanceAbove(Template):
    """Was the balance of account X above A at the end of every day of the last N months?"""

    id = "bank-balance-above"
    title = "Bank balance above a threshold every day"
    _params = frozenset({"account", "threshold", "months", "currency"})
    _required = frozenset({"account", "threshold", "months"})

    def _check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        account = params["account"]
        if not isinstance(account, str) or not _ACCOUNT_REF.fullmatch(account):
            raise InputError(
                f"{self.id}: account is its IBAN, number or id (letters, digits, spaces, . _ : -; "
                "64 at most)"
            )
        checked: dict[str, Any] = {
            "account": account,
            "threshold": _amount(params["threshold"], f"{self.id}: threshold"),
            "months": _whole(params["months"], f"{self.id}: months", 1, 24),
        }
        if "currency" in params:
            currency = params["currency"]
            if not isinstance(currency, str) or not _CURRENCY.fullmatch(currency):
                raise InputError(f"{self.id}: currency is a 3-letter code such as EUR")
            checked["currency"] = currency
        return checked

    def question(self, params: Mapping[str, Any]) -> str:
        currency = f" {params['currency']}" if "currency" in params else ""
        months = params["months"]
        span = "complete month" if months == 1 else f"{months} complete months"
        return (
            f"Was the balance of account {params['account']} above "
            f"{_money(params['threshold'])}{currency} at the end of every day of the last {span}?"
        )

    def period(self, params: Mapping[str, Any], today: dt.date) -> tuple[dt.date, dt.date]:
        return last_months(today, int(params["months"]))

    async def evaluate(self, box: Box, params: Mapping[str, Any], today: dt.date) -> Evaluation:
        start, end = self.period(params, today)
        account = await _find_account(box, str(params["account"]))
        currency = account.get("currency")
        if "currency" in params and currency and currency != params["currency"]:
            raise Conflict(f"this account is in {currency}, the question in {params['currency']}")
        balance = account.get("balance")
        if not isinstance(balance, int | float) or isinstance(balance, bool):
            raise Conflict("the box does not know this account's balance: import a statement")
        anchor = _date(
            (account.get("metadata") or {}).get("balanceDate") or account.get("balanceDate")
        )
        if anchor is None:
            raise Conflict("the box does not know when this account's balance was read")
        if anchor < end:
            raise Conflict(
                f"the box knows this account's balance up to {anchor} only; the question needs "
                f"{end}: import a newer statement"
            )
        if (anchor - start).days > 366 * 20:
            raise Conflict("this account's balance is too far from the period asked")
        by_day: dict[dt.date, Decimal] = {}
        earliest: dt.date | None = None
        async for op in box.documents.iterate(OPERATIONS):
            if op.get("account") != account["_id"]:
                continue
            day, amount = _date(op.get("date")), op.get("amount")
            if day is None or not is_number(amount):
                continue
            earliest = day if earliest is None or day < earliest else earliest
            if start < day <= anchor:
                by_day[day] = by_day.get(day, Decimal(0)) + Decimal(str(amount))
        if earliest is None or earliest > start:
            since = f"from {earliest}" if earliest else "none at all"
            raise Conflict(
                f"the box holds this account's operations {since}: the question needs them "
                f"from {start}"
            )
        running, day = Decimal(str(balance)), anchor
        lowest: tuple[Decimal, dt.date] | None = None
        while day >= start:  # running is the balance at the end of `day`
            if day <= end and (lowest is None or running < lowest[0]):
                lowest = (running, day)
            running -= by_day.get(day, Decimal(0))
            day -= dt.timedelta(days=1)
        assert lowest is not None
        unit = f" {currency}" if currency else ""
        return Evaluation(
            answer=lowest[0] > Decimal(str(params["threshold"])),
            start=start,
            end=end,
            facts=[f"lowest end-of-day balance: {_money(lowest[0])}{unit} on {lowest[1]}"],
        )


class ElectricityBelow(Template):
    """Is the yearly electricity use below B kWh (a calendar year, or the last 12 months)?"""

    id = "electricity-use-below"
    title = "Yearly electricity use below a threshold"
    _params = frozenset({"threshold_kwh", "year", "meter"})
    _required = frozenset({"threshold_kwh"})

    def _check(self, params: Mapping[str, Any]) -> dict[str, Any]:
        threshold = params["threshold_kwh"]
        if not is_number(threshold) or not 0 < threshold <= 10_000_000:
            raise InputError(f"{self.id}: threshold_kwh is a number of kWh above 0")
        checked: dict[str, Any] = {"threshold_kwh": threshold}
        if "year" in params:
            checked["year"] = _whole(params["year"], f"{self.id}: year", 2000, 2100)
        if "meter" in params:
            meter = params["meter"]
            if not isinstance(meter, str) or not _PRM.fullmatch(meter):
                raise InputError(f"{self.id}: meter is the Linky's 14-digit number (PRM)")
            checked["meter"] = meter
        return checked

    def question(self, params: Mapping[str, Any]) -> str:
        meter = f"meter {params['meter']}" if "meter" in params else "the household's meter"
        span = f"in {params['year']}" if "year" in params else "over the last 12 complete months"
        return (
            f"Was the electricity use of {meter} below {_kwh(params['threshold_kwh'])} kWh {span}?"
        )

    def period(self, params: Mapping[str, Any], today: dt.date) -> tuple[dt.date, dt.date]:
        if "year" in params:
            return dt.date(params["year"], 1, 1), dt.date(params["year"], 12, 31)
        return last_months(today, 12)

    async def evaluate(self, box: Box, params: Mapping[str, Any], today: dt.date) -> Evaluation:
        start, end = self.period(params, today)
        if end >= today:
            raise Conflict(f"{start.year} is not over yet: ask about a past year")
        series = {
            s.name: s for s in await box.series.list() if s.name.startswith(DAILY_CONSUMPTION)
        }
        if "meter" in params:
            info = series.get(DAILY_CONSUMPTION + params["meter"])
            if info is None:
                raise Conflict("the box has no daily electricity use for that meter")
        elif len(series) == 1:
            info = next(iter(series.values()))
        elif not series:
            raise Conflict("the box has no daily electricity use (add an Enedis source)")
        else:
            raise Conflict("the box has several electricity meters: the request must name one")
        scale = {"Wh": Decimal("0.001"), "kWh": Decimal(1)}.get(info.unit)
        if scale is None:
            raise Conflict(f"unexpected unit {info.unit!r} for daily electricity use")
        lo, hi = _midnight(start), _midnight(end + dt.timedelta(days=1))
        days: dict[dt.date, Decimal] = {}
        for ts, value in await box.series.query(info.name, lo, hi):
            days[dt.datetime.fromtimestamp(ts, PARIS).date()] = Decimal(str(value)) * scale
        expected = (end - start).days + 1
        missing = expected - len(days)
        if missing > 0:
            raise Conflict(
                f"the box lacks {missing} day(s) of electricity use between {start} and {end}"
            )
        total = sum(days.values(), Decimal(0))
        return Evaluation(
            answer=total < Decimal(str(params["threshold_kwh"])),
            start=start,
            end=end,
            facts=[f"electricity used: {total:.1f} kWh"],
        )


TEMPLATES: dict[str, Template] = {t.id: t for t in (BalanceAbove(), ElectricityBelow())}


def last_months(today: dt.date, months: int) -> tuple[dt.date, dt.date]:
    """The last ``months`` complete calendar months before ``today``'s month."""
    end = today.replace(day=1) - dt.timedelta(days=1)
    index = today.year * 12 + today.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1), end


async def _find_account(box: Box, reference: str) -> dict[str, Any]:
    wanted = _norm(reference)
    found = [
        doc
        async for doc in box.documents.iterate(ACCOUNTS)
        if wanted in {_norm(doc.get("iban")), _norm(doc.get("number")), _norm(doc.get("_id"))}
    ]
    if not found:
        raise Conflict("the box has no bank account with that IBAN, number or id")
    if len(found) > 1:
        raise Conflict("several bank accounts match that reference")
    return found[0]


def _norm(value: object) -> str:
    return "".join(value.split()).upper() if isinstance(value, str) else "\0"


def _date(value: object) -> dt.date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def is_number(value: object) -> TypeGuard[int | float]:
    """A JSON number we can compute with: no boolean, NaN, infinity or 400-digit integer."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return abs(value) < 10**18
    return isinstance(value, float) and math.isfinite(value)


def _midnight(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=PARIS).timestamp())


def _amount(value: object, what: str) -> float | int:
    if not is_number(value):
        raise InputError(f"{what} must be a number")
    try:
        exact = Decimal(str(value))
    except InvalidOperation:
        raise InputError(f"{what} must be a number") from None
    if abs(exact) >= _MAX_AMOUNT or exact != exact.quantize(Decimal("0.01")):
        raise InputError(f"{what} must be an amount below 10^12 with at most 2 decimals")
    return value


def _whole(value: object, what: str, lo: int, hi: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise InputError(f"{what} must be a whole number from {lo} to {hi}")
    return value


def _money(value: object) -> str:
    return f"{Decimal(str(value)):,.2f}"


def _kwh(value: object) -> str:
    number = Decimal(str(value))
    return f"{number:,.0f}" if number == number.to_integral() else f"{number:,}"
