"""What the browser tests share: a real ``selfdata serve``, a browser tab that fails on
any CSP violation or script error, axe-core, screenshots.

Never a downloaded browser: ``/usr/bin/chromium`` comes from tests/debian-packages.txt.
The ``browser`` and ``axe`` fixtures are in conftest.py (one chromium for every module).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selfdata.paths import DataDir

from ..daemon.conftest import Cli, DaemonProcess, start_daemon

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
TIMEOUT = 15_000  # ms, for any one condition


@dataclass
class Server:
    cli: Cli
    url: str
    process: DaemonProcess
    root: Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(root: Path, **env_extra: str) -> Iterator[Server]:
    """``selfdata serve`` on a fresh data dir under ``root``, over HTTPS on loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELFDATA_")}
    env["SELFDATA_KDF_SECONDS"] = "0"
    env["TZ"] = "Europe/Paris"
    env.update(env_extra)
    root.mkdir(parents=True, exist_ok=True)
    cli = Cli(DataDir(root / "box"), env)
    port = free_port()
    process = start_daemon(cli, root / "daemon.log", "--port", str(port))
    try:
        yield Server(cli, f"https://127.0.0.1:{port}", process, root)
    finally:
        if process.proc.poll() is None:
            process.stop()


class Tab:
    """One browser context and page, failing on any CSP violation or script error."""

    def __init__(
        self, browser: Any, server: Server, lang: str = "en", viewport: dict[str, int] = DESKTOP
    ):
        self.server = server
        self.context = browser.new_context(
            ignore_https_errors=True,
            accept_downloads=True,
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

    def sign_in(self, passphrase: str) -> None:
        self.page.goto(self.server.url + "/unlock")
        self.page.fill("#passphrase", passphrase)
        self.page.press("#passphrase", "Enter")
        self.page.wait_for_url(self.server.url + "/")

    def post(self, path: str, body: object) -> Any:
        """A JSON write with this tab's session, as the page's own scripts make them."""
        resp = self.page.request.post(
            self.server.url + path,
            data=json.dumps(body),
            headers={"Origin": self.server.url, "Content-Type": "application/json"},
        )
        assert resp.ok, resp.text()
        return resp.json()

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


def check_width(page: Any, name: str) -> None:
    """Nothing scrolls sideways (the phone's 360 px included)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    wide = page.evaluate(
        "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
        " > document.documentElement.clientWidth + 1).slice(0, 5).map(e => e.tagName + '.' + e.className)"
    )
    assert width <= page.viewport_size["width"], f"{name} scrolls sideways at {width}px: {wide}"


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
