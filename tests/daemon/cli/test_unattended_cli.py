"""`selfdata unattended status|enable|disable` and `selfdata unlock --key-file`, as an
admin types them over ssh: offline and through the daemon."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

from ..conftest import Cli, assert_one_line_error, start_daemon


def stick(tmp_path: Path) -> Path:
    path = tmp_path / "media" / "selfdata-key"
    path.mkdir(parents=True, exist_ok=True)
    return path / "selfdata.key"


def test_enable_offline_writes_the_key_file_and_says_the_trade_off(
    initialised: Cli, passphrase_file: Path, tmp_path: Path
) -> None:
    key = stick(tmp_path)
    assert "off" in initialised.ok("unattended", "status").out
    done = initialised.ok(
        "unattended", "enable", str(key), "--passphrase-file", str(passphrase_file)
    )
    assert "whoever takes the box *and* the key file" in done.out
    assert key.read_text().startswith("selfdata key file v1\n")
    assert stat.S_IMODE(key.stat().st_mode) == 0o640
    assert not [p for p in key.parent.iterdir() if p.name.startswith(".selfdata-key-")]
    state = initialised.ok("unattended", "status", "--json").json()
    assert state == {"enabled": True, "path": str(key), "watching": False, "problem": None}
    assert key.read_text() not in done.out  # the key goes to the file, not the terminal


def test_an_existing_file_is_kept_unless_forced(
    initialised: Cli, passphrase_file: Path, tmp_path: Path
) -> None:
    key = stick(tmp_path)
    pf = ("--passphrase-file", str(passphrase_file))
    initialised.ok("unattended", "enable", str(key), *pf)
    first = key.read_text()
    assert_one_line_error(initialised("unattended", "enable", str(key), *pf), "--force")
    assert key.read_text() == first
    initialised.ok("unattended", "enable", str(key), "--force", *pf)
    assert key.read_text() != first


def test_a_wrong_passphrase_or_unwritable_place_changes_nothing(
    initialised: Cli, tmp_path: Path
) -> None:
    key = stick(tmp_path)
    wrong = tmp_path / "wrong"
    wrong.write_text("not the passphrase at all\n")
    refused = initialised(
        "unattended", "enable", str(key), "--passphrase-file", str(wrong), "--force"
    )
    assert_one_line_error(refused, "wrong passphrase")
    assert list(key.parent.iterdir()) == []  # no key file, no scratch file left behind
    nowhere = tmp_path / "not-mounted" / "selfdata.key"
    good = tmp_path / "passphrase"
    assert_one_line_error(
        initialised("unattended", "enable", str(nowhere), "--passphrase-file", str(good)),
        "cannot write the key file",
    )
    assert initialised.ok("unattended", "status", "--json").json()["enabled"] is False
    inside = initialised.data_dir.root / "selfdata.key"
    assert_one_line_error(
        initialised("unattended", "enable", str(inside), "--passphrase-file", str(good)),
        "data directory",
    )
    assert not inside.exists()


def test_the_key_file_can_go_to_stdout_for_another_place(
    initialised: Cli, passphrase_file: Path
) -> None:
    result = initialised.ok(
        "unattended",
        "enable",
        "/media/selfdatakey/selfdata.key",
        "-o",
        "-",
        "--passphrase-file",
        str(passphrase_file),
    )
    assert result.out.startswith("selfdata key file v1\n")
    assert "/media/selfdatakey/selfdata.key" in result.err


def test_a_restarted_daemon_unlocks_itself_with_the_key_file(
    initialised: Cli, passphrase_file: Path, tmp_path: Path
) -> None:
    key = stick(tmp_path)
    initialised.ok("unattended", "enable", str(key), "--passphrase-file", str(passphrase_file))
    daemon = start_daemon(initialised, tmp_path / "daemon.log")
    try:
        deadline = time.monotonic() + 20
        while initialised.ok("status", "--json").json()["locked"]:
            assert time.monotonic() < deadline, daemon.log.read_text()
            time.sleep(0.1)
        initialised.ok("lock")
        time.sleep(0.5)
        assert initialised.ok("status", "--json").json()["locked"] is True
        status = initialised.ok("unattended", "status", "--json").json()
        assert status["watching"] is False  # the admin locked it: the watcher stands down
        assert_one_line_error(
            initialised("unlock", "--key-file", str(tmp_path / "x")), "cannot read"
        )
        assert "Unlocked" in initialised.ok("unlock", "--key-file", str(key)).out
        initialised.ok("unattended", "disable")
        initialised.ok("lock")
        assert_one_line_error(initialised("unlock", "--key-file", str(key)), "not enabled")
    finally:
        daemon.stop()
    log = daemon.log.read_text()
    assert "unlocked with the key file" in log
    assert key.read_text().splitlines()[2].split()[1] not in log


def test_unlock_with_a_key_file_needs_a_daemon(initialised: Cli, tmp_path: Path) -> None:
    key = tmp_path / "k"
    key.write_text("selfdata key file v1\n")
    assert_one_line_error(initialised("unlock", "--key-file", str(key)), "not running")
    huge = tmp_path / "huge"
    with open(huge, "wb") as f:
        f.truncate(1 << 20)
    assert_one_line_error(initialised("unlock", "--key-file", str(huge)), "too large")
    assert os.path.getsize(huge) == 1 << 20
