"""A water consumption table, whatever file held it: rows of cells → readings.

CSV (:mod:`.csv_export`) and spreadsheets (:mod:`.excel`) both come down to rows of text
cells, numbered as the file numbers them (a CSV's lines, a sheet's rows). This module
reads those rows the same way for both, so a sheet reads like the CSV of its content:

* the header is the first row naming a date and a consumption or index column (at most
  :data:`MAX_PREAMBLE` rows down); columns are found by what their header says (a date,
  a consumption or volume, an index, "mesuré / estimé", a meter), not by position;
* rows above it may name the meter and contract (``N° de compteur;12345678``);
* units come from the headers (``(litres)``, ``m3``, ``m³``); a column whose header states
  none is read as litres when its values are whole numbers and as m³ when they have
  decimals (the report says so);
* a row that cannot be read is a :class:`~selfdata.connectors.sinks.Problem` naming its
  place, never the end of the table.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..numbers import parse_decimal
from ..sinks import Note, Problem
from .model import MAX_LITRES, Meter, Reading, Unit, normalise, parse_date, to_litres, unit_in

__all__ = [
    "MAX_PREAMBLE",
    "UNIT_SAMPLE",
    "Columns",
    "Head",
    "Item",
    "Row",
    "find_head",
    "header",
    "read_table",
    "table_items",
]

#: Rows before the header that may name the meter and contract.
MAX_PREAMBLE = 50
#: Rows read before deciding the unit of a column whose header states none.
UNIT_SAMPLE = 200

Item = Reading | Meter | Problem | Note
#: A row's number (a line, a sheet's row) and its cells, or a row that could not be read.
Row = tuple[int, list[str]] | Problem

NO_HEADER = (
    "no header line naming a date and a consumption or index column: not a water consumption export"
)


@dataclass
class Columns:
    date: int
    monthly: bool
    use: int | None = None
    use_unit: Unit | None = None
    index: int | None = None
    index_unit: Unit | None = None
    flag: int | None = None
    meter: int | None = None

    @property
    def width(self) -> int:
        """How many cells a row needs to hold the date and the volumes."""
        return 1 + max(c for c in (self.date, self.use, self.index) if c is not None)


@dataclass
class Head:
    """What came before the readings: the header, the preamble, rows that were damaged."""

    columns: Columns | None
    preamble: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def find_head(rows: Iterator[Row]) -> Head:
    """Read ``rows`` up to and including the header (``columns`` is ``None`` without one)."""
    head = Head(None)
    for row in rows:
        if isinstance(row, Problem):
            head.problems.append(row)
            continue
        number, cells = row
        if not any(c.strip() for c in cells):
            continue
        head.columns = header(cells)
        if head.columns is not None or number >= MAX_PREAMBLE:
            break
        _preamble(cells, head.preamble)
    return head


def read_table(
    rows: Iterator[Row], where: str, place: str, *, ragged: bool = False
) -> Iterator[Item]:
    """Every reading of the table in ``rows``; ``place`` names a row (``"x.csv line"``)."""
    head = find_head(rows)
    yield from head.problems
    if head.columns is None:
        yield Problem(where, NO_HEADER)
        return
    yield from table_items(head, rows, place, ragged=ragged)


def table_items(
    head: Head, rows: Iterator[Row], place: str, *, ragged: bool = False
) -> Iterator[Item]:
    """The meter the preamble names, then the readings of the rows after the header.

    ``ragged``: a row may end early (a sheet does not store its empty trailing cells);
    otherwise a row shorter than the header is a line cut short.
    """
    columns = head.columns
    assert columns is not None
    if meter := head.preamble.get("meter"):
        yield Meter(
            meter[:64],
            contract=head.preamble.get("contract"),
            supplier=head.preamble.get("supplier"),
            address=head.preamble.get("address"),
        )
    if (columns.use is not None and columns.use_unit is None) or (
        columns.index is not None and columns.index_unit is None
    ):
        sample = list(itertools.islice(rows, UNIT_SAMPLE))
        yield from _infer_units(columns, sample)
        rows = itertools.chain(sample, rows)
    yield from _readings(rows, columns, place, ragged)


def _readings(rows: Iterator[Row], columns: Columns, place: str, ragged: bool) -> Iterator[Item]:
    empty = estimated = 0
    for row in rows:
        if isinstance(row, Problem):
            yield row
            continue
        number, cells = row
        at = f"{place} {number}"
        if not any(c.strip() for c in cells):
            continue
        if len(cells) < columns.width:
            if not ragged:  # a file cut in its last line, or a line cut short
                yield Problem(
                    at, f"{len(cells)} field(s) where the header has {columns.width}: cut?"
                )
                continue
            cells = cells + [""] * (columns.width - len(cells))
        date = parse_date(_cell(cells, columns.date))
        if date is None:
            yield Problem(at, f"not a date: {_cell(cells, columns.date)[:40]!r}")
            continue
        use = _volume(cells, columns.use, columns.use_unit)
        index = _volume(cells, columns.index, columns.index_unit)
        if isinstance(use, str) or isinstance(index, str):
            yield Problem(at, f"not a volume: {use if isinstance(use, str) else index}")
            continue
        if use is None and index is None:
            empty += 1  # a day the utility has not read yet (eau.veolia.fr lists them)
            continue
        if (use is not None and not 0 <= use <= MAX_LITRES) or (
            index is not None and not 0 <= index <= MAX_LITRES
        ):
            yield Problem(at, "a negative or impossibly large volume: left out")
            continue
        flag = normalise(_cell(cells, columns.flag)) if columns.flag is not None else ""
        is_estimate = flag.startswith("estim") or flag == "e"
        estimated += is_estimate
        day, period = date.day, date.period
        if columns.monthly and period == "day":
            day, period = day.replace(day=1), "month"
        meter = _cell(cells, columns.meter).strip()[:64] if columns.meter is not None else ""
        yield Reading(day, period, use, index, date.at, estimated=is_estimate, meter=meter or None)
    if empty:
        yield Note(f"{empty} line(s) without a reading yet (left for a later export)")
    if estimated:
        yield Note(f"{estimated} reading(s) estimated by the utility, not read on the meter")


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""


# --- what the header says -----------------------------------------------------------------


def header(cells: list[str]) -> Columns | None:
    """The columns ``cells`` name, if they are a water table's header."""
    date = use = index = flag = meter = None
    monthly = False
    for i, cell in enumerate(cells):
        name = normalise(cell.strip().strip('"'))
        if not name or len(name) > 80:
            continue
        if ("mesure" in name and "estime" in name) or "type de releve" in name:
            flag = i if flag is None else flag
        elif "index" in name:
            index = i if index is None else index
        elif any(word in name for word in ("consommation", "conso", "volume", "quantite")):
            use = i if use is None else use
        elif "compteur" in name:
            meter = i if meter is None else meter
        elif date is None and name.startswith(("date", "jour", "mois", "periode")):
            date, monthly = i, name.startswith("mois")
    if date is None or (use is None and index is None) or not _speaks_water(cells):
        return None
    return Columns(
        date,
        monthly,
        use,
        unit_in(cells[use]) if use is not None else None,
        index,
        unit_in(cells[index]) if index is not None else None,
        flag,
        meter,
    )


def _speaks_water(cells: list[str]) -> bool:
    """A volume in litres or m³, "consommation", or a meter reading: not a stock
    market's ``date,open,close,volume``."""
    names = [normalise(c) for c in cells]
    return any(unit_in(c) is not None for c in cells) or any(
        "consommation" in n or "releve" in n or ("mesure" in n and "estime" in n) for n in names
    )


_PREAMBLE_KEYS = (
    ("meter", ("compteur",)),
    ("contract", ("contrat", "abonnement", "reference client", "ref client")),
    ("address", ("adresse",)),
    ("supplier", ("fournisseur", "distributeur", "service des eaux")),
)


def _preamble(cells: list[str], found: dict[str, str]) -> None:
    """``N° de compteur;12345678`` or ``Contrat : 1234`` above the table."""
    values = [c.strip() for c in cells if c.strip()]
    if len(values) == 1 and ":" in values[0]:
        values = [part.strip() for part in values[0].split(":", 1)]
    if len(values) < 2:
        return
    key = normalise(values[0])
    for name, words in _PREAMBLE_KEYS:
        if name not in found and any(word in key for word in words):
            found[name] = values[1][:256]


# --- volumes ------------------------------------------------------------------------------


def _volume(cells: list[str], column: int | None, unit: Unit | None) -> float | str | None:
    """Litres, ``None`` for an empty cell, or the text that is not a number."""
    text = _cell(cells, column).strip()
    if not text:
        return None
    value = parse_decimal(text)
    if value is None:
        return repr(text[:40])
    return to_litres(value, unit or "L")


def _infer_units(columns: Columns, sample: list[Row]) -> Iterator[Note]:
    for attr, label in (("use", "consumption"), ("index", "index")):
        column = getattr(columns, attr)
        if column is None or getattr(columns, f"{attr}_unit") is not None:
            continue
        values = [
            parse_decimal(_cell(row[1], column))
            for row in sample
            if not isinstance(row, Problem) and _cell(row[1], column).strip()
        ]
        fractional = any(v is not None and v != v.to_integral_value() for v in values)
        unit: Unit = "m3" if fractional else "L"
        setattr(columns, f"{attr}_unit", unit)
        yield Note(
            f"the {label} column states no unit: read as "
            + ("m³ (its values have decimals)" if fractional else "litres (whole numbers)")
        )
