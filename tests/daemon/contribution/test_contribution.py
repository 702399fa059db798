"""Open-data contribution against a fake collector on loopback: nothing leaves before the
owner opted in, previewed and consented; then exactly the previewed bytes leave, once."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import AsyncIterator
from typing import Any

import pytest
from selfdata.contribution import privacy
from selfdata.contribution.privacy import laplace, privatize

from ..answers import household
from ..api.conftest import Api
from .collector import Collector, collector


@pytest.fixture
async def fake_collector() -> AsyncIterator[Collector]:
    async with collector() as state:
        yield state


@pytest.fixture
async def household_owner(owner: Api) -> Api:
    await household.load(owner)
    return owner


async def opt_in(api: Api, url: str, **extra: Any) -> dict[str, Any]:
    status, body = await api.call(
        "PUT",
        "/api/v1/contribution/settings",
        json={"enabled": True, "endpoint": url, "area": "693830101", **extra},
    )
    assert status == 200, body
    return body  # type: ignore[no-any-return]


async def preview(api: Api, **body: Any) -> dict[str, Any]:
    status, answer = await api.call("POST", "/api/v1/contribution/preview", json=body)
    assert status == 200, answer
    return answer  # type: ignore[no-any-return]


async def ledger(api: Api) -> list[dict[str, Any]]:
    status, body = await api.call("GET", "/api/v1/ledger")
    assert status == 200
    return list(reversed(body["entries"]))


async def test_exactly_the_previewed_bytes_leave_only_after_consent(
    household_owner: Api, fake_collector: Collector
) -> None:
    api = household_owner
    await opt_in(api, fake_collector.url)
    shown = await preview(api)
    assert fake_collector.received == []  # a preview sends nothing
    payload = json.loads(shown["payload"])
    assert set(payload) == {"type", "dataset", "area", "k_anonymity", "privacy", "values"}
    assert payload["privacy"] == {
        "mechanism": "laplace",
        "epsilon": 1.0,
        "sensitivity_kwh": 1000,
        "rounding_kwh": 10,
    }
    assert len(payload["values"]) == 12
    assert all(set(v) == {"month", "kwh"} and v["kwh"] % 10 == 0 for v in payload["values"])
    assert household.PRM not in shown["payload"]
    # previewing again shows the same noisy values: no second draw to average
    assert (await preview(api))["payload"] == shown["payload"]
    assert (await preview(api, months=shown["months"]))["payload"] == shown["payload"]
    status, body = await api.call(
        "POST", "/api/v1/contribution/preview", json={"months": shown["months"][:1]}
    )
    assert status == 409
    assert "discard it" in body["error"]["message"]
    status, body = await api.call("POST", "/api/v1/contribution/send", json={"sha256": "0" * 64})
    assert status == 409, body
    assert fake_collector.received == []
    status, sent = await api.call(
        "POST", "/api/v1/contribution/send", json={"sha256": shown["sha256"]}
    )
    assert status == 200, sent
    assert sent["months"] == shown["months"]
    assert len(fake_collector.received) == 1
    got = fake_collector.received[0]
    assert got.body == shown["payload"].encode()
    assert got.path == "/contributions"
    assert got.headers["Content-Type"] == "application/json"
    assert "Cookie" not in got.headers
    entries = await ledger(api)
    assert [(e["kind"], e["details"].get("status")) for e in entries] == [
        ("contribution-settings", None),
        ("contribution", "consented"),
        ("contribution", "sent"),
    ]
    assert entries[1]["details"]["payload"] == shown["payload"]
    assert entries[2]["details"]["sha256"] == shown["sha256"]
    assert "Sent 12 month(s)" in entries[2]["summary"]
    # each month once: the next preview offers only older months, a sent one is refused
    older = await preview(api)
    assert not set(older["months"]) & set(shown["months"])
    assert max(older["months"]) < min(shown["months"])
    await api.call("DELETE", "/api/v1/contribution/preview")
    status, body = await api.call(
        "POST", "/api/v1/contribution/preview", json={"months": [shown["months"][0]]}
    )
    assert status == 409
    assert "already contributed" in body["error"]["message"]
    status, state = await api.call("GET", "/api/v1/contribution")
    assert state["sent_months"] == sorted(shown["months"])
    assert state["pending"] is None
    assert len(fake_collector.received) == 1


async def test_nothing_is_sent_without_opting_in(
    household_owner: Api, fake_collector: Collector
) -> None:
    status, body = await household_owner.call("POST", "/api/v1/contribution/preview", json={})
    assert status == 409
    assert "opt in" in body["error"]["message"]
    await opt_in(household_owner, fake_collector.url)
    shown = await preview(household_owner)
    status, _ = await household_owner.call(
        "PUT", "/api/v1/contribution/settings", json={"enabled": False}
    )
    assert status == 200
    status, body = await household_owner.call(
        "POST", "/api/v1/contribution/send", json={"sha256": shown["sha256"]}
    )
    assert status == 409
    assert fake_collector.received == []


async def test_changing_the_settings_drops_the_preview(
    household_owner: Api, fake_collector: Collector
) -> None:
    await opt_in(household_owner, fake_collector.url)
    shown = await preview(household_owner)
    await opt_in(household_owner, fake_collector.url, area="69383")
    status, body = await household_owner.call(
        "POST", "/api/v1/contribution/send", json={"sha256": shown["sha256"]}
    )
    assert status == 409
    assert "preview" in body["error"]["message"]
    assert fake_collector.received == []


async def test_a_refusing_collector_is_recorded_and_the_same_bytes_are_retried(
    household_owner: Api, fake_collector: Collector
) -> None:
    await opt_in(household_owner, fake_collector.url)
    shown = await preview(household_owner, months=[household.last_months(1)[0].strftime("%Y-%m")])
    fake_collector.status = 503
    status, body = await household_owner.call(
        "POST", "/api/v1/contribution/send", json={"sha256": shown["sha256"]}
    )
    assert status == 502, body
    assert body["error"]["code"] == "remote"
    entries = await ledger(household_owner)
    assert entries[-1]["details"]["status"] == "failed"
    assert "HTTP 503" in entries[-1]["summary"]
    fake_collector.status = 200
    status, body = await household_owner.call(
        "POST", "/api/v1/contribution/send", json={"sha256": shown["sha256"]}
    )
    assert status == 200, body
    assert [r.body for r in fake_collector.received] == [shown["payload"].encode()] * 2


async def test_a_redirect_is_not_followed(household_owner: Api, fake_collector: Collector) -> None:
    async with collector() as elsewhere:
        fake_collector.redirect_to = elsewhere.url
        await opt_in(household_owner, fake_collector.url)
        shown = await preview(household_owner)
        status, _ = await household_owner.call(
            "POST", "/api/v1/contribution/send", json={"sha256": shown["sha256"]}
        )
        assert status == 502
        assert elsewhere.received == []


async def test_an_unreachable_collector_is_a_clear_error(household_owner: Api) -> None:
    await opt_in(household_owner, "http://127.0.0.1:9/contributions")
    shown = await preview(household_owner)
    status, body = await household_owner.call(
        "POST", "/api/v1/contribution/send", json={"sha256": shown["sha256"]}
    )
    assert status == 502
    assert "collector did not take" in body["error"]["message"]


HOSTILE_SETTINGS: list[dict[str, Any]] = [
    {"endpoint": "http://collector.example.org/c"},  # plain http off this machine
    {"endpoint": "ftp://127.0.0.1/c"},
    {"endpoint": "https://user:secret@collector.example.org/c"},
    {"endpoint": "https://collector.example.org/c#frag"},
    {"endpoint": "https://"},
    {"endpoint": "https://[::1"},
    {"endpoint": "https://host:99999/c"},
    {"endpoint": "https://a.example/" + "x" * 400},
    {"endpoint": "https://a.example/\nHost: evil"},
    {"endpoint": 42},
    {"area": "Lyon"},
    {"area": "6938301011"},
    {"area": "2C123"},
    {"meter": "123"},
    {"dataset": "bank-operations"},
    {"epsilon": 0},
    {"epsilon": 100},
    {"epsilon": "1"},
    {"epsilon": True},
    {"k": 1},
    {"k": 10**30},
    {"sensitivity_kwh": 1},
    {"sensitivity_kwh": 10.5},
    {"enabled": "yes"},
    {"enabled": True},  # without endpoint and area
    {"surprise": 1},
]


@pytest.mark.parametrize("changes", HOSTILE_SETTINGS, ids=str)
async def test_hostile_settings_are_refused(owner: Api, changes: dict[str, Any]) -> None:
    status, body = await owner.call("PUT", "/api/v1/contribution/settings", json=changes)
    assert status == 400, body
    assert body["error"]["message"]
    status, state = await owner.call("GET", "/api/v1/contribution")
    assert state["settings"]["enabled"] is False
    assert state["settings"]["endpoint"] == ""


@pytest.mark.parametrize(
    "body",
    [{"months": []}, {"months": ["2024-13"]}, {"months": ["24-01"]}, {"months": [1]}, {"x": 1}],
    ids=str,
)
async def test_hostile_previews_are_refused(
    household_owner: Api, fake_collector: Collector, body: dict[str, Any]
) -> None:
    await opt_in(household_owner, fake_collector.url)
    status, answer = await household_owner.call("POST", "/api/v1/contribution/preview", json=body)
    assert status == 400, answer


@pytest.mark.parametrize(
    "body", [{}, {"sha256": "x"}, {"sha256": "A" * 64}, {"sha256": 1}], ids=str
)
async def test_hostile_sends_are_refused(owner: Api, body: dict[str, Any]) -> None:
    status, answer = await owner.call("POST", "/api/v1/contribution/send", json=body)
    assert status == 400, answer


async def test_without_electricity_data_there_is_nothing_to_preview(
    owner: Api, fake_collector: Collector
) -> None:
    await opt_in(owner, fake_collector.url)
    status, body = await owner.call("POST", "/api/v1/contribution/preview", json={})
    assert status == 409
    assert "no daily electricity" in body["error"]["message"]


# --- the noise itself --------------------------------------------------------------------------


def test_laplace_noise_has_the_documented_distribution() -> None:
    samples = [laplace(2.0) for _ in range(40_000)]
    assert abs(statistics.fmean(samples)) < 0.06
    assert abs(statistics.median(samples)) < 0.06
    assert abs(statistics.fmean(abs(s) for s in samples) - 2.0) < 0.06  # E|X| = b
    # P(|X| > b ln 10) = 1/10
    tail = sum(abs(s) > 2.0 * math.log(10) for s in samples) / len(samples)
    assert abs(tail - 0.1) < 0.01


def test_the_noise_comes_from_secrets_not_random(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def fake_bits(k: int) -> int:
        calls.append(k)
        return 2**52  # u = 0.5: no noise

    monkeypatch.setattr(privacy.secrets, "randbits", fake_bits)
    assert privatize(333.0, epsilon=1, sensitivity=1000) == 330
    assert calls == [53]
    assert "random" not in privacy.__dict__


def test_values_are_clipped_and_rounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(privacy.secrets, "randbits", lambda k: 2**52)
    assert privatize(5000.0, epsilon=1, sensitivity=1000) == 1000
    assert privatize(-50.0, epsilon=1, sensitivity=1000) == 0
    with pytest.raises(ValueError, match="positive"):
        privatize(1.0, epsilon=0, sensitivity=1000)
