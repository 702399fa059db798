"""Open-Meteo against a fake of its three APIs: history, forecast, air quality, errors."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from selfdata.box import Box
from selfdata.connectors import open_meteo
from selfdata.connectors.sdk import AuthFailed, RateLimited, ServiceDown

from tests.connectors.fakes.context import BoxContext
from tests.connectors.fakes.open_meteo import FakeOpenMeteo, value
from tests.connectors.fakes.server import serve

NOW = dt.datetime(2024, 3, 15, 9, 30, tzinfo=dt.UTC)
SAMPLES = Path(__file__).parent / "samples" / "open_meteo"
HOME = {"latitude": "45.7578", "longitude": "4.8320", "history_days": "400"}


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def ctx_for(
    box: Box, session: aiohttp.ClientSession, url: str, creds: dict[str, str] = HOME
) -> BoxContext:
    return BoxContext(
        box,
        session,
        open_meteo.MANIFEST,
        creds,
        base_urls={"forecast": url, "archive": url, "air": url},
        now=NOW,
    )


def test_a_recorded_answer_becomes_points_with_units_and_no_nulls() -> None:
    payload = json.loads((SAMPLES / "forecast_unixtime.json").read_text())
    points, unit = open_meteo.hourly_points(payload, "temperature_2m")
    assert unit == "°C"
    assert points[0] == (1710460800, 6.9)
    assert all(isinstance(v, float) for _, v in points)
    assert len(points) == 5  # one null hour left out
    assert open_meteo.hourly_points(payload, "no_such_variable") == ([], "")


async def test_first_run_fills_history_recent_days_forecast_and_air(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeOpenMeteo()
    async with serve(fake.app()) as url:
        ctx = ctx_for(box, session, url)
        await open_meteo.sync(ctx)
        temp = await ctx.points("open-meteo/weather/temperature_2m")
        start = int(dt.datetime(2023, 2, 9, tzinfo=dt.UTC).timestamp())  # 400 days back
        assert temp[0] == (start, value("temperature_2m", start))
        # no hole between the archive and the forecast's past days, nothing after now
        assert [b - a for (a, _), (b, _) in itertools.pairwise(temp)] == [3600] * (len(temp) - 1)
        assert temp[-1][0] == int(NOW.timestamp()) // 3600 * 3600
        forecast = await ctx.points("open-meteo/forecast/temperature_2m")
        assert forecast[0][0] > int(NOW.timestamp())
        pm = await ctx.points("open-meteo/air/pm2_5")
        assert len(pm) == 92 * 24 + 10
        assert [c[0] for c in fake.calls] == ["archive", "archive", "forecast", "air"]

        # an hour later: no archive call (nothing new to archive), a short air query
        fake.calls.clear()
        ctx.set_now(NOW + dt.timedelta(hours=1))
        await open_meteo.sync(ctx)
        assert [c[0] for c in fake.calls] == ["forecast", "air"]
        assert fake.calls[1][1]["past_days"] == "2"
        assert len(await ctx.points("open-meteo/weather/temperature_2m")) == len(temp) + 1

        # the next day: one small archive call
        fake.calls.clear()
        ctx.set_now(NOW + dt.timedelta(days=1))
        fake.now = NOW + dt.timedelta(days=1)
        await open_meteo.sync(ctx)
        archive = [q for api, q in fake.calls if api == "archive"]
        assert [(q["start_date"], q["end_date"]) for q in archive] == [("2024-03-11", "2024-03-11")]


async def test_bad_coordinates_or_a_refused_request_stop_until_the_owner_acts(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeOpenMeteo()
    async with serve(fake.app()) as url:
        with pytest.raises(AuthFailed, match="latitude and longitude"):
            await open_meteo.sync(
                ctx_for(box, session, url, {"latitude": "north", "longitude": "4.8"})
            )
        with pytest.raises(AuthFailed, match="out of allowed range"):
            await open_meteo.sync(ctx_for(box, session, url, {**HOME, "history_days": "40000"}))


@pytest.mark.parametrize(
    ("fault", "error"), [("429", RateLimited), ("empty", ServiceDown), ("malformed", ServiceDown)]
)
async def test_service_errors(
    box: Box, session: aiohttp.ClientSession, fault: str, error: type[Exception]
) -> None:
    fake = FakeOpenMeteo()
    fake.faults.queue = [fault]
    async with serve(fake.app()) as url:
        with pytest.raises(error):
            await open_meteo.sync(ctx_for(box, session, url))


async def test_an_outage_after_the_archive_keeps_its_cursor(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeOpenMeteo()
    fake.faults.at = {3: "503", 4: "503", 5: "503"}  # the forecast call and its retries
    async with serve(fake.app()) as url:
        ctx = ctx_for(box, session, url)
        with pytest.raises(ServiceDown):
            await open_meteo.sync(ctx)
        assert ctx.state["archive_next"] == "2024-03-11"
        fake.calls.clear()
        await open_meteo.sync(ctx)
        assert [c[0] for c in fake.calls] == ["forecast", "air"]
