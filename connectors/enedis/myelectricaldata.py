"""Enedis electricity through myElectricalData (myelectricaldata.fr), a citizen gateway.

The owner gives consent on myelectricaldata.fr and gets a token for their meter (PDL).
Calls: ``GET /<kind>/<pdl>/start/<start>/end/<end>`` with ``Authorization: <token>``;
the answer is Enedis's own ``{"meter_reading": …}``. The gateway allows a fixed number
of calls a day per meter (50 without its cache): this connector counts its calls per
local day in its state and, when the day's share is used, stops with "rate limited" until
midnight — the history then arrives over the following days, newest first.
"""

from __future__ import annotations

import datetime as dt

from ..history import Kind
from ..meters import PARIS, local_today, read_json
from ..sdk import Context, CredentialField, Manifest, RateLimit
from .engine import Budget, classify, select_kinds, sync_meter

__all__ = ["DAILY_CALLS", "MANIFEST", "sync"]

CONSENT_URL = "https://www.myelectricaldata.fr/"
DAILY_CALLS = 50
_PATHS = {
    "daily_consumption": "daily_consumption",
    "load_curve": "consumption_load_curve",
    "max_power": "daily_consumption_max_power",
    "daily_production": "daily_production",
}

MANIFEST = Manifest(
    id="enedis-myelectricaldata",
    name="Enedis (myElectricalData)",
    vendor="Enedis",
    description="Daily electricity use and production, load curve and daily maximum "
    "power of a Linky meter, through the myElectricalData gateway.",
    series=("enedis/",),
    credentials=(
        CredentialField("pdl", "Meter number (PDL/PRM, 14 digits)"),
        CredentialField(
            "token",
            "myElectricalData token",
            kind="secret",
            help="Shown on myelectricaldata.fr once you have given consent.",
        ),
        CredentialField(
            "kinds",
            "Data to fetch",
            required=False,
            default="daily_consumption,load_curve,max_power,daily_production",
        ),
        CredentialField(
            "daily_calls",
            "Calls a day",
            kind="number",
            required=False,
            default=str(DAILY_CALLS),
            help="The gateway's daily quota for your meter.",
        ),
    ),
    schedule="45 9 * * *",
    rate_limit=RateLimit(requests=1, per_seconds=1, daily=DAILY_CALLS),
    base_urls={"api": "https://www.myelectricaldata.fr"},
    category="energy",
    help_url=CONSENT_URL,
)


async def sync(ctx: Context) -> None:
    pdl = ctx.credentials["pdl"].strip()
    headers = {"Authorization": ctx.credentials["token"].strip(), "Accept": "application/json"}
    now = ctx.now()
    today = local_today(now).isoformat()
    quota = ctx.state.setdefault("quota", {})
    if quota.get("day") != today:
        quota.clear()
        quota.update(day=today, used=0)
    allowed = int(ctx.credentials.get("daily_calls") or DAILY_CALLS)
    budget = Budget(max(0, allowed - int(quota["used"])))

    async def fetch(kind: Kind, start: dt.date, end: dt.date) -> object:
        quota["used"] = int(quota["used"]) + 1
        resp = await ctx.http.get(
            ctx.url("api", f"/{_PATHS[kind.key]}/{pdl}/start/{start}/end/{end}"),
            headers=headers,
        )
        payload = await read_json(resp, "myElectricalData")
        classify(resp, payload, "myElectricalData", consent_url=CONSENT_URL)
        return payload

    def until_midnight() -> float:
        local = now.astimezone(PARIS)
        midnight = dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), PARIS)
        return (midnight - local).total_seconds()

    await sync_meter(
        ctx,
        pdl,
        select_kinds(ctx.credentials.get("kinds")),
        fetch,
        budget,
        quota_reset=until_midnight,
    )
