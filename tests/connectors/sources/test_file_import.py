"""``selfdata import FILE`` without --doctype: detection, the CLI offline and through the
daemon, and the API route behind it."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from selfdata.box import Box
from selfdata.connectors.files import detect_format, detect_source
from selfdata.connectors.sinks import SourceFile
from selfdata.errors import InputError
from selfdata.paths import DataDir

from ...conftest import PASSPHRASE
from ...daemon.api.conftest import running_daemon
from ...daemon.conftest import Cli, assert_one_line_error, start_daemon
from .file_helpers import counts, documents, ingest, sample

OPS = "io.cozy.bank.operations"


@pytest.fixture
def cli(data_dir: DataDir) -> Cli:
    """The real ``selfdata`` command in a subprocess (as tests/daemon/conftest.py makes it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELFDATA_")}
    env["SELFDATA_KDF_SECONDS"] = "0"
    return Cli(data_dir, env)


@pytest.fixture
def statement(tmp_path: Path) -> Path:
    path = tmp_path / "releve-janvier.ofx"
    path.write_bytes(sample("bank", "banque-regionale-2024-01.ofx"))
    return path


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        ('{"a": 1}\n{"a": 2}\n', "jsonl"),
        ("date;libellé;montant\n2024-01-02;CB;-3,20\n", "csv"),
        ("a,b\n1,2\n", "csv"),
    ],
)
def test_text_formats_are_detected(text: str, fmt: str) -> None:
    assert detect_source(SourceFile("x", io.BytesIO(text.encode()))) == fmt


def test_detect_format_reads_the_file(statement: Path) -> None:
    assert detect_format(statement) == "ofx"
    with pytest.raises(InputError, match="cannot read"):
        detect_format(statement.with_name("missing.ofx"))


async def test_a_csv_that_fits_a_known_doctype_goes_there(box: Box) -> None:
    data = "date,label,amount\n2024-01-01,café,-3.5\n2024-01-02,pain,-1.2\n".encode()
    report = await ingest(box, "ops.csv", data)
    assert report["format"] == "csv"
    assert counts(report, OPS) == (2, 0, 0)
    assert {o["label"] for o in await documents(box, OPS)} == {"café", "pain"}


async def test_a_csv_that_fits_nothing_asks_for_a_doctype(box: Box) -> None:
    with pytest.raises(InputError, match="--doctype"):
        await ingest(box, "x.csv", b"foo,bar\n1,2\n")
    report = await ingest(box, "x.csv", b"foo,bar\n1,2\n", doctype="org.example.foo")
    assert counts(report, "org.example.foo") == (1, 0, 0)


async def test_json_lines_with_bad_lines_report_them(box: Box) -> None:
    data = b'{"_id": "a", "date": "2024-01-01", "amount": 1}\nnot json\n{"_id": "b", "date": "2024-01-02", "amount": 2}\n'
    report = await ingest(box, "ops.jsonl", data)
    assert counts(report, OPS) == (2, 0, 0)
    assert report["errors"] == 1
    assert report["error_samples"][0]["where"] == "line 2"


def test_cli_import_without_doctype_offline(
    cli: Cli, passphrase_file: Path, statement: Path
) -> None:
    cli.ok("init", "--passphrase-file", str(passphrase_file))
    args = ("import", str(statement), "--passphrase-file", str(passphrase_file), "--json")
    result = cli(*args)
    assert result.code == 1  # one unreadable line in the statement: reported, exit 1
    report = result.json()
    assert report["format"] == "ofx"
    assert report["doctypes"][OPS]["created"] == 5
    assert report["errors"] == 1
    again = cli(*args).json()
    assert again["doctypes"][OPS] == {"stored": 5, "created": 0, "updated": 0, "unchanged": 5}
    human = cli("import", str(statement), "--passphrase-file", str(passphrase_file)).out
    assert "ofx" in human
    assert "5 in io.cozy.bank.operations" in human


def test_cli_import_of_an_unknown_file_is_one_line(
    cli: Cli, passphrase_file: Path, tmp_path: Path
) -> None:
    cli.ok("init", "--passphrase-file", str(passphrase_file))
    odd = tmp_path / "photo.jpg"
    odd.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 10)
    assert_one_line_error(
        cli("import", str(odd), "--passphrase-file", str(passphrase_file)), "cannot tell"
    )
    assert_one_line_error(
        cli("import", "-", "--passphrase-file", str(passphrase_file)), "--doctype"
    )


def test_cli_import_of_a_spreadsheet_says_what_was_stored(
    cli: Cli, passphrase_file: Path, tmp_path: Path
) -> None:
    cli.ok("init", "--passphrase-file", str(passphrase_file))
    good = tmp_path / "historique.xls"
    good.write_bytes(sample("water", "veolia-historique.xls"))
    result = cli("import", str(good), "--passphrase-file", str(passphrase_file), "--json")
    assert result.code == 0
    report = result.json()  # stdout is the JSON alone: xlrd printed nothing there
    assert report["format"] == "water"
    assert report["series"] == {"water/daily": 12, "water/index": 12}
    cut = tmp_path / "cut.xls"
    cut.write_bytes(sample("water", "veolia-historique.xls")[:3000])
    result = cli("import", str(cut), "--passphrase-file", str(passphrase_file), "--json")
    assert result.code == 1
    assert result.json()["errors"] == 1
    assert "Traceback" not in result.err


def test_cli_import_without_doctype_through_the_daemon(
    cli: Cli, passphrase_file: Path, statement: Path, tmp_path: Path
) -> None:
    daemon = start_daemon(cli, tmp_path / "daemon.log")
    try:
        cli.ok("init", "--passphrase-file", str(passphrase_file))
        report = cli("import", str(statement), "--json").json()
        assert report["doctypes"][OPS]["created"] == 5
        assert report["doctypes"]["io.cozy.bank.accounts"]["created"] == 1
        exported = cli.ok("export", "-t", OPS).out.splitlines()
        assert len(exported) == 5
    finally:
        daemon.stop()


async def test_the_api_route_imports_an_upload(data_dir: DataDir) -> None:
    async with running_daemon(data_dir) as daemon:
        async with daemon.admin() as admin:
            resp = await admin.post("/api/v1/setup", json={"passphrase": PASSPHRASE})
            assert resp.status == 201
        async with daemon.client() as api:
            await api.login()
            status, body = await api.call(
                "POST",
                "/api/v1/import?name=camt.xml",
                data=sample("bank", "camt053-2024-01.xml"),
            )
            assert status == 200, body
            assert body["format"] == "camt"
            assert body["doctypes"][OPS]["created"] == 3
            status, body = await api.call("POST", "/api/v1/import?name=x.bin", data=b"\x00" * 100)
            assert status == 400
            assert "cannot tell" in body["error"]["message"]
            status, body = await api.call("POST", "/api/v1/import?name=a/b", data=b"x")
            assert status == 400
        async with daemon.client() as anonymous:
            status, _ = await anonymous.call("POST", "/api/v1/import?name=x.ofx", data=b"x")
            assert status in (401, 403)
