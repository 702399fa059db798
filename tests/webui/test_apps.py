"""The apps' arithmetic, on small hand-made data: budget, energy, Mon Logis."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from selfdata.webui.apps import budget, energy, logis

from . import household

PARIS = ZoneInfo("Europe/Paris")


def test_categories_group_cozy_ids_by_their_top_level() -> None:
    assert budget.category_of("400110") == "4001"
    assert budget.category_of("401080") == "4010"
    assert budget.category_of("200110") == "2"
    assert budget.category_of(None) == "0"
    assert budget.category_of("garbage") == "0"


def test_months_sum_income_and_spending_and_skip_bad_rows() -> None:
    ops = budget.operations_of(
        [
            {"_id": "a", "date": "2025-01-03", "amount": 100.0, "label": "pay"},
            {"_id": "b", "date": "2025-01-05", "amount": -30.0, "automaticCategoryId": "400110"},
            {"_id": "c", "date": "2025-02-01", "amount": -10.0},
            {"_id": "d", "date": "not a date", "amount": -99.0},
            {"_id": "e", "date": "2025-02-02", "amount": "12"},
            {"_id": "f", "date": "2025-02-03", "amount": -500.0, "manualCategoryId": "100"},
        ]
    )
    assert [o.id for o in ops] == ["a", "b", "c", "f"]
    months = budget.by_month(ops, months=2)
    assert [(m.key, m.income, m.spending, m.net) for m in months] == [
        ("2025-01", 100.0, -30.0, 70.0),
        ("2025-02", 0.0, -10.0, -10.0),  # the transfer is not spending
    ]
    assert budget.by_category(ops, 2025, 1) == [("4001", -30.0)]


def test_bills_link_to_the_payment_that_names_the_vendor() -> None:
    bills = budget.bills_of([{"_id": "b1", "vendor": "EDF", "amount": 92.4, "date": "2025-01-05"}])
    ops = budget.operations_of(
        [
            {"_id": "x", "date": "2025-01-06", "amount": -92.4, "label": "CB RANDOM"},
            {"_id": "y", "date": "2025-01-08", "amount": -92.4, "label": "PRLV EDF CLIENTS"},
            {"_id": "z", "date": "2025-03-08", "amount": -92.4, "label": "PRLV EDF"},
        ]
    )
    assert budget.link_bills(bills, ops)["b1"].id == "y"


def test_recurring_bills_predict_the_next_one() -> None:
    bills = budget.bills_of(household.bills())
    ops = budget.operations_of(household.bank_operations())
    links = budget.link_bills(bills, ops)
    recurring = {r.vendor: r for r in budget.recurring_bills(bills, links)}
    edf = recurring["EDF"]
    assert len(edf.bills) == edf.linked == 12
    assert edf.interval_days in (30, 31)
    assert edf.next_date is not None
    assert dt.date(2025, 3, 5) <= edf.next_date <= dt.date(2025, 3, 8)
    assert edf.yearly == pytest.approx(92.4 * 365 / edf.interval_days)
    regular = {s.label for s in budget.subscriptions(ops)}
    assert "PRLV SEPA FREE" in regular
    assert "VIR SALAIRE ACME" not in regular  # income, not a payment


@pytest.mark.parametrize(
    ("text", "windows"),
    [
        ("22:00-06:00", [(1320, 360)]),
        ("HC (1H30-7H30 ; 12h30-14h30)", [(90, 450), (750, 870)]),
        (None, [(1320, 360)]),
        ("whatever", [(1320, 360)]),
    ],
)
def test_off_peak_hours_are_read_as_people_write_them(
    text: str | None, windows: list[tuple[int, int]]
) -> None:
    assert energy.parse_off_peak(text) == windows


def test_power_becomes_energy_and_tariffs_are_compared() -> None:
    assert energy.hourly_wh([(0, 2.0)], "kWh") == [(0, 2000.0)]
    assert energy.hourly_wh([(0, 500.0)], "W", 1800) == [(0, 250.0)]
    # one kWh every hour of a January day in Paris (UTC+1)
    start = int(dt.datetime(2025, 1, 1, tzinfo=PARIS).timestamp())
    hours = [(start + h * 3600, 1000.0) for h in range(24)]
    cost = energy.tariff_costs(hours, PARIS, [(22 * 60, 6 * 60)], energy.DEFAULT_PRICES)
    assert cost.kwh == 24
    assert cost.off_peak_kwh == 8
    assert cost.base == pytest.approx(24 * 0.2016)
    assert cost.peak_off_peak == pytest.approx(16 * 0.2146 + 8 * 0.1696)
    assert energy.daily(hours, PARIS) == {dt.date(2025, 1, 1): 24000.0}


def test_heating_sensitivity_finds_the_slope() -> None:
    days = [dt.date(2025, 1, 1) + dt.timedelta(days=i) for i in range(20)]
    temps = {d: float(i % 10) for i, d in enumerate(days)}
    kwh = {d: 5 + 2 * (15 - temps[d]) for d in days}
    found = energy.heating_sensitivity(kwh, temps)
    assert found is not None
    assert found.kwh_per_degree == pytest.approx(2)
    assert found.correlation == pytest.approx(1)
    assert energy.heating_sensitivity(dict(list(kwh.items())[:3]), temps) is None


@pytest.mark.parametrize(
    ("kind", "vendor", "domain"),
    [
        ("energy", "EDF", "electricity"),
        ("", "GRDF", "gas"),
        ("", "Eau du Grand Lyon", "water"),
        ("insurance", "Anything", "insurance"),
        ("", "Free", "telecom"),
        ("", "Red by SFR", "telecom"),
        ("", "Boulangerie", None),
    ],
)
def test_bills_find_their_household_domain(kind: str, vendor: str, domain: str | None) -> None:
    assert logis.domain_of(kind, vendor) == domain
