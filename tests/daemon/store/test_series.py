"""Time series: merge by timestamp, [start, end) ranges, and downsampling that matches brute force."""

from __future__ import annotations

import math
import random
from array import array
from collections import defaultdict

import pytest
from selfdata.errors import InputError, NotFound
from selfdata.store import AGGREGATES, SeriesStore
from selfdata.store.downsample import downsample

DAY = 86_400
T0 = 19_700 * DAY  # 2023-12-09, a day boundary


def reference(
    points: dict[int, float], start: int, end: int, step: int | None, agg: str
) -> list[tuple[int, float]]:
    """What a query must answer, computed the slow and obvious way."""
    inside = sorted((t, v) for t, v in points.items() if start <= t < end)
    if step is None:
        return inside
    buckets: dict[int, list[float]] = defaultdict(list)
    for t, v in inside:
        buckets[t - t % step].append(v)
    pick = {
        "sum": sum,
        "avg": lambda vs: sum(vs) / len(vs),
        "min": min,
        "max": max,
        "count": lambda vs: float(len(vs)),
        "first": lambda vs: vs[0],
        "last": lambda vs: vs[-1],
    }[agg]
    return [(b, pick(vs)) for b, vs in sorted(buckets.items())]


def assert_same(got: list[tuple[int, float]], expected: list[tuple[int, float]]) -> None:
    assert [t for t, _ in got] == [t for t, _ in expected]
    for (_, a), (_, b) in zip(got, expected, strict=True):
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (a, b)


# --- writing and reading back ------------------------------------------------------------------


async def test_written_points_read_back_sorted(series: SeriesStore) -> None:
    points = [(T0 + 120, 2.0), (T0, 1.0), (T0 + 60, 1.5), (T0 + DAY + 5, 7)]
    assert await series.write("linky.papp", points, unit="VA") == 4
    assert await series.query("linky.papp", T0, T0 + 2 * DAY) == [
        (T0, 1.0),
        (T0 + 60, 1.5),
        (T0 + 120, 2.0),
        (T0 + DAY + 5, 7.0),
    ]


async def test_writing_merges_with_what_is_there_and_overwrites_the_same_timestamp(
    series: SeriesStore,
) -> None:
    await series.write("s", [(T0, 1.0), (T0 + 60, 2.0)])
    await series.write("s", [(T0 + 60, 20.0), (T0 + 30, 1.5), (T0 + DAY, 3.0)])
    assert await series.query("s", 0, 2**40) == [
        (T0, 1.0),
        (T0 + 30, 1.5),
        (T0 + 60, 20.0),
        (T0 + DAY, 3.0),
    ]


async def test_a_write_with_one_bad_point_stores_nothing(series: SeriesStore) -> None:
    await series.write("s", [(T0, 1.0)])
    with pytest.raises(InputError):
        await series.write("s", [(T0, 5.0), (T0 + 1, float("nan")), (T0 + 2, 3.0)])
    assert await series.query("s", 0, 2**40) == [(T0, 1.0)]


async def test_series_are_listed_with_their_unit_and_extent(series: SeriesStore) -> None:
    await series.write("b.series", [(T0, 1.0), (T0 + 3 * DAY, 1.0)], unit="kWh")
    await series.write("a.series", [(T0 + 10, 1.0)], unit="°C")
    infos = await series.list()
    assert [(i.name, i.unit, i.first_day, i.last_day, i.chunks) for i in infos] == [
        ("a.series", "°C", T0 // DAY, T0 // DAY, 1),
        ("b.series", "kWh", T0 // DAY, T0 // DAY + 3, 2),
    ]
    assert (await series.info("b.series")).chunks == 2
    with pytest.raises(NotFound):
        await series.info("c.series")


async def test_a_deleted_series_is_gone(series: SeriesStore) -> None:
    await series.write("s", [(T0, 1.0)])
    await series.query("s", T0, T0 + 1)  # warm the cache
    await series.delete("s")
    with pytest.raises(NotFound):
        await series.query("s", T0, T0 + 1)
    with pytest.raises(NotFound):
        await series.delete("s")
    assert await series.list() == []


async def test_a_write_after_a_warm_query_is_seen_by_the_next_query(series: SeriesStore) -> None:
    await series.write("s", [(T0, 1.0)])
    assert await series.query("s", T0, T0 + DAY) == [(T0, 1.0)]
    await series.write("s", [(T0, 2.0)])
    assert await series.query("s", T0, T0 + DAY) == [(T0, 2.0)]


# --- ranges ---------------------------------------------------------------------------------------


async def test_a_range_includes_its_start_and_excludes_its_end(series: SeriesStore) -> None:
    await series.write("s", [(T0 + i, float(i)) for i in range(10)])
    assert await series.query("s", T0 + 3, T0 + 6) == [(T0 + 3, 3.0), (T0 + 4, 4.0), (T0 + 5, 5.0)]
    assert await series.query("s", T0 + 3, T0 + 4) == [(T0 + 3, 3.0)]


async def test_ranges_across_day_boundaries_are_exact(series: SeriesStore) -> None:
    stamps = [T0 - 1, T0, T0 + DAY - 1, T0 + DAY, T0 + 2 * DAY]
    await series.write("s", [(t, float(t % 1000)) for t in stamps])
    for start in stamps:
        for end in stamps:
            if end > start:
                got = [t for t, _ in await series.query("s", start, end)]
                assert got == [t for t in stamps if start <= t < end]


async def test_an_empty_range_of_a_known_series_is_empty(series: SeriesStore) -> None:
    await series.write("s", [(T0, 1.0)])
    assert await series.query("s", T0 + 1, T0 + 10 * DAY) == []
    assert await series.query("s", T0 + 1, T0 + 10 * DAY, step=3600, agg="sum") == []
    assert await series.query("s", 0, T0) == []


@pytest.mark.parametrize(("start", "end"), [(T0, T0), (T0 + 1, T0)])
async def test_a_range_that_ends_before_it_starts_is_refused(
    series: SeriesStore, start: int, end: int
) -> None:
    await series.write("s", [(T0, 1.0)])
    with pytest.raises(InputError):
        await series.query("s", start, end)


async def test_a_range_reaching_far_into_the_past_or_future_still_answers(
    series: SeriesStore,
) -> None:
    await series.write("s", [(T0, 1.0)])
    assert await series.query("s", -(2**62), 2**62) == [(T0, 1.0)]
    assert await series.query("s", -(2**70), 2**70, step=DAY, agg="count") == [(T0, 1.0)]


async def test_an_unknown_series_is_not_found(series: SeriesStore) -> None:
    await series.write("s", [(T0, 1.0)])
    with pytest.raises(NotFound):
        await series.query("t", T0, T0 + 1)
    with pytest.raises(NotFound):
        await series.query("t", T0, T0 + 1, step=60, agg="sum")


# --- downsampling ------------------------------------------------------------------------------


@pytest.fixture
def readings() -> dict[int, float]:
    """Four days of irregular readings, dense and sparse, with negative values and gaps."""
    rng = random.Random(2024)
    points: dict[int, float] = {}
    t = T0 - 3_600
    while t < T0 + 4 * DAY:
        points[t] = round(rng.uniform(-50, 500), 3)
        t += rng.choice([1, 7, 60, 61, 300, 3_600, 20_000])
    return points


STEPS = [1, 7, 60, 900, 3_600, 86_399, DAY, 86_401, 2 * DAY + 17, 7 * DAY]


@pytest.mark.parametrize("agg", AGGREGATES)
@pytest.mark.parametrize("step", STEPS)
async def test_downsampling_matches_a_brute_force_reference(
    series: SeriesStore, readings: dict[int, float], agg: str, step: int
) -> None:
    await series.write("s", readings.items())
    for start, end in [(0, 2**40), (T0 + 1_000, T0 + 3 * DAY - 5), (T0 + DAY, T0 + DAY + 3_600)]:
        got = await series.query("s", start, end, step=step, agg=agg)  # type: ignore[arg-type]
        assert_same(got, reference(readings, start, end, step, agg))


@pytest.mark.parametrize("agg", AGGREGATES)
def test_downsampling_chunks_merges_buckets_that_span_them(agg: str) -> None:
    """The pure function on hand-made chunks: buckets cut by chunk edges many times over."""
    rng = random.Random(agg)
    points: dict[int, float] = {}
    chunks = []
    t = 1_000
    for _ in range(40):  # chunks of a few points each, some a single point
        stamps, values = array("q"), array("d")
        for _ in range(rng.randint(1, 6)):
            t += rng.randint(1, 40)
            stamps.append(t)
            values.append(rng.uniform(-10, 10))
            points[t] = values[-1]
        chunks.append((stamps, values))
    for step in (1, 5, 37, 100, 10_000):
        for start, end in [(0, 10**6), (1_100, t - 50)]:
            got = downsample(chunks, start, end, step, agg)  # type: ignore[arg-type]
            assert_same(list(zip(*got, strict=True)), reference(points, start, end, step, agg))


async def test_columns_answer_what_query_answers(
    series: SeriesStore, readings: dict[int, float]
) -> None:
    await series.write("s", readings.items())
    for step in (None, 60, DAY):
        stamps, values = await series.columns("s", T0, T0 + 3 * DAY, step, "max")
        assert (stamps.typecode, values.typecode) == ("q", "d")
        assert list(zip(stamps, values, strict=True)) == await series.query(
            "s", T0, T0 + 3 * DAY, step, "max"
        )
    assert await series.columns("s", 2**41, 2**41 + 60, 60) == (array("q"), array("d"))


async def test_downsampling_labels_buckets_by_their_epoch_aligned_start(
    series: SeriesStore,
) -> None:
    await series.write("s", [(T0 + 10, 1.0), (T0 + 3_599, 2.0), (T0 + 3_600, 4.0)])
    assert await series.query("s", T0 + 5, T0 + DAY, step=3_600, agg="sum") == [
        (T0, 3.0),
        (T0 + 3_600, 4.0),
    ]
    assert await series.query("s", T0, T0 + DAY, step=DAY, agg="avg") == [(T0, 7.0 / 3)]


@pytest.mark.parametrize("step", [0, -60])
async def test_a_step_that_is_not_positive_is_refused(series: SeriesStore, step: int) -> None:
    await series.write("s", [(T0, 1.0)])
    with pytest.raises(InputError):
        await series.query("s", T0, T0 + 1, step=step)


@pytest.mark.parametrize("step", [1.5, "60", True])
async def test_a_step_that_is_not_a_whole_number_of_seconds_is_refused(
    series: SeriesStore, step: object
) -> None:
    await series.write("s", [(T0, 1.0)])
    with pytest.raises(InputError):
        await series.query("s", T0, T0 + 1, step=step)  # type: ignore[arg-type]


@pytest.mark.parametrize(("start", "end"), [("0", 10), (0.5, 10), (None, 10), (0, True)])
async def test_range_bounds_that_are_not_whole_numbers_are_refused(
    series: SeriesStore, start: object, end: object
) -> None:
    await series.write("s", [(T0, 1.0)])
    with pytest.raises(InputError):
        await series.query("s", start, end)  # type: ignore[arg-type]


async def test_an_unknown_aggregate_is_refused(series: SeriesStore) -> None:
    await series.write("s", [(T0, 1.0)])
    with pytest.raises(InputError, match="unknown aggregate"):
        await series.query("s", T0, T0 + 1, step=60, agg="median")  # type: ignore[arg-type]


# --- bad input ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "point",
    [
        (T0, float("nan")),
        (T0, float("inf")),
        (T0, float("-inf")),
        (T0, True),
        (T0, None),
        (T0, "12.5"),
        (T0, 10**400),
        (True, 1.0),
        ("1700000000", 1.0),
        (None, 1.0),
        (float("nan"), 1.0),
        (float("inf"), 1.0),
        (1e300, 1.0),
        (2**40, 1.0),
        (2**64, 1.0),
        (-1, 1.0),
    ],
)
async def test_bad_points_are_input_errors(
    series: SeriesStore, point: tuple[object, object]
) -> None:
    with pytest.raises(InputError):
        await series.write("s", [point])  # type: ignore[list-item]
    with pytest.raises(NotFound):  # and nothing was created
        await series.info("s")


@pytest.mark.parametrize("point", [(T0,), (T0, 1.0, 2.0), 5, None, "ab"])
async def test_points_that_are_not_pairs_are_input_errors(
    series: SeriesStore, point: object
) -> None:
    with pytest.raises(InputError):
        await series.write("s", [point])  # type: ignore[list-item]


async def test_writing_no_points_creates_nothing(series: SeriesStore) -> None:
    assert await series.write("s", []) == 0
    assert await series.list() == []


async def test_integer_values_and_float_timestamps_are_accepted(series: SeriesStore) -> None:
    await series.write("s", [(float(T0), 3), (T0 + 1.0, -2)])
    assert await series.query("s", T0, T0 + 2) == [(T0, 3.0), (T0 + 1, -2.0)]


async def test_a_day_of_one_second_readings_round_trips(series: SeriesStore) -> None:
    points = [(T0 + i, float(i % 977)) for i in range(DAY)]
    await series.write("s", points)
    assert await series.query("s", T0, T0 + DAY) == points
    assert (await series.info("s")).chunks == 1
