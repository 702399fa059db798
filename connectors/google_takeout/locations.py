"""Google location exports → location fixes (series) and visits and trips (documents).

Four shapes, all read record by record:

* ``Records.json`` (Takeout "Location History"): ``{"locations": [{latitudeE7,
  longitudeE7, accuracy, timestamp | timestampMs, ...}]}``. Old exports give
  ``timestampMs`` (epoch ms as a string), newer ones an ISO ``timestamp``.
* Semantic Location History (``2023/2023_JANUARY.json``): ``{"timelineObjects":
  [{"placeVisit": ...} | {"activitySegment": ...}]}`` with E7 coordinates.
* The on-device Timeline export (Android, 2024+): ``{"semanticSegments": [...],
  "rawSignals": [...]}`` with ``"48.8583701°, 2.2944813°"`` coordinate strings.
* The same export from iOS: a top-level array of segments with ``"geo:lat,lon"``.

A fix (time, lat, lon, accuracy) goes to the series ``location/lat``, ``location/lon``
and ``location/accuracy``: millions of points are one chunk per day, not a million
documents, and a map app asks for a time range. A visit or a trip is a document
(``selfdata.location.visits`` / ``selfdata.location.trips``) whose id comes from its
start time and place, so the same visit read from Semantic History and from the newer
Timeline export is stored once.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from ..sinks import Document, Problem, stable_id
from ..timestamps import epoch_of, iso_utc

__all__ = [
    "ACCURACY",
    "LAT",
    "LON",
    "TRIPS",
    "VISITS",
    "Fix",
    "from_records",
    "from_semantic",
    "from_timeline_segments",
    "from_timeline_signals",
    "parse_lat_lng",
]

LAT, LON, ACCURACY = "location/lat", "location/lon", "location/accuracy"
VISITS, TRIPS = "selfdata.location.visits", "selfdata.location.trips"
_E7 = 1e-7
_WRAP = 2**32


@dataclass(frozen=True, slots=True)
class Fix:
    """One position at one time (epoch seconds); accuracy in metres when known."""

    ts: int
    lat: float
    lon: float
    accuracy: float | None = None


Out = Fix | Document | Problem


def from_records(items: Iterable[Any], where: str) -> Iterator[Fix | Problem]:
    """``Records.json``'s ``locations`` array."""
    for n, item in enumerate(items):
        if isinstance(item, Problem):
            yield item
            continue
        if not isinstance(item, dict):
            yield Problem(f"{where} record {n}", "not a JSON object")
            continue
        ts = epoch_of(item.get("timestamp", item.get("timestampMs")))
        if ts is None:
            yield Problem(f"{where} record {n}", "no valid timestamp or timestampMs")
            continue
        point = _e7(item.get("latitudeE7"), item.get("longitudeE7"))
        if point is None:
            yield Problem(f"{where} record {n}", "no valid latitudeE7/longitudeE7")
            continue
        yield Fix(ts, point[0], point[1], _number(item.get("accuracy")))


def from_semantic(items: Iterable[Any], where: str) -> Iterator[Out]:
    """Semantic Location History's ``timelineObjects``."""
    for n, item in enumerate(items):
        if isinstance(item, Problem):
            yield item
            continue
        here = f"{where} object {n}"
        if not isinstance(item, dict):
            yield Problem(here, "not a JSON object")
        elif isinstance(visit := item.get("placeVisit"), dict):
            yield _semantic_visit(visit, here)
        elif isinstance(segment := item.get("activitySegment"), dict):
            yield _semantic_trip(segment, here)
        # other kinds (timelineMemory, ...) hold nothing located: skipped quietly


def from_timeline_segments(items: Iterable[Any], where: str) -> Iterator[Out]:
    """The on-device export's ``semanticSegments`` (Android) or its top-level array (iOS)."""
    for n, item in enumerate(items):
        if isinstance(item, Problem):
            yield item
            continue
        here = f"{where} segment {n}"
        if not isinstance(item, dict):
            yield Problem(here, "not a JSON object")
            continue
        start, end = epoch_of(item.get("startTime")), epoch_of(item.get("endTime"))
        if start is None:
            yield Problem(here, "no valid startTime")
            continue
        if isinstance(visit := item.get("visit"), dict):
            yield _timeline_visit(visit, start, end, here)
        elif isinstance(activity := item.get("activity"), dict):
            yield _timeline_trip(activity, start, end, here)
        if isinstance(path := item.get("timelinePath"), list):
            yield from _timeline_path(path, start, here)


def from_timeline_signals(items: Iterable[Any], where: str) -> Iterator[Fix | Problem]:
    """The on-device export's ``rawSignals``: only ``position`` signals are locations."""
    for n, item in enumerate(items):
        if isinstance(item, Problem):
            yield item
            continue
        if not isinstance(item, dict) or not isinstance(pos := item.get("position"), dict):
            continue  # wifiScan, activityRecord: not positions
        here = f"{where} signal {n}"
        ts = epoch_of(pos.get("timestamp"))
        point = parse_lat_lng(pos.get("LatLng", pos.get("latLng")))
        if ts is None or point is None:
            yield Problem(here, "a position without a valid time or LatLng")
            continue
        yield Fix(ts, point[0], point[1], _number(pos.get("accuracyMeters")))


def parse_lat_lng(value: object) -> tuple[float, float] | None:
    """``"48.8583701°, 2.2944813°"`` or ``"geo:48.858370,2.294481"`` → (lat, lon)."""
    if isinstance(value, dict):  # {"latLng": "..."} wrappers
        value = value.get("latLng", value.get("LatLng"))
    if not isinstance(value, str) or len(value) > 64:
        return None
    text = value.removeprefix("geo:").replace("°", "")
    parts = text.split(",")
    if len(parts) != 2:
        return None
    try:
        lat, lon = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    return (lat, lon) if _valid(lat, lon) else None


# --- Semantic Location History -------------------------------------------------------------


def _semantic_visit(visit: dict[str, Any], here: str) -> Document | Problem:
    location = visit.get("location") if isinstance(visit.get("location"), dict) else {}
    assert isinstance(location, dict)
    duration = visit.get("duration") if isinstance(visit.get("duration"), dict) else {}
    assert isinstance(duration, dict)
    start, end = _duration(duration)
    point = _e7(location.get("latitudeE7"), location.get("longitudeE7"))
    if point is None:
        point = _e7(visit.get("centerLatE7"), visit.get("centerLngE7"))
    if start is None or point is None:
        return Problem(here, "a placeVisit without a valid start time or location")
    return _visit(
        start,
        end,
        point,
        place_id=_text(location.get("placeId")),
        name=_text(location.get("name")),
        address=_text(location.get("address")),
        semantic_type=_text(location.get("semanticType")),
        source="takeout-semantic",
    )


def _semantic_trip(segment: dict[str, Any], here: str) -> Document | Problem:
    duration = segment.get("duration") if isinstance(segment.get("duration"), dict) else {}
    assert isinstance(duration, dict)
    start, end = _duration(duration)
    if start is None:
        return Problem(here, "an activitySegment without a valid start time")
    begin, finish = segment.get("startLocation"), segment.get("endLocation")
    return _trip(
        start,
        end,
        activity=_text(segment.get("activityType")),
        distance=_number(segment.get("distance")),
        begin=_e7(*_e7_pair(begin)),
        finish=_e7(*_e7_pair(finish)),
        source="takeout-semantic",
    )


def _duration(duration: dict[str, Any]) -> tuple[int | None, int | None]:
    start = epoch_of(duration.get("startTimestamp", duration.get("startTimestampMs")))
    end = epoch_of(duration.get("endTimestamp", duration.get("endTimestampMs")))
    return start, end


def _e7_pair(location: object) -> tuple[object, object]:
    if isinstance(location, dict):
        return location.get("latitudeE7"), location.get("longitudeE7")
    return None, None


# --- on-device Timeline ----------------------------------------------------------------------


def _timeline_visit(
    visit: dict[str, Any], start: int, end: int | None, here: str
) -> Document | Problem:
    top = visit.get("topCandidate") if isinstance(visit.get("topCandidate"), dict) else {}
    assert isinstance(top, dict)
    point = parse_lat_lng(top.get("placeLocation"))
    if point is None:
        return Problem(here, "a visit without a valid placeLocation")
    return _visit(
        start,
        end,
        point,
        place_id=_text(top.get("placeId", top.get("placeID"))),
        semantic_type=_text(top.get("semanticType")),
        probability=_number(top.get("probability")),
        source="timeline",
    )


def _timeline_trip(activity: dict[str, Any], start: int, end: int | None, here: str) -> Document:
    top = activity.get("topCandidate") if isinstance(activity.get("topCandidate"), dict) else {}
    assert isinstance(top, dict)
    kind = _text(top.get("type"))
    return _trip(
        start,
        end,
        # iOS writes "walking", Android "WALKING", Semantic History "WALKING": one spelling
        activity=kind.upper().replace(" ", "_") if kind else None,
        distance=_number(activity.get("distanceMeters")),
        begin=parse_lat_lng(activity.get("start")),
        finish=parse_lat_lng(activity.get("end")),
        source="timeline",
    )


def _timeline_path(path: list[Any], start: int, here: str) -> Iterator[Fix | Problem]:
    for i, step in enumerate(path):
        if not isinstance(step, dict):
            continue
        point = parse_lat_lng(step.get("point"))
        ts = epoch_of(step.get("time")) if "time" in step else None
        if ts is None and "durationMinutesOffsetFromStartTime" in step:  # iOS
            offset = _number(step.get("durationMinutesOffsetFromStartTime"))
            ts = None if offset is None else start + int(offset * 60)
        if point is None or ts is None:
            yield Problem(f"{here} point {i}", "a path point without a valid time or point")
            continue
        yield Fix(ts, point[0], point[1])


# --- documents -------------------------------------------------------------------------------


def _visit(
    start: int,
    end: int | None,
    point: tuple[float, float],
    *,
    place_id: str | None = None,
    name: str | None = None,
    address: str | None = None,
    semantic_type: str | None = None,
    probability: float | None = None,
    source: str,
) -> Document:
    where = place_id or f"{point[0]:.4f},{point[1]:.4f}"
    doc: dict[str, Any] = {
        "_id": stable_id("visit", start, where),
        "start": iso_utc(start),
        "lat": point[0],
        "lon": point[1],
        "source": source,
    }
    _put(doc, "end", iso_utc(end) if end is not None else None)
    _put(doc, "placeId", place_id)
    _put(doc, "name", name)
    _put(doc, "address", address)
    _put(doc, "semanticType", semantic_type)
    _put(doc, "probability", probability)
    return Document(VISITS, doc)


def _trip(
    start: int,
    end: int | None,
    *,
    activity: str | None,
    distance: float | None,
    begin: tuple[float, float] | None,
    finish: tuple[float, float] | None,
    source: str,
) -> Document:
    doc: dict[str, Any] = {"_id": stable_id("trip", start, end), "start": iso_utc(start)}
    _put(doc, "end", iso_utc(end) if end is not None else None)
    _put(doc, "activity", activity)
    _put(doc, "distance", distance)
    if begin is not None:
        doc["startLat"], doc["startLon"] = begin
    if finish is not None:
        doc["endLat"], doc["endLon"] = finish
    doc["source"] = source
    return Document(TRIPS, doc)


def _put(doc: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        doc[key] = value


def _e7(lat: object, lon: object) -> tuple[float, float] | None:
    if not isinstance(lat, int | float) or not isinstance(lon, int | float):
        return None
    if not (_is_int(lat) and _is_int(lon)):
        return None
    # Old exports stored some E7 values as unsigned 32-bit: wrap them back
    if lat > 900_000_000:
        lat -= _WRAP
    if lon > 1_800_000_000:
        lon -= _WRAP
    point = (round(lat * _E7, 7), round(lon * _E7, 7))
    return point if _valid(*point) else None


def _is_int(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _valid(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def _number(value: object) -> float | None:
    if isinstance(value, str):  # iOS writes numbers as strings: "distanceMeters": "123.0"
        try:
            value = float(value)
        except ValueError:
            return None
    if _is_int(value):
        assert isinstance(value, int | float)
        return float(value)
    return None


def _text(value: object) -> str | None:
    return value[:1024] if isinstance(value, str) and value else None
