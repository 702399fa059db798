"""A household's bank account and electricity meter, made relative to today, and requests.

Expected answers are computed here, in floats and by day, not with the code under test.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from typing import Any
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
IBAN = "FR7630001007941234567890185"
PRM = "12345678901234"
ACCOUNT_ID = "acc-courant"
DAILY_KWH = 8.0


def today() -> dt.date:
    return dt.datetime.now(PARIS).date()


def last_months(months: int) -> tuple[dt.date, dt.date]:
    now = today()
    end = now.replace(day=1) - dt.timedelta(days=1)
    index = now.year * 12 + now.month - 1 - months
    return dt.date(index // 12, index % 12 + 1, 1), end


def operations(days: int = 200) -> list[dict[str, Any]]:
    """A salary on the 1st, the rent on the 5th, groceries every day."""
    ops = []
    start = today() - dt.timedelta(days=days)
    for i in range(days + 1):
        day = start + dt.timedelta(days=i)
        if day.day == 1:
            ops.append(
                {"_id": f"sal-{day}", "amount": 2100.0, "date": day.isoformat(), "label": "SALAIRE"}
            )
        if day.day == 5:
            ops.append(
                {"_id": f"rent-{day}", "amount": -950.0, "date": day.isoformat(), "label": "LOYER"}
            )
        ops.append(
            {"_id": f"food-{day}", "amount": -31.7, "date": f"{day}T12:00:00", "label": "CB"}
        )
    for op in ops:
        op["account"] = ACCOUNT_ID
        op["currency"] = "EUR"
    return ops


# The balance at the end of the last complete month. Anchoring it there, not today, keeps
# the answers the same whatever the day of the month (on the 1st, the salary just came in).
MONTH_END_BALANCE = 1843.25


def current_balance() -> float:
    _, month_end = last_months(0)
    since = sum(op["amount"] for op in operations() if op["date"][:10] > month_end.isoformat())
    return round(MONTH_END_BALANCE + since, 2)


def account() -> dict[str, Any]:
    return {
        "_id": ACCOUNT_ID,
        "label": "Compte courant",
        "iban": IBAN,
        "currency": "EUR",
        "balance": current_balance(),
        "metadata": {"balanceDate": today().isoformat()},
    }


def lowest_balance(months: int) -> float:
    """The lowest end-of-day balance over the last ``months`` complete months."""
    ops = operations()
    start, end = last_months(months)
    total_after: dict[dt.date, float] = {}
    for op in ops:
        day = dt.date.fromisoformat(op["date"][:10])
        total_after[day] = total_after.get(day, 0.0) + op["amount"]
    balances = {}
    running = current_balance()
    day = today()
    while day >= start:
        balances[day] = running
        running -= total_after.get(day, 0.0)
        day -= dt.timedelta(days=1)
    return min(round(v, 2) for d, v in balances.items() if start <= d <= end)


def electricity(days: int = 800) -> list[list[float]]:
    points = []
    for i in range(1, days + 1):
        day = today() - dt.timedelta(days=i)
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=PARIS)
        points.append([int(midnight.timestamp()), DAILY_KWH * 1000])
    return points


def yearly_kwh() -> float:
    start, end = last_months(12)
    return ((end - start).days + 1) * DAILY_KWH


def request(template: str = "bank-balance-above", **overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = (
        {"account": IBAN, "threshold": 100, "months": 3, "currency": "EUR"}
        if template == "bank-balance-above"
        else {"threshold_kwh": 5000, "meter": PRM}
    )
    body: dict[str, Any] = {
        "type": "selfdata.answer-request/1",
        "template": template,
        "params": params,
        "nonce": secrets.token_urlsafe(16),
        "requester": "Banque Exemple — crédit",
        "valid_days": 30,
        "purpose": "demande de prêt",
    }
    body.update(overrides)
    return body


async def load(api: Any) -> None:
    """Through the API, as the web UI or a connector would."""
    status, body = await api.call(
        "POST", "/api/v1/doctypes/io.cozy.bank.accounts/documents", json=account()
    )
    assert status == 201, body
    lines = "\n".join(json.dumps(op) for op in operations()).encode()
    status, report = await api.call(
        "POST", "/api/v1/doctypes/io.cozy.bank.operations/import", data=lines
    )
    assert status == 200, report
    assert report["errors"] == 0, report
    status, body = await api.call(
        "POST",
        f"/api/v1/series/enedis/daily_consumption/{PRM}",
        json={"unit": "Wh", "points": electricity()},
    )
    assert status == 200, body
