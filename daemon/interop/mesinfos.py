"""MesInfos data files: a JSON object of doctypes, each with a list of documents.

The MesInfos experiment (FING, Cozy Cloud, 2016–2020) handed its participants' data to
their Cozy as documents of ``org.fing.mesinfos.*`` doctypes (``client``, ``contract``,
``consumptionstatement``, ``paymentterms``, ``home``, ``geopoint``,
``phonecommunicationlog``, ``videostream``…) next to Cozy's own (``io.cozy.bills``,
``io.cozy.bank.operations``), in files of this shape (Cozy's ACH data files)::

    {"org.fing.mesinfos.consumptionstatement": [{"contractNumber": "…", "start": "…",
        "end": "…", "value": 812, "statementReason": "EdeliaMonthlyElecConsumption", …}],
     "org.fing.mesinfos.client": [{"clientId": "…", "vendor": "EDF", …}], …}

Each doctype keeps its name (``io.cozy.*`` ones are mapped as for a Cozy export, see
:mod:`.cozy`); a document without ``_id`` gets one from its content, so importing the same
file twice changes nothing. The file is parsed as a stream (ijson): its size does not
matter.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import ijson

from ..box import Box
from ..connectors.sinks import (
    BoxSink,
    Document,
    IngestReport,
    Problem,
    SourceFile,
    stable_id,
    store_documents,
)
from ..errors import InputError
from .cozy import selfdata_doctype

__all__ = ["import_mesinfos"]


async def import_mesinfos(box: Box, source: SourceFile, report: IngestReport) -> None:
    box.documents  # noqa: B018
    source.file.seek(0)
    skipped: dict[str, int] = {}
    try:
        await store_documents(BoxSink(box, report), report, _documents(source, skipped))
    except (ijson.JSONError, ijson.IncompleteJSONError) as err:
        raise InputError(
            f"{source.name} is not valid JSON ({err}); the documents before the error are "
            "stored: import it again once repaired"
        ) from None
    if skipped:
        report.notes.append(
            "not imported: " + ", ".join(f"{n} {d}" for d, n in sorted(skipped.items()))
        )


def _documents(source: SourceFile, skipped: dict[str, int]) -> Iterator[Document | Problem]:
    doctype: str | None = None
    target: str | None = None
    builder: Any = None
    discard = False
    depth = 0
    index = 0
    for prefix, event, value in ijson.parse(source.file, use_float=True):
        if builder is not None:  # inside one document: build it
            builder.event(event, value)
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
            if depth == 0:
                if not discard:
                    index += 1
                    yield _document(target, doctype or "", index, builder.value)
                builder = None
            continue
        if prefix == "" and event == "map_key":
            doctype, index = value, 0
            target = selfdata_doctype(doctype) if isinstance(doctype, str) else None
            continue
        if doctype is None or prefix != f"{doctype}.item":
            continue
        if target is None:
            skipped[doctype] = skipped.get(doctype, 0) + 1
        if event in ("start_map", "start_array"):
            builder, depth, discard = ijson.ObjectBuilder(), 1, target is None
            builder.event(event, value)
        elif target is not None:
            index += 1
            yield Problem(f"{doctype}[{index - 1}]", "not a document (a JSON object)")


def _document(target: str | None, doctype: str, index: int, value: Any) -> Document | Problem:
    where = f"{doctype}[{index - 1}]"
    if target is None or not isinstance(value, dict):
        return Problem(where, "not a document (a JSON object)")
    value.pop("_rev", None)
    if not isinstance(value.get("_id"), str):
        canonical = json.dumps(value, sort_keys=True, separators=(",", ":"))
        value["_id"] = stable_id("mesinfos", target, canonical)
    return Document(target, value)
