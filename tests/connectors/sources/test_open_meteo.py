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


# --- recorded answers (provenance in samples/open_meteo/README.md) ------------------------


def test_a_recorded_answer_in_local_iso_times_is_read_at_the_right_instants() -> None:
    # Open-Meteo's default format: "1953-01-31T00:00" in the asked time zone
    # (Europe/Amsterdam, utc_offset_seconds 7200 in that answer)
    payload = json.loads((SAMPLES / "frenck_historical_weather_iso8601.json").read_text())
    midnight = int(dt.datetime(1953, 1, 31, tzinfo=dt.timezone(dt.timedelta(hours=2))).timestamp())
    assert open_meteo.hourly_points(payload, "temperature_2m") == (
        [(midnight, 5.8), (midnight + 3600, 5.5), (midnight + 7200, 5.1)],
        "°C",
    )
    assert open_meteo.hourly_points(payload, "wind_speed_10m")[1] == "km/h"


def test_recorded_air_quality_units_are_kept_as_sent() -> None:
    payload = json.loads((SAMPLES / "frenck_air_quality_iso8601.json").read_text())
    points, unit = open_meteo.hourly_points(payload, "pm2_5")
    assert unit == "\u03bcg/m\u00b3"  # GREEK SMALL LETTER MU, as Open-Meteo writes it
    assert points[0] == (int(dt.datetime(2026, 10, 2, 22, tzinfo=dt.UTC).timestamp()), 20.5)
    assert open_meteo.hourly_points(payload, "european_aqi") == (
        [(points[i][0], v) for i, v in enumerate([43.0, 43.0, 42.0])],
        "EAQI",
    )


async def test_a_recorded_air_quality_answer_is_stored_through_a_run(
    box: Box, session: aiohttp.ClientSession
) -> None:
    now = dt.datetime(2026, 10, 3, 3, 30, tzinfo=dt.UTC)
    fake = FakeOpenMeteo(
        now=now,
        replay={"air": (200, (SAMPLES / "frenck_air_quality_iso8601.json").read_bytes())},
    )
    async with serve(fake.app()) as url:
        ctx = ctx_for(box, session, url, {**HOME, "history_days": "6"})
        ctx.set_now(now)
        await open_meteo.sync(ctx)
        first = int(dt.datetime(2026, 10, 2, 22, tzinfo=dt.UTC).timestamp())
        assert await ctx.points("open-meteo/air/pm10") == [
            (first, 25.1),
            (first + 3600, 23.4),
            (first + 7200, 23.9),
        ]
        assert await ctx.points("open-meteo/air/nitrogen_dioxide") == [
            (first, 20.7),
            (first + 3600, 20.1),
            (first + 7200, 19.2),
        ]


async def test_a_recorded_refusal_names_its_reason(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeOpenMeteo(
        replay={"archive": (400, (SAMPLES / "error_400_invalid_variable.json").read_bytes())}
    )
    async with serve(fake.app()) as url:
        with pytest.raises(AuthFailed, match="from invalid String value lksdfj"):
            await open_meteo.sync(ctx_for(box, session, url))
