"""The sealed inbox: writes that arrive while the box is locked.

A source that needs no secret (the Linky TIC serial port, a drop folder, open data) can
keep writing after a reboot, before the owner unlocks. Each batch is encrypted with a
fresh key, and that key is sealed (``crypto_box_seal``) to the vault's X25519 public
key, which is stored in clear. Only the master key can open it: a locked box can add
to the inbox but never read it back. At unlock the inbox is merged into the store and
emptied. Merging is idempotent (documents carry ids; series points overwrite by time),
so a crash mid-merge just merges the rest next time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import zstandard

from .. import crypto
from ..doctypes import resolve
from ..vault import Keys
from .codec import dumps
from .db import Database
from .documents import DocumentStore
from .series import Point, SeriesStore

__all__ = ["Inbox", "InboxBatch", "MergeReport"]

_AD = b"selfdata/inbox/v1"


@dataclass
class InboxBatch:
    """What a locked-time writer hands over: documents by doctype, points by series."""

    documents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    series: dict[str, tuple[str, list[Point]]] = field(default_factory=dict)

    def add_documents(self, doctype: str, docs: Iterable[dict[str, Any]]) -> None:
        resolved = resolve(doctype)
        target = self.documents.setdefault(doctype, [])
        for doc in docs:
            # ids now, so that merging the same batch twice cannot duplicate
            doc = dict(doc)
            doc.setdefault("_id", uuid.uuid4().hex)
            resolved.validate(doc)
            target.append(doc)

    def add_points(self, series: str, points: Iterable[Point], unit: str = "") -> None:
        self.series.setdefault(series, (unit, []))[1].extend(points)

    def to_json(self) -> dict[str, Any]:
        return {
            "documents": self.documents,
            "series": {k: {"unit": u, "points": p} for k, (u, p) in self.series.items()},
        }


@dataclass
class MergeReport:
    batches: int = 0
    documents: int = 0
    points: int = 0


class Inbox:
    def __init__(self, db: Database, public_key: bytes) -> None:
        self._db = db
        self._public_key = public_key

    async def put(self, batch: InboxBatch) -> None:
        key = crypto.random_key()
        body = crypto.aead_encrypt(key, zstandard.compress(dumps(batch.to_json())), _AD)
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO inbox(sealed_key, body) VALUES (?, ?)",
                (crypto.seal(self._public_key, key), body),
            )

    async def pending(self) -> int:
        row = await self._db.fetchone("SELECT count(*) FROM inbox")
        return int(row[0]) if row else 0

    async def merge(self, keys: Keys, documents: DocumentStore, series: SeriesStore) -> MergeReport:
        public, secret = keys.inbox_keypair()
        report = MergeReport()
        for seq, sealed_key, body in await self._db.fetchall(
            "SELECT seq, sealed_key, body FROM inbox ORDER BY seq"
        ):
            key = crypto.unseal(public, secret, sealed_key)
            data = json.loads(zstandard.decompress(crypto.aead_decrypt(key, body, _AD)))
            for doctype, docs in data["documents"].items():
                await documents.put_many(resolve(doctype), docs)
                report.documents += len(docs)
            for name, entry in data["series"].items():
                report.points += await series.write(name, entry["points"], unit=entry["unit"])
            async with self._db.transaction() as db:
                await db.execute("DELETE FROM inbox WHERE seq = ?", (seq,))
            report.batches += 1
        return report
