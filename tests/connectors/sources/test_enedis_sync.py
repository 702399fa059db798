"""The three Enedis routes against a fake Enedis on loopback: history, increments,
quotas and every error the services document."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from selfdata.box import Box
from selfdata.connectors.enedis import conso_api, dataconnect, myelectricaldata
from selfdata.connectors.meters import PARIS
from selfdata.connectors.sdk import AuthFailed, RateLimited, ServiceDown, UserActionNeeded

from tests.connectors.fakes.context import BoxContext
from tests.connectors.fakes.enedis import CLIENT_ID, CLIENT_SECRET, PRM, TOKEN, FakeEnedis
from tests.connectors.fakes.server import serve

from .conftest import fake_context

NOW = dt.datetime(2024, 3, 15, 9, 30, tzinfo=dt.UTC)
SAMPLES = Path(__file__).parent / "samples" / "enedis"
DAILY = f"enedis/daily_consumption/{PRM}"
CURVE = f"enedis/load_curve/{PRM}"
MAXP = f"enedis/max_power/{PRM}"


def recorded(name: str) -> Any:
    """A recorded answer (provenance in samples/enedis/README.md)."""
    return json.loads((SAMPLES / name).read_text())


def local(text: str) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=PARIS).timestamp())


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def conso_ctx(box: Box, session: aiohttp.ClientSession, url: str, **kw: str) -> BoxContext:
    creds = {"prm": PRM, "token": TOKEN, **kw}
    return fake_context(box, session, conso_api.MANIFEST, url, now=NOW, **creds)


def med_ctx(
    box: Box, session: aiohttp.ClientSession, url: str, now: dt.datetime = NOW, **kw: str
) -> BoxContext:
    creds = {"pdl": PRM, "token": TOKEN, **kw}
    return fake_context(box, session, myelectricaldata.MANIFEST, url, now=now, **creds)


def dataconnect_ctx(box: Box, session: aiohttp.ClientSession, url: str, **kw: str) -> BoxContext:
    creds = {"usage_point_id": PRM, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **kw}
    return fake_context(box, session, dataconnect.MANIFEST, url, now=NOW, **creds)


async def test_conso_api_first_run_fetches_the_history_then_reruns_fetch_nothing(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeEnedis()
    async with serve(fake.conso_api_app()) as url:
        ctx = conso_ctx(box, session, url)
        await conso_api.sync(ctx)

        daily = await ctx.points(DAILY)
        # from the meter's activation to yesterday, one point a day
        assert len(daily) == (dt.date(2024, 3, 15) - dt.date(2022, 6, 1)).days
        assert daily[0] == (local("2022-06-01T00:00"), 8100.0)
        assert daily[-1] == (local("2024-03-14T00:00"), 9400.0)
        curve = await ctx.points(CURVE, local("2024-03-14T00:00"), local("2024-03-15T00:00"))
        assert len(curve) == 48
        assert curve[0] == (local("2024-03-14T00:00"), 200.0)  # 400 W over 30 min
        assert curve[-1] == (local("2024-03-14T23:30"), (400 + 1410 // 10) / 2)
        maxp = await ctx.points(MAXP, local("2024-03-14T00:00"), local("2024-03-15T00:00"))
        assert maxp == [(local("2024-03-14T19:30"), 3014.0)]
        # no production on this meter: asked once, then left alone for 30 days
        assert ctx.state["kinds"]["daily_production"]["unavailable"] == "2024-03-15"
        assert fake.calls.count("daily_production") == 1
        assert all(
            v == "2024-03-15" for k, v in _cursors(ctx, "next").items() if k != "daily_production"
        )

        # same day again: nothing to ask, nothing duplicated
        fake.calls.clear()
        await conso_api.sync(ctx)
        assert fake.calls == []
        assert len(await ctx.points(DAILY)) == len(daily)

        # the next day: exactly one new window per kind
        ctx.set_now(NOW + dt.timedelta(days=1))
        fake.today = dt.date(2024, 3, 16)
        await conso_api.sync(ctx)
        assert sorted(fake.calls) == ["daily_consumption", "load_curve", "max_power"]
        assert (await ctx.points(DAILY))[-1] == (local("2024-03-15T00:00"), 9500.0)
        assert len(await ctx.points(DAILY)) == len(daily) + 1


def half_hours(start: dt.date, end: dt.date) -> int:
    """Half hours between two local midnights (daylight saving days included)."""
    return (local(f"{end}T00:00") - local(f"{start}T00:00")) // 1800


def _cursors(ctx: BoxContext, which: str) -> dict[str, str]:
    return {k: v[which] for k, v in ctx.state["kinds"].items() if which in v}


async def test_a_day_not_yet_published_is_asked_again_next_run(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeEnedis(published=dt.date(2024, 3, 14))  # yesterday's data not out yet
    async with serve(fake.conso_api_app()) as url:
        ctx = conso_ctx(box, session, url, kinds="daily_consumption")
        await conso_api.sync(ctx)
        assert ctx.state["kinds"]["daily_consumption"]["next"] == "2024-03-14"
        fake.published = None
        fake.calls.clear()
        await conso_api.sync(ctx)
        assert fake.calls == ["daily_consumption"]
        assert (await ctx.points(DAILY))[-1][0] == local("2024-03-14T00:00")


async def test_rate_limited_keeps_progress_and_the_next_run_resumes(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeEnedis()
    async with serve(fake.conso_api_app()) as url:
        ctx = conso_ctx(box, session, url, kinds="load_curve")
        fake.faults.at = {11: "429"}  # ten windows go through, then "too many requests"
        with pytest.raises(RateLimited) as caught:
            await conso_api.sync(ctx)
        assert caught.value.retry_after == 120
        first = ctx.state["kinds"]["load_curve"]["first"]
        assert first == (dt.date(2024, 3, 15) - dt.timedelta(days=70)).isoformat()
        fake.calls.clear()
        await conso_api.sync(ctx)
        # it went on from where it stopped, newest first, down to the activation
        assert fake.calls[0] == "load_curve"
        assert ctx.state["kinds"]["load_curve"]["first"] == "2022-03-15"
        assert len(await ctx.points(CURVE)) == half_hours(dt.date(2022, 6, 1), dt.date(2024, 3, 15))


@pytest.mark.parametrize("fault", ["empty", "malformed"])
async def test_an_empty_or_broken_answer_is_service_down(
    box: Box, session: aiohttp.ClientSession, fault: str
) -> None:
    fake = FakeEnedis()
    fake.faults.queue = [fault]
    async with serve(fake.conso_api_app()) as url:
        with pytest.raises(ServiceDown):
            await conso_api.sync(conso_ctx(box, session, url))


async def test_an_outage_is_retried_then_service_down(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeEnedis()
    async with serve(fake.conso_api_app()) as url:
        fake.faults.queue = ["503"]  # one blip: retried by the HTTP client, the run succeeds
        ctx = conso_ctx(box, session, url, kinds="daily_consumption")
        await conso_api.sync(ctx)
        assert len(await ctx.points(DAILY)) > 600
        ctx.set_now(NOW + dt.timedelta(days=1))
        fake.today = dt.date(2024, 3, 16)
        fake.faults.queue = ["500", "500", "500"]
        with pytest.raises(ServiceDown):
            await conso_api.sync(ctx)
        assert ctx.state["kinds"]["daily_consumption"]["next"] == "2024-03-15"


async def test_a_refused_token_is_auth_failed_and_no_consent_is_user_action(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeEnedis()
    async with serve(fake.conso_api_app()) as url:
        with pytest.raises(AuthFailed):
            await conso_api.sync(conso_ctx(box, session, url, token="nope"))
        fake.consent = False
        with pytest.raises(UserActionNeeded) as caught:
            await conso_api.sync(conso_ctx(box, session, url))
        assert "ADAM-DC-0008" in caught.value.message
        assert caught.value.url == conso_api.CONSENT_URL


async def test_load_curve_not_collected_gives_up_after_a_few_empty_weeks(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeEnedis(load_curve_collected=False)
    async with serve(fake.conso_api_app()) as url:
        ctx = conso_ctx(box, session, url, kinds="load_curve")
        await conso_api.sync(ctx)
        assert fake.calls == ["load_curve"] * 5
        fake.calls.clear()
        await conso_api.sync(ctx)
        assert fake.calls == ["load_curve"]  # only the newest week, in case it was switched on


async def test_myelectricaldata_spreads_the_history_over_its_daily_quota(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeEnedis()
    async with serve(fake.myelectricaldata_app()) as url:
        ctx = med_ctx(box, session, url)
        with pytest.raises(RateLimited) as caught:
            await myelectricaldata.sync(ctx)
        assert len(fake.calls) == myelectricaldata.DAILY_CALLS
        # 09:30 UTC is 10:30 in Paris: the quota comes back at local midnight
        assert caught.value.retry_after == pytest.approx(13.5 * 3600)
        # the daily data came first; the recent load curve before the old one
        assert (await ctx.points(DAILY))[-1][0] == local("2024-03-14T00:00")
        assert (await ctx.points(CURVE))[-1][0] == local("2024-03-14T23:30")
        fake.calls.clear()
        with pytest.raises(RateLimited):
            await myelectricaldata.sync(ctx)  # same day: not one more call
        assert fake.calls == []
        for day in range(1, 4):  # the following days finish the backfill
            ctx.set_now(NOW + dt.timedelta(days=day))
            fake.today = dt.date(2024, 3, 15) + dt.timedelta(days=day)
            try:
                await myelectricaldata.sync(ctx)
                break
            except RateLimited:
                continue
        assert ctx.state["kinds"]["load_curve"]["first"] <= "2022-06-01"
        assert len(await ctx.points(CURVE)) == half_hours(dt.date(2022, 6, 1), fake.today)


async def test_dataconnect_takes_a_token_renews_it_when_it_expires_and_saves_the_contract(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeEnedis(token_lifetime=20)
    async with serve(fake.dataconnect_app()) as url:
        ctx = dataconnect_ctx(box, session, url)
        await dataconnect.sync(ctx)
        assert fake.tokens_issued > 3  # ~100 calls with 20 per token
        assert len(await ctx.points(DAILY)) == (dt.date(2024, 3, 15) - dt.date(2022, 6, 1)).days
        contract = await box.documents.get("selfdata.energy.contracts", f"enedis:{PRM}")
        assert contract["subscribedPowerKva"] == 9.0
        assert contract["tariff"] == "BTINFCUST"
        assert contract["offPeakHours"] == "HC (22H30-6H30)"
        # a second run: a new token, the contract again (idempotent), no data call
        fake.calls.clear()
        await dataconnect.sync(ctx)
        assert fake.calls == ["contracts"]
        assert await box.documents.count("selfdata.energy.contracts") == 1


async def test_dataconnect_wrong_secret_is_auth_failed_and_no_consent_user_action(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeEnedis()
    async with serve(fake.dataconnect_app()) as url:
        with pytest.raises(AuthFailed):
            await dataconnect.sync(dataconnect_ctx(box, session, url, client_secret="x"))
        fake.consent = False
        with pytest.raises(UserActionNeeded):
            await dataconnect.sync(dataconnect_ctx(box, session, url))


# --- recorded answers, replayed by the fake gateways ------------------------------------


@pytest.mark.parametrize(
    "sample",
    [
        "conso_api_error_500_plain_text.json",  # Enedis sent text: relayed as a string
        "conso_api_error_500_technical_error.json",
    ],
)
async def test_recorded_conso_api_outages_are_service_down(
    box: Box, session: aiohttp.ClientSession, sample: str
) -> None:
    fake = FakeEnedis(replay={"daily_consumption": (500, recorded(sample))})
    async with serve(fake.conso_api_app()) as url:
        ctx = conso_ctx(box, session, url, kinds="daily_consumption")
        with pytest.raises(ServiceDown, match="HTTP 500"):
            await conso_api.sync(ctx)
        assert len(fake.calls) == 3  # retried, then given up for this run
        assert ctx.saved == {}


async def test_recorded_conso_api_no_data_found_is_a_load_curve_never_collected(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeEnedis(
        replay={"load_curve": (404, recorded("conso_api_error_404_no_data_found.json"))}
    )
    async with serve(fake.conso_api_app()) as url:
        ctx = conso_ctx(box, session, url, kinds="load_curve")
        await conso_api.sync(ctx)  # not a failure: nothing to collect
        assert fake.calls == ["load_curve"] * 5
        assert ctx.saved == {}


async def test_a_recorded_myelectricaldata_answer_is_stored_day_by_day(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeEnedis(
        today=dt.date(2022, 3, 29),
        activation=dt.date(2022, 3, 8),
        replay={"daily_consumption": (200, recorded("myelectricaldata_daily_consumption.json"))},
    )
    async with serve(fake.myelectricaldata_app()) as url:
        now = dt.datetime(2022, 3, 29, 9, 30, tzinfo=dt.UTC)
        ctx = med_ctx(box, session, url, now, kinds="daily_consumption")
        await myelectricaldata.sync(ctx)
        daily = await ctx.points(DAILY)
        assert len(daily) == 21
        assert daily[0] == (local("2022-03-08T00:00"), 42045.0)
        assert daily[19] == (local("2022-03-27T00:00"), 17062.0)  # the 23-hour day
        assert daily[-1] == (local("2022-03-28T00:00"), 18941.0)
        assert sum(v for _, v in daily) == 896_692.0
        assert ctx.state["quota"]["used"] == len(fake.calls)


async def test_a_recorded_myelectricaldata_outage_is_service_down(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeEnedis(
        replay={"daily_consumption": (500, recorded("myelectricaldata_error_result_500.json"))}
    )
    async with serve(fake.myelectricaldata_app()) as url:
        with pytest.raises(ServiceDown, match="HTTP 500"):
            await myelectricaldata.sync(med_ctx(box, session, url, kinds="daily_consumption"))
