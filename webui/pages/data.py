"""The data browser: doctypes, a searchable and filterable page of documents, one document.

Searching decrypts documents page by page in write order and keeps those that match,
scanning at most ``SCAN_LIMIT`` documents per request; the "next" link carries on from
where the scan stopped, so paging through a large doctype stays bounded on a Pi.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ...api.keys import BOX
from ...api.requests import query_int
from ...doctypes import builtin_doctypes, check_name
from ...errors import UnknownDoctype
from ...store import FILES_DOCTYPE
from ..render import page

__all__ = ["data_page", "doctype_page", "document_page"]

SCAN_LIMIT = 5_000
PAGE_SIZES = (25, 50, 100)
_PREFERRED = (
    "date",
    "label",
    "amount",
    "currency",
    "vendor",
    "name",
    "energy",
    "meterId",
    "supplier",
    "type",
    "title",
    "mime",
    "size",
)


async def data_page(request: web.Request) -> web.StreamResponse:
    box = request.app[BOX]
    doctypes = await box.documents.doctypes()
    known = builtin_doctypes()
    rows = [
        (name, known[name].title if name in known else name, count)
        for name, count in doctypes.items()
    ]
    return page(
        request,
        "data.html",
        {"rows": rows, "series": await box.series.list()},
        title="Your data",
    )


async def _doctype(request: web.Request) -> str:
    name = check_name(request.match_info["doctype"])
    if not await request.app[BOX].documents.exists(name):
        raise UnknownDoctype(f"there is no {name} in this box yet")
    return name


def _columns(name: str, docs: list[dict[str, Any]]) -> list[str]:
    schema = builtin_doctypes()[name].schema if name in builtin_doctypes() else None
    keys: dict[str, None] = {}
    for doc in docs[:50]:
        keys.update(dict.fromkeys(k for k in doc if not k.startswith("_")))
    if schema:
        keys.update(dict.fromkeys(k for k in schema.get("properties", {}) if not k.startswith("_")))
    ordered = [k for k in _PREFERRED if k in keys] + [k for k in keys if k not in _PREFERRED]
    present = [k for k in ordered if any(k in d for d in docs)] or ordered
    return present[:5]


def _matches(doc: dict[str, Any], q: str, field: str, value: str) -> bool:
    if field:
        cell = doc.get(field)
        if cell is None or value.lower() not in _text(cell).lower():
            return False
    return not q or q.lower() in json.dumps(doc, ensure_ascii=False).lower()


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


async def doctype_page(request: web.Request) -> web.StreamResponse:
    box = request.app[BOX]
    name = await _doctype(request)
    limit = query_int(request, "limit", 25, 1, 100) or 25
    cursor = query_int(request, "cursor", 0, 0, 2**62) or 0
    q = request.query.get("q", "").strip()[:200]
    field = request.query.get("field", "").strip()[:100]
    value = request.query.get("value", "").strip()[:200]
    found: list[dict[str, Any]] = []
    scanned = 0
    following: int | None = cursor
    # Filtered: ask for only as many as are still missing, so the cursor never skips a
    # match that could not be shown; the scan stops after SCAN_LIMIT documents.
    while following is not None and len(found) < limit and scanned < SCAN_LIMIT:
        docs, following = await box.documents.page(name, after=following, limit=limit - len(found))
        scanned += len(docs)
        found.extend(d for d in docs if _matches(d, q, field, value))
    total = await box.documents.count(name)
    columns = _columns(name, found)
    return page(
        request,
        "doctype.html",
        {
            "name": name,
            "title": builtin_doctypes()[name].title if name in builtin_doctypes() else name,
            "docs": found,
            "columns": columns,
            "cells": [[_cell(d.get(c)) for c in columns] for d in found],
            "total": total,
            "next": following,
            "cursor": cursor,
            "q": q,
            "field": field,
            "value": value,
            "limit": limit,
            "page_sizes": PAGE_SIZES,
            "scanned_out": following is not None and scanned >= SCAN_LIMIT,
            "is_files": name == FILES_DOCTYPE,
        },
        title=name,
    )


def _cell(value: object) -> str:
    if value is None:
        return ""
    text = _text(value)
    return text if len(text) <= 80 else text[:79] + "…"


async def document_page(request: web.Request) -> web.StreamResponse:
    box = request.app[BOX]
    name = await _doctype(request)
    doc = await box.documents.get(name, request.match_info["doc_id"])
    fields = [(k, _text(v)) for k, v in doc.items() if not k.startswith("_")]
    return page(
        request,
        "document.html",
        {
            "name": name,
            "doc": doc,
            "fields": fields,
            "pretty": json.dumps(doc, ensure_ascii=False, indent=2, sort_keys=True),
            "is_file": name == FILES_DOCTYPE and doc.get("type") == "file",
        },
        title=name,
    )
