"""Water: the consumption history a utility's customer area exports (CSV, JSON, Excel).

Daily or monthly use and the meter's index, in litres or m³, from Veolia (Eau
d'Île-de-France, eau-services.com, eau.veolia.fr), Eau du Grand Lyon, Suez "Tout sur mon
eau" and the agencies built like them → series in litres (:mod:`.store`) and, when the
export names the meter, a ``selfdata.energy.contracts`` document.

Parsing is separate from fetching: :mod:`.csv_export` and :mod:`.excel` (``.xls``,
``.xlsx``), which share :mod:`.table` for what a row means, and :mod:`.json_export` turn
bytes into :class:`~.model.Reading` values, and :func:`~.store.store_water` writes them into any
sink — the box for ``selfdata import FILE``, or a connector's ``ctx``. A portal connector
(log in, fetch ``consommationsJournalieres``) would reuse both: docs/sources/water.md.
"""

from __future__ import annotations

from ..safe_zip import is_zip
from ..sdk import Manifest
from ..sinks import IngestReport, Sink, SourceFile, head_text
from .csv_export import detect_csv, read_csv
from .excel import OLE2, looks_like_spreadsheet, read_spreadsheet, spreadsheet_kind
from .json_export import detect_json, read_json
from .store import CONTRACTS, SERIES, store_water
from .xlsx_guard import is_workbook

__all__ = [
    "CONTRACTS",
    "FORMAT",
    "MANIFEST",
    "SERIES",
    "detect",
    "detect_source",
    "ingest",
    "is_workbook",
]

FORMAT = "water"

MANIFEST = Manifest(
    id="water-files",
    name="Water consumption (utility export)",
    vendor="Any water utility",
    description="Daily or monthly water use and the meter's index from the consumption "
    "history your water utility's customer area exports (CSV, JSON, .xls or .xlsx): Veolia, Eau du "
    "Grand Lyon, Suez and others.",
    doctypes=(CONTRACTS,),
    series=(SERIES,),
    schedule="manual",
    category="utilities",
    file_formats=(FORMAT,),
    runs_locked=True,
)


def detect(name: str, head: bytes) -> bool:
    """From the first bytes only (the file-source hook); :func:`detect_source` is exact
    for spreadsheets, which it tells from an old Word file or another zip."""
    if detect_json(head) or looks_like_spreadsheet(head):
        return True
    text = head_text(head)
    return text is not None and detect_csv(text)


def detect_source(source: SourceFile) -> bool:
    """Whether ``source`` is a water export, by its content (for a zip: its index)."""
    head = source.head()
    if head.startswith(OLE2) or is_zip(head):
        return spreadsheet_kind(source) is not None
    return detect(source.name, head)


async def ingest(sink: Sink, source: SourceFile, report: IngestReport) -> None:
    source.file.seek(0)
    head = source.head()
    if head.startswith(OLE2) or is_zip(head):
        items = read_spreadsheet(source.file, source.name)
    elif detect_json(head):
        items = read_json(source.file, source.name)
    else:
        source.file.seek(0)
        items = read_csv(source.file, source.name)
    await store_water(sink, report, items, FORMAT)
