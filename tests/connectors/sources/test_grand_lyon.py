"""Grand Lyon Vélo'v: datapusher and WFS paging, stations near home, errors, and the
recorded answers of samples/grand_lyon/ (README.md there says where each comes from)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from selfdata.box import Box
from selfdata.connectors import grand_lyon
from selfdata.connectors.meters import PARIS
from selfdata.connectors.sdk import RateLimited, ServiceDown

from tests.connectors.fakes.context import BoxContext
from tests.connectors.fakes.grand_lyon import FakeGrandLyon
from tests.connectors.fakes.server import serve

SAMPLES = Path(__file__).parent / "samples" / "grand_lyon"
SAMPLE = SAMPLES / "jcdvelov_page.json"
NOW = dt.datetime(2024, 3, 15, 9, 31, tzinfo=dt.UTC)
UPDATED = int(dt.datetime(2024, 3, 15, 10, 29, 41, tzinfo=PARIS).timestamp())


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


def test_recorded_records_become_station_documents() -> None:
    values = json.loads(SAMPLE.read_text())["values"]
    docs = [grand_lyon.station_document(v) for v in values]
    assert docs[0] == {
        "_id": "grand-lyon:velov:10063",
        "source": "data.grandlyon.com",
        "dataset": "jcd_jcdecaux.jcdvelov",
        "kind": "bike-share",
        "stationId": "10063",
        "name": "10063 - INSA Einstein",
        "address": "Avenue Albert Einstein",
        "commune": "Villeurbanne",
        "status": "OPEN",
        "lat": 45.781872,
        "lon": 4.868063,
        "capacity": 20,
    }
    assert docs[1] is not None
    assert (docs[1]["stationId"], docs[1]["lat"], docs[1]["capacity"]) == ("2010", 45.7578, 16)
    assert docs[2] is None


def ctx_for(box: Box, session: aiohttp.ClientSession, url: str, **creds: str) -> BoxContext:
    return BoxContext(box, session, grand_lyon.MANIFEST, creds, base_urls={"data": url}, now=NOW)


def replay(body: bytes, asked: list[dict[str, str]]) -> web.Application:
    """The datapusher answering every page with ``body``, as it was recorded."""

    async def page(request: web.Request) -> web.Response:
        asked.append(dict(request.query))
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get(f"/fr/datapusher/ws/rdata/{grand_lyon.DATASET}/all.json", page)
    return app


async def test_a_recorded_2015_answer_of_rows_in_the_order_of_its_fields(
    box: Box, session: aiohttp.ClientSession
) -> None:
    """The older service's compact answer: each station a row of strings, not an object."""
    asked: list[dict[str, str]] = []
    body = (SAMPLES / "welyon_ws_rdata_2015-04-30.json").read_bytes()
    async with serve(replay(body, asked)) as url:
        ctx = ctx_for(box, session, url, stations="1031,6022")
        await grand_lyon.sync(ctx)
    assert asked == [{"maxfeatures": "500", "start": "1"}]  # 5 of 348: the last page
    assert ctx.state["last_run"] == {"stations": 5, "followed": 2, "bad_records": 0}
    doc = await box.documents.get(grand_lyon.STATIONS, "grand-lyon:velov:1031")
    assert {k: doc[k] for k in ("stationId", "name", "address", "commune", "status")} == {
        "stationId": "1031",
        "name": "Place de la Paix",
        "address": "Place de la Paix",
        "commune": "Lyon 1 er",
        "status": "OPEN",
    }
    assert (doc["lat"], doc["lon"], doc["capacity"]) == (45.7680236126547, 4.83174125171842, 20)
    jaures = await box.documents.get(grand_lyon.STATIONS, "grand-lyon:velov:7061")
    assert (jaures["name"], jaures["address"]) == ("Jaurès / Université", "53 rue de l'Université")
    at = int(dt.datetime(2015, 4, 30, 11, 44, 26, tzinfo=PARIS).timestamp())
    assert await ctx.points("grand-lyon/velov/1031/bikes") == [(at, 0.0)]
    assert await ctx.points("grand-lyon/velov/1031/stands") == [(at, 20.0)]
    # "Gris": a station out of order, 0 bikes and 0 free stands of 20
    at = int(dt.datetime(2015, 4, 30, 11, 38, 31, tzinfo=PARIS).timestamp())
    assert await ctx.points("grand-lyon/velov/6022/stands") == [(at, 0.0)]


async def test_recorded_2026_records_with_offsets_and_stand_details(
    box: Box, session: aiohttp.ClientSession
) -> None:
    values = json.loads((SAMPLES / "tcl_localisation_values_2026-06-17.json").read_bytes())
    page = {"fields": sorted(values[0]), "nb_results": len(values), "values": values}
    asked: list[dict[str, str]] = []
    async with serve(replay(json.dumps(page, ensure_ascii=False).encode(), asked)) as url:
        # home by Perrache: station 2027 (~50 m) is followed, 9044 and 28001 (km away) not
        ctx = ctx_for(box, session, url, latitude="45.7465", longitude="4.8250", radius="300")
        await grand_lyon.sync(ctx)
    assert ctx.state["last_run"] == {"stations": 3, "followed": 1, "bad_records": 0}
    doc = await box.documents.get(grand_lyon.STATIONS, "grand-lyon:velov:2027")
    assert {k: v for k, v in doc.items() if k != "_rev"} == {
        "_id": "grand-lyon:velov:2027",
        "source": "data.grandlyon.com",
        "dataset": "jcd_jcdecaux.jcdvelov",
        "kind": "bike-share",
        "stationId": "2027",
        "name": "2027 - PERRACHE EST",
        "address": "48b, Cours Suchet",
        "commune": "Lyon 2e Arrondissement",
        "status": "OPEN",
        "lat": 45.746163,
        "lon": 4.82548,
        "capacity": 20,
    }
    far = await box.documents.get(grand_lyon.STATIONS, "grand-lyon:velov:28001")
    assert (far["commune"], far["capacity"]) == ("Fontaines-sur-Saône", 20)
    at = int(dt.datetime(2026, 6, 17, 6, 48, 28, tzinfo=dt.UTC).timestamp())  # 08:48:28+02:00
    assert await ctx.points("grand-lyon/velov/2027/bikes") == [(at, 1.0)]
    assert await ctx.points("grand-lyon/velov/2027/stands") == [(at, 18.0)]


@pytest.mark.parametrize("api", ["datapusher", "wfs"])
async def test_all_pages_are_read_and_stations_near_home_are_followed(
    box: Box, session: aiohttp.ClientSession, api: str
) -> None:
    fake = FakeGrandLyon()
    async with serve(fake.app()) as url:
        # the stations are 0.001° of longitude (~78 m) apart, going east from home
        ctx = ctx_for(
            box, session, url, api=api, latitude="45.7578", longitude="4.8320", radius="300"
        )
        await grand_lyon.sync(ctx)
        assert len(fake.calls) == 3  # 1203 stations, 500 a page
        assert await box.documents.count(grand_lyon.STATIONS) == 1203
        assert ctx.state["last_run"] == {"stations": 1203, "followed": 3, "bad_records": 0}
        assert await ctx.points("grand-lyon/velov/1002/bikes") == [(UPDATED, 2.0)]
        assert await ctx.points("grand-lyon/velov/1003/stands") == [(UPDATED, 17.0)]
        doc = await box.documents.get(grand_lyon.STATIONS, "grand-lyon:velov:1002")
        assert doc["lon"] == pytest.approx(4.834)
        await grand_lyon.sync(ctx)  # again: the same documents and points, updated in place
        assert await box.documents.count(grand_lyon.STATIONS) == 1203
        assert await ctx.points("grand-lyon/velov/1002/bikes") == [(UPDATED, 2.0)]


async def test_listed_stations(box: Box, session: aiohttp.ClientSession) -> None:
    fake = FakeGrandLyon(count=40)
    async with serve(fake.app()) as url:
        ctx = ctx_for(box, session, url, stations="1007, 1039")
        await grand_lyon.sync(ctx)
        assert ctx.state["last_run"]["followed"] == 2
        assert await ctx.points("grand-lyon/velov/1039/bikes") == [(UPDATED, 19.0)]


@pytest.mark.parametrize(
    ("fault", "error"), [("429", RateLimited), ("empty", ServiceDown), ("malformed", ServiceDown)]
)
async def test_errors(
    box: Box, session: aiohttp.ClientSession, fault: str, error: type[Exception]
) -> None:
    fake = FakeGrandLyon()
    fake.faults.at = {2: fault}  # the second page fails: the first page's stations stay
    async with serve(fake.app()) as url:
        with pytest.raises(error):
            await grand_lyon.sync(ctx_for(box, session, url))
    assert await box.documents.count(grand_lyon.STATIONS) == 500
