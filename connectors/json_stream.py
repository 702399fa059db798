"""Streaming JSON out of exports: one record in memory at a time, bad ends as values.

Exports are single JSON documents (``{"locations": [ ...millions... ]}``), not JSON
Lines, so :func:`stream_items` walks them with ijson (its C backend, yajl2) and yields
the records under a prefix one by one. ijson keeps a whole string in memory, so a hostile
file made of one 5 GB string would exhaust a Pi: :class:`ItemGuard` counts the bytes read
since the last record ended and stops the file past ``max_item`` bytes.

A truncated or malformed file keeps every record before the damage and ends with a
:class:`~selfdata.connectors.sinks.Problem` saying where it stopped.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any, Protocol

import ijson
from selfdata.errors import InputError

from .sinks import Problem

__all__ = ["MAX_ITEM", "ItemGuard", "Readable", "RecordTooLong", "sniff", "stream_items"]

MAX_ITEM = 16 * 1024 * 1024


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


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
    """Each value under ``prefix`` (ijson syntax: ``"locations.item"``), then any problem."""
    guard = ItemGuard(raw, max_item)
    count = 0
    try:
        for item in ijson.items(guard, prefix, use_float=True):
            guard.mark()
            count += 1
            yield item
    except ijson.JSONError as err:
        yield Problem(where, f"not valid JSON after record {count:,}: {_first_line(err)}")
    except InputError as err:  # RecordTooLong, or the archive's limits
        yield Problem(where, f"stopped after record {count:,}: {err.message}")
    except (UnicodeDecodeError, ValueError) as err:
        yield Problem(where, f"not valid JSON after record {count:,}: {_first_line(err)}")


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
