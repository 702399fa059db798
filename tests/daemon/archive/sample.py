"""A household's worth of data in a box, and a way to compare two boxes' contents."""

from __future__ import annotations

import hashlib
import os
from collections.abc import AsyncIterator
from typing import Any

from selfdata.box import Box
from selfdata.doctypes import resolve
from selfdata.store import FILES_DOCTYPE
from selfdata.store.dictionaries import TRAIN_FROM

CANARY = "zqxARCHIVECANARYjv"
BILL = b"%PDF-1.4\n" + (CANARY.encode() + b" facture EDF 2024\n") * 2000


async def chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


#: Enough bank operations for the store to train their compression dictionary, which
#: every export, backup and restore test then carries along.
OPERATIONS = TRAIN_FROM


async def populate(box: Box, *, files: int = 2) -> dict[str, Any]:
    """Documents (a known doctype and a user one), a series, files and a source."""
    await box.documents.put_many(
        resolve("io.cozy.bank.operations"),
        [
            {
                "_id": f"op{i}",
                "label": f"{CANARY} CB {i}",
                "amount": -12.5 - i,
                "date": "2024-03-14",
            }
            for i in range(OPERATIONS)
        ],
    )
    await box.documents.put_many(
        resolve("org.example.notes"),
        [
            {"_id": f"n{i}", "text": f"note {i} {CANARY}", "nested": {"a": [1, 2.5]}}
            for i in range(30)
        ],
    )
    start = 1_710_000_000
    await box.series.write(
        "linky/papp", [(start + 60 * i, float(i % 97)) for i in range(3 * 1440)], "VA"
    )
    saved = []
    for n in range(files):
        data = BILL + os.urandom(1000) + bytes([n])
        saved.append(await box.files.save(f"facture-{n}.pdf", chunks(data), mime="application/pdf"))
    await box.documents.put_many(
        resolve("selfdata.accounts"),
        [
            {
                "_id": "a" * 32,
                "connector": "enedis-conso-api",
                "label": "Maison",
                "fields": {"prm": "12345678901234"},
                "secrets": "c2VhbGVk" + CANARY,
                "secret_fields": ["token"],
                "enabled": True,
            }
        ],
    )
    return {"files": saved}


async def contents(box: Box) -> dict[str, Any]:
    """Everything a person stored, comparable across boxes (no _rev, file bytes hashed)."""
    out: dict[str, Any] = {"documents": {}, "series": {}, "files": {}}
    for doctype in await box.documents.doctypes():
        if doctype.startswith("selfdata.accounts") or doctype == FILES_DOCTYPE:
            continue
        docs = {}
        async for doc in box.documents.iterate(doctype):
            doc.pop("_rev", None)
            docs[doc["_id"]] = doc
        out["documents"][doctype] = docs
    for info in await box.series.list():
        out["series"][info.name] = (info.unit, await box.series.query(info.name, 0, 2**39))
    async for doc in box.documents.iterate(FILES_DOCTYPE):
        if doc.get("type") != "file":
            continue
        digest = hashlib.sha256()
        async for chunk in box.files.read(doc["_id"]):
            digest.update(chunk)
        out["files"][doc["_id"]] = (doc["name"], doc["mime"], digest.hexdigest())
    return out
