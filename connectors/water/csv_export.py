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

What the cells mean (columns found by their header, units, the preamble) is decided by
:mod:`.table`, which reads spreadsheets too. Lines are read one by one (64 KiB each at
most): a file of any size streams, and a bad line is a
:class:`~selfdata.connectors.sinks.Problem`, never the end of the file.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import BinaryIO

from ..sinks import Problem
from .table import MAX_PREAMBLE, Item, Row, header, read_table

__all__ = ["MAX_LINE", "detect_csv", "read_csv"]

MAX_LINE = 64 * 1024
_DELIMITERS = (";", "\t", ",")


def detect_csv(text: str) -> bool:
    """Whether ``text`` (a file's decoded head) holds a water consumption table."""
    for number, line in enumerate(text.splitlines()):
        if number >= MAX_PREAMBLE:
            break
        if header(_cells(line, _delimiter(line))) is not None:
            return True
    return False


def read_csv(file: BinaryIO, where: str) -> Iterator[Item]:
    return read_table(_rows(_lines(file, where)), where, f"{where} line")


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


def _rows(lines: Iterator[tuple[int, str] | Problem]) -> Iterator[Row]:
    """Lines as cells: each line split at its own most frequent delimiter until the
    header, then every line at the header's."""
    delimiter: str | None = None
    for item in lines:
        if isinstance(item, Problem):
            yield item
            continue
        number, text = item
        if delimiter is not None:
            yield number, _cells(text, delimiter)
            continue
        cells = _cells(text, _delimiter(text))
        if header(cells) is not None:
            delimiter = _delimiter(text)
        yield number, cells


def _delimiter(line: str) -> str:
    return max(_DELIMITERS, key=line.count)


def _cells(line: str, delimiter: str) -> list[str]:
    try:
        return next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        return line.split(delimiter)
