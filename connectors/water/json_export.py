"""Water consumption as the utilities' customer areas answer it in JSON.

The same answers a portal connector would fetch; saved to a file (the browser's
"save as", or a script), they import the same way. Shapes (docs/sources/water.md):

* Eau du Grand Lyon's agency (agence.eaudugrandlyon.com, since 2025),
  ``…/contrats/{id}/consommationsJournalieres``: ``{"postes": [{"data": [{…}]}]}`` (or the
  list under ``consommationsJournalieres``/``data``); each entry has a ``date`` (or
  ``jour``/``mois``/``annee`` with ``mois`` counted from 0, JavaScript's way), the index
  and ``consommation`` in litres;
* Suez "Tout sur mon eau" (``/public-api/cel-consumption/telemetry``):
  ``{"content": {"measures": [{"date", "index", "volume"}]}}`` in m³;
* Agur-like agencies (``…/TableauDeBord/…``): objects with ``dateReleve``,
  ``volumeConsoEnLitres`` or ``volumeConsoEnM3`` and ``valeurIndex`` (litres).

Records stream (ijson): a truncated file keeps what comes before the damage.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any, BinaryIO

from ..json_stream import sniff, stream_items
from ..numbers import parse_decimal
from ..sinks import Note, Problem
from .model import MAX_LITRES, Meter, Reading, Unit, parse_date, to_litres

__all__ = ["detect_json", "read_json"]

#: Where the records are, by the key path leading to their list, and their dialect.
_LISTS: dict[tuple[str, str], tuple[str, str]] = {
    ("", "postes"): ("postes.item.data.item", "egl"),
    ("", "consommationsJournalieres"): ("consommationsJournalieres.item", "egl"),
    ("content", "measures"): ("content.measures.item", "suez"),
    ("", "measures"): ("measures.item", "suez"),
    ("", "data"): ("data.item", "egl"),
}
#: Keys whose presence in a file's head says it is a water export.
_MARKERS = (
    b'"consommationsJournalieres"',
    b'"volumeConsoEnLitres"',
    b'"volumeConsoEnM3"',
    b'"valeurIndex"',
    b'"postes"',
)
_DATE_KEYS = ("date", "dateReleve", "date_releve", "dateDebut", "dateJour", "dateMesure")
_LITRE_KEYS = ("volumeConsoEnLitres", "consommationLitres", "volumeLitres", "volume_litre")
_M3_KEYS = ("volumeConsoEnM3", "consommationM3", "volumeM3", "volume_m3")
_INDEX_KEYS = ("valeurIndex", "index", "indexCompteur", "releve", "index_m3")
_METER_KEYS = ("numeroCompteur", "numero_compteur", "numeroSerieCompteur", "idPDS")
_CONTRACT_KEYS = ("numeroContratAbonnement", "referenceContrat", "reference", "id_abonnement")
#: Per dialect: the unit of its plain "consommation"/"volume" keys and of its index.
_DIALECT_UNITS: dict[str, tuple[Unit, Unit | None]] = {
    "egl": ("L", None),  # the index's unit is not documented: told by its values
    "suez": ("m3", "m3"),
    "list": ("L", None),
}
_UNIT_SAMPLE = 200
_BOM = b"\xef\xbb\xbf"


def detect_json(head: bytes) -> bool:
    start = head.lstrip(_BOM + b" \t\r\n")[:1]
    if start not in (b"{", b"["):
        return False
    if any(marker in head for marker in _MARKERS):
        return True
    return b'"measures"' in head and (b'"index"' in head or b'"volume"' in head)


def read_json(file: BinaryIO, where: str) -> Iterator[Reading | Meter | Problem | Note]:
    file.seek(0)
    head = file.read(256 * 1024)
    # past a UTF-8 byte-order mark (ijson refuses one), straight on the file: a number
    # wider than 64 bits makes stream_items read it again from here, which takes a seek
    file.seek(len(_BOM) if head.startswith(_BOM) else 0)
    events = sniff(head.removeprefix(_BOM), 2000)
    prefix, dialect = _records_prefix(events)
    if meter := _top_level(events, _METER_KEYS):
        yield Meter(meter[:64], contract=_top_level(events, _CONTRACT_KEYS))
    records = stream_items(file, prefix, where)
    sample = list(itertools.islice(records, _UNIT_SAMPLE))
    use_unit, index_unit = _DIALECT_UNITS[dialect]
    if index_unit is None:
        index_unit = _index_unit(r for r in sample if isinstance(r, Mapping))
    count = problems = 0
    for record in itertools.chain(sample, records):
        if isinstance(record, Problem):
            problems += 1
            yield record
            continue
        count += 1
        at = f"{where} record {count}"
        if not isinstance(record, Mapping):
            yield Problem(at, "not a JSON object")
            continue
        yield _reading(record, at, use_unit, index_unit)
    if count == 0 and not problems:
        yield Problem(where, "no consumption records in this JSON")


def _records_prefix(events: list[tuple[str, str, Any]]) -> tuple[str, str]:
    if events and events[0][1] == "start_array":
        return "item", "list"
    for prefix, event, value in events:
        if event == "map_key" and (prefix, value) in _LISTS:
            return _LISTS[(prefix, value)]
    return "item", "list"  # a single object: no record found, said at the end


def _top_level(events: list[tuple[str, str, Any]], keys: tuple[str, ...]) -> str | None:
    for (prefix, event, value), (_, kind, found) in itertools.pairwise(events):
        top = prefix == "" and event == "map_key" and value in keys
        if top and kind in ("string", "number") and str(found).strip():
            return str(found).strip()
    return None


def _reading(
    record: Mapping[str, Any], at: str, use_unit: Unit, index_unit: Unit
) -> Reading | Problem:
    date = _date(record)
    if date is None:
        return Problem(at, "no date in the record")
    use = _first(record, _LITRE_KEYS, "L")
    if use is None:
        use = _first(record, _M3_KEYS, "m3")
    if use is None:
        use = _first(record, ("consommation", "volume", "quantite"), use_unit)
    index = _first(record, _INDEX_KEYS, index_unit)
    if isinstance(use, str) or isinstance(index, str):
        return Problem(at, f"not a volume: {use if isinstance(use, str) else index}")
    if use is None and index is None:
        return Problem(at, "neither a consumption nor an index")
    if any(v is not None and not 0 <= v <= MAX_LITRES for v in (use, index)):
        return Problem(at, "a negative or impossibly large volume: left out")
    meter = next((str(record[k]).strip() for k in _METER_KEYS if record.get(k)), None)
    kind = str(record.get("typeReleve") or record.get("type") or "").lower()
    return Reading(
        date.day,
        date.period,
        use,
        index,
        date.at,
        estimated=kind.startswith("estim"),
        meter=meter[:64] if meter else None,
    )


def _date(record: Mapping[str, Any]) -> Any:
    for key in _DATE_KEYS:
        value = record.get(key)
        if isinstance(value, str) and (parsed := parse_date(value)) is not None:
            return parsed
    parts = [record.get(k) for k in ("jour", "mois", "annee")]
    if all(isinstance(p, int | float | str) and str(p).strip().isdigit() for p in parts):
        day, month, year = (int(str(p).strip()) for p in parts)
        # months counted from 0 (JavaScript's Date), as the Grand Lyon agency sends them
        return parse_date(f"{day:02d}/{month + 1:02d}/{year:04d}")
    return None


def _first(record: Mapping[str, Any], keys: tuple[str, ...], unit: Unit) -> float | str | None:
    for key in keys:
        if key not in record or record[key] is None or record[key] == "":
            continue
        value = _decimal(record[key])
        if value is None:
            return repr(str(record[key])[:40])
        return to_litres(value, unit)
    return None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return parse_decimal(repr(value))
    if isinstance(value, str):
        return parse_decimal(value)
    return None


def _index_unit(records: Iterator[Mapping[str, Any]]) -> Unit:
    """An index with decimals is in m³ (``1198.636``); a whole one in litres."""
    for record in records:
        for key in _INDEX_KEYS:
            value = _decimal(record.get(key)) if key in record else None
            if value is not None and value != value.to_integral_value():
                return "m3"
    return "L"
