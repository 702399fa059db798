"""The series query's JSON answer: exactly the store's points, as ``[timestamp, value]`` pairs."""

from __future__ import annotations

import json

from .conftest import Api

T0 = 1_700_006_400  # 2023-11-15, a day boundary


async def test_raw_and_downsampled_answers_hold_the_exact_points(owner: Api) -> None:
    values = [0.1, -2.5, 1e-7, 123456789.125, 3.0, 1e300]
    points = [[T0 + 30 * i, v] for i, v in enumerate(values)]
    status, _ = await owner.call("POST", "/api/v1/series/home/t", json={"points": points})
    assert status == 200
    async with owner.request(
        "GET", "/api/v1/series/home/t", params={"start": T0, "end": T0 + 3600}
    ) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/json"
        raw = json.loads(await resp.read())
    assert raw == {
        "name": "home/t",
        "start": T0,
        "end": T0 + 3600,
        "step": None,
        "agg": "avg",
        "points": points,
    }
    assert all(isinstance(t, int) and isinstance(v, float) for t, v in raw["points"])

    status, every_minute = await owner.call(
        "GET",
        "/api/v1/series/home/t",
        params={"start": T0, "end": T0 + 3600, "step": "1m", "agg": "max"},
    )
    assert status == 200
    assert every_minute["step"] == 60
    assert every_minute["points"] == [[T0, 0.1], [T0 + 60, 123456789.125], [T0 + 120, 1e300]]


async def test_a_range_with_no_points_answers_an_empty_list(owner: Api) -> None:
    await owner.call("POST", "/api/v1/series/home/t", json={"points": [[T0, 1.0]]})
    status, body = await owner.call(
        "GET", "/api/v1/series/home/t", params={"start": T0 + 10, "end": T0 + 20, "step": "1s"}
    )
    assert (status, body["points"]) == (200, [])
