"""Streaming JSON out of exports: one record in memory at a time, bad ends as values.

Exports are single JSON documents (``{"locations": [ ...millions... ]}``), not JSON
Lines, so :func:`stream_items` walks them with ijson (its C backend, yajl2) and yields
the records under a prefix one by one. ijson keeps a whole string in memory, so a hostile
file made of one 5 GB string would exhaust a Pi: :class:`ItemGuard` counts the bytes read
since the last record ended and stops the file past ``max_item`` bytes.

Numbers are read as C ints and doubles, the fast way. yajl2 stops the whole parse on an
integer wider than 64 bits (Takeout's ``"deviceTag": -80241446968629135069``) or a float
beyond a double, though the JSON is valid. Then the file is read again from its start,
exactly (digits kept, as :mod:`selfdata.importers.records` keeps them): the records
already yielded are skipped, the rest come with integers as Python ints of any width and
other numbers as floats, the same types as on the fast path. A record holding a number
no float can hold (``1e400``) is a :class:`~selfdata.connectors.sinks.Problem`, the
records after it still come. Reading again takes a file that can seek back (an upload,
a zip member): one that cannot stops there, with a problem saying why.

A truncated or malformed file keeps every record before the damage and ends with a
:class:`~selfdata.connectors.sinks.Problem` saying where it stopped.
"""

from __future__ import annotations

import io
import math
from collections.abc import Generator, Iterator
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

import ijson
from selfdata.errors import InputError

from .sinks import Problem

__all__ = [
    "MAX_ITEM",
    "ItemGuard",
    "Readable",
    "RecordTooLong",
    "Rewindable",
    "sniff",
    "stream_items",
]

MAX_ITEM = 16 * 1024 * 1024
#: yajl2's words when a valid number does not fit a C long long or a double
_TOO_WIDE = ("integer overflow", "numeric (floating point) overflow")
#: ints from here on cannot become floats (``float(10**400)`` raises): bad records
_FLOAT_LIMIT = 2**1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


@runtime_checkable
class Rewindable(Protocol):
    """A :class:`Readable` that can go back to where it started, to be read again."""

    def read(self, size: int = -1, /) -> bytes: ...
    def seekable(self) -> bool: ...
    def tell(self) -> int: ...
    def seek(self, offset: int, whence: int = 0, /) -> int: ...


class RecordTooLong(InputError):
    pass


class ItemGuard:
    def __init__(self, raw: Readable, max_item: int = MAX_ITEM) -> None:
        self._raw = raw
        self._max = max_item
        self._since_mark = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = 64 * 1024
        data = self._raw.read(size)
        self._since_mark += len(data)
        if self._since_mark > self._max:
            raise RecordTooLong(f"a single record is longer than {self._max:,} bytes")
        return data

    def mark(self) -> None:
        self._since_mark = 0


def stream_items(
    raw: Readable, prefix: str, where: str, *, max_item: int = MAX_ITEM
) -> Iterator[Any | Problem]:
    """Each value under ``prefix`` (ijson syntax: ``"locations.item"``), then any problem.

    ``raw`` is read from where it stands; if it is :class:`Rewindable`, it may be sought
    back there once, to read a number too wide for the fast parse exactly."""
    start = _start(raw)
    wide_at = yield from _pass(raw, prefix, where, max_item, skip=None)
    if wide_at is None:
        return
    if start is None:
        yield Problem(
            where,
            f"stopped at record {wide_at:,}: it holds a number wider than 64 bits, and "
            "this stream cannot be read a second time to read it exactly",
        )
        return
    rewindable, offset = start
    try:
        rewindable.seek(offset)
    except (InputError, OSError, ValueError) as err:
        message = err.message if isinstance(err, InputError) else str(err)
        yield Problem(where, f"stopped at record {wide_at:,}: cannot read it again ({message})")
        return
    yield from _pass(raw, prefix, where, max_item, skip=wide_at)


def _pass(
    raw: Readable, prefix: str, where: str, max_item: int, *, skip: int | None
) -> Generator[Any | Problem, None, int | None]:
    """One parse of the document: fast (``skip`` None), or exact after ``skip`` records.

    Returns the number of records read when the fast parse met a number too wide for it,
    else None (the document ended, or a problem was yielded)."""
    guard = ItemGuard(raw, max_item)
    count = 0
    try:
        if skip is None:
            for item in ijson.items(guard, prefix, use_float=True):
                guard.mark()
                count += 1
                yield item
        else:
            for item in ijson.items(guard, prefix, use_float=False):
                guard.mark()
                count += 1
                if count > skip:
                    yield _plain_numbers(item, where, count - 1)
    except ijson.JSONError as err:
        if skip is None and _first_line(err).endswith(_TOO_WIDE):
            return count
        yield Problem(where, f"not valid JSON after record {count:,}: {_first_line(err)}")
    except InputError as err:  # RecordTooLong, or the archive's limits
        yield Problem(where, f"stopped after record {count:,}: {err.message}")
    except (UnicodeDecodeError, ValueError) as err:
        yield Problem(where, f"not valid JSON after record {count:,}: {_first_line(err)}")
    return None


def _plain_numbers(item: Any, where: str, n: int) -> Any:
    """``item`` of an exact parse with the types of the fast one: Decimals as floats, ints
    kept whole; a Problem for record ``n`` if one of its numbers is beyond any float."""
    top = [item]  # a bare number under the prefix is walked like a list's
    stack: list[dict[str, Any] | list[Any]] = [top]
    while stack:
        node = stack.pop()
        pairs = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in pairs:
            kind = type(value)
            if kind is Decimal:
                number = float(value)
                if math.isinf(number):
                    return Problem(
                        f"{where} record {n}", f"the number {value:.3E} is beyond any float"
                    )
                node[key] = number  # type: ignore[index]  # values may change mid-iteration
            elif kind is dict or kind is list:
                stack.append(value)
            elif kind is int and not -_FLOAT_LIMIT < value < _FLOAT_LIMIT:
                return Problem(f"{where} record {n}", "an integer beyond any float")
    return top[0]


def _start(raw: Readable) -> tuple[Rewindable, int] | None:
    """``raw`` and where it stands, if it can be sought back there; else None."""
    if not isinstance(raw, Rewindable):
        return None
    try:
        return (raw, raw.tell()) if raw.seekable() else None
    except (OSError, ValueError):
        return None


def sniff(head: bytes, events: int = 12) -> list[tuple[str, str, Any]]:
    """The first parse events of a JSON document's head (which may be cut anywhere)."""
    found: list[tuple[str, str, Any]] = []
    try:
        for event in ijson.parse(io.BytesIO(head)):
            found.append(event)
            if len(found) >= events:
                break
    except (ijson.JSONError, UnicodeDecodeError, ValueError):
        pass
    return found


def _first_line(err: Exception) -> str:
    return (str(err).strip().splitlines() or ["?"])[0][:200]
