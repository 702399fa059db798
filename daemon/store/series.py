"""Time series: one encrypted, compressed, columnar chunk per series per UTC day.

A year of 1-minute meter readings is 365 rows, not 525,600. A chunk holds sorted int64
timestamps (seconds) and float64 values, zstd-compressed, then sealed with associated
data binding it to its series, day and version. Queries decrypt only the days in range
and downsample with C-level slicing (``bisect`` + ``sum``/``min``/``max`` on arrays,
see :mod:`.downsample`), with a small cache of decoded chunks for repeated dashboard
queries. :meth:`SeriesStore.columns` answers with arrays, no Python object per point.
"""

from __future__ import annotations

import builtins
import math
import struct
import sys
from array import array
from bisect import bisect_left
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import zstandard

from .. import crypto
from ..errors import InputError, IntegrityError, NotFound
from ..vault import Keys, Purpose
from .codec import ad_for, open_json, seal_json
from .db import Database
from .downsample import AGGREGATES, Aggregate, Columns, downsample

__all__ = [
    "AGGREGATES",
    "MAX_TIMESTAMP",
    "Aggregate",
    "Columns",
    "Point",
    "SeriesInfo",
    "SeriesStore",
    "check_point",
]

DAY = 86_400
Point = tuple[int, float]
_MAGIC = b"SDS1"
_CACHE_POINTS = 1_200_000  # ~20 MB of decoded arrays: a year of minutes, warm
_LITTLE = sys.byteorder == "little"


@dataclass(frozen=True)
class SeriesInfo:
    name: str
    unit: str
    first_day: int | None
    last_day: int | None
    chunks: int


class SeriesStore:
    def __init__(self, db: Database, keys: Keys) -> None:
        self._db = db
        self._keys = keys
        self._key = keys.subkey(Purpose.SERIES)
        self._cache: OrderedDict[tuple[bytes, int, int], Columns] = OrderedDict()
        self._cached_points = 0
        self._zc = zstandard.ZstdCompressor(level=3)
        self._zd = zstandard.ZstdDecompressor()

    def series_hash(self, name: str) -> bytes:
        return self._keys.name("series", name)

    # -- catalogue --------------------------------------------------------------------------

    async def list(self) -> list[SeriesInfo]:
        rows = await self._db.fetchall(
            "SELECT s.hash, s.name, min(c.day), max(c.day), count(c.day) FROM series s "
            "LEFT JOIN series_chunks c ON c.series = s.hash GROUP BY s.hash"
        )
        infos = []
        for h, blob, first, last, n in rows:
            meta = open_json(self._key, blob, ad_for(b"series-name", h))
            infos.append(SeriesInfo(meta["name"], meta.get("unit", ""), first, last, n))
        return sorted(infos, key=lambda i: i.name)

    async def info(self, name: str) -> SeriesInfo:
        for info in await self.list():
            if info.name == name:
                return info
        raise NotFound(f"no series {name!r}")

    async def delete(self, name: str) -> None:
        h = self.series_hash(name)
        async with self._db.transaction() as db:
            cur = await db.execute("DELETE FROM series_chunks WHERE series = ?", (h,))
            await cur.close()
            cur = await db.execute("DELETE FROM series WHERE hash = ?", (h,))
            deleted = cur.rowcount
            await cur.close()
        self._drop_cache(h)
        if not deleted:
            raise NotFound(f"no series {name!r}")

    # -- writing ----------------------------------------------------------------------------

    async def write(self, name: str, points: Iterable[Point], unit: str = "") -> int:
        """Merge ``points`` into the series (a timestamp already there is overwritten)."""
        by_day: dict[int, dict[int, float]] = {}
        count = 0
        for point in points:
            ts, value = check_point(point)
            by_day.setdefault(ts // DAY, {})[ts] = value
            count += 1
        if not by_day:
            return 0
        h = self.series_hash(name)
        async with self._db.transaction() as db:
            await db.execute(
                "INSERT OR IGNORE INTO series(hash, name) VALUES (?, ?)",
                (h, seal_json(self._key, {"name": name, "unit": unit}, ad_for(b"series-name", h))),
            )
            days = sorted(by_day)
            existing: dict[int, tuple[int, bytes]] = {}
            async with db.execute(
                "SELECT day, version, body FROM series_chunks WHERE series = ? AND day BETWEEN ? AND ?",
                (h, days[0], days[-1]),
            ) as cur:
                for day, version, body in await cur.fetchall():
                    if day in by_day:
                        existing[day] = (version, body)
            rows = []
            for day in days:
                merged: dict[int, float] = {}
                version = 1
                if day in existing:
                    old_version, body = existing[day]
                    ts_arr, val_arr = self._decode(h, day, old_version, body)
                    merged = dict(zip(ts_arr, val_arr, strict=True))
                    version = old_version + 1
                merged.update(by_day[day])
                rows.append((h, day, version, self._encode(h, day, version, merged)))
            await db.executemany(
                "INSERT OR REPLACE INTO series_chunks(series, day, version, body) VALUES (?, ?, ?, ?)",
                rows,
            )
        self._drop_cache(h)
        return count

    # -- reading ----------------------------------------------------------------------------

    async def query(
        self,
        name: str,
        start: int,
        end: int,
        step: int | None = None,
        agg: Aggregate = "avg",
    ) -> builtins.list[Point]:
        """Points with ``start <= ts < end``; with ``step``, one per bucket of that many seconds.

        Buckets are aligned on the epoch (so a 1-day step gives UTC days) and labelled by
        their start; empty buckets are left out.
        """
        stamps, values = await self.columns(name, start, end, step, agg)
        return builtins.list(zip(stamps, values, strict=True))

    async def columns(
        self,
        name: str,
        start: int,
        end: int,
        step: int | None = None,
        agg: Aggregate = "avg",
    ) -> Columns:
        """:meth:`query`'s answer as two arrays, timestamps and values: no object per point.

        (A year of minutes is half a million points: tuples for each would cost more than
        the query, and their garbage collections would be charged to every request.)
        """
        start, end = _whole(start, "start"), _whole(end, "end")
        if end <= start:
            raise InputError("the end of a range must be after its start")
        if step is not None and _whole(step, "step") <= 0:
            raise InputError("step must be a positive number of seconds")
        # no point lies outside [0, MAX_TIMESTAMP): clamping keeps SQLite's integers small
        start, end = max(start, 0), min(end, MAX_TIMESTAMP)
        if end <= start:
            if not await self._db.fetchone(
                "SELECT 1 FROM series WHERE hash = ?", (self.series_hash(name),)
            ):
                raise NotFound(f"no series {name!r}")
            return array("q"), array("d")
        if agg not in AGGREGATES:
            raise InputError(f"unknown aggregate {agg!r}: use one of {', '.join(AGGREGATES)}")
        h = self.series_hash(name)
        rows = await self._db.fetchall(
            "SELECT day, version, body FROM series_chunks WHERE series = ? AND day BETWEEN ? AND ? "
            "ORDER BY day",
            (h, start // DAY, (end - 1) // DAY),
        )
        if not rows and not await self._db.fetchone("SELECT 1 FROM series WHERE hash = ?", (h,)):
            raise NotFound(f"no series {name!r}")
        chunks = (self._cached(h, day, version, body) for day, version, body in rows)
        if step is None:
            stamps, values = array("q"), array("d")
            for ts_arr, val_arr in chunks:
                lo, hi = bisect_left(ts_arr, start), bisect_left(ts_arr, end)
                stamps += ts_arr[lo:hi]
                values += val_arr[lo:hi]
            return stamps, values
        return downsample(chunks, start, end, step, agg)

    # -- chunk codec -----------------------------------------------------------------------

    def _encode(self, h: bytes, day: int, version: int, points: dict[int, float]) -> bytes:
        stamps = sorted(points)
        ts_arr = array("q", stamps)
        val_arr = array("d", (points[t] for t in stamps))
        if not _LITTLE:
            ts_arr.byteswap()
            val_arr.byteswap()
        raw = _MAGIC + struct.pack("<I", len(stamps)) + ts_arr.tobytes() + val_arr.tobytes()
        return crypto.aead_encrypt(
            self._key, self._zc.compress(raw), ad_for(b"chunk", h, day, version)
        )

    def _decode(self, h: bytes, day: int, version: int, body: bytes) -> Columns:
        raw = self._zd.decompress(
            crypto.aead_decrypt(self._key, body, ad_for(b"chunk", h, day, version))
        )
        if raw[:4] != _MAGIC:
            raise IntegrityError("a series chunk has an unknown format")
        (n,) = struct.unpack_from("<I", raw, 4)
        if len(raw) != 8 + 16 * n:
            raise IntegrityError("a series chunk has the wrong length")
        ts_arr = array("q")
        ts_arr.frombytes(raw[8 : 8 + 8 * n])
        val_arr = array("d")
        val_arr.frombytes(raw[8 + 8 * n :])
        if not _LITTLE:
            ts_arr.byteswap()
            val_arr.byteswap()
        return ts_arr, val_arr

    def _cached(self, h: bytes, day: int, version: int, body: bytes) -> Columns:
        key = (h, day, version)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        decoded = self._decode(h, day, version, body)
        self._cache[key] = decoded
        self._cached_points += len(decoded[0])
        while self._cached_points > _CACHE_POINTS and self._cache:
            _, (old_ts, _) = self._cache.popitem(last=False)
            self._cached_points -= len(old_ts)
        return decoded

    def _drop_cache(self, h: bytes) -> None:
        for key in [k for k in self._cache if k[0] == h]:
            self._cached_points -= len(self._cache.pop(key)[0])

    def clear_cache(self) -> None:
        self._cache.clear()
        self._cached_points = 0


#: Timestamps are seconds since the epoch, from 1970 to year ~36812.
MAX_TIMESTAMP = 2**40


def check_point(point: object) -> Point:
    """A ``(timestamp, value)`` pair (a JSON ``[t, v]`` too), checked: else InputError."""
    if not isinstance(point, tuple | list) or len(point) != 2:
        raise InputError(f"a point must be a (timestamp, value) pair, not {point!r}"[:200])
    ts: object = point[0]
    value: object = point[1]
    if isinstance(ts, bool) or not isinstance(ts, int | float):
        raise InputError(f"a timestamp must be a number of seconds, not {ts!r}"[:200])
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"a series value must be a number, not {value!r}"[:200])
    if not (0 <= ts < MAX_TIMESTAMP):  # also false for NaN
        raise InputError(f"timestamp {ts!r} is out of range"[:200])
    try:
        value = float(value)
    except OverflowError:
        raise InputError("a series value must be a finite number") from None
    if not math.isfinite(value):
        raise InputError("a series value must be a finite number")
    return int(ts), value


def _whole(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"{what} must be a whole number of seconds, not {value!r}"[:200])
    return value
