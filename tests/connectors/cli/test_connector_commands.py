"""`selfdata connectors …` as an admin types it: through a real daemon, and offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from ...daemon.conftest import Cli, assert_one_line_error, cli, initialised, start_daemon

__all__ = ["cli", "initialised"]  # fixtures, shared with tests/daemon

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "cli-s3cret-token"


@pytest.fixture
def cli_with_examples(initialised: Cli) -> Cli:
    # a connector under development: found through SELFDATA_CONNECTOR_MODULES
    initialised.env["PYTHONPATH"] = str(ROOT)
    initialised.env["SELFDATA_CONNECTOR_MODULES"] = "tests.connectors.examples.echo"
    return initialised


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    return path


def test_through_the_daemon(
    cli_with_examples: Cli, token_file: Path, tmp_path: Path, passphrase_file: Path
) -> None:
    run_cli = cli_with_examples
    daemon = start_daemon(run_cli, tmp_path / "daemon.log")
    try:
        run_cli.ok("unlock", "--passphrase-file", str(passphrase_file))
        available = run_cli.ok("connectors", "list", "--available", "--json").json()
        assert "test-echo" in {c["id"] for c in available}
        assert_one_line_error(
            run_cli("connectors", "add", "test-echo", "--set", f"token={TOKEN}"),
            "never on the command line",
        )
        assert_one_line_error(
            run_cli("connectors", "add", "test-echo"), "--credential-file token=FILE"
        )
        added = run_cli.ok(
            "connectors", "add", "test-echo", "--credential-file", f"token={token_file}",
            "--set", "behaviour=slow", "--set", "seconds=0", "--schedule", "manual", "--json",
        ).json()  # fmt: skip
        assert added["secrets_set"] == ["token"]
        run = run_cli.ok("connectors", "run", added["id"][:8], "--json").json()
        assert run["outcome"] == "ok"
        log = run_cli.ok("connectors", "logs", "test-echo")
        assert "[redacted]" in log.out
        assert TOKEN not in log.out
        listed = run_cli.ok("connectors", "list").out
        assert "test-echo" in listed
        assert "ok" in listed
        probe = run_cli.ok(
            "connectors", "probe", "test-echo", "--device", "/dev/null", "--json"
        ).json()
        assert probe == {"echo": {"device": "/dev/null"}, "account": ""}
        assert_one_line_error(run_cli("connectors", "run", "nope"), "no source")
        run_cli.ok("connectors", "remove", added["id"])
        assert run_cli.ok("connectors", "list", "--json").json() == []
    finally:
        daemon.stop()
    assert TOKEN not in daemon.log.read_text()


def test_offline_on_the_data_dir(
    cli_with_examples: Cli, token_file: Path, passphrase_file: Path
) -> None:
    run_cli = cli_with_examples
    pf = ("--passphrase-file", str(passphrase_file))
    added = run_cli.ok(
        "connectors", "add", "test-echo", "--credential-file", f"token={token_file}",
        "--set", "behaviour=auth", "--json", *pf,
    ).json()  # fmt: skip
    failed = run_cli("connectors", "run", added["id"], *pf)
    assert failed.code == 1
    assert "auth_failed" in failed.out
    assert "the token was refused" in failed.out
    listed = run_cli.ok("connectors", "list", "--json", *pf).json()
    assert listed[0]["status"] == "needs_action"
