"""GRDF: ADICT NDJSON and the customer area, against a fake GRDF and recorded samples."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from selfdata.box import Box
from selfdata.connectors.grdf import adict, web
from selfdata.connectors.grdf.readings import adict_batch, adict_lines, web_batch
from selfdata.connectors.meters import PARIS
from selfdata.connectors.sdk import AuthFailed, RateLimited, ServiceDown, UserActionNeeded

from tests.connectors.fakes.context import BoxContext
from tests.connectors.fakes.grdf import (
    CLIENT_ID,
    CLIENT_SECRET,
    COEFF,
    EMAIL,
    PASSWORD,
    PCE,
    FakeGrdf,
    energy,
)
from tests.connectors.fakes.server import serve

from .conftest import fake_context

SAMPLES = Path(__file__).parent / "samples" / "grdf"
NOW = dt.datetime(2024, 3, 15, 11, 0, tzinfo=dt.UTC)
ENERGY, VOLUME = f"grdf/energy/{PCE}", f"grdf/volume/{PCE}"


def midnight(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time(), PARIS).timestamp())


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    # the fake lives on 127.0.0.1: let the cookie jar keep cookies from an IP address
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:
        yield s


def test_adict_ndjson_sample_kwh_m3_and_coefficient() -> None:
    items = list(adict_lines((SAMPLES / "adict_informatives.ndjson").read_bytes()))
    batch, codes = adict_batch(items, PCE, billed=False)
    assert codes == []
    day = midnight(dt.date(2024, 2, 1))
    assert batch.series[ENERGY] == ([(day, 35.0), (day + 86400, 33.0)], "kWh")
    assert batch.series[VOLUME][0][0] == (day, 3.12)
    assert batch.series[f"grdf/conversion/{PCE}"][0] == [(day, 11.334), (day + 86400, 11.334)]
    assert batch.problems == 2  # the day without values, and the cut last line


def test_adict_status_codes_are_collected() -> None:
    items = list(adict_lines((SAMPLES / "adict_consent_withdrawn.ndjson").read_bytes()))
    assert adict_batch(items, PCE, billed=False)[1] == ["1000014"]


def test_web_sample_skips_days_without_reading() -> None:
    import json

    batch = web_batch(json.loads((SAMPLES / "web_informatives.json").read_text()), PCE)
    assert batch.series[ENERGY][0] == [(midnight(dt.date(2024, 2, 1)), 35.0)]


def adict_ctx(box: Box, session: aiohttp.ClientSession, url: str, **kw: str) -> BoxContext:
    creds = {"pce": PCE, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **kw}
    return fake_context(box, session, adict.MANIFEST, url, now=NOW, **creds)


async def test_adict_history_increments_and_token_renewal(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeGrdf(token_lifetime=3)
    async with serve(fake.app()) as url:
        ctx = adict_ctx(box, session, url)
        await adict.sync(ctx)
        days = await ctx.points(ENERGY)
        assert days[0] == (midnight(dt.date(2022, 1, 10)), energy(dt.date(2022, 1, 10)))
        assert days[-1] == (midnight(dt.date(2024, 3, 13)), energy(dt.date(2024, 3, 13)))
        assert len(days) == (dt.date(2024, 3, 14) - dt.date(2022, 1, 10)).days
        vol = dict(await ctx.points(VOLUME))
        assert vol[days[0][0]] == round(days[0][1] / COEFF, 2)
        billed = await ctx.points(f"grdf/billed_energy/{PCE}")
        assert billed[-1][0] == midnight(dt.date(2024, 2, 1))
        assert fake.tokens_issued >= 2
        assert ctx.state["kinds"]["informatives"]["next"] == "2024-03-14"

        fake.calls.clear()
        await adict.sync(ctx)  # same day: only the days not published yet are asked again
        assert fake.calls == ["informatives", "publiees"]
        assert len(await ctx.points(ENERGY)) == len(days)

        ctx.set_now(NOW + dt.timedelta(days=2))
        fake.today = dt.date(2024, 3, 17)
        await adict.sync(ctx)
        assert (await ctx.points(ENERGY))[-1][0] == midnight(dt.date(2024, 3, 15))


async def test_adict_errors(box: Box, session: aiohttp.ClientSession) -> None:
    fake = FakeGrdf()
    async with serve(fake.app()) as url:
        with pytest.raises(AuthFailed):
            await adict.sync(adict_ctx(box, session, url, client_secret="wrong"))
        fake.consent = False
        with pytest.raises(UserActionNeeded) as caught:
            await adict.sync(adict_ctx(box, session, url))
        assert caught.value.url == adict.CONSENT_URL
        fake.consent = True
        for fault, error in (
            ("429", RateLimited),
            ("empty", ServiceDown),
            ("malformed", ServiceDown),
        ):
            fake.faults.queue = [fault]
            with pytest.raises(error):
                await adict.sync(adict_ctx(box, session, url))
        fake.faults.queue = ["500", "500", "500"]
        with pytest.raises(ServiceDown):
            await adict.sync(adict_ctx(box, session, url))


def web_ctx(box: Box, session: aiohttp.ClientSession, url: str, **kw: str) -> BoxContext:
    creds = {"email": EMAIL, "password": PASSWORD, "pce": PCE, **kw}
    return fake_context(box, session, web.MANIFEST, url, now=NOW, **creds)


async def test_web_account_logs_in_and_reads_three_years(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeGrdf()
    async with serve(fake.app()) as url:
        ctx = web_ctx(box, session, url)
        await web.sync(ctx)
        days = await ctx.points(ENERGY)
        assert len(days) == (dt.date(2024, 3, 14) - dt.date(2022, 1, 10)).days
        assert fake.calls[0] == "login"


async def test_web_account_walls_become_user_action(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeGrdf(captcha=True)
    async with serve(fake.app()) as url:
        with pytest.raises(UserActionNeeded, match="CAPTCHA") as caught:
            await web.sync(web_ctx(box, session, url))
        assert caught.value.url == web.LOGIN_PAGE
        fake.captcha, fake.terms_pending = False, True
        with pytest.raises(UserActionNeeded, match="terms"):
            await web.sync(web_ctx(box, session, url))
        fake.terms_pending = False
        with pytest.raises(AuthFailed):
            await web.sync(web_ctx(box, session, url, password="nope"))


# --- recorded answers (provenance in samples/grdf/README.md) ------------------------------

RECORDED_PCE = "23000000000000"  # Lowatt's anonymised PCE
PYGAZPAR_PCE = "12345678901234"


def test_a_recorded_adict_informative_day_is_kwh_m3_and_coefficient() -> None:
    items = list(adict_lines((SAMPLES / "lowatt_adict_informatives.ndjson").read_bytes()))
    batch, codes = adict_batch(items, RECORDED_PCE, billed=False)
    day = midnight(dt.date(2021, 8, 16))  # the gas day 16 Aug 06:00 → 17 Aug 06:00
    assert (codes, batch.problems) == ([], 0)
    assert batch.series[f"grdf/energy/{RECORDED_PCE}"] == ([(day, 8.0)], "kWh")
    assert batch.series[f"grdf/volume/{RECORDED_PCE}"] == ([(day, 1.0)], "m³")
    assert batch.series[f"grdf/conversion/{RECORDED_PCE}"] == ([(day, 11.16)], "kWh/m³")


def test_a_recorded_adict_billed_period_starts_on_its_first_day() -> None:
    items = list(adict_lines((SAMPLES / "lowatt_adict_publiees.ndjson").read_bytes()))
    batch, _ = adict_batch(items, RECORDED_PCE, billed=True)
    # journee_gaziere is null for a billed period: its date_debut_consommation is used
    start = midnight(dt.date(2021, 1, 1))
    assert batch.series[f"grdf/billed_energy/{RECORDED_PCE}"] == ([(start, 2032.0)], "kWh")
    assert batch.series[f"grdf/billed_volume/{RECORDED_PCE}"] == ([(start, 180.0)], "m³")


async def test_recorded_adict_answers_through_the_fake(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeGrdf(
        replay={
            "informatives": (SAMPLES / "lowatt_adict_informatives.ndjson").read_bytes(),
            "publiees": (SAMPLES / "lowatt_adict_publiees.ndjson").read_bytes(),
        }
    )
    async with serve(fake.app()) as url:
        ctx = adict_ctx(box, session, url, pce=RECORDED_PCE)
        await adict.sync(ctx)
        # every window got the same recorded answer: stored once
        assert await ctx.points(f"grdf/energy/{RECORDED_PCE}") == [
            (midnight(dt.date(2021, 8, 16)), 8.0)
        ]
        assert await ctx.points(f"grdf/billed_energy/{RECORDED_PCE}") == [
            (midnight(dt.date(2021, 1, 1)), 2032.0)
        ]


def test_a_recorded_customer_area_week_is_seven_gas_days() -> None:
    import json

    payload = json.loads((SAMPLES / "pygazpar_web_informatives.json").read_text())
    batch = web_batch(payload, PYGAZPAR_PCE)
    energy_points, unit = batch.series[f"grdf/energy/{PYGAZPAR_PCE}"]
    assert unit == "kWh"
    assert [v for _, v in energy_points] == [75.0, 146.0, 174.0, 151.0, 139.0, 134.0, 175.0]
    assert energy_points[0][0] == midnight(dt.date(2019, 11, 30))
    assert batch.series[f"grdf/volume/{PYGAZPAR_PCE}"][0][:2] == [
        (midnight(dt.date(2019, 11, 30)), 7.0),
        (midnight(dt.date(2019, 12, 1)), 13.0),
    ]
    coefficients = [v for _, v in batch.series[f"grdf/conversion/{PYGAZPAR_PCE}"][0]]
    assert coefficients == [11.12, 11.12, 11.17, 11.17, 11.17, 11.17, 11.17]
    assert batch.problems == 0


async def test_a_recorded_customer_area_answer_through_the_fake(
    box: Box, session: aiohttp.ClientSession
) -> None:
    fake = FakeGrdf(replay={"web": (SAMPLES / "pygazpar_web_informatives.json").read_bytes()})
    async with serve(fake.app()) as url:
        ctx = web_ctx(box, session, url, pce=PYGAZPAR_PCE)
        await web.sync(ctx)
        days = await ctx.points(f"grdf/energy/{PYGAZPAR_PCE}")
        assert len(days) == 7
        assert days[-1] == (midnight(dt.date(2019, 12, 6)), 175.0)
        assert sum(v for _, v in days) == 994.0
