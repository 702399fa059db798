"""Moving in from a Cozy, and out to one: samples built from cozy-stack's documented layout.

The zip is what a Cozy owner downloads from Settings › Export (cozy-stack
``model/move``): ``My Cozy/Data/<doctype>/<id>.json`` for each document, and for each file
its ``io.cozy.files`` document immediately followed by its bytes under
``My Cozy/Files/<path>``. Sizes are JSON strings and checksums base64 MD5, as the stack
writes them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest
from selfdata.box import Box
from selfdata.connectors.files import detect_format, import_path
from selfdata.interop.cozy import export_cozy, selfdata_doctype
from selfdata.paths import DataDir

from ...conftest import PASSPHRASE

PDF = b"%PDF-1.4\nfacture SFR mars 2019\n" * 300
PHOTO = b"\xff\xd8\xff\xe0JFIF" + bytes(range(256)) * 40


def cozy_file(doc_id: str, name: str, data: bytes, dir_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "_id": doc_id,
        "_rev": "3-9a8f",
        "type": "file",
        "name": name,
        "dir_id": dir_id,
        "created_at": "2019-03-04T10:12:33.123456789+01:00",
        "updated_at": "2019-03-04T10:12:33.123456789+01:00",
        "size": str(len(data)),
        "md5sum": base64.b64encode(hashlib.md5(data).digest()).decode(),
        "mime": "application/pdf" if name.endswith(".pdf") else "image/jpeg",
        "class": "pdf" if name.endswith(".pdf") else "image",
        "executable": False,
        "trashed": False,
        "tags": [],
        "metadata": {"datetime": "2019-03-04T10:12:33Z"} | extra,
        "cozyMetadata": {"doctypeVersion": "1", "createdByApp": "sfr"},
    }


def cozy_zip(path: Path, *, corrupt_md5: bool = False) -> Path:
    data = "My Cozy/Data/"
    docs: list[tuple[str, dict[str, Any]]] = [
        ("instance.json", {"domain": "alice.mycozy.cloud", "locale": "fr"}),
        ("io.cozy.apps/drive.json", {"_id": "io.cozy.apps/drive", "slug": "drive"}),
        (
            "io.cozy.accounts/acc1.json",
            {"_id": "acc1", "auth": {"login": "alice", "password": "x"}},
        ),
        ("io.cozy.triggers/t1.json", {"_id": "t1", "worker": "konnector"}),
        ("io.cozy.bank.operations/_design%2Fby-date.json", {"_id": "_design/by-date", "views": {}}),
    ]
    docs += [
        (
            f"io.cozy.bank.operations/op{i}.json",
            {
                "_id": f"op{i}",
                "_rev": "1-abc",
                "label": f"PRLV SEPA EDF {i}",
                "amount": -61.2,
                "currency": "EUR",
                "date": "2019-03-0" + str(i + 1) + "T00:00:00Z",
                "account": "acc-courant",
                "automaticCategoryId": "401010",
                "metadata": {"version": 1},
            },
        )
        for i in range(3)
    ]
    docs += [
        (
            "io.cozy.bank.accounts/acc-courant.json",
            {"_id": "acc-courant", "label": "Compte courant", "balance": 1234.5},
        ),
        (
            "io.cozy.bills/bill1.json",
            {
                "_id": "bill1",
                "vendor": "SFR",
                "amount": 29.99,
                "date": "2019-03-04",
                "invoice": "io.cozy.files:f1",
            },
        ),
        (
            "io.cozy.contacts/c1.json",
            {"_id": "c1", "fullname": "Alice Martin", "email": [{"address": "alice@example.org"}]},
        ),
        (
            "io.cozy.bank.groups/g1.json",
            {"_id": "g1", "label": "Famille", "accounts": ["acc-courant"]},
        ),
        (
            "com.grandlyon.enedis.day/d1.json",
            {"_id": "d1", "load": 9.4, "year": 2019, "month": 3, "day": 4, "hour": 0, "minute": 0},
        ),
    ]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, doc in docs:
            z.writestr(data + name, json.dumps(doc))
        folders = [
            {"_id": "io.cozy.files.root-dir", "type": "directory", "name": "", "path": "/"},
            {
                "_id": "dir-admin",
                "type": "directory",
                "name": "Administratif",
                "dir_id": "io.cozy.files.root-dir",
                "path": "/Administratif",
            },
        ]
        for folder in folders:
            z.writestr(data + f"io.cozy.files/{folder['_id']}.json", json.dumps(folder))
        pdf = cozy_file("f1", "facture.pdf", PDF, "dir-admin")
        if corrupt_md5:
            pdf["md5sum"] = base64.b64encode(b"0" * 16).decode()
        z.writestr(data + "io.cozy.files/f1.json", json.dumps(pdf))
        z.writestr("My Cozy/Files/Administratif/facture.pdf", PDF)
        z.writestr(
            data + "io.cozy.files/f2.json",
            json.dumps(cozy_file("f2", "photo.jpg", PHOTO, "io.cozy.files.root-dir")),
        )
        z.writestr("My Cozy/Files/photo.jpg", PHOTO)
        z.writestr(data + "io.cozy.files.versions/f1%2Fv1.json", json.dumps({"_id": "f1/v1"}))
        z.writestr("My Cozy/Files/f1/v1", b"old version")
    return path


async def read_file(box: Box, file_id: str) -> bytes:
    return b"".join([c async for c in box.files.read(file_id)])


async def test_a_cozy_move_export_comes_in_and_twice_changes_nothing(
    box: Box, tmp_path: Path
) -> None:
    archive = cozy_zip(tmp_path / "cozy-export-part1.zip")
    assert detect_format(archive) == "cozy"
    report = (await import_path(box, archive)).to_json()
    assert report["format"] == "cozy"
    assert report["errors"] == 0, report
    counts = {k: v["created"] for k, v in report["doctypes"].items()}
    assert counts == {
        "io.cozy.bank.operations": 3,
        "io.cozy.bank.accounts": 1,
        "io.cozy.bills": 1,
        "io.cozy.contacts": 1,
        "cozy.bank.groups": 1,
        "com.grandlyon.enedis.day": 1,
        "io.cozy.files": 3,  # the Administratif folder and two files
    }
    note = " ".join(report["notes"])
    for skipped in (
        "io.cozy.accounts",
        "io.cozy.apps",
        "io.cozy.triggers",
        "io.cozy.files.versions",
    ):
        assert skipped in note
    op = await box.documents.get("io.cozy.bank.operations", "op1")
    assert op["label"] == "PRLV SEPA EDF 1"
    assert op["automaticCategoryId"] == "401010"
    assert await read_file(box, "f1") == PDF
    assert await read_file(box, "f2") == PHOTO
    meta = await box.files.stat("f1")
    assert meta["name"] == "facture.pdf"
    assert meta["dir_id"] == "dir-admin"
    assert meta["size"] == len(PDF)
    again = (await import_path(box, archive)).to_json()
    assert all(c["created"] == 0 and c["updated"] == 0 for c in again["doctypes"].values())
    assert (await box.fsck()).ok


async def test_a_file_whose_md5_does_not_match_is_left_out(box: Box, tmp_path: Path) -> None:
    report = (await import_path(box, cozy_zip(tmp_path / "c.zip", corrupt_md5=True))).to_json()
    assert report["errors"] == 1
    assert "MD5" in report["error_samples"][0]["message"]
    assert box.files.blob_names()
    assert len(box.files.blob_names()) == 1
    assert (await box.fsck()).ok


async def test_the_documents_tarball_is_read_too(box: Box, tmp_path: Path) -> None:
    path = tmp_path / "export.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, doc in (
            ("instance.json", {"domain": "alice.mycozy.cloud"}),
            (
                "io.cozy.bills/b1.json",
                {"_id": "b1", "vendor": "Free", "amount": 19.99, "date": "2020-01-02"},
            ),
            ("io.cozy.contacts/c1.json", {"_id": "c1", "fullname": "Bob"}),
        ):
            data = json.dumps(doc).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert detect_format(path) == "cozy"
    report = (await import_path(box, path)).to_json()
    assert report["doctypes"]["io.cozy.bills"]["created"] == 1
    assert (await box.documents.get("io.cozy.contacts", "c1"))["fullname"] == "Bob"


async def test_a_truncated_cozy_zip_is_a_clear_error(box: Box, tmp_path: Path) -> None:
    archive = cozy_zip(tmp_path / "c.zip")
    cut = tmp_path / "cut.zip"
    cut.write_bytes(archive.read_bytes()[:-200])
    with pytest.raises(Exception, match=r"zip|Cozy|cannot tell"):
        await import_path(box, cut)
    assert await box.documents.doctypes() == {}


async def test_exported_to_the_cozy_layout_and_back(box: Box, tmp_path: Path) -> None:
    await import_path(box, cozy_zip(tmp_path / "c.zip"))
    await box.series.write(
        "linky/papp", [(1_710_000_000 + 60 * i, float(i)) for i in range(10)], "VA"
    )
    out = tmp_path / "to-cozy.zip"
    with open(out, "wb") as file:  # noqa: ASYNC230
        async for chunk in export_cozy(box):
            file.write(chunk)
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        assert "My Cozy/Data/io.cozy.bank.operations/op0.json" in names
        assert "My Cozy/Data/io.cozy.bank.groups/g1.json" in names  # cozy.* back to io.cozy.*
        meta_at = names.index("My Cozy/Data/io.cozy.files/f1.json")
        assert names[meta_at + 1] == "My Cozy/Files/Administratif/facture.pdf"
        meta = json.loads(z.read(names[meta_at]))
        assert meta["size"] == str(len(PDF))
        assert "sha256" not in meta
        assert "_rev" not in meta
        assert z.read("My Cozy/Files/Administratif/facture.pdf") == PDF
        assert z.read("My Cozy/Files/photo.jpg") == PHOTO
        series = [n for n in names if n.startswith("My Cozy/Data/io.cozy.timeseries.selfdata/")]
        assert len(series) == 1
        assert json.loads(z.read(series[0]))["series"][0] == [1710000000, 0.0]
        assert not any("selfdata.accounts" in n or "selfdata.backups" in n for n in names)
    other = await Box.open(DataDir(tmp_path / "other"))
    await other.init(PASSPHRASE)
    try:
        report = (await import_path(other, out)).to_json()
        assert report["errors"] == 0, report
        assert await read_file(other, "f1") == PDF
        assert (await other.documents.get("cozy.bank.groups", "g1"))["label"] == "Famille"
    finally:
        await other.close()


def test_doctype_names_map_both_ways() -> None:
    assert selfdata_doctype("io.cozy.bank.operations") == "io.cozy.bank.operations"
    assert selfdata_doctype("io.cozy.bank.groups") == "cozy.bank.groups"
    assert selfdata_doctype("org.fing.mesinfos.client") == "org.fing.mesinfos.client"
    assert selfdata_doctype("io.cozy.accounts") is None
    assert selfdata_doctype("io.cozy.sessions.logins") is None
    assert selfdata_doctype("selfdata.backups") is None
    assert selfdata_doctype("Not A Doctype") is None
