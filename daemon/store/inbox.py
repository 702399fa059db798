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
import logging
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

import zstandard

from .. import crypto
from ..doctypes import resolve
from ..errors import DoctypeError, InputError, IntegrityError, SelfdataError
from ..vault import Keys
from .codec import dumps
from .db import Database
from .documents import DocumentStore
from .series import Point, SeriesStore, check_point

__all__ = ["Inbox", "InboxBatch", "MergeReport"]

_AD = b"selfdata/inbox/v1"
#: An entry larger than this (uncompressed) is refused when put, and never inflated at
#: unlock: anyone holding the public key can write to the inbox, a zstd bomb included.
MAX_ENTRY = 64 * 1024 * 1024
log = logging.getLogger(__name__)


@dataclass
class InboxBatch:
    """What a locked-time writer hands over: documents by doctype, points by series."""

    documents: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    series: dict[str, tuple[str, list[Point]]] = field(default_factory=dict)

    def add_documents(self, doctype: str, docs: Iterable[dict[str, Any]]) -> None:
        resolved = resolve(doctype)
        checked = []
        for given in docs:
            # ids now, so that merging the same batch twice cannot duplicate
            doc = dict(given)
            doc.setdefault("_id", uuid.uuid4().hex)
            resolved.validate(doc)
            checked.append(doc)
        self.documents.setdefault(doctype, []).extend(checked)  # all or nothing

    def add_points(self, series: str, points: Iterable[Point], unit: str = "") -> None:
        checked = [check_point(p) for p in points]  # refused now, not at unlock
        self.series.setdefault(series, (unit, []))[1].extend(checked)

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
    #: Entries that could not be merged (tampered, or unreadable): left in the inbox,
    #: reported here and by ``fsck``, never merged half-read.
    failed: int = 0
    problems: list[str] = field(default_factory=list)


class Inbox:
    def __init__(self, db: Database, public_key: bytes) -> None:
        self._db = db
        self._public_key = public_key

    async def put(self, batch: InboxBatch) -> None:
        raw = dumps(batch.to_json())
        if len(raw) > MAX_ENTRY:
            raise InputError(f"an inbox batch holds at most {MAX_ENTRY} bytes: write smaller ones")
        key = crypto.random_key()
        body = crypto.aead_encrypt(key, zstandard.compress(raw), _AD)
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT INTO inbox(sealed_key, body) VALUES (?, ?)",
                (crypto.seal(self._public_key, key), body),
            )

    async def pending(self) -> int:
        row = await self._db.fetchone("SELECT count(*) FROM inbox")
        return int(row[0]) if row else 0

    async def merge(self, keys: Keys, documents: DocumentStore, series: SeriesStore) -> MergeReport:
        """Move every entry into the store, oldest first; one entry at a time in memory.

        An entry is deleted only once merged, and merging is idempotent, so a crash
        half-way merges the rest (again) next time without duplicating anything.
        """
        report = MergeReport()
        async for seq, data in self._entries(keys, report):
            try:
                # pairs, not a dict: a doctype with a schema holds a dict, so is unhashable
                docs_by_type = [(resolve(t), docs) for t, docs in data["documents"].items()]
                for doctype, docs in docs_by_type:
                    for doc in docs:
                        doctype.validate(doc)
                for doctype, docs in docs_by_type:
                    await documents.put_many(doctype, docs)
                    report.documents += len(docs)
                for name, entry in data["series"].items():
                    report.points += await series.write(name, entry["points"], unit=entry["unit"])
            except (DoctypeError, InputError, KeyError, TypeError, AttributeError) as err:
                self._failed(report, seq, f"cannot be merged: {_describe(err)}")
                continue
            async with self._db.transaction() as db:
                await db.execute("DELETE FROM inbox WHERE seq = ?", (seq,))
            report.batches += 1
        return report

    async def verify(self, keys: Keys) -> MergeReport:
        """Authenticate every pending entry without merging it (for ``fsck``)."""
        report = MergeReport()
        async for _ in self._entries(keys, report):
            report.batches += 1
        return report

    async def _entries(self, keys: Keys, report: MergeReport) -> AsyncIterator[tuple[int, Any]]:
        public, secret = keys.inbox_keypair()
        after = -1
        while row := await self._db.fetchone(
            "SELECT seq, sealed_key, body FROM inbox WHERE seq > ? ORDER BY seq LIMIT 1", (after,)
        ):
            after, sealed_key, body = row
            try:
                key = crypto.unseal(public, secret, sealed_key)
                data = json.loads(_inflate(crypto.aead_decrypt(key, body, _AD)))
            except IntegrityError as err:
                self._failed(report, after, str(err))
                continue
            except (zstandard.ZstdError, ValueError, RecursionError) as err:  # authentic, yet bad
                self._failed(report, after, f"is unreadable: {_describe(err)}")
                continue
            yield after, data

    @staticmethod
    def _failed(report: MergeReport, seq: int, problem: str) -> None:
        report.failed += 1
        report.problems.append(f"inbox entry {seq}: {problem}")
        log.warning("inbox entry %d left in the inbox: %s", seq, problem)


def _inflate(data: bytes) -> bytes:
    if zstandard.frame_content_size(data) > MAX_ENTRY:  # -1 when the frame does not say
        raise ValueError(f"an inbox entry inflates to more than {MAX_ENTRY} bytes")
    # max_output_size bounds frames that do not declare their size
    return zstandard.ZstdDecompressor().decompress(data, max_output_size=MAX_ENTRY)


def _describe(err: BaseException) -> str:
    if isinstance(err, SelfdataError):
        return err.message
    return f"{type(err).__name__}: {err}"[:200]  # library messages name positions, not data
