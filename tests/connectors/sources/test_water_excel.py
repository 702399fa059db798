"""Water exports as spreadsheets (.xls, .xlsx) into a real box, read like their CSV.

Samples: tests/connectors/sources/samples/water/ (README.md there says whose shape each
follows and how the .xls were made). Other workbooks are written here with openpyxl, or
by hand (hostile ones), as bytes.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import random
import struct
import tracemalloc
from collections.abc import Iterable

import openpyxl
import pytest
from selfdata.box import Box
from selfdata.connectors.files import detect_source, import_file
from selfdata.connectors.meters import day_epoch
from selfdata.connectors.sinks import Problem, SourceFile
from selfdata.connectors.water import excel
from selfdata.connectors.water.csv_export import read_csv
from selfdata.connectors.water.excel import read_spreadsheet
from selfdata.connectors.water.model import Reading
from selfdata.connectors.water.xls_guard import xls_refusal
from selfdata.errors import InputError

from .file_helpers import documents, ingest, sample, zip_bytes
from .test_water import CONTRACTS, daily

MiB = 1024 * 1024


def water(name: str) -> bytes:
    return sample("water", name)


def workbook(*sheets: tuple[str, Iterable[Iterable[object]]]) -> bytes:
    """An .xlsx as openpyxl writes it (real date cells for datetime values)."""
    book = openpyxl.Workbook()
    book.remove(book.active)  # type: ignore[arg-type]
    for title, rows in sheets:
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(list(row))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_MAIN = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_STRINGS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


def cells(rows: Iterable[Iterable[object]]) -> str:
    """``<row>`` elements: text as shared-string indexes when given as ``("s", n)``."""
    out = []
    for number, row in enumerate(rows, 1):
        out.append(f'<row r="{number}">')
        for value in row:
            if isinstance(value, tuple):
                out.append(f'<c t="s"><v>{value[1]}</v></c>')
            elif isinstance(value, str):
                out.append(f'<c t="inlineStr"><is><t>{value}</t></is></c>')
            else:
                out.append(f"<c><v>{value}</v></c>")
        out.append("</row>")
    return "".join(out)


def hand_made(
    sheet_data: str,
    *,
    strings: str | None = None,
    types: str = "",
    extra: dict[str, bytes | str] | None = None,
    dimension: str = "A1:B3",
) -> bytes:
    """A minimal .xlsx written part by part, to make it say what openpyxl never would."""
    overrides = (
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
        'officedocument.spreadsheetml.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_SHEET_TYPE}"/>'
    )
    rels = f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    parts: dict[str, bytes | str] = {}
    if strings is not None:
        overrides += f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_STRINGS_TYPE}"/>'
        rels += f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        parts["xl/sharedStrings.xml"] = strings
    parts |= {
        "[Content_Types].xml": '<Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
        'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f"{overrides}{types}</Types>",
        "_rels/.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{_REL}/officeDocument" '
        'Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook {_MAIN} xmlns:r="{_REL}"><sheets><sheet name="Relevés" '
        'sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/'
        f'package/2006/relationships">{rels}</Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet {_MAIN}><dimension ref="{dimension}"/>'
        f"<sheetData>{sheet_data}</sheetData></worksheet>",
        **(extra or {}),
    }
    return zip_bytes(parts)


GOOD_ROWS = [["Date de relevé", "Consommation (litres)"], ["01/03/2024", 300], ["02/03/2024", 310]]


async def problems(box: Box, name: str, data: bytes) -> list[str]:
    report = await ingest(box, name, data)
    assert report["stored"] == 0
    return [p["message"] for p in report["error_samples"]]


# --- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["veolia-historique.xls", "releve-tableur-1904.xls", "suez-tout-sur-mon-eau.xlsx"]
)
def test_spreadsheets_are_detected_by_content(name: str) -> None:
    # by content, not by name: the same bytes called "export" are water too
    assert detect_source(SourceFile("export", io.BytesIO(water(name)))) == "water"


def test_zips_of_other_kinds_are_not_taken_for_spreadsheets() -> None:
    xlsx = water("suez-tout-sur-mon-eau.xlsx")
    takeout = zip_bytes({"Takeout/Drive/conso.xlsx": xlsx, "Takeout/xl/workbook.xml": "<x/>"})
    assert detect_source(SourceFile("t.zip", io.BytesIO(takeout))) == "takeout"
    facebook = zip_bytes(
        {"your_activity_across_facebook/messages/inbox/a/message_1.json": "{}", "x.xlsx": xlsx}
    )
    assert detect_source(SourceFile("f.zip", io.BytesIO(facebook))) == "facebook"
    docx = zip_bytes({"[Content_Types].xml": "<Types/>", "word/document.xml": "<w/>"})
    with pytest.raises(InputError, match=r"nor an \.xlsx spreadsheet"):
        detect_source(SourceFile("lettre.docx", io.BytesIO(docx)))


def test_an_old_word_file_is_not_a_spreadsheet() -> None:
    xls = water("veolia-historique.xls")
    # the same compound file with its one stream renamed: an OLE2 file holding no workbook
    doc = xls.replace("Workbook".encode("utf-16-le"), "Document".encode("utf-16-le"))
    assert doc != xls
    with pytest.raises(InputError, match="cannot tell"):
        detect_source(SourceFile("lettre.doc", io.BytesIO(doc)))


# --- what they hold -------------------------------------------------------------------------


async def test_veolia_historique_xls(box: Box) -> None:
    report = await ingest(box, "historique.xls", water("veolia-historique.xls"))
    assert report["format"] == "water"
    assert report["errors"] == 0
    assert report["series"] == {"water/daily": 12, "water/index": 12}
    days = await daily(box)
    assert days["2024-01-20 00:00"] == 301.0  # a real date cell, at the local midnight
    assert days["2024-01-25 00:00"] == 0.0
    assert (await daily(box, "water/index"))["2024-01-31 00:00"] == 415_840.0
    notes = " | ".join(report["notes"])
    assert "2 reading(s) estimated" in notes  # "E" in the type column
    assert "consumption column states no unit: read as litres" in notes


async def test_a_mac_spreadsheet_with_two_sheets_and_its_meter(box: Box) -> None:
    report = await ingest(box, "releve.xls", water("releve-tableur-1904.xls"))
    assert report["errors"] == 0
    assert any("read 'Relevés'" in n and "'Synthèse'" in n for n in report["notes"])
    (contract,) = await documents(box, CONTRACTS)
    assert (contract["meterId"], contract["vendorId"]) == ("I21BA012345", "9012345678")
    days = await daily(box, "water/daily/I21BA012345")
    # date cells of the 1904 calendar, and dates typed as text, are the same days
    assert days == {
        "2024-02-10 00:00": pytest.approx(312.0),
        "2024-02-11 00:00": pytest.approx(283.0),
        "2024-02-12 00:00": pytest.approx(342.0),
        "2024-02-13 00:00": pytest.approx(299.0),
        "2024-02-14 00:00": pytest.approx(277.0),
    }


async def test_suez_xlsx_in_m3(box: Box) -> None:
    report = await ingest(box, "export.xlsx", water("suez-tout-sur-mon-eau.xlsx"))
    assert report["errors"] == 0
    assert report["series"] == {"water/daily": 6, "water/index": 6}
    assert (await daily(box))["2024-05-05 00:00"] == pytest.approx(412.0)
    assert (await daily(box, "water/index"))["2024-05-01 00:00"] == pytest.approx(1_198_636.0)


def _as_cell(text: str) -> object:
    """What a spreadsheet makes of a CSV cell: numbers, real dates (with their time)."""
    for pattern in ("%Y-%m-%d %H:%M:%S", "%d/%m/%Y", "%m/%Y"):
        try:
            return dt.datetime.strptime(text, pattern)
        except ValueError:
            pass
    try:
        return int(text)
    except ValueError:
        return text


def _midnight_as_day(item: object) -> object:
    """A date cell at 00:00 is its day: the same point in the store as ``00:00:00`` text."""
    if isinstance(item, Reading) and item.at == day_epoch(item.day):
        return dataclasses.replace(item, at=None)
    return item


@pytest.mark.parametrize(
    "name",
    [
        "historique_jours_litres.csv",
        "historique_mois_litres.csv",
        "releve-tableur-cp1252.csv",
        "eau-veolia-fr-journalieres-2025-04.csv",
    ],
)
def test_a_sheet_reads_like_the_csv_of_its_content(name: str) -> None:
    data = water(name)
    text = (
        data.decode("utf-8-sig") if name != "releve-tableur-cp1252.csv" else data.decode("cp1252")
    )
    delimiter = "," if name.startswith("eau-veolia") else ";"
    rows = [
        [_as_cell(c) for c in row] for row in csv.reader(io.StringIO(text), delimiter=delimiter)
    ]
    from_csv = [i for i in read_csv(io.BytesIO(data), name) if not isinstance(i, Problem)]
    from_sheet = list(read_spreadsheet(io.BytesIO(workbook(("Export", rows))), name))
    assert from_sheet == [_midnight_as_day(i) for i in from_csv]
    assert any(isinstance(i, Reading) for i in from_sheet)


async def test_formulas_are_never_evaluated(box: Box) -> None:
    day = '<c t="inlineStr"><is><t>0{}/03/2024</t></is></c>'
    sheet = cells([["Date de relevé", "Consommation (litres)"]]) + "".join(
        f'<row r="{n + 1}">{day.format(n)}{cell}</row>'
        for n, cell in enumerate(
            (
                "<c><f>1+1</f><v>300</v></c>",  # computed by the spreadsheet: 300
                '<c><f>WEBSERVICE("http://x")</f></c>',  # never computed
                "<c t=\"str\"><f>A1</f><v>=cmd|'/c calc'!A0</v></c>",  # text, not run
                '<c t="e"><v>#N/A</v></c>',
            ),
            1,
        )
    )
    report = await ingest(box, "f.xlsx", hand_made(sheet))
    # the value the spreadsheet computed is read; a formula never computed is an empty cell
    assert await daily(box) == {"2024-03-01 00:00": 300.0}
    assert report["errors"] == 2  # a formula's text and an error cell are not volumes
    assert all("not a volume" in p["message"] for p in report["error_samples"])
    assert report["error_samples"][0]["where"] == "f.xlsx sheet 'Relevés' row 4"
    assert any("1 line(s) without a reading yet" in n for n in report["notes"])


async def test_bad_cells_are_reported_and_the_others_kept(box: Box) -> None:
    rows = [
        ["Date de relevé", "Consommation (litres)"],
        [dt.datetime(2024, 3, 1), 300],
        ["32/03/2024", 300],
        [dt.datetime(2024, 3, 3), "beaucoup"],
        [dt.datetime(2024, 3, 4), -40],
        [dt.time(12, 0), 280],
        [dt.datetime(2024, 3, 6), 310],
    ]
    report = await ingest(box, "bad.xlsx", workbook(("Conso", rows)))
    assert report["errors"] == 4
    assert [p["where"] for p in report["error_samples"]] == [
        f"bad.xlsx sheet 'Conso' row {n}" for n in (3, 4, 5, 6)
    ]
    assert await daily(box) == {"2024-03-01 00:00": 300.0, "2024-03-06 00:00": 310.0}


async def test_the_first_sheet_with_a_table_is_read(box: Box) -> None:
    data = workbook(
        ("Graphique", []),
        ("Sans date", [["Compteur", "Consommation (litres)"], ["A", 1]]),
        ("Jours", GOOD_ROWS),
        ("Jours (copie)", [GOOD_ROWS[0], ["05/03/2024", 999]]),
    )
    report = await ingest(box, "w.xlsx", data)
    assert await daily(box) == {"2024-03-01 00:00": 300.0, "2024-03-02 00:00": 310.0}
    (note,) = report["notes"]
    assert note.startswith("4 sheets: read 'Jours'")
    assert "'Graphique', 'Sans date' before it had none" in note


@pytest.mark.parametrize(
    "sheets",
    [
        [("Feuil1", [])],  # an empty sheet
        [("Feuil1", [["Date", "Libellé", "Montant"], ["02/01/2024", "CB", -3.2]])],  # a bank's
        [("A", [["Index (litres)", "Consommation (litres)"], [1, 2]]), ("B", [])],  # no date
    ],
)
async def test_a_workbook_without_a_water_table_says_so(
    box: Box, sheets: list[tuple[str, list[list[object]]]]
) -> None:
    (message,) = await problems(box, "x.xlsx", workbook(*sheets))
    assert message.startswith("no sheet has a header row naming a date")
    assert f"({len(sheets)} sheet(s) looked at)" in message


# --- damaged, huge and hostile --------------------------------------------------------------


async def test_a_truncated_xls_is_one_clear_error(
    box: Box, capsys: pytest.CaptureFixture[str]
) -> None:
    data = water("veolia-historique.xls")
    (message,) = await problems(box, "cut.xls", data[: len(data) // 2])
    assert message.startswith("not a readable .xls workbook (")
    assert "download it again" in message
    assert capsys.readouterr().out == ""  # xlrd's own warnings go nowhere near stdout


async def test_random_bytes_after_an_ole2_header(box: Box) -> None:
    data = water("veolia-historique.xls")
    noise = random.Random(7).randbytes(len(data) - 512)
    (message,) = await problems(box, "noise.xls", data[:512] + noise)
    assert message.startswith("not a readable .xls workbook")


async def test_an_xls_too_big_for_memory_is_refused_unread(box: Box) -> None:
    data = excel.OLE2 + bytes(33 * MiB)
    (message,) = await problems(box, "huge.xls", data)
    assert "an .xls of 33 MiB, over the 32 MiB" in message


async def test_an_xls_that_would_fill_memory_is_refused_unread(box: Box) -> None:
    data = bytearray(water("veolia-historique.xls"))
    sst = data.index(b"\xfc\x00")  # the shared string table's record (one in this file)
    struct.pack_into("<i", data, sst + 8, 10_000_000)  # its count of unique strings
    (message,) = await problems(box, "sst.xls", bytes(data))
    assert "claims 10,000,000 strings, more than 200,000" in message
    assert message.endswith("which no water export has: refused")


def test_cells_far_to_the_right_count_as_the_rows_they_widen() -> None:
    def stream(col: int, rows: int) -> bytes:
        bof = struct.pack("<HH", 0x0809, 16) + bytes(16)
        number = b"".join(struct.pack("<HHHHHd", 0x0203, 14, r, col, 15, 1.0) for r in range(rows))
        return bof + number + struct.pack("<HH", 0x000A, 0)

    assert xls_refusal(stream(3, 60_000)) is None  # 240,000 slots: a long export
    refusal = xls_refusal(stream(255, 5_000))  # 20 kB of records, 1.28 million slots
    assert refusal is not None
    assert "more than 1,000,000" in refusal
    # each sheet starts afresh
    assert xls_refusal(stream(199, 4_000) * 2) is None


def _sized(data: bytes, name: str, size: int) -> bytes:
    """The archive with ``name``'s uncompressed size rewritten (local and central headers)."""
    out = bytearray(data)
    encoded = name.encode()
    for signature, name_at, size_at in ((b"PK\x03\x04", 30, 22), (b"PK\x01\x02", 46, 24)):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            if out[start + name_at : start + name_at + len(encoded)] == encoded:
                struct.pack_into("<I", out, start + size_at, size)
            start += 4
    return bytes(out)


@pytest.mark.parametrize(
    ("padding", "expected"),
    [
        (40 * MiB, "more than the 33,554,432 allowed"),  # honest headers: refused unread
        (10 * MiB, "inflates more than 200× its compressed size"),  # a ratio no sheet has
    ],
)
async def test_a_zip_bomb_sheet_is_refused(box: Box, padding: int, expected: str) -> None:
    sheet = cells(GOOD_ROWS) + " " * padding
    (message,) = await problems(box, "bomb.xlsx", hand_made(sheet))
    assert expected in message
    assert "refused" in message


async def test_sizes_the_headers_lie_about_are_refused(box: Box) -> None:
    data = _sized(hand_made(cells(GOOD_ROWS) + " " * (5 * MiB)), "xl/worksheets/sheet1.xml", 900)
    (message,) = await problems(box, "liar.xlsx", data)
    assert "refused" in message or "damaged" in message


def _strings(count: int) -> str:
    items = "".join(f"<si><t>{n % 100}</t></si>" for n in range(count))
    return f'<sst {_MAIN} count="{count}">{items}</sst>'


async def test_shared_strings_openpyxl_would_hold_whole_are_capped(box: Box) -> None:
    sheet = cells([[("s", 0), ("s", 1)], ["01/03/2024", 300]])
    fine = (
        _strings(2)
        .replace("<t>0</t>", "<t>Date</t>")
        .replace("<t>1</t>", "<t>Consommation (litres)</t>")
    )
    report = await ingest(box, "ok.xlsx", hand_made(sheet, strings=fine))
    assert report["errors"] == 0
    assert report["series"] == {"water/daily": 1}
    (message,) = await problems(box, "strings.xlsx", hand_made(sheet, strings=_strings(200_000)))
    assert "xl/sharedStrings.xml inflates to" in message
    assert "more than the 2,097,152 allowed" in message


async def test_an_entity_bomb_is_refused(box: Box) -> None:
    lol = (
        '<!DOCTYPE sst [<!ENTITY a "aaaaaaaaaa">'
        + "".join(
            f'<!ENTITY {x} "{("&" + y + ";") * 10}">'
            for x, y in zip("bcdefgh", "abcdefg", strict=True)
        )
        + "]>"
    )
    bomb = f'<?xml version="1.0"?>{lol}<sst {_MAIN}><si><t>&h;</t></si></sst>'
    sheet = cells([[("s", 0)], ["01/03/2024", 300]])
    (message,) = await problems(box, "lol.xlsx", hand_made(sheet, strings=bomb))
    assert "declares a DTD or entities" in message
    # and openpyxl itself reads shared strings with defusedxml, should one get that far
    from defusedxml import EntitiesForbidden
    from openpyxl.reader.strings import read_string_table

    assert openpyxl.DEFUSEDXML
    with pytest.raises(EntitiesForbidden):
        read_string_table(io.BytesIO(bomb.encode()))


async def test_a_big_sheet_streams_unless_declared_as_something_read_whole(box: Box) -> None:
    start = dt.date(1990, 1, 1)
    rows = [["Date de relevé", "Consommation (litres)"]] + [
        [(start + dt.timedelta(days=n)).strftime("%d/%m/%Y"), n % 700] for n in range(40_000)
    ]
    sheet = cells(rows)
    assert len(sheet) > 2 * MiB  # over the cap of a part openpyxl holds whole
    report = await ingest(box, "big.xlsx", hand_made(sheet))
    assert report["series"] == {"water/daily": 40_000}
    # the same sheet also declared as the shared strings: openpyxl would load it whole
    twice = f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_STRINGS_TYPE}"/>'
    (message,) = await problems(box, "twice.xlsx", hand_made(sheet, types=twice))
    assert "xl/worksheets/sheet1.xml inflates to" in message


async def test_entries_out_of_the_archive_are_refused(box: Box) -> None:
    data = hand_made(cells(GOOD_ROWS), extra={"../../etc/cron.d/x": "* * * * * root sh"})
    (message,) = await problems(box, "evil.xlsx", data)
    assert "points outside the archive" in message


async def test_a_damaged_sheet_keeps_the_rows_before_the_damage(box: Box) -> None:
    # the XML cut short in the middle of the sheet (its <dimension> came first, as always)
    data = hand_made(cells(GOOD_ROWS) + '<row r="4"><c><v>1</v></c><row')
    report = await ingest(box, "cut.xlsx", data)
    assert await daily(box) == {"2024-03-01 00:00": 300.0, "2024-03-02 00:00": 310.0}
    assert report["errors"] == 1
    assert "damaged after row 3" in report["error_samples"][0]["message"]


async def test_a_truncated_xlsx_is_one_clear_error(box: Box) -> None:
    data = water("suez-tout-sur-mon-eau.xlsx")
    with pytest.raises(InputError, match="truncated, download it again"):
        await ingest(box, "cut.xlsx", data[: len(data) - 100])
    # chosen by hand as water, the same bytes say it too
    report = await import_file(box, SourceFile("cut.xlsx", io.BytesIO(data[:-100])), fmt="water")
    assert "truncated" in report.problems[0].message


async def test_far_rows_and_columns_cost_nothing(box: Box) -> None:
    far = (
        '<row r="3"><c r="A3" t="inlineStr"><is><t>03/03/2024</t></is></c>'
        '<c r="B3"><v>320</v></c><c r="XFD3"><v>1</v></c></row>'
        '<row r="2000000"><c r="A2000000"><v>1</v></c></row>'
    )
    data = hand_made(cells(GOOD_ROWS[:2]) + far, dimension="A1:XFD2000000")
    report = await ingest(box, "far.xlsx", data)
    assert await daily(box) == {"2024-03-01 00:00": 300.0, "2024-03-03 00:00": 320.0}
    assert "more than 250,000 rows" in report["error_samples"][0]["message"]


def test_a_long_sheet_streams() -> None:
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet("Jours")
    sheet.append(["Date de relevé", "Consommation (litres)"])
    start = dt.datetime(1990, 1, 1)
    for n in range(20_000):
        sheet.append([start + dt.timedelta(days=n), n % 900])
    buffer = io.BytesIO()
    book.save(buffer)
    buffer.seek(0)
    tracemalloc.start()
    try:
        count = sum(1 for i in read_spreadsheet(buffer, "long.xlsx") if isinstance(i, Reading))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 20_000
    # openpyxl loading this workbook whole takes 16 MB; streamed, what stays is the ~100
    # bytes per row its XML parser keeps (an emptied element), and one chunk of rows
    assert peak < 6 * MiB, peak


async def test_without_defusedxml_openpyxl_reads_nothing(
    box: Box, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(openpyxl, "DEFUSEDXML", False)
    (message,) = await problems(box, "s.xlsx", water("suez-tout-sur-mon-eau.xlsx"))
    assert "defusedxml" in message
