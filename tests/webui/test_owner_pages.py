"""The owner's-control pages in-process: the journal, answer requests, the contribution,
backups, the export, restore on /setup and the detecting import on Sources.

The browser drives the same flows for real in test_browser.py; here each page is checked
for what it must say (and not say) in both languages, quickly.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal
from selfdata.webui.i18n import Translator
from selfdata.webui.pages.answers import _fact

from ..daemon.answers import household as answers_household
from ..daemon.api.conftest import Api, Daemon
from .test_pages import get


@pytest.fixture(autouse=True)
def _trusted_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SELFDATA_TRUST_CLOCK", "1")


def attribute(text: str, element_id: str, name: str) -> str:
    tag = re.search(rf'<[^>]*\bid="{element_id}"[^>]*>', text)
    assert tag, element_id
    value = re.search(rf'\b{name}="([^"]*)"', tag[0])
    assert value, (element_id, name)
    return html.unescape(value[1])


async def export(api: Api, **body: object) -> bytes:
    async with api.request("POST", "/api/v1/export", json=body) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.read()


async def test_the_journal_shows_each_entry_in_plain_words_and_pages(owner: Api) -> None:
    _, empty, _ = await get(owner, "/privacy")
    assert "Nothing has left the box yet." in empty
    assert await export(owner)
    _, text, _ = await get(owner, "/privacy")
    assert "Everything exported (selfdata archive), downloaded from the box" in text
    assert 'id="verify-ledger"' in text
    _, french, _ = await get(owner, "/privacy?lang=fr")
    assert "Tout exporté en archive selfdata." in french
    assert "Ce qui est sorti de la box" in french
    # 30 more entries: each change of the contribution's settings is recorded
    for i in range(30):
        status, body = await owner.call(
            "PUT", "/api/v1/contribution/settings", json={"epsilon": 0.5 + i / 100}
        )
        assert status == 200, body
    _, first, _ = await get(owner, "/privacy")
    assert first.count('class="card entry ') == 25
    assert 'id="entry-31"' in first
    older = re.search(r'href="/privacy\?before=(\d+)"', first)
    assert older
    assert older[1] == "7"
    _, second, _ = await get(owner, f"/privacy?before={older[1]}")
    assert second.count('class="card entry ') == 6
    assert 'id="entry-1"' in second
    assert 'href="/privacy"' in second
    status, _, _ = await get(owner, "/privacy?before=nope")
    assert status == 400


async def test_answer_requests_show_what_leaves_and_what_stays(owner: Api) -> None:
    await answers_household.load(owner)
    lowest = answers_household.lowest_balance(3)
    request = answers_household.request(
        params={"account": answers_household.IBAN, "threshold": 100, "months": 3}
    )
    status, shown = await owner.call("POST", "/api/v1/answers", json=request)
    assert status == 201, shown
    _, home, _ = await get(owner, "/")
    assert "Questions wait for your answer" in home
    assert f'href="/privacy/answer?request={shown["id"]}"' in home
    _, listing, _ = await get(owner, "/privacy/answers")
    assert "Banque Exemple — crédit" in listing
    assert "Waiting for you" in listing
    _, text, _ = await get(owner, f"/privacy/answer?request={shown['id']}")
    start, end = answers_household.last_months(3)
    assert attribute(text, "approve-request", "data-answer") == "true"
    assert attribute(text, "approve-request", "data-start") == start.isoformat()
    assert attribute(text, "approve-request", "data-end") == end.isoformat()
    assert "What would leave the box" in text
    assert "What only you see" in text
    assert f"{lowest:,.2f}" in text  # for the owner's eyes, on this page only
    _, french, _ = await get(owner, f"/privacy/answer?request={shown['id']}&lang=fr")
    assert "Ce qui sortirait de la box" in french
    assert "la réponse : oui ou non" in french
    status, done = await owner.call(
        "POST",
        f"/api/v1/answers/{shown['id']}/approve",
        json={
            "answer": True,
            "period": {"start": start.isoformat(), "end": end.isoformat()},
        },
    )
    assert status == 200, done
    _, text, _ = await get(owner, f"/privacy/answer?request={shown['id']}&lang=en")
    assert attribute(text, "statement-download", "href") == (
        f"/api/v1/answers/{shown['id']}/statement"
    )
    assert 'id="approve-request"' not in text
    _, home, _ = await get(owner, "/")
    assert "Questions wait for your answer" not in home
    assert "Des questions attendent" not in home
    _, journal, _ = await get(owner, "/privacy?lang=fr")
    assert "Réponse donnée à Banque Exemple — crédit" in journal


def facts(text: str) -> list[tuple[str | None, str]]:
    """The answer page's "what only you see": each fact, with its lang attribute."""
    found = re.search(r'<ul id="facts">(.*?)</ul>', text, re.DOTALL)
    assert found, "no facts on the page"
    items = re.findall(r'<li(?: lang="(\w+)")?>(.*?)</li>', found[1])
    return [(lang or None, html.unescape(item)) for lang, item in items]


async def test_what_the_box_found_is_said_in_the_pages_language(owner: Api) -> None:
    """The facts for the owner's eyes (the API's English words) are French on a French
    page: the words from fr.po's templates, the amounts, dates and kWh formatted for it."""
    await answers_household.load(owner)
    ids = []
    for template in ("bank-balance-above", "electricity-use-below"):
        status, shown = await owner.call(
            "POST", "/api/v1/answers", json=answers_household.request(template)
        )
        assert status == 201, shown
        ids.append(shown["id"])
    balance, electricity = ids
    lowest = answers_household.lowest_balance(3)
    kwh = answers_household.yearly_kwh()
    _, english, _ = await get(owner, f"/privacy/answer?request={balance}&lang=en")
    [(lang, fact)] = facts(english)
    assert lang is None
    assert re.fullmatch(rf"lowest end-of-day balance: {lowest:,.2f} EUR on \d{{4}}-\d\d-\d\d", fact)
    day = dt.date.fromisoformat(fact[-10:])
    _, french, _ = await get(owner, f"/privacy/answer?request={balance}&lang=fr")
    amount = format_currency(lowest, "EUR", locale="fr")
    on = format_date(day, "medium", locale="fr")
    assert facts(french) == [(None, f"solde le plus bas en fin de journée : {amount} le {on}")]
    _, english, _ = await get(owner, f"/privacy/answer?request={electricity}&lang=en")
    assert facts(english) == [(None, f"electricity used: {kwh:.1f} kWh")]
    _, french, _ = await get(owner, f"/privacy/answer?request={electricity}&lang=fr")
    total = format_decimal(kwh, "#,##0.0", locale="fr")
    assert facts(french) == [(None, f"électricité consommée : {total} kWh")]


def test_a_fact_no_template_says_stays_english_and_says_so() -> None:
    french = Translator("fr", "Europe/Paris")
    assert _fact(french, "a new kind of fact: 12") == ("a new kind of fact: 12", "en")
    assert _fact(french, "electricity used: 12.5 kWh") == ("électricité consommée : 12,5 kWh", "fr")
    assert _fact(Translator("en", "UTC"), "electricity used: 12.5 kWh") == (
        "electricity used: 12.5 kWh",
        "en",
    )


async def test_a_request_the_box_cannot_answer_can_only_be_refused(owner: Api) -> None:
    status, shown = await owner.call("POST", "/api/v1/answers", json=answers_household.request())
    assert status == 201, shown
    _, text, _ = await get(owner, f"/privacy/answer?request={shown['id']}")
    assert 'id="approve-request"' not in text
    assert 'id="refuse-request"' in text
    assert "no bank account" in text
    status, _ = await owner.call("POST", f"/api/v1/answers/{shown['id']}/refuse")
    assert status == 200
    _, text, _ = await get(owner, f"/privacy/answer?request={shown['id']}")
    assert "You refused this request: nothing left the box." in text
    status, _, _ = await get(owner, "/privacy/answer?request=../../etc/passwd")
    assert status == 400
    status, _, _ = await get(owner, "/privacy/answer?request=" + "0" * 32)
    assert status == 404


async def test_the_contribution_explains_epsilon_and_k_and_shows_the_exact_payload(
    owner: Api,
) -> None:
    await answers_household.load(owner)  # its daily electricity series
    _, text, _ = await get(owner, "/privacy/contribution")
    assert "about 1,414 kWh" in text  # √2 · 1000 / ε, the Laplace noise's spread
    assert "about 45 kWh" in text  # … over 1,000 homes
    assert "Threshold k = 10" in text
    assert 'id="preview-contribution"' not in text  # not opted in
    _, french, _ = await get(owner, "/privacy/contribution?lang=fr")
    assert "environ 1\u202f414 kWh" in french
    status, body = await owner.call(
        "PUT",
        "/api/v1/contribution/settings",
        json={"enabled": True, "endpoint": "http://127.0.0.1:9/v1", "area": "69383", "epsilon": 2},
    )
    assert status == 200, body
    _, text, _ = await get(owner, "/privacy/contribution?lang=en")  # the cookie said fr
    assert "about 707 kWh" in text
    assert 'id="preview-contribution"' in text
    status, pending = await owner.call("POST", "/api/v1/contribution/preview")
    assert status == 200, pending
    _, text, _ = await get(owner, "/privacy/contribution")
    shown = re.search(r'<pre class="json" id="payload"[^>]*>(.*?)</pre>', text, re.S)
    assert shown
    assert html.unescape(shown[1]) == pending["payload"]  # byte for byte
    assert attribute(text, "send-contribution", "data-sha256") == pending["sha256"]
    assert json.loads(pending["payload"])["area"] == "69383"


async def test_backups_list_targets_with_their_last_result(owner: Api, tmp_path: Path) -> None:
    _, empty, _ = await get(owner, "/settings/backups")
    assert "No backup yet" in empty
    assert 'id="target-form"' in empty
    usb = tmp_path / "usb"
    usb.mkdir()
    status, body = await owner.call("PUT", "/api/v1/backups/usb", json={"url": str(usb)})
    assert status == 201, body
    _, text, _ = await get(owner, "/settings/backups")
    assert 'id="target-usb"' in text
    assert "USB disk or folder" in text
    status, report = await owner.call("POST", "/api/v1/backups/usb/run")
    assert status == 200, report
    _, text, _ = await get(owner, "/settings/backups?lang=fr")
    assert report["snapshot"] in text
    assert "Disque USB ou dossier" in text
    assert 'data-ok="true"' in text


async def test_export_setup_and_sources_offer_the_new_ways(owner: Api, daemon: Daemon) -> None:
    _, text, _ = await get(owner, "/settings/export")
    assert 'id="export-form"' in text
    assert "None yet." in text
    await export(owner, format="cozy")
    _, text, _ = await get(owner, "/settings/export?lang=fr")
    assert "Tout exporté au format Cozy." in text
    _, sources, _ = await get(owner, "/connectors")
    assert 'id="import-any-form"' in sources
    assert 'id="import-form"' in sources  # the doctype import stays, folded away
    _, settings, _ = await get(owner, "/settings")
    assert 'href="/settings/backups"' in settings
    assert 'href="/settings/export"' in settings
    _, nav, _ = await get(owner, "/privacy/answers?lang=en")
    assert '<a href="/privacy" aria-current="page">Privacy</a>' in nav


async def test_the_setup_page_offers_a_restore(daemon: Daemon) -> None:
    async with daemon.client() as api:
        status, text, _ = await get(api, "/setup")
        assert status == 200
        assert 'id="restore-form"' in text
        assert 'id="restore-setup-code"' in text
        assert 'name="recovery_key"' in text
        status, text, _ = await get(api, "/setup?lang=fr")
        assert "Restaurer une sauvegarde" in text


async def test_nothing_of_the_owners_control_shows_once_locked(
    owner: Api, ready_daemon: Daemon, tmp_path: Path
) -> None:
    """The journal, requests, contribution and targets hold their own secrets: a requester's
    name, a collector, an area, a backup server. None of it may come back after locking."""
    await answers_household.load(owner)
    status, _ = await owner.call("POST", "/api/v1/answers", json=answers_household.request())
    assert status == 201
    status, _ = await owner.call(
        "PUT",
        "/api/v1/contribution/settings",
        json={"enabled": True, "endpoint": "http://127.0.0.1:9/canary-collector", "area": "2A004"},
    )
    assert status == 200
    usb = tmp_path / "canary-target"
    usb.mkdir()
    status, _ = await owner.call("PUT", "/api/v1/backups/usb", json={"url": str(usb)})
    assert status == 201
    secrets = ("Banque Exemple", "canary-collector", "2A004", "canary-target")
    pages = ["/privacy", "/privacy/answers", "/privacy/contribution", "/settings/backups", "/"]
    for path in pages:  # they are there while unlocked
        _, text, _ = await get(owner, path)
        assert any(s in text for s in secrets), path
    status, _ = await owner.call("POST", "/api/v1/lock")
    assert status == 200
    async with ready_daemon.client() as stranger:
        for client in (owner, stranger):
            for path in [*pages, "/settings/export", "/privacy/answer?request=" + "0" * 32]:
                async with client.session.get(path, headers={"Accept": "text/html"}) as resp:
                    text = await resp.text()
                assert resp.url.path == "/unlock", path
                assert not any(s in text for s in secrets), path
