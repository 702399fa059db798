"""Hostile and broken Takeout archives, and memory that does not grow with the input."""

from __future__ import annotations

import base64
import io
import os
import struct
import tracemalloc
import zipfile
from pathlib import Path

import pytest
from selfdata.box import Box
from selfdata.connectors.files import import_path
from selfdata.connectors.google_takeout.activity import ACTIVITY
from selfdata.connectors.google_takeout.locations import LAT
from selfdata.connectors.safe_zip import ArchiveError, GuardedReader, SafeZip, ZipLimits
from selfdata.errors import InputError

from .file_helpers import documents, ingest, sample, zip_bytes

T = "takeout"
ACTIVITY_JSON = sample(T, "MyActivity.json")


def records(n: int, start: int = 1_600_000_000) -> bytes:
    body = ",".join(
        f'{{"latitudeE7":{457_000_000 + i},"longitudeE7":{48_000_000 + i},"accuracy":{i % 50},'
        f'"timestamp":"{_iso(start + 30 * i)}"}}'
        for i in range(n)
    )
    return f'{{"locations":[{body}]}}'.encode()


def _read_all(reader: GuardedReader) -> None:
    while reader.read(65536):
        pass


def _noise(size: int) -> str:
    return base64.b64encode(os.urandom(size * 3 // 4)).decode()


def _iso(epoch: int) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


async def test_a_zip_bomb_member_is_stopped_while_inflating(box: Box) -> None:
    # 64 MiB of zeros deflate to ~64 KiB: a 1000x ratio, far past any JSON export
    bomb = b'{"locations":[' + b" " * (64 * 1024 * 1024) + b"]}"
    data = zip_bytes(
        {
            "Takeout/Location History/Records.json": bomb,
            "Takeout/My Activity/Search/MyActivity.json": ACTIVITY_JSON,
        }
    )
    assert len(data) < 1024 * 1024
    report = await ingest(box, "bomb.zip", data)
    assert any("zip bomb" in e["message"] for e in report["error_samples"])
    assert len(await documents(box, ACTIVITY)) == 3  # the honest member still came in


def test_a_lying_header_does_not_lift_the_caps(tmp_path: Path) -> None:
    data = bytearray(zip_bytes({"Takeout/a.json": b"[" + b" " * 10_000_000 + b"]"}))
    # claim a tiny uncompressed size in the central directory and the local header
    central = data.rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 10)
    struct.pack_into("<I", data, 22, 10)
    with SafeZip(io.BytesIO(bytes(data))) as archive:
        (member,) = archive.members
        assert member.size == 10
        with archive.open(member) as reader, pytest.raises(ArchiveError):
            _read_all(reader)


def test_total_inflated_size_is_capped_across_members() -> None:
    data = zip_bytes({f"Takeout/{i}.json": b"[" + b"1," * 300_000 + b"1]" for i in range(4)})
    limits = ZipLimits(max_total_bytes=1_500_000, max_ratio=10_000)
    with SafeZip(io.BytesIO(data), limits) as archive:
        first, second, third, _ = archive.members
        for member in (first, second):
            with archive.open(member) as reader:
                _read_all(reader)
        with archive.open(third) as reader, pytest.raises(ArchiveError, match="archive inflates"):
            _read_all(reader)


async def test_path_traversal_names_are_refused_and_the_rest_read(box: Box) -> None:
    data = zip_bytes(
        {
            "../../etc/cron.d/evil.json": ACTIVITY_JSON,
            "/etc/passwd.json": ACTIVITY_JSON,
            "Takeout/..\\..\\win.json": ACTIVITY_JSON,
            "Takeout/My Activity/Search/MyActivity.json": ACTIVITY_JSON,
        }
    )
    report = await ingest(box, "evil.zip", data, fmt="takeout")
    refused = [e["where"] for e in report["error_samples"] if "unsafe entry name" in e["message"]]
    assert sorted(refused) == sorted(
        ["../../etc/cron.d/evil.json", "/etc/passwd.json", "Takeout/..\\..\\win.json"]
    )
    assert len(await documents(box, ACTIVITY)) == 3


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.999])
async def test_a_truncated_archive_is_a_clear_error(box: Box, keep: float) -> None:
    data = zip_bytes({"Takeout/Location History/Records.json": records(2000)})
    with pytest.raises(InputError, match=r"truncated|not a readable zip|neither"):
        await ingest(box, "cut.zip", data[: int(len(data) * keep)])
    with pytest.raises(InputError, match=r"truncated|not a readable zip"):
        await ingest(box, "cut.zip", data[: int(len(data) * keep)], fmt="takeout")


async def test_overlapping_entries_are_refused(box: Box) -> None:
    data = bytearray(zip_bytes({"Takeout/a.json": ACTIVITY_JSON, "Takeout/b.json": ACTIVITY_JSON}))
    # point the second central-directory entry at the first entry's local header
    second = data.rindex(b"PK\x01\x02")
    struct.pack_into("<I", data, second + 42, 0)
    with pytest.raises(ArchiveError, match="overlap"):
        await ingest(box, "overlap.zip", bytes(data), fmt="takeout")


async def test_a_truncated_json_member_keeps_the_records_before_the_cut(box: Box) -> None:
    full = records(1000)
    data = zip_bytes({"Takeout/Location History/Records.json": full[: len(full) // 2]})
    report = await ingest(box, "t.zip", data)
    assert 490 < report["series"][LAT] < 510
    assert "not valid JSON after record" in report["error_samples"][-1]["message"]


async def test_a_5mb_string_is_one_bad_record_not_a_crash(box: Box) -> None:
    entries = [
        # random text (an inlined image, say): a run of one letter would be a zip bomb
        {"header": "Search", "title": _noise(5 * 1024 * 1024), "time": "2024-01-01T00:00:00Z"},
        {"header": "Search", "title": "normal", "time": "2024-01-01T00:00:01Z"},
    ]
    import json

    data = zip_bytes({"Takeout/My Activity/Search/MyActivity.json": json.dumps(entries).encode()})
    report = await ingest(box, "t.zip", data)
    assert report["errors"] == 1
    assert "selfdata.google.activity" in report["error_samples"][0]["where"]
    (kept,) = await documents(box, ACTIVITY)
    assert kept["title"] == "normal"


async def test_a_single_record_past_the_item_cap_stops_that_file_only(box: Box) -> None:
    huge = (
        b'{"locations":[{"latitudeE7":1,"longitudeE7":1,"timestamp":"2020-01-01T00:00:00Z"},'
        + b'{"x":"'
        + _noise(17 * 1024 * 1024).encode()
        + b'"}]}'
    )
    data = zip_bytes(
        {
            "Takeout/Location History/Records.json": huge,
            "Takeout/My Activity/Search/MyActivity.json": ACTIVITY_JSON,
        }
    )
    report = await ingest(box, "t.zip", data)
    assert any("longer than" in e["message"] for e in report["error_samples"])
    assert report["series"][LAT] == 1
    assert len(await documents(box, ACTIVITY)) == 3


@pytest.mark.parametrize(
    "encode",
    [
        lambda text: text.encode("utf-16"),
        lambda text: text.encode("latin-1", errors="replace"),
    ],
)
async def test_wrong_encodings_are_reported(box: Box, encode: object) -> None:
    text = ACTIVITY_JSON.decode()
    data = zip_bytes({"Takeout/My Activity/Search/MyActivity.json": encode(text)})  # type: ignore[operator]
    report = await ingest(box, "t.zip", data)
    # UTF-16 is not recognised as an export at all; Latin-1 breaks inside strings
    assert report["errors"] >= 1 or report["notes"]
    for doc in await documents(box, ACTIVITY):
        assert "\ufffd" not in doc["title"]


async def _peak_import(box: Box, path: Path) -> int:
    tracemalloc.start()
    try:
        report = await import_path(box, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.error_count == 0
    return peak


@pytest.mark.slow
async def test_memory_does_not_grow_with_the_number_of_records(box: Box, tmp_path: Path) -> None:
    peaks = {}
    for n in (10_000, 100_000):
        path = tmp_path / f"takeout-{n}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(
                "Takeout/Location History/Records.json", records(n, start=1_500_000_000 + n * 100)
            )
        peaks[n] = await _peak_import(box, path)
    # ten times the records, the same peak: batches of 10k fixes, a day's chunk at a time
    # (measured: 4.6 MB for 10k, 6.0 MB for 50k, 100k and 300k alike)
    assert peaks[100_000] < peaks[10_000] * 1.3 + 1024 * 1024, peaks


async def test_a_damaged_or_encrypted_entry_spoils_only_itself(box: Box) -> None:
    good = "Takeout/My Activity/Search/MyActivity.json"
    data = bytearray(
        zip_bytes(
            {
                "Takeout/Location History/Records.json": records(50),
                "Takeout/My Activity/YouTube/MyActivity.json": ACTIVITY_JSON.replace(
                    b"Search", b"Video"
                ),
                good: ACTIVITY_JSON,
            },
            stored=True,
        )
    )
    # a flipped byte in Records.json's data: its CRC no longer matches
    at = data.index(b'"latitudeE7":457000010')
    data[at + 15] ^= 0x01
    # the YouTube entry claims to be encrypted (general-purpose flag bit 0)
    entries = [i for i in range(len(data)) if data.startswith(b"PK\x01\x02", i)]
    struct.pack_into("<H", data, entries[1] + 8, 1)
    report = await ingest(box, "t.zip", bytes(data))
    messages = " | ".join(f"{e['where']}: {e['message']}" for e in report["error_samples"])
    assert "Records.json" in messages
    assert "YouTube/MyActivity.json" in messages
    # the good entry's three, none of the "Video" ones of the encrypted entry
    assert {d["header"] for d in await documents(box, ACTIVITY)} == {"Search", "YouTube", "Maps"}
