"""Check a signed answer from a selfdata box — without the box.

Usable three ways, all the same code:

* ``selfdata verify-answer STATEMENT --key PUBLIC_KEY``
* ``python -m selfdata.answers.verify STATEMENT --key PUBLIC_KEY``
* copied alone (this file needs only Python 3.11+ and PyNaCl):
  ``python verify.py STATEMENT --key PUBLIC_KEY``

The format (docs/answers.md) is simple enough to check in any language:

* the file is a JSON object ``{"statement": TEXT, "signature": B64, "key_id": HEX}``;
* ``signature`` is Ed25519 over the bytes ``"selfdata/answer/v1\\0"`` followed by
  ``TEXT`` encoded as UTF-8 — the signed text is carried as is, never re-serialised;
* ``TEXT`` is a JSON object: type, template, params, question, answer, period,
  issued_at, expires_at, nonce, requester, key_id.

Exit status: 0 valid; 1 invalid (forged, altered, signed by another key, malformed);
2 usage; 3 valid signature but expired (or not yet valid); 4 replayed (nonce already
seen in ``--seen``) or not the nonce you expected (``--nonce``).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import hashlib
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "EXPIRED",
    "INVALID",
    "REPLAYED",
    "SIGNED_PREFIX",
    "STATEMENT_TYPE",
    "VALID",
    "Outcome",
    "key_id_of",
    "main",
    "verify_statement",
]

SIGNED_PREFIX = b"selfdata/answer/v1\0"
STATEMENT_TYPE = "selfdata.answer/1"
VALID, INVALID, USAGE, EXPIRED, REPLAYED = 0, 1, 2, 3, 4
MAX_FILE = 64 * 1024
MAX_STATEMENT = 16 * 1024
_FIELDS = {
    "type": str,
    "template": str,
    "params": dict,
    "question": str,
    "answer": bool,
    "period": dict,
    "issued_at": str,
    "expires_at": str,
    "nonce": str,
    "requester": str,
    "key_id": str,
}
_NONCE = re.compile(r"^[A-Za-z0-9_-]{22,86}$")
# Clock skew we accept between the box and the verifier for issued_at in the future.
_SKEW = dt.timedelta(minutes=10)


@dataclass
class Outcome:
    """What the verifier concluded. ``status`` is the exit code."""

    status: int
    message: str
    statement: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return self.status == VALID

    def to_json(self) -> dict[str, Any]:
        names = {VALID: "valid", INVALID: "invalid", EXPIRED: "expired", REPLAYED: "replayed"}
        return {
            "result": names.get(self.status, "error"),
            "valid": self.valid,
            "message": self.message,
            "statement": self.statement or None,
        }


def key_id_of(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


def parse_key(text: str) -> bytes:
    """A box public key: 44 base64 characters (or 64 hex digits), or a file holding one."""
    given = text.strip()
    if len(given) not in (43, 44, 64) and os.path.isfile(given):
        given = Path(given).read_text(encoding="utf-8", errors="replace").strip()
    cleaned = "".join(given.split())
    try:
        if len(cleaned) == 64:
            raw = bytes.fromhex(cleaned)
        else:
            raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 32:
        raise ValueError("that is not a box public key: expected 44 base64 characters")
    return raw


def verify_statement(
    blob: bytes | str,
    public_key: bytes,
    *,
    now: dt.datetime | None = None,
    expected_nonce: str | None = None,
    seen: set[str] | None = None,
) -> Outcome:
    """Check ``blob`` (the statement file's bytes) against the box's ``public_key``."""
    try:
        import nacl.exceptions  # noqa: PLC0415 - the one dependency, named in errors
        import nacl.signing  # noqa: PLC0415
    except ImportError:  # pragma: no cover - PyNaCl is a dependency of selfdata
        return Outcome(INVALID, "PyNaCl is needed to check signatures: pip install pynacl")
    envelope = _envelope(blob)
    if isinstance(envelope, Outcome):
        return envelope
    text, signature, claimed_key = envelope
    if claimed_key is not None and claimed_key != key_id_of(public_key):
        return Outcome(
            INVALID,
            f"signed by another key (key id {claimed_key[:16]}), not the one you gave "
            f"({key_id_of(public_key)})",
        )
    try:
        nacl.signing.VerifyKey(public_key).verify(SIGNED_PREFIX + text.encode("utf-8"), signature)
    except (nacl.exceptions.CryptoError, ValueError, TypeError):
        return Outcome(INVALID, "the signature does not match: forged or altered statement")
    statement = _statement(text)
    if isinstance(statement, Outcome):
        return statement
    if statement["key_id"] != key_id_of(public_key):
        return Outcome(INVALID, "the statement names another key than the one that signed it")
    times = _times(statement)
    if isinstance(times, Outcome):
        return times
    issued, expires = times
    moment = now or dt.datetime.now(dt.UTC)
    if expected_nonce is not None and statement["nonce"] != expected_nonce:
        return Outcome(REPLAYED, "this answers another request (its nonce is not yours)", statement)
    if seen is not None and _seen_key(statement) in seen:
        return Outcome(REPLAYED, "replayed: this statement's nonce was already accepted", statement)
    if moment >= expires:
        return Outcome(EXPIRED, f"expired on {statement['expires_at']}", statement)
    if moment + _SKEW < issued:
        return Outcome(EXPIRED, f"not valid yet: issued on {statement['issued_at']}", statement)
    answer = "YES" if statement["answer"] else "NO"
    return Outcome(VALID, f"valid: {answer} — {statement['question']}", statement)


def _envelope(blob: bytes | str) -> tuple[str, bytes, str | None] | Outcome:
    if isinstance(blob, str):
        blob = blob.encode("utf-8", errors="surrogatepass")
    if len(blob) > MAX_FILE:
        return Outcome(INVALID, f"not a statement: larger than {MAX_FILE} bytes")
    try:
        data = json.loads(blob)
    except (ValueError, RecursionError):
        return Outcome(INVALID, "not a statement: the file is not JSON")
    if not isinstance(data, dict) or not isinstance(data.get("statement"), str):
        return Outcome(INVALID, "not a statement: no signed statement text in it")
    text, sig_text, claimed = data["statement"], data.get("signature"), data.get("key_id")
    if len(text) > MAX_STATEMENT:
        return Outcome(INVALID, "not a statement: the signed text is too long")
    try:
        signature = base64.b64decode(str(sig_text), validate=True)
    except (ValueError, binascii.Error):
        signature = b""
    if not isinstance(sig_text, str) or len(signature) != 64:
        return Outcome(INVALID, "the signature is missing or malformed")
    if claimed is not None and not (
        isinstance(claimed, str) and re.fullmatch(r"[0-9a-f]{16}", claimed)
    ):
        return Outcome(INVALID, "not a statement: its key id is malformed")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return Outcome(INVALID, "not a statement: the signed text is not valid Unicode")
    return text, signature, claimed


def _statement(text: str) -> dict[str, Any] | Outcome:
    try:
        statement = json.loads(text)
    except (ValueError, RecursionError):
        return Outcome(INVALID, "the signed text is not JSON")
    if not isinstance(statement, dict):
        return Outcome(INVALID, "the signed text is not a statement")
    if statement.get("type") != STATEMENT_TYPE:
        return Outcome(INVALID, f"unknown statement type {str(statement.get('type'))[:40]!r}")
    for name, kind in _FIELDS.items():
        if not isinstance(statement.get(name), kind):
            return Outcome(INVALID, f"the statement's {name!r} is missing or malformed")
    if not _NONCE.fullmatch(statement["nonce"]):
        return Outcome(INVALID, "the statement's nonce is malformed")
    return statement


def _times(statement: dict[str, Any]) -> tuple[dt.datetime, dt.datetime] | Outcome:
    try:
        issued = _instant(statement["issued_at"])
        expires = _instant(statement["expires_at"])
    except ValueError:
        return Outcome(INVALID, "the statement's dates are malformed")
    if expires <= issued:
        return Outcome(INVALID, "the statement expires before it was issued")
    return issued, expires


def _instant(text: str) -> dt.datetime:
    if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text):
        raise ValueError(text)
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)


def _seen_key(statement: dict[str, Any]) -> str:
    return f"{statement['key_id']}:{statement['nonce']}"


def load_seen(path: Path) -> set[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return set()
    return {line.strip() for line in lines if line.strip()}


def remember(path: Path, statement: dict[str, Any]) -> None:
    with path.open("a", encoding="utf-8") as file:
        file.write(_seen_key(statement) + "\n")


def run(
    statement_file: str,
    key: str,
    *,
    nonce: str | None = None,
    seen_file: str | None = None,
    at: str | None = None,
) -> Outcome:
    """The command, as a function: read the files, verify, remember an accepted nonce."""
    try:
        public_key = parse_key(key)
    except (ValueError, OSError) as err:
        return Outcome(USAGE, str(err))
    try:
        if statement_file == "-":
            blob = sys.stdin.buffer.read(MAX_FILE + 1)
        else:
            with open(statement_file, "rb") as file:
                blob = file.read(MAX_FILE + 1)
    except OSError as err:
        return Outcome(USAGE, f"cannot read {statement_file}: {err.strerror or err}")
    moment = None
    if at is not None:
        try:
            moment = dt.datetime.fromisoformat(at.replace("Z", "+00:00"))
        except ValueError:
            return Outcome(USAGE, f"--at: {at[:40]!r} is not an ISO 8601 time")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
    seen_path = Path(seen_file) if seen_file else None
    try:
        seen = load_seen(seen_path) if seen_path else None
    except (OSError, UnicodeDecodeError) as err:
        return Outcome(USAGE, f"cannot read {seen_file}: {err}")
    outcome = verify_statement(blob, public_key, now=moment, expected_nonce=nonce, seen=seen)
    if outcome.valid and seen_path is not None:
        try:
            remember(seen_path, outcome.statement)
        except OSError as err:
            return Outcome(USAGE, f"cannot record the nonce in {seen_file}: {err}")
    return outcome


def describe(outcome: Outcome) -> str:
    """Several lines for people: the verdict, then what the statement says."""
    lines = [outcome.message if outcome.status == VALID else f"REJECTED: {outcome.message}"]
    s = outcome.statement
    if s:
        period = s.get("period") or {}
        lines += [
            f"question:  {s.get('question')}",
            f"answer:    {'yes' if s.get('answer') else 'no'}",
            f"period:    {period.get('start')} to {period.get('end')}",
            f"requester: {s.get('requester')}",
            f"issued:    {s.get('issued_at')}   expires: {s.get('expires_at')}",
            f"nonce:     {s.get('nonce')}   key id: {s.get('key_id')}",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="verify-answer",
        description="Check an answer signed by a selfdata box, without the box.",
    )
    parser.add_argument("statement", help="the statement file (- for stdin)")
    parser.add_argument(
        "--key", required=True, help="the box's public key (base64) or a file with it"
    )
    parser.add_argument("--nonce", help="the nonce your request carried: refuse any other")
    parser.add_argument("--seen", help="file of accepted nonces: refuse a replay, record this one")
    parser.add_argument("--at", help="check validity at this time (ISO 8601) instead of now")
    parser.add_argument("--json", action="store_true", help="output JSON")
    args = parser.parse_args(argv)
    outcome = run(args.statement, args.key, nonce=args.nonce, seen_file=args.seen, at=args.at)
    if args.json:
        print(json.dumps(outcome.to_json(), ensure_ascii=False, indent=2))
    elif outcome.status == USAGE:
        print(f"Error: {outcome.message}", file=sys.stderr)
    else:
        print(describe(outcome))
    return outcome.status


if __name__ == "__main__":
    sys.exit(main())
