"""The consent ledger for the web UI and the CLI: entries in plain words, verify, the key."""

from __future__ import annotations

from aiohttp import web

from ...errors import InputError
from ...ledger import Ledger, parse_public_key, parse_witness
from ..requests import box_of, query_int, reply

__all__ = ["ledger_entries", "ledger_key", "verify_ledger"]


async def ledger_entries(request: web.Request) -> web.Response:
    """Newest first; page with ``before`` (the lowest seq seen)."""
    limit = query_int(request, "limit", 50, 1, 500)
    before = query_int(request, "before", None, 1, 2**62)
    book = Ledger(box_of(request))
    entries = await book.entries(limit=limit or 50, before=before)
    last = entries[-1].seq if entries else None
    return reply(
        {
            "entries": [e.to_json() for e in entries],
            "total": await book.count(),
            "next_before": last if last is not None and last > 1 else None,
        }
    )


async def verify_ledger(request: web.Request) -> web.Response:
    """Check the whole chain (``?key=`` pins the published public key, ``?head=SEQ:HASH``
    a head noted earlier)."""
    raw, noted = request.query.get("key"), request.query.get("head")
    if raw is not None and len(raw) > 200:
        raise InputError("that is not a box public key")
    if noted is not None and len(noted) > 100:
        raise InputError("a noted head is SEQ:HASH")
    pinned = parse_public_key(raw) if raw else None
    witness = parse_witness(noted) if noted else None
    verdict = await Ledger(box_of(request)).verify(pinned, witness)
    return reply(verdict.to_json())


async def ledger_key(request: web.Request) -> web.Response:
    return reply(await Ledger(box_of(request)).key_info())
