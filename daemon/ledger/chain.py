"""The ledger's chain: what is hashed and signed, and how a chain is checked.

Pure functions over bytes, so that the format is easy to reimplement (docs/ledger.md)::

    hash_0   = 32 zero bytes
    hash_i   = BLAKE2b-256( hash_{i-1} || seq_i as 8 bytes big-endian || body_i )
    sig_i    = Ed25519( "selfdata/ledger/entry/v1\\0" || seq_i (8 bytes BE) || hash_i )
    head sig = Ed25519( "selfdata/ledger/head/v1\\0"  || seq_n (8 bytes BE) || hash_n )

``body_i`` is the entry's *ciphertext* (nonce, XChaCha20-Poly1305 ciphertext and tag):
the chain can be checked while the box is locked, without reading any entry.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .keys import verify_signature

__all__ = [
    "GENESIS",
    "ChainChecker",
    "Head",
    "Row",
    "Verdict",
    "entry_hash",
    "entry_message",
    "head_message",
]

GENESIS = bytes(32)
_ENTRY = b"selfdata/ledger/entry/v1\0"
_HEAD = b"selfdata/ledger/head/v1\0"


@dataclass(frozen=True)
class Row:
    """One stored entry, as it sits on disk (columns may hold anything after tampering)."""

    seq: object
    body: object
    hash: object
    sig: object


@dataclass(frozen=True)
class Head:
    seq: int
    hash: bytes
    sig: bytes
    public_key: bytes


@dataclass
class Verdict:
    """What checking a ledger found. ``broken_at`` is the first seq that does not hold."""

    entries: int = 0
    broken_at: int | None = None
    problem: str | None = None
    deep: bool = False
    head_seq: int = 0
    head_hash: str = ""
    queued: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.broken_at is None and self.problem is None

    def fail(self, seq: int, problem: str) -> Verdict:
        if self.ok:
            self.broken_at, self.problem = seq, problem
        return self

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "broken_at": self.broken_at,
            "problem": self.problem,
            "deep": self.deep,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "queued": self.queued,
            "notes": self.notes,
        }


def entry_hash(prev: bytes, seq: int, body: bytes) -> bytes:
    return hashlib.blake2b(prev + struct.pack(">Q", seq) + body, digest_size=32).digest()


def entry_message(seq: int, digest: bytes) -> bytes:
    return _ENTRY + struct.pack(">Q", seq) + digest


def head_message(seq: int, digest: bytes) -> bytes:
    return _HEAD + struct.pack(">Q", seq) + digest


class ChainChecker:
    """Walks stored rows in seq order, then the head; records the first seq that breaks.

    ``open_body(seq, body)`` (when unlocked) authenticates each entry's ciphertext and
    returns False when it fails. An edited, inserted, deleted or reordered entry breaks
    the hash chain at its seq; a chain rebuilt after an edit breaks the signatures,
    which need the box's key; removed last entries no longer match the signed head.
    """

    def __init__(
        self,
        public_key: bytes,
        verdict: Verdict,
        open_body: Callable[[int, bytes], bool] | None = None,
        witness: tuple[int, bytes] | None = None,
    ) -> None:
        self._public_key = public_key
        self.verdict = verdict
        self._open_body = open_body
        self._witness = witness  # (seq, hash) the owner noted earlier: must still be there
        self._prev = GENESIS
        self._expected = 1

    def feed(self, row: Row) -> bool:
        """Check one more row; False once the chain is broken (stop feeding)."""
        verdict, expected = self.verdict, self._expected
        if not verdict.ok:
            return False
        seq, body, digest, sig = row.seq, row.body, row.hash, row.sig
        if not isinstance(seq, int) or seq != expected:
            verdict.fail(expected, _gap(expected, seq))
        elif not isinstance(body, bytes) or not isinstance(digest, bytes):
            verdict.fail(seq, f"entry {seq} is malformed")
        elif entry_hash(self._prev, seq, body) != digest:
            verdict.fail(
                seq, f"entry {seq} was changed, or an entry before it was removed or moved"
            )
        elif not isinstance(sig, bytes) or not verify_signature(
            self._public_key, entry_message(seq, digest), sig
        ):
            verdict.fail(seq, f"entry {seq} does not carry the box's signature")
        elif self._open_body is not None and not self._open_body(seq, body):
            verdict.fail(seq, f"entry {seq} failed authentication")
        elif self._witness is not None and self._witness[0] == seq and self._witness[1] != digest:
            verdict.fail(seq, f"entry {seq} is not the one you noted: the ledger was rewritten")
        else:
            verdict.entries += 1
            self._prev, self._expected = digest, expected + 1
        return verdict.ok

    def finish(self, head: Head | None) -> Verdict:
        verdict, last = self.verdict, self._expected - 1
        if not verdict.ok:
            return verdict
        if self._witness is not None and self._witness[0] > last:
            seq = self._witness[0]
            return verdict.fail(
                last + 1, f"entry {seq}, which you noted, is gone: the ledger was rolled back"
            )
        if head is None:
            return verdict.fail(last, "the ledger's signed head is missing") if last else verdict
        verdict.head_seq, verdict.head_hash = head.seq, head.hash.hex()
        if not verify_signature(self._public_key, head_message(head.seq, head.hash), head.sig):
            return verdict.fail(
                max(1, min(head.seq, last + 1)), "the ledger's head is not signed by the box"
            )
        if head.seq > last:
            if head.seq == last + 1:
                return verdict.fail(last + 1, f"entry {last + 1}, the last one, was removed")
            return verdict.fail(last + 1, f"entries {last + 1} to {head.seq} were removed")
        if head.seq < last:
            return verdict.fail(
                head.seq + 1, f"entries after {head.seq} were added behind its back"
            )
        if head.hash != self._prev:
            return verdict.fail(last, f"entry {last} does not match the signed head")
        return verdict


def _gap(expected: int, seq: object) -> str:
    if isinstance(seq, int) and seq > expected:
        if seq == expected + 1:
            return f"entry {expected} was removed"
        return f"entries {expected} to {seq - 1} were removed"
    return f"entry {expected} is out of order"
