"""The woob bridge: a real woob module (modules/woob_modules/fakebank, written for these
tests) found by the sandboxed discovery and run by the real runner in a child process,
against a fake bank on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from selfdata.box import Box
from selfdata.connectors.runtime.registry import ConnectorSpec, discover, scan
from selfdata.connectors.runtime.runner import Run, RunRequest, execute
from selfdata.connectors.runtime.targets import BoxTarget

from ..fakes.server import serve
from ..fakes.woob_bank import LOGIN, PASSWORD, FakeBank

MODULES = Path(__file__).parent / "modules"
ACCOUNTS, OPERATIONS, BILLS = "io.cozy.bank.accounts", "io.cozy.bank.operations", "io.cozy.bills"


@pytest.fixture
def woob_modules(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test modules directory on the Python path: "installed" for the box."""
    monkeypatch.syspath_prepend(str(MODULES))
    return MODULES


@pytest.fixture
async def spec(woob_modules: Path, box: Box) -> ConnectorSpec:
    registry = await discover(installed=False, protect=(box.paths.root,))
    return registry.get("woob-fakebank")


@pytest.fixture
async def bank() -> AsyncIterator[tuple[FakeBank, str]]:
    fake = FakeBank()
    async with serve(fake.app()) as url:
        yield fake, url


async def run(
    spec: ConnectorSpec, box: Box, url: str, state: dict[str, Any] | None = None, **creds: str
) -> Run:
    request = RunRequest(
        spec,
        account_id="acc-woob",
        credentials={"login": LOGIN, "password": PASSWORD, **creds},
        state=state or {},
        base_urls={"site": url},
    )
    return await execute(
        Run.start(request), request, BoxTarget(box, may_use_inbox=False), protect=(box.paths.root,)
    )


async def docs(box: Box, doctype: str) -> list[dict[str, Any]]:
    return [d async for d in box.documents.iterate(doctype)]


async def test_an_installed_woob_module_is_a_connector(spec: ConnectorSpec) -> None:
    assert (spec.module, spec.attr, spec.origin) == (
        "selfdata.connectors.woob_bridge",
        "bridges.fakebank",
        "builtin",
    )
    manifest = spec.manifest
    assert manifest.name == "Banque Factice (woob)"
    assert manifest.doctypes == (ACCOUNTS, OPERATIONS, BILLS)
    assert manifest.files
    fields = {f.name: f for f in manifest.credentials}
    assert list(fields) == ["login", "password", "website", "with_savings"]  # no "otp"
    assert fields["password"].secret
    assert (fields["website"].kind, fields["website"].options) == ("select", ("lyo", "par"))
    assert fields["website"].default == "lyo"
    assert (fields["with_savings"].options, fields["with_savings"].default) == (
        ("yes", "no"),
        "yes",
    )
    assert manifest.base_urls == {"site": "https://banque-factice.example/"}


def test_without_woob_the_bridge_is_not_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    from selfdata.connectors import woob_bridge
    from selfdata.connectors.woob_bridge import modules

    monkeypatch.syspath_prepend(str(MODULES))
    monkeypatch.setattr(modules, "available", lambda: False)
    woob_bridge._catalogue.cache_clear()
    try:
        found = scan(builtin=True, installed=False, extra=[])
    finally:
        woob_bridge._catalogue.cache_clear()
    assert not [c for c in found["connectors"] if c["id"].startswith("woob-")]
    assert not [p for p in found["problems"] if "woob" in p]


async def test_accounts_operations_bills_and_pdfs(
    spec: ConnectorSpec, box: Box, bank: tuple[FakeBank, str]
) -> None:
    fake, url = bank
    first = await run(spec, box, url)
    assert first.outcome == "ok", (first.message, first.log.lines[-5:])
    assert first.documents == {ACCOUNTS: 2, OPERATIONS: 5, BILLS: 3}
    assert first.files == 4  # three bills and the terms, which are no bill
    accounts = {a["label"]: a for a in await docs(box, ACCOUNTS)}
    checking = accounts["Compte chèques"]
    assert (checking["type"], checking["balance"], checking["iban"]) == (
        "Checkings",
        1523.45,
        "FR7630004000031234567890143",
    )
    assert accounts["Livret A"]["type"] == "Savings"
    ops = await docs(box, OPERATIONS)
    coffees = [o for o in ops if o["label"] == "CB CAFE DE LA GARE"]
    assert len(coffees) == 2  # two identical coffees are two operations
    salary = next(o for o in ops if o.get("vendorId") == "T-0305-1")
    assert (salary["amount"], salary["valueDate"], salary["type"]) == (
        2150.0,
        "2024-03-04T00:00:00Z",
        "transfer",
    )
    bread = next(o for o in ops if o.get("vendorId") == "T-0301-1")
    assert bread["originalBankLabel"] == "CB BOULANGERIE 29/02 CARTE 1234"
    assert any("1 pending operation(s) not imported" in line["message"] for line in first.log.lines)
    bills = {b["metadata"]["documentId"]: b for b in await docs(box, BILLS)}
    assert bills["F2024-01"]["amount"] == 29.99
    assert bills["F2024-01"]["vendor"] == "Banque Factice"
    assert bills["AV2024-02"]["isRefund"] is True
    file_id = bills["F2024-01"]["invoice"].removeprefix("io.cozy.files:")
    blob = b"".join([chunk async for chunk in box.files.read(file_id)])
    assert blob.startswith(b"%PDF-1.4")
    assert b"F2024-01" in blob
    assert sorted(fake.downloads) == ["AV2024-02", "CGV", "F2024-01", "F2024-02"]

    again = await run(spec, box, url, state=first.state)
    assert again.outcome == "ok"
    assert len(await docs(box, OPERATIONS)) == 5
    assert len(await docs(box, BILLS)) == 3
    assert len(fake.downloads) == 4  # the files it has are not downloaded again


async def test_module_settings_reach_the_module(
    spec: ConnectorSpec, box: Box, bank: tuple[FakeBank, str]
) -> None:
    run_ = await run(spec, box, bank[1], with_savings="no")
    assert run_.outcome == "ok", run_.message
    assert run_.documents[ACCOUNTS] == 1


@pytest.mark.parametrize(
    ("wall", "creds", "outcome", "said"),
    [
        ("ok", {"password": "wrong-password"}, "auth_failed", "refused the credentials"),
        ("ok", {"login": "abc"}, "auth_failed", "settings are not right"),
        ("terms", {}, "user_action_needed", "Accept the new terms"),
        ("otp", {}, "user_action_needed", "confirmation"),
        ("captcha", {}, "user_action_needed", "CAPTCHA"),
        ("down", {}, "service_down", "unavailable"),
        ("quota", {}, "rate_limited", "too many requests"),
    ],
)
async def test_woob_errors_are_classified(
    spec: ConnectorSpec,
    box: Box,
    bank: tuple[FakeBank, str],
    wall: str,
    creds: dict[str, str],
    outcome: str,
    said: str,
) -> None:
    fake, url = bank
    fake.wall = wall
    result = await run(spec, box, url, **creds)
    assert result.outcome == outcome, (result.message, result.log.lines[-5:])
    assert said in result.message
    if wall == "terms":
        assert result.url == "https://banque-factice.example/cgu"
    if wall == "quota":
        assert result.retry_after == pytest.approx(600, abs=30)
    text = str(result.to_json())
    assert PASSWORD not in text
    assert "wrong-password" not in text
