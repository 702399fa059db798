"""Water: utilities' consumption exports (CSV, JSON) into a real box, as litres.

Samples: tests/connectors/sources/samples/water/ (README.md there says where each shape
comes from).
"""

from __future__ import annotations

import datetime as dt
import io
import json
import tracemalloc
from pathlib import Path

import pytest
from selfdata.box import Box
from selfdata.connectors.files import detect_source
from selfdata.connectors.meters import PARIS
from selfdata.connectors.sinks import SourceFile
from selfdata.connectors.water.csv_export import read_csv
from selfdata.connectors.water.model import Reading, parse_date

from .file_helpers import documents, ingest, sample

CONTRACTS = "selfdata.energy.contracts"


def water(name: str) -> bytes:
    return sample("water", name)


async def daily(box: Box, name: str = "water/daily") -> dict[str, float]:
    """A series' points by local (Lyon) time."""
    found = await box.series.query(name, 0, 2**40)
    return {dt.datetime.fromtimestamp(ts, PARIS).strftime("%Y-%m-%d %H:%M"): v for ts, v in found}


@pytest.mark.parametrize(
    "name",
    [
        "historique_jours_litres.csv",
        "historique_mois_litres.csv",
        "eau-services-03-2024.csv",
        "eau-veolia-fr-journalieres-2025-04.csv",
        "releve-tableur-cp1252.csv",
        "egl-consommationsJournalieres.json",
        "suez-telemetry-daily.json",
    ],
)
def test_every_sample_is_detected_as_water(name: str) -> None:
    assert detect_source(SourceFile(name, io.BytesIO(water(name)))) == "water"


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ("date,open,close,volume\n2024-01-02,10,11,5000\n", "csv"),  # not a water meter
        ("date;libellé;montant\n2024-01-02;CB;-3,20\n", "csv"),
        ('{"date": "2024-01-02", "volume": 3}\n', "jsonl"),
    ],
)
def test_other_tables_are_not_taken_for_water(text: str, fmt: str) -> None:
    assert detect_source(SourceFile("x", io.BytesIO(text.encode()))) == fmt


@pytest.mark.parametrize(
    ("text", "day", "period", "has_time"),
    [
        ("25/09/2022", dt.date(2022, 9, 25), "day", False),
        ("2022-09-25 20:00:00", dt.date(2022, 9, 25), "day", True),
        ("25/09/2022 23:30", dt.date(2022, 9, 25), "day", True),
        ("2024-01-01T23:30:00Z", dt.date(2024, 1, 2), "day", True),  # 00:30 in Lyon
        ("04/2022", dt.date(2022, 4, 1), "month", False),
        ("2022-04", dt.date(2022, 4, 1), "month", False),
    ],
)
def test_dates_as_exports_write_them(text: str, day: dt.date, period: str, has_time: bool) -> None:
    parsed = parse_date(text)
    assert parsed is not None
    assert (parsed.day, parsed.period, parsed.at is not None) == (day, period, has_time)


@pytest.mark.parametrize(
    "text", ["31/02/2024", "2024-13-01", "12/31/2024", "hier", "", "01/01/1900"]
)
def test_impossible_dates_are_none(text: str) -> None:
    assert parse_date(text) is None


async def test_veolia_ile_de_france_daily_export(box: Box) -> None:
    report = await ingest(box, "historique_jours_litres.csv", water("historique_jours_litres.csv"))
    assert report["format"] == "water"
    assert report["errors"] == 0
    assert report["series"] == {"water/daily": 7, "water/index": 7}
    days = await daily(box)
    assert days["2024-01-28 00:00"] == 401.0  # the day's use, at the local midnight
    assert days["2024-01-31 00:00"] == 682.0
    index = await daily(box, "water/index")
    assert index["2024-01-28 20:00"] == 1_412_300.0  # the index at its reading time
    assert any("1 reading(s) estimated" in n for n in report["notes"])
    assert await documents(box, CONTRACTS) == []  # this export names no meter


async def test_overlapping_and_repeated_exports_never_double(box: Box) -> None:
    await ingest(box, "a.csv", water("historique_jours_litres.csv"))
    await ingest(box, "b.csv", water("historique_jours_litres-next.csv"))
    days = await daily(box)
    assert len(days) == 9  # 7 + 5 with 3 in common
    again = await ingest(box, "b.csv", water("historique_jours_litres-next.csv"))
    assert again["errors"] == 0
    assert await daily(box) == days
    assert sum(days.values()) == 401 + 462 + 200 + 682 + 277 + 619 + 445 + 485 + 668


async def test_monthly_export(box: Box) -> None:
    report = await ingest(box, "m.csv", water("historique_mois_litres.csv"))
    assert report["series"] == {"water/monthly": 4, "water/index": 4}
    months = await daily(box, "water/monthly")
    assert months == {
        "2023-10-01 00:00": 14438.0,
        "2023-11-01 00:00": 17361.0,
        "2023-12-01 00:00": 21292.0,
        "2024-01-01 00:00": 13542.0,
    }
    index = await daily(box, "water/index")
    assert index["2023-12-31 00:00"] == 1_400_102.0  # "fin de mois": the month's last day


async def test_eau_services_export_in_latin_1(box: Box) -> None:
    data = water("eau-services-03-2024.csv")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    report = await ingest(box, "export.csv", data)
    assert report["errors"] == 0
    assert list((await daily(box)).values()) == [312.0, 298.0, 0.0, 455.0, 387.0]


async def test_eau_veolia_fr_units_are_told_by_the_values(box: Box) -> None:
    report = await ingest(box, "j.csv", water("eau-veolia-fr-journalieres-2025-04.csv"))
    assert report["errors"] == 0
    notes = " | ".join(report["notes"])
    assert "consumption column states no unit: read as litres" in notes
    assert "index column states no unit: read as m³" in notes
    assert "2 line(s) without a reading yet" in notes
    assert (await daily(box, "water/index"))["2025-04-01 00:00"] == 1_198_636.0
    assert len(await daily(box)) == 4


async def test_a_spreadsheet_resave_with_its_meter_and_m3(box: Box) -> None:
    report = await ingest(box, "releve.csv", water("releve-tableur-cp1252.csv"))
    assert report["errors"] == 0
    (contract,) = await documents(box, CONTRACTS)
    assert contract["energy"] == "water"
    assert contract["meterId"] == "I21BA012345"
    assert contract["vendorId"] == "9012345678"
    assert contract["address"] == "12 rue de la Pépinière 69003 Lyon"
    days = await daily(box, "water/daily/I21BA012345")
    assert days["2024-02-10 00:00"] == pytest.approx(312.0)  # 0,312 m³
    assert (await daily(box, "water/index/I21BA012345"))["2024-02-13 00:00"] == pytest.approx(
        452_100.0
    )
    again = await ingest(box, "releve.csv", water("releve-tableur-cp1252.csv"))
    assert again["doctypes"][CONTRACTS]["unchanged"] == 1


async def test_eau_du_grand_lyon_json_counts_months_from_zero(box: Box) -> None:
    report = await ingest(box, "c.json", water("egl-consommationsJournalieres.json"))
    assert report["errors"] == 0
    assert await daily(box) == {
        "2024-12-30 00:00": 298.0,
        "2024-12-31 00:00": 412.0,
        "2025-01-01 00:00": 255.0,
        "2025-01-02 00:00": 309.0,
    }
    assert (await daily(box, "water/index"))["2025-01-02 00:00"] == 452_210.0


async def test_suez_telemetry_in_m3(box: Box) -> None:
    await ingest(box, "t.json", water("suez-telemetry-daily.json"))
    assert await daily(box) == {
        "2024-05-01 00:00": pytest.approx(301.0),
        "2024-05-02 00:00": pytest.approx(345.0),
        "2024-05-03 00:00": pytest.approx(244.0),
    }


@pytest.mark.parametrize("bom", [b"\xef\xbb\xbf", b""], ids=["bom", "no-bom"])
async def test_a_meter_number_wider_than_64_bits_is_read_exactly(box: Box, bom: bytes) -> None:
    """The fast parse stops on the first record's number; the file is read again, from
    past its byte-order mark, with every record and the number's digits."""
    export = json.loads(water("egl-consommationsJournalieres.json"))
    meter = 2**70 + 1  # shaped by hand: a meter number no C long long holds
    for record in export["postes"][0]["data"]:
        record["numeroCompteur"] = meter
    report = await ingest(box, "c.json", bom + json.dumps(export, indent=1).encode())
    assert report["format"] == "water"
    assert report["errors"] == 0
    assert str(meter) == "1180591620717411303425"  # not 1.1805916207174113e+21
    assert await daily(box, f"water/daily/{meter}") == {
        "2024-12-30 00:00": 298.0,
        "2024-12-31 00:00": 412.0,
        "2025-01-01 00:00": 255.0,
        "2025-01-02 00:00": 309.0,
    }
    assert (await daily(box, f"water/index/{meter}"))["2025-01-02 00:00"] == 452_210.0
    (contract,) = await documents(box, CONTRACTS)
    assert contract["meterId"] == str(meter)


async def test_an_index_only_export_gives_the_days_use(box: Box) -> None:
    text = "Date de relevé;Index relevé (m3)\n01/06/2024;100,000\n02/06/2024;100,250\n04/06/2024;100,900\n"
    await ingest(box, "i.csv", text.encode())
    # 2 June from the difference; 4 June follows a gap: not a day's use
    assert await daily(box) == {"2024-06-02 00:00": pytest.approx(250.0)}


# --- bad, truncated, huge and hostile input -----------------------------------------------------


async def test_bad_lines_are_reported_and_the_others_kept(box: Box) -> None:
    text = (
        "Date de relevé;Consommation du jour (litres)\n"
        "01/03/2024;300\n"
        "32/03/2024;300\n"  # no such day
        "02/03/2024;beaucoup\n"
        "03/03/2024;-40\n"  # a correction, not a use
        "04/03/2024;NaN\n"
        "05/03/2024;1e300\n"
        '06/03/2024;=HYPERLINK("http://evil")\n'
        "07/03/2024;310\n"
    )
    report = await ingest(box, "bad.csv", text.encode())
    assert report["errors"] == 6
    wheres = [p["where"] for p in report["error_samples"]]
    assert wheres[0] == "bad.csv line 3"
    assert await daily(box) == {"2024-03-01 00:00": 300.0, "2024-03-07 00:00": 310.0}


async def test_a_truncated_csv_keeps_what_came_before(box: Box) -> None:
    data = water("historique_jours_litres.csv")
    cut = data[: data.rindex(b"\n") + 12]  # the last line cut in its date
    report = await ingest(box, "cut.csv", cut)
    assert report["errors"] == 1
    assert len(await daily(box)) == 6


async def test_a_truncated_json_keeps_what_came_before(box: Box) -> None:
    data = water("egl-consommationsJournalieres.json")
    cut = data[: data.index(b'"jour": 2')]
    report = await ingest(box, "cut.json", cut)
    assert report["errors"] == 1
    assert "not valid JSON after record 3" in report["error_samples"][0]["message"]
    assert len(await daily(box)) == 3


async def test_a_json_without_records_says_so(box: Box) -> None:
    report = await ingest(box, "e.json", b'{"postes": []}')
    assert report["errors"] == 1
    assert "no consumption records" in report["error_samples"][0]["message"]


async def test_an_endless_line_and_binary_bytes_are_skipped(box: Box) -> None:
    data = (
        b"Date de relev\xc3\xa9;Consommation du jour (litres)\n01/03/2024;300\n"
        + b"02/03/2024;" + b"9" * (200 * 1024) + b"\n"
        + b"03/03/2024;\x00\x01\x02\n"
        + b"04/03/2024;280\n"
    )  # fmt: skip
    report = await ingest(box, "odd.csv", data)
    messages = [p["message"] for p in report["error_samples"]]
    assert any("longer than 65,536 bytes" in m for m in messages)
    assert any("binary data" in m for m in messages)
    assert await daily(box) == {"2024-03-01 00:00": 300.0, "2024-03-04 00:00": 280.0}


def test_a_huge_export_streams_in_flat_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    start = dt.date(1990, 1, 1)
    with path.open("w", encoding="utf-8") as out:
        out.write("Date de relevé;Consommation du jour (litres)\n")
        for n in range(300_000):  # ~6 MB: a heap holding it would show
            out.write(f"{(start + dt.timedelta(days=n % 36_000)).strftime('%d/%m/%Y')};{n % 900}\n")
    tracemalloc.start()
    try:
        with path.open("rb") as file:
            count = sum(1 for item in read_csv(file, "huge.csv") if isinstance(item, Reading))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert count == 300_000
    assert peak < 2 * 1024 * 1024, peak


async def test_a_file_without_a_water_header_is_not_stored(box: Box) -> None:
    # chosen by hand as water (the API's format=), it must say why nothing came in
    from selfdata.connectors.files import import_file

    report = await import_file(box, SourceFile("x.csv", io.BytesIO(b"a;b\n1;2\n")), fmt="water")
    assert report.stored == 0
    assert "not a water consumption export" in report.problems[0].message


async def test_a_huge_json_record_stops_that_file(box: Box) -> None:
    data = json.dumps({"postes": [{"data": [{"date": "x" * (17 * 1024 * 1024)}]}]}).encode()
    report = await ingest(box, "big.json", data)
    assert report["errors"] == 1
    assert "longer than" in report["error_samples"][0]["message"]
