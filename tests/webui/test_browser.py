"""The whole journey in a real browser: Debian's chromium driven by Playwright, against a
real ``selfdata serve`` over HTTPS. Every page is checked by axe-core (no serious or
critical violation), in English and French, on a 360-px phone and a desktop, and
screenshotted into tests/screenshots/ (gitignored; the key ones are in docs/screenshots/).

Never a downloaded browser: ``/usr/bin/chromium`` comes from tests/debian-packages.txt.
Waits are on conditions (an element, a URL, a data-ready flag), never fixed sleeps.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selfdata.webui import i18n

from . import household
from .browser import (
    DESKTOP,
    PHONE,
    Server,
    Tab,
    check_axe,
    check_width,
    pw,
    running_server,
    shot,
)
from .test_api_messages import examples

PASSPHRASE = "maple river quiet lantern"
NEW_PASSPHRASE = "otter violin pebble harbor"

# (name, path, condition that says the page is ready)
PAGES = [
    ("home", "/", "h1"),
    ("logis", "/apps/logis", ".domain"),
    ("energy", "/apps/energy?view=day", "[data-load-curve][data-ready=true]"),
    ("budget", "/apps/budget?month=2025-02", "[data-chart][data-ready=true]"),
    ("sources", "/connectors", "#import-any-form"),
    ("data", "/data", "table"),
    ("operations", "/data/io.cozy.bank.operations?limit=25", "table.docs"),
    ("document", "/data/selfdata.energy.contracts/contract-elec", "dl.pairs"),
    ("settings", "/settings", "#passphrase-form"),
    ("ledger", "/privacy", "#verify-ledger"),
    ("answers", "/privacy/answers", "#request-form"),
    ("contribution", "/privacy/contribution", "#contribution-form"),
    ("backups", "/settings/backups", "#target-form"),
    ("export", "/settings/export", "#export-form"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("webui")) as running:
        yield running


def load_household(page: Any, url: str) -> None:
    """The sample household through the API, with the browser's own session."""
    headers = {"Origin": url}
    for doctype, docs in (
        ("io.cozy.bank.operations", household.bank_operations()),
        ("io.cozy.bills", household.bills()),
        ("selfdata.energy.contracts", household.contracts()),
    ):
        body = "\n".join(json.dumps(d) for d in docs)
        resp = page.request.post(
            f"{url}/api/v1/doctypes/{doctype}/import", data=body, headers=headers
        )
        assert resp.ok, resp.text()
        assert resp.json()["errors"] == 0, resp.text()
    for name, unit, points in (
        ("linky/consumption", "Wh", household.electricity(1800)),
        ("open-meteo/temperature", "°C", household.temperature()),
    ):
        for i in range(0, len(points), 2000):
            # small bodies: the API reads a JSON body with one read() (see the report)
            resp = page.request.post(
                f"{url}/api/v1/series/{name}",
                data=json.dumps({"unit": unit, "points": points[i : i + 2000]}),
                headers={**headers, "Content-Type": "application/json"},
            )
            assert resp.ok, resp.text()


def test_the_whole_journey(browser: Any, server: Server, axe: str, tmp_path: Path) -> None:
    tab = Tab(browser, server)
    page = tab.page
    # -- first run: the setup code, a passphrase with its strength, the recovery key --------
    page.goto(server.url + "/")
    page.wait_for_url("**/setup")
    check_axe(page, axe, "setup")
    shot(page, "journey-setup")
    page.check("input[name=start][value=restore]")  # the other way in: restore a backup
    page.wait_for_selector("#restore-form", state="visible")
    assert page.is_hidden("#setup-form")
    page.check("#restore-form input[name=kind][value=sftp]")
    assert page.is_visible("#r-host-key")
    assert page.is_hidden("#r-path")
    check_axe(page, axe, "setup: restore")
    page.check("input[name=start][value=new]")
    page.wait_for_selector("#setup-form", state="visible")
    page.fill("#setup-code", server.cli.ok("setup-code").out.strip())
    page.fill("#passphrase", "short")
    assert page.text_content("#strength-text") == "Too short"
    page.fill("#passphrase", PASSPHRASE)
    assert page.eval_on_selector("#strength", "m => m.value") >= 2
    page.fill("#passphrase2", PASSPHRASE + "typo")
    page.click("text=Create my vault")
    page.wait_for_selector("#setup-error:has-text('differ')")
    page.fill("#passphrase2", PASSPHRASE)
    page.click("text=Create my vault")
    page.wait_for_selector("#step-recovery", state="visible")
    recovery_key = page.text_content("#recovery-key") or ""
    assert re.fullmatch(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){13}", recovery_key), recovery_key
    check_axe(page, axe, "recovery key")
    shot(page, "journey-recovery-key")
    assert page.get_attribute("#recovery-continue", "aria-disabled") == "true"
    page.click("#recovery-continue", force=True)  # not yet: "I saved it" is not ticked
    assert page.url.endswith("/setup")
    page.check("#saved")
    page.click("#recovery-continue")
    page.wait_for_url("**/welcome")
    check_axe(page, axe, "welcome")
    assert "whoever takes the box with the stick" in (page.text_content("main") or "")
    assert page.get_attribute("main >> text=Set up the USB stick", "href") == "/settings#unattended"
    page.click("text=Keep it locked after a restart")
    page.wait_for_url("**/welcome?step=sources")
    page.click("main >> text=Add a source")
    page.wait_for_url("**/connectors")

    # -- a first source: a bank statement imported from the Sources page -------------------
    statement = tmp_path / "releve.csv"
    statement.write_text(
        "date;label;amount\n2025-01-03;CB BOULANGERIE;-4,20\n2025-01-04;oops;abc\n"
    )
    page.set_input_files("#import-any-file", str(statement))  # its format is detected
    page.click("#import-any-form button[type=submit]")
    page.wait_for_selector("#import-any-result[data-done]")
    assert "csv): 1 records stored, 1 left out" in (page.text_content("#import-any-result") or "")
    assert page.text_content("#import-any-report tbody") == "io.cozy.bank.operations100"
    assert "line 3" in (page.text_content("#import-any-problems") or "")
    # … or into a doctype of one's choice, folded under the main import
    page.click("text=Or: CSV or JSON Lines into a kind of data you choose")
    page.fill("#import-doctype", "io.cozy.bank.operations")
    page.select_option("#import-format", "csv")
    page.set_input_files("#import-file", str(statement))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-result:has-text('Done')")
    assert "0 new, 0 updated, 1 unchanged" in (page.text_content("#import-result") or "")
    assert page.eval_on_selector("#import-progress", "p => p.value") == 100

    # -- a connector: the form from its manifest, run now with live progress, its log ------
    page.click("a[href='/connectors/add?connector=linky-tic']")
    page.wait_for_selector("#account-form")
    check_axe(page, axe, "add a source")
    page.fill("#cred-device", "/nonexistent/ttyUSB9")  # fails fast, no network
    page.fill("#cred-duration", "1")
    page.click("#account-form button[type=submit]")
    page.wait_for_url("**/connectors/source?account=**")
    page.click("#run-now")
    page.wait_for_selector("#run-status[data-outcome]", timeout=60_000)
    assert page.get_attribute("#run-status", "data-outcome") not in ("queued", "running")
    assert "Finished" in (page.text_content("#run-status") or "")
    assert page.get_attribute("#run-status", "data-outcome") == "user_action_needed"
    assert "Needs your action" in (page.text_content("#run-status") or "")  # not the raw code
    check_axe(page, axe, "source")
    page.reload()
    # what the owner must do, on the source's page and in the list of sources
    alert = page.text_content("main [role=alert]") or ""
    assert "Needs your action" in alert
    assert "plug the TIC dongle in" in alert
    assert page.get_attribute("#source-status", "data-status") == "needs_action"
    assert "· Needs your action" in (page.text_content("main .pairs") or "")  # the last run
    shot(page, "journey-source")
    source_url = page.url
    tab.go("/connectors", "#import-any-form")
    assert "plug the TIC dongle in" in (page.text_content("main") or "")
    assert "{'" not in (page.text_content("main") or "")  # a run is a time, not its record
    shot(page, "journey-sources")
    page.goto(source_url)
    # ... and fix it there: the form holds the current settings; saving lets it try again
    assert page.input_value("#cred-device") == "/nonexistent/ttyUSB9"
    page.fill("#cred-device", "/nonexistent/ttyACM0")
    page.select_option("#schedule", "every 6h")
    page.uncheck("#enabled")
    page.click("#edit-form button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('#source-status').dataset.status === 'new'"
    )
    assert page.is_hidden("main [role=alert]") or "Needs" not in (
        page.text_content("main [role=alert]") or ""
    )
    assert "Paused" in (page.text_content("#source-status") or "")
    assert page.input_value("#cred-device") == "/nonexistent/ttyACM0"
    assert page.input_value("#schedule") == "every 6h"
    check_axe(page, axe, "source, changed")
    page.click("a[href^='/connectors/run?run=']")
    page.wait_for_selector("h1")
    check_axe(page, axe, "run log")
    assert "Needs your action" in (page.text_content("[data-outcome]") or "")
    tab.problems.clear()  # the failed run's API answers are expected

    load_household(page, server.url)

    # -- every page, keyboard-searchable data, one document viewed and deleted -------------
    for name, path, ready in PAGES:
        tab.go(path, ready)
        check_axe(page, axe, name)
    tab.go("/data/io.cozy.bank.operations", "table.docs")
    page.focus("#q")
    page.keyboard.type("salaire")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=salaire**")
    assert page.locator("table.docs tbody tr").count() == 12
    page.click("text=Next page") if page.locator("text=Next page").count() else None
    tab.go("/data/io.cozy.bills/bill-fre-202405", "#delete-doc")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#delete-doc")
    page.wait_for_url("**/data/io.cozy.bills")
    resp = page.request.get(server.url + "/api/v1/doctypes/io.cozy.bills/documents/bill-fre-202405")
    assert resp.status == 404

    # -- settings: recovery key check, passphrase change -----------------------------------
    tab.go("/settings", "#check-form")
    page.fill("#check-key", recovery_key)
    page.click("#check-form button")
    page.wait_for_selector("#check-result:has-text('This is your recovery key')")
    page.fill("#old-passphrase", PASSPHRASE)
    page.fill("#new-passphrase", NEW_PASSPHRASE)
    page.click("#passphrase-form button")
    page.wait_for_selector("#passphrase-result:has-text('changed')")

    # -- settings: unattended unlock, its trade-off ticked first, then off again -----------
    key_path = tmp_path / "stick" / "selfdata.key"
    page.fill("#ua-path", str(key_path))
    page.fill("#ua-passphrase", NEW_PASSPHRASE)
    page.click("#unattended-form button[type=submit]")  # not ticked: the form does not go
    assert page.is_hidden("#unattended-done")
    assert page.request.get(server.url + "/api/v1/unattended").json()["enabled"] is False
    page.check("#ua-understood")
    with page.expect_download() as info:
        page.click("#unattended-form button[type=submit]")
    assert info.value.suggested_filename == "selfdata.key"
    assert Path(info.value.path()).read_text().startswith("selfdata key file v1\n")
    page.wait_for_selector("#unattended-done:has-text('Copy it onto the USB stick')")
    assert str(key_path) in (page.text_content("#unattended-state") or "")
    check_axe(page, axe, "settings, unattended unlock on")
    shot(page, "journey-unattended-on")
    status = page.request.get(server.url + "/api/v1/unattended").json()
    assert (status["enabled"], status["path"]) == (True, str(key_path))
    page.reload()
    page.click("#unattended-off")
    page.wait_for_selector("#unattended-state:has-text('Off:')")
    assert page.request.get(server.url + "/api/v1/unattended").json()["enabled"] is False

    # -- lock: nothing shows any more, not even through the back button --------------------
    tab.go("/data/io.cozy.bank.operations?q=canary", "table.docs")
    assert household.CANARY in (page.content())
    page.click("#lock-button")
    page.wait_for_url("**/unlock")
    page.go_back()
    page.wait_for_load_state()
    assert household.CANARY not in page.content()
    for _, path, _ in PAGES:
        page.goto(server.url + path)
        assert "/unlock" in page.url, path
        assert household.CANARY not in page.content(), path
        assert "PRLV" not in page.content(), path
    check_axe(page, axe, "unlock")
    shot(page, "journey-unlock")

    # -- unlock with the keyboard only, and land where we were going ---------------------------
    page.goto(server.url + "/apps/budget")
    page.wait_for_url("**/unlock?next=**")
    assert page.evaluate("document.activeElement.id") == "passphrase"  # autofocus
    page.keyboard.press("Shift+Tab")  # before it: the brand link, then the skip link
    assert page.evaluate("document.activeElement.className") == "brand"
    page.keyboard.press("Shift+Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # skipped to the content: the passphrase is next
    assert page.evaluate("document.activeElement.id") == "passphrase"
    page.keyboard.type(PASSPHRASE)
    page.keyboard.press("Enter")
    page.wait_for_selector("#unlock-error:has-text('wrong passphrase')")
    page.fill("#passphrase", "")
    page.wait_for_function("() => !document.querySelector('#unlock-form button').disabled")
    page.keyboard.type(NEW_PASSPHRASE)
    # the backoff after one wrong try is 1 s: the API says so (429) until then; retry on it
    page.wait_for_function("async () => { const r = await fetch('/api/v1/status'); return r.ok; }")
    for _ in range(50):
        page.keyboard.press("Enter")
        try:
            page.wait_for_url("**/apps/budget", timeout=2_000)
            break
        except pw.TimeoutError:
            continue
    page.wait_for_selector("[data-chart][data-ready=true]")
    tab.close()


@pytest.mark.parametrize("lang", ["en", "fr"])
@pytest.mark.parametrize("device", ["phone", "desktop"])
def test_every_page_in_each_language_and_size(
    browser: Any, server: Server, axe: str, lang: str, device: str
) -> None:
    tab = Tab(browser, server, lang, PHONE if device == "phone" else DESKTOP)
    page = tab.page
    status = page.request.get(server.url + "/api/v1/status").json()
    if not status["initialized"] or status["locked"]:
        pytest.skip("needs the box the journey set up (run the whole module)")
    tab.sign_in(NEW_PASSPHRASE)
    for name, path, ready in PAGES:
        tab.go(path, ready)
        assert page.get_attribute("html", "lang") == lang
        check_width(page, name)
        check_axe(page, axe, f"{name} {lang} {device}")
        assert "{'" not in (page.text_content("main") or ""), f"{name}: a raw record shows"
        shot(page, f"{lang}-{device}-{name}")
    # the API's messages are said in the page's language, by the same templates as the
    # server's (every one of them, filled, and a message quoting another); others as they are
    messages = [m for m, _ in examples()] + [
        "backup to sftp://me@nas:22/b failed: sftp://me@nas:22/b: cannot connect (timed out)",
        "odd",
    ]
    said = page.evaluate("(ms) => Promise.all(ms.map((m) => window.selfdata.say(m)))", messages)
    expected = [i18n.api_messages(lang).say(m) for m in messages]
    assert said == expected
    if lang == "fr":
        assert said[-2:] == [
            # both translated; the system's own words stay
            "la sauvegarde vers sftp://me@nas:22/b a échoué : "
            "sftp://me@nas:22/b : connexion impossible (timed out)",
            "odd",
        ]
        # and an error the API answers a page's call, through common.js's api()
        before = len(tab.problems)
        error = page.evaluate(
            "() => window.selfdata.api('GET', '/api/v1/runs/00').catch((e) => e.message)"
        )
        assert error == "pas de collecte '00'", error
        del tab.problems[before:]  # that 404 is expected
    tab.check_clean()
    tab.close()


# a run's log lines, as the page's script and the server say them (test_api_messages.py
# checks the templates; here the same for the lines made of two messages, or a list)
LOG_LINES = [
    "line 3: unterminated quoted field",
    "eau.csv line 4: not a date: 'hier'",
    "eau.csv: water, 0 document(s) and 4 point(s) stored, 1 record(s) left out; "
    "1 line(s) without a reading yet (left for a later export); "
    "1 reading(s) estimated by the utility, not read on the meter",
    "there is no /dev/ttyUSB9: plug the TIC dongle in, or set the right device",
    "output: odd: words",
]


def test_what_a_connector_says_is_french_on_french_pages(
    browser: Any, server: Server, axe: str, tmp_path: Path
) -> None:
    """A source's "needs your action", a run's end and its log lines: the page's script
    says them from the run it polls (JSON, in English), the server on the pages it renders."""
    tab = Tab(browser, server, "fr", DESKTOP)
    page = tab.page
    status = page.request.get(server.url + "/api/v1/status").json()
    if not status["initialized"] or status["locked"]:
        pytest.skip("needs the box the journey set up (run the whole module)")
    tab.sign_in(NEW_PASSPHRASE)
    pair = i18n.Translator("fr", "UTC").gettext("{where}: {message}")
    said = page.evaluate(
        "([ls, pair]) => Promise.all(ls.map((l) => window.selfdata.sayLine(l, pair)))",
        [LOG_LINES, pair],
    )
    assert said == [i18n.api_messages("fr").say_line(line, pair) for line in LOG_LINES]
    assert said[0] == "ligne 3 : champ entre guillemets non terminé"
    assert said[-1] == "output: odd: words"  # no template: as it is

    # the journey's Linky source: run it again, the dongle is still missing
    accounts = page.request.get(server.url + "/api/v1/accounts").json()["accounts"]
    linky = next(a for a in accounts if a["connector"] == "linky-tic")
    device = linky["credentials"]["device"]
    french = f"{device} n'existe pas : branchez le dongle TIC, ou indiquez le bon périphérique"
    tab.go(f"/connectors/source?account={linky['id']}", "#run-now")
    page.click("#run-now")
    page.wait_for_selector("#run-status[data-outcome=user_action_needed]", timeout=60_000)
    assert page.text_content("#run-status") == f"Terminé : Action requise. {french}"
    page.reload()
    assert french in (page.text_content("main [role=alert]") or "")
    check_axe(page, axe, "source needing action fr")
    shot(page, "fr-desktop-source-needs-action")
    tab.go("/connectors", "#import-any-form")
    assert french in (page.text_content(".needs-action") or "")

    # a drop folder's run: its log, polled while it runs, line by line in French
    folder = household.drop_folder(tmp_path)
    account = tab.post(
        "/api/v1/accounts",
        {
            "connector": "drop-folder",
            "schedule": "manual",
            "credentials": {"folder": str(folder), "settle_seconds": "1"},
        },
    )
    tab.go(f"/connectors/source?account={account['id']}", "#run-now")
    page.click("#run-now")
    page.wait_for_selector("#run-status[data-outcome=ok]", timeout=60_000)
    lines = page.locator("#run-log li").all_text_contents()
    assert lines == [
        "INFO · eau.csv : water, 0 document(s) et 4 point(s) rangés, "
        "1 enregistrement(s) écarté(s) ; 1 ligne(s) encore sans relevé (laissées pour un "
        "prochain export); 1 relevé(s) estimé(s) par le distributeur, pas lu(s) sur le compteur",
        "WARNING · eau.csv ligne 4 : pas une date : 'hier'",
    ], lines
    check_axe(page, axe, "source run log fr")
    page.reload()  # the run is in the page's "Recent runs" now
    page.click("a[href^='/connectors/run?run=']")
    page.wait_for_selector("ol.log")
    shown = page.locator("ol.log li").all_text_contents()
    assert [line.split(" · ", 1)[1] for line in shown] == lines  # the server says the same
    tab.check_clean()
    tab.close()


@pytest.mark.parametrize(("lang", "device"), [("fr", "phone"), ("en", "phone"), ("fr", "desktop")])
def test_the_first_run_pages_in_each_language_and_size(
    browser: Any, tmp_path: Path, axe: str, lang: str, device: str
) -> None:
    """Setup, the recovery key, the welcome step and unlock, as the journey sees them in
    English on a desktop: here in the other languages and sizes, each on a fresh box."""
    with running_server(tmp_path / "box") as fresh:
        tab = Tab(browser, fresh, lang, PHONE if device == "phone" else DESKTOP)
        page = tab.page
        page.goto(fresh.url + "/")
        page.wait_for_url("**/setup")
        assert page.get_attribute("html", "lang") == lang
        for step in ("setup", "setup: restore"):
            if step == "setup: restore":
                page.check("input[name=start][value=restore]")
                page.wait_for_selector("#restore-form", state="visible")
            check_width(page, step)
            check_axe(page, axe, f"{step} {lang} {device}")
            shot(page, f"{lang}-{device}-{step.replace(': ', '-')}")
        page.check("input[name=start][value=new]")
        page.fill("#setup-code", fresh.cli.ok("setup-code").out.strip())
        page.fill("#passphrase", PASSPHRASE)
        page.fill("#passphrase2", PASSPHRASE)
        page.click("#setup-form button[type=submit]")
        page.wait_for_selector("#step-recovery", state="visible")
        check_width(page, "recovery key")
        check_axe(page, axe, f"recovery key {lang} {device}")
        shot(page, f"{lang}-{device}-recovery-key")
        page.check("#saved")
        page.click("#recovery-continue")
        page.wait_for_url("**/welcome")
        check_width(page, "welcome")
        check_axe(page, axe, f"welcome {lang} {device}")
        shot(page, f"{lang}-{device}-welcome")
        page.goto(fresh.url + "/settings")
        page.wait_for_selector("#lock-button")
        page.click("#lock-button")
        page.wait_for_url("**/unlock")
        check_width(page, "unlock")
        check_axe(page, axe, f"unlock {lang} {device}")
        shot(page, f"{lang}-{device}-unlock")
        page.fill("#passphrase", PASSPHRASE)
        page.press("#passphrase", "Enter")
        page.wait_for_url(fresh.url + "/")
        tab.check_clean()
        tab.close()
