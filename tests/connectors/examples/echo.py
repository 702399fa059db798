"""A well-behaved test connector (not shipped): what it does is chosen by its credentials.

``behaviour``: ``ok`` (fetch ``/readings`` from the ``api`` base URL, save documents and
points, move a cursor), ``auth``, ``action``, ``ratelimit``, ``down``, ``bug``,
``slow`` (sleep ``seconds``), ``partial`` (save, move the cursor, then fail).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from selfdata.connectors.sdk import (
    AuthFailed,
    Context,
    CredentialField,
    Manifest,
    RateLimit,
    RateLimited,
    ServiceDown,
    UserActionNeeded,
)

MANIFEST = Manifest(
    id="test-echo",
    name="Test echo",
    vendor="selfdata tests",
    description="Echoes a fake server's readings into the box.",
    doctypes=("org.example.readings",),
    series=("echo/",),
    files=True,
    credentials=(
        CredentialField("behaviour", "Behaviour", required=False, default="ok"),
        CredentialField("token", "Token", kind="secret"),
        CredentialField("seconds", "Seconds", kind="number", required=False),
    ),
    schedule="every 1h",
    rate_limit=RateLimit(requests=50, per_seconds=1),
    base_urls={"api": "http://127.0.0.1:9/"},
    timeout_seconds=30,
)


async def sync(ctx: Context) -> None:
    behaviour = ctx.credentials.get("behaviour") or "ok"
    ctx.log.info("starting with token %s", ctx.credentials.get("token"))
    if behaviour == "auth":
        raise AuthFailed("the token was refused")
    if behaviour == "action":
        raise UserActionNeeded("accept the new terms", url="https://example.org/terms")
    if behaviour == "ratelimit":
        raise RateLimited("slow down", retry_after=120)
    if behaviour == "down":
        raise ServiceDown("the service is down")
    if behaviour == "bug":
        raise KeyError("oops")
    if behaviour == "slow":
        await asyncio.sleep(float(ctx.credentials.get("seconds") or 60))
        return
    if behaviour == "file":
        file_id = await ctx.save_file(
            "bill.pdf",
            b"%PDF-1.4 " + b"x" * 200_000,
            mime="application/pdf",
            metadata={"vendor": "example"},
        )
        ctx.state["file"] = file_id
        return
    start = int(ctx.state.get("cursor", 0))
    resp = await ctx.http.get(
        ctx.url("api", "/readings"),
        params={"from": str(start)},
        headers={"Authorization": f"Bearer {ctx.credentials['token']}"},
    )
    if resp.status == 401:
        raise AuthFailed("the token was refused")
    readings: list[dict[str, Any]] = await resp.json()
    await ctx.save(
        "org.example.readings",
        ({"_id": f"r{r['n']}", "n": r["n"], "value": r["value"]} for r in readings),
    )
    await ctx.save_series(
        "echo/value", [(1_700_000_000 + 60 * r["n"], r["value"]) for r in readings], "W"
    )
    if readings:
        ctx.state["cursor"] = readings[-1]["n"] + 1
    await ctx.progress(len(readings), len(readings), "readings")
    if behaviour == "partial":
        await ctx.save("org.example.readings", [{"_id": "flush", "n": -1}])
        raise ServiceDown("the service fell over half-way")


async def probe(ctx: Context, options: Mapping[str, str]) -> dict[str, Any]:
    return {"echo": dict(options), "account": ctx.account_id}
