"""An incremental, quota-aware walk over a meter's history, for the sources that serve
day ranges (Enedis, GRDF).

Per kind of data, ``ctx.state["kinds"][kind]`` keeps two cursors:

* ``next`` — the first day not fetched yet going forward (meters publish up to
  yesterday: ``end`` is exclusive and never later than today);
* ``first`` — how far back the history has been fetched; the backfill walks from the
  newest window to the oldest, so a first run under a daily quota brings the recent
  weeks first and the rest on the following days.

Cursors move only after a window's points are saved, so an interrupted run resumes where
it stopped, and a re-run rewrites the same timestamps (series overwrite by timestamp):
nothing is duplicated. A source gives a ``fetch(kind, start, end)`` that returns a
:class:`Batch` of parsed points, or raises one of the exceptions below.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .meters import PARIS, add_months, local_today, parse_day, windows
from .sdk import Context, RateLimited

__all__ = [
    "Batch",
    "BeforeActivation",
    "Budget",
    "Kind",
    "NoData",
    "NotApplicable",
    "QuotaReached",
    "sync_history",
]

#: A kind the meter does not have (production on a consumer-only PRM) is asked again
#: after this long, in case the owner installed panels.
RECHECK_UNAVAILABLE = dt.timedelta(days=30)


class NoData(Exception):
    """No measure for this window (not collected, or not published yet)."""


class NotApplicable(Exception):
    """This meter does not measure this kind (e.g. production on a consumer's meter)."""


class BeforeActivation(Exception):
    """The window is older than the meter (or the consent): nothing older exists."""


class QuotaReached(Exception):
    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("quota reached")
        self.retry_after = retry_after


@dataclass
class Budget:
    """Calls this run may still make (``None``: only the HTTP client's rate limit)."""

    remaining: int | None = None

    def take(self) -> None:
        if self.remaining is None:
            return
        if self.remaining <= 0:
            raise QuotaReached()
        self.remaining -= 1


@dataclass(frozen=True)
class Kind:
    """One kind of data a source serves by day range."""

    key: str
    #: How far back the first run reaches.
    history_months: int
    #: Longest range one request may ask for.
    window_days: int
    #: Consecutive empty windows after which the backfill stops (history not collected).
    give_up_after: int = 1
    #: Series name (``{meter}`` filled in by the source) and unit, for one-series kinds.
    series: str = ""
    unit: str = ""


@dataclass
class Batch:
    """What one window brought: points by series name (with their unit), bad records."""

    series: dict[str, tuple[list[tuple[int, float]], str]]
    problems: int = 0


Fetch = Callable[[Kind, dt.date, dt.date], Awaitable[Batch]]


async def sync_history(
    ctx: Context,
    kinds: Sequence[Kind],
    fetch: Fetch,
    budget: Budget | None = None,
    *,
    quota_reset: Callable[[], float] | None = None,
) -> None:
    """Fetch what is new, then backfill, for each kind; save as we go."""
    budget = budget or Budget()
    today = local_today(ctx.now())
    states: dict[str, Any] = ctx.state.setdefault("kinds", {})
    problems = 0
    done = 0
    try:
        for kind in kinds:
            st: dict[str, Any] = states.setdefault(kind.key, {})
            unavailable = st.get("unavailable")
            if unavailable and parse_day(unavailable) + RECHECK_UNAVAILABLE > today:
                continue
            st.pop("unavailable", None)
            try:
                problems += await _walk(ctx, kind, st, today, fetch, budget)
            except NotApplicable as err:
                ctx.log.info("%s: %s; asking again in 30 days", kind.key, err)
                st["unavailable"] = today.isoformat()
            done += 1
            await ctx.progress(done, len(kinds), kind.key)
    except QuotaReached as err:
        retry = (
            err.retry_after
            if err.retry_after is not None
            else (quota_reset() if quota_reset else None)
        )
        raise RateLimited(
            "the daily quota of calls is used up: the rest of the history comes on the next runs",
            retry,
        ) from None
    finally:
        if problems:
            ctx.log.warning("%d unreadable records were left out", problems)


async def _walk(
    ctx: Context,
    kind: Kind,
    st: dict[str, Any],
    today: dt.date,
    fetch: Fetch,
    budget: Budget,
) -> int:
    horizon = add_months(today, -kind.history_months)
    problems = 0
    if "first" not in st:
        st["first"], st["next"] = today.isoformat(), None  # the backfill sets "next"

    async def one(start: dt.date, end: dt.date) -> dt.date | None:
        """Fetch and save ``[start, end)``; the day after the last one with data."""
        nonlocal problems
        budget.take()
        try:
            batch = await fetch(kind, start, end)
        except NoData:
            return None
        problems += batch.problems
        last: int | None = None
        for name, (points, unit) in batch.series.items():
            if points:
                await ctx.save_series(name, points, unit)
                top = max(ts for ts, _ in points)
                last = top if last is None else max(last, top)
        if last is None:
            return None
        return dt.datetime.fromtimestamp(last, PARIS).date() + dt.timedelta(days=1)

    # forward: what was published since the last run
    forward = windows(parse_day(st["next"]), today, kind.window_days) if st["next"] else ()
    for start, end in list(forward):
        try:
            after = await one(start, end)
        except BeforeActivation:
            after = None
        st["next"] = (after or start).isoformat() if end == today else end.isoformat()

    # backfill: from the oldest day fetched back to the horizon, newest first
    empty = 0
    while parse_day(st["first"]) > horizon and empty < kind.give_up_after:
        end = parse_day(st["first"])
        start = max(horizon, end - dt.timedelta(days=kind.window_days))
        try:
            after = await one(start, end)
        except BeforeActivation:
            st["first"] = horizon.isoformat()  # nothing older exists
            break
        if st["next"] is None:
            st["next"] = (after or start).isoformat()
        empty = 0 if after else empty + 1
        st["first"] = start.isoformat()
    if empty >= kind.give_up_after:
        st["first"] = horizon.isoformat()
    if st["next"] is None:  # nothing since the horizon yet: look at the last window again
        st["next"] = max(horizon, today - dt.timedelta(days=kind.window_days)).isoformat()
    return problems
