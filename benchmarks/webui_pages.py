"""Web UI: time to first byte and page weight of every page, on a real ``selfdata serve``.

    .venv/bin/python benchmarks/webui_pages.py [--minutes] [--runs N] [--json FILE]

Starts the daemon on a fresh data dir (HTTPS on loopback), sets up a vault, loads the
sample household of the web UI tests (a year of bank operations and bills) and a year
of electricity readings — hourly, or every minute with ``--minutes`` (525,600 points:
the Énergie page then downsamples them server-side) — then asks each page ``--runs``
times as a logged-in browser would and reports the median and 95th percentile time to
first byte, the full response time, and the page's weight: the HTML plus every
stylesheet and script it links, gzip-compressed as the box sends them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.webui import household  # noqa: E402

PAGES = [
    ("/unlock", False),
    ("/", True),
    ("/apps/logis", True),
    ("/apps/energy?view=day", True),
    ("/apps/energy?view=month", True),
    ("/apps/energy?view=year", True),
    ("/apps/budget", True),
    ("/data", True),
    ("/data/io.cozy.bank.operations", True),
    ("/data/io.cozy.bank.operations?q=carrefour", True),
    ("/settings", True),
    ("/settings/backups", True),
    ("/settings/export", True),
    ("/privacy", True),
    ("/privacy/answers", True),
    ("/privacy/contribution", True),
]
PASSPHRASE = "benchmark passphrase 1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "SELFDATA_KDF_SECONDS": "0", "TZ": "Europe/Paris"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "selfdata", "--data-dir", str(data_dir), "serve",
         "--host", "127.0.0.1", "--port", str(port), "--http-port", "0", "--no-mdns"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("the daemon did not start")


async def load(session: aiohttp.ClientSession, url: str, minutes: bool, setup_code: str) -> None:
    origin = {"Origin": url}
    async with session.post(
        "/api/v1/setup", json={"setup_code": setup_code, "passphrase": PASSPHRASE}, headers=origin
    ) as resp:
        assert resp.status == 201, await resp.text()
    for doctype, docs in (
        ("io.cozy.bank.operations", household.bank_operations()),
        ("io.cozy.bills", household.bills()),
        ("selfdata.energy.contracts", household.contracts()),
    ):
        body = "\n".join(json.dumps(d) for d in docs).encode()
        async with session.post(
            f"/api/v1/doctypes/{doctype}/import", data=body, headers=origin
        ) as r:
            assert r.status == 200, await r.text()
    for name, unit, points in (
        ("linky/consumption", "Wh", household.electricity(60 if minutes else 3600)),
        ("open-meteo/temperature", "°C", household.temperature()),
    ):
        for i in range(0, len(points), 2000):
            chunk = {"unit": unit, "points": points[i : i + 2000]}
            async with session.post(f"/api/v1/series/{name}", json=chunk, headers=origin) as r:
                assert r.status == 200, await r.text()


async def measure(session: aiohttp.ClientSession, path: str, runs: int) -> dict[str, Any]:
    ttfb, total = [], []
    html = b""
    for _ in range(runs):
        t0 = time.perf_counter()
        async with session.get(
            path, headers={"Accept": "text/html", "Accept-Encoding": "gzip"}
        ) as r:
            first = await r.content.readany()
            ttfb.append(time.perf_counter() - t0)
            html = first + await r.read()
            total.append(time.perf_counter() - t0)
            assert r.status == 200, (path, r.status)
            final = r.url.path_qs  # where redirects led
    weight = len(html)
    for asset in sorted(set(re.findall(r'(?:href|src)="(/static/[^"]+)"', html.decode()))):
        async with session.get(
            asset, headers={"Accept-Encoding": "gzip"}, auto_decompress=False
        ) as r:
            weight += len(await r.read())
    return {
        "path": path,
        "final": final,
        "ttfb_median_ms": statistics.median(ttfb) * 1000,
        "ttfb_p95_ms": sorted(ttfb)[int(0.95 * (len(ttfb) - 1))] * 1000,
        "total_median_ms": statistics.median(total) * 1000,
        "html_bytes": len(html),
        "page_weight_bytes": weight,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", action="store_true", help="a year of 1-minute readings")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "box"
        port = free_port()
        proc = start(data_dir, port)
        try:
            url = f"https://127.0.0.1:{port}"
            code = subprocess.run(  # noqa: ASYNC221 - before any request: nothing to block
                [sys.executable, "-m", "selfdata", "--data-dir", str(data_dir), "setup-code"],
                capture_output=True, text=True, check=True,
            ).stdout.strip()  # fmt: skip
            async with aiohttp.ClientSession(
                base_url=url,
                connector=aiohttp.TCPConnector(ssl=False),
                cookie_jar=aiohttp.CookieJar(unsafe=True),
            ) as session:
                t0 = time.perf_counter()
                await load(session, url, args.minutes, code)
                loaded = time.perf_counter() - t0
                results = []
                async with aiohttp.ClientSession(  # what a browser without a session sees
                    base_url=url, connector=aiohttp.TCPConnector(ssl=False)
                ) as stranger:
                    for path, signed_in in PAGES:
                        who = session if signed_in else stranger
                        await measure(who, path, 2)  # warm: caches, first template compile
                        results.append(await measure(who, path, args.runs))
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"data loaded in {loaded:.1f} s ({'1-minute' if args.minutes else 'hourly'} readings)")
    print(f"{'page':44} {'TTFB p50':>9} {'p95':>7} {'total':>7} {'HTML':>8} {'weight':>8}")
    for r in results:
        print(
            f"{r['path']:44} {r['ttfb_median_ms']:7.1f}ms {r['ttfb_p95_ms']:5.1f}ms "
            f"{r['total_median_ms']:5.1f}ms {r['html_bytes'] / 1024:6.1f}kB "
            f"{r['page_weight_bytes'] / 1024:6.1f}kB"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"minutes": args.minutes, "pages": results}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
