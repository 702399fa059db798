"""MesInfos data files: documents by doctype, as the experiment's participants received them.

The sample follows the fields of the EDF and Orange documents of MesInfos (the cozy-labs
konnectors' ``ConsumptionStatement``, ``Contract``, ``PaymentTerms``, ``GeoPoint`` and
``PhoneCommunicationLog`` models).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from selfdata.box import Box
from selfdata.connectors.files import detect_format, import_path
from selfdata.errors import InputError

SAMPLE = {
    "org.fing.mesinfos.client": [
        {
            "clientId": "1-ABC",
            "vendor": "EDF",
            "name": {"lastname": "Martin"},
            "docTypeVersion": "1",
        }
    ],
    "org.fing.mesinfos.contract": [
        {
            "clientId": "1-ABC",
            "vendor": "EDF",
            "number": "1234",
            "name": "Tarif Bleu",
            "pdl": "09876543210987",
            "power": "6kVA",
        }
    ],
    "org.fing.mesinfos.consumptionstatement": [
        {
            "contractNumber": "1234",
            "start": f"2016-{m:02d}-01",
            "end": f"2016-{m + 1:02d}-01",
            "value": 300.5 + m,
            "statementType": "releve",
            "statementReason": "EdeliaMonthlyElecConsumption",
            "period": f"2016-{m:02d}",
            "cost": 45.2,
        }
        for m in range(1, 10)
    ],
    "org.fing.mesinfos.paymentterms": [
        {
            "vendor": "EDF",
            "clientId": "1-ABC",
            "balance": 0,
            "paymentSchedules": [{"amount": 61, "paid": False}],
        }
    ],
    "org.fing.mesinfos.geopoint": [
        {
            "msisdn": "33600000000",
            "timestamp": "2016-05-02T08:01:00Z",
            "latitude": 45.76,
            "longitude": 4.83,
            "radius": 500,
        }
    ],
    "org.fing.mesinfos.phonecommunicationlog": [
        {
            "msisdn": "33600000000",
            "timestamp": "2016-05-02T08:05:00Z",
            "partner": "3361xxxxxxx",
            "length": 62,
            "type": "VOICE",
        }
    ],
    "io.cozy.bills": [
        {"_id": "edf-2016-05", "vendor": "EDF", "amount": 61.0, "date": "2016-05-15"}
    ],
    "io.cozy.konnectors": [{"slug": "edf"}],
}


async def test_a_mesinfos_file_comes_in_and_twice_changes_nothing(box: Box, tmp_path: Path) -> None:
    path = tmp_path / "mesinfos-edf.json"
    path.write_text(json.dumps(SAMPLE, indent=2))
    assert detect_format(path) == "mesinfos"
    report = (await import_path(box, path)).to_json()
    assert report["errors"] == 0
    created = {k: v["created"] for k, v in report["doctypes"].items()}
    assert created["org.fing.mesinfos.consumptionstatement"] == 9
    assert created["io.cozy.bills"] == 1
    assert created["org.fing.mesinfos.client"] == 1
    assert "io.cozy.konnectors" in " ".join(report["notes"])
    again = (await import_path(box, path)).to_json()
    assert all(c["created"] == 0 and c["unchanged"] > 0 for c in again["doctypes"].values())
    docs = [d async for d in box.documents.iterate("org.fing.mesinfos.consumptionstatement")]
    assert sorted(d["value"] for d in docs)[0] == 301.5
    assert (await box.documents.get("io.cozy.bills", "edf-2016-05"))["amount"] == 61.0


async def test_bad_documents_are_reported_and_the_good_ones_kept(box: Box, tmp_path: Path) -> None:
    path = tmp_path / "data.json"
    path.write_text(
        json.dumps(
            {
                "org.fing.mesinfos.home": [{"surface": 80}, 12, ["x"]],
                "io.cozy.bills": [{"vendor": "no amount"}],
            }
        )
    )
    report = (await import_path(box, path)).to_json()
    assert report["doctypes"]["org.fing.mesinfos.home"]["created"] == 1
    assert report["errors"] == 3  # a number, a list, and a bill its schema refuses


async def test_a_truncated_file_stores_what_came_before_and_says_so(
    box: Box, tmp_path: Path
) -> None:
    path = tmp_path / "data.json"
    text = json.dumps(SAMPLE)
    path.write_text(text[: len(text) // 2])
    with pytest.raises(InputError, match="not valid JSON"):
        await import_path(box, path)
