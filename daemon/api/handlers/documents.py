"""Doctypes and their documents: list, read, write, delete, import and export."""

from __future__ import annotations

import os
from typing import Any

from aiohttp import web

from ...archive import doctype_lines
from ...archive.events import record_doctype_export
from ...doctypes import builtin_doctypes, check_name, resolve
from ...errors import InputError, UnknownDoctype
from ...importers import FORMATS, OpenFile, import_records
from ..requests import box_of, handed_file, json_body, query_int, reply

__all__ = [
    "create_document",
    "delete_document",
    "export_documents",
    "get_doctype",
    "get_document",
    "import_documents",
    "list_doctypes",
    "list_documents",
    "put_document",
]

_DOCUMENT = {"type": "object"}


async def list_doctypes(request: web.Request) -> web.Response:
    box = box_of(request)
    counts = await box.documents.doctypes()
    names = sorted(set(counts) | set(builtin_doctypes()))
    return reply(
        {
            "doctypes": [
                {
                    "name": name,
                    "title": resolve(name).title,
                    "builtin": name in builtin_doctypes(),
                    "count": counts.get(name, 0),
                }
                for name in names
            ]
        }
    )


async def get_doctype(request: web.Request) -> web.Response:
    box = box_of(request)
    doctype = await _existing_doctype(request)
    return reply(
        {
            "name": doctype.name,
            "title": doctype.title,
            "builtin": doctype.builtin,
            "count": await box.documents.count(doctype.name),
            "schema": doctype.schema,
        }
    )


async def list_documents(request: web.Request) -> web.Response:
    doctype = await _existing_doctype(request)
    limit = query_int(request, "limit", 100, 1, 1000)
    cursor = query_int(request, "cursor", 0, 0, 2**62)
    docs, following = await box_of(request).documents.page(
        doctype.name, after=cursor or 0, limit=limit or 100
    )
    return reply({"documents": docs, "next": following})


async def get_document(request: web.Request) -> web.Response:
    doctype = await _existing_doctype(request)
    return reply(await box_of(request).documents.get(doctype.name, request.match_info["doc_id"]))


async def create_document(request: web.Request) -> web.Response:
    box = box_of(request)
    doctype = resolve(request.match_info["doctype"])
    box.documents  # noqa: B018  (locked: say so before reading the body)
    doc = await json_body(request, _DOCUMENT)
    if "_id" in doc and not (isinstance(doc["_id"], str) and 0 < len(doc["_id"]) <= 256):
        raise InputError("_id must be a string of 1 to 256 characters")
    result = await box.documents.create(doctype, doc)
    return reply({"_id": result.id, "_rev": result.rev}, status=201)


async def put_document(request: web.Request) -> web.Response:
    box = box_of(request)
    doctype = resolve(request.match_info["doctype"])
    box.documents  # noqa: B018
    doc = await json_body(request, _DOCUMENT)
    rev = doc.get("_rev") or request.headers.get("If-Match", "").strip('"') or None
    if rev is not None and not isinstance(rev, str):
        raise InputError("_rev must be a string")
    result = await box.documents.update(doctype, request.match_info["doc_id"], doc, rev)
    return reply({"_id": result.id, "_rev": result.rev}, status=201 if result.created else 200)


async def delete_document(request: web.Request) -> web.Response:
    doctype = await _existing_doctype(request)
    await box_of(request).documents.delete(
        doctype.name, request.match_info["doc_id"], request.query.get("rev")
    )
    return reply({"deleted": True})


async def import_documents(request: web.Request) -> web.Response:
    """Stream a JSON Lines or CSV body (or a file the CLI handed over) into a doctype
    (created if it is a new user doctype)."""
    box = box_of(request)
    doctype = resolve(request.match_info["doctype"])
    documents = box.documents
    fmt = request.query.get("format", "jsonl")
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    id_field = request.query.get("id_field") or None
    fd = handed_file(request)
    try:
        source = request.content.iter_chunked(64 * 1024) if fd is None else OpenFile(fd)
        report = await import_records(documents, doctype, source, fmt, id_field=id_field)
    finally:
        if fd is not None:
            os.close(fd)
    return reply(report.to_json())


async def export_documents(request: web.Request) -> web.StreamResponse:
    """Every document of the doctype as JSON Lines (``_rev`` left out: it is ours, not yours)."""
    box = box_of(request)
    doctype = await _existing_doctype(request)
    response = web.StreamResponse(headers={"Content-Type": "application/x-ndjson; charset=utf-8"})
    await response.prepare(request)
    count = 0
    async for chunk in doctype_lines(box, doctype.name):
        await response.write(chunk)
        count += chunk.count(b"\n")
    await response.write_eof()
    await record_doctype_export(box, doctype.name, count)
    return response


async def _existing_doctype(request: web.Request) -> Any:
    name = check_name(request.match_info["doctype"])
    box = box_of(request)
    if name in builtin_doctypes() or await box.documents.exists(name):
        return resolve(name)
    raise UnknownDoctype(f"no doctype {name!r} in this box")
