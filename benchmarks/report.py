"""Turning measurements into Markdown tables and the DESIGN.md targets, met or missed.

Sizes are decimal: 1 MB = 10^6 bytes (RSS readings from /proc are KiB, converted).
"""

from __future__ import annotations

from typing import Any

__all__ = ["render", "targets"]

#: "Peak RSS independent of the file's size": 4× the documents may not grow it by more.
RSS_GROWTH_LIMIT = 1.10


def mb(n_bytes: float) -> str:
    return f"{n_bytes / 1e6:.1f}"


def kib_mb(kib: float) -> str:
    return mb(kib * 1024)


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows, strict=True)]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|" + "|".join("-" * (w + 2) for w in widths) + "|",
    ]
    lines += [
        "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"
        for row in rows
    ]
    return "\n".join(lines)


def targets(r: dict[str, Any]) -> list[dict[str, Any]]:
    med = r["ingest"]["median"]
    daemon, sqlite_utils = med["daemon"], med["sqlite-utils"]
    input_bytes = r["config"]["input_bytes"]
    speedup = sqlite_utils["wall"] / daemon["wall"]
    amplification = daemon["written_incl_shutdown"] / input_bytes
    # the import's processes on the box: the daemon and its worker (when it used one)
    small_peak = daemon["daemon_peak_rss_kib"] + daemon.get("worker_peak_rss_kib", 0)
    big = r["peak_rss"]
    big_peak = big["daemon_peak_rss_kib"] + big.get("worker_peak_rss_kib", 0)
    growth = big_peak / small_peak
    out = [
        {
            "target": "import via daemon vs sqlite-utils insert (speed-up)",
            "measured": f"{speedup:.2f}×",
            "goal": "≥ 1.5×",
            "met": speedup >= 1.5,
        },
        {
            "target": "bytes written per byte ingested (daemon, incl. final checkpoint)",
            "measured": f"{amplification:.2f}",
            "goal": "< 3",
            "met": amplification < 3,
        },
        {
            "target": f"daemon + worker peak RSS, {r['config']['big_docs']:,} vs {r['config']['docs']:,} docs",
            "measured": f"{kib_mb(big_peak)} vs {kib_mb(small_peak)} MB ({growth:.2f}×)",
            "goal": f"≤ {RSS_GROWTH_LIMIT:.2f}× (size-independent)",
            "met": growth <= RSS_GROWTH_LIMIT,
        },
    ]
    for where in ("api", "in_process"):
        for label, q in r["series"][where]["queries"].items():
            out.append(
                {
                    "target": f"series {label}, warm ({'HTTP' if where == 'api' else 'in-process'})",
                    "measured": f"{q['warm_ms']:.1f} ms",
                    "goal": "< 50 ms",
                    "met": q["warm_ms"] < 50,
                }
            )
    idle = r["idle"]["selfdata"]
    for state in ("locked", "unlocked"):
        rss = idle[f"{state}_rss_kib"]
        out.append(
            {
                "target": f"daemon idle RSS, {state}",
                "measured": f"{kib_mb(rss)} MB",
                "goal": "< 60 MB",
                "met": rss * 1024 < 60e6,
            }
        )
    return out


def render(r: dict[str, Any]) -> str:
    m, c = r["machine"], r["config"]
    src = m["selfdata"]
    measured = src.get("commit", src["package"])
    if src.get("dirty"):
        measured += " + uncommitted changes"
    if src.get("label"):
        measured = f"{src['label']} ({measured})"
    parts = [
        f"selfdata measured: {measured}",
        f"machine: {m['cores']} cores {m['arch']} ({m['cpu']}), {m['memory_gib']} GiB, "
        f"Linux {m['kernel']}, Python {m['python']}, SQLite {m['sqlite']}, "
        f"fsync of 4 KiB {m['fsync_ms']} ms at start, {m.get('fsync_ms_end', '?')} ms at end; "
        f"load average {m['load_start']:.2f} at start, {m.get('load_end', 0):.2f} at end; "
        f"run took {c.get('duration_s', '?')} s",
        "",
        _ingest(r),
        "",
        _peak(r),
        "",
        _series(r),
        "",
        _idle(r),
        "",
        "### Targets (DESIGN.md)",
        "",
        table(
            ["target", "measured", "goal", "met"],
            [
                [t["target"], t["measured"], t["goal"], "yes" if t["met"] else "**NO**"]
                for t in r["targets"]
            ],
        ),
    ]
    return "\n".join(parts)


def _ingest(r: dict[str, Any]) -> str:
    c, med = r["config"], r["ingest"]["median"]
    size = c["input_bytes"]
    base = med["daemon"]["wall"]

    def row(name: str, d: dict[str, Any], cpu: str, rss: str, written: float) -> list[str]:
        return [
            name,
            f"{d['wall']:.2f}",
            cpu,
            rss,
            mb(written),
            f"{written / size:.2f}",
            mb(d["store_bytes"]),
            f"{d['wall'] / base:.2f}",
        ]

    daemon, offline = med["daemon"], med["offline"]
    rows = [
        row(
            "selfdata import (daemon)",
            daemon,
            f"{daemon['cli_cpu']:.2f} + {daemon['daemon_cpu']:.2f} daemon",
            f"{kib_mb(daemon['cli_peak_rss_kib'])} / {kib_mb(daemon['daemon_peak_rss_kib'])} daemon",
            daemon["written_incl_shutdown"],
        ),
        row(
            "selfdata import (offline)",
            offline,
            f"{offline['cpu']:.2f}",
            kib_mb(offline["peak_rss_kib"]),
            offline["written"],
        ),
    ]
    names = {
        "sqlite-utils": "sqlite-utils insert --nl",
        "raw": "raw sqlite3 executemany",
        "naive-aead": "naive AEAD-per-row executemany",
    }
    for key, name in names.items():
        d = med[key]
        rows.append(row(name, d, f"{d['cpu']:.2f}", kib_mb(d["peak_rss_kib"]), d["written"]))
    su = med["sqlite-utils"]["wall"]
    lines = [
        f"### Ingest {c['docs']:,} bank operations ({mb(size)} MB JSON Lines), median of {c['reps']}",
        "",
        table(
            [
                "tool",
                "wall s",
                "CPU s",
                "peak RSS MB",
                "written MB",
                "written/input",
                "store MB",
                "time vs daemon import",
            ],
            rows,
        ),
        "",
        f"- sqlite-utils / selfdata (daemon): **{su / base:.2f}×** (target ≥ 1.5×); "
        f"sqlite-utils / selfdata (offline): {su / offline['wall']:.2f}×",
        f"- CPU time (less sensitive to the disk): selfdata (CLI + daemon) "
        f"{daemon['cli_cpu'] + daemon['daemon_cpu']:.2f} s vs sqlite-utils "
        f"{med['sqlite-utils']['cpu']:.2f} s ({(daemon['cli_cpu'] + daemon['daemon_cpu']) / med['sqlite-utils']['cpu']:.2f}×); "
        f"sqlite-utils commits every 100 rows, so its wall time follows fsync latency (above)",
        f"- selfdata (daemon) / raw executemany: {base / med['raw']['wall']:.2f}× slower; "
        f"/ naive AEAD per row: {base / med['naive-aead']['wall']:.2f}×",
        f"- `selfdata --version` takes {r['ingest']['cli_startup_s']:.2f} s (interpreter and imports: "
        "part of every CLI time above)",
        f"- daemon path: daemon ready {daemon['daemon_ready_s']:.2f} s after exec, "
        f"`selfdata unlock` {daemon['unlock_cli_wall']:.2f} s (not in the import time); "
        f"written during the import {mb(daemon['written_during_import'])} MB, "
        f"{mb(daemon['written_incl_shutdown'])} MB with the checkpoint at shutdown",
        f"- offline path: includes Argon2id unlock of {offline['unlock_s']:.2f} s "
        f"(KDF at its floor, t=2 m=64 MiB; ~1 s when calibrated): "
        f"{offline['wall'] - offline['unlock_s']:.2f} s without it",
    ]
    return "\n".join(lines)


def _peak(r: dict[str, Any]) -> str:
    c = r["config"]
    small, big = r["ingest"]["median"]["daemon"], r["peak_rss"]
    rows = [
        [
            f"{c['docs']:,}",
            mb(c["input_bytes"]),
            f"{small['wall']:.2f}",
            kib_mb(small["daemon_rss_before_kib"]),
            kib_mb(small["daemon_peak_rss_kib"]),
            kib_mb(small["daemon_rss_after_kib"]),
            kib_mb(small.get("worker_peak_rss_kib", 0)),
            kib_mb(small["cli_peak_rss_kib"]),
            f"{small['written_incl_shutdown'] / c['input_bytes']:.2f}",
        ],
        [
            f"{c['big_docs']:,}",
            mb(c["big_input_bytes"]),
            f"{big['wall']:.2f}",
            kib_mb(big["daemon_rss_before_kib"]),
            kib_mb(big["daemon_peak_rss_kib"]),
            kib_mb(big["daemon_rss_after_kib"]),
            kib_mb(big.get("worker_peak_rss_kib", 0)),
            kib_mb(big["cli_peak_rss_kib"]),
            f"{big['written_incl_shutdown'] / c['big_input_bytes']:.2f}",
        ],
    ]
    return "\n".join(
        [
            "### Peak RSS while importing (fresh daemon each; VmHWM reset just before the import)",
            "",
            table(
                [
                    "documents",
                    "input MB",
                    "import wall s",
                    "daemon RSS before MB",
                    "daemon peak MB",
                    "daemon RSS after MB",
                    "worker peak MB",
                    "CLI peak MB",
                    "written/input",
                ],
                rows,
            ),
        ]
    )


def _series(r: dict[str, Any]) -> str:
    s = r["series"]
    labels = list(s["api"]["queries"])
    rows = []
    for key, name in (
        ("api", "selfdata, HTTP admin socket"),
        ("in_process", "selfdata, SeriesStore in-process"),
        ("plain_sqlite", "plain SQLite table (peer)"),
    ):
        d = s[key]
        rows.append(
            [name, f"{d['ingest_s']:.2f}"]
            + [
                f"{d['queries'][q]['warm_ms']:.1f} / {d['queries'][q]['cold_ms']:.1f}"
                for q in labels
            ]
        )
    plain = s["plain_sqlite"]["queries"]
    ratio_rows = [
        [q, str(s["api"]["queries"][q]["points"])]
        + [
            f"{s[k]['queries'][q]['warm_ms'] / plain[q]['warm_ms']:.2f}×"
            for k in ("api", "in_process")
        ]
        for q in labels
    ]
    return "\n".join(
        [
            f"### A year of 1-minute readings ({s['points']:,} points)",
            "",
            table(["", "ingest s", *[f"{q}: warm / cold ms" for q in labels]], rows),
            "",
            f"API ingest: {s['api']['requests']} POSTs of {s['api']['batch_days']} days each; store {mb(s['api']['store_bytes'])} MB "
            f"(plain table {mb(s['plain_sqlite']['store_bytes'])} MB); daemon RSS after the queries "
            f"{kib_mb(s['api']['daemon_rss_after_kib'])} MB",
            "",
            table(
                [
                    "query",
                    "points",
                    "HTTP / plain SQLite (warm)",
                    "in-process / plain SQLite (warm)",
                ],
                ratio_rows,
            ),
        ]
    )


def _idle(r: dict[str, Any]) -> str:
    d, h = r["idle"]["selfdata"], r["idle"]["hello"]
    rows = [
        [
            "selfdata serve, locked (after start-up)",
            kib_mb(d["locked_rss_kib"]),
            f"{d['ready_s']:.2f}",
        ],
        ["selfdata serve, unlocked", kib_mb(d["unlocked_rss_kib"]), ""],
        ["aiohttp hello-world (floor)", kib_mb(h["rss_kib"]), f"{h['ready_s']:.2f}"],
    ]
    return "\n".join(
        [
            "### Idle RSS (VmRSS)",
            "",
            table(["process", "RSS MB", "ready after s"], rows),
            "",
            f"- selfdata above the floor: {kib_mb(d['unlocked_rss_kib'] - h['rss_kib'])} MB unlocked; "
            f"VmHWM {kib_mb(d['peak_rss_kib'])} MB (Argon2id's 64 MiB at unlock); "
            f"`selfdata unlock` {d['unlock_cli_wall']:.2f} s",
        ]
    )
