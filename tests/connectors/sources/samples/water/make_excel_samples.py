"""How the Excel samples next to this file were made (README.md says whose shape each has).

Run once, by hand, in a venv that has xlwt (not a Debian trixie package, and not needed by
the tests, which only read the files this writes):

    .venv/bin/python -m pip install xlwt==1.3.0
    .venv/bin/python tests/connectors/sources/samples/water/make_excel_samples.py
    .venv/bin/python -m pip uninstall --yes xlwt

xlwt writes BIFF8 (Excel 97-2003), the format of the utilities' .xls exports; openpyxl
writes the .xlsx. Values are invented.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import xlwt  # type: ignore[import-not-found]

HERE = Path(__file__).parent
FIXED = dt.datetime(2024, 6, 1, 12, 0, 0)  # the .xlsx's creation date: same bytes each run


def veolia_historique() -> None:
    """service-client.veoliaeau.fr, Votre consommation › Historique › export: one sheet,
    a header row, then date (a real date cell), index, day's use (litres) and M/E."""
    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("Consommation")
    bold = xlwt.easyxf("font: bold on")
    day_format = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    for col, title in enumerate(
        ("Date de relevé", "Index relevé", "Consommation", "Type de relevé")
    ):
        sheet.write(0, col, title, bold)
    index = 412_118
    uses = (301, 287, 344, 344, 260, 0, 512, 398, 275, 310, 289, 402)
    for n, use in enumerate(uses):
        index += use
        row = n + 1
        sheet.write(row, 0, dt.datetime(2024, 1, 20) + dt.timedelta(days=n), day_format)
        sheet.write(row, 1, index)
        sheet.write(row, 2, use)
        sheet.write(row, 3, "E" if n in (2, 3) else "M")
    book.save(str(HERE / "veolia-historique.xls"))


def releve_tableur() -> None:
    """A table re-saved as .xls by a spreadsheet on a Mac (1904 date system): a summary
    sheet first, then the readings under a preamble naming the meter, m³ with decimals,
    two dates typed as text."""
    book = xlwt.Workbook(encoding="utf-8")
    book.dates_1904 = True
    summary = book.add_sheet("Synthèse")
    summary.write(0, 0, "Consommation annuelle")
    summary.write(2, 0, "Année")
    summary.write(2, 1, "Total (m3)")
    summary.write(3, 0, 2023)
    summary.write(3, 1, 112.4)
    sheet = book.add_sheet("Relevés")
    sheet.write(0, 0, "N° de compteur")
    sheet.write(0, 1, "I21BA012345")
    sheet.write(1, 0, "Référence contrat")
    sheet.write(1, 1, "9012345678")
    sheet.write(2, 0, "Adresse")
    sheet.write(2, 1, "12 rue de la Pépinière 69003 Lyon")
    for col, title in enumerate(("Date", "Index (m³)", "Consommation (m³)")):
        sheet.write(4, col, title)
    day_format = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    rows = (
        (dt.datetime(2024, 2, 10), 451.176, 0.312),
        (dt.datetime(2024, 2, 11), 451.459, 0.283),
        (dt.datetime(2024, 2, 12), 451.801, 0.342),
        ("13/02/2024", 452.100, 0.299),
        ("14/02/2024", 452.377, 0.277),
    )
    for n, (day, index, use) in enumerate(rows):
        if isinstance(day, dt.datetime):
            sheet.write(5 + n, 0, day, day_format)
        else:
            sheet.write(5 + n, 0, day)
        sheet.write(5 + n, 1, index)
        sheet.write(5 + n, 2, use)
    book.save(str(HERE / "releve-tableur-1904.xls"))


def suez_tout_sur_mon_eau() -> None:
    """toutsurmoneau.fr, historique de consommation › export, daily: a header row, then
    the date as text (dd-mm-yyyy), the day's use and the index, both in m³."""
    book = openpyxl.Workbook()
    book.properties.created = book.properties.modified = FIXED
    sheet = book.active
    assert sheet is not None
    sheet.title = "Consommation"
    sheet.append(["Date", "Consommation (m3)", "Index (m3)"])
    index = 1198.335
    for n, use in enumerate((0.301, 0.345, 0.244, 0.0, 0.412, 0.298)):
        index += use
        day = dt.date(2024, 5, 1) + dt.timedelta(days=n)
        sheet.append([day.strftime("%d-%m-%Y"), use, round(index, 3)])
    book.save(HERE / "suez-tout-sur-mon-eau.xlsx")


if __name__ == "__main__":
    veolia_historique()
    releve_tableur()
    suez_tout_sur_mon_eau()
