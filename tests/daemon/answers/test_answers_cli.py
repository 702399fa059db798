"""`selfdata answers …` and `selfdata verify-answer` as people type them, offline and through
the daemon: a request file in, a statement file out, checked by the requester's side."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from selfdata.box import Box
from selfdata.doctypes import resolve
from selfdata.paths import DataDir

from ...conftest import PASSPHRASE
from ..conftest import Cli, assert_one_line_error, start_daemon
from . import household


def load_household(data_dir: DataDir) -> None:
    async def go() -> None:
        box = await Box.open(data_dir)
        try:
            await box.unlock(PASSPHRASE)
            await box.documents.create(resolve("io.cozy.bank.accounts"), household.account())
            await box.documents.put_many(resolve("io.cozy.bank.operations"), household.operations())
            await box.series.write(
                f"enedis/daily_consumption/{household.PRM}",
                [tuple(p) for p in household.electricity()],  # type: ignore[misc]
                unit="Wh",
            )
        finally:
            await box.close()

    asyncio.run(go())


@pytest.fixture
def home(initialised: Cli) -> Cli:
    initialised.env["SELFDATA_TRUST_CLOCK"] = "1"
    load_household(initialised.data_dir)
    return initialised


def write(tmp_path: Path, name: str, data: object) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_offline_from_request_file_to_verified_statement(
    home: Cli, passphrase_file: Path, tmp_path: Path
) -> None:
    pf = ("--passphrase-file", str(passphrase_file))
    request = household.request()
    assert household.lowest_balance(3) > request["params"]["threshold"]
    submitted = home.ok("answers", "submit", str(write(tmp_path, "req.json", request)), *pf)
    assert "If you approve, exactly this leaves the box" in submitted.out
    assert "answer:   YES" in submitted.out
    listed = home.ok("answers", "list", "--json", *pf).json()
    assert [r["state"] for r in listed] == ["pending"]
    rid = listed[0]["id"]
    shown = home.ok("answers", "show", rid[:6], *pf)
    assert "Only for your eyes" in shown.out
    refused = home("answers", "approve", rid[:6], *pf)  # no terminal, no --yes
    assert_one_line_error(refused, "--yes")
    out = tmp_path / "statement.json"
    home.ok("answers", "approve", rid[:6], "--yes", "-o", str(out), *pf)
    key = home.ok("audit", "key", "--json").json()["public_key"]
    ok = home("verify-answer", str(out), "--key", key)
    assert ok.code == 0, ok.out + ok.err
    assert ok.out.startswith("valid: YES")
    seen = tmp_path / "seen.txt"
    assert home("verify-answer", str(out), "--key", key, "--seen", str(seen)).code == 0
    replay = home("verify-answer", str(out), "--key", key, "--seen", str(seen), "--json")
    assert replay.code == 4
    assert replay.json()["result"] == "replayed"
    assert home("verify-answer", str(out), "--key", key, "--at", "2100-01-01").code == 3
    assert home("verify-answer", str(out), "--key", key, "--nonce", "x" * 22).code == 4
    forged = json.loads(out.read_text())
    forged["statement"] = forged["statement"].replace('"answer":true', '"answer":false')
    forged_file = write(tmp_path, "forged.json", forged)
    bad = home("verify-answer", str(forged_file), "--key", key)
    assert bad.code == 1
    assert "REJECTED" in bad.out
    again = home.ok("answers", "statement", rid, *pf).out
    assert json.loads(again) == json.loads(out.read_text())
    # the replayed request, and a second decision, are refused
    assert_one_line_error(
        home("answers", "submit", str(write(tmp_path, "req.json", request)), *pf), "replay"
    )
    assert_one_line_error(home("answers", "refuse", rid, *pf), "already approved")
    entries = home.ok("audit", "list", "--json", *pf).json()["entries"]
    assert entries[0]["kind"] == "answer"
    assert "Only this yes/no left the box" in entries[0]["summary"]


def test_through_the_daemon(home: Cli, passphrase_file: Path, tmp_path: Path) -> None:
    daemon = start_daemon(home, tmp_path / "daemon.log")
    try:
        home.ok("unlock", "--passphrase-file", str(passphrase_file))
        request = household.request("electricity-use-below")
        home.ok("answers", "submit", str(write(tmp_path, "r.json", request)))
        rid = home.ok("answers", "list", "--json").json()[0]["id"]
        home.ok("answers", "refuse", rid)
        assert home.ok("answers", "show", rid, "--json").json()["state"] == "refused"
        assert_one_line_error(home("answers", "statement", rid), "not approved")
        request = household.request()
        home.ok("answers", "submit", "-", input=json.dumps(request))
        rid = home.ok("answers", "list", "--json").json()[0]["id"]
        statement = home.ok("answers", "approve", rid, "--yes").json()
        key = home.ok("audit", "key", "--json").json()["public_key"]
        out = write(tmp_path, "s.json", statement)
        assert home("verify-answer", str(out), "--key", key).code == 0
        assert home.ok("audit", "verify", "--json").json()["entries"] == 2
    finally:
        daemon.stop()


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "JSON object"),
        (json.dumps({"type": "other"}), "not an answer request"),
        (json.dumps(household.request(template="nope")), "unknown question template"),
        (json.dumps(household.request(requester="a\u202eb")), "invisible"),
        ("{" + " " * 70_000 + "}", "at most"),
    ],
    ids=["garbage", "array", "wrong type", "template", "bidi", "huge"],
)
def test_bad_request_files_are_one_line_errors(
    initialised: Cli, passphrase_file: Path, tmp_path: Path, content: str, fragment: str
) -> None:
    path = write(tmp_path, "bad.json", content)
    result = initialised("answers", "submit", str(path), "--passphrase-file", str(passphrase_file))
    assert_one_line_error(result, fragment)


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("answers", "submit", "/nonexistent/request.json"), "cannot read"),
        (("answers", "show", "zz"), "first 4 characters"),
        (("answers", "show", "abcd"), "no answer request"),
        (("answers", "approve", "0" * 32, "--yes"), "no such answer request"),
        (("answers", "refuse", "f" * 32), "no such answer request"),
        (("answers", "statement", "abcdef"), "no answer request"),
    ],
)
def test_bad_answers_arguments_are_one_line_errors(
    initialised: Cli, passphrase_file: Path, args: tuple[str, ...], fragment: str
) -> None:
    result = initialised(*args, "--passphrase-file", str(passphrase_file))
    assert_one_line_error(result, fragment)


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (("verify-answer", "/nonexistent", "--key", "A" * 43 + "="), 1, "cannot read"),
        (("verify-answer", "STATEMENT", "--key", "nope"), 1, "not a box public key"),
        (("verify-answer", "STATEMENT", "--key", "A" * 43 + "=", "--at", "soon"), 1, "--at"),
    ],
)
def test_verify_answer_usage_errors(
    cli: Cli, tmp_path: Path, args: tuple[str, ...], code: int, fragment: str
) -> None:
    statement = write(tmp_path, "s.json", "{}")
    argv = [str(statement) if a == "STATEMENT" else a for a in args]
    result = cli(*argv)
    assert_one_line_error(result, fragment)
    assert result.code == code


def test_verify_answer_rejects_garbage(cli: Cli, tmp_path: Path) -> None:
    for content in ("", "garbage", "[]", json.dumps({"statement": "{}", "signature": "x"})):
        result = cli(
            "verify-answer", str(write(tmp_path, "g.json", content)), "--key", "A" * 43 + "="
        )
        assert result.code == 1
        assert result.out.startswith("REJECTED")
        assert "Traceback" not in result.err
