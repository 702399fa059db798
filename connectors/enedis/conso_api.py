"""Enedis electricity through Conso API (conso.boris.sh), a citizen gateway.

The owner gives consent once on conso.boris.sh, which hands back a token (a JWT valid
for the meters named in it). Calls: ``GET /api/<kind>?prm=&start=&end=`` with
``Authorization: Bearer <token>``; ``end`` is exclusive; the answer is Enedis's
``meter_reading`` content. Its published limits — 5 requests a second and 10,000 an
hour for all its users — are the manifest's rate limit.
"""

from __future__ import annotations

import datetime as dt

from ... import __version__
from ..history import Kind
from ..meters import read_json
from ..sdk import Context, CredentialField, Manifest, RateLimit
from .engine import classify, select_kinds, sync_meter

__all__ = ["MANIFEST", "sync"]

CONSENT_URL = "https://conso.boris.sh/"
_PATHS = {
    "daily_consumption": "/api/daily_consumption",
    "load_curve": "/api/consumption_load_curve",
    "max_power": "/api/consumption_max_power",
    "daily_production": "/api/daily_production",
}
USER_AGENT = f"selfdata/{__version__} (personal data box)"

MANIFEST = Manifest(
    id="enedis-conso-api",
    name="Enedis (Conso API)",
    vendor="Enedis",
    description="Daily electricity use and production, load curve and daily maximum "
    "power of a Linky meter, through the Conso API gateway.",
    series=("enedis/",),
    credentials=(
        CredentialField(
            "prm",
            "Meter number (PRM, 14 digits)",
            help="Shown on the Linky display, or on your bill as « point de livraison ».",
        ),
        CredentialField(
            "token",
            "Conso API token",
            kind="secret",
            help="Given by conso.boris.sh once you have shared your data.",
        ),
        CredentialField(
            "kinds",
            "Data to fetch",
            required=False,
            default="daily_consumption,load_curve,max_power,daily_production",
            help="Comma-separated; leave out load_curve if hourly collection "
            "is off on your Enedis account.",
        ),
    ),
    schedule="30 9 * * *",  # a day's data is published around 8:00 the next morning
    rate_limit=RateLimit(requests=5, per_seconds=1),
    base_urls={"api": "https://conso.boris.sh"},
    category="energy",
    help_url=CONSENT_URL,
)


async def sync(ctx: Context) -> None:
    prm = ctx.credentials["prm"].strip()
    headers = {
        "Authorization": f"Bearer {ctx.credentials['token'].strip()}",
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
    }

    async def fetch(kind: Kind, start: dt.date, end: dt.date) -> object:
        resp = await ctx.http.get(
            ctx.url("api", _PATHS[kind.key]),
            params={"prm": prm, "start": start.isoformat(), "end": end.isoformat()},
            headers=headers,
        )
        payload = await read_json(resp, "Conso API") if resp.status != 204 else {}
        classify(resp, payload, "Conso API", consent_url=CONSENT_URL)
        return payload

    await sync_meter(ctx, prm, select_kinds(ctx.credentials.get("kinds")), fetch)
