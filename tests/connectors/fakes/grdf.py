"""A fake GRDF: ADICT (OAuth2 + NDJSON) and the customer area (login + JSON), on loopback.

Gas day D: energy = 30 + D.day kWh, volume = energy / 11.25 m³ (two decimals),
coefficient 11.25 kWh/m³. Informative data exists from ``since`` to ``today - 2``
(GRDF publishes D+1 to D+3); published data is one period per calendar month.

``replay`` serves recorded answers (``samples/grdf/``) verbatim, whatever the dates asked:
``"informatives"``/``"publiees"`` for ADICT (NDJSON bytes), ``"web"`` for the customer area.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .server import Faults

PCE = "GI123456"
CLIENT_ID, CLIENT_SECRET = "adict-client", "adict-secret"
EMAIL, PASSWORD = "owner@example.org", "gaz-password"
COEFF = 11.25


def energy(day: dt.date) -> float:
    return 30.0 + day.day


@dataclass
class FakeGrdf:
    today: dt.date = dt.date(2024, 3, 15)
    since: dt.date = dt.date(2022, 1, 10)
    consent: bool = True
    captcha: bool = False
    terms_pending: bool = False
    token_lifetime: int = 1000
    faults: Faults = field(default_factory=Faults)
    calls: list[str] = field(default_factory=list)
    #: route → recorded body, served as it is (see the module's docstring).
    replay: dict[str, bytes] = field(default_factory=dict)
    tokens_issued: int = 0
    _live: dict[str, int] = field(default_factory=dict)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/openam/oauth2/realms/externeGrdf/access_token", self._token)
        app.router.add_get(
            "/adict/v2/pce/{pce}/donnees_consos_informatives", self._adict("informatives")
        )
        app.router.add_get("/adict/v2/pce/{pce}/donnees_consos_publiees", self._adict("publiees"))
        app.router.add_post("/sofit-account-api/api/v1/auth", self._login)
        app.router.add_get("/api/e-conso/pce/consommation/informatives", self._web)
        return app

    # --- data ----------------------------------------------------------------------------

    def _days(self, start: dt.date, last: dt.date) -> list[dt.date]:
        first, stop = max(start, self.since), min(last, self.today - dt.timedelta(days=2))
        return [first + dt.timedelta(days=i) for i in range((stop - first).days + 1)]

    def _daily_record(self, day: dt.date) -> dict[str, Any]:
        kwh = energy(day)
        return {
            "pce": {"id_pce": PCE},
            "periode": {
                "date_debut": day.isoformat(),
                "date_fin": (day + dt.timedelta(days=1)).isoformat(),
            },
            "consommation": {
                "date_debut_consommation": f"{day.isoformat()}T06:00:00+01:00",
                "date_fin_consommation": f"{(day + dt.timedelta(days=1)).isoformat()}T06:00:00+01:00",
                "index_debut": 1000,
                "index_fin": 1003,
                "volume_brut": round(kwh / COEFF, 2),
                "coeff_calcul": {"coeff_pta": 1.0, "valeur_pcs": 11.25, "coeff_conversion": COEFF},
                "volume_converti": round(kwh / COEFF, 2),
                "energie": kwh,
                "type_qualif_conso": "Mesuré",
                "sens_flux_gaz": "Consommation",
                "statut_conso": "Provisoire",
                "type_conso": "Informative Journalier",
                "journee_gaziere": day.isoformat(),
            },
            "statut_restitution": None,
        }

    def _monthly_records(self, start: dt.date, last: dt.date) -> list[dict[str, Any]]:
        out = []
        month = dt.date(start.year, start.month, 1)
        while month <= last:
            nxt = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
            days = self._days(month, nxt - dt.timedelta(days=1))
            if nxt <= self.today and days and month >= start:
                kwh = sum(energy(d) for d in days)
                out.append(
                    {
                        "pce": {"id_pce": PCE},
                        "consommation": {
                            "date_debut_consommation": f"{month.isoformat()}T06:00:00+01:00",
                            "date_fin_consommation": f"{nxt.isoformat()}T06:00:00+01:00",
                            "volume_brut": round(kwh / COEFF, 2),
                            "energie": kwh,
                            "coeff_calcul": {"coeff_conversion": COEFF},
                            "statut_conso": "Définitive",
                            "type_conso": "Publiée",
                            "journee_gaziere": None,
                        },
                        "statut_restitution": None,
                    }
                )
            month = nxt
        return out

    # --- ADICT ---------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if (form.get("grant_type"), form.get("scope")) != ("client_credentials", "/adict/v2"):
            return web.json_response({"error": "invalid_request"}, status=400)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return web.json_response(
                {"error": "invalid_client", "error_description": "Client authentication failed"},
                status=401,
            )
        self.tokens_issued += 1
        token = f"grdf-{self.tokens_issued}"
        self._live[token] = self.token_lifetime
        return web.json_response(
            {
                "access_token": token,
                "scope": "/adict/v2",
                "token_type": "Bearer",
                "expires_in": 14399,
            }
        )

    def _adict(self, kind: str) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            token = request.headers.get("Authorization", "").removeprefix("Bearer ")
            if self._live.get(token, 0) <= 0:
                return web.json_response(
                    {"code": 401, "message": "Jeton invalide ou expiré"}, status=401
                )
            self._live[token] -= 1
            self.calls.append(kind)
            fault = self.faults.pop()
            if fault is not None:
                return fault
            if kind in self.replay:
                return web.Response(body=self.replay[kind], content_type="application/x-ndjson")
            if request.match_info["pce"] != PCE:
                return web.json_response({"code": "1000006", "message": "PCE inconnu"}, status=404)
            if not self.consent:
                return _ndjson(
                    [
                        {
                            "statut_restitution": {
                                "code": "1000002",
                                "message": "Absence de droit d'accès",
                            }
                        }
                    ]
                )
            start = dt.date.fromisoformat(request.query["date_debut"])
            last = dt.date.fromisoformat(request.query["date_fin"])
            if last < start or last >= self.today:
                return web.json_response(
                    {"code": "2000005", "message": "Dates invalides"}, status=400
                )
            if kind == "informatives":
                records = [self._daily_record(d) for d in self._days(start, last)]
            else:
                records = self._monthly_records(start, last)
            if not records:
                records = [
                    {
                        "pce": {"id_pce": PCE},
                        "statut_restitution": {
                            "code": "1000008",
                            "message": "Aucune donnée trouvée pour la période demandée",
                        },
                    }
                ]
            return _ndjson(records)

        return handler

    # --- the customer area ---------------------------------------------------------------

    async def _login(self, request: web.Request) -> web.Response:
        self.calls.append("login")
        form = await request.post()
        if self.captcha:
            return web.json_response(
                {"state": "CAPTCHA", "error": "Veuillez valider le captcha"}, status=200
            )
        if (
            form.get("email") != EMAIL
            or form.get("password") != PASSWORD
            or form.get("capp") != "meg"
        ):
            return web.json_response(
                {"state": "FAILED", "error": "Identifiant ou mot de passe incorrect"}, status=401
            )
        resp = web.json_response({"state": "SUCCESS", "goto": form.get("goto")})
        resp.set_cookie("auth_token", "session-cookie")
        return resp

    async def _web(self, request: web.Request) -> web.Response:
        self.calls.append("web")
        fault = self.faults.pop()
        if fault is not None:
            return fault
        if request.cookies.get("auth_token") != "session-cookie" or self.terms_pending:
            return web.Response(
                text="<!DOCTYPE html><html><body>Connexion</body></html>", content_type="text/html"
            )
        if "web" in self.replay:
            return web.Response(body=self.replay["web"], content_type="application/json")
        q = request.query
        pce = q.get("pceList[]", "")
        days = self._days(
            dt.date.fromisoformat(q["dateDebut"]), dt.date.fromisoformat(q["dateFin"])
        )
        releves = [
            {
                "dateDebutReleve": d.isoformat(),
                "dateFinReleve": (d + dt.timedelta(days=1)).isoformat(),
                "journeeGaziere": d.isoformat(),
                "indexDebut": 1000,
                "indexFin": 1003,
                "volumeBrutConsomme": round(energy(d) / COEFF, 2),
                "energieConsomme": energy(d),
                "pcs": "11.25",
                "volumeConverti": round(energy(d) / COEFF, 2),
                "pta": None,
                "natureReleve": "Réelle",
                "qualificationReleve": "Mesurée",
                "status": None,
                "coeffConversion": COEFF,
                "frequenceReleve": None,
                "temperature": None,
            }
            for d in days
        ]
        return web.json_response({pce: {"idPce": pce, "releves": releves}})


def _ndjson(records: list[dict[str, Any]]) -> web.Response:
    body = "\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n"
    return web.Response(text=body, content_type="application/x-ndjson")
