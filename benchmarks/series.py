"""A year of 1-minute readings: ingest, then range + downsample queries, warm and cold.

Three ways, same points, same queries:

* **API**: ``POST /api/v1/series/{name}`` on a running daemon's admin socket, in
  batches of whole days under the daemon's 1 MiB JSON body limit (bodies are encoded
  before the clock starts), then ``GET`` queries on the same socket;
* **in-process**: :class:`selfdata.store.SeriesStore` of a box opened in this process,
  same batches, queries awaited directly (no HTTP, no JSON);
* **peer**: a plain SQLite table ``(ts INTEGER PRIMARY KEY, value REAL)``, one
  ``executemany``, ``GROUP BY`` queries (plaintext, no compression).

"Cold" is the first run of a query after the ingest (selfdata decrypts and
decompresses the days in range); "warm" is the median of the runs that follow.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import json
import os
import sqlite3
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from gen import year_of_minutes
from ingest import FAST_KDF, IngestPlan, init_vault
from procs import PYTHON, Daemon, UnixHTTP, run, selfdata, vm

__all__ = ["QUERIES", "run_series"]

NAME = "home.power"
DAY = 86_400
BATCH_DAYS = 2  # 2,880 points, ~65 KB of JSON (see docs/benchmarks.md: larger bodies hit a bug)


@dataclass(frozen=True)
class Query:
    label: str
    start: int
    end: int
    step: int | None
    agg: str


def queries(first: int) -> list[Query]:
    june = int(dt.datetime(2023, 6, 1, tzinfo=dt.UTC).timestamp())
    year_end = first + 365 * DAY
    return [
        Query("year, step=1d, sum", first, year_end, DAY, "sum"),
        Query("year, step=1h, avg", first, year_end, 3600, "avg"),
        Query("30 days raw", june, june + 30 * DAY, None, "avg"),
    ]


QUERIES = [q.label for q in queries(0)]


def _time(fn: Callable[[], object], warm: int) -> dict[str, float]:
    start = time.perf_counter()
    fn()
    cold = time.perf_counter() - start
    samples = []
    for _ in range(warm):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return _summary(cold, samples)


async def _atime(fn: Callable[[], Awaitable[object]], warm: int) -> dict[str, float]:
    start = time.perf_counter()
    await fn()
    cold = time.perf_counter() - start
    samples = []
    for _ in range(warm):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return _summary(cold, samples)


def _summary(cold: float, samples: list[float]) -> dict[str, float]:
    return {
        "cold_ms": cold * 1e3,
        "warm_ms": statistics.median(samples) * 1e3,
        "warm_min_ms": min(samples) * 1e3,
    }


def _batches(stamps: Sequence[int], values: Sequence[float]) -> list[list[list[float]]]:
    size = BATCH_DAYS * 1440
    return [
        [[t, v] for t, v in zip(stamps[i : i + size], values[i : i + size], strict=True)]
        for i in range(0, len(stamps), size)
    ]


# -- through the daemon ---------------------------------------------------------------------


def via_api(plan: IngestPlan, warm: int) -> dict[str, Any]:
    data_dir = plan.work / "series-api"
    init_vault(plan, data_dir)
    stamps, values = year_of_minutes()
    bodies = [
        json.dumps({"unit": "W", "points": batch}).encode() for batch in _batches(stamps, values)
    ]
    points, first = len(stamps), stamps[0]
    del stamps, values
    gc.collect()
    daemon = Daemon(data_dir, plan.work / "series-api.log")
    try:
        run(selfdata(data_dir, "unlock", "--passphrase-file", str(plan.passphrase_file)))
        client = daemon.client()
        try:
            start = time.perf_counter()
            for body in bodies:
                status, answer = client.request("POST", f"/api/v1/series/{NAME}", body)
                if status != 200:
                    raise RuntimeError(f"series write: HTTP {status}: {answer[:200]!r}")
            ingest = time.perf_counter() - start
            results: dict[str, Any] = {}
            for q in queries(first):
                params: dict[str, object] = {"start": q.start, "end": q.end, "agg": q.agg}
                if q.step:
                    params["step"] = q.step
                url = f"/api/v1/series/{NAME}?{urlencode(params)}"

                def get(url: str = url) -> bytes:
                    return _get(client, url)

                results[q.label] = _time(get, warm)
                results[q.label]["points"] = len(json.loads(_get(client, url))["points"])
        finally:
            client.close()
        rss = vm(daemon.pid)
    finally:
        daemon.stop()
    return {
        "ingest_s": ingest,
        "points": points,
        "requests": len(bodies),
        "batch_days": BATCH_DAYS,
        "queries": results,
        "daemon_rss_after_kib": rss["VmRSS"],
        "store_bytes": sum(p.stat().st_size for p in data_dir.glob("selfdata.db*")),
    }


def _get(client: UnixHTTP, url: str) -> bytes:
    """The whole response body (the client's JSON parsing is not timed)."""
    status, raw = client.request("GET", url)
    if status != 200:
        raise RuntimeError(f"GET {url}: HTTP {status}: {raw[:200]!r}")
    return raw


# -- in a fresh interpreter: the store itself, and the peer ------------------------------------


def in_process(plan: IngestPlan, warm: int) -> dict[str, Any]:
    """:class:`SeriesStore` of a box opened in this process: no HTTP, no JSON."""
    from selfdata.box import Box
    from selfdata.paths import DataDir

    stamps, values = year_of_minutes()
    first = stamps[0]
    batches = [[(int(t), v) for t, v in batch] for batch in _batches(stamps, values)]
    del stamps, values

    async def go() -> dict[str, Any]:
        os.environ.update(FAST_KDF)  # Box.init reads it; nothing else in this process does
        try:
            box = await Box.open(DataDir(plan.work / "series-inproc"))
            await box.init(plan.passphrase)
        finally:
            for key in FAST_KDF:
                del os.environ[key]
        try:
            start = time.perf_counter()
            for batch in batches:
                await box.series.write(NAME, batch, unit="W")
            ingest = time.perf_counter() - start
            batches.clear()
            gc.collect()
            results: dict[str, Any] = {}
            for q in queries(first):

                async def query(q: Query = q) -> list[tuple[int, float]]:
                    return await box.series.query(NAME, q.start, q.end, q.step, q.agg)  # type: ignore[arg-type]

                results[q.label] = await _atime(query, warm) | {"points": len(await query())}
        finally:
            await box.close()
        return {"ingest_s": ingest, "queries": results}

    return asyncio.run(go())


def plain_sqlite(plan: IngestPlan, warm: int) -> dict[str, Any]:
    """The peer: ``(ts INTEGER PRIMARY KEY, value REAL)``, one ``executemany``, GROUP BY."""
    stamps, values = year_of_minutes()
    first = stamps[0]
    path = plan.work / "series-plain.db"
    db = sqlite3.connect(path)
    try:
        db.execute("CREATE TABLE readings (ts INTEGER PRIMARY KEY, value REAL NOT NULL)")
        start = time.perf_counter()
        with db:
            db.executemany("INSERT INTO readings VALUES (?, ?)", zip(stamps, values, strict=True))
        ingest = time.perf_counter() - start
        del stamps, values
        gc.collect()
        results: dict[str, Any] = {}
        for q in queries(first):
            if q.step is None:
                sql = "SELECT ts, value FROM readings WHERE ts >= ? AND ts < ?"
                params: tuple[int, ...] = (q.start, q.end)
            else:
                sql = (
                    f"SELECT ts - ts % ? AS bucket, {q.agg}(value) FROM readings "
                    "WHERE ts >= ? AND ts < ? GROUP BY bucket ORDER BY bucket"
                )
                params = (q.step, q.start, q.end)

            def query(sql: str = sql, params: tuple[int, ...] = params) -> list[Any]:
                return db.execute(sql, params).fetchall()

            results[q.label] = _time(query, warm) | {"points": len(query())}
    finally:
        db.close()
    size = path.stat().st_size
    path.unlink()
    return {"ingest_s": ingest, "queries": results, "store_bytes": size}


def run_series(plan: IngestPlan, warm: int, say: Any) -> dict[str, Any]:
    say("series: 525,600 points in-process (SeriesStore), in a fresh interpreter")
    inproc = _worker(plan, "in-process", warm)
    say("series: same points through the daemon's API (admin socket)")
    api = via_api(plan, warm)
    say("series: peer, a plain SQLite table, in a fresh interpreter")
    plain = _worker(plan, "plain", warm)
    return {"points": api["points"], "api": api, "in_process": inproc, "plain_sqlite": plain}


def _worker(plan: IngestPlan, kind: str, warm: int) -> dict[str, Any]:
    """Run one in-process measurement in its own interpreter: this benchmark process holds
    big lists whose garbage-collection passes would be charged to the queries."""
    argv = [PYTHON, __file__, kind, str(plan.work), str(plan.passphrase_file), str(warm)]
    result: dict[str, Any] = json.loads(run(argv).stdout)
    return result


def _main(kind: str, work: str, passphrase_file: str, warm: str) -> None:
    secret = Path(passphrase_file).read_text().splitlines()[0]
    plan = IngestPlan(Path(work), secret, Path(passphrase_file), Path(), 0, 0)
    measure = in_process if kind == "in-process" else plain_sqlite
    print(json.dumps(measure(plan, int(warm))))


if __name__ == "__main__":
    _main(*sys.argv[1:])
