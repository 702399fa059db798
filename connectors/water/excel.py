"""Water consumption exports as spreadsheets: ``.xls`` (xlrd) and ``.xlsx`` (openpyxl).

Which utilities write them (samples and their provenance in
tests/connectors/sources/samples/water/README.md):

* Veolia's older customer area (service-client.veoliaeau.fr, then service.eau.veolia.fr),
  *Votre consommation › Historique › exporter*: an ``.xls`` (BIFF8) with one sheet, a
  header row, then a real date cell, the index and the day's use in litres, and ``M``/``E``
  (measured, estimated);
* Suez "Tout sur mon eau" and the sites built on it: the day's use and the index in m³,
  the date as text (``01-05-2024``);
* any table re-saved by a spreadsheet as ``.xls`` or ``.xlsx``.

A sheet is read like the CSV of its content: each row becomes text cells (a date cell
``2024-01-20`` or ``2024-01-20 20:00:00``, a number ``0.312``) and :mod:`.table` decides
what they mean, exactly as for CSV. The first sheet whose first rows hold a recognisable
header is read; the report names it when the workbook has several. Formulas are never
evaluated: a formula cell holds the value the spreadsheet last computed (none when the
program that wrote the file computes nothing: then the cell is empty).

Limits, for a 1 GB Raspberry Pi: xlrd reads an ``.xls`` whole, so one over
:data:`MAX_XLS` is refused (a water export is a few hundred kB), and so is one whose
records would make xlrd hold far more than the file (:mod:`.xls_guard`). An ``.xlsx`` is
vetted by :func:`~.xlsx_guard.check_xlsx` (zip and XML bombs, parts openpyxl would hold
whole) before openpyxl streams its rows. At most :data:`MAX_COLUMNS` columns and
:data:`MAX_ROWS` rows of a sheet are read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import warnings
from collections.abc import Iterator
from typing import Any, BinaryIO

from ..safe_zip import ArchiveError, MiB, SafeZip, is_zip
from ..sinks import Note, Problem, SourceFile
from .table import Head, Item, Row, find_head, table_items
from .xls_guard import xls_refusal
from .xlsx_guard import check_xlsx, is_workbook

__all__ = [
    "MAX_COLUMNS",
    "MAX_ROWS",
    "MAX_XLS",
    "OLE2",
    "looks_like_spreadsheet",
    "read_spreadsheet",
    "read_xls",
    "read_xlsx",
    "spreadsheet_kind",
]

#: The first bytes of an OLE2 compound file (an .xls, but also an old .doc or .msg).
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAX_XLS = 32 * MiB
MAX_COLUMNS = 64
#: Rows of an .xlsx sheet read at most: 28 years of hourly readings. openpyxl's parser
#: keeps about 100 bytes per row it has read (an emptied XML element), so this bounds it.
MAX_ROWS = 250_000
_WORKBOOK_STREAMS = {"workbook", "book"}  # BIFF8, and BIFF5 (Excel 95)


def looks_like_spreadsheet(head: bytes) -> bool:
    """A cheap guess from a file's first bytes (an OLE2 file; a zip naming ``xl/`` parts
    near its start). :func:`spreadsheet_kind` reads enough of the file to be sure."""
    return head.startswith(OLE2) or (is_zip(head) and b"xl/" in head)


def spreadsheet_kind(source: SourceFile) -> str | None:
    """``"xls"`` or ``"xlsx"`` when ``source`` is such a workbook (by content), else
    ``None``. A damaged or oversized .xls is still ``"xls"``: reading it says what is
    wrong. An OLE2 file that is readable and holds no workbook (a Word .doc) is not."""
    head = source.head()
    if head.startswith(OLE2):
        return None if _other_ole2_document(source) else "xls"
    if not is_zip(head):
        return None
    try:
        with SafeZip(source.file) as archive:
            names = [m.name for m in archive.members]
    except ArchiveError:
        return None
    finally:
        source.file.seek(0)
    return "xlsx" if is_workbook(names) else None


def read_spreadsheet(file: BinaryIO, where: str) -> Iterator[Item]:
    """The readings of an .xls or .xlsx (told by its first bytes)."""
    file.seek(0)
    head = file.read(len(OLE2))
    file.seek(0)
    return read_xls(file, where) if head == OLE2 else read_xlsx(file, where)


# --- .xls -----------------------------------------------------------------------------------


def read_xls(file: BinaryIO, where: str) -> Iterator[Item]:
    import xlrd  # noqa: PLC0415 - only when an .xls comes: the daemon's idle memory

    size = file.seek(0, 2)
    file.seek(0)
    if size > MAX_XLS:
        yield Problem(
            where,
            f"an .xls of {size / MiB:.0f} MiB, over the {MAX_XLS // MiB} MiB an .xls may be "
            "(it is read whole into memory; a water export is a few hundred kB): save it "
            "as .xlsx or CSV",
        )
        return
    data = file.read()
    if refusal := _xls_refusal(data):
        yield Problem(where, f"not read: {refusal}, which no water export has: refused")
        return
    try:
        book = xlrd.open_workbook(
            file_contents=data,
            logfile=_Discard(),  # xlrd writes its warnings there: never to stdout
            on_demand=True,  # one sheet in memory at a time
            ragged_rows=True,  # no padding of every row to the widest (a memory bomb)
        )
    except Exception as err:  # xlrd raises anything at all on a damaged file
        yield Problem(where, f"not a readable .xls workbook ({_why(err)}): {_DAMAGED}")
        return
    try:
        yield from _first_table(_xls_sheets(book, where), where, book.nsheets)
    finally:
        book.release_resources()


def _xls_sheets(book: Any, where: str) -> Iterator[tuple[str, Iterator[Row]]]:
    for index, title in enumerate(book.sheet_names()):
        yield title, _xls_rows(book, index, f"{where} sheet {_name(title)}")
        with contextlib.suppress(Exception):
            book.unload_sheet(index)


def _xls_rows(book: Any, index: int, where: str) -> Iterator[Row]:
    import xlrd  # noqa: PLC0415

    try:
        sheet = book.sheet_by_index(index)
    except Exception as err:  # a damaged sheet stream
        yield Problem(where, f"cannot be read ({_why(err)}): {_DAMAGED}")
        return
    for row in range(sheet.nrows):
        width = min(sheet.row_len(row), MAX_COLUMNS)
        cells = [
            _xls_text(xlrd, book.datemode, sheet.cell_type(row, col), sheet.cell_value(row, col))
            for col in range(width)
        ]
        yield row + 1, cells


def _xls_text(xlrd: Any, datemode: int, kind: int, value: Any) -> str:
    if kind == xlrd.XL_CELL_DATE:
        try:
            return _moment(xlrd.xldate.xldate_as_datetime(value, datemode))
        except (ValueError, OverflowError):  # XLDateError: not a date any calendar has
            return _number(value)
    if kind == xlrd.XL_CELL_NUMBER:
        return _number(value)
    if kind == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if value else "FALSE"
    if kind == xlrd.XL_CELL_ERROR:
        return str(xlrd.error_text_from_code.get(value, "#ERROR"))
    return value if isinstance(value, str) else ""


def _xls_refusal(data: bytes) -> str | None:
    """What :func:`~.xls_guard.xls_refusal` finds in the workbook stream; ``None`` when
    the compound file cannot be read (xlrd then says how it is damaged)."""
    from xlrd.compdoc import CompDoc  # noqa: PLC0415

    try:
        document = CompDoc(data, _Discard())
        for name in ("Workbook", "Book"):
            stream, start, length = document.locate_named_stream(name)
            if stream is not None:
                return xls_refusal(stream, start, length)
    except Exception:  # damaged: xlrd will say how
        return None
    return None


def _other_ole2_document(source: SourceFile) -> bool:
    from xlrd.compdoc import CompDoc  # noqa: PLC0415

    size = source.file.seek(0, 2)
    source.file.seek(0)
    if size > MAX_XLS:
        return False
    try:
        names = {node.name.lower() for node in CompDoc(source.file.read(), _Discard()).dirlist}
    except Exception:  # damaged: reading it will say how
        return False
    finally:
        source.file.seek(0)
    return not names & _WORKBOOK_STREAMS


# --- .xlsx ----------------------------------------------------------------------------------


def read_xlsx(file: BinaryIO, where: str) -> Iterator[Item]:
    try:
        check_xlsx(file)
    except ArchiveError as err:
        yield Problem(where, f"not read: {err}")
        return
    import openpyxl  # noqa: PLC0415 - only when an .xlsx comes

    if not openpyxl.DEFUSEDXML:  # OPENPYXL_DEFUSEDXML=False in the environment
        yield Problem(where, "openpyxl is not using defusedxml here: .xlsx files are not read")
        return
    try:
        with _quiet():
            book = openpyxl.load_workbook(
                file, read_only=True, data_only=True, keep_links=False, keep_vba=False
            )
    except Exception as err:  # openpyxl raises anything at all on a damaged file
        yield Problem(where, f"not a readable .xlsx workbook ({_why(err)}): {_DAMAGED}")
        return
    try:
        sheets = book.worksheets
        yield from _first_table(
            ((s.title, _xlsx_rows(s, f"{where} sheet {_name(s.title)}")) for s in sheets),
            where,
            len(sheets),
        )
    finally:
        book.close()


def _xlsx_rows(sheet: Any, where: str) -> Iterator[Row]:
    sheet.reset_dimensions()  # the size the file claims is no limit, and no promise
    rows = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
    number = 0
    while True:
        chunk, damage = _pull(rows)
        for values in chunk:
            number += 1
            if number > MAX_ROWS:
                yield Problem(where, f"more than {MAX_ROWS:,} rows: the rest is left out")
                return
            yield number, _xlsx_cells(values)
        if damage is not None:
            yield Problem(
                where, f"damaged after row {number} ({_why(damage)}): the rows before it are read"
            )
            return
        if not chunk:
            return


def _pull(rows: Iterator[tuple[object, ...]]) -> tuple[list[tuple[object, ...]], Exception | None]:
    """The next rows (a few hundred: warnings are silenced once for them all), and the
    error that stopped them, if the sheet's XML is damaged there."""
    chunk: list[tuple[object, ...]] = []
    with _quiet():
        try:
            for values in rows:
                chunk.append(values)
                if len(chunk) == 512:
                    break
        except Exception as err:  # the sheet's XML is damaged here
            return chunk, err
    return chunk, None


def _xlsx_cells(values: tuple[object, ...]) -> list[str]:
    last = len(values)
    while last and values[last - 1] is None:  # rows come padded to MAX_COLUMNS
        last -= 1
    return [_xlsx_text(v) for v in values[:last]]


def _xlsx_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return _number(value)
    if isinstance(value, dt.datetime):
        return _moment(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)  # a time of day or a duration: neither a date nor a volume


# --- shared -------------------------------------------------------------------------------

_DAMAGED = "it may be damaged or cut short, download it again"


def _first_table(
    sheets: Iterator[tuple[str, Iterator[Row]]], where: str, count: int
) -> Iterator[Item]:
    """The first sheet with a water table's header, read; the others are not."""
    passed: list[str] = []
    for title, rows in sheets:
        head: Head = find_head(rows)
        yield from head.problems
        if head.columns is None:
            passed.append(_name(title))
            continue
        if count > 1:
            yield Note(
                f"{count} sheets: read {_name(title)}, the first with a consumption table"
                + (f" ({', '.join(passed)} before it had none)" if passed else "")
            )
        yield from table_items(head, rows, f"{where} sheet {_name(title)} row", ragged=True)
        return
    yield Problem(
        where,
        "no sheet has a header row naming a date and a consumption or index column "
        f"({count} sheet(s) looked at): not a water consumption export",
    )


def _number(value: float) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "not a number"
        if value.is_integer() and abs(value) < 1e18:
            return str(int(value))
        return repr(value)
    return str(value)


def _moment(moment: dt.datetime) -> str:
    """A date cell as a CSV would write it: the day, and its time when it has one."""
    moment = (moment + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
    if moment.time() == dt.time(0):
        return moment.date().isoformat()
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _name(title: str) -> str:
    return repr(title[:40])


def _why(err: BaseException) -> str:
    text = " ".join(str(err).split())[:120]
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """openpyxl warns about what it drops (extensions, a missing default style): nothing
    the owner can act on, and a warning is no place for it."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


class _Discard:
    """A text sink for xlrd's log (it writes its warnings to stdout by default)."""

    def write(self, text: str, /) -> int:
        return len(text)

    def flush(self) -> None:
        pass
