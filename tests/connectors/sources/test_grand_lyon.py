"""Grand Lyon Vélo'v: datapusher and WFS paging, stations near home, errors."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from selfdata.box import Box
from selfdata.connectors import grand_lyon
from selfdata.connectors.meters import PARIS
from selfdata.connectors.sdk import RateLimited, ServiceDown

from tests.connectors.fakes.context import BoxContext
from tests.connectors.fakes.grand_lyon import FakeGrandLyon
from tests.connectors.fakes.server import serve

SAMPLE = Path(__file__).parent / "samples" / "grand_lyon" / "jcdvelov_page.json"
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
