"""GRDF through the household's own customer account (monespace.grdf.fr), the route
the community integrations (PyGazpar, Home Assistant's GrDF Gazpar) take.

1. ``POST {login}/sofit-account-api/api/v1/auth`` (form: ``email``, ``password``,
   ``capp=meg``, ``goto``) → ``{"state": "SUCCESS"}`` and session cookies (the HTTP
   client keeps them for the run);
2. ``GET {site}/api/e-conso/pce/consommation/informatives?dateDebut=&dateFin=&pceList[]=``
   → ``{"<pce>": {"releves": [{"journeeGaziere", "energieConsomme", "volumeBrutConsomme",
   "coeffConversion", …}]}}``.

Anything that wants a person — a CAPTCHA, new terms to accept, a second factor, an HTML
page where JSON was expected — becomes :class:`UserActionNeeded` with the address to
open; a refused password becomes :class:`AuthFailed`. This route has no published
contract: when GRDF changes its site, it fails loudly rather than storing nonsense.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ..history import Batch, Kind, NoData, sync_history
from ..meters import shed_transient
from ..sdk import (
    AuthFailed,
    Context,
    CredentialField,
    Manifest,
    RateLimit,
    ServiceDown,
    UserActionNeeded,
)
from .readings import web_batch

__all__ = ["KINDS", "MANIFEST", "sync"]

LOGIN_PAGE = "https://monespace.grdf.fr/"
KINDS = (Kind("informatives", 36, 365),)

MANIFEST = Manifest(
    id="grdf-web",
    name="GRDF (customer account)",
    vendor="GRDF",
    description="Daily gas use (kWh and m³) of a Gazpar meter, read from your GRDF "
    "customer account.",
    series=("grdf/",),
    credentials=(
        CredentialField("email", "E-mail of the GRDF account", kind="email"),
        CredentialField("password", "Password", kind="secret"),
        CredentialField("pce", "Gas meter number (PCE)"),
    ),
    schedule="30 12 * * *",
    rate_limit=RateLimit(requests=1, per_seconds=2, daily=200),
    base_urls={"login": "https://login.monespace.grdf.fr", "site": "https://monespace.grdf.fr"},
    category="energy",
    help_url=LOGIN_PAGE,
)

_USER_STATES = ("CAPTCHA", "MFA", "OTP", "CGU", "PASSWORD_EXPIRED", "ACCOUNT_LOCKED")


def _looks_html(body: bytes) -> bool:
    head = body.lstrip()[:64].lower()
    return head.startswith((b"<!doctype", b"<html", b"<"))


async def _login(ctx: Context) -> None:
    resp = await ctx.http.post(
        ctx.url("login", "/sofit-account-api/api/v1/auth"),
        data={
            "email": ctx.credentials["email"].strip(),
            "password": ctx.credentials["password"],
            "capp": "meg",
            "goto": "https://sofa-connexion.grdf.fr:443/openam/oauth2/externeGrdf/authorize",
        },
        headers={"domain": "grdf.fr", "Accept": "application/json"},
    )
    shed_transient(resp, "GRDF")
    body = await resp.read()
    try:
        answer: Any = json.loads(body) if body.strip() else {}
    except ValueError:
        answer = None
    if answer is None or _looks_html(body):
        raise UserActionNeeded("GRDF shows a page that needs a person: log in once", LOGIN_PAGE)
    state = str(answer.get("state", "")).upper() if isinstance(answer, dict) else ""
    if resp.status == 200 and state == "SUCCESS":
        return
    if any(s in state for s in _USER_STATES) or "captcha" in body.decode(errors="replace").lower():
        raise UserActionNeeded(
            f"GRDF asks for a person ({state or 'CAPTCHA'}): log in once on monespace.grdf.fr",
            LOGIN_PAGE,
        )
    if resp.status in (400, 401, 403) or state in ("FAILED", "ERROR", "INVALID_CREDENTIALS"):
        raise AuthFailed("GRDF refused the e-mail or password")
    raise ServiceDown(f"GRDF login answered HTTP {resp.status} ({state or 'no state'})")


async def sync(ctx: Context) -> None:
    pce = ctx.credentials["pce"].strip()
    await _login(ctx)

    async def fetch(kind: Kind, start: dt.date, end: dt.date) -> Batch:
        resp = await ctx.http.get(
            ctx.url("site", "/api/e-conso/pce/consommation/informatives"),
            params={
                "dateDebut": start.isoformat(),
                "dateFin": (end - dt.timedelta(days=1)).isoformat(),
                "pceList[]": pce,
            },
            headers={"Accept": "application/json"},
        )
        shed_transient(resp, "GRDF")
        body = await resp.read()
        if resp.status in (401, 403) or (resp.status == 200 and _looks_html(body)):
            raise UserActionNeeded(
                "GRDF did not let the session in (terms to accept, or a new login step): "
                "log in once on monespace.grdf.fr",
                LOGIN_PAGE,
            )
        if resp.status == 404:
            raise NoData("GRDF: no data")
        if resp.status != 200:
            raise ValueError(f"GRDF answered HTTP {resp.status}")
        if not body.strip():
            raise ServiceDown("GRDF sent an empty answer")
        try:
            payload = json.loads(body)
        except ValueError as err:
            raise ServiceDown("GRDF sent something that is not JSON") from err
        batch = web_batch(payload, pce)
        if not any(points for points, _ in batch.series.values()):
            raise NoData(f"GRDF: nothing from {start} to {end}")
        return batch

    await sync_history(ctx, KINDS, fetch)
