"""Open-Meteo: hourly weather and air quality at the home's location, to cross with
energy use. No account, no key, no personal data sent but the coordinates: it runs
while the box is locked.

* history: ``archive-api.open-meteo.com/v1/archive`` (reanalysis, about 5 days behind),
  fetched a year at a time back to ``history_days``, then a few days a run;
* the last days and the next two: ``api.open-meteo.com/v1/forecast`` with
  ``past_days``; hours already past go to the weather series (later overwritten by the
  archive's final values), hours to come to ``open-meteo/forecast/…``, replaced each run;
* air quality: ``air-quality-api.open-meteo.com/v1/air-quality`` (CAMS Europe), up to 92
  past days on the first run.

Series (values as Open-Meteo gives them, hourly, UTC epoch seconds at the hour's start):
``open-meteo/weather/{variable}`` (temperature_2m °C, relative_humidity_2m %,
precipitation mm, cloud_cover %, wind_speed_10m km/h, shortwave_radiation W/m²),
``open-meteo/forecast/{variable}``, ``open-meteo/air/{variable}`` (pm10, pm2_5,
nitrogen_dioxide, ozone µg/m³, european_aqi).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..meters import read_json, shed_transient
from ..sdk import AuthFailed, Context, CredentialField, Manifest, RateLimit

__all__ = ["AIR", "MANIFEST", "WEATHER", "hourly_points", "sync"]

WEATHER = (
    "temperature_2m",
    "relative_humidity_2m",
    "precipitation",
    "cloud_cover",
    "wind_speed_10m",
    "shortwave_radiation",
)
AIR = ("pm10", "pm2_5", "nitrogen_dioxide", "ozone", "european_aqi")
ARCHIVE_LAG = dt.timedelta(days=5)
ARCHIVE_CHUNK = dt.timedelta(days=366)
DEFAULT_HISTORY_DAYS = 365

MANIFEST = Manifest(
    id="open-meteo",
    name="Open-Meteo weather and air quality",
    vendor="Open-Meteo",
    description="Hourly temperature, sunshine, rain, wind and air pollution at home, past "
    "and forecast, to compare with energy use.",
    series=("open-meteo/",),
    credentials=(
        CredentialField("latitude", "Latitude", kind="number", help="Of the home, e.g. 45.76"),
        CredentialField("longitude", "Longitude", kind="number", help="e.g. 4.84"),
        CredentialField(
            "history_days",
            "Days of history on the first run",
            kind="number",
            required=False,
            default=str(DEFAULT_HISTORY_DAYS),
        ),
    ),
    schedule="every 3h",
    # free non-commercial use: 600 calls a minute, 10,000 a day
    rate_limit=RateLimit(requests=2, per_seconds=1, daily=1000),
    runs_locked=True,
    base_urls={
        "forecast": "https://api.open-meteo.com",
        "archive": "https://archive-api.open-meteo.com",
        "air": "https://air-quality-api.open-meteo.com",
    },
    category="open-data",
    help_url="https://open-meteo.com/en/docs",
)


def _coordinates(ctx: Context) -> tuple[str, str]:
    try:
        lat = float(ctx.credentials["latitude"])
        lon = float(ctx.credentials["longitude"])
    except (KeyError, ValueError):
        raise AuthFailed("set the home's latitude and longitude (decimal degrees)") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise AuthFailed(f"{lat}, {lon} is not a place on Earth: check the coordinates")
    return f"{lat:.4f}", f"{lon:.4f}"


def hourly_points(payload: Any, variable: str) -> tuple[list[tuple[int, float]], str]:
    """``(points, unit)`` of one variable; hours with no value (``null``) are left out.

    The connector asks for ``timeformat=unixtime``, but an answer in Open-Meteo's default
    format is read too: ``"2026-10-03T00:00"`` is the local time of the answer's
    ``utc_offset_seconds`` (``timezone=Europe/Amsterdam`` gives 7200 in summer)."""
    hourly = payload.get("hourly") if isinstance(payload, dict) else None
    if not isinstance(hourly, dict):
        return [], ""
    times, values = hourly.get("time"), hourly.get(variable)
    if not isinstance(times, list) or not isinstance(values, list):
        return [], ""
    offset = payload.get("utc_offset_seconds", 0)
    offset = offset if isinstance(offset, int) and not isinstance(offset, bool) else 0
    points = []
    for t, v in zip(times, values, strict=False):
        ts = _epoch(t, offset)
        if ts is not None and isinstance(v, int | float) and not isinstance(v, bool):
            points.append((ts, float(v)))
    units = payload.get("hourly_units") or {}
    unit = units.get(variable, "") if isinstance(units, dict) else ""
    return points, str(unit)


def _epoch(value: object, offset: int) -> int | None:
    """A ``time`` entry: epoch seconds, or an ISO time local to ``offset`` (seconds east
    of UTC) when it has no offset of its own."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return int(value)
    if not isinstance(value, str):
        return None
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone(dt.timedelta(seconds=offset)))
    return int(when.timestamp())


async def _get(ctx: Context, base: str, path: str, params: dict[str, str]) -> Any:
    resp = await ctx.http.get(
        ctx.url(base, path), params={**params, "timeformat": "unixtime", "timezone": "GMT"}
    )
    shed_transient(resp, "Open-Meteo")
    payload = await read_json(resp, "Open-Meteo")
    if resp.status == 400:
        reason = payload.get("reason", "") if isinstance(payload, dict) else ""
        raise AuthFailed(f"Open-Meteo refused the request: {reason}")
    if resp.status != 200:
        raise ValueError(f"Open-Meteo answered HTTP {resp.status}")
    return payload


async def _store(
    ctx: Context, payload: Any, variables: tuple[str, ...], prefix: str, now: int
) -> int:
    stored = 0
    for var in variables:
        points, unit = hourly_points(payload, var)
        past = [p for p in points if p[0] <= now]
        future = [p for p in points if p[0] > now]
        if past:
            stored += await ctx.save_series(f"open-meteo/{prefix}/{var}", past, unit)
        if future and prefix == "weather":
            stored += await ctx.save_series(f"open-meteo/forecast/{var}", future, unit)
    return stored


async def sync(ctx: Context) -> None:
    lat, lon = _coordinates(ctx)
    where = {"latitude": lat, "longitude": lon}
    now = ctx.now()
    stamp = int(now.timestamp())
    today = now.astimezone(dt.UTC).date()
    if ctx.state.get("where") != [lat, lon]:  # a new home: start the history again
        ctx.state.clear()
        ctx.state["where"] = [lat, lon]

    # 1. the archive, oldest missing year first; cursor = first day not archived yet
    history = int(float(ctx.credentials.get("history_days") or DEFAULT_HISTORY_DAYS))
    start = dt.date.fromisoformat(
        ctx.state.get("archive_next") or (today - dt.timedelta(days=history)).isoformat()
    )
    last = today - ARCHIVE_LAG
    while start <= last:
        end = min(last, start + ARCHIVE_CHUNK - dt.timedelta(days=1))
        payload = await _get(
            ctx,
            "archive",
            "/v1/archive",
            {
                **where,
                "start_date": start.isoformat(),
                "end_date": end.isoformat(),
                "hourly": ",".join(WEATHER),
            },
        )
        await _store(ctx, payload, WEATHER, "weather", stamp)
        start = end + dt.timedelta(days=1)
        ctx.state["archive_next"] = start.isoformat()

    # 2. the recent days the archive does not have yet, and the forecast
    payload = await _get(
        ctx,
        "forecast",
        "/v1/forecast",
        {
            **where,
            "hourly": ",".join(WEATHER),
            "past_days": str(ARCHIVE_LAG.days + 2),
            "forecast_days": "2",
        },
    )
    await _store(ctx, payload, WEATHER, "weather", stamp)

    # 3. air quality
    past_days = 2 if ctx.state.get("air_done") else 92
    payload = await _get(
        ctx,
        "air",
        "/v1/air-quality",
        {
            **where,
            "hourly": ",".join(AIR),
            "past_days": str(past_days),
            "forecast_days": "1",
        },
    )
    await _store(ctx, payload, AIR, "air", stamp)
    ctx.state["air_done"] = True
