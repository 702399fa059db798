"""A fake bank with bills, on loopback, for the woob module tests/connectors/woob_bridge
wrote (``fakebank``): a JSON API behind a bearer token, and the walls a real bank puts
up (a refused password, new terms, a one-time code, a CAPTCHA, an outage, a quota).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

LOGIN, PASSWORD = "12345678", "s3cret-bank-pass"
TOKEN = "tok-fakebank"
ACCOUNTS = [
    {"id": "00012345678", "label": "Compte chèques", "balance": "1523.45", "type": "checking",
     "iban": "FR7630004000031234567890143", "number": "XXXX5678"},
    {"id": "LA-0099", "label": "Livret A", "balance": "8000.00", "type": "livret_a"},
]  # fmt: skip
HISTORY = {
    "00012345678": [
        {"id": "T-0301-1", "date": "2024-03-01", "label": "CB BOULANGERIE", "amount": "-3.20",
         "type": "card", "raw": "CB BOULANGERIE 29/02 CARTE 1234"},
        {"date": "2024-03-02", "label": "CB CAFE DE LA GARE", "amount": "-2.10", "type": "card"},
        {"date": "2024-03-02", "label": "CB CAFE DE LA GARE", "amount": "-2.10", "type": "card"},
        {"id": "T-0305-1", "date": "2024-03-05", "label": "VIR SALAIRE", "amount": "2150.00",
         "type": "transfer", "value_date": "2024-03-04"},
    ],
    "LA-0099": [{"id": "I-2023", "date": "2023-12-31", "label": "INTERETS 2023", "amount": "240"}],
}  # fmt: skip
COMING = {"00012345678": [{"date": "2024-03-08", "label": "CB EN COURS", "amount": "-50"}]}
SUBSCRIPTIONS = [{"id": "BOX-42", "label": "Box internet", "subscriber": "M. Durand"}]
DOCUMENTS = {
    "BOX-42": [
        {"id": "F2024-01", "date": "2024-01-05", "label": "Facture janvier", "price": "29.99"},
        {"id": "F2024-02", "date": "2024-02-05", "label": "Facture février", "price": "29.99"},
        {"id": "AV2024-02", "date": "2024-02-20", "label": "Avoir", "price": "-5.00"},
        {"id": "CGV", "date": "2023-06-01", "label": "Conditions générales"},
    ]
}


def pdf(doc_id: str) -> bytes:
    return b"%PDF-1.4\n% fake bill " + doc_id.encode() + b"\n%%EOF\n"


@dataclass
class FakeBank:
    #: What the next logins meet: "ok", "terms", "otp", "captcha", "down", "quota".
    wall: str = "ok"
    calls: list[str] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/login", self.login)
        app.router.add_get("/api/accounts", self.guarded(lambda r: ACCOUNTS))
        app.router.add_get(
            "/api/accounts/{id}/history", self.guarded(lambda r: HISTORY[r.match_info["id"]])
        )
        app.router.add_get(
            "/api/accounts/{id}/coming", self.guarded(lambda r: COMING.get(r.match_info["id"], []))
        )
        app.router.add_get("/api/subscriptions", self.guarded(lambda r: SUBSCRIPTIONS))
        app.router.add_get(
            "/api/subscriptions/{id}/documents",
            self.guarded(lambda r: DOCUMENTS[r.match_info["id"]]),
        )
        app.router.add_get("/api/documents/{name}", self.document)
        return app

    async def login(self, request: web.Request) -> web.Response:
        self.calls.append("login")
        body = await request.json()
        if self.wall == "down":
            return web.Response(status=503, text="<html>Maintenance</html>")
        if self.wall == "quota":
            return web.json_response({"error": "quota"}, status=429, headers={"Retry-After": "600"})
        if body.get("login") != LOGIN or body.get("password") != PASSWORD:
            return web.json_response({"error": "bad credentials"}, status=401)
        if self.wall == "terms":
            return web.json_response(
                {"message": "Accept the new terms", "url": "https://banque-factice.example/cgu"},
                status=403,
            )
        if self.wall in ("otp", "captcha"):
            return web.json_response({self.wall: True})
        return web.json_response({"token": TOKEN})

    def guarded(self, answer: Any) -> Any:
        async def handler(request: web.Request) -> web.Response:
            self.calls.append(request.path)
            if request.headers.get("Authorization") != f"Bearer {TOKEN}":
                return web.json_response({"error": "not logged in"}, status=401)
            return web.json_response(answer(request))

        return handler

    async def document(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "not logged in"}, status=401)
        doc_id = request.match_info["name"].removesuffix(".pdf")
        self.downloads.append(doc_id)
        return web.Response(body=pdf(doc_id), content_type="application/pdf")
