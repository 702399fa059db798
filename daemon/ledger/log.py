"""The consent ledger on disk: append, read back in plain words, verify.

Rows are ``(seq, body, hash, sig)``: ``body`` is the entry (time, kind, details) sealed
with XChaCha20-Poly1305 and bound to its seq; ``hash`` chains it to the entry before
(:mod:`selfdata.ledger.chain`); ``sig`` is the box's Ed25519 signature of (seq, hash).
The signed head — last seq, its hash, the signature and the public key — is in the
``meta`` table, written in the same transaction as the entry.

While the box is locked an entry cannot be signed: it is sealed to the vault's public
key into ``ledger_queue`` and chained at the next ledger operation after unlocking.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from collections.abc import AsyncGenerator, Mapping
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any, cast

import aiosqlite

from .. import crypto
from ..box import Box
from ..errors import InputError, IntegrityError, Locked
from ..store.codec import ad_for, dumps, open_json, seal_json
from .chain import ChainChecker, Head, Row, Verdict, entry_hash, entry_message, head_message
from .keys import ConsentKeys, key_id, public_key_text
from .words import describe

__all__ = ["MAX_DETAILS", "Entry", "Ledger", "check_kind", "parse_witness"]

log = logging.getLogger(__name__)

MAX_DETAILS = 64 * 1024
MAX_QUEUED = 1000
_HEAD_META = "ledger.head"
_KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")


@dataclass(frozen=True)
class Entry:
    seq: int
    time: int
    kind: str
    details: dict[str, Any]
    queued: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time": self.time,
            "kind": self.kind,
            "summary": describe(self.kind, self.details, queued=self.queued),
            "details": self.details,
            "queued": self.queued,
        }


def parse_witness(text: str) -> tuple[int, bytes]:
    """``SEQ:HASH`` as ``audit verify`` prints the head, e.g. ``12:3fa4…`` (64 hex digits)."""
    seq, sep, digest = str(text).strip().partition(":")
    try:
        value = (int(seq), bytes.fromhex(digest))
    except ValueError:
        value = (0, b"")
    if not sep or value[0] < 1 or len(value[1]) != 32:
        raise InputError("a noted head is SEQ:HASH, as `selfdata audit verify --json` shows it")
    return value


def check_kind(kind: object) -> str:
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        raise InputError(
            "a ledger kind is a short lower-case word such as export, answer or contribution"
        )
    return kind


def _clean_details(details: object) -> dict[str, Any]:
    if not isinstance(details, Mapping):
        raise InputError("ledger details must be a JSON object")
    if not _string_keys(details):
        raise InputError("ledger details must be plain JSON: every key a string")
    try:
        encoded = dumps(dict(details))
    except (TypeError, ValueError, RecursionError) as err:
        raise InputError(f"ledger details must be plain JSON: {type(err).__name__}") from None
    if len(encoded) > MAX_DETAILS:
        raise InputError(f"ledger details are limited to {MAX_DETAILS} bytes")
    value: dict[str, Any] = json.loads(encoded)
    return value


def _string_keys(value: object, depth: int = 0) -> bool:
    if depth > 32:
        return False
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _string_keys(v, depth + 1) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_string_keys(v, depth + 1) for v in value)
    return True


class Ledger:
    """The ledger of one box. Cheap to make: it holds no state but the box."""

    def __init__(self, box: Box) -> None:
        self._box = box
        self._db = box.db

    @property
    def keys(self) -> ConsentKeys:
        return ConsentKeys.of(self._box.keys)  # raises Locked / NotInitialized

    # -- writing ------------------------------------------------------------------------------

    async def append(self, kind: str, details: Mapping[str, Any]) -> int | None:
        """Record ``kind`` with ``details``; the new seq, or None when queued while locked."""
        kind, clean = check_kind(kind), _clean_details(details)
        self._box.header  # noqa: B018  (NotInitialized)
        if self._box.locked:
            await self._queue(kind, clean)
            return None
        async with self._db.transaction() as conn:
            await self.drain_in(conn)
            return await self.append_in(conn, kind, clean)

    async def append_in(
        self,
        conn: aiosqlite.Connection,
        kind: str,
        details: Mapping[str, Any],
        *,
        at: int | None = None,
        queued: bool = False,
    ) -> int:
        """Append inside the caller's open transaction (so a state change and its record
        commit together)."""
        keys = self.keys
        kind, clean = check_kind(kind), _clean_details(details)
        plain: dict[str, Any] = {"time": int(time.time()) if at is None else at, "kind": kind}
        plain["details"] = clean
        if queued:
            plain["queued"] = True
        async with conn.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1") as cur:
            last = await cur.fetchone()
        seq = 1 if last is None else int(last[0]) + 1
        prev = bytes(32) if last is None else bytes(last[1])
        body = seal_json(keys.entries, plain, ad_for(b"ledger", seq))
        digest = entry_hash(prev, seq, body)
        sig = keys.sign(entry_message(seq, digest))
        await conn.execute(
            "INSERT INTO ledger(seq, body, hash, sig) VALUES (?, ?, ?, ?)", (seq, body, digest, sig)
        )
        head = {
            "seq": seq,
            "hash": digest.hex(),
            "sig": base64.b64encode(keys.sign(head_message(seq, digest))).decode(),
            "public_key": public_key_text(keys.public_key),
        }
        await conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (_HEAD_META, json.dumps(head, sort_keys=True)),
        )
        return seq

    async def _queue(self, kind: str, details: dict[str, Any]) -> None:
        sealed = crypto.seal(
            self._box.header.inbox_public_key,
            dumps({"time": int(time.time()), "kind": kind, "details": details}),
        )
        async with self._db.transaction() as conn:
            async with conn.execute("SELECT count(*) FROM ledger_queue") as cur:
                row = await cur.fetchone()
            if row is not None and int(row[0]) >= MAX_QUEUED:
                raise InputError(
                    f"{MAX_QUEUED} ledger entries already wait for the box to be unlocked"
                )
            await conn.execute("INSERT INTO ledger_queue(sealed) VALUES (?)", (sealed,))

    async def drain(self) -> int:
        """Chain the entries recorded while locked (the box must be unlocked)."""
        self.keys  # noqa: B018  (Locked)
        if not await self._db.fetchone("SELECT 1 FROM ledger_queue LIMIT 1"):
            return 0
        async with self._db.transaction() as conn:
            return await self.drain_in(conn)

    async def drain_in(self, conn: aiosqlite.Connection) -> int:
        async with conn.execute("SELECT seq, sealed FROM ledger_queue ORDER BY seq") as cur:
            rows = list(await cur.fetchall())
        if not rows:
            return 0
        public, secret = self._box.keys.inbox_keypair()
        dropped = 0
        for _, sealed in rows:
            try:
                entry = json.loads(crypto.unseal(public, secret, bytes(sealed)))
                at = entry["time"]
                if not isinstance(at, int) or isinstance(at, bool):
                    raise TypeError("time")
                await self.append_in(conn, entry["kind"], entry["details"], at=at, queued=True)
            except (IntegrityError, InputError, ValueError, KeyError, TypeError):
                dropped += 1
        if dropped:
            log.warning("%d queued ledger entries could not be read and were dropped", dropped)
            await self.append_in(conn, "ledger", {"dropped": dropped})
        await conn.execute("DELETE FROM ledger_queue")
        return len(rows)

    # -- reading ------------------------------------------------------------------------------

    async def entries(self, limit: int = 50, before: int | None = None) -> list[Entry]:
        """Newest first: up to ``limit`` entries with a seq below ``before``."""
        await self.drain()
        keys = self.keys
        rows = await self._db.fetchall(
            "SELECT seq, body FROM ledger WHERE seq < ? ORDER BY seq DESC LIMIT ?",
            (before if before is not None else 2**62, limit),
        )
        return [self._open(keys, int(seq), body) for seq, body in rows]

    async def count(self) -> int:
        row = await self._db.fetchone("SELECT count(*) FROM ledger")
        return int(row[0]) if row else 0

    def _open(self, keys: ConsentKeys, seq: int, body: bytes) -> Entry:
        plain = open_json(keys.entries, body, ad_for(b"ledger", seq))
        try:
            return Entry(
                seq=seq,
                time=int(plain["time"]),
                kind=str(plain["kind"]),
                details=dict(plain["details"]),
                queued=bool(plain.get("queued", False)),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise IntegrityError(f"ledger entry {seq} is unreadable") from err

    async def head(self) -> Head | None:
        text = await self._db.get_meta(_HEAD_META)
        if text is None:
            return None
        try:
            data = json.loads(text)
            return Head(
                seq=int(data["seq"]),
                hash=bytes.fromhex(data["hash"]),
                sig=base64.b64decode(data["sig"], validate=True),
                public_key=base64.b64decode(data["public_key"], validate=True),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise IntegrityError("the ledger's head is unreadable") from err

    async def public_key(self) -> bytes | None:
        """The box's public key: derived when unlocked, else as the head stored it."""
        if not self._box.locked:
            return self.keys.public_key
        head = await self.head()
        return head.public_key if head else None

    async def key_info(self) -> dict[str, Any]:
        """The public key: derived when unlocked; while locked, as the signed head holds it."""
        public = await self.public_key()
        if public is None:
            self._box.header  # noqa: B018  (NotInitialized first)
            raise Locked("the box is locked and its ledger is empty: unlock it to see its key")
        return {
            "public_key": public_key_text(public),
            "key_id": key_id(public),
            "algorithm": "Ed25519",
        }

    # -- verifying ----------------------------------------------------------------------------

    async def verify(
        self, pinned: bytes | None = None, witness: tuple[int, bytes] | None = None
    ) -> Verdict:
        """Check every entry and the signed head.

        Unlocked: with the key derived from the master key, and every entry decrypted.
        Locked: with the public key stored in the head (or ``pinned``, the key the owner
        published), which proves the chain was not changed by anyone without the key.
        ``witness`` is a head the owner noted earlier (seq, hash): it must still be in the
        chain, which catches a rollback to an older copy of the ledger.
        """
        verdict = Verdict(deep=not self._box.locked)
        if verdict.deep:
            await self.drain()
        row = await self._db.fetchone("SELECT count(*) FROM ledger_queue")
        verdict.queued = int(row[0]) if row else 0
        try:
            head = await self.head()
        except IntegrityError as err:
            return verdict.fail(1, str(err))
        stored = head.public_key if head is not None else None
        if verdict.deep:
            keys = self.keys
            public = keys.public_key
            if stored is not None and stored != public:
                return verdict.fail(1, "the ledger's head names another public key than the box's")
            if pinned is not None and pinned != public:
                return verdict.fail(1, "the box's key is not the one you gave")

            def open_body(seq: int, body: bytes) -> bool:
                try:
                    self._open(keys, seq, body)
                except IntegrityError:
                    return False
                return True

            checker = ChainChecker(public, verdict, open_body, witness)
        else:
            public = pinned or stored or b""
            if pinned is not None and stored is not None and stored != pinned:
                return verdict.fail(
                    1, "the ledger is signed with another key than the one you gave"
                )
            if not public:
                if await self.count():
                    return verdict.fail(
                        1, "the ledger's signed head (with its public key) is missing"
                    )
                verdict.notes.append("no entry yet: nothing to check")
            checker = ChainChecker(public, verdict, None, witness)
        sql = "SELECT seq, body, hash, sig FROM ledger ORDER BY seq"
        batches = cast(AsyncGenerator[list[Any], None], self._db.iterate(sql))
        async with aclosing(batches):  # closed even on a break
            async for rows in batches:
                if not all(checker.feed(Row(*row)) for row in rows):
                    break
        return checker.finish(head)
