"""Linky TIC: checksums against published groups, both modes, damaged input, the
one-minute series, capture files, and a real pseudo-terminal at the line's speed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from selfdata.box import Box
from selfdata.connectors import linky_tic
from selfdata.connectors.linky_tic import port
from selfdata.connectors.linky_tic.frames import FrameReader, checksum, parse_group
from selfdata.connectors.linky_tic.values import MinuteSeries, frame_summary
from selfdata.connectors.sdk import ServiceDown, UserActionNeeded

from tests.connectors.fakes.context import BoxContext
from tests.connectors.fakes.tic import ADCO, ADSC, PtyMeter, historic_frame, standard_frame

SAMPLES = Path(__file__).parent / "samples" / "linky_tic"
NOW = dt.datetime(2024, 3, 15, 9, 30, 10, tzinfo=dt.UTC)
MINUTE = int(NOW.timestamp()) // 60 * 60


@pytest.mark.parametrize(
    ("group", "expected"),
    [  # groups as printed in the meter's documentation and countless TIC logs
        ("ISOUSC 45", "?"),
        ("IINST 002", "Y"),
        ("IMAX 090", "H"),
        ("MOTDETAT 000000", "B"),
        ("OPTARIF HC..", "<"),
        ("PTEC HP..", " "),
        ("HHPHC A", ","),
        ("VTIC\t02\t", "J"),
    ],
)
def test_checksums_match_published_groups(group: str, expected: str) -> None:
    assert chr(checksum(group.encode())) == expected


def test_a_space_checksum_and_a_horodate_are_read_from_the_end() -> None:
    assert parse_group(b"PTEC HP..  ") is not None  # separator SP, checksum SP
    body = b"SMAXSN\tE240315071512\t04210\t"
    parsed = parse_group(body + bytes([checksum(body)]))
    assert parsed is not None
    group, mode = parsed
    assert (group.label, group.horodate, group.value, mode) == (
        "SMAXSN",
        "E240315071512",
        "04210",
        "standard",
    )
    assert parse_group(body + bytes([checksum(body) ^ 1])) is None


def test_historic_capture_with_noise_a_cut_frame_and_a_bad_group() -> None:
    reader = FrameReader()
    frames = list(reader.feed((SAMPLES / "historic.tic").read_bytes()))
    assert [f.get("PAPP") for f in frames] == ["00420", "00440", None, "00480"]
    assert all(f.mode == "historic" and f.meter == ADCO for f in frames)
    assert frames[2].bad_groups == 1  # its PAPP failed the checksum: dropped, the rest kept
    assert frames[2].get("HCHP") == "035768324"
    assert reader.cut_frames == 1  # the EOT
    assert reader.bad_groups == 1


def test_standard_capture_byte_by_byte_with_parity_bits_set() -> None:
    reader = FrameReader()
    data = (SAMPLES / "standard.tic").read_bytes()
    frames = [f for i in range(len(data)) for f in reader.feed(data[i : i + 1])]
    assert [f.get("SINSTS") for f in frames] == [
        "01210",
        "01230",
        "01250",
    ]  # the partial first is skipped
    assert all(f.mode == "standard" and f.meter == ADSC for f in frames)
    assert frames[0].groups["DATE"].horodate == "E240315103000"
    assert frames[0].get("NGTF") == "BASE"
    assert reader.bad_groups == 0


def test_the_samples_are_what_the_generator_makes() -> None:
    data = (SAMPLES / "historic.tic").read_bytes()
    assert historic_frame(papp=420) in data
    assert historic_frame(papp=480) in data
    assert standard_frame(sinsts=1230, east=12345690) in (SAMPLES / "standard.tic").read_bytes()


def test_minutes_average_power_and_keep_the_last_index() -> None:
    reader = FrameReader()
    series = MinuteSeries()
    stream = (
        historic_frame(papp=400, hchp=100)
        + historic_frame(papp=600, hchp=101)
        + historic_frame(papp=900, hchp=105)
    )
    frames = list(reader.feed(stream))
    assert series.add(frames[0], MINUTE + 5) == {}
    assert series.add(frames[1], MINUTE + 50) == {}
    closed = series.add(frames[2], MINUTE + 61)
    assert closed[f"linky/{ADCO}/power"] == [(MINUTE, 500.0)]
    assert closed[f"linky/{ADCO}/index/HCHP"] == [(MINUTE, 101.0)]
    assert closed[f"linky/{ADCO}/index/HCHC"] == [(MINUTE, 27663520.0)]
    assert series.flush()[f"linky/{ADCO}/power"] == [(MINUTE + 60, 900.0)]


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


async def test_sync_from_a_capture_file_is_idempotent(
    box: Box, session: aiohttp.ClientSession
) -> None:
    ctx = BoxContext(
        box, session, linky_tic.MANIFEST, {"device": str(SAMPLES / "standard.tic")}, now=NOW
    )
    await linky_tic.sync(ctx)
    power = await ctx.points(f"linky/{ADSC}/power")
    assert len(power) == 1
    assert power[0][0] == MINUTE
    assert power[0][1] == pytest.approx((1210 + 1230 + 1250) / 3, abs=0.1)
    assert await ctx.points(f"linky/{ADSC}/index/EAST") == [(MINUTE, 12345700.0)]
    assert ctx.state["mode"] == "standard"
    assert ctx.state["last_run"]["frames"] == 3
    await linky_tic.sync(ctx)
    assert await ctx.points(f"linky/{ADSC}/power") == power


async def test_a_pty_at_1200_baud_in_historic_mode(
    box: Box, session: aiohttp.ClientSession
) -> None:
    meter = PtyMeter(1200)
    try:
        meter.start([historic_frame(papp=300), historic_frame(papp=500)])
        ctx = BoxContext(
            box, session, linky_tic.MANIFEST, {"device": meter.device, "duration": "4"}, now=NOW
        )
        await linky_tic.sync(ctx)
    finally:
        await meter.close()
    assert ctx.state["mode"] == "historic"
    assert ctx.state["last_run"]["frames"] >= 2
    (point,) = await ctx.points(f"linky/{ADCO}/power")
    assert point[0] == MINUTE
    assert 300 <= point[1] <= 500
    assert await ctx.points(f"linky/{ADCO}/index/HCHP") == [(MINUTE, 35768324.0)]


async def test_probe_a_pty_at_9600_baud_in_standard_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    meter = PtyMeter(9600)
    try:
        # start mid-frame and with an EOT-cut frame: the probe still finds whole ones
        meter.start(
            [
                standard_frame()[40:],
                standard_frame(sinsts=99)[:100] + b"\x04",
                standard_frame(sinsts=2000),
            ]
        )
        report = await linky_tic.probe_device(meter.device, frames=2, wait=10)
    finally:
        await meter.close()
    json.dumps(report)
    assert report["ok"] is True
    assert report["mode"] == "standard"
    assert report["baud"] == 9600
    assert report["frames"][0]["meter"] == ADSC
    assert report["frames"][0]["power_va"] == 2000.0
    assert report["frames"][0]["indexes_wh"]["EAST"] == 12345678.0


async def test_probe_reads_a_capture_file() -> None:
    report = await linky_tic.probe_device(str(SAMPLES / "historic.tic"), frames=10)
    assert report["source"] == "capture file"
    assert report["mode"] == "historic"
    assert len(report["frames"]) == 4
    assert report["frames"][0]["tariff"] == "HC.."
    assert report["bad_groups"] == 1
    assert report["cut_frames"] == 1


async def test_a_silent_line_is_service_down(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(port, "LISTEN_SECONDS", {"historic": 0.2, "standard": 0.2})
    meter = PtyMeter(1200)
    try:
        meter.start([b"\x00\x7f" * 20])  # noise, never a frame
        with pytest.raises(ServiceDown, match="no TIC frame"):
            await linky_tic.probe_device(meter.device, wait=30)
    finally:
        await meter.close()


async def test_the_probe_hook_takes_the_cli_options(
    box: Box, session: aiohttp.ClientSession
) -> None:
    ctx = BoxContext(box, session, linky_tic.MANIFEST, {"device": "/dev/ttyUSB0"}, now=NOW)
    report = await linky_tic.probe(ctx, {"device": str(SAMPLES / "standard.tic"), "frames": "2"})
    assert [f["power_va"] for f in report["frames"]] == [1210.0, 1230.0]
    assert ctx.saved == {}  # a probe writes nothing


async def test_a_missing_device_asks_the_owner(tmp_path: Path) -> None:
    with pytest.raises(UserActionNeeded, match="plug the TIC dongle"):
        await linky_tic.probe_device(str(tmp_path / "ttyUSB9"))


# --- captures from a real meter (provenance in samples/linky_tic/README.md) ---------------

RECORDED_METER = "012345678910"  # anonymised by the capture's author, checksums redone


def test_a_recorded_historic_frame_decodes_with_every_checksum_right() -> None:
    reader = FrameReader()
    (frame,) = reader.feed((SAMPLES / "linkytic-historic-base.tic").read_bytes())
    assert (reader.bad_groups, reader.cut_frames) == (0, 0)
    summary = frame_summary(frame)
    assert summary["mode"] == "historic"
    assert summary["meter"] == RECORDED_METER
    assert summary["tariff"] == "BASE"
    assert summary["power_va"] == 2390.0
    assert summary["indexes_wh"] == {"BASE": 123456789.0}
    assert frame.get("IINST") == "011"  # amperes, not stored


def test_a_recorded_standard_frame_decodes_with_every_checksum_right() -> None:
    reader = FrameReader()
    (frame,) = reader.feed((SAMPLES / "linkytic-standard-base.tic").read_bytes())
    assert (reader.bad_groups, reader.cut_frames) == (0, 0)
    assert len(frame.groups) == 38
    summary = frame_summary(frame)
    assert summary["mode"] == "standard"
    assert summary["power_va"] == 263.0
    assert summary["tariff"] == "base"  # NGTF as this meter writes it, padded with spaces
    assert summary["indexes_wh"] == {"EAST": 3519702.0, "EASF01": 3519702.0, "EASD01": 3519702.0}
    # a horodate with an empty value, horodated values, a value holding spaces
    assert (frame.groups["DATE"].horodate, frame.get("DATE")) == ("H240210121355", "")
    assert frame.groups["SMAXSN-1"].horodate == "H240209211759"
    assert frame.get("SMAXSN-1") == "01422"
    assert frame.get("MSG1") == "PAS DE          MESSAGE"
    assert frame.groups["PJOURF+1"].value.startswith("0000C001 NONUTILE NONUTILE")


async def test_a_recorded_standard_capture_is_stored_as_minute_points(
    box: Box, session: aiohttp.ClientSession
) -> None:
    capture = str(SAMPLES / "linkytic-standard-base.tic")
    ctx = BoxContext(box, session, linky_tic.MANIFEST, {"device": capture}, now=NOW)
    await linky_tic.sync(ctx)
    base = f"linky/{RECORDED_METER}"
    assert await ctx.points(f"{base}/power") == [(MINUTE, 263.0)]
    assert await ctx.points(f"{base}/index/EAST") == [(MINUTE, 3519702.0)]
    assert await ctx.points(f"{base}/index/EASF02") == [(MINUTE, 0.0)]
    assert ctx.state["mode"] == "standard"
