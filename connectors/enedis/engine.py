"""What the three Enedis routes share: which kinds to fetch, what an error means, and
the walk over the meter's history (:mod:`selfdata.connectors.history`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from ..history import (
    Batch,
    BeforeActivation,
    Budget,
    Kind,
    NoData,
    NotApplicable,
    sync_history,
)
from ..meters import retry_after
from ..sdk import (
    AuthFailed,
    Context,
    HttpResponse,
    RateLimited,
    ServiceDown,
    UserActionNeeded,
)
from .readings import KINDS, enedis_error, parse_readings

__all__ = ["Budget", "classify", "select_kinds", "sync_meter"]


def select_kinds(text: str | None) -> tuple[Kind, ...]:
    """Kinds named in a comma-separated setting (all when empty)."""
    if not text or not text.strip():
        return KINDS
    wanted = {w.strip() for w in text.split(",") if w.strip()}
    unknown = wanted - {k.key for k in KINDS}
    if unknown:
        raise AuthFailed(
            f"unknown data kind(s) {', '.join(sorted(unknown))}: choose among "
            + ", ".join(k.key for k in KINDS)
        )
    return tuple(k for k in KINDS if k.key in wanted)


def classify(
    resp: HttpResponse, payload: Any, service: str, *, consent_url: str | None = None
) -> None:
    """Raise what a non-200 answer from an Enedis route means; return on 200."""
    if resp.status == 200:
        return
    code, desc = enedis_error(payload)
    text = f"{service}: {code} {desc}".strip() if code else f"{service}: HTTP {resp.status}"
    upper = code.upper()
    if resp.status == 429 or "quota" in str(payload).lower():
        raise RateLimited(text, retry_after(resp.headers))
    if resp.status >= 500:
        raise ServiceDown(text)
    if upper == "ADAM-ERR0069":  # "le sens de la mesure ne correspond pas pour le PRM"
        raise NotApplicable(text)
    if upper == "ADAM-ERR0123":  # "period cannot be anterior to the meter's last activation"
        raise BeforeActivation(text)
    if upper == "NO_DATA_FOUND" or resp.status == 404:
        raise NoData(text)
    if resp.status == 401:
        raise AuthFailed(f"{text}: the token was refused; make a new one")
    if resp.status == 403 or upper.startswith("ADAM-DC-"):  # ADAM-DC-0008: no consent
        raise UserActionNeeded(
            f"{text}: the meter's owner has not given (or has withdrawn) consent for this "
            "service; give it again",
            consent_url,
        )
    raise ValueError(f"{text} (HTTP {resp.status}): the request was refused")


async def sync_meter(
    ctx: Context,
    prm: str,
    kinds: Sequence[Kind],
    get: Callable[[Kind, dt.date, dt.date], Awaitable[Any]],
    budget: Budget | None = None,
    *,
    quota_reset: Callable[[], float] | None = None,
) -> None:
    """Walk the meter's history; ``get`` returns an answer that :func:`classify` let by."""

    async def fetch(kind: Kind, start: dt.date, end: dt.date) -> Batch:
        points, problems = parse_readings(kind, await get(kind, start, end))
        return Batch({kind.series.format(meter=prm): (points, kind.unit)}, len(problems))

    await sync_history(ctx, kinds, fetch, budget, quota_reset=quota_reset)
