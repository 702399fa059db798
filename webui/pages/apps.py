"""The apps that make the data useful inside the box: Mon Logis, Énergie, Budget."""

from __future__ import annotations

import datetime as dt
from typing import Any

from aiohttp import web

from ...api.keys import BOX
from ...store import SeriesInfo
from ..apps import budget, energy, logis
from ..reading import all_documents
from ..render import data_block, page, translator

__all__ = ["budget_page", "energy_page", "logis_page", "recent_energy"]

DAY = 86_400


# -- Budget ---------------------------------------------------------------------------------


async def budget_page(request: web.Request) -> web.StreamResponse:
    box = request.app[BOX]
    t = translator(request)
    ops = budget.operations_of(await all_documents(box, "io.cozy.bank.operations"))
    bills = budget.bills_of(await all_documents(box, "io.cozy.bills"))
    months = budget.by_month(ops)
    chosen = request.query.get("month", "")
    month = next((m for m in months if m.key == chosen), None) or (months[-1] if months else None)
    categories = budget.by_category(ops, month.year, month.month) if month else []
    links = budget.link_bills(bills, ops)
    recurring = budget.recurring_bills(bills, links)
    spent = -sum(v for _, v in categories) or 1.0
    chart = {
        "kind": "bars",
        "x": [int(dt.datetime(m.year, m.month, 1, tzinfo=dt.UTC).timestamp()) for m in months],
        "series": [
            {
                "label": t("Income"),
                "values": [round(m.income, 2) for m in months],
                "color": "#1b7f4a",
            },
            {
                "label": t("Spending"),
                "values": [round(-m.spending, 2) for m in months],
                "color": "#b3261e",
            },
        ],
        "unit": "€",
        "time": "month",
    }
    return page(
        request,
        "budget.html",
        {
            "has_data": bool(ops),
            "months": months,
            "month": month,
            "categories": [(budget.CATEGORIES[c], -v, -v / spent) for c, v in categories],
            "recurring": recurring,
            "links": links,
            "subscriptions": budget.subscriptions(ops)[:12],
            "chart": data_block(chart),
            "bills_count": len(bills),
        },
        title="Budget",
    )


# -- Mon Logis ------------------------------------------------------------------------------


async def logis_page(request: web.Request) -> web.StreamResponse:
    box = request.app[BOX]
    contracts = await all_documents(box, "selfdata.energy.contracts")
    bills = budget.bills_of(await all_documents(box, "io.cozy.bills"))
    ops = budget.operations_of(await all_documents(box, "io.cozy.bank.operations"))
    recurring = budget.recurring_bills(bills, budget.link_bills(bills, ops))
    # the 12 months up to the latest bill: stale data still shows what it knows
    today = max((b.date for b in bills), default=dt.datetime.now(dt.UTC).date())
    domains = logis.domains(contracts, bills, recurring)
    electricity = await recent_energy(request)
    year_total = sum(d.year_total(today) for d in domains)
    return page(
        request,
        "logis.html",
        {
            "domains": domains,
            "today": today,
            "year_total": year_total,
            "electricity": electricity,
            "has_data": bool(contracts or bills or electricity),
        },
        title="Mon Logis",
    )


async def recent_energy(request: web.Request) -> dict[str, Any] | None:
    """The last 30 days of the main electricity series, for the home dashboard."""
    box = request.app[BOX]
    info = _main_energy_series(await box.series.list())
    if info is None or info.last_day is None:
        return None
    end = (info.last_day + 1) * DAY
    agg = "sum" if info.unit.lower() in energy.ENERGY_UNITS else "avg"
    points = await box.series.query(info.name, end - 30 * DAY, end, 3600, agg)  # type: ignore[arg-type]
    hours = energy.hourly_wh(points, info.unit)
    kwh = sum(wh for _, wh in hours) / 1000
    days = len(energy.daily(hours, translator(request).zone)) or 1
    return {"series": info.name, "kwh": kwh, "per_day": kwh / days, "end": end}


def _main_energy_series(infos: list[SeriesInfo]) -> SeriesInfo | None:
    usable = [
        i
        for i in infos
        if i.last_day is not None
        and (i.unit.lower() in energy.ENERGY_UNITS or i.unit.lower() in energy.POWER_UNITS)
    ]
    usable.sort(key=lambda i: (i.unit.lower() not in energy.ENERGY_UNITS, -i.chunks, i.name))
    return usable[0] if usable else None


# -- Énergie --------------------------------------------------------------------------------

VIEWS = ("day", "month", "year")


async def energy_page(request: web.Request) -> web.StreamResponse:
    box = request.app[BOX]
    t = translator(request)
    zone = t.zone
    infos = await box.series.list()
    usable = [
        i
        for i in infos
        if i.last_day is not None
        and (i.unit.lower() in energy.ENERGY_UNITS or i.unit.lower() in energy.POWER_UNITS)
    ]
    if not usable:
        return page(request, "energy.html", {"has_data": False}, title="Énergie")
    main = _main_energy_series(usable)
    info = next((i for i in usable if i.name == request.query.get("series")), main)
    assert info is not None
    assert info.last_day is not None
    assert info.first_day is not None
    view = request.query.get("view", "day")
    view = view if view in VIEWS else "day"
    is_energy = info.unit.lower() in energy.ENERGY_UNITS
    agg = "sum" if is_energy else "avg"
    end = (info.last_day + 1) * DAY
    start = max(info.first_day * DAY, end - 365 * DAY)
    hours = energy.hourly_wh(await box.series.query(info.name, start, end, 3600, agg), info.unit)  # type: ignore[arg-type]
    local = energy.localize(hours, zone)
    days = energy.daily(local, zone)
    # the first and last local days are cut by the UTC range: leave them out if partial
    counts: dict[dt.date, int] = {}
    for day, _, _ in local:
        counts[day] = counts.get(day, 0) + 1
    for edge in (local[0][0], local[-1][0]) if local else ():
        if counts[edge] < 23:
            days.pop(edge, None)

    contract = await _electricity_contract(request)
    prices = _prices(contract)
    windows = energy.parse_off_peak(contract.get("offPeakHours") if contract else None)
    tariff = energy.tariff_costs(local, zone, windows, prices)

    temps = [i for i in infos if energy.is_temperature(i.name, i.unit) and i.last_day is not None]
    temp_days: dict[dt.date, float] = {}
    if temps:
        raw = await box.series.query(temps[0].name, start, end, 3600, "avg")
        temp_days = energy.daily_mean(raw, zone)
    sensitivity = energy.heating_sensitivity({d: wh / 1000 for d, wh in days.items()}, temp_days)

    rows: list[tuple[str, float, float | None]]
    xs: list[int]
    if view == "day":
        shown = list(days.items())[-31:]
        xs = [_epoch(d) for d, _ in shown]
        rows = [(t.date(d.isoformat()), wh / 1000, temp_days.get(d)) for d, wh in shown]
    elif view == "month":
        shown_m = list(energy.monthly(days).items())[-12:]
        xs = [_epoch(dt.date(y, m, 1)) for (y, m), _ in shown_m]
        rows = [(t.month(y, m), wh / 1000, None) for (y, m), wh in shown_m]
    else:
        whole = energy.hourly_wh(
            await box.series.query(info.name, info.first_day * DAY, end, DAY, agg),  # type: ignore[arg-type]
            info.unit,
            DAY,
        )
        shown_y = list(energy.yearly(energy.daily(whole, zone)).items())
        xs = [_epoch(dt.date(y, 1, 1)) for y, _ in shown_y]
        rows = [(str(y), wh / 1000, None) for y, wh in shown_y]
    series = [
        {
            "label": t("Consumption (kWh)"),
            "values": [round(r[1], 3) for r in rows],
            "color": "#1d5fa8",
        }
    ]
    if view == "day" and temp_days:
        series.append(
            {
                "label": t("Outdoor temperature (°C)"),
                "values": [None if r[2] is None else round(r[2], 1) for r in rows],
                "color": "#c25e00",
                "axis": "right",
            }
        )
    chart = {"kind": "bars", "x": xs, "series": series, "time": view}
    load_curve = {
        "series": info.name,
        "start": end - 7 * DAY,
        "end": end,
        "step": 900,
        "agg": agg,
        "unit": info.unit,
        "label": t("Load curve, last 7 days ({unit})", unit="W" if is_energy else info.unit),
        "power": is_energy,
    }
    return page(
        request,
        "energy.html",
        {
            "has_data": True,
            "usable": usable,
            "info": info,
            "view": view,
            "views": VIEWS,
            "rows": rows,
            "chart": data_block(chart),
            "load_curve": data_block(load_curve),
            "tariff": tariff,
            "windows": [
                f"{a // 60:02d}:{a % 60:02d}–{b // 60:02d}:{b % 60:02d}" for a, b in windows
            ],
            "contract": contract,
            "temperature": temps[0] if temps else None,
            "sensitivity": sensitivity,
            "period_start": start,
            "period_end": end - 1,
            "total_kwh": sum(days.values()) / 1000,
        },
        title="Énergie",
    )


def _epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.UTC).timestamp())


async def _electricity_contract(request: web.Request) -> dict[str, Any] | None:
    contracts = await all_documents(request.app[BOX], "selfdata.energy.contracts", 200)
    return next((c for c in contracts if c.get("energy") == "electricity"), None)


def _prices(contract: dict[str, Any] | None) -> energy.Prices:
    """The contract's own prices (``metadata.prices``), else the regulated tariff."""
    raw = ((contract or {}).get("metadata") or {}).get("prices") or {}
    try:
        base = float(raw["base"])
        peak = float(raw.get("peak", raw.get("hp", base)))
        off_peak = float(raw.get("off_peak", raw.get("hc", base)))
    except (KeyError, TypeError, ValueError):
        return energy.DEFAULT_PRICES
    if min(base, peak, off_peak) <= 0 or max(base, peak, off_peak) > 10:
        return energy.DEFAULT_PRICES
    return energy.Prices(base, peak, off_peak, "contract")
