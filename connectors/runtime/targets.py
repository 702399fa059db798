"""Where a run's writes go, once the daemon has checked them against the manifest.

:class:`BoxTarget` writes into the box: straight into the store while it is unlocked,
into the sealed inbox while it is locked (only for connectors whose manifest says
``runs_locked``: they hold no secret). Documents are checked against their doctype's
schema one by one: a bad one is reported and skipped, the others are stored.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from ...box import Box
from ...doctypes import resolve
from ...errors import Locked, NotFound, SelfdataError
from ...store.inbox import InboxBatch
from ...store.series import check_point
from .process import Refused

__all__ = ["BoxTarget", "NoTarget", "Target"]

Doc = dict[str, Any]


class Target(Protocol):
    async def save(self, doctype: str, docs: list[Doc]) -> tuple[int, list[str]]:
        """Store what is valid; return how many were stored and what was wrong."""
        ...

    async def save_series(self, name: str, points: list[tuple[int, float]], unit: str) -> int: ...

    async def save_file(
        self, name: str, chunks: AsyncIterator[bytes], mime: str, metadata: Doc
    ) -> str: ...

    async def stored(self, doctype: str, doc_id: str) -> Doc | None: ...


class NoTarget:
    """For probes: nothing may be written."""

    async def save(self, doctype: str, docs: list[Doc]) -> tuple[int, list[str]]:
        raise Refused("a probe writes nothing")

    async def save_series(self, name: str, points: list[tuple[int, float]], unit: str) -> int:
        raise Refused("a probe writes nothing")

    async def save_file(
        self, name: str, chunks: AsyncIterator[bytes], mime: str, metadata: Doc
    ) -> str:
        raise Refused("a probe writes nothing")

    async def stored(self, doctype: str, doc_id: str) -> Doc | None:
        raise Refused("a probe reads nothing")


class BoxTarget:
    def __init__(
        self, box: Box, *, may_use_inbox: bool, files: dict[str, str] | None = None
    ) -> None:
        self._box = box
        self._inbox_ok = may_use_inbox
        #: sha256 → file id of the files this account stored (content deduplication)
        self.files: dict[str, str] = files if files is not None else {}

    def _locked(self) -> bool:
        if not self._box.locked:
            return False
        if not self._inbox_ok:
            raise Locked("the box was locked during the run")
        return True

    async def save(self, doctype: str, docs: list[Doc]) -> tuple[int, list[str]]:
        resolved = resolve(doctype)
        good: dict[str, Doc] = {}
        problems: list[str] = []
        for given in docs:
            if not isinstance(given, dict):
                problems.append("a document is not a JSON object")
                continue
            doc_id = given.get("_id")
            if not isinstance(doc_id, str) or not 0 < len(doc_id) <= 256:
                problems.append(
                    "a document has no _id (1-256 characters): re-runs would duplicate it"
                )
                continue
            doc = {k: v for k, v in given.items() if k != "_rev"}
            try:
                resolved.validate(doc)
            except SelfdataError as err:
                problems.append(f"{doc_id[:64]}: {err.message}")
                continue
            good[doc_id] = doc  # the last of two with one id wins, as a re-run would
        if good:
            if self._locked():
                batch = InboxBatch()
                batch.add_documents(doctype, good.values())
                await self._box.inbox.put(batch)
            else:
                await self._box.documents.put_many(resolved, list(good.values()))
        return len(good), problems

    async def save_series(self, name: str, points: list[tuple[int, float]], unit: str) -> int:
        checked = [check_point(p) for p in points]
        if self._locked():
            batch = InboxBatch()
            batch.add_points(name, checked, unit)
            await self._box.inbox.put(batch)
            return len(checked)
        return await self._box.series.write(name, checked, unit)

    async def save_file(
        self, name: str, chunks: AsyncIterator[bytes], mime: str, metadata: Doc
    ) -> str:
        if self._box.locked:
            raise Refused("files cannot be stored while the box is locked")
        files = self._box.files
        extra = {"metadata": metadata} if metadata else None
        doc = await files.save(name, chunks, mime=mime, extra=extra)
        known = self.files.get(doc["sha256"])
        if known and known != doc["_id"]:
            try:
                await files.stat(known)
            except NotFound:
                pass
            else:  # the same bytes again: keep the first copy
                await files.delete(doc["_id"])
                return known
        self.files[doc["sha256"]] = doc["_id"]
        return str(doc["_id"])

    async def stored(self, doctype: str, doc_id: str) -> Doc | None:
        if self._box.locked:
            return None
        try:
            return await self._box.documents.get(doctype, doc_id)
        except NotFound:
            return None
