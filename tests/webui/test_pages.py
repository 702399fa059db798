"""The web UI in-process over HTTPS: access rules, locked box, languages, CSP, errors."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from selfdata.api.routes import ROUTES, Access
from yarl import URL

from ..daemon.api.conftest import Api, Daemon
from . import household

PAGES = [r for r in ROUTES if r.tag == "pages"]
HTML = {"Accept": "text/html,application/xhtml+xml"}


def concrete(path: str) -> str:
    values = {"doctype": "io.cozy.bank.operations", "doc_id": "x", "path": "app.css"}
    return re.sub(r"\{(\w+)(?::[^}]*)?\}", lambda m: values[m[1]], path)


async def load_household(api: Api) -> None:
    """The sample household through the API, as a browser or a connector would send it."""
    for doctype, docs in (
        ("io.cozy.bank.operations", household.bank_operations()),
        ("io.cozy.bills", household.bills()),
        ("selfdata.energy.contracts", household.contracts()),
    ):
        body = "\n".join(__import__("json").dumps(d) for d in docs).encode()
        status, report = await api.call("POST", f"/api/v1/doctypes/{doctype}/import", data=body)
        assert status == 200, report
        assert report["errors"] == 0, report
    for name, unit, points in (
        ("linky/consumption", "Wh", household.electricity()),
        ("open-meteo/temperature", "°C", household.temperature()),
    ):
        status, body = await api.call(
            "POST", f"/api/v1/series/{name}", json={"unit": unit, "points": points}
        )
        assert status == 200, body


@pytest.fixture
async def household_owner(owner: Api) -> Api:
    await load_household(owner)
    return owner


async def get(api: Api, path: str, **headers: str) -> tuple[int, str, Any]:
    async with api.session.get(path, headers={**HTML, **headers}, allow_redirects=False) as resp:
        return resp.status, await resp.text(), resp.headers


def test_the_public_pages_are_exactly_setup_unlock_recover_and_static() -> None:
    public = {r.path for r in PAGES if r.access is Access.PUBLIC}
    assert public == {"/setup", "/unlock", "/recover", "/static/{path:[A-Za-z0-9._/-]+}"}
    assert all(r.access is Access.OWNER for r in PAGES if r.path not in public)


async def test_a_new_box_sends_every_page_to_setup(daemon: Daemon) -> None:
    async with daemon.client() as api:
        for route in PAGES:
            if route.method != "GET" or route.access is Access.PUBLIC:
                continue
            status, _, headers = await get(api, concrete(route.path))
            assert (status, headers["Location"]) == (303, "/setup"), route.path
        status, text, _ = await get(api, "/setup")
        assert status == 200
        assert 'id="setup-code"' in text


async def test_without_a_session_pages_redirect_to_unlock_and_scripts_get_401(
    ready_daemon: Daemon,
) -> None:
    async with ready_daemon.client() as api:
        status, _, headers = await get(api, "/apps/budget?month=2024-05")
        assert status == 303
        location = URL(headers["Location"])
        assert (location.path, location.query["next"]) == ("/unlock", "/apps/budget?month=2024-05")
        status, body = await api.call("GET", "/apps/budget")
        assert status == 401
        assert body["error"]["code"] == "unauthorized"


async def test_nothing_is_revealed_once_the_box_is_locked(
    household_owner: Api, ready_daemon: Daemon
) -> None:
    api = household_owner
    status, text, _ = await get(api, "/data/io.cozy.bank.operations?q=CANARY")
    assert status == 200
    assert household.CANARY in text
    static_before = {
        r.path: (await get(api, concrete(r.path)))[1] for r in PAGES if "static" in r.path
    }
    status, _ = await api.call("POST", "/api/v1/lock")
    assert status == 200
    async with ready_daemon.client() as stranger:
        for client in (api, stranger):  # the old session cookie, and none at all
            for route in PAGES:
                path = concrete(route.path)
                for headers in (HTML, {"Accept": "*/*"}):
                    async with client.session.request(
                        route.method,
                        path,
                        headers={**headers, "Origin": ready_daemon.url},
                        allow_redirects=True,
                    ) as resp:
                        text = await resp.text()
                    assert household.CANARY not in text, path
                    assert "PRLV" not in text, path
                    assert "EDF" not in text, path
                    if route.access is Access.OWNER:
                        assert resp.url.path in ("/unlock", path), path
                        assert resp.status in (200, 401), (path, resp.status)
        for path, body in static_before.items():
            assert (await get(stranger, concrete(path)))[1] == body  # the same for everyone


async def test_pages_have_a_strict_csp_and_no_inline_script_or_style(household_owner: Api) -> None:
    for route in PAGES:
        if route.method != "GET" or "{" in route.path:
            continue
        status, text, headers = await get(household_owner, route.path)
        if status == 303:
            continue
        # the source/run/add pages need an id (?account=…): their error page is checked too
        assert status == 200 or (status == 400 and route.query), (route.path, text[:500])
        csp = headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert headers["Cache-Control"] == "no-store"
        checker = InlineChecker()
        checker.feed(text)
        assert not checker.problems, (route.path, checker.problems)


class InlineChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "style" or "style" in names:
            self.problems.append(f"inline style on <{tag}>")
        if any(a.startswith("on") for a in names):
            self.problems.append(f"inline handler on <{tag}>")
        if tag == "script" and "src" not in names and names.get("type") != "application/json":
            self.problems.append("inline <script>")


async def test_language_follows_the_browser_and_the_switch(owner: Api) -> None:
    _, text, headers = await get(
        owner, "/settings", **{"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
    )
    assert '<html lang="fr">' in text
    assert "Réglages" in text
    assert headers["Content-Language"] == "fr"
    _, text, headers = await get(owner, "/settings?lang=en", **{"Accept-Language": "fr"})
    assert "Settings" in text
    assert "selfdata_lang=en" in headers["Set-Cookie"]
    _, text, _ = await get(owner, "/", **{"Accept-Language": "fr"})  # the cookie wins
    assert '<html lang="en">' in text


async def test_dates_and_money_are_formatted_per_locale(household_owner: Api) -> None:
    _, fr, _ = await get(household_owner, "/apps/budget?month=2025-02&lang=fr")
    _, en, _ = await get(household_owner, "/apps/budget?month=2025-02&lang=en")
    assert "février 2025" in fr
    assert "2\u202f450,00\u00a0€" in fr
    assert "February 2025" in en
    assert "€2,450.00" in en


async def test_browser_errors_are_pages_and_api_errors_stay_json(owner: Api) -> None:
    status, text, headers = await get(owner, "/no/such/page")
    assert status == 404
    assert headers["Content-Type"].startswith("text/html")
    assert "<h1>" in text
    status, text, _ = await get(owner, "/data/org.example.never-made")
    assert status == 404
    assert "org.example.never-made" in text
    status, body = await owner.call("GET", "/api/v1/nothing-here", headers=HTML)
    assert status == 404
    assert body["error"]["code"] == "not_found"


async def test_the_data_browser_searches_filters_and_pages(household_owner: Api) -> None:
    api = household_owner
    _, text, _ = await get(api, "/data/io.cozy.bank.operations?limit=25")
    assert text.count('href="/data/io.cozy.bank.operations/') == 25
    assert 'rel="next"' in text
    cursor = re.search(r'cursor=(\d+)"', text)
    assert cursor
    _, second, _ = await get(api, f"/data/io.cozy.bank.operations?limit=25&cursor={cursor[1]}")
    assert second != text
    assert "First page" in second
    _, found, _ = await get(api, "/data/io.cozy.bank.operations?field=label&value=salaire")
    assert found.count("VIR SALAIRE ACME") == 12
    _, found, _ = await get(api, "/data/io.cozy.bank.operations?q=canary")
    assert found.count(household.CANARY) == 1


async def test_the_apps_cross_the_data(household_owner: Api) -> None:
    api = household_owner
    _, logis, _ = await get(api, "/apps/logis")
    for word in ("Electricity", "Water", "Insurance", "Telecom and internet", "09123456789012"):
        assert word in logis
    _, energy, _ = await get(api, "/apps/energy?view=month")
    assert "Cost by tariff" in energy
    assert "kWh" in energy
    assert "correlation" in energy
    _, budget, _ = await get(api, "/apps/budget")
    assert "Recurring bills" in budget
    assert "12 of 12 bills" in budget


async def test_a_recovery_key_can_be_checked_without_changing_anything(owner: Api) -> None:
    status, body = await owner.call(
        "POST", "/settings/recovery-key/check", json={"recovery_key": "nope"}
    )
    assert status == 403
    assert body["error"]["message"]
    status, body = await owner.call(
        "POST",
        "/settings/recovery-key/check",
        json={"recovery_key": "x"},
        headers={"Origin": "https://evil.example"},
    )
    assert status == 403
    assert "cross-origin" in body["error"]["message"]


async def test_a_french_page_says_the_apis_messages_in_french(owner: Api) -> None:
    """An error page, and the table a page's script says the API's messages with (fetched
    once, cached by hash); the API itself still answers in English."""
    status, text, _ = await get(owner, "/data/io.cozy.bills/nope?lang=fr")
    assert status == 404
    assert "il n&#39;y a pas encore de io.cozy.bills dans cette box" in text
    url = re.search(r'<meta name="selfdata-api-messages" content="(/static/[^"]+)"', text)
    assert url
    async with owner.session.get(url[1]) as resp:
        assert resp.headers["Cache-Control"].startswith("public, max-age=31536000")
        table = await resp.json()
    assert table["exact"]["wrong passphrase"] == "phrase de passe incorrecte"
    assert ["no document {id} in {doctype}", "pas de document {id} dans {doctype}"] in table[
        "templates"
    ]
    _, body = await owner.call("GET", "/api/v1/runs/00", headers={"Accept-Language": "fr"})
    assert body["error"]["message"] == "no run '00'"
    _, text, _ = await get(owner, "/data/io.cozy.bills/nope?lang=en")
    assert "there is no io.cozy.bills in this box yet" in text
    assert "selfdata-api-messages" not in text  # English pages need no table


async def test_static_files_are_cached_by_hash_and_compressed(owner: Api) -> None:
    _, text, _ = await get(owner, "/")
    url = re.search(r'href="(/static/app\.css\?v=\w+)"', text)
    assert url
    async with owner.session.get(url[1], headers={"Accept-Encoding": "gzip"}) as resp:
        assert resp.headers["Cache-Control"].startswith("public, max-age=31536000")
        assert resp.headers["Content-Encoding"] == "gzip"
        etag = resp.headers["ETag"]
    async with owner.session.get(url[1], headers={"If-None-Match": etag}) as resp:
        assert resp.status == 304
    async with owner.session.get("/static/../../etc/passwd") as resp:
        assert resp.status == 404


async def test_sources_forms_are_generated_from_manifests(owner: Api) -> None:
    _, text, _ = await get(owner, "/connectors")
    assert 'href="/connectors/add?connector=linky-tic"' in text
    _, form, _ = await get(owner, "/connectors/add?connector=linky-tic")
    assert 'id="cred-device"' in form
    assert 'value="/dev/ttyUSB0"' in form
    assert '<select id="cred-mode"' in form
    assert 'type="number"' in form
    status, _, _ = await get(owner, "/connectors/add?connector=no-such-thing")
    assert status == 404
    status, account = await owner.call(
        "POST", "/api/v1/accounts",
        json={"connector": "linky-tic", "label": "Compteur", "credentials": {"device": "/nonexistent"}},
    )  # fmt: skip
    assert status == 201, account
    _, text, _ = await get(owner, "/connectors")
    assert f"/connectors/source?account={account['id']}" in text
    assert "Compteur" in text
    status, text, _ = await get(owner, f"/connectors/source?account={account['id']}")
    assert status == 200
    assert 'id="run-now"' in text
    status, _, _ = await get(owner, "/connectors/source?account=../../etc")
    assert status == 400


def test_every_screenshot_the_docs_show_is_there_and_small() -> None:
    """README.md and docs/*.md show screenshots from docs/screenshots/ (made by the browser
    tests, then cropped and optimised): each is there, and none weighs down the repository."""
    root = Path(__file__).resolve().parents[2]
    shown = 0
    for doc in [root / "README.md", *(root / "docs").glob("*.md")]:
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+\.png)\)", doc.read_text()):
            path = (doc.parent / target).resolve()
            assert path.is_file(), f"{doc.name} shows {target}, which is not there"
            assert path.stat().st_size < 150_000, f"{target}: optimise it (pngquant, optipng)"
            shown += 1
    assert shown >= 10


async def run_now(api: Api, account_id: str) -> dict[str, Any]:
    status, run = await api.call("POST", f"/api/v1/accounts/{account_id}/run")
    assert status == 202, run
    status, done = await api.call("GET", f"/api/v1/runs/{run['id']}?wait=1")
    assert status == 200, done
    assert done["status"] == "done", done
    return done  # type: ignore[no-any-return]


async def test_a_source_that_needs_you_says_so_in_french(owner: Api) -> None:
    """The connector's own words (the Linky dongle's "needs your action"), from a real run
    in its sandboxed child: French on French pages, the API still English."""
    status, account = await owner.call(
        "POST", "/api/v1/accounts",
        json={"connector": "linky-tic", "label": "Compteur", "schedule": "manual",
              "credentials": {"device": "/nonexistent/ttyUSB9", "duration": "1"}},
    )  # fmt: skip
    assert status == 201, account
    run = await run_now(owner, account["id"])
    english = "there is no /nonexistent/ttyUSB9: plug the TIC dongle in, or set the right device"
    assert (run["outcome"], run["message"]) == ("user_action_needed", english)
    french = "/nonexistent/ttyUSB9 n'existe pas : branchez le dongle TIC, ou indiquez le bon périphérique"
    for path in (f"/connectors/source?account={account['id']}", "/connectors"):
        _, text, _ = await get(owner, path + ("&" if "?" in path else "?") + "lang=fr")
        text = html.unescape(text)
        assert french in text, path
        assert "Action requise :" in text, path  # a French colon, a space before it
        assert english not in text, path
        _, text, _ = await get(owner, path + ("&" if "?" in path else "?") + "lang=en")
        assert english in html.unescape(text), path
    _, text, _ = await get(owner, f"/connectors/run?run={run['id']}&lang=fr")
    assert french in html.unescape(text)  # the run's own page
    # what the pages' scripts fetch stays English: common.js says it in the page's language
    _, again = await owner.call(
        "GET", f"/api/v1/runs/{run['id']}", headers={"Accept-Language": "fr"}
    )
    assert again["message"] == english
    _, listed = await owner.call("GET", f"/api/v1/accounts/{account['id']}")
    assert listed["message"] == english


async def test_a_runs_log_is_french_on_a_french_page(owner: Api, tmp_path: Path) -> None:
    """A drop folder's run: its summary of a file (with the file's notes) and the records
    it left out ("where: message"), each line in French on the run's page."""
    folder = household.drop_folder(tmp_path)
    status, account = await owner.call(
        "POST", "/api/v1/accounts",
        json={"connector": "drop-folder", "schedule": "manual",
              "credentials": {"folder": str(folder), "settle_seconds": "1"}},
    )  # fmt: skip
    assert status == 201, account
    run = await run_now(owner, account["id"])
    assert run["outcome"] == "ok", run
    lines = [line["message"] for line in run["log"]["lines"]]
    assert lines == [
        "eau.csv: water, 0 document(s) and 4 point(s) stored, 1 record(s) left out; "
        "1 line(s) without a reading yet (left for a later export); "
        "1 reading(s) estimated by the utility, not read on the meter",
        "eau.csv line 4: not a date: 'hier'",
    ], lines
    _, text, _ = await get(owner, f"/connectors/run?run={run['id']}&lang=fr")
    text = html.unescape(text)
    assert (
        "eau.csv : water, 0 document(s) et 4 point(s) rangés, 1 enregistrement(s) écarté(s) ; "
        "1 ligne(s) encore sans relevé (laissées pour un prochain export); "
        "1 relevé(s) estimé(s) par le distributeur, pas lu(s) sur le compteur"
    ) in text
    assert "eau.csv ligne 4 : pas une date : 'hier'" in text
    assert not any(line in text for line in lines)
    _, english, _ = await get(owner, f"/connectors/run?run={run['id']}&lang=en")
    assert all(line in html.unescape(english) for line in lines)
