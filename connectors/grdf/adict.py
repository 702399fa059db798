"""GRDF ADICT (API Données Individuelles Clients Tiers), for an organisation acting as
trusted third party with the household's consent.

1. ``POST {auth}/openam/oauth2/realms/externeGrdf/access_token`` with
   ``grant_type=client_credentials``, ``client_id``, ``client_secret``,
   ``scope=/adict/v2`` → a bearer token (4 h; taken again on a 401);
2. ``GET {api}/adict/v2/pce/{pce}/donnees_consos_informatives?date_debut=&date_fin=``
   (daily, 3 years back) and ``…/donnees_consos_publiees`` (billed periods, 5 years);
   answers are NDJSON (``application/x-ndjson``): one JSON object per line, each with a
   ``consommation`` and a ``statut_restitution`` (``null``, or a code: no data, no
   consent, consent withdrawn…).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..history import Batch, Kind, NoData, NotApplicable, sync_history
from ..meters import shed_transient
from ..sdk import (
    AuthFailed,
    Context,
    CredentialField,
    HttpResponse,
    Manifest,
    RateLimit,
    ServiceDown,
    UserActionNeeded,
)
from .readings import STATUS, adict_batch, adict_lines

__all__ = ["KINDS", "MANIFEST", "sync"]

CONSENT_URL = "https://monespace.grdf.fr/"
KINDS = (
    Kind("informatives", 36, 365),
    Kind("publiees", 60, 365),
)

MANIFEST = Manifest(
    id="grdf-adict",
    name="GRDF ADICT",
    vendor="GRDF",
    description="Daily gas use (kWh and m³) and billed consumption of a Gazpar meter, "
    "from GRDF's ADICT API (for an organisation with an ADICT contract, acting for the "
    "household).",
    series=("grdf/",),
    credentials=(
        CredentialField(
            "pce", "Gas meter number (PCE)", help="14 digits, or GI + 6 digits, on the gas bill."
        ),
        CredentialField("client_id", "ADICT client_id"),
        CredentialField("client_secret", "ADICT client_secret", kind="secret"),
    ),
    schedule="0 12 * * *",  # informative data lands from D+1 to D+3
    rate_limit=RateLimit(requests=2, per_seconds=1),
    base_urls={"auth": "https://sofit-sso-oidc.grdf.fr", "api": "https://api.grdf.fr"},
    category="energy",
    help_url="https://sites.grdf.fr/web/portail-api-grdf-adict",
)


class _Client:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.token: str | None = None

    async def login(self) -> str:
        resp = await self.ctx.http.post(
            self.ctx.url("auth", "/openam/oauth2/realms/externeGrdf/access_token"),
            data={
                "grant_type": "client_credentials",
                "client_id": self.ctx.credentials["client_id"].strip(),
                "client_secret": self.ctx.credentials["client_secret"].strip(),
                "scope": "/adict/v2",
            },
        )
        shed_transient(resp, "GRDF (token)")
        if resp.status in (400, 401, 403):
            raise AuthFailed("GRDF refused the ADICT client_id/client_secret")
        try:
            payload: Any = await resp.json()
        except ValueError:
            payload = None
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if resp.status != 200 or not isinstance(token, str) or not token:
            raise ServiceDown(f"GRDF gave no token (HTTP {resp.status})")
        self.token = token
        return token

    async def get(self, path: str, params: dict[str, str]) -> tuple[HttpResponse, bytes]:
        for attempt in (0, 1):
            token = self.token or await self.login()
            resp = await self.ctx.http.get(
                self.ctx.url("api", path),
                params=params,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/x-ndjson"},
            )
            if resp.status == 401 and attempt == 0:
                self.token = None
                continue
            shed_transient(resp, "GRDF ADICT")
            return resp, await resp.read()
        raise AssertionError("unreachable")


def _raise_for_codes(codes: list[str], kind: Kind) -> None:
    for code in codes:
        meaning = STATUS.get(code)
        if meaning == "consent":
            raise UserActionNeeded(
                f"GRDF: no valid consent for this meter (code {code}): the household must "
                "give (or renew) it",
                CONSENT_URL,
            )
        if meaning == "not_applicable":
            raise NotApplicable(f"GRDF: the access right does not cover {kind.key} ({code})")
        if meaning == "retry":
            raise ServiceDown(f"GRDF: partial technical error ({code})")


async def sync(ctx: Context) -> None:
    pce = ctx.credentials["pce"].strip()
    client = _Client(ctx)

    async def fetch(kind: Kind, start: dt.date, end: dt.date) -> Batch:
        # ADICT's date_fin is inclusive: ask for [start, end - 1]
        resp, body = await client.get(
            f"/adict/v2/pce/{pce}/donnees_consos_{kind.key}",
            {"date_debut": start.isoformat(), "date_fin": (end - dt.timedelta(days=1)).isoformat()},
        )
        if resp.status == 403:
            raise UserActionNeeded("GRDF: no access right for this meter", CONSENT_URL)
        if resp.status == 404:
            raise NoData(f"GRDF: no data for {kind.key}")
        if resp.status == 401:
            raise AuthFailed("GRDF refused the token twice")
        if resp.status != 200:
            raise ValueError(f"GRDF ADICT answered HTTP {resp.status}")
        if not body.strip():
            raise ServiceDown("GRDF ADICT sent an empty answer")
        items = list(adict_lines(body))
        if items and all(item is None for item in items):
            raise ServiceDown("GRDF ADICT sent something that is not NDJSON")
        batch, codes = adict_batch(items, pce, billed=kind.key == "publiees")
        _raise_for_codes(codes, kind)
        if not any(points for points, _ in batch.series.values()):
            raise NoData(f"GRDF: no {kind.key} data from {start} to {end}")
        return batch

    await sync_history(ctx, KINDS, fetch)
