"""Enedis replies → points: units, interval ends, daylight saving, bad rows, error codes."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest
from selfdata.connectors.enedis.readings import KINDS, enedis_error, parse_readings
from selfdata.connectors.meters import PARIS

SAMPLES = Path(__file__).parent / "samples" / "enedis"
KIND = {k.key: k for k in KINDS}


def load(name: str) -> object:
    return json.loads((SAMPLES / name).read_text())


def at(text: str, fold: int = 0) -> int:
    return int(dt.datetime.fromisoformat(text).replace(tzinfo=PARIS, fold=fold).timestamp())


@pytest.mark.parametrize(
    "sample", ["dataconnect_daily_consumption.json", "conso_api_daily_consumption.json"]
)
def test_daily_values_are_wh_at_local_midnight_and_null_holes_are_skipped(sample: str) -> None:
    points, problems = parse_readings(KIND["daily_consumption"], load(sample))
    assert problems == []
    assert len(points) == 6  # one null value in seven days
    assert points[0] == (at("2024-01-01T00:00"), 10760.0)
    assert points[0][0] == 1704063600  # 2023-12-31T23:00:00Z


def test_load_curve_is_converted_to_wh_and_stamped_at_the_interval_start() -> None:
    points, problems = parse_readings(KIND["load_curve"], load("dataconnect_load_curve_pt10m.json"))
    # 1260 W for 10 minutes = 210 Wh, from 00:00 to 00:10
    assert points[0] == (at("2024-02-10T00:00"), 210.0)
    assert points[1] == (at("2024-02-10T00:10"), 220.0)
    assert points[2] == (at("2024-02-10T00:30"), 150.0)
    # "bad" value and the unknown PT7M interval are reported, not fatal
    assert len(problems) == 2


def test_the_autumn_repeated_hour_keeps_every_interval() -> None:
    points, problems = parse_readings(
        KIND["load_curve"], load("dataconnect_load_curve_dst_autumn.json")
    )
    assert problems == []
    stamps = [ts for ts, _ in points]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 6
    assert all(b - a == 1800 for a, b in itertools.pairwise(stamps))
    # ends at 02:00 CET (the second 02:00), so it starts at 02:30 CEST: 548 W × ½ h
    assert points[3] == (at("2023-10-29T02:30", fold=0), 274.0)
    assert points[5] == (at("2023-10-29T02:30", fold=1), 262.0)


def test_max_power_is_va_at_the_moment_it_was_reached() -> None:
    points, _ = parse_readings(KIND["max_power"], load("dataconnect_max_power.json"))
    assert points == [(at("2024-01-01T19:12:41"), 4632.0), (at("2024-01-02T07:48:05"), 5120.0)]


def test_an_answer_without_readings_is_a_problem() -> None:
    points, problems = parse_readings(KIND["daily_consumption"], ["not", "a", "reading"])
    assert points == []
    assert len(problems) == 1


@pytest.mark.parametrize(
    ("sample", "code"),
    [
        ("conso_api_error_adam_err0069.json", "ADAM-ERR0069"),
        ("dataconnect_error_adam_dc_0008.json", "ADAM-DC-0008"),
        ("myelectricaldata_error_adam_err0123.json", "ADAM-ERR0123"),
    ],
)
def test_error_codes_are_found_however_the_gateway_wraps_them(sample: str, code: str) -> None:
    assert enedis_error(load(sample))[0] == code
