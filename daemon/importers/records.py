"""Streaming record readers: bytes in, ``(line, record | error)`` out, bounded memory.

Bad records are values, not crashes: a reader yields a :class:`RowError` for a line it
cannot read and carries on with the next. Nothing here holds more than one record and
one network chunk in memory, whatever the size of the file.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Any

__all__ = ["FORMATS", "MAX_RECORD", "Record", "RowError", "read_records"]

FORMATS = ("jsonl", "csv")
#: A longer line is an error, never a reason to buffer without bound.
MAX_RECORD = 1024 * 1024
_DELIMITERS = ",;\t|"


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


Record = dict[str, Any]


async def read_records(
    chunks: AsyncIterable[bytes], fmt: str
) -> AsyncIterator[tuple[int, Record | RowError]]:
    if fmt == "jsonl":
        async for line_no, text in _lines(chunks):
            if isinstance(text, RowError):
                yield line_no, text
            elif text.strip():
                yield line_no, _json_record(line_no, text)
    elif fmt == "csv":
        async for item in _csv_records(chunks):
            yield item
    else:
        raise ValueError(f"unknown format {fmt!r}")


def _json_record(line_no: int, text: str) -> Record | RowError:
    try:
        value = json.loads(text)
    except ValueError as err:
        return RowError(line_no, f"not valid JSON: {err}")
    except RecursionError:
        return RowError(line_no, "JSON nested too deeply")
    if not isinstance(value, dict):
        return RowError(line_no, f"expected a JSON object, got {type(value).__name__}")
    return value


async def _lines(chunks: AsyncIterable[bytes]) -> AsyncIterator[tuple[int, str | RowError]]:
    """Decoded lines with their numbers; UTF-8 (BOM allowed), else Windows-1252."""
    decoder: codecs.IncrementalDecoder | None = None
    buffer = ""
    line_no = 0
    skipping = False  # inside an over-long line: drop until its end
    async for chunk in chunks:
        if decoder is None:
            decoder = _pick_decoder(chunk)
        try:
            buffer += decoder.decode(chunk)
        except UnicodeDecodeError:
            decoder = codecs.getincrementaldecoder("cp1252")(errors="replace")
            buffer += decoder.decode(chunk)
        while True:
            cut = buffer.find("\n")
            if cut < 0:
                if len(buffer) > MAX_RECORD and not skipping:
                    line_no += 1
                    yield line_no, RowError(line_no, f"line longer than {MAX_RECORD} bytes")
                    skipping = True
                if skipping:
                    buffer = ""
                break
            line, buffer = buffer[:cut], buffer[cut + 1 :]
            if skipping:
                skipping = False
                continue
            line_no += 1
            yield line_no, line.removesuffix("\r")
    if decoder is not None:
        buffer += decoder.decode(b"", final=True)
    if buffer and not skipping:
        yield line_no + 1, buffer.removesuffix("\r")


def _pick_decoder(first: bytes) -> codecs.IncrementalDecoder:
    try:
        first.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(first) - 4:  # not just a character cut by the chunk boundary
            return codecs.getincrementaldecoder("cp1252")(errors="replace")
    return codecs.getincrementaldecoder("utf-8-sig")()


async def _csv_records(chunks: AsyncIterable[bytes]) -> AsyncIterator[tuple[int, Record | RowError]]:
    header: list[str] | None = None
    dialect: type[csv.Dialect] | None = None
    pending: list[str] = []
    pending_quotes = 0
    start_line = 0
    async for line_no, line in _lines(chunks):
        if isinstance(line, RowError):
            pending, pending_quotes = [], 0
            yield line_no, line
            continue
        if not pending:
            start_line = line_no
        pending.append(line)
        # RFC 4180: a record ends where its quote count is even ("" escapes count twice)
        pending_quotes += line.count('"')
        if pending_quotes % 2:
            if sum(map(len, pending)) > MAX_RECORD:
                yield start_line, RowError(start_line, "unterminated quoted field")
                pending, pending_quotes = [], 0
            continue
        text = "\n".join(pending)
        pending, pending_quotes = [], 0
        if header is None:
            if not text.strip():
                continue
            dialect = _sniff(text)
            header = next(csv.reader([text], dialect))
            problem = _check_header(header)
            if problem:
                yield start_line, RowError(start_line, problem)
                return
            continue
        if not text.strip():
            continue
        try:
            (fields,) = list(csv.reader([text], dialect))  # type: ignore[arg-type]
        except (csv.Error, ValueError) as err:
            yield start_line, RowError(start_line, f"unreadable CSV row: {err}")
            continue
        if len(fields) > len(header):
            yield start_line, RowError(
                start_line, f"{len(fields)} fields but the header names {len(header)}"
            )
            continue
        yield start_line, dict(zip(header, fields, strict=False))
    if pending:
        yield start_line, RowError(start_line, "unterminated quoted field at end of file")


def _sniff(header_line: str) -> type[csv.Dialect]:
    try:
        return csv.Sniffer().sniff(header_line, delimiters=_DELIMITERS)
    except csv.Error:
        return csv.excel


def _check_header(header: list[str]) -> str | None:
    names = [h.strip() for h in header]
    if any(not n for n in names):
        return "the CSV header has an empty column name"
    if len(set(names)) != len(names):
        return "the CSV header names a column twice"
    header[:] = names
    return None
