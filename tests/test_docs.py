"""The docs stay true: each test fails when the code and its documentation drift apart."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from selfdata.api.routes import ROUTES
from selfdata.cli.main import cli
from selfdata.cli.reference import render
from selfdata.doctypes import builtin_doctypes
from selfdata.store.migrations import MIGRATIONS

DOCS = Path(__file__).parent.parent / "docs"
README = (Path(__file__).parent.parent / "README.md").read_text()


def test_the_cli_reference_is_generated_from_the_current_help() -> None:
    assert (DOCS / "cli.md").read_text() == render(), (
        "docs/cli.md is stale: python -m selfdata.cli.reference > docs/cli.md"
    )


def test_the_readme_names_every_command() -> None:
    for name in cli.commands:
        assert f"`selfdata {name}" in README, name


def test_every_route_is_in_the_api_docs() -> None:
    text = (DOCS / "api.md").read_text()
    for route in ROUTES:
        path = re.sub(r"\{(\w+)(?::[^}]*)?\}", r"{\1}", route.path)
        assert f"| {route.method} | `{path}` | {route.access.value} |" in text, path


def test_every_builtin_doctype_is_documented() -> None:
    text = (DOCS / "doctypes.md").read_text()
    for name in builtin_doctypes():
        assert f"`{name}`" in text, name


def test_the_threat_model_accounts_for_every_column_on_disk(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "schema.db")
    for script in MIGRATIONS:
        db.executescript(script)
    text = (DOCS / "threat-model.md").read_text()
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    assert tables
    for table in tables:
        for column in db.execute(f"PRAGMA table_info({table})"):
            assert f"`{table}.{column[1]}`" in text, (
                f"{table}.{column[1]} is not in the threat model"
            )


def test_every_builtin_source_has_a_page_linked_from_the_guide() -> None:
    from selfdata.connectors.runtime.registry import scan

    guide = (DOCS / "connectors.md").read_text()
    pages = {p.name: p.read_text() for p in (DOCS / "sources").glob("*.md")}
    linked = set(re.findall(r"\]\(sources/([\w.-]+\.md)\)", guide))
    assert set(pages) <= linked, f"not linked from docs/connectors.md: {set(pages) - linked}"
    found = scan(builtin=True, installed=False, extra=[])
    assert not found["problems"], found["problems"]
    ids = [c["id"] for c in found["connectors"]]
    assert "water-files" in ids  # the catalogue really was read
    for connector_id in ids:
        # woob-<module> connectors exist per installed woob module: woob.md covers them
        if connector_id.startswith("woob-"):
            assert "woob.md" in pages
            continue
        documented = [n for n, text in pages.items() if f"`{connector_id}`" in text]
        assert documented, f"{connector_id} has no page in docs/sources/"
        assert f"`{connector_id}`" in guide, f"{connector_id} is not in the guide's index"
