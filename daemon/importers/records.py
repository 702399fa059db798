"""Streaming record readers: bytes in, ``(line, record | error)`` out, bounded memory.

Bad records are values, not crashes: a reader yields a :class:`RowError` for a line it
cannot read and carries on with the next. Nothing here holds more than one record (at
most :data:`MAX_RECORD` characters) and one network chunk in memory, whatever the size
of the file, and results never depend on where the network cut the bytes.

Text is UTF-8 (a BOM is allowed) until a byte proves otherwise; from there on it is
Windows-1252, what French spreadsheets and banks still export.
"""

from __future__ import annotations

import codecs
import csv
import json
import math
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

__all__ = [
    "FORMATS",
    "MAX_DEPTH",
    "MAX_RECORD",
    "Record",
    "RowError",
    "read_record_batches",
    "read_records",
]

FORMATS = ("jsonl", "csv")
#: A longer line is an error, never a reason to buffer without bound.
MAX_RECORD = 1024 * 1024
#: Deeper JSON is refused: storing, reading and exporting it again must never recurse
#: into Python's stack limit.
MAX_DEPTH = 100
_DELIMITERS = ",;\t|"


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


Record = dict[str, Any]
#: (line number, text or error, whether a newline ended it: the last line of a cut file)
_Line = tuple[int, "str | RowError", bool]


async def read_records(
    chunks: AsyncIterable[bytes], fmt: str
) -> AsyncIterator[tuple[int, Record | RowError]]:
    """``(line number, record or why it was refused)``, in order."""
    async for batch in read_record_batches(chunks, fmt):
        for item in batch:
            yield item


async def read_record_batches(
    chunks: AsyncIterable[bytes], fmt: str
) -> AsyncIterator[list[tuple[int, Record | RowError]]]:
    """:func:`read_records` a chunk's worth at a time: a step of an async generator
    costs about what parsing a short record does, so a big import takes them by the list."""
    if fmt == "jsonl":
        async for lines in _line_batches(chunks):
            records = [
                (line_no, text if isinstance(text, RowError) else _json_record(line_no, text))
                for line_no, text, _ in lines
                if isinstance(text, RowError) or text.strip()
            ]
            if records:
                yield records
    elif fmt == "csv":
        csv_file = _CsvFile()
        async for lines in _line_batches(chunks):
            records = []
            for line_no, line, terminated in lines:
                records.extend(csv_file.add(line_no, line, terminated))
                if csv_file.done:
                    break
            if records:
                yield records
            if csv_file.done:
                return
        if records := list(csv_file.finish()):
            yield records
    else:
        raise ValueError(f"unknown format {fmt!r}")


# --- lines ---------------------------------------------------------------------------------


class _Decoder:
    """UTF-8 (BOM allowed) until an invalid byte, then Windows-1252 from that byte on.

    A UTF-16 byte order mark (Excel's "Unicode text") selects UTF-16 for the whole file.
    """

    def __init__(self) -> None:
        self._decoder: codecs.IncrementalDecoder | None = None
        self._head = b""  # the first bytes, until the BOM question is settled
        self._utf8 = True
        #: the input ended inside a character: the file was cut
        self.cut_character = False

    def decode(self, data: bytes, final: bool = False) -> str:
        if self._decoder is None:
            self._head += data
            if len(self._head) < 2 and not final:
                return ""
            data, self._head = self._head, b""
            if data[:2] in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
                self._utf8 = False
                self._decoder = codecs.getincrementaldecoder("utf-16")(errors="replace")
            else:
                self._decoder = codecs.getincrementaldecoder("utf-8-sig")()
        try:
            return self._decoder.decode(data, final)
        except UnicodeDecodeError as err:
            if final and err.reason == "unexpected end of data":
                self.cut_character = True
                return str(err.object[: err.start], "utf-8") + "\ufffd"
            self._utf8 = False
            head = str(err.object[: err.start], "utf-8")
            self._decoder = codecs.getincrementaldecoder("cp1252")(errors="replace")
            return head + self._decoder.decode(err.object[err.start :], final)


async def _line_batches(chunks: AsyncIterable[bytes]) -> AsyncIterator[list[_Line]]:
    """Decoded lines (without their ``\\r\\n``), numbered from 1, the lines each chunk
    completes at a time; over-long ones as errors."""
    decoder = _Decoder()
    parts: list[str] = []  # the line being received
    size = 0
    line_no = 0
    skipping = False  # inside an over-long line, already reported: drop until its end

    def too_long() -> RowError:
        return RowError(line_no, f"line longer than {MAX_RECORD} bytes")

    out: list[_Line] = []
    async for chunk in chunks:
        if out:
            yield out
            out = []
        text = decoder.decode(chunk)
        if skipping:
            cut = text.find("\n")
            if cut < 0:
                continue
            text, skipping = text[cut + 1 :], False
        if "\n" not in text:
            parts.append(text)
            size += len(text)
            if size > MAX_RECORD:
                line_no += 1
                out.append((line_no, too_long(), False))
                parts, size, skipping = [], 0, True
            continue
        pieces = text.split("\n")
        parts.append(pieces[0])
        pieces[0] = "".join(parts)
        for line in pieces[:-1]:
            line_no += 1
            if len(line) > MAX_RECORD:
                out.append((line_no, too_long(), True))
            else:
                out.append((line_no, line.removesuffix("\r"), True))
        parts, size = [pieces[-1]], len(pieces[-1])
        if size > MAX_RECORD:
            line_no += 1
            out.append((line_no, too_long(), False))
            parts, size, skipping = [], 0, True
    parts.append(decoder.decode(b"", final=True))
    last = "".join(parts)
    if last and not skipping:
        line_no += 1
        if decoder.cut_character:
            out.append(
                (line_no, RowError(line_no, "the file ends in the middle of a character"), False)
            )
        elif len(last) > MAX_RECORD:
            out.append((line_no, too_long(), False))
        else:
            out.append((line_no, last.removesuffix("\r"), False))
    if out:
        yield out


# --- JSON Lines ------------------------------------------------------------------------------


def _json_record(line_no: int, text: str) -> Record | RowError:
    try:
        # orjson is ten times faster, but reads integers beyond 64 bits as floats:
        # lines with such long digit runs go through the exact standard parser.
        value = orjson.loads(text)  # refuses NaN, Infinity and overflowing floats
        if _maybe_big_int(value):  # orjson reads integers beyond 64 bits as floats
            value = json.loads(text, parse_constant=_refuse, parse_float=_finite)
    except ValueError as err:
        # orjson's own nesting limit (1024), worded differently across its versions
        if "depth limit" in str(err) or "recursion depth" in str(err):
            return RowError(line_no, f"JSON nested too deeply (more than {MAX_DEPTH} levels)")
        return RowError(line_no, f"not valid JSON: {err}")
    except RecursionError:
        return RowError(line_no, f"JSON nested too deeply (more than {MAX_DEPTH} levels)")
    if not isinstance(value, dict):
        return RowError(line_no, f"expected a JSON object, got {type(value).__name__}")
    # cheap in C for the usual record; walk the structure only when it might be deep
    if text.count("{") + text.count("[") > MAX_DEPTH and _depth_exceeds(value, MAX_DEPTH):
        return RowError(line_no, f"JSON nested too deeply (more than {MAX_DEPTH} levels)")
    return value


_BIG = 9.2e18  # about 2**63: past it, an integer may have been read as a float


def _maybe_big_int(value: object) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            stack.extend(item.values())  # type: ignore[attr-defined]
        elif kind is list:
            stack.extend(item)  # type: ignore[arg-type]
        elif kind is float and not -_BIG < item < _BIG:  # type: ignore[operator]
            return True
    return False


def _refuse(constant: str) -> object:
    raise ValueError(f"{constant} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is too large for a number")
    return value


def _depth_exceeds(value: object, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return False


# --- CSV --------------------------------------------------------------------------------------


class _Feed:
    """The lines one ``csv.reader`` reads, which may ask for more than have arrived.

    A quoted field can span lines. When the reader runs out of lines inside one, the
    record is incomplete: its lines go back, and the record is parsed again once more
    have come (after the pending text doubled, so a long record costs linear time).
    """

    def __init__(self) -> None:
        self.lines: deque[tuple[int, str, bool]] = deque()
        self.taken: list[tuple[int, str, bool]] = []
        self.chars = 0
        self.dry = False

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if not self.lines:
            self.dry = True
            raise StopIteration
        item = self.lines.popleft()
        self.taken.append(item)
        return item[1]

    def push(self, line_no: int, text: str, terminated: bool) -> None:
        self.lines.append((line_no, text + "\n", terminated))
        self.chars += len(text) + 1

    def drop_first(self) -> int:
        line_no, text, _ = self.lines.popleft()
        self.chars -= len(text)
        return line_no

    def clear(self) -> None:
        self.lines.clear()
        self.chars = 0

    def next_row(
        self, reader: Iterator[list[str]]
    ) -> tuple[int, list[str] | RowError, bool] | None:
        """The next record with its first line and whether its last line was terminated;
        ``None`` if it needs lines that have not arrived yet."""
        self.taken, self.dry = [], False
        first = self.lines[0][0]
        try:
            fields = next(reader)
        except csv.Error as err:
            # e.g. a quote opened and never closed ran into the field size limit: report
            # the line that opened it, then read the lines after it again
            self.lines.extendleft(reversed(self.taken))
            self.drop_first()
            return first, RowError(first, f"unreadable CSV row: {err}"), True
        if self.dry:
            self.lines.extendleft(reversed(self.taken))
            return None
        self.chars -= sum(len(t) for _, t, _ in self.taken)
        return first, fields, self.taken[-1][2]


class _CsvFile:
    """The state of one CSV file being read: its header, and a record still incomplete."""

    def __init__(self) -> None:
        self.feed = _Feed()
        self.reader: Iterator[list[str]] | None = None
        self.header: list[str] | None = None
        self.retry_at = 0  # parse again once the pending text reaches this size
        self.done = False  # a bad header: nothing more can be read

    def add(
        self, line_no: int, line: str | RowError, terminated: bool
    ) -> Iterator[tuple[int, Record | RowError]]:
        feed = self.feed
        if isinstance(line, RowError):
            if feed.lines:  # an over-long line inside an open quoted field
                first = feed.lines[0][0]
                yield first, RowError(first, "unterminated quoted field")
                feed.clear()
            yield line_no, line
            self.done = self.header is None
            return
        if "\0" in line:  # binary data, or a UTF-16 file without its byte order mark
            yield line_no, RowError(line_no, "the line holds a NUL byte: is this a text file?")
            self.done = self.header is None
            return
        if self.reader is None:
            if not line.strip():
                return
            self.reader = csv.reader(feed, delimiter=_sniff(line))
        feed.push(line_no, line, terminated)
        if feed.chars < self.retry_at and feed.chars <= MAX_RECORD:
            return
        yield from self._parse(final=False)

    def finish(self) -> Iterator[tuple[int, Record | RowError]]:
        yield from self._parse(final=True)
        if self.feed.lines:  # the file ends inside a quoted field
            first = self.feed.lines[0][0]
            yield first, RowError(first, "unterminated quoted field at end of file")
            self.feed.clear()

    def _parse(self, *, final: bool) -> Iterator[tuple[int, Record | RowError]]:
        feed = self.feed
        self.retry_at = 0
        while feed.lines and not self.done:
            assert self.reader is not None
            row = feed.next_row(self.reader)
            if row is None:  # inside a quoted field that goes on past the lines we have
                if final:
                    return
                if feed.chars > MAX_RECORD:
                    first = feed.drop_first()
                    yield first, RowError(first, "unterminated quoted field")
                    continue
                self.retry_at = 2 * feed.chars
                return
            start, fields, ended = row
            if isinstance(fields, RowError):
                yield start, fields
                self.done = self.header is None
                continue
            if not fields or (len(fields) == 1 and not fields[0].strip()):
                continue  # a blank line
            if self.header is None:
                problem = _check_header(fields)
                if problem:
                    yield start, RowError(start, problem)
                    self.done = True
                    return
                self.header = fields
                continue
            yield start, _csv_record(start, self.header, fields, ended)


def _csv_record(
    line_no: int, header: list[str], fields: list[str], ended: bool
) -> Record | RowError:
    if len(fields) > len(header):
        return RowError(line_no, f"{len(fields)} fields but the header names {len(header)}")
    if len(fields) < len(header) and not ended:
        return RowError(
            line_no, f"the file ends in the middle of a row ({len(fields)} of {len(header)} fields)"
        )
    return dict(zip(header, fields, strict=False))


def _sniff(header_line: str) -> str:
    """The delimiter; the rest of the dialect is RFC 4180 (``""`` escapes a quote)."""
    try:
        return csv.Sniffer().sniff(header_line, delimiters=_DELIMITERS).delimiter
    except csv.Error:
        return ","


def _check_header(header: list[str]) -> str | None:
    names = [h.strip() for h in header]
    if any(not n for n in names):
        return "the CSV header has an empty column name"
    if len(set(names)) != len(names):
        return "the CSV header names a column twice"
    header[:] = names
    return None
