"""Enedis replies → points: units, interval ends, daylight saving, bad rows, error codes."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest
from selfdata.connectors.enedis.dataconnect import contract_documents
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
        # recorded answers (see samples/enedis/README.md)
        ("conso_api_error_404_no_data_found.json", "no_data_found"),
        ("conso_api_error_500_technical_error.json", "technical_error"),
        ("myelectricaldata_error_result_500.json", "technical_error"),
        ("myelectricaldata_error_invalid_request.json", "Invalid_request"),
    ],
)
def test_error_codes_are_found_however_the_gateway_wraps_them(sample: str, code: str) -> None:
    assert enedis_error(load(sample))[0] == code


def test_a_gateway_error_that_is_only_text_has_no_code() -> None:
    # Conso API relays a 500 whose body Enedis sent as plain text as a string
    assert enedis_error(load("conso_api_error_500_plain_text.json")) == ("", "")


# --- recorded answers (myElectricalData, relaying Data Connect v5) ----------------------


def test_recorded_daily_consumption_is_one_point_per_local_day_across_the_spring_change() -> None:
    points, problems = parse_readings(
        KIND["daily_consumption"], load("myelectricaldata_daily_consumption.json")
    )
    assert problems == []
    assert len(points) == 21  # 2022-03-08 to 2022-03-28
    assert points[0] == (at("2022-03-08T00:00"), 42045.0)
    assert points[-1] == (at("2022-03-28T00:00"), 18941.0)
    # the 27th lasts 23 hours: the next day still starts at local midnight
    assert points[20][0] - points[19][0] == 23 * 3600
    assert points[19] == (at("2022-03-27T00:00"), 17062.0)


def test_recorded_load_curve_becomes_wh_per_half_hour_from_midnight_to_midnight() -> None:
    points, problems = parse_readings(KIND["load_curve"], load("myelectricaldata_load_curve.json"))
    assert problems == []
    assert len(points) == 48
    assert points[0] == (at("2023-03-01T00:00"), 672.0)  # 1344 W over 00:00-00:30
    # the reading dated 2023-03-02 00:00 is the day's last half hour
    assert points[-1] == (at("2023-03-01T23:30"), 426.0)
    assert all(b - a == 1800 for (a, _), (b, _) in itertools.pairwise(points))
    assert sum(v for _, v in points) == 77_559.0  # Wh in the day: half the watts summed


def test_a_recorded_contract_becomes_a_contract_document() -> None:
    (doc,) = contract_documents(load("myelectricaldata_contract.json"))
    assert doc["_id"] == "enedis:01234567890"
    assert doc["tariff"] == "BTINFMUDT"
    assert doc["subscribedPowerKva"] == 9.0
    assert doc["offPeakHours"] == "HC (1H30-8H00;12H30-14H00)"
    assert doc["startDate"] == "2006-05-24"  # from "2006-05-24+02:00"
    assert doc["metadata"]["last_distribution_tariff_change_date"] == "2019-09-13+02:00"
