"""Grand Lyon open data: Vélo'v stations, live, from data.grandlyon.com.

The dataset is ``jcd_jcdecaux.jcdvelov`` ("Stations Vélo'v de la Métropole de Lyon -
Disponibilités temps réel", JCDecaux for the Métropole de Lyon, Licence Ouverte): one
record per station with its place, its number of stands and, refreshed every minute,
the bikes and free stands available. Two ways to read it, both paged:

* ``datapusher`` (default): ``GET /fr/datapusher/ws/rdata/jcd_jcdecaux.jcdvelov/all.json
  ?maxfeatures=&start=`` (``start`` counts from 1) → ``{"nb_results", "values": [...]}``,
  each value an object (``"number": 2027``, ``"last_update": "2026-06-17 08:48:28+02:00"``)
  or, as the older service answered, a row of strings in the order of ``"fields"``;
* ``wfs``: ``GET /geoserver/metropole-de-lyon/ows?SERVICE=WFS&VERSION=2.0.0
  &request=GetFeature&typename=metropole-de-lyon:jcd_jcdecaux.jcdvelov
  &outputFormat=application/json&SRSNAME=EPSG:4171&sortBy=gid&count=&startIndex=``
  → a GeoJSON FeatureCollection.

It stores every station in ``selfdata.opendata.stations`` (one document per station,
updated in place), and for the stations followed — those listed, or else those within
``radius`` metres of the home — the series ``grand-lyon/velov/{number}/bikes``
and ``…/stands`` (counts, at the station's last update). No account, no secret: runs
while the box is locked.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Mapping
from typing import Any

from ..meters import local_epoch, read_json, shed_transient
from ..sdk import AuthFailed, Context, CredentialField, Manifest, RateLimit, ServiceDown

__all__ = ["DATASET", "MANIFEST", "STATIONS", "station_document", "sync"]

DATASET = "jcd_jcdecaux.jcdvelov"
STATIONS = "selfdata.opendata.stations"
PAGE = 500
MAX_PAGES = 40  # 20,000 records: far more than the ~450 stations; a runaway guard

MANIFEST = Manifest(
    id="grand-lyon-velov",
    name="Grand Lyon: Vélo'v stations",
    vendor="Métropole de Lyon (data.grandlyon.com)",
    description="Vélo'v bike-share stations of the Lyon area and, for the ones near home, "
    "how many bikes and free stands they have through the day.",
    doctypes=(STATIONS,),
    series=("grand-lyon/",),
    credentials=(
        CredentialField(
            "stations",
            "Stations to follow",
            required=False,
            help="Station numbers, comma-separated (e.g. 7024,7020). Empty: "
            "those near the home (latitude, longitude, radius).",
        ),
        CredentialField("latitude", "Home latitude", kind="number", required=False),
        CredentialField("longitude", "Home longitude", kind="number", required=False),
        CredentialField(
            "radius", "Metres around the home", kind="number", required=False, default="600"
        ),
        CredentialField(
            "api",
            "Service",
            kind="select",
            required=False,
            default="datapusher",
            options=("datapusher", "wfs"),
        ),
    ),
    schedule="every 15m",
    rate_limit=RateLimit(requests=2, per_seconds=1),
    runs_locked=True,
    base_urls={"data": "https://data.grandlyon.com"},
    category="open-data",
    help_url="https://data.grandlyon.com/portail/fr/jeux-de-donnees/stations-velo-v-metropole-lyon-disponibilites-temps-reel",
)


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _float(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def station_document(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """A ``selfdata.opendata.stations`` document of a dataset record (``None`` if it has
    no station number)."""
    number = _int(record.get("number"))
    if number is None:
        return None
    doc: dict[str, Any] = {
        "_id": f"grand-lyon:velov:{number}",
        "source": "data.grandlyon.com",
        "dataset": DATASET,
        "kind": "bike-share",
        "stationId": str(number),
        "name": str(record.get("name") or record.get("address") or number),
    }
    for key, field in (("address", "address"), ("commune", "commune"), ("status", "status")):
        if isinstance(record.get(key), str) and record[key]:
            doc[field] = record[key]
    lat, lon = _float(record.get("lat")), _float(record.get("lng") or record.get("lon"))
    if lat is not None and lon is not None:
        doc["lat"], doc["lon"] = lat, lon
    capacity = _int(record.get("bike_stands"))
    if capacity is not None:
        doc["capacity"] = capacity
    return doc


async def _datapusher(ctx: Context) -> AsyncIterator[list[Mapping[str, Any]]]:
    start = 1
    for _ in range(MAX_PAGES):
        resp = await ctx.http.get(
            ctx.url("data", f"/fr/datapusher/ws/rdata/{DATASET}/all.json"),
            params={"maxfeatures": str(PAGE), "start": str(start)},
        )
        payload = await _answer(resp)
        values = payload.get("values") if isinstance(payload, dict) else None
        if not isinstance(values, list):
            raise ServiceDown("data.grandlyon.com answered without a list of values")
        yield _records(values, payload.get("fields"))
        total = _int(payload.get("nb_results"))
        start += len(values)
        if len(values) < PAGE or (total is not None and start > total):
            return


def _records(values: list[Any], fields: object) -> list[Mapping[str, Any]]:
    """A page's records. Each value is an object, or, in the compact answer of the older
    ``download.data.grandlyon.com/ws/rdata`` service (recorded in 2015), a row of strings
    in the order of ``fields``, a missing value written ``"None"``. Anything else becomes
    an empty record: a bad one, counted as such."""
    names = [str(name) for name in fields] if isinstance(fields, list) else []
    records: list[Mapping[str, Any]] = []
    for value in values:
        if isinstance(value, Mapping):
            records.append(value)
        elif isinstance(value, list) and names and len(value) == len(names):
            row = zip(names, value, strict=True)
            records.append({name: None if v == "None" else v for name, v in row})
        else:
            records.append({})
    return records


async def _wfs(ctx: Context) -> AsyncIterator[list[Mapping[str, Any]]]:
    index = 0
    for _ in range(MAX_PAGES):
        resp = await ctx.http.get(
            ctx.url("data", "/geoserver/metropole-de-lyon/ows"),
            params={
                "SERVICE": "WFS",
                "VERSION": "2.0.0",
                "request": "GetFeature",
                "typename": f"metropole-de-lyon:{DATASET}",
                "outputFormat": "application/json",
                "SRSNAME": "EPSG:4171",
                "sortBy": "gid",
                "count": str(PAGE),
                "startIndex": str(index),
            },
        )
        payload = await _answer(resp)
        features = payload.get("features") if isinstance(payload, dict) else None
        if not isinstance(features, list):
            raise ServiceDown("the WFS answer is not a FeatureCollection")
        page: list[Mapping[str, Any]] = []
        for feature in features:
            props = feature.get("properties") if isinstance(feature, Mapping) else None
            if not isinstance(props, Mapping):
                continue
            record = dict(props)
            geometry = feature.get("geometry")
            coords = geometry.get("coordinates") if isinstance(geometry, Mapping) else None
            if isinstance(coords, list) and len(coords) >= 2:
                record.setdefault("lng", coords[0])
                record.setdefault("lat", coords[1])
            page.append(record)
        yield page
        index += len(features)
        matched = _int(payload.get("numberMatched") or payload.get("totalFeatures"))
        if len(features) < PAGE or (matched is not None and index >= matched):
            return


async def _answer(resp: Any) -> Any:
    shed_transient(resp, "data.grandlyon.com")
    if resp.status in (401, 403):
        raise AuthFailed(
            f"data.grandlyon.com refused access (HTTP {resp.status}): this dataset needs an account"
        )
    if resp.status != 200:
        raise ServiceDown(f"data.grandlyon.com answered HTTP {resp.status}")
    return await read_json(resp, "data.grandlyon.com")


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_000 * math.asin(math.sqrt(a))


def _follows(ctx: Context) -> Any:
    listed = {s.strip() for s in (ctx.credentials.get("stations") or "").split(",") if s.strip()}
    lat = _float(ctx.credentials.get("latitude"))
    lon = _float(ctx.credentials.get("longitude"))
    radius = _float(ctx.credentials.get("radius")) or 600.0

    def follows(doc: dict[str, Any]) -> bool:
        if listed:
            return str(doc["stationId"]) in listed
        if lat is not None and lon is not None:
            return "lat" in doc and _distance_m(lat, lon, doc["lat"], doc["lon"]) <= radius
        return False  # nothing chosen: the station list only (a series per station is heavy)

    return follows


async def sync(ctx: Context) -> None:
    follows = _follows(ctx)
    now = int(ctx.now().timestamp())
    pages = _wfs(ctx) if ctx.credentials.get("api") == "wfs" else _datapusher(ctx)
    seen = followed = bad = 0
    async for page in pages:
        docs = []
        for record in page:
            doc = station_document(record)
            if doc is None:
                bad += 1
                continue
            docs.append(doc)
            if not follows(doc):
                continue
            followed += 1
            stamp = now
            if isinstance(record.get("last_update"), str):
                with contextlib.suppress(ValueError):
                    stamp = local_epoch(record["last_update"])
            base = f"grand-lyon/velov/{doc['stationId']}"
            for name, key in (("bikes", "available_bikes"), ("stands", "available_bike_stands")):
                count = _int(record.get(key))
                if count is not None:
                    await ctx.save_series(f"{base}/{name}", [(stamp, float(count))], "count")
        seen += len(docs)
        if docs:
            await ctx.save(STATIONS, docs)
        await ctx.progress(seen, None, f"{seen} stations")
    if seen == 0:
        raise ServiceDown("data.grandlyon.com returned no station")
    ctx.state["last_run"] = {"stations": seen, "followed": followed, "bad_records": bad}
