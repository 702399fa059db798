"""Enedis Data Connect v5, directly, for an organisation acting as trusted third party.

The organisation (an association, a local authority running boxes for its members…) has
a Data Connect contract: a ``client_id``/``client_secret`` pair, and each household's
consent for its meter, given on the Enedis customer area. The connector:

1. gets an access token: ``POST /oauth2/v3/token`` (``grant_type=client_credentials``),
   kept in memory only and taken again when a call answers 401 (expired, ~3.5 h);
2. reads ``/metering_data_dc/v5/daily_consumption``, ``/metering_data_clc/v5/
   consumption_load_curve`` (7-day windows), ``/metering_data_dcmp/v5/
   daily_consumption_max_power``, ``/metering_data_dp/v5/daily_production`` with
   ``usage_point_id``, ``start``, ``end`` (exclusive, at most yesterday);
3. reads ``/customers_upc/v5/usage_points/contracts`` into ``selfdata.energy.contracts``.

Errors: ``ADAM-DC-0008`` (403, no consent) → user action; ``ADAM-ERR0069`` (the PRM does
not measure that direction) → that kind is skipped; ``ADAM-ERR0123`` (before the meter's
activation) → the backfill stops there; 429 → rate limited; 5xx → service down.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Any

from ..history import Kind
from ..meters import read_json
from ..sdk import AuthFailed, Context, CredentialField, Manifest, RateLimit
from .engine import classify, select_kinds, sync_meter

__all__ = ["MANIFEST", "contract_document", "sync"]

CONTRACTS = "selfdata.energy.contracts"
CONSENT_URL = "https://mon-compte-particulier.enedis.fr/"
_PATHS = {
    "daily_consumption": "/metering_data_dc/v5/daily_consumption",
    "load_curve": "/metering_data_clc/v5/consumption_load_curve",
    "max_power": "/metering_data_dcmp/v5/daily_consumption_max_power",
    "daily_production": "/metering_data_dp/v5/daily_production",
}

MANIFEST = Manifest(
    id="enedis-dataconnect",
    name="Enedis Data Connect",
    vendor="Enedis",
    description="A Linky meter's daily use and production, load curve, maximum power and "
    "contract, from Enedis Data Connect v5 (for an organisation with a Data Connect "
    "contract, acting for the household).",
    doctypes=(CONTRACTS,),
    series=("enedis/",),
    credentials=(
        CredentialField("usage_point_id", "Meter number (PRM, 14 digits)"),
        CredentialField("client_id", "Data Connect client_id"),
        CredentialField("client_secret", "Data Connect client_secret", kind="secret"),
        CredentialField(
            "kinds",
            "Data to fetch",
            required=False,
            default="daily_consumption,load_curve,max_power,daily_production",
        ),
    ),
    schedule="15 9 * * *",
    # Enedis's limits are per organisation: 5 calls a second, 10,000 an hour
    rate_limit=RateLimit(requests=5, per_seconds=1),
    base_urls={
        "api": "https://gw.ext.prod.api.enedis.fr"
    },  # sandbox: gw.ext.prod-sandbox.api.enedis.fr
    category="energy",
    help_url="https://datahub-enedis.fr/services-api/data-connect/",
)


class _Session:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.token: str | None = None

    async def login(self) -> str:
        resp = await self.ctx.http.post(
            self.ctx.url("api", "/oauth2/v3/token"),
            data={
                "grant_type": "client_credentials",
                "client_id": self.ctx.credentials["client_id"].strip(),
                "client_secret": self.ctx.credentials["client_secret"].strip(),
            },
            headers={"Accept": "application/json"},
        )
        payload = await read_json(resp, "Enedis (token)")
        if resp.status in (400, 401, 403):
            raise AuthFailed(
                "Enedis refused the client_id/client_secret "
                f"({payload.get('error', resp.status) if isinstance(payload, dict) else resp.status})"
            )
        classify(resp, payload, "Enedis (token)")
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise AuthFailed("Enedis gave no access token")
        self.token = token
        return token

    async def get(self, path: str, params: dict[str, str]) -> tuple[Any, Any]:
        for attempt in (0, 1):
            token = self.token or await self.login()
            resp = await self.ctx.http.get(
                self.ctx.url("api", path),
                params=params,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            )
            if resp.status == 401 and attempt == 0:
                self.token = None  # expired: take a new one, once
                continue
            payload = await read_json(resp, "Enedis Data Connect")
            return resp, payload
        raise AssertionError("unreachable")


async def sync(ctx: Context) -> None:
    prm = ctx.credentials["usage_point_id"].strip()
    session = _Session(ctx)
    kinds = select_kinds(ctx.credentials.get("kinds"))

    resp, payload = await session.get(
        "/customers_upc/v5/usage_points/contracts", {"usage_point_id": prm}
    )
    classify(resp, payload, "Enedis Data Connect", consent_url=CONSENT_URL)
    docs = [d for d in contract_documents(payload) if d["meterId"] == prm]
    if docs:
        await ctx.save(CONTRACTS, docs)

    async def fetch(kind: Kind, start: dt.date, end: dt.date) -> object:
        resp, payload = await session.get(
            _PATHS[kind.key],
            {"usage_point_id": prm, "start": start.isoformat(), "end": end.isoformat()},
        )
        classify(resp, payload, "Enedis Data Connect", consent_url=CONSENT_URL)
        return payload

    await sync_meter(ctx, prm, kinds, fetch)


def contract_documents(payload: Any) -> list[dict[str, Any]]:
    """``selfdata.energy.contracts`` documents from a ``usage_points/contracts`` answer."""
    customer = payload.get("customer") if isinstance(payload, dict) else None
    points = customer.get("usage_points") if isinstance(customer, dict) else None
    docs = []
    for item in points if isinstance(points, list) else []:
        doc = contract_document(item)
        if doc:
            docs.append(doc)
    return docs


def contract_document(item: Any) -> dict[str, Any] | None:
    if not isinstance(item, dict):
        return None
    point = item.get("usage_point") or {}
    contract = item.get("contracts") or {}
    prm = point.get("usage_point_id")
    if not isinstance(prm, str) or not prm:
        return None
    doc: dict[str, Any] = {"_id": f"enedis:{prm}", "energy": "electricity", "meterId": prm}
    if isinstance(contract.get("distribution_tariff"), str):
        doc["tariff"] = contract["distribution_tariff"]
    power = contract.get("subscribed_power")
    if isinstance(power, str):
        with contextlib.suppress(ValueError):
            doc["subscribedPowerKva"] = float(power.lower().replace("kva", "").strip())
    if isinstance(contract.get("offpeak_hours"), str):
        doc["offPeakHours"] = contract["offpeak_hours"]
    if isinstance(contract.get("last_activation_date"), str):
        doc["startDate"] = contract["last_activation_date"][:10]
    doc["metadata"] = {
        k: v
        for k, v in {**point, **contract}.items()
        if isinstance(v, str | int | float) and k != "usage_point_id"
    }
    return doc
