"""From bytes to checked records: parsed, coerced, id checked, validated, encoded, named.

This is the part of an import that needs no store and no key but the naming one, so it
can run in another process (:mod:`.worker`) while the daemon seals and writes. Its
output is plain tuples, the same in both places, in batches:

- ``(line, _id given or None, canonical JSON, id, id hash, packed or None)``: a record
  to store. Without an ``_id`` the id is its first content id (occurrence 0), which the
  import keeps unless this run already wrote it (see :mod:`.run`); ``packed`` is the
  stored JSON (with that id) compressed, when the caller asked for it;
- ``(line, message)``: a record refused, and why;
- ``bytes``, first in a batch of the worker's: the compression dictionary it trained on
  that batch (the doctype had none), which the records after it are packed with.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterable

from ..doctypes import Doctype
from ..errors import SelfdataError
from ..store.codec import dumps, encode_parsed, pack_documents
from ..store.dictionaries import train
from ..vault import Namer
from .coerce import coerce_to_schema
from .records import Record, RowError, read_record_batches

__all__ = ["BATCH", "Checked", "Item", "Packer", "Refused", "checked_batches", "with_id"]

#: Records per batch: what one write to the store takes, and one message of the worker.
BATCH = 2000
#: ...or fewer, once their JSON reaches this size (records can be up to MAX_RECORD).
BATCH_BYTES = 8 * 1024 * 1024

Checked = tuple[int, str | None, bytes, str, bytes, bytes | None]
Refused = tuple[int, str]
Item = Checked | Refused


class _Checker:
    def __init__(
        self, doctype: Doctype, id_field: str | None, namer: Namer, *, coerce: bool
    ) -> None:
        self.doctype = doctype
        self.name = doctype.name
        self.namer = namer
        self.dh = namer.doctype_hash(doctype.name)
        self.id_field = id_field
        self.coerce = coerce and doctype.builtin  # CSV cells are text; JSON has its types

    def __call__(self, line: int, record: Record) -> Item:
        """The record checked, ``packed`` left None."""
        if self.coerce:
            record = coerce_to_schema(record, self.doctype.schema or {})
        if self.id_field is not None:
            value = record.get(self.id_field)
            if value in (None, ""):
                return line, f"no value in id field {self.id_field!r}"
            record["_id"] = str(value)
        elif "_id" in record and not (isinstance(record["_id"], str) and record["_id"]):
            return line, "_id must be a non-empty string"
        record.pop("_rev", None)
        try:
            self.doctype.validate(record)
            try:
                canonical = encode_parsed(record)
            except TypeError:  # an integer beyond 64 bits, read exactly: orjson cannot write it
                canonical = dumps(record)
        except SelfdataError as err:
            return line, err.message
        except ValueError as err:
            return line, str(err)
        given: str | None = record.get("_id")
        doc_id = given if given is not None else self.namer.content_id(self.name, canonical, 0)
        return line, given, canonical, doc_id, self.namer.id_hash(self.dh, doc_id), None


async def checked_batches(
    chunks: AsyncIterable[bytes],
    fmt: str,
    doctype: Doctype,
    id_field: str | None,
    namer: Namer,
) -> AsyncGenerator[list[Item], None]:
    """The records of ``chunks`` checked, in batches of up to :data:`BATCH`."""
    check = _Checker(doctype, id_field, namer, coerce=fmt == "csv")
    batch: list[Item] = []
    size = 0
    async for records in read_record_batches(chunks, fmt):
        for line, item in records:
            if isinstance(item, RowError):
                batch.append((line, item.message))
            else:
                checked = check(line, item)
                batch.append(checked)
                if len(checked) > 2:  # not refused
                    size += len(checked[2])  # type: ignore[misc]
            if len(batch) >= BATCH or size >= BATCH_BYTES:
                yield batch
                batch, size = [], 0
    if batch:
        yield batch


class Packer:
    """Batches compressed as the store would (what the worker does): with the doctype's
    dictionary, or with one trained on the first batch big enough to train one."""

    def __init__(self, dictionary: bytes | None) -> None:
        self.dictionary = dictionary

    def __call__(self, batch: list[Item]) -> list[Item | bytes]:
        """``batch`` with its records compressed in one zstd call; the new dictionary
        first, if it trained one."""
        records = [i for i, item in enumerate(batch) if len(item) > 2]
        plains = []
        for i in records:
            _, given, canonical, doc_id, _, _ = batch[i]  # type: ignore[misc]
            plains.append(canonical if given is not None else with_id(doc_id, canonical))
        trained = None
        if self.dictionary is None:
            trained = self.dictionary = train(plains)
        for i, compressed in zip(records, pack_documents(plains, self.dictionary), strict=True):
            batch[i] = (*batch[i][:5], compressed)  # type: ignore[assignment]
        return [trained, *batch] if trained is not None else list(batch)


def with_id(doc_id: str, canonical: bytes) -> bytes:
    """``canonical`` (a JSON object) with ``_id`` added first, without encoding it again."""
    head = b'{"_id":"' + doc_id.encode() + b'"'
    return head + b"}" if canonical == b"{}" else head + b"," + canonical[1:]
