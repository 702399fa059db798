"""CLI commands go through the running daemon's admin socket."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from ..conftest import Cli, DaemonProcess, assert_one_line_error


def test_status_through_the_daemon_shows_the_certificate(cli: Cli, daemon: DaemonProcess) -> None:
    status = cli.ok("status", "--json").json()
    assert status["daemon"] is True
    assert status["initialized"] is False
    assert len(status["fingerprint"].split(":")) == 32
    assert "SHA-256" in cli.ok("status").out


def test_the_setup_code_is_in_the_log_and_from_the_cli(cli: Cli, daemon: DaemonProcess) -> None:
    code = cli.ok("setup-code").out.strip()
    assert code in daemon.log.read_text()


def test_init_unlock_lock_through_the_daemon(
    cli: Cli, daemon: DaemonProcess, passphrase_file: Path
) -> None:
    cli.ok("init", "--passphrase-file", str(passphrase_file))
    assert cli.ok("status", "--json").json()["locked"] is False
    cli.ok("lock")
    assert cli.ok("status", "--json").json()["locked"] is True
    assert_one_line_error(
        cli("import", "-t", "org.example.x", "-", "--format", "jsonl", input="{}\n"), "locked"
    )
    cli.ok("unlock", "--passphrase-file", str(passphrase_file))
    assert cli.ok("status", "--json").json()["locked"] is False


def test_import_and_export_stream_through_the_daemon(
    cli: Cli, daemon: DaemonProcess, passphrase_file: Path, tmp_path: Path
) -> None:
    cli.ok("init", "--passphrase-file", str(passphrase_file))
    source = tmp_path / "big.jsonl"
    with source.open("w") as f:
        for i in range(20_000):
            f.write(json.dumps({"_id": f"r{i}", "value": i, "label": "é" * (i % 7)}) + "\n")
    report = cli.ok("import", "-t", "org.example.big", str(source), "--json").json()
    assert (report["created"], report["errors"]) == (20_000, 0)
    out = cli.ok("export", "-t", "org.example.big").out.splitlines()
    assert len(out) == 20_000
    assert json.loads(out[-1]) == {"_id": "r19999", "value": 19999, "label": "é" * (19999 % 7)}


def test_the_daemon_holds_the_data_dir(cli: Cli, daemon: DaemonProcess, tmp_path: Path) -> None:
    second = cli("serve", "--port", "0", "--http-port", "0", "--no-mdns", timeout=30)
    assert second.code != 0
    assert "another selfdata process" in second.err


def test_sigterm_stops_cleanly_and_removes_the_socket(
    cli: Cli, daemon: DaemonProcess, passphrase_file: Path
) -> None:
    cli.ok("init", "--passphrase-file", str(passphrase_file))
    assert daemon.stop(signal.SIGTERM) == 0
    assert not cli.data_dir.socket.exists()
    assert "stopped" in daemon.log.read_text()
    # and the store is whole
    assert cli.ok("fsck", "--json", "--passphrase-file", str(passphrase_file)).json()["ok"] is True


def test_a_wrong_passphrase_through_the_daemon_is_one_line(
    cli: Cli, daemon: DaemonProcess, passphrase_file: Path, tmp_path: Path
) -> None:
    cli.ok("init", "--passphrase-file", str(passphrase_file))
    cli.ok("lock")
    wrong = tmp_path / "wrong"
    wrong.write_text("definitely wrong!\n")
    assert_one_line_error(cli("unlock", "--passphrase-file", str(wrong)), "wrong passphrase")
