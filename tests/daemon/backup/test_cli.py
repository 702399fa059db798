"""The commands an admin types over ssh: export --all, import, backup, restore."""

from __future__ import annotations

import json
import os
from pathlib import Path

from selfdata.paths import DataDir
from selfdata.vault import format_recovery_key

from ..conftest import Cli, assert_one_line_error, start_daemon

SEAL = "a long export passphrase"


def secret_file(path: Path, text: str) -> str:
    path.write_text(text + "\n")
    path.chmod(0o600)
    return str(path)


def populated(cli: Cli, tmp_path: Path, passphrase_file: Path) -> str:
    """An initialised box with some documents; returns its recovery key."""
    out = cli.ok("init", "--passphrase-file", str(passphrase_file)).out
    recovery = next(w for w in out.split() if w.count("-") == 13)
    notes = tmp_path / "notes.jsonl"
    notes.write_text(
        "".join(json.dumps({"_id": f"n{i}", "text": f"note {i}"}) + "\n" for i in range(20))
    )
    cli.ok(
        "import", "-t", "org.example.notes", str(notes), "--passphrase-file", str(passphrase_file)
    )
    return recovery


def other_cli(cli: Cli, tmp_path: Path, name: str) -> Cli:
    return Cli(DataDir(tmp_path / name), cli.env)


def test_export_all_and_import_back_offline(
    cli: Cli, tmp_path: Path, passphrase_file: Path
) -> None:
    populated(cli, tmp_path, passphrase_file)
    pf = str(passphrase_file)
    seal = secret_file(tmp_path / "seal", SEAL)
    cli.ok("export", "--all", "--output", str(tmp_path / "plain.tar.gz"), "--passphrase-file", pf)
    cli.ok(
        "export",
        "--all",
        "--encrypt",
        "--export-passphrase-file",
        seal,
        "--output",
        str(tmp_path / "sealed"),
        "--passphrase-file",
        pf,
    )
    assert b"note 3" not in (tmp_path / "sealed").read_bytes()
    other = other_cli(cli, tmp_path, "other")
    other.ok("init", "--passphrase-file", pf)
    report = other.ok(
        "import",
        str(tmp_path / "sealed"),
        "--export-passphrase-file",
        seal,
        "--passphrase-file",
        pf,
        "--json",
    ).json()
    assert report["doctypes"]["org.example.notes"]["created"] == 20
    report = other.ok(
        "import", str(tmp_path / "plain.tar.gz"), "--passphrase-file", pf, "--json"
    ).json()
    assert report["format"] == "selfdata-export"
    assert report["doctypes"]["org.example.notes"]["unchanged"] == 20
    wrong = secret_file(tmp_path / "wrong", "not the passphrase at all")
    result = other(
        "import",
        str(tmp_path / "sealed"),
        "--export-passphrase-file",
        wrong,
        "--passphrase-file",
        pf,
    )
    assert_one_line_error(result, "wrong passphrase")
    cut = tmp_path / "cut"
    cut.write_bytes((tmp_path / "sealed").read_bytes()[:-300])
    result = other("import", str(cut), "--export-passphrase-file", seal, "--passphrase-file", pf)
    assert_one_line_error(result, "nothing was imported")
    assert_one_line_error(cli("export", "--passphrase-file", pf), "--doctype T or --all")
    assert_one_line_error(
        cli(
            "export",
            "--all",
            "--cozy",
            "--encrypt",
            "-o",
            str(tmp_path / "x"),
            "--passphrase-file",
            pf,
        ),
        "cannot be sealed",
    )
    cli.ok("export", "--all", "--cozy", "-o", str(tmp_path / "cozy.zip"), "--passphrase-file", pf)
    assert (tmp_path / "cozy.zip").read_bytes().startswith(b"PK")


def test_export_and_sealed_import_through_the_daemon(
    cli: Cli, tmp_path: Path, passphrase_file: Path
) -> None:
    populated(cli, tmp_path, passphrase_file)
    pf = str(passphrase_file)
    seal = secret_file(tmp_path / "seal", SEAL)
    daemon = start_daemon(cli, tmp_path / "daemon.log")
    try:
        cli.ok("unlock", "--passphrase-file", pf)
        cli.ok(
            "export",
            "--all",
            "--encrypt",
            "--export-passphrase-file",
            seal,
            "-o",
            str(tmp_path / "e"),
        )
        report = cli.ok(
            "import", str(tmp_path / "e"), "--export-passphrase-file", seal, "--json"
        ).json()
        assert report["doctypes"]["org.example.notes"]["unchanged"] == 20
        cli.ok("lock")
        assert_one_line_error(cli("export", "--all", "-o", str(tmp_path / "f")), "locked")
        assert not (tmp_path / "f").exists()
        assert not (tmp_path / ".f.partial").exists()
    finally:
        daemon.stop()
    assert b"SELFDATA" not in (tmp_path / "daemon.log").read_bytes().upper().replace(
        b"SELFDATA", b""
    )


def test_backup_then_restore_a_fresh_box_with_the_recovery_key(
    cli: Cli, tmp_path: Path, passphrase_file: Path
) -> None:
    recovery = populated(cli, tmp_path, passphrase_file)
    pf = str(passphrase_file)
    usb = tmp_path / "usb"
    usb.mkdir()
    cli.ok(
        "backup",
        "add",
        "usb",
        str(usb),
        "--schedule",
        "every 1d",
        "--keep-daily",
        "3",
        "--passphrase-file",
        pf,
    )
    targets = cli.ok("backup", "targets", "--json", "--passphrase-file", pf).json()
    assert targets[0]["name"] == "usb"
    assert targets[0]["retention"]["daily"] == 3
    reports = cli.ok("backup", "run", "--json", "--passphrase-file", pf).json()
    assert reports[0]["verified_blobs"] == 0
    assert reports[0]["snapshot"]
    listed = cli.ok("backup", "snapshots", "usb", "--json", "--passphrase-file", pf).json()
    assert [s["id"] for s in listed] == [reports[0]["snapshot"]]
    assert_one_line_error(
        cli("backup", "add", "bad", str(tmp_path / "nope" / "x"), "--passphrase-file", pf),
        "mounted",
    )
    new = other_cli(cli, tmp_path, "new-box")
    wrong = secret_file(tmp_path / "wrong-key", format_recovery_key(os.urandom(32)))
    assert_one_line_error(
        new("restore", "--from", str(usb), "--recovery-key-file", wrong), "wrong recovery key"
    )
    key_file = secret_file(tmp_path / "key", recovery)
    assert new.ok(
        "restore", "--from", str(usb), "--recovery-key-file", key_file, "--list", "--json"
    ).json()
    result = new.ok("restore", "--from", str(usb), "--recovery-key-file", key_file, "--json").json()
    assert result["snapshot"] == reports[0]["snapshot"]
    assert result["initialized"]
    exported = new.ok("export", "-t", "org.example.notes", "--passphrase-file", pf).out
    assert len(exported.splitlines()) == 20
    assert new.ok("fsck", "--deep", "--passphrase-file", pf, "--json").json()["ok"]
    assert_one_line_error(
        new("restore", "--from", str(usb), "--recovery-key-file", key_file), "already has a vault"
    )


def test_restore_through_a_running_daemon(cli: Cli, tmp_path: Path, passphrase_file: Path) -> None:
    recovery = populated(cli, tmp_path, passphrase_file)
    pf = str(passphrase_file)
    usb = tmp_path / "usb"
    usb.mkdir()
    cli.ok("backup", "add", "usb", str(usb), "--passphrase-file", pf)
    cli.ok("backup", "run", "usb", "--passphrase-file", pf)
    new = other_cli(cli, tmp_path, "new-box")
    daemon = start_daemon(new, tmp_path / "new.log")
    try:
        key_file = secret_file(tmp_path / "key", recovery)
        new.ok("restore", "--from", str(usb), "--recovery-key-file", key_file)
        assert new.ok("status", "--json").json()["initialized"]
        new.ok("unlock", "--passphrase-file", pf)
        assert len(new.ok("export", "-t", "org.example.notes").out.splitlines()) == 20
        reports = new.ok("backup", "run", "--json").json()  # its target came back with it
        assert reports[0]["blobs_sent"] == 0
    finally:
        daemon.stop()
