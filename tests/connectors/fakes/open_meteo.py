"""A fake Open-Meteo (forecast, archive and air-quality APIs) on loopback.

Hourly values are a function of the hour, so a test knows what to expect:
temperature_2m = 10 + (hour of day) / 2; every other variable = 1 + (hour of day).
The archive has no value (null) for the last 5 days, as the real one.

``replay`` serves a recorded answer (``samples/open_meteo/``) verbatim for an API
(``"forecast"``, ``"archive"`` or ``"air"``), whatever was asked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .server import Faults

UNITS = {
    "temperature_2m": "°C",
    "relative_humidity_2m": "%",
    "precipitation": "mm",
    "cloud_cover": "%",
    "wind_speed_10m": "km/h",
    "shortwave_radiation": "W/m²",
    "pm10": "μg/m³",
    "pm2_5": "μg/m³",
    "nitrogen_dioxide": "μg/m³",
    "ozone": "μg/m³",
    "european_aqi": "EAQI",
}


def value(variable: str, ts: int) -> float:
    hour = (ts // 3600) % 24
    return 10 + hour / 2 if variable == "temperature_2m" else float(1 + hour)


@dataclass
class FakeOpenMeteo:
    now: dt.datetime = dt.datetime(2024, 3, 15, 9, 30, tzinfo=dt.UTC)
    faults: Faults = field(default_factory=Faults)
    calls: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    #: API → (HTTP status, recorded body), served as it is.
    replay: dict[str, tuple[int, bytes]] = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/v1/forecast", self._handler("forecast"))
        app.router.add_get("/v1/archive", self._handler("archive"))
        app.router.add_get("/v1/air-quality", self._handler("air"))
        return app

    def _handler(self, api: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            q = dict(request.query)
            self.calls.append((api, q))
            fault = self.faults.pop()
            if fault is not None:
                return fault
            if api in self.replay:
                status, body = self.replay[api]
                return web.Response(status=status, body=body, content_type="application/json")
            try:
                lat, lon = float(q["latitude"]), float(q["longitude"])
            except (KeyError, ValueError):
                return _error(
                    "Parameter 'latitude' and 'longitude' must have the same number of elements"
                )
            if not -90 <= lat <= 90:
                return _error(f"Latitude must be in range of -90 to 90°. Given: {lat}.")
            if q.get("timeformat") != "unixtime":
                return _error("this fake only speaks timeformat=unixtime")
            today = self.now.date()
            if api == "archive":
                start, end = (
                    dt.date.fromisoformat(q["start_date"]),
                    dt.date.fromisoformat(q["end_date"]),
                )
                if start < dt.date(1940, 1, 1):
                    return _error(
                        f"Parameter 'start_date' is out of allowed range from 1940-01-01 to {today + dt.timedelta(days=16)}"
                    )
                stop = end + dt.timedelta(days=1)
                null_from = today - dt.timedelta(days=5)
            else:
                past = int(q.get("past_days", "0"))
                if api == "air" and past > 92:
                    return _error("Parameter 'past_days' must be between 0 and 92")
                start = today - dt.timedelta(days=past)
                stop = today + dt.timedelta(days=int(q.get("forecast_days", "7")))
                null_from = stop
            variables = [v for v in q.get("hourly", "").split(",") if v]
            t0 = int(dt.datetime.combine(start, dt.time(), dt.UTC).timestamp())
            t1 = int(dt.datetime.combine(stop, dt.time(), dt.UTC).timestamp())
            cut = int(dt.datetime.combine(null_from, dt.time(), dt.UTC).timestamp())
            times = list(range(t0, t1, 3600))
            hourly: dict[str, list[Any]] = {"time": times}
            for v in variables:
                hourly[v] = [value(v, t) if t < cut else None for t in times]
            return web.json_response(
                {
                    "latitude": round(lat, 2),
                    "longitude": round(lon, 2),
                    "generationtime_ms": 0.5,
                    "utc_offset_seconds": 0,
                    "timezone": "GMT",
                    "timezone_abbreviation": "GMT",
                    "elevation": 173.0,
                    "hourly_units": {
                        "time": "unixtime",
                        **{v: UNITS.get(v, "") for v in variables},
                    },
                    "hourly": hourly,
                }
            )

        return handler


def _error(reason: str) -> web.Response:
    return web.json_response({"error": True, "reason": reason}, status=400)
