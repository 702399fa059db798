"""Reading the owner's data for pages: bounded, and only what a page needs."""

from __future__ import annotations

from typing import Any

from ..box import Box
from ..store import FILES_DOCTYPE

__all__ = ["MAX_SCAN", "all_documents", "doctype_exists", "series_named"]

#: Apps read at most this many documents of a doctype per page (a household has fewer).
MAX_SCAN = 50_000


async def doctype_exists(box: Box, doctype: str) -> bool:
    return await box.documents.exists(doctype)


async def all_documents(box: Box, doctype: str, limit: int = MAX_SCAN) -> list[dict[str, Any]]:
    if not await box.documents.exists(doctype):
        return []
    found: list[dict[str, Any]] = []
    async for doc in box.documents.iterate(doctype):
        found.append(doc)
        if len(found) >= limit:
            break
    return found


async def series_named(box: Box) -> dict[str, Any]:
    return {info.name: info for info in await box.series.list()}


FILES = FILES_DOCTYPE
