"""The requester's verifier, alone: forged, altered, replayed, expired, malformed, wrong key.

Statements are signed here with a box key made from a random master key: the verifier
needs nothing of the box, and it is also run as a copied file and as ``python -m``.
"""

from __future__ import annotations

import ast
import base64
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nacl.signing
import pytest
from selfdata import crypto
from selfdata.answers import verify
from selfdata.answers.statement import sign_statement
from selfdata.ledger import ConsentKeys, key_id, public_key_text
from selfdata.vault import Keys

NOW = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def keys() -> ConsentKeys:
    return ConsentKeys.of(Keys(bytearray(crypto.random_key())))


def fields(keys: ConsentKeys, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "type": "selfdata.answer/1",
        "template": "bank-balance-above",
        "params": {"account": "FR7630001007941234567890185", "threshold": 500, "months": 3},
        "question": "Was the balance of account FR76… above 500.00 at the end of every day…?",
        "answer": True,
        "period": {"start": "2025-02-01", "end": "2025-04-30"},
        "issued_at": "2025-05-20T10:00:00Z",
        "expires_at": "2025-06-19T10:00:00Z",
        "nonce": "q7Hc0vYx2Jm5sWZbK1tLfA",
        "requester": "Banque Exemple",
        "key_id": key_id(keys.public_key),
    }
    base.update(changes)
    return base


def signed(keys: ConsentKeys, **changes: Any) -> bytes:
    return json.dumps(sign_statement(keys, fields(keys, **changes))).encode()


def check(blob: bytes | str, keys: ConsentKeys, **kwargs: Any) -> verify.Outcome:
    return verify.verify_statement(blob, keys.public_key, now=kwargs.pop("now", NOW), **kwargs)


def test_a_genuine_statement_is_valid(keys: ConsentKeys) -> None:
    outcome = check(signed(keys), keys)
    assert outcome.status == verify.VALID, outcome.message
    assert outcome.statement["answer"] is True
    assert "YES" in outcome.message


def test_flipping_the_answer_is_caught(keys: ConsentKeys) -> None:
    envelope = json.loads(signed(keys))
    envelope["statement"] = envelope["statement"].replace('"answer":true', '"answer":false')
    outcome = check(json.dumps(envelope), keys)
    assert outcome.status == verify.INVALID
    assert "forged or altered" in outcome.message


@pytest.mark.parametrize(
    ("find", "replace"),
    [
        ('"threshold":500', '"threshold":5'),
        ('"expires_at":"2025-06-19', '"expires_at":"2035-06-19'),
        ('"requester":"Banque Exemple"', '"requester":"Autre Banque"'),
        ('"nonce":"q7Hc0vYx2Jm5sWZbK1tLfA"', '"nonce":"AAAAAAAAAAAAAAAAAAAAAA"'),
        ('"start":"2025-02-01"', '"start":"2024-02-01"'),
        ("{", "{ "),  # even whitespace: the signed bytes are checked, not a re-serialisation
    ],
)
def test_any_altered_byte_of_the_signed_text_is_caught(
    keys: ConsentKeys, find: str, replace: str
) -> None:
    envelope = json.loads(signed(keys))
    assert find in envelope["statement"]
    envelope["statement"] = envelope["statement"].replace(find, replace, 1)
    assert check(json.dumps(envelope), keys).status == verify.INVALID


def test_a_flipped_signature_bit_is_caught(keys: ConsentKeys) -> None:
    envelope = json.loads(signed(keys))
    raw = bytearray(base64.b64decode(envelope["signature"]))
    raw[10] ^= 1
    envelope["signature"] = base64.b64encode(bytes(raw)).decode()
    assert check(json.dumps(envelope), keys).status == verify.INVALID


def test_a_statement_forged_with_another_key_is_refused(keys: ConsentKeys) -> None:
    forger = ConsentKeys.of(Keys(bytearray(crypto.random_key())))
    blob = signed(forger, key_id=key_id(keys.public_key))  # claims to be the genuine box
    outcome = check(blob, keys)
    assert outcome.status == verify.INVALID
    honest = signed(forger)  # says who signed it: refused by id
    outcome = check(honest, keys)
    assert outcome.status == verify.INVALID
    assert "another key" in outcome.message


def test_the_wrong_key_is_refused(keys: ConsentKeys) -> None:
    other = bytes(nacl.signing.SigningKey.generate().verify_key)
    outcome = verify.verify_statement(signed(keys), other, now=NOW)
    assert outcome.status == verify.INVALID


def test_expired_and_not_yet_valid_statements_are_reported(keys: ConsentKeys) -> None:
    blob = signed(keys)
    late = check(blob, keys, now=dt.datetime(2025, 6, 19, 10, 0, tzinfo=dt.UTC))
    assert late.status == verify.EXPIRED
    assert "expired on 2025-06-19" in late.message
    early = check(blob, keys, now=dt.datetime(2025, 5, 1, tzinfo=dt.UTC))
    assert early.status == verify.EXPIRED
    assert "not valid yet" in early.message


def test_a_replayed_nonce_is_refused(keys: ConsentKeys) -> None:
    blob = signed(keys)
    first = check(blob, keys, seen=set())
    assert first.valid
    seen = {f"{key_id(keys.public_key)}:q7Hc0vYx2Jm5sWZbK1tLfA"}
    again = check(blob, keys, seen=seen)
    assert again.status == verify.REPLAYED
    other = check(blob, keys, expected_nonce="AnotherNonceOfMine00000")
    assert other.status == verify.REPLAYED
    assert "another request" in other.message


def _signed_text(keys: ConsentKeys, text: str) -> str:
    signature = keys.sign(verify.SIGNED_PREFIX + text.encode())
    return json.dumps({"statement": text, "signature": base64.b64encode(signature).decode()})


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[1, 2]",
        '{"type": "selfdata.answer/2"}',
        "{}",
        "[" * 10_000 + "]" * 10_000,
    ],
)
def test_a_signed_text_that_is_no_statement_is_invalid(keys: ConsentKeys, text: str) -> None:
    assert check(_signed_text(keys, text), keys).status == verify.INVALID


@pytest.mark.parametrize(
    "changes",
    [
        {"answer": "yes"},
        {"answer": 1},
        {"params": []},
        {"period": "2025"},
        {"nonce": "short"},
        {"issued_at": "yesterday"},
        {"expires_at": "2025-06-19 10:00:00"},
        {"expires_at": "2025-05-19T10:00:00Z"},  # before it was issued
        {"key_id": 42},
    ],
    ids=str,
)
def test_malformed_fields_in_a_validly_signed_statement_are_invalid(
    keys: ConsentKeys, changes: dict[str, Any]
) -> None:
    text = json.dumps(fields(keys, **changes), sort_keys=True)
    assert check(_signed_text(keys, text), keys).status == verify.INVALID


@pytest.mark.parametrize(
    "blob",
    [
        b"",
        b"not json at all",
        b"[]",
        b'{"statement": 12, "signature": "AAAA"}',
        b'{"statement": "{}"}',
        b'{"statement": "{}", "signature": "%%%notbase64"}',
        b'{"statement": "{}", "signature": "AAAA"}',
        b'{"statement": "{}", "signature": "' + b"A" * 88 + b'", "key_id": "zz"}',
        b'{"statement": "' + b"x" * 20_000 + b'", "signature": ""}',
        b"{" + b" " * 70_000 + b"}",
        b'{"statement": "\\ud800", "signature": "' + b"A" * 86 + b'=="}',
        b"\xff\xfe\x00garbage",
    ],
)
def test_malformed_files_are_invalid_never_a_crash(keys: ConsentKeys, blob: bytes) -> None:
    outcome = check(blob, keys)
    assert outcome.status == verify.INVALID
    assert outcome.message


def test_the_verifier_imports_nothing_of_the_box() -> None:
    source = Path(verify.__file__).read_text()
    imported: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "no relative import: the file must work alone"
            imported.add((node.module or "").split(".")[0])
    assert imported <= set(sys.stdlib_module_names) | {"nacl", "__future__"}, imported


def _write(tmp_path: Path, keys: ConsentKeys) -> tuple[Path, str]:
    path = tmp_path / "answer.json"
    path.write_bytes(signed(keys))
    return path, public_key_text(keys.public_key)


def test_python_m_loads_no_store_daemon_or_web_module(keys: ConsentKeys, tmp_path: Path) -> None:
    path, key = _write(tmp_path, keys)
    probe = (
        "import sys; import selfdata.answers.verify as v;"
        f"code = v.main([{str(path)!r}, '--key', {key!r}, '--at', '2025-06-01T12:00:00Z']);"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'aiosqlite', 'click')"
        " or m.startswith(('selfdata.store', 'selfdata.box', 'selfdata.api', 'selfdata.cli',"
        " 'selfdata.ledger', 'selfdata.vault', 'selfdata.webui', 'selfdata.connectors'))];"
        "print('HEAVY', heavy); sys.exit(code)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "HEAVY []" in proc.stdout
    assert proc.stdout.startswith("valid: YES")
    module = subprocess.run(
        [
            sys.executable,
            "-m",
            "selfdata.answers.verify",
            str(path),
            "--key",
            key,
            "--at",
            "2025-06-01T12:00:00Z",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert module.returncode == 0, module.stderr


def test_a_copy_of_the_file_alone_verifies(keys: ConsentKeys, tmp_path: Path) -> None:
    path, key = _write(tmp_path, keys)
    alone = tmp_path / "elsewhere"
    alone.mkdir()
    shutil.copy(verify.__file__, alone / "verify.py")
    seen = tmp_path / "seen.txt"
    run = [
        sys.executable,
        str(alone / "verify.py"),
        str(path),
        "--key",
        key,
        "--at",
        "2025-06-01T12:00:00Z",
        "--seen",
        str(seen),
    ]
    first = subprocess.run(run, capture_output=True, text=True, cwd=alone, check=False)
    assert first.returncode == 0, first.stdout + first.stderr
    replay = subprocess.run(run, capture_output=True, text=True, cwd=alone, check=False)
    assert replay.returncode == verify.REPLAYED, replay.stdout
    assert "replayed" in replay.stdout
    expired = subprocess.run(
        [*run[:5], "--at", "2026-01-01T00:00:00Z", "--json"],
        capture_output=True,
        text=True,
        cwd=alone,
        check=False,
    )
    assert expired.returncode == verify.EXPIRED
    assert json.loads(expired.stdout)["result"] == "expired"


@pytest.mark.parametrize(
    "key", ["", "not a key", "A" * 43 + "!", "00" * 31, "AAAA", "/nonexistent/key/file"]
)
def test_a_bad_key_is_a_usage_error(keys: ConsentKeys, tmp_path: Path, key: str) -> None:
    path, _ = _write(tmp_path, keys)
    outcome = verify.run(str(path), key)
    assert outcome.status == verify.USAGE
