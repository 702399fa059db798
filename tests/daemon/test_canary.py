"""Nothing a person stores is readable on disk or in the logs: canary strings prove it.

Canaries go in through every path (CLI import offline and through the daemon, water
exports as .xlsx and .xls spreadsheets, the API's documents, ids, doctype names, series
names, file names and contents, the sealed inbox, and the passphrase itself); then every
byte under the data dir (SQLite file, WAL, blobs, TLS, everything) and every line the
daemon logged is searched for them, in UTF-8, UTF-16 and JSON-escaped forms.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
from pathlib import Path

import aiohttp
from selfdata.box import Box
from selfdata.paths import DataDir
from selfdata.store import InboxBatch

from ..connectors.sources.file_helpers import sample
from ..connectors.sources.test_water_excel import workbook
from .conftest import Cli, start_daemon

CANARY = "zqxCANARYjv"
CONTRACTS = "selfdata.energy.contracts"
#: The labels of the canaries (``canary("csv")``) that go in while the daemon runs, then
#: once it is stopped.
WATER = ("xlsxmeter", "xlsxaddress", "xlsaddress")  # .xlsx and .xls water exports
ONLINE = ("id", "jsonl", "csv", *WATER, "doc", "docid", "series", "file", "filename")
OFFLINE = ("inbox", "offline")
PASS_CANARY = "pass-zqxPASSCANARYjv-phrase"


def canary(label: str) -> str:
    return f"{CANARY}{label}"


def forms(text: str) -> list[bytes]:
    encoded = text.encode()
    return [
        encoded,
        text.encode("utf-16-le"),
        json.dumps(text).encode(),
        base64.b64encode(encoded)[:12],
        CANARY.encode(),  # any fragment at all
    ]


def scan(paths: list[Path], needles: list[str]) -> list[str]:
    found = []
    for path in paths:
        data = path.read_bytes()
        for needle in needles:
            for form in forms(needle):
                if form in data:
                    found.append(f"{path.name}: {form[:40]!r}")
    return found


def test_canaries_never_reach_the_disk_or_the_logs(
    cli: Cli, data_dir: DataDir, tmp_path: Path
) -> None:
    passphrase_file = tmp_path / "pass"
    passphrase_file.write_text(PASS_CANARY + "\n")
    daemon = start_daemon(cli, tmp_path / "daemon.log", "--verbose")
    try:
        cli.ok("init", "--passphrase-file", str(passphrase_file))
        # 1. CLI import through the daemon: JSON Lines and CSV, canary in doctype, ids, values
        jsonl = tmp_path / "in.jsonl"
        jsonl.write_text(json.dumps({"_id": canary("id"), "note": canary("jsonl")}) + "\n")
        cli.ok("import", "-t", f"org.{CANARY.lower()}.notes", str(jsonl))
        csv = tmp_path / "in.csv"
        csv.write_text(f"label,amount,date\n{canary('csv')},-1,2024-01-01\n")
        cli.ok("import", "-t", "io.cozy.bank.operations", str(csv))
        # water exports as spreadsheets: the meter (a contract, and series names) and the
        # address their preamble names are stored
        for name, data in (("releve.xlsx", _water_xlsx()), ("releve.xls", _water_xls())):
            (tmp_path / name).write_bytes(data)
            report = cli.ok("import", "--json", str(tmp_path / name)).json()
            assert (report["errors"], report["doctypes"][CONTRACTS]["created"]) == (0, 1), name
        # 2. The API as the web UI uses it
        asyncio.run(_through_the_api(cli, passphrase_file))
        # While the daemon runs, the recent writes sit in the WAL: search it now, before the
        # checkpoint at shutdown folds it into the database file.
        wal = data_dir.root / "selfdata.db-wal"
        assert wal.stat().st_size > 0
        running = [p for p in data_dir.root.rglob("*") if p.is_file()]
        assert scan(running, [canary(x) for x in ONLINE] + [PASS_CANARY]) == []
        cli.ok("lock")
    finally:
        daemon.stop()
    # 3. Offline CLI import, and the inbox written while locked
    cli.ok(
        "import",
        "-t",
        "org.example.offline",
        "-",
        "--format",
        "jsonl",
        "--passphrase-file",
        str(passphrase_file),
        input=json.dumps({"v": canary("offline")}) + "\n",
    )
    asyncio.run(_locked_inbox_write(data_dir))

    files = [p for p in data_dir.root.rglob("*") if p.is_file()]
    needles = [canary(x) for x in ONLINE + OFFLINE] + [PASS_CANARY]
    assert scan(files, needles) == []
    log = daemon.log.read_text()
    assert CANARY not in log
    assert "PASSCANARY" not in log
    assert "GET /api/v1" in log  # the access log ran, and logged route patterns only


def _water_xlsx() -> bytes:
    """A meter's readings re-saved as .xlsx, under a preamble naming it."""
    rows: list[list[object]] = [
        ["N° de compteur", canary("xlsxmeter")],
        ["Adresse", canary("xlsxaddress")],
        [],
        ["Date", "Index (m³)", "Consommation (m³)"],
        [dt.datetime(2024, 2, 10), 451.176, 0.312],
        [dt.datetime(2024, 2, 11), 451.459, 0.283],
    ]
    return workbook(("Relevés", rows))


def _water_xls() -> bytes:
    """The .xls sample (BIFF8, written by xlwt) with a canary for its meter and address.

    xlrd reads the strings' lengths from the file: each is replaced by one as long (the
    meter's eleven characters are the bare canary)."""
    data = sample("water", "releve-tableur-1904.xls")
    for old, new in (
        ("I21BA012345", CANARY),
        ("12 rue de la Pépinière 69003 Lyon", canary("xlsaddress")),
    ):
        raw = old.encode("latin-1")  # BIFF8 stores these strings one byte a character
        assert data.count(raw) == 1
        assert len(new) <= len(raw)
        data = data.replace(raw, new.ljust(len(raw), "x").encode())
    return data


async def _through_the_api(cli: Cli, passphrase_file: Path) -> None:
    connector = aiohttp.UnixConnector(path=str(cli.data_dir.socket))
    async with aiohttp.ClientSession(connector=connector, base_url="http://selfdata") as admin:

        async def ok(method: str, path: str, **kwargs: object) -> None:
            async with admin.request(method, path, **kwargs) as resp:  # type: ignore[arg-type]
                assert resp.status < 300, await resp.text()

        await ok(
            "PUT",
            f"/api/v1/doctypes/org.example.api/documents/{canary('docid')}",
            json={"text": canary("doc")},
        )
        await ok("GET", f"/api/v1/doctypes/org.example.api/documents/{canary('docid')}")
        await ok(
            "POST", f"/api/v1/series/{canary('series')}", json={"points": [[1_700_000_000, 1.5]]}
        )
        await ok(
            "POST",
            "/api/v1/files",
            params={"name": canary("filename")},
            data=(canary("file") * 1000).encode(),
        )
        await ok("POST", "/api/v1/fsck")


async def _locked_inbox_write(data_dir: DataDir) -> None:
    box = await Box.open(data_dir)
    try:
        assert box.locked
        batch = InboxBatch()
        batch.add_documents("org.example.tic", [{"reading": canary("inbox")}])
        await box.inbox.put(batch)
    finally:
        await box.close()
