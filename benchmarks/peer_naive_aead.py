"""Peer: one AEAD call per row, then ``executemany`` — the naive encrypted ingest.

Usage: python peer_naive_aead.py FILE DB. Each line is parsed, re-encoded as canonical
JSON and sealed with XChaCha20-Poly1305 (random nonce, libsodium via PyNaCl's
bindings, as selfdata does); rows go in with one ``executemany`` in one transaction.
No ids, no validation, no idempotence: context for what per-row crypto costs.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Iterator

import nacl.bindings as sodium

_NONCE = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def rows(path: str, key: bytes) -> Iterator[tuple[bytes]]:
    seal = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            plain = _encode(json.loads(line)).encode("utf-8")
            nonce = os.urandom(_NONCE)
            yield (nonce + seal(plain, b"ops", nonce, key),)


def main(path: str, db_path: str) -> None:
    key = os.urandom(32)
    db = sqlite3.connect(db_path)
    db.execute("CREATE TABLE ops (seq INTEGER PRIMARY KEY, body BLOB NOT NULL)")
    with db:
        db.executemany("INSERT INTO ops (body) VALUES (?)", rows(path, key))
    db.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
