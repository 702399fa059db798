"""Water consumption exports as CSV, the way French utilities' customer areas write them.

Formats this reads (samples in tests/connectors/sources/samples/water/, and where each
comes from in docs/sources/water.md):

* Veolia Eau d'Île-de-France, "Télécharger la période" (``historique_jours_litres.csv``):
  UTF-8 with a BOM, ``;``, ``Date de relevé;Index relevé (litres);Consommation du jour
  (litres);Index Mesuré/Estimé``, dates ``2022-09-25 20:00:00``; the monthly file has
  ``Mois;Index relevé fin de mois (litres);Consommation du mois (litres);…`` and ``04/2022``;
* Veolia's "Espace suivi personnalisé" (eau-services.com, and Eau du Grand Lyon's agency
  until 2024): ``;``, a ``consommation(litre)`` column, dates ``dd/mm/yyyy``;
* eau.veolia.fr's daily export: ``,``, ``Date de relevé,Consommation,Index relevé,Index
  mesuré/estimé,Écoulement``, no unit in the header;
* the same tables re-saved by a spreadsheet: latin-1 or Windows-1252, decimal commas,
  ``m3``/``m³`` columns, a preamble naming the meter (``N° de compteur;12345678``).

Columns are found by what their header says (date, consumption, index, measured or
estimated, meter), not by position. A column whose header states no unit is read as
litres when its values are whole numbers and as m³ when they have decimals; the report
says so. Lines are read one by one (64 KiB each at most): a file of any size streams, and
a bad line is a :class:`~selfdata.connectors.sinks.Problem`, never the end of the file.
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from ..numbers import parse_decimal
from ..sinks import Note, Problem
from .model import MAX_LITRES, Meter, Reading, Unit, normalise, parse_date, to_litres, unit_in

__all__ = ["MAX_LINE", "detect_csv", "read_csv"]

MAX_LINE = 64 * 1024
#: Lines before the header that may name the meter and contract.
MAX_PREAMBLE = 50
#: Lines read before deciding the unit of a column whose header states none.
UNIT_SAMPLE = 200
_DELIMITERS = (";", "\t", ",")

Item = Reading | Meter | Problem | Note


@dataclass
class _Columns:
    date: int
    monthly: bool
    use: int | None = None
    use_unit: Unit | None = None
    index: int | None = None
    index_unit: Unit | None = None
    flag: int | None = None
    meter: int | None = None


def detect_csv(text: str) -> bool:
    """Whether ``text`` (a file's decoded head) holds a water consumption table."""
    for number, line in enumerate(text.splitlines()):
        if number >= MAX_PREAMBLE:
            break
        columns = _header(_cells(line, _delimiter(line)))
        if columns is not None:
            return True
    return False


def read_csv(file: BinaryIO, where: str) -> Iterator[Item]:
    lines = _lines(file, where)
    columns: _Columns | None = None
    delimiter = ";"
    preamble: dict[str, str] = {}
    for item in lines:
        if isinstance(item, Problem):
            yield item
            continue
        number, text = item
        if not text.strip():
            continue
        delimiter = _delimiter(text)
        cells = _cells(text, delimiter)
        columns = _header(cells)
        if columns is not None:
            break
        if number >= MAX_PREAMBLE:
            break
        _preamble(cells, preamble)
    if columns is None:
        yield Problem(
            where,
            "no header line naming a date and a consumption or index column: "
            "not a water consumption export",
        )
        return
    if meter := preamble.get("meter"):
        yield Meter(
            meter[:64],
            contract=preamble.get("contract"),
            supplier=preamble.get("supplier"),
            address=preamble.get("address"),
        )
    rows = _rows(lines, delimiter)
    if (columns.use is not None and columns.use_unit is None) or (
        columns.index is not None and columns.index_unit is None
    ):
        sample = list(itertools.islice(rows, UNIT_SAMPLE))
        yield from _infer_units(columns, sample)
        rows = itertools.chain(sample, rows)
    yield from _readings(rows, columns, where)


def _readings(
    rows: Iterator[tuple[int, list[str]] | Problem], columns: _Columns, where: str
) -> Iterator[Item]:
    empty = estimated = 0
    needed = max(c for c in (columns.date, columns.use, columns.index) if c is not None)
    for row in rows:
        if isinstance(row, Problem):
            yield row
            continue
        number, cells = row
        at = f"{where} line {number}"
        if not any(c.strip() for c in cells):
            continue
        if len(cells) <= needed:  # a file cut in its last line, or a line cut short
            yield Problem(at, f"{len(cells)} field(s) where the header has {needed + 1}: cut?")
            continue
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


# --- lines and cells -----------------------------------------------------------------------


def _lines(file: BinaryIO, where: str) -> Iterator[tuple[int, str] | Problem]:
    """Each line, decoded (UTF-8, else Windows-1252: a file re-saved by a spreadsheet),
    at most :data:`MAX_LINE` bytes; a longer one is skipped and reported."""
    number = 0
    while raw := file.readline(MAX_LINE + 1):
        number += 1
        if len(raw) > MAX_LINE and not raw.endswith(b"\n"):
            while (more := file.readline(MAX_LINE)) and not more.endswith(b"\n"):
                pass
            yield Problem(f"{where} line {number}", f"longer than {MAX_LINE:,} bytes: skipped")
            continue
        if b"\0" in raw:
            yield Problem(f"{where} line {number}", "binary data, not text: skipped")
            continue
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("cp1252", errors="replace")
        if number == 1:
            text = text.lstrip("\ufeff")
        yield number, text.rstrip("\r\n")


def _rows(
    lines: Iterator[tuple[int, str] | Problem], delimiter: str
) -> Iterator[tuple[int, list[str]] | Problem]:
    for item in lines:
        if isinstance(item, Problem):
            yield item
        else:
            yield item[0], _cells(item[1], delimiter)


def _delimiter(line: str) -> str:
    return max(_DELIMITERS, key=line.count)


def _cells(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return line.split(delimiter)


def _cell(cells: list[str], index: int | None) -> str:
    return cells[index] if index is not None and index < len(cells) else ""


# --- what the header says -----------------------------------------------------------------


def _header(cells: list[str]) -> _Columns | None:
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
    return _Columns(
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


def _infer_units(
    columns: _Columns, sample: list[tuple[int, list[str]] | Problem]
) -> Iterator[Note]:
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
