"""Google Takeout and the phone's Timeline export, streamed into a real box."""

from __future__ import annotations

import io
import json

import pytest
from selfdata.box import Box
from selfdata.connectors.files import detect_source
from selfdata.connectors.google_takeout import detect
from selfdata.connectors.google_takeout.activity import ACTIVITY
from selfdata.connectors.google_takeout.locations import (
    ACCURACY,
    LAT,
    LON,
    TRIPS,
    VISITS,
    parse_lat_lng,
)
from selfdata.connectors.sinks import SourceFile

from .file_helpers import counts, documents, ingest, sample, zip_bytes

T = "takeout"


def takeout(**extra: bytes) -> bytes:
    """A Takeout archive laid out as Google makes them (folder names translated)."""
    return zip_bytes(
        {
            "Takeout/archive_browser.html": "<!DOCTYPE html><html><body>Archive</body></html>",
            "Takeout/Historique des positions/Records.json": sample(T, "Records.json"),
            "Takeout/Historique des positions/Semantic Location History/2023/2023_JANUARY.json": sample(
                T, "2023_JANUARY.json"
            ),
            "Takeout/Mon activité/Recherche/MonActivité.json": sample(T, "MyActivity.json"),
            "Takeout/Mon activité/Recherche/MonActivité.html": "<html></html>",
            **extra,
        }
    )


async def points(box: Box, name: str) -> list[tuple[int, float]]:
    result = await box.series.query(name, 0, 2**40)
    return [(int(p[0]), float(p[1])) for p in result]


async def test_a_takeout_archive_comes_in(box: Box) -> None:
    report = await ingest(box, "takeout-20240105T101112Z-001.zip", takeout())
    assert report["format"] == "takeout"
    # Records.json: 7 records, 5 good (one wrapped E7 latitude repaired), 2 reported
    assert report["series"] == {ACCURACY: 5, LAT: 5, LON: 5}
    lat = dict(await points(box, LAT))
    lon = dict(await points(box, LON))
    assert lat[1388649960] == pytest.approx(45.757811)  # from "timestampMs"
    assert lon[1388649960] == pytest.approx(4.83205)
    assert lat[1655192472] == pytest.approx(45.7640261)  # from the ISO "timestamp"
    assert lat[1655193060] == pytest.approx(-3.7307175)  # 4257660121 - 2**32
    assert dict(await points(box, ACCURACY))[1388653560] == 1200.0
    messages = [e["message"] for e in report["error_samples"]]
    assert "no valid latitudeE7/longitudeE7" in messages
    assert "no valid timestamp or timestampMs" in messages
    assert report["errors"] == 4  # + a visit without coordinates + an activity without time
    assert report["notes"] == ["2 file(s) in the archive hold nothing this box reads"]

    (visit,) = await documents(box, VISITS)
    assert visit["name"] == "Place Bellecour"
    assert visit["start"] == "2023-01-07T09:12:44Z"
    assert visit["end"] == "2023-01-07T11:02:01Z"
    assert (visit["lat"], visit["lon"]) == (45.757811, 4.83205)
    (trip,) = await documents(box, TRIPS)
    assert trip["activity"] == "WALKING"
    assert trip["distance"] == 1342
    assert (trip["endLat"], trip["endLon"]) == (45.748527, 4.8268931)

    activity = {a["header"]: a for a in await documents(box, ACTIVITY)}
    assert activity["Search"]["title"] == "Searched for météo lyon"
    assert activity["Search"]["time"] == "2024-01-05T08:12:33Z"
    assert activity["YouTube"]["subtitles"][0]["name"] == "Métropole de Lyon"
    assert activity["Maps"]["locationInfos"][0]["source"] == "From your places (Home)"


async def test_the_same_takeout_twice_changes_nothing(box: Box) -> None:
    await ingest(box, "takeout.zip", takeout())
    again = await ingest(box, "takeout.zip", takeout())
    for doctype in (VISITS, TRIPS, ACTIVITY):
        created, updated, _ = counts(again, doctype)
        assert (created, updated) == (0, 0), doctype
    assert len(await points(box, LAT)) == 5


async def test_the_phones_timeline_export_android(box: Box) -> None:
    report = await ingest(box, "Timeline.json", sample(T, "Timeline.json"))
    assert report["format"] == "google-json"
    assert report["errors"] == 0
    # two path points + one raw GPS position (wifi scans and activity records are not)
    assert report["series"] == {LAT: 3, LON: 3, ACCURACY: 1}
    (visit,) = await documents(box, VISITS)
    assert visit["placeId"] == "ChIJl4foalHq9EcR8CG75CqrCAQ"
    assert visit["start"] == "2023-01-07T09:12:44Z"  # 10:12:44+01:00
    (trip,) = await documents(box, TRIPS)
    assert trip["activity"] == "IN_TRAM"
    assert trip["startLat"] == 45.7640261


async def test_the_phones_timeline_export_ios(box: Box) -> None:
    report = await ingest(box, "location-history.json", sample(T, "location-history-ios.json"))
    assert report["errors"] == 0
    assert report["series"] == {LAT: 2, LON: 2}
    (visit,) = await documents(box, VISITS)
    assert visit["semanticType"] == "Home"
    assert visit["probability"] == pytest.approx(0.842361)
    (trip,) = await documents(box, TRIPS)
    assert trip["activity"] == "WALKING"  # "walking" on iOS
    assert trip["distance"] == 1612.0  # "1612.000000"
    lat = await points(box, LAT)
    assert lat[0][0] == 1712766700 + 6 * 60  # start + "durationMinutesOffsetFromStartTime"


async def test_one_visit_in_two_exports_is_one_document_with_both(box: Box) -> None:
    await ingest(box, "takeout.zip", takeout())
    merged = await ingest(box, "Timeline.json", sample(T, "Timeline.json"))
    assert counts(merged, VISITS) == (0, 1, 0)
    (visit,) = await documents(box, VISITS)
    assert visit["source"] == "takeout-semantic,timeline"
    assert visit["name"] == "Place Bellecour"  # only Semantic History knew it
    assert visit["probability"] == pytest.approx(0.7515766620635986)  # only Timeline did
    for name, data in (("takeout.zip", takeout()), ("Timeline.json", sample(T, "Timeline.json"))):
        again = await ingest(box, name, data)
        assert counts(again, VISITS) == (0, 0, 1)


@pytest.mark.parametrize(
    ("text", "point"),
    [
        ("48.8583701°, 2.2944813°", (48.8583701, 2.2944813)),
        ("geo:45.761208,4.857101", (45.761208, 4.857101)),
        ({"latLng": "-33.8567844°, 151.2152967°"}, (-33.8567844, 151.2152967)),
        ("91°, 0°", None),
        ("nowhere", None),
        (None, None),
    ],
)
def test_coordinates_as_the_exports_write_them(text: object, point: object) -> None:
    assert parse_lat_lng(text) == point


@pytest.mark.parametrize(
    ("name", "data", "fmt"),
    [
        ("takeout-001.zip", None, "takeout"),
        ("Timeline.json", sample(T, "Timeline.json"), "google-json"),
        ("Records.json", sample(T, "Records.json"), "google-json"),
        ("x.json", sample(T, "2023_JANUARY.json"), "google-json"),
        ("MonActivité.json", sample(T, "MyActivity.json"), "google-json"),
        ("x.json", sample(T, "location-history-ios.json"), "google-json"),
    ],
)
def test_google_exports_are_recognised(name: str, data: bytes | None, fmt: str) -> None:
    data = data if data is not None else takeout()
    assert detect(name, data[:4096])
    assert detect_source(SourceFile(name, io.BytesIO(data))) == fmt


# --- records from real exports (provenance in samples/takeout/README.md) ------------------


async def test_a_recorded_fix_in_the_old_records_format(box: Box) -> None:
    report = await ingest(box, "Records.json", sample(T, "gtp-Records-timestampMs.json"))
    assert (report["format"], report["errors"]) == ("google-json", 0)
    fix = 1512947698  # "timestampMs": "1512947698030"
    assert await points(box, LAT) == [(fix, pytest.approx(35.1324213))]
    assert await points(box, LON) == [(fix, pytest.approx(-112.2434441))]
    assert await points(box, ACCURACY) == [(fix, 10.0)]


async def test_a_recorded_fix_in_the_new_records_format_with_a_wide_device_tag(
    box: Box,
) -> None:
    # an ISO "timestamp", and "deviceTag": -80241446968629135069 (valid JSON, wider than
    # 64 bits: the fast parse stops there, the file is read again exactly)
    report = await ingest(box, "Records.json", sample(T, "gtp-Records-timestamp.json"))
    assert report["errors"] == 0
    assert await points(box, LAT) == [(1512947698, pytest.approx(35.1324213))]
    assert await points(box, ACCURACY) == [(1512947698, 10.0)]


async def test_wide_device_tags_in_a_takeout_zip_stop_nothing(box: Box) -> None:
    wide = json.loads(sample(T, "gtp-Records-timestamp.json"))["locations"][0]
    records = [wide | {"timestamp": f"2017-12-10T23:{m:02}:00Z"} for m in range(60)]
    records[30] = records[30] | {"deviceTag": 1234}  # another phone, a tag that fits
    name = "Takeout/Historique des positions/Records.json"
    report = await ingest(box, "takeout.zip", takeout(**{name: json.dumps({"locations": records})}))
    assert not [e for e in report["error_samples"] if "Records.json" in e["where"]]
    assert report["series"][LAT] == 60
    assert counts(report, ACTIVITY) == (3, 0, 0)  # the members after it still come in


async def test_what_the_box_keeps_of_a_wide_number_is_exact(box: Box) -> None:
    entry = json.loads(sample(T, "gtp-MyActivity-discover.json"))[0]
    # shaped by hand: a number in a list My Activity keeps as it is
    entry["details"] = [{"name": "From Google Ads", "campaign": -80241446968629135069}]
    await ingest(box, "MyActivity.json", json.dumps([entry]).encode())
    (stored,) = await documents(box, ACTIVITY)
    assert stored["details"][0]["campaign"] == -80241446968629135069


async def test_a_recorded_my_activity_entry(box: Box) -> None:
    report = await ingest(box, "MyActivity.json", sample(T, "gtp-MyActivity-discover.json"))
    assert report["errors"] == 0
    (entry,) = await documents(box, ACTIVITY)
    assert entry["header"] == "Discover"
    assert entry["title"] == "7 cards in your feed"
    assert entry["time"] == "2021-12-13T03:04:05Z"  # ".007Z": to the second
    assert [s["name"] for s in entry["subtitles"]] == [
        "Computer programming",
        "Computer Science",
        "PostgreSQL",
        "Technology",
    ]
    assert entry["locationInfos"][0]["source"] == "From your Location History"
    assert "titleUrl" not in entry


def test_other_json_is_not_taken_for_a_google_export() -> None:
    assert not detect("x.json", json.dumps({"hello": [1, 2]}).encode())
    assert not detect("x.json", b'[{"a": 1}]')
