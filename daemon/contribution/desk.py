"""Open-data contribution: opt in, preview the exact payload, consent, send it once.

Nothing is computed for sending until the owner asks for a preview; nothing is sent
unless the owner opted in *and* sends back the SHA-256 of the payload they previewed.
Those very bytes — stored encrypted between preview and send — are what the collector
receives. Each month is contributed at most once (repeated noisy copies of one value
would average the noise away). The consent is written to the ledger before the first
byte leaves, and the outcome after.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import weakref
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import aiohttp

from ..answers.templates import DAILY_CONSUMPTION, PARIS
from ..box import Box
from ..errors import Conflict, InputError, IntegrityError, RemoteError
from ..ledger import ConsentKeys, Ledger
from ..store.codec import ad_for, open_json, seal_json
from .privacy import ROUNDING_KWH, privatize
from .settings import DATASETS, Settings

__all__ = ["PAYLOAD_TYPE", "Contribution", "monthly_use"]

PAYLOAD_TYPE = "selfdata.contribution/1"
MAX_MONTHS = 12
TIMEOUT = 30
_LOCKS: weakref.WeakKeyDictionary[Box, asyncio.Lock] = weakref.WeakKeyDictionary()


class Contribution:
    def __init__(self, box: Box, *, now: dt.datetime | None = None) -> None:
        self._box = box
        self._db = box.db
        self._now = now

    @property
    def _keys(self) -> ConsentKeys:
        return ConsentKeys.of(self._box.keys)

    # -- state ------------------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        keys = self._keys
        return {
            "settings": (await self._settings(keys)).to_json(),
            "pending": await self._get(keys, "pending"),
            "sent_months": (await self._get(keys, "sent") or {}).get("months", []),
            "datasets": DATASETS,
        }

    async def configure(self, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Change the settings; opting in or out and any change of destination is recorded."""
        keys = self._keys
        if not isinstance(changes, Mapping):
            raise InputError("settings are a JSON object")
        old = await self._settings(keys)
        new = old.updated(dict(changes))
        async with self._db.transaction() as conn:
            if new != old:
                ledger = Ledger(self._box)
                await ledger.drain_in(conn)
                await ledger.append_in(conn, "contribution-settings", new.to_json())
                await self._put_in(conn, keys, "pending", None)  # a preview of other settings
            await self._put_in(conn, keys, "settings", new.to_json())
        return await self.status()

    # -- preview ----------------------------------------------------------------------------

    async def preview(self, months: list[str] | None = None) -> dict[str, Any]:
        """Compute the payload (noise drawn once, here) and keep it for ``send``."""
        keys = self._keys
        settings = await self._settings(keys)
        if not settings.enabled:
            raise Conflict("open-data contribution is off: opt in first (enabled: true)")
        pending = await self._get(keys, "pending")
        if pending is not None:  # the same noisy values: no second draw to average
            if months is None or _check_months(months) == pending["months"]:
                return dict(pending)
            raise Conflict("a preview is pending: send it or discard it before another one")
        sent = set((await self._get(keys, "sent") or {}).get("months", []))
        available = await monthly_use(self._box, settings.meter, self._today())
        if months is None:
            chosen = [m for m in sorted(available) if m not in sent][-MAX_MONTHS:]
        else:
            chosen = _check_months(months)
            for month in chosen:
                if month in sent:
                    raise Conflict(f"{month} was already contributed: each month is sent once")
                if month not in available:
                    raise Conflict(f"the box has no complete electricity data for {month}")
        if not chosen:
            raise Conflict("no complete month of electricity data is left to contribute")
        payload = {
            "type": PAYLOAD_TYPE,
            "dataset": settings.dataset,
            "area": settings.area,
            "k_anonymity": settings.k,
            "privacy": {
                "mechanism": "laplace",
                "epsilon": settings.epsilon,
                "sensitivity_kwh": settings.sensitivity_kwh,
                "rounding_kwh": ROUNDING_KWH,
            },
            "values": [
                {
                    "month": month,
                    "kwh": privatize(
                        float(available[month]),
                        epsilon=settings.epsilon,
                        sensitivity=settings.sensitivity_kwh,
                    ),
                }
                for month in chosen
            ],
        }
        text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        pending = {
            "endpoint": settings.endpoint,
            "payload": text,
            "sha256": hashlib.sha256(text.encode()).hexdigest(),
            "months": chosen,
            "epsilon_spent": round(settings.epsilon * len(chosen), 6),
        }
        async with self._db.transaction() as conn:
            await self._put_in(conn, keys, "pending", pending)
        return pending

    async def discard(self) -> dict[str, Any]:
        keys = self._keys
        async with self._db.transaction() as conn:
            await self._put_in(conn, keys, "pending", None)
        return await self.status()

    # -- send -------------------------------------------------------------------------------

    async def send(self, sha256: object) -> dict[str, Any]:
        """Send the previewed payload, if ``sha256`` names it: the owner's consent."""
        keys = self._keys
        if not isinstance(sha256, str) or len(sha256) != 64:
            raise InputError("send the SHA-256 of the payload you previewed (64 hex digits)")
        lock = _LOCKS.setdefault(self._box, asyncio.Lock())
        async with lock:
            settings = await self._settings(keys)
            if not settings.enabled:
                raise Conflict("open-data contribution is off: nothing was sent")
            pending = await self._get(keys, "pending")
            if pending is None:
                raise Conflict("nothing to send: preview the payload first")
            if sha256 != pending["sha256"] or pending["endpoint"] != settings.endpoint:
                raise Conflict("that is not the payload you previewed: nothing was sent")
            details = {
                "endpoint": settings.endpoint,
                "dataset": settings.dataset,
                "area": settings.area,
                "months": pending["months"],
                "epsilon": settings.epsilon,
                "k": settings.k,
                "sha256": pending["sha256"],
            }
            ledger = Ledger(self._box)
            async with self._db.transaction() as conn:
                await ledger.drain_in(conn)
                await ledger.append_in(
                    conn,
                    "contribution",
                    details | {"status": "consented", "payload": pending["payload"]},
                )
            error = await _post(settings.endpoint, pending["payload"].encode("utf-8"))
            async with self._db.transaction() as conn:
                if error is None:
                    await ledger.append_in(conn, "contribution", details | {"status": "sent"})
                    sent = await self._get(keys, "sent") or {"months": []}
                    months = sorted(set(sent["months"]) | set(pending["months"]))
                    await self._put_in(conn, keys, "sent", {"months": months})
                    await self._put_in(conn, keys, "pending", None)
                else:
                    await ledger.append_in(
                        conn, "contribution", details | {"status": "failed", "error": error}
                    )
        if error is not None:
            raise RemoteError(f"the collector did not take the contribution: {error}")
        return {"sent": True, "months": pending["months"], "sha256": pending["sha256"]}

    # -- helpers ----------------------------------------------------------------------------

    def _today(self) -> dt.date:
        return (self._now or dt.datetime.now(dt.UTC)).astimezone(PARIS).date()

    async def _settings(self, keys: ConsentKeys) -> Settings:
        data = await self._get(keys, "settings")
        return Settings() if data is None else Settings.from_json(data)

    async def _get(self, keys: ConsentKeys, name: str) -> Any:
        key = keys.name("contribution", name)
        row = await self._db.fetchone("SELECT body FROM consent_state WHERE name = ?", (key,))
        if row is None:
            return None
        value = open_json(keys.state, row[0], ad_for(b"consent-state", key))
        if value is not None and not isinstance(value, dict):
            raise IntegrityError("the contribution's state is unreadable")
        return value

    @staticmethod
    async def _put_in(conn: Any, keys: ConsentKeys, name: str, value: Any) -> None:
        key = keys.name("contribution", name)
        if value is None:
            await conn.execute("DELETE FROM consent_state WHERE name = ?", (key,))
            return
        await conn.execute(
            "INSERT INTO consent_state(name, body) VALUES (?, ?) "
            "ON CONFLICT(name) DO UPDATE SET body = excluded.body",
            (key, seal_json(keys.state, value, ad_for(b"consent-state", key))),
        )


async def monthly_use(box: Box, meter: str | None, today: dt.date) -> dict[str, Decimal]:
    """kWh per complete month (every day present) of the last 24, before ``today``'s month."""
    infos = [s for s in await box.series.list() if s.name.startswith(DAILY_CONSUMPTION)]
    if meter is not None:
        infos = [s for s in infos if s.name == DAILY_CONSUMPTION + meter]
    if len(infos) != 1:
        raise Conflict(
            "the box has no daily electricity use for that meter"
            if meter or not infos
            else "the box has several electricity meters: set `meter` in the settings"
        )
    info = infos[0]
    scale = {"Wh": Decimal("0.001"), "kWh": Decimal(1)}.get(info.unit)
    if scale is None:
        raise Conflict(f"unexpected unit {info.unit!r} for daily electricity use")
    first = dt.date(today.year - 2, today.month, 1)
    end = today.replace(day=1)
    lo = int(dt.datetime(first.year, first.month, 1, tzinfo=PARIS).timestamp())
    hi = int(dt.datetime(end.year, end.month, 1, tzinfo=PARIS).timestamp())
    days: dict[dt.date, Decimal] = {}
    for ts, value in await box.series.query(info.name, lo, hi):
        days[dt.datetime.fromtimestamp(ts, PARIS).date()] = Decimal(str(value)) * scale
    months: dict[str, Decimal] = {}
    counts: dict[str, int] = {}
    for day, kwh in days.items():
        key = f"{day.year:04d}-{day.month:02d}"
        months[key] = months.get(key, Decimal(0)) + kwh
        counts[key] = counts.get(key, 0) + 1
    return {m: v for m, v in months.items() if counts[m] == _days_in(m)}


def _days_in(month: str) -> int:
    year, number = int(month[:4]), int(month[5:])
    nxt = dt.date(year + number // 12, number % 12 + 1, 1)
    return (nxt - dt.date(year, number, 1)).days


def _check_months(months: object) -> list[str]:
    if not isinstance(months, list) or not 1 <= len(months) <= MAX_MONTHS:
        raise InputError(f"months is a list of 1 to {MAX_MONTHS} YYYY-MM strings")
    checked = []
    for month in months:
        if not isinstance(month, str) or len(month) != 7:
            raise InputError("a month is written YYYY-MM")
        try:
            dt.date.fromisoformat(month + "-01")
        except ValueError:
            raise InputError("a month is written YYYY-MM") from None
        checked.append(month)
    return sorted(set(checked))


async def _post(endpoint: str, body: bytes) -> str | None:
    """POST ``body`` as is; None when the collector accepted it (2xx), else why not."""
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session,
            session.post(
                endpoint,
                data=body,
                headers={"Content-Type": "application/json", "User-Agent": "selfdata-contribution"},
                allow_redirects=False,
            ) as resp,
        ):
            if 200 <= resp.status < 300:
                return None
            return f"HTTP {resp.status}"
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as err:
        return f"{type(err).__name__}: {err}"[:200]
