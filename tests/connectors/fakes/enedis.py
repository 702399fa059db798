"""A fake Enedis speaking Data Connect v5, and the Conso API and myElectricalData
gateways in front of it, on loopback.

Data is generated: day D's consumption is ``8000 + 100 × (D.day)`` Wh; the load curve is
PT30M with ``W = 400 + minute-of-day / 10`` (the ``date`` of a reading is the END of its
interval, local time); the day's max power is ``3000 + D.day`` VA at 19:30. Data exists
from ``activation`` to yesterday (relative to ``today``).

``replay`` serves a recorded answer (``samples/enedis/``) verbatim for a kind, in place of
the generated one: an error as soon as the request is authorised, a 200 once its dates
are valid and not before the meter's activation (older windows still get ADAM-ERR0123).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from selfdata.connectors.meters import PARIS

from .server import Faults

PRM = "12345678901234"
TOKEN = "gateway-token"
CLIENT_ID, CLIENT_SECRET = "org-client", "org-secret"


@dataclass
class FakeEnedis:
    today: dt.date = dt.date(2024, 3, 15)
    activation: dt.date = dt.date(2022, 6, 1)
    production: bool = False
    consent: bool = True
    load_curve_collected: bool = True
    #: Days before this one are published (default: up to yesterday).
    published: dt.date | None = None
    #: Data Connect access tokens stop working after this many data calls.
    token_lifetime: int = 1000
    faults: Faults = field(default_factory=Faults)
    calls: list[str] = field(default_factory=list)
    #: kind → (HTTP status, recorded body), served as it is (see the module's docstring).
    replay: dict[str, tuple[int, Any]] = field(default_factory=dict)
    tokens_issued: int = 0
    _live: dict[str, int] = field(default_factory=dict)

    # --- data ------------------------------------------------------------------------------

    def daily(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        return [
            {"value": str(8000 + 100 * d.day), "date": d.isoformat()} for d in _days(start, end)
        ]

    def curve(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        """Real local time: 46 intervals on the spring day, 50 (02:xx twice) in autumn."""
        rows = []
        for day in _days(start, end):
            t0 = dt.datetime.combine(day, dt.time(), PARIS).astimezone(dt.UTC)
            t1 = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), PARIS).astimezone(
                dt.UTC
            )
            t = t0
            while t < t1:
                minute = int((t - t0).total_seconds() // 60)
                t += dt.timedelta(minutes=30)
                rows.append(
                    {
                        "value": str(400 + minute // 10),
                        "date": t.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S"),
                        "interval_length": "PT30M",
                        "measure_type": "B",
                    }
                )
        return rows

    def max_power(self, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
        return [
            {"value": str(3000 + d.day), "date": f"{d.isoformat()} 19:30:00"}
            for d in _days(start, end)
        ]

    # --- the common engine -------------------------------------------------------------

    def answer(self, kind: str, prm: str, start_s: str | None, end_s: str | None) -> web.Response:
        self.calls.append(kind)
        fault = self.faults.pop()
        if fault is not None:
            return fault
        if prm != PRM or not self.consent:
            return web.json_response(
                {
                    "error": "ADAM-DC-0008",
                    "error_description": "No consent can be found for this customer and this usage point.",
                },
                status=403,
            )
        recorded = self.replay.get(kind)
        if recorded is not None and recorded[0] != 200:
            return _recorded(*recorded)
        try:
            start, end = dt.date.fromisoformat(start_s or ""), dt.date.fromisoformat(end_s or "")
        except ValueError:
            return _error(400, "invalid_request", "start and end must be dates")
        if end > self.today:
            return _error(
                400,
                "invalid_request",
                "The end date parameter must be earlier than the current date.",
            )
        if start >= end:
            return _error(400, "invalid_request", "The start date must be before the end date.")
        if kind == "load_curve" and (end - start).days > 7:
            return _error(
                400,
                "ADAM-ERR0126",
                "The requested period must be less than 7 days for an access to the load curve.",
            )
        if (end - start).days > 366:
            return _error(400, "invalid_request", "period too long")
        if kind == "daily_production" and not self.production:
            return _error(
                400, "ADAM-ERR0069", "Le sens de la mesure ne correspond pas pour le PRM demandé"
            )
        if start < self.activation:
            if end <= self.activation:
                return _error(
                    400,
                    "ADAM-ERR0123",
                    "The requested period cannot be anterior to the meter's last activation date",
                )
            start = self.activation
        if recorded is not None:
            return _recorded(*recorded)
        last = min(end, self.published or self.today)
        if kind == "load_curve":
            if not self.load_curve_collected:
                return _error(404, "no_data_found", "no measure found for this usage point")
            rows, reading_type = (
                self.curve(start, last),
                {"unit": "W", "measurement_kind": "power", "aggregate": "average"},
            )
        elif kind == "max_power":
            rows, reading_type = (
                self.max_power(start, last),
                {
                    "unit": "VA",
                    "measurement_kind": "power",
                    "aggregate": "maximum",
                    "measuring_period": "P1D",
                },
            )
        else:
            rows, reading_type = (
                self.daily(start, last),
                {
                    "unit": "Wh",
                    "measurement_kind": "energy",
                    "aggregate": "sum",
                    "measuring_period": "P1D",
                },
            )
        return web.json_response(
            {
                "meter_reading": {
                    "usage_point_id": prm,
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "quality": "BRUT",
                    "reading_type": reading_type,
                    "interval_reading": rows,
                }
            }
        )

    # --- Data Connect v5 ---------------------------------------------------------------

    def dataconnect_app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/oauth2/v3/token", self._token)
        for path, kind in (
            ("/metering_data_dc/v5/daily_consumption", "daily_consumption"),
            ("/metering_data_clc/v5/consumption_load_curve", "load_curve"),
            ("/metering_data_dcmp/v5/daily_consumption_max_power", "max_power"),
            ("/metering_data_dp/v5/daily_production", "daily_production"),
        ):
            app.router.add_get(path, self._dc(kind))
        app.router.add_get("/customers_upc/v5/usage_points/contracts", self._contracts)
        return app

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != "client_credentials":
            return _error(400, "unsupported_grant_type", "grant_type")
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return _error(401, "invalid_client", "Client authentication failed")
        self.tokens_issued += 1
        token = f"tok-{self.tokens_issued}"
        self._live[token] = self.token_lifetime
        return web.json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": 12600, "scope": ""}
        )

    def _authorised(self, request: web.Request) -> bool:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if self._live.get(token, 0) <= 0:
            return False
        self._live[token] -= 1
        return True

    def _dc(self, kind: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            if not self._authorised(request):
                return _error(401, "invalid_token", "Access token expired")
            q = request.query
            return self.answer(kind, q.get("usage_point_id", ""), q.get("start"), q.get("end"))

        return handler

    async def _contracts(self, request: web.Request) -> web.Response:
        if not self._authorised(request):
            return _error(401, "invalid_token", "Access token expired")
        self.calls.append("contracts")
        if request.query.get("usage_point_id") != PRM or not self.consent:
            return _error(
                403,
                "ADAM-DC-0008",
                "No consent can be found for this customer and this usage point.",
            )
        return web.json_response(
            {
                "customer": {
                    "customer_id": "-1",
                    "usage_points": [
                        {
                            "usage_point": {
                                "usage_point_id": PRM,
                                "usage_point_status": "com",
                                "meter_type": "AMM",
                            },
                            "contracts": {
                                "segment": "C5",
                                "subscribed_power": "9 kVA",
                                "last_activation_date": "2022-06-01+01:00",
                                "distribution_tariff": "BTINFCUST",
                                "offpeak_hours": "HC (22H30-6H30)",
                                "contract_status": "SERVC",
                                "contract_type": "Contrat GRD-F",
                            },
                        }
                    ],
                }
            }
        )

    # --- Conso API ---------------------------------------------------------------------

    def conso_api_app(self) -> web.Application:
        app = web.Application()
        for path, kind in (
            ("/api/daily_consumption", "daily_consumption"),
            ("/api/consumption_load_curve", "load_curve"),
            ("/api/consumption_max_power", "max_power"),
            ("/api/daily_production", "daily_production"),
        ):
            app.router.add_get(path, self._conso(kind))
        return app

    def _conso(self, kind: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return web.json_response({"status": 401, "message": "Invalid token"}, status=401)
            if "User-Agent" not in request.headers:
                return web.json_response(
                    {"status": 400, "message": "User-Agent header is required"}, status=400
                )
            q = request.query
            resp = self.answer(kind, q.get("prm", ""), q.get("start"), q.get("end"))
            return _as_conso_api(resp)

        return handler

    # --- myElectricalData --------------------------------------------------------------

    def myelectricaldata_app(self) -> web.Application:
        app = web.Application()
        for path, kind in (
            ("daily_consumption", "daily_consumption"),
            ("consumption_load_curve", "load_curve"),
            ("daily_consumption_max_power", "max_power"),
            ("daily_production", "daily_production"),
        ):
            app.router.add_get(f"/{path}/{{pdl}}/start/{{start}}/end/{{end}}", self._med(kind))
        return app

    def _med(self, kind: str) -> Any:
        async def handler(request: web.Request) -> web.Response:
            if request.headers.get("Authorization") != TOKEN:
                return web.json_response({"detail": "Token invalide"}, status=401)
            m = request.match_info
            return self.answer(kind, m["pdl"], m["start"], m["end"])

        return handler


def _as_conso_api(resp: web.Response) -> web.Response:
    """Conso API returns the inside of ``meter_reading`` and wraps Enedis errors."""
    import json

    if RECORDED in resp.headers:
        return resp  # a recorded Conso API answer is already in Conso API's shape
    if resp.status == 200 and resp.body:
        try:
            body = json.loads(resp.body)  # type: ignore[arg-type]
        except ValueError:
            return resp  # an injected broken answer goes out as it is
        if isinstance(body, dict) and "meter_reading" in body:
            return web.json_response(body["meter_reading"])
        return resp
    if resp.status in (400, 403, 404) and resp.body:
        inner = json.loads(resp.body)  # type: ignore[arg-type]
        return web.json_response(
            {"status": resp.status, "message": "The Enedis API returned an error", "error": inner},
            status=resp.status,
        )
    return resp


RECORDED = "X-Fake-Recorded"


def _recorded(status: int, body: Any) -> web.Response:
    return web.json_response(body, status=status, headers={RECORDED: "1"})


def _error(status: int, code: str, description: str) -> web.Response:
    return web.json_response(
        {
            "error": code,
            "error_description": description,
            "error_uri": "https://datahub-enedis.fr/data-connect/",
        },
        status=status,
    )


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days)]
