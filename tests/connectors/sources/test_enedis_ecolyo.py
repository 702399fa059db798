"""Energy series → Ecolyo's com.grandlyon.* documents."""

from __future__ import annotations

import datetime as dt

from selfdata.connectors.ecolyo import ecolyo_documents
from selfdata.connectors.meters import PARIS


def at(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=PARIS).timestamp())


DAILY_WH = [
    (at("2024-01-31T00:00"), 9000.0),
    (at("2024-02-01T00:00"), 10500.0),
    (at("2024-02-02T00:00"), 8250.0),
]


def test_days_are_kwh_in_local_time() -> None:
    docs = list(ecolyo_documents(DAILY_WH, "enedis", "day"))
    assert docs[1] == (
        "com.grandlyon.enedis.day",
        {
            "_id": "com.grandlyon.enedis.day:2024-02-01T00:00",
            "load": 10.5,
            "year": 2024,
            "month": 2,
            "day": 1,
            "hour": 0,
            "minute": 0,
        },
    )


def test_months_and_years_are_sums_of_days() -> None:
    months = [doc for _, doc in ecolyo_documents(DAILY_WH, "enedis", "month")]
    assert [(m["month"], m["day"], m["load"]) for m in months] == [(1, 0, 9.0), (2, 0, 18.75)]
    ((doctype, year),) = list(ecolyo_documents(DAILY_WH, "enedis", "year"))
    assert doctype == "com.grandlyon.enedis.year"
    assert (year["year"], year["month"], year["load"]) == (2024, 0, 27.75)


def test_load_curve_minutes_and_gas_in_kwh() -> None:
    curve = [(at("2024-03-14T00:00"), 200.0), (at("2024-03-14T00:30"), 210.0)]
    minutes = [doc for _, doc in ecolyo_documents(curve, "enedis", "minute")]
    assert [(m["hour"], m["minute"], m["load"]) for m in minutes] == [(0, 0, 0.2), (0, 30, 0.21)]
    ((doctype, gas),) = list(ecolyo_documents([(at("2024-02-01T00:00"), 35.0)], "grdf", "day"))
    assert doctype == "com.grandlyon.grdf.day"
    assert gas["load"] == 35.0
