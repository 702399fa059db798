"""A fake data.grandlyon.com serving the Vélo'v dataset through the datapusher JSON
service and through WFS (GeoJSON), both paged as the real services page."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from .server import Faults

DATASET = "jcd_jcdecaux.jcdvelov"
FIELDS = [
    "number",
    "name",
    "address",
    "commune",
    "bike_stands",
    "available_bike_stands",
    "available_bikes",
    "status",
    "last_update",
    "lat",
    "lng",
    "gid",
]


def station(i: int) -> dict[str, Any]:
    """Station ``i``: numbered 1001…, on a line going east from Bellecour (45.7578, 4.8320)."""
    return {
        "number": 1000 + i,
        "name": f"{1000 + i} - Station {i}",
        "address": f"{i} rue de la République",
        "commune": "Lyon 2 ème",
        "bike_stands": 20,
        "available_bike_stands": 20 - i % 20,
        "available_bikes": i % 20,
        "status": "OPEN",
        "last_update": "2024-03-15 10:29:41",
        "lat": 45.7578,
        "lng": round(4.8320 + i * 0.001, 6),
        "gid": i,
    }


@dataclass
class FakeGrandLyon:
    count: int = 1203
    faults: Faults = field(default_factory=Faults)
    calls: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get(f"/fr/datapusher/ws/rdata/{DATASET}/all.json", self._datapusher)
        app.router.add_get("/geoserver/metropole-de-lyon/ows", self._wfs)
        return app

    async def _datapusher(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.calls.append(q)
        fault = self.faults.pop()
        if fault is not None:
            return fault
        size, start = int(q.get("maxfeatures", "1000")), int(q.get("start", "1"))
        values = [station(i) for i in range(start, min(start + size, self.count + 1))]
        base = str(request.url.with_query(None))
        body: dict[str, Any] = {
            "fields": FIELDS,
            "layer_name": DATASET,
            "nb_results": self.count,
            "table_href": f"https://data.grandlyon.com/fr/datapusher/ws/rdata/{DATASET}.json",
            "values": values,
        }
        if start + size <= self.count:
            body["next"] = f"{base}?maxfeatures={size}&start={start + size}"
        return web.json_response(body)

    async def _wfs(self, request: web.Request) -> web.Response:
        q = dict(request.query)
        self.calls.append(q)
        fault = self.faults.pop()
        if fault is not None:
            return fault
        if q.get("SERVICE") != "WFS" or q.get("typename") != f"metropole-de-lyon:{DATASET}":
            return web.Response(
                status=400, text="<ows:ExceptionReport>unknown layer</ows:ExceptionReport>"
            )
        size, index = int(q.get("count", "1000")), int(q.get("startIndex", "0"))
        features = []
        for i in range(index + 1, min(index + size, self.count) + 1):
            props = station(i)
            lat, lng = props.pop("lat"), props.pop("lng")
            features.append(
                {
                    "type": "Feature",
                    "id": f"{DATASET}.{i}",
                    "geometry": {"type": "Point", "coordinates": [lng, lat]},
                    "properties": props,
                }
            )
        return web.json_response(
            {
                "type": "FeatureCollection",
                "features": features,
                "totalFeatures": self.count,
                "numberMatched": self.count,
                "numberReturned": len(features),
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4171"}},
            }
        )
