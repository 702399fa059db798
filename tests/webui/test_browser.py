"""The whole journey in a real browser: Debian's chromium driven by Playwright, against a
real ``selfdata serve`` over HTTPS. Every page is checked by axe-core (no serious or
critical violation), in English and French, on a 360-px phone and a desktop, and
screenshotted into tests/screenshots/ (gitignored; the key ones are in docs/screenshots/).

Never a downloaded browser: ``/usr/bin/chromium`` comes from tests/debian-packages.txt.
Waits are on conditions (an element, a URL, a data-ready flag), never fixed sleeps.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selfdata.paths import DataDir

from ..daemon.conftest import Cli, DaemonProcess, start_daemon
from . import household
from .axe import axe_source

pw = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[test]'")

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(__file__).parent.parent / "screenshots"
PHONE = {"width": 360, "height": 800}
DESKTOP = {"width": 1280, "height": 800}
PASSPHRASE = "maple river quiet lantern"
NEW_PASSPHRASE = "otter violin pebble harbor"
TIMEOUT = 15_000  # ms, for any one condition

# (name, path, condition that says the page is ready)
PAGES = [
    ("home", "/", "h1"),
    ("logis", "/apps/logis", ".domain"),
    ("energy", "/apps/energy?view=day", "[data-load-curve][data-ready=true]"),
    ("budget", "/apps/budget?month=2025-02", "[data-chart][data-ready=true]"),
    ("sources", "/connectors", "#import-form"),
    ("data", "/data", "table"),
    ("operations", "/data/io.cozy.bank.operations?limit=25", "table.docs"),
    ("document", "/data/selfdata.energy.contracts/contract-elec", "dl.pairs"),
    ("settings", "/settings", "#passphrase-form"),
]


@dataclass
class Server:
    cli: Cli
    url: str
    process: DaemonProcess


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("webui")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELFDATA_")}
    env["SELFDATA_KDF_SECONDS"] = "0"
    env["TZ"] = "Europe/Paris"
    cli = Cli(DataDir(root / "box"), env)
    port = free_port()
    process = start_daemon(cli, root / "daemon.log", "--port", str(port))
    try:
        yield Server(cli, f"https://127.0.0.1:{port}", process)
    finally:
        if process.proc.poll() is None:
            process.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install the packages in tests/debian-packages.txt")
    with pw.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_source()


class Tab:
    """One browser context and page, failing on any CSP violation or script error."""

    def __init__(
        self, browser: Any, server: Server, lang: str = "en", viewport: dict[str, int] = DESKTOP
    ):
        self.server = server
        self.context = browser.new_context(
            ignore_https_errors=True,
            viewport=viewport,
            locale="fr-FR" if lang == "fr" else "en-GB",
            extra_http_headers={"Accept-Language": "fr-FR,fr" if lang == "fr" else "en-GB,en"},
        )
        self.context.set_default_timeout(TIMEOUT)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda err: self.problems.append(f"script error: {err}"))

    def _console(self, message: Any) -> None:
        if message.type == "error" and "favicon" not in message.text:
            self.problems.append(message.text)

    def go(self, path: str, ready: str = "h1") -> Any:
        self.page.goto(self.server.url + path)
        self.page.wait_for_selector(ready, state="attached")
        return self.page

    def check_clean(self) -> None:
        assert not self.problems, self.problems

    def close(self) -> None:
        self.context.close()


def check_axe(page: Any, axe: str, where: str) -> None:
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe)  # evaluated by DevTools, not injected: the page's CSP stays strict
    result = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    bad = [v for v in result if v["impact"] in ("serious", "critical")]
    assert not bad, f"{where}: {json.dumps(bad, indent=1)}"


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


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
    assert "not available in this version" in (page.text_content("main") or "")
    page.click("text=Continue")
    page.wait_for_url("**/welcome?step=sources")
    page.click("main >> text=Add a source")
    page.wait_for_url("**/connectors")

    # -- a first source: a bank statement imported from the Sources page -------------------
    statement = tmp_path / "releve.csv"
    statement.write_text(
        "date;label;amount\n2025-01-03;CB BOULANGERIE;-4,20\n2025-01-04;oops;abc\n"
    )
    page.fill("#import-doctype", "io.cozy.bank.operations")
    page.select_option("#import-format", "csv")
    page.set_input_files("#import-file", str(statement))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-result:has-text('Done')")
    assert "1 new" in (page.text_content("#import-result") or "")
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
    check_axe(page, axe, "source")
    shot(page, "journey-source")
    page.reload()
    page.click("a[href^='/connectors/run?run=']")
    page.wait_for_selector("h1")
    check_axe(page, axe, "run log")
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
    page.goto(server.url + "/unlock")
    page.fill("#passphrase", NEW_PASSPHRASE)
    page.press("#passphrase", "Enter")
    page.wait_for_url(server.url + "/")
    for name, path, ready in PAGES:
        tab.go(path, ready)
        assert page.get_attribute("html", "lang") == lang
        width = page.evaluate("document.documentElement.scrollWidth")
        wide = page.evaluate(
            "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
            " > document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className)"
        )
        assert width <= page.viewport_size["width"], f"{name} scrolls sideways at {width}px: {wide}"
        check_axe(page, axe, f"{name} {lang} {device}")
        shot(page, f"{lang}-{device}-{name}")
    tab.check_clean()
    tab.close()
