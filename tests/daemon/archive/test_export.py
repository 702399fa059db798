"""The GDPR export: complete, in open formats, streamed, sealed on demand, and restorable."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import tarfile
import tracemalloc
from pathlib import Path

import pytest
from selfdata import ledger
from selfdata.archive import export_archive, import_export
from selfdata.archive.container import MAGIC
from selfdata.box import Box
from selfdata.connectors.files import detect_format, import_path
from selfdata.connectors.sinks import IngestReport, SourceFile
from selfdata.errors import InputError, IntegrityError, WrongPassphrase
from selfdata.paths import DataDir

from ...conftest import PASSPHRASE
from .sample import CANARY, OPERATIONS, chunks, contents, populate

SEAL = "a long export passphrase"


async def write_export(box: Box, path: Path, passphrase: str | None = None) -> Path:
    with open(path, "wb") as out:  # noqa: ASYNC230
        async for chunk in export_archive(box, passphrase=passphrase):
            out.write(chunk)
    return path


async def fresh_box(root: Path) -> Box:
    box = await Box.open(DataDir(root))
    await box.init(PASSPHRASE)
    return box


async def import_into(box: Box, path: Path, passphrase: str | None = None) -> dict:
    report = IngestReport(path.name, "selfdata-export")
    with open(path, "rb") as file:  # noqa: ASYNC230
        await import_export(box, SourceFile(path.name, file), report, passphrase)
    return report.to_json()


@pytest.mark.parametrize("passphrase", [None, SEAL], ids=["plain", "sealed"])
async def test_everything_comes_back_and_a_second_import_changes_nothing(
    box: Box, tmp_path: Path, passphrase: str | None
) -> None:
    await populate(box)
    path = await write_export(box, tmp_path / "export", passphrase)
    other = await fresh_box(tmp_path / "other")
    try:
        first = await import_into(other, path, passphrase)
        assert first["errors"] == 0, first
        assert first["doctypes"]["io.cozy.bank.operations"]["created"] == OPERATIONS
        assert first["doctypes"]["io.cozy.files"]["created"] == 2
        assert first["series"] == {"linky/papp": 3 * 1440}
        assert await contents(other) == await contents(box)
        again = await import_into(other, path, passphrase)
        assert again["errors"] == 0
        assert all(c["created"] == 0 and c["updated"] == 0 for c in again["doctypes"].values())
        assert await contents(other) == await contents(box)
        assert (await other.fsck()).ok
        # sources come back without their secrets, to be entered again
        account = await other.documents.get("selfdata.accounts", "a" * 32)
        assert account["secrets"] == ""
        assert account["fields"] == {"prm": "12345678901234"}
        assert any("without their secrets" in n for n in first["notes"])
    finally:
        await other.close()


async def test_the_layout_is_open_and_matches_the_docs(box: Box, tmp_path: Path) -> None:
    await populate(box, files=1)
    for n in range(3):
        await ledger.append(box, "export", {"part": n, "summary": f"Exported part {n}"})
    path = await write_export(box, tmp_path / "export.tar.gz")
    with tarfile.open(path, "r:gz") as tar:
        names = tar.getnames()
        read = {n: tar.extractfile(n).read() for n in names}  # type: ignore[union-attr]
    assert names[0] == "export.json"
    assert names[-1] == "manifest.json"
    header = json.loads(read["export.json"])
    assert header["format"] == "selfdata-export"
    assert header["version"] == 1
    manifest = json.loads(read["manifest.json"])
    for name, data in read.items():
        if name != "manifest.json":
            entry = manifest["members"][name]
            assert entry == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    assert manifest["counts"]["documents"] == {
        "io.cozy.bank.operations": OPERATIONS,
        "org.example.notes": 30,
    }
    ops = [
        json.loads(line) for line in read["documents/io.cozy.bank.operations.jsonl"].splitlines()
    ]
    assert len(ops) == OPERATIONS
    assert "_rev" not in ops[0]
    assert ops[0]["_id"] == "op0"
    rows = list(csv.reader(io.StringIO(read["series/linky%2Fpapp.csv"].decode())))
    assert rows[0] == ["time", "epoch", "value", "unit"]
    assert rows[1] == ["2024-03-09T16:00:00Z", "1710000000", "0.0", "VA"]
    index = [json.loads(line) for line in read["files/index.jsonl"].splitlines()]
    assert index[0]["path"] in read
    assert read[index[0]["path"]].startswith(b"%PDF-1.4")
    assert index[0]["path"].endswith("/facture-0.pdf")
    accounts = [json.loads(line) for line in read["connectors/accounts.jsonl"].splitlines()]
    assert accounts[0]["secrets_set"] == ["token"]
    assert "secrets" not in accounts[0]
    # secrets never leave, even sealed: the account's sealed blob holds a canary
    assert b"c2VhbGVk" not in b"".join(read.values())
    assert not any(n.startswith("documents/selfdata.accounts") for n in names)
    # the consent ledger, oldest first, in plain words, for the owner's records
    journal = [json.loads(line) for line in read["consent/ledger.jsonl"].splitlines()]
    assert [e["summary"] for e in journal] == [f"Exported part {n}" for n in range(3)]
    assert [e["seq"] for e in journal] == [1, 2, 3]
    assert manifest["counts"]["ledger"] == 3


async def test_a_sealed_export_holds_no_plaintext_and_says_what_it_is(
    box: Box, tmp_path: Path, data_dir: DataDir
) -> None:
    await populate(box)
    sealed = await write_export(box, tmp_path / "sealed", SEAL)
    data = sealed.read_bytes()
    assert data.startswith(MAGIC)
    assert CANARY.encode() not in data
    assert b"facture" not in data
    assert b"linky" not in data
    assert detect_format(sealed) == "selfdata-export-encrypted"
    plain = await write_export(box, tmp_path / "plain")
    assert detect_format(plain) == "selfdata-export"
    # the spools were ciphertext and are gone: nothing in clear in the data dir
    for path in data_dir.root.rglob("*"):
        if path.is_file():
            assert CANARY.encode() not in path.read_bytes(), path


async def test_a_sealed_export_needs_its_passphrase(box: Box, tmp_path: Path) -> None:
    await populate(box, files=1)
    sealed = await write_export(box, tmp_path / "sealed", SEAL)
    other = await fresh_box(tmp_path / "other")
    try:
        with pytest.raises(WrongPassphrase, match="wrong passphrase"):
            await import_into(other, sealed, "not the right passphrase")
        with pytest.raises(InputError, match="encrypted"):
            await import_path(other, sealed)  # `selfdata import` asks for it first
        assert await other.documents.doctypes() == {}
    finally:
        await other.close()


def _rewrite_member(src: Path, dst: Path, name: str, change: bytes) -> None:
    """The same archive with one member's bytes changed (the manifest left alone)."""
    with tarfile.open(src, "r:gz") as tar, tarfile.open(dst, "w:gz") as out:
        for info in tar.getmembers():
            data = tar.extractfile(info).read()  # type: ignore[union-attr]
            if info.name == name:
                data = data.replace(data[:10], change[:10])
                info.size = len(data)
            out.addfile(info, io.BytesIO(data))


@pytest.mark.parametrize(
    "damage", ["changed member", "truncated", "flipped byte", "sealed flipped", "sealed truncated"]
)
async def test_a_damaged_export_is_refused_and_nothing_is_imported(
    box: Box, tmp_path: Path, damage: str
) -> None:
    await populate(box)
    sealed = damage.startswith("sealed")
    path = await write_export(box, tmp_path / "export", SEAL if sealed else None)
    bad = tmp_path / "bad"
    data = path.read_bytes()
    if damage == "changed member":
        _rewrite_member(path, bad, "documents/org.example.notes.jsonl", b'{"_id":"x9"')
    elif damage.endswith("truncated"):
        bad.write_bytes(data[: len(data) * 2 // 3])
    else:
        middle = len(data) // 2
        bad.write_bytes(data[:middle] + bytes([data[middle] ^ 1]) + data[middle + 1 :])
    other = await fresh_box(tmp_path / "other")
    try:
        with pytest.raises(IntegrityError, match="nothing was imported"):
            await import_into(other, bad, SEAL if sealed else None)
        assert await other.documents.doctypes() == {}
        assert await other.series.list() == []
        assert other.files.blob_names() == set()
        # the intact export still imports: nothing half-done blocks a re-run
        assert (await import_into(other, path, SEAL if sealed else None))["errors"] == 0
    finally:
        await other.close()


async def test_a_large_file_streams_through_in_bounded_memory(box: Box, tmp_path: Path) -> None:
    big = bytes(range(256)) * (48 * 1024 * 1024 // 256)  # 48 MiB
    await box.files.save("video.bin", chunks(big, 256 * 1024))
    del big
    tracemalloc.start()
    try:
        path = await write_export(box, tmp_path / "big", SEAL)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert path.stat().st_size > 100_000  # compressed, but all there
    assert peak < 16 * 1024 * 1024, f"export held {peak:,} bytes at once"


async def test_gzip_and_tar_tools_read_the_plain_export(box: Box, tmp_path: Path) -> None:
    await populate(box, files=1)
    path = await write_export(box, tmp_path / "x.tar.gz")
    with gzip.open(path) as gz:
        raw = gz.read()
    assert len(raw) % 10240 == 0  # whole tar records, as tar(1) writes them
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        assert tar.getnames()[-1] == "manifest.json"


def _scan_disk_and_open_files(root: Path) -> list[str]:
    """Every file under ``root``, and every file this process holds open there (an
    unlinked scratch file included), searched for the canary."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and CANARY.encode() in path.read_bytes():
            found.append(str(path))
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith(str(root)):
            with open(fd, "rb") as file:
                if CANARY.encode() in file.read():
                    found.append(target)
    return found


async def test_no_plaintext_on_disk_while_a_sealed_export_runs(box: Box, data_dir: DataDir) -> None:
    await populate(box)
    await box.files.save("noise.bin", chunks(os.urandom(1024 * 1024)))  # many output chunks
    scans = 0
    async for _ in export_archive(box, passphrase=SEAL):
        assert _scan_disk_and_open_files(data_dir.root) == []
        scans += 1
    assert scans > 5
