"""Time series: catalogue, range and downsample queries, writes."""

from __future__ import annotations

import datetime as dt
import re

import orjson
from aiohttp import web

from ...errors import InputError
from ...store import AGGREGATES
from ..requests import box_of, json_body, reply

__all__ = [
    "delete_series",
    "list_series",
    "parse_duration",
    "parse_time",
    "query_series",
    "write_series",
]

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]*(/[A-Za-z0-9._:-]+)*$")
MAX_POINTS_PER_WRITE = 200_000
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def series_name(request: web.Request) -> str:
    name = request.match_info["name"]
    if len(name) > 200 or not NAME.match(name):
        raise InputError("a series name is letters, digits, . _ : - separated by /")
    return name


async def list_series(request: web.Request) -> web.Response:
    infos = await box_of(request).series.list()
    return reply(
        {
            "series": [
                {
                    "name": i.name,
                    "unit": i.unit,
                    "first_day": _day(i.first_day),
                    "last_day": _day(i.last_day),
                    "days": i.chunks,
                }
                for i in infos
            ]
        }
    )


async def query_series(request: web.Request) -> web.Response:
    name = series_name(request)
    q = request.query
    if "start" not in q or "end" not in q:
        raise InputError("give the range as start= and end= (epoch seconds or ISO 8601)")
    start, end = parse_time(q["start"]), parse_time(q["end"])
    step = parse_duration(q["step"]) if q.get("step") else None
    agg = q.get("agg", "avg")
    if agg not in AGGREGATES:
        raise InputError(f"agg must be one of {', '.join(AGGREGATES)}")
    if step is None and end - start > 366 * 86400:
        raise InputError("ranges over a year need a step= to downsample")
    stamps, values = await box_of(request).series.columns(name, start, end, step, agg)  # type: ignore[arg-type]
    # A list per point and json.dumps cost 25 times the store's query for 30 days raw;
    # orjson encodes tuples of the arrays' ints and floats in C, four times faster. Values
    # are finite (the store refuses others), so orjson writes every one as a number.
    body = orjson.dumps(
        {
            "name": name,
            "start": start,
            "end": end,
            "step": step,
            "agg": agg,
            "points": list(zip(stamps.tolist(), values.tolist(), strict=True)),
        }
    )
    return web.Response(body=body, content_type="application/json")


async def write_series(request: web.Request) -> web.Response:
    name = series_name(request)
    box = box_of(request)
    box.series  # noqa: B018
    body = await json_body(
        request,
        {
            "type": "object",
            "required": ["points"],
            "properties": {
                "unit": {"type": "string", "maxLength": 32},
                "points": {
                    "type": "array",
                    "maxItems": MAX_POINTS_PER_WRITE,
                    "items": {
                        "type": "array",
                        "minItems": 2,
                        "maxItems": 2,
                        "items": {"type": "number"},
                    },
                },
            },
            "additionalProperties": False,
        },
    )
    written = await box.series.write(
        name, [tuple(p) for p in body["points"]], unit=body.get("unit", "")
    )  # type: ignore[misc]
    return reply({"name": name, "written": written})


async def delete_series(request: web.Request) -> web.Response:
    await box_of(request).series.delete(series_name(request))
    return reply({"deleted": True})


def parse_time(text: str) -> int:
    """Epoch seconds, or an ISO 8601 date/time (UTC unless it says otherwise)."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"{text[:40]!r} is neither epoch seconds nor an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


def parse_duration(text: str) -> int:
    """``900``, ``15m``, ``1h``, ``1d``, ``1w`` → seconds."""
    match = re.fullmatch(r"(\d{1,9})([smhdw]?)", text.strip())
    if not match:
        raise InputError(f"{text[:20]!r} is not a duration: use e.g. 900, 15m, 1h, 1d")
    value = int(match[1]) * _UNITS.get(match[2] or "s", 1)
    if value <= 0:
        raise InputError("a step must be positive")
    return value


def _day(day: int | None) -> str | None:
    return None if day is None else (dt.date(1970, 1, 1) + dt.timedelta(days=day)).isoformat()
