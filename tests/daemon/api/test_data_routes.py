"""Documents, series and files through the API, as the web UI and the CLI use them."""

from __future__ import annotations

import io
import json
import os

from .conftest import Api

DOCS = "/api/v1/doctypes/org.example.notes/documents"


async def test_documents_are_created_read_updated_and_deleted(owner: Api) -> None:
    status, made = await owner.call("POST", DOCS, json={"text": "hello", "n": 1})
    assert status == 201
    doc_id, rev = made["_id"], made["_rev"]
    status, doc = await owner.call("GET", f"{DOCS}/{doc_id}")
    assert (status, doc["text"], doc["_rev"]) == (200, "hello", "1")
    status, body = await owner.call("PUT", f"{DOCS}/{doc_id}", json={"text": "stale"})
    assert status == 409
    assert "_rev" in body["error"]["message"]
    status, updated = await owner.call("PUT", f"{DOCS}/{doc_id}", json={"text": "bye", "_rev": rev})
    assert (status, updated["_rev"]) == (200, "2")
    status, _ = await owner.call("DELETE", f"{DOCS}/{doc_id}?rev=1")
    assert status == 409
    status, _ = await owner.call("DELETE", f"{DOCS}/{doc_id}")
    assert status == 200
    assert (await owner.call("GET", f"{DOCS}/{doc_id}"))[0] == 404


async def test_a_known_doctype_validates_its_schema(owner: Api) -> None:
    status, body = await owner.call(
        "POST", "/api/v1/doctypes/io.cozy.bank.operations/documents", json={"amount": "lots"}
    )
    assert status == 422
    assert "io.cozy.bank.operations" in body["error"]["message"]


async def test_a_reserved_namespace_name_that_is_unknown_is_refused(owner: Api) -> None:
    status, body = await owner.call("POST", "/api/v1/doctypes/selfdata.made.up/documents", json={})
    assert status == 404
    assert "reserved" in body["error"]["message"]


async def test_documents_page_through_everything_once(owner: Api) -> None:
    lines = "".join(json.dumps({"_id": f"d{i:03}", "i": i}) + "\n" for i in range(250))
    status, report = await owner.call(
        "POST", "/api/v1/doctypes/org.example.paged/import", data=lines.encode()
    )
    assert (status, report["created"]) == (200, 250)
    seen: list[str] = []
    cursor = 0
    while cursor is not None:
        status, page = await owner.call(
            "GET",
            "/api/v1/doctypes/org.example.paged/documents",
            params={"limit": 100, "cursor": cursor},
        )
        seen += [d["_id"] for d in page["documents"]]
        cursor = page["next"]
    assert seen == [f"d{i:03}" for i in range(250)]


async def test_import_reports_bad_lines_and_keeps_good_ones(owner: Api) -> None:
    data = b'{"a": 1}\nnot json\n[1]\n{"a": 2}\n'
    status, report = await owner.call(
        "POST", "/api/v1/doctypes/org.example.mixed/import", data=data
    )
    assert status == 200
    assert (report["created"], report["errors"]) == (2, 2)
    assert [e["line"] for e in report["error_samples"]] == [2, 3]


async def test_csv_import_then_export_round_trips(owner: Api) -> None:
    data = "date;label;amount\n2024-01-02;Boulangerie;-3,20\n2024-01-03;Salaire;2 100,00\n"
    status, report = await owner.call(
        "POST",
        "/api/v1/doctypes/io.cozy.bank.operations/import",
        params={"format": "csv"},
        data=data.encode("cp1252"),
    )
    assert (status, report["created"]) == (200, 2), report
    async with owner.request("GET", "/api/v1/doctypes/io.cozy.bank.operations/export") as resp:
        assert resp.headers["Content-Type"].startswith("application/x-ndjson")
        rows = [json.loads(line) for line in (await resp.text()).splitlines()]
    assert [(r["label"], r["amount"]) for r in rows] == [("Boulangerie", -3.2), ("Salaire", 2100)]
    assert all("_rev" not in r for r in rows)
    status, ledger = await owner.call("GET", "/api/v1/ledger")
    assert status == 200
    export = ledger["entries"][0]
    assert export["kind"] == "export"
    details = export["details"]
    assert details | {"doctype": "io.cozy.bank.operations", "documents": 2} == details
    assert "2 document(s) of io.cozy.bank.operations" in export["summary"]


async def test_exporting_a_doctype_that_does_not_exist_is_an_error(owner: Api) -> None:
    status, body = await owner.call("GET", "/api/v1/doctypes/org.example.absent/export")
    assert status == 404
    assert "no doctype" in body["error"]["message"]


async def test_series_are_written_and_downsampled(owner: Api) -> None:
    points = [[1_700_000_000 + 60 * i, 100.0] for i in range(180)]
    status, body = await owner.call(
        "POST", "/api/v1/series/linky/papp", json={"unit": "VA", "points": points}
    )
    assert (status, body["written"]) == (200, 180)
    status, body = await owner.call(
        "GET",
        "/api/v1/series/linky/papp",
        params={
            "start": "2023-11-14T22:00:00Z",
            "end": 1_700_000_000 + 3 * 3600,
            "step": "1h",
            "agg": "sum",
        },
    )
    assert status == 200
    assert sum(v for _, v in body["points"]) == 18_000
    status, listing = await owner.call("GET", "/api/v1/series")
    assert listing["series"][0]["name"] == "linky/papp"
    assert listing["series"][0]["unit"] == "VA"
    assert (await owner.call("DELETE", "/api/v1/series/linky/papp"))[0] == 200
    assert (await owner.call("GET", "/api/v1/series/linky/papp?start=0&end=10"))[0] == 404


async def test_files_stream_in_and_out_encrypted(owner: Api) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)
    status, info = await owner.call(
        "POST",
        "/api/v1/files",
        params={"name": "facture EDF.pdf"},
        data=io.BytesIO(content),
        headers={"Content-Type": "application/pdf"},
    )
    assert status == 201, info
    assert (info["size"], info["mime"]) == (len(content), "application/pdf")
    async with owner.request("GET", f"/api/v1/files/{info['_id']}/content") as resp:
        assert resp.status == 200
        assert "filename*=UTF-8''facture%20EDF.pdf" in resp.headers["Content-Disposition"]
        assert await resp.read() == content
    status, listing = await owner.call("GET", "/api/v1/files")
    assert [f["name"] for f in listing["files"]] == ["facture EDF.pdf"]
    assert (await owner.call("DELETE", f"/api/v1/files/{info['_id']}"))[0] == 200
    assert (await owner.call("GET", f"/api/v1/files/{info['_id']}"))[0] == 404


async def test_the_openapi_document_describes_every_route(owner: Api) -> None:
    from selfdata.api.routes import ROUTES

    status, spec = await owner.call("GET", "/api/v1/openapi.json")
    assert status == 200
    assert spec["openapi"].startswith("3.")
    operations = sum(len(ops) for ops in spec["paths"].values())
    assert operations == len(ROUTES)
    assert spec["paths"]["/api/v1/status"]["get"]["x-access"] == "public"


async def test_a_large_json_body_arriving_in_many_packets_is_read_whole(owner: Api) -> None:
    # ~700 kB of JSON over TCP arrives in many reads: all of it must be read
    points = [[1_700_000_000 + 60 * i, 1234.5678] for i in range(30_000)]
    status, body = await owner.call("POST", "/api/v1/series/big/points", json={"points": points})
    assert (status, body["written"]) == (200, 30_000)
