"""Third-party connectors: an installed distribution with a ``selfdata.connectors`` entry
point is found and run exactly like a built-in one — and docs/connectors.md's examples
work as written (the module, its entry point, its test are taken from the page)."""

from __future__ import annotations

import re
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import pytest
from selfdata.box import Box
from selfdata.connectors.runtime.registry import discover
from selfdata.scheduler import Scheduler, SchedulerConfig

from ..scheduler.test_scheduler import FakeClock, settle

GUIDE = (Path(__file__).parents[3] / "docs" / "connectors.md").read_text()


def block(language: str, containing: str) -> str:
    """The guide's code block (``language``) that contains ``containing``, dedented."""
    for found in re.findall(rf"```{language}\n(.*?)```", GUIDE, re.S):
        if containing in found:
            return textwrap.dedent(found)
    raise AssertionError(f"no {language} block with {containing!r} in docs/connectors.md")


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The guide's module installed as a distribution (a .dist-info on the Python path,
    as pip would leave it), its entry point taken from the guide's pyproject.toml."""
    site = tmp_path / "site-packages"
    package = site / "my_energy"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(block("python", "# my_energy/__init__.py"))
    toml = tomllib.loads(block("toml", "selfdata.connectors"))
    points = toml["project"]["entry-points"]["selfdata.connectors"]
    info = site / "my_energy-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-energy\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[selfdata.connectors]\n" + "".join(f"{k} = {v}\n" for k, v in points.items())
    )
    (info / "RECORD").write_text("")
    monkeypatch.syspath_prepend(str(site))
    return site


async def test_an_installed_entry_point_loads_like_a_builtin(installed: Path, box: Box) -> None:
    registry = await discover(installed=True, protect=(box.paths.root,))
    spec = registry.get("example-energy")
    assert (spec.module, spec.attr, spec.origin) == (
        "my_energy",
        None,
        "entry point from my-energy",
    )
    assert spec.sync
    assert spec.manifest.credentials[1].secret
    builtin = registry.get("grdf-web")  # the same record, the same discovery
    assert builtin.origin == "builtin"
    assert set(spec.to_json()) == set(builtin.to_json())
    assert not [p for p in registry.problems if "my_energy" in p]


async def test_the_guides_test_passes_as_written(installed: Path, box: Box) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(block("python", "async def test_a_run"), "docs/connectors.md", "exec"), namespace)
    await namespace["test_a_run"](box)


async def test_the_scheduler_runs_an_installed_connector(installed: Path, box: Box) -> None:
    from aiohttp import web

    from ..fakes.server import serve

    async def consumption(request: web.Request) -> web.Response:
        return web.json_response([{"epoch": 1704067200, "wh": 9000.0, "next": "2024-01-02"}])

    app = web.Application()
    app.router.add_get("/consumption", consumption)
    clock = FakeClock()
    s = Scheduler(box, SchedulerConfig(installed=True, extra=(), first_run_delay=5.0), clock)
    await s.reload()
    async with serve(app) as url:
        try:
            account = await s.add_account(
                "example-energy",
                credentials={"login": "x", "token": "t0ken-value"},
                base_urls={"api": url},
                schedule="every 1h",  # the guide's is a daily cron line
            )
            clock.advance(6)
            await settle(s)
            state = s._states[account["id"]]
            assert state["last_run"]["outcome"] == "ok", state.get("message")
            assert state["state"] == {"next_day": "2024-01-02"}
        finally:
            await s.close()
    assert await box.series.query("example/consumption", 0, 2**40) == [(1704067200, 9000.0)]


def test_running_a_module_with_a_missing_entry_point_is_a_problem_not_a_crash() -> None:
    # a manifest with neither sync nor a file source is reported by name, like a builtin's
    from selfdata.connectors.runtime.registry import scan

    found = scan(builtin=False, installed=False, extra=["selfdata.connectors.sdk"])
    assert found["connectors"] == []
    assert found["problems"] == [
        "selfdata.connectors.sdk: no MANIFEST (a selfdata.connectors.sdk.Manifest)"
    ]
