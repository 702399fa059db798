"""Vet an .xls before xlrd loads it: xlrd holds a whole workbook, and a small hostile
file can make it hold a great deal.

An .xls is an OLE2 compound file whose ``Workbook`` stream is a list of BIFF records. Its
size is capped (:data:`~.excel.MAX_XLS`), but two records grow far more than their bytes:

* a cell far to the right: xlrd keeps each row as long as its last cell, so one number
  at column 255 in each of 65,536 rows (1 MB of records) is 16 million slots (150 MB);
* the shared string table, whose header tells xlrd how many strings to make.

So the records are walked once, without decoding anything (4 bytes of header each, and a
cell's row and column): a sheet may hold at most :data:`MAX_SLOTS` slots, the sum over
its rows of the last column used, and the workbook at most :data:`MAX_STRINGS` shared
strings. A water export has a few thousand rows of four columns, and a dozen strings.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

__all__ = ["MAX_SLOTS", "MAX_STRINGS", "xls_refusal"]

MAX_SLOTS = 1_000_000
MAX_STRINGS = 200_000

_BOF = 0x0809
_SST = 0x00FC
_MULRK = 0x00BD
#: Records xlrd turns into a cell (blanks are skipped without formatting info):
#: NUMBER, RK, LABELSST, LABEL, FORMULA (three BIFF versions), BOOLERR, RSTRING, MULRK,
#: and BIFF2's INTEGER, NUMBER, LABEL, BOOLERR.
_CELLS = frozenset(
    {0x0203, 0x027E, 0x00FD, 0x0204, 0x0006, 0x0206, 0x0406, 0x0205, 0x00D6, _MULRK}
    | {0x0002, 0x0003, 0x0004, 0x0005}
)


def xls_refusal(stream: bytes, start: int = 0, length: int | None = None) -> str | None:
    """Why the workbook stream ``stream[start:start + length]`` is refused, or ``None``."""
    end = len(stream) if length is None else min(len(stream), start + length)
    slots = 0
    last: dict[int, int] = {}  # row → its last column, in the current sheet
    for kind, data in _records(stream, start, end):
        if kind == _BOF:
            slots, last = 0, {}
        elif kind == _SST and len(data) >= 8:
            (unique,) = struct.unpack_from("<i", data, 4)
            if unique > MAX_STRINGS:
                return (
                    f"its shared string table claims {unique:,} strings, more than {MAX_STRINGS:,}"
                )
        elif kind in _CELLS and len(data) >= 4:
            row, col = struct.unpack_from("<HH", data)
            if kind == _MULRK and len(data) >= 6:
                (col,) = struct.unpack_from("<H", data, len(data) - 2)
            before = last.get(row, -1)
            if col > before:
                slots += col - before
                last[row] = col
                if slots > MAX_SLOTS:
                    return (
                        f"a sheet reaching {slots:,} cells (the rows' widths added up), more "
                        f"than {MAX_SLOTS:,}"
                    )
    return None


def _records(stream: bytes, pos: int, end: int) -> Iterator[tuple[int, memoryview]]:
    view = memoryview(stream)
    while pos + 4 <= end:
        kind, size = struct.unpack_from("<HH", stream, pos)
        pos += 4
        yield kind, view[pos : min(pos + size, end)]
        pos += size
