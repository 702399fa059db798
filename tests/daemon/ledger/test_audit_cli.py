"""`selfdata audit …` as an admin types it: the ledger tampered with on the real SQLite
file is caught by `audit verify` (exit 1, naming the seq), locked or unlocked, offline or
through the daemon."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from selfdata import ledger
from selfdata.box import Box
from selfdata.paths import DataDir

from ...conftest import PASSPHRASE
from ..conftest import Cli, assert_one_line_error, start_daemon
from .test_ledger import TAMPERING


def record(data_dir: DataDir, count: int) -> None:
    async def go() -> None:
        box = await Box.open(data_dir)
        try:
            await box.unlock(PASSPHRASE)
            for i in range(count):
                await ledger.append(box, "export", {"summary": f"Exported part {i}"})
        finally:
            await box.close()

    asyncio.run(go())


@pytest.mark.parametrize("case", list(TAMPERING), ids=str)
def test_audit_verify_names_where_a_tampered_ledger_breaks(
    initialised: Cli, passphrase_file: Path, case: str
) -> None:
    record(initialised.data_dir, 5)
    assert "ledger OK: 5 entries" in initialised.ok("audit", "verify").out
    tamper, where = TAMPERING[case]
    tamper(initialised.data_dir)
    locked = initialised("audit", "verify")
    assert_one_line_error(locked, f"the ledger breaks at entry {where}:")
    deep = initialised("audit", "verify", "--deep", "--passphrase-file", str(passphrase_file))
    assert_one_line_error(deep, f"the ledger breaks at entry {where}:")
    as_json = initialised("audit", "verify", "--json")
    assert as_json.code == 1
    assert as_json.json()["broken_at"] == where


def test_audit_list_key_and_verify_offline_and_through_the_daemon(
    initialised: Cli, passphrase_file: Path, tmp_path: Path
) -> None:
    assert_one_line_error(initialised("audit", "key"), "passphrase needed")  # empty ledger
    record(initialised.data_dir, 3)
    key = initialised.ok("audit", "key", "--json").json()  # read from the signed head
    assert len(key["public_key"]) == 44
    listed = initialised.ok("audit", "list", "--passphrase-file", str(passphrase_file))
    assert listed.out.splitlines()[0].split()[0] == "3"
    assert "Exported part 2" in listed.out
    page = initialised.ok(
        "audit", "list", "--json", "--limit", "2", "--passphrase-file", str(passphrase_file)
    ).json()
    assert [e["seq"] for e in page["entries"]] == [3, 2]
    assert page["next_before"] == 2
    assert "ledger OK" in initialised.ok("audit", "verify", "--key", key["public_key"]).out
    other = "A" * 43 + "="
    assert_one_line_error(
        initialised("audit", "verify", "--key", other), "another key than the one you gave"
    )
    daemon = start_daemon(initialised, tmp_path / "daemon.log")
    try:
        locked = initialised.ok("audit", "verify", "--json").json()
        assert locked["ok"] is True
        assert locked["deep"] is False
        initialised.ok("unlock", "--passphrase-file", str(passphrase_file))
        deep = initialised.ok("audit", "verify", "--json").json()
        assert deep["deep"] is True
        assert deep["entries"] == 3
        assert initialised.ok("audit", "key", "--json").json() == key
        assert "Exported part 0" in initialised.ok("audit", "list").out
    finally:
        daemon.stop()


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("audit", "verify", "--key", "not-a-key"), "not a box public key"),
        (("audit", "verify", "--key", "ff" * 500), "not a box public key"),
        (("audit", "list"), "passphrase needed"),
    ],
)
def test_bad_audit_input_is_a_one_line_error(
    initialised: Cli, args: tuple[str, ...], fragment: str
) -> None:
    record(initialised.data_dir, 1)
    assert_one_line_error(initialised(*args), fragment)


def test_audit_on_a_data_dir_without_a_vault(cli: Cli) -> None:
    assert_one_line_error(cli("audit", "list"), "no vault")
    result = cli("audit", "verify")  # nothing to check, nothing wrong
    assert result.code == 0, result.err


@pytest.mark.parametrize(
    "args", [("audit", "list", "--limit", "0"), ("audit", "list", "--before", "x")]
)
def test_bad_options_are_refused_without_a_traceback(
    initialised: Cli, args: tuple[str, ...]
) -> None:
    result = initialised(*args)
    assert result.code == 2
    assert "Traceback" not in result.err


def test_audit_verify_head_catches_a_rollback(initialised: Cli, tmp_path: Path) -> None:
    import shutil

    record(initialised.data_dir, 2)
    old = tmp_path / "old.db"
    shutil.copy(initialised.data_dir.database, old)
    record(initialised.data_dir, 1)
    head = initialised.ok("audit", "verify", "--json").json()["head"]
    noted = f"{head['seq']}:{head['hash']}"
    assert "ledger OK" in initialised.ok("audit", "verify", "--head", noted).out
    shutil.copy(old, initialised.data_dir.database)
    initialised.ok("audit", "verify")  # an old copy is authentic…
    assert_one_line_error(  # …but not the ledger the owner saw
        initialised("audit", "verify", "--head", noted), "the ledger breaks at entry 3"
    )
    assert_one_line_error(initialised("audit", "verify", "--head", "3:xyz"), "SEQ:HASH")
