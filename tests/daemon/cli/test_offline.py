"""CLI commands on the data dir directly, when no daemon runs."""

from __future__ import annotations

import json
from pathlib import Path

from selfdata.vault import parse_recovery_key

from ..conftest import PASSPHRASE, Cli, assert_one_line_error


def test_init_prints_a_recovery_key_once_and_status_shows_the_box(
    cli: Cli, passphrase_file: Path
) -> None:
    result = cli.ok("init", "--passphrase-file", str(passphrase_file), "--json")
    assert parse_recovery_key(result.json()["recovery_key"])
    status = cli.ok("status", "--json").json()
    assert status | {"daemon": False, "initialized": True, "locked": True} == status


def test_init_twice_is_a_clear_error(initialised: Cli, passphrase_file: Path) -> None:
    assert_one_line_error(initialised("init", "--passphrase-file", str(passphrase_file)), "already")


def test_init_without_a_terminal_or_file_says_how_to_give_a_passphrase(cli: Cli) -> None:
    assert_one_line_error(cli("init", input=""), "--passphrase-file")


def test_the_passphrase_file_can_come_from_the_environment(cli: Cli, passphrase_file: Path) -> None:
    cli.env["SELFDATA_PASSPHRASE_FILE"] = str(passphrase_file)
    cli.ok("init")
    cli.ok("import", "-t", "org.example.env", "-", "--format", "jsonl", input='{"a": 1}\n')


def test_import_export_round_trip_offline(
    initialised: Cli, passphrase_file: Path, tmp_path: Path
) -> None:
    source = tmp_path / "notes.jsonl"
    source.write_text('{"_id": "n1", "text": "première"}\n{"_id": "n2", "text": "deuxième"}\n')
    report = initialised.ok(
        "import",
        "-t",
        "org.example.notes",
        str(source),
        "--passphrase-file",
        str(passphrase_file),
        "--json",
    ).json()
    assert (report["created"], report["errors"]) == (2, 0)
    out = initialised.ok(
        "export", "-t", "org.example.notes", "--passphrase-file", str(passphrase_file)
    )
    assert [json.loads(line) for line in out.out.splitlines()] == [
        {"_id": "n1", "text": "première"},
        {"_id": "n2", "text": "deuxième"},
    ]
    audit = initialised.ok("audit", "list", "--json", "--passphrase-file", str(passphrase_file))
    assert "The 2 document(s) of org.example.notes exported" in audit.out


def test_import_twice_changes_nothing(
    initialised: Cli, passphrase_file: Path, tmp_path: Path
) -> None:
    source = tmp_path / "ops.csv"
    source.write_text("date,label,amount\n2024-01-01,café,-3.5\n2024-01-01,café,-3.5\n")
    args = (
        "import",
        "-t",
        "io.cozy.bank.operations",
        str(source),
        "--passphrase-file",
        str(passphrase_file),
        "--json",
    )
    assert initialised.ok(*args).json()["created"] == 2
    again = initialised.ok(*args).json()
    assert (again["created"], again["unchanged"]) == (0, 2)


def test_a_bad_file_reports_its_lines_and_exits_non_zero(
    initialised: Cli, passphrase_file: Path, tmp_path: Path
) -> None:
    source = tmp_path / "bad.jsonl"
    source.write_text('{"ok": 1}\n{"broken": \n')
    result = initialised(
        "import", "-t", "org.example.bad", str(source), "--passphrase-file", str(passphrase_file)
    )
    assert result.code == 1
    assert "1 line(s) skipped" in result.out
    assert "line 2: not valid JSON" in result.out


def test_wrong_passphrase_is_one_clear_line(initialised: Cli, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong"
    wrong.write_text("not my passphrase at all\n")
    result = initialised("export", "-t", "io.cozy.bills", "--passphrase-file", str(wrong))
    assert_one_line_error(result, "wrong passphrase")


def test_exporting_a_doctype_that_does_not_exist_is_an_error(
    initialised: Cli, passphrase_file: Path
) -> None:
    result = initialised(
        "export", "-t", "org.example.nothing", "--passphrase-file", str(passphrase_file)
    )
    assert_one_line_error(result, "no doctype 'org.example.nothing'")


def test_an_unknown_reserved_doctype_is_refused(initialised: Cli, passphrase_file: Path) -> None:
    result = initialised(
        "import",
        "-t",
        "io.cozy.madeup",
        "-",
        "--format",
        "jsonl",
        "--passphrase-file",
        str(passphrase_file),
        input="{}\n",
    )
    assert_one_line_error(result, "reserved")


def test_a_malformed_doctype_name_is_refused(initialised: Cli) -> None:
    assert_one_line_error(initialised("export", "-t", "../../etc"), "not a doctype name")


def test_a_missing_file_is_one_clear_line(initialised: Cli) -> None:
    assert_one_line_error(
        initialised("import", "-t", "org.example.x", "/nonexistent.csv"), "cannot read"
    )


def test_a_file_of_unknown_format_asks_for_format(initialised: Cli, tmp_path: Path) -> None:
    source = tmp_path / "data.xyz"
    source.write_text("x")
    assert_one_line_error(initialised("import", "-t", "org.example.x", str(source)), "--format")


def test_commands_before_init_say_what_to_do(cli: Cli, passphrase_file: Path) -> None:
    result = cli("export", "-t", "io.cozy.bills", "--passphrase-file", str(passphrase_file))
    assert_one_line_error(result, "selfdata init")


def test_unlock_and_lock_need_the_daemon(initialised: Cli, passphrase_file: Path) -> None:
    assert_one_line_error(
        initialised("unlock", "--passphrase-file", str(passphrase_file)), "daemon is not running"
    )
    assert_one_line_error(initialised("lock"), "daemon is not running")


def test_passwd_then_recover(cli: Cli, passphrase_file: Path, tmp_path: Path) -> None:
    recovery = cli.ok("init", "--passphrase-file", str(passphrase_file), "--json").json()[
        "recovery_key"
    ]
    new = tmp_path / "new"
    new.write_text("my second passphrase\n")
    cli.ok("passwd", "--passphrase-file", str(passphrase_file), "--new-passphrase-file", str(new))
    assert_one_line_error(
        cli("export", "-t", "io.cozy.bills", "--passphrase-file", str(passphrase_file)),
        "wrong passphrase",
    )
    key_file = tmp_path / "key"
    key_file.write_text(recovery.lower().replace("-", " ") + "\n")
    third = tmp_path / "third"
    third.write_text("my third passphrase!\n")
    cli.ok("recover", "--recovery-key-file", str(key_file), "--new-passphrase-file", str(third))
    cli.ok("export", "-t", "io.cozy.bills", "--passphrase-file", str(third))


def test_setup_code_is_stable_until_init(cli: Cli, passphrase_file: Path) -> None:
    first = cli.ok("setup-code").out.strip()
    assert first == cli.ok("setup-code").out.strip()
    assert len(first.replace("-", "")) == 12
    cli.ok("init", "--passphrase-file", str(passphrase_file))
    assert_one_line_error(cli("setup-code"), "already set up")


def test_fsck_offline_checks_structure_or_everything_with_a_passphrase(
    initialised: Cli, passphrase_file: Path
) -> None:
    initialised.ok(
        "import",
        "-t",
        "org.example.f",
        "-",
        "--format",
        "jsonl",
        "--passphrase-file",
        str(passphrase_file),
        input='{"a": 1}\n',
    )
    shallow = initialised.ok("fsck", "--json").json()
    assert (shallow["ok"], shallow["deep"]) == (True, False)
    deep = initialised.ok("fsck", "--json", "--passphrase-file", str(passphrase_file)).json()
    assert (deep["ok"], deep["deep"], deep["checked"]["documents"]) == (True, True, 1)


def test_fsck_reports_a_corrupted_record_and_exits_1(
    initialised: Cli, passphrase_file: Path
) -> None:
    import sqlite3

    initialised.ok(
        "import",
        "-t",
        "org.example.f",
        "-",
        "--format",
        "jsonl",
        "--passphrase-file",
        str(passphrase_file),
        input='{"a": 1}\n',
    )
    with sqlite3.connect(initialised.data_dir.database) as db:
        (body,) = db.execute("SELECT body FROM documents").fetchone()
        flipped = body[:30] + bytes([body[30] ^ 1]) + body[31:]
        db.execute("UPDATE documents SET body = ?", (flipped,))
    result = initialised("fsck", "--passphrase-file", str(passphrase_file))
    assert result.code == 1
    assert "PROBLEMS FOUND" in result.out


def test_help_lists_every_command(cli: Cli) -> None:
    out = cli.ok("--help").out
    for command in [
        "init",
        "serve",
        "status",
        "setup-code",
        "unlock",
        "lock",
        "passwd",
        "recover",
        "import",
        "export",
        "fsck",
        "doctypes",
    ]:
        assert f"  {command} " in out or f"  {command}\n" in out, command


def test_version(cli: Cli) -> None:
    from selfdata import __version__

    assert __version__ in cli.ok("--version").out


def test_doctypes_lists_known_and_user_doctypes(initialised: Cli, passphrase_file: Path) -> None:
    initialised.ok(
        "import",
        "-t",
        "org.example.mine",
        "-",
        "--format",
        "jsonl",
        "--passphrase-file",
        str(passphrase_file),
        input='{"a": 1}\n',
    )
    rows = initialised.ok("doctypes", "--json", "--passphrase-file", str(passphrase_file)).json()
    by_name = {r["name"]: r for r in rows}
    assert by_name["org.example.mine"] == {
        "name": "org.example.mine",
        "title": "org.example.mine",
        "builtin": False,
        "count": 1,
    }
    assert by_name["io.cozy.bank.operations"]["builtin"] is True
    assert PASSPHRASE not in json.dumps(rows)
