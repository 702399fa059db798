"""Backups to a directory (a USB disk): incremental, verified, pruned, restorable with only
the recovery key; and every kind of damage refused with nothing changed."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import subprocess
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from selfdata.backup import BackupError, Retention, open_target, restore, run_backup, snapshots
from selfdata.backup.repository import KEY_FILE, list_snapshots, read_key_file
from selfdata.backup.targets import TargetError
from selfdata.box import Box
from selfdata.errors import AlreadyInitialized, WrongPassphrase
from selfdata.ledger import Ledger
from selfdata.paths import DataDir
from selfdata.vault import format_recovery_key

from ...conftest import PASSPHRASE
from ..archive.sample import CANARY, chunks, contents, populate

WRONG_KEY = format_recovery_key(os.urandom(32))  # well formed, not this vault's


async def backed_up(box: Box, usb: Path, **kwargs: object) -> tuple[object, str]:
    usb.mkdir(exist_ok=True)  # noqa: ASYNC240
    target = await open_target(str(usb))
    report = await run_backup(box, target, **kwargs)  # type: ignore[arg-type]
    return report, str(usb)


@pytest.fixture
async def recovered(data_dir: DataDir) -> tuple[Box, str]:
    box = await Box.open(data_dir)
    recovery = await box.init(PASSPHRASE)
    yield box, recovery  # type: ignore[misc]
    await box.close()


async def fresh(root: Path) -> Box:
    return await Box.open(DataDir(root))


async def test_restore_with_only_the_recovery_key_brings_everything_back(
    recovered: tuple[Box, str], tmp_path: Path
) -> None:
    box, recovery = recovered
    await populate(box, files=3)
    report, usb = await backed_up(box, tmp_path / "usb")
    assert report.blobs == 3
    assert report.blobs_sent == 3
    assert report.verified_blobs == 3
    # a freshly flashed box: no vault, only the recovery key and the backup disk
    new = await fresh(tmp_path / "new-box")
    try:
        target = await open_target(usb)
        done = await restore(new, target, recovery)
        assert done.blobs == 3
        assert new.initialized
        assert new.locked
        await new.unlock(PASSPHRASE)  # the passphrase the box had still opens it
        assert await contents(new) == await contents(box)
        # the bank operations were compressed with their dictionary: it came back too
        assert await new.documents.dictionary("io.cozy.bank.operations") is not None
        report_fsck = await new.fsck()
        assert report_fsck.ok, report_fsck.problems
        assert not (tmp_path / "new-box" / ".restore").exists()
        assert not new.paths.setup_code.exists()
        restores = [e for e in await Ledger(new).entries() if e.kind == "restore"]
        assert [e.details["snapshot"] for e in restores] == [done.snapshot]
        assert str(usb) in restores[0].to_json()["summary"]
    finally:
        await new.close()


async def test_backups_are_incremental_and_pruned_by_retention(
    recovered: tuple[Box, str], tmp_path: Path
) -> None:
    box, recovery = recovered
    await populate(box, files=2)
    many = Retention(last=10)  # three runs in one day: keep them all
    _first, usb = await backed_up(box, tmp_path / "usb", retention=many)
    second, _ = await backed_up(box, tmp_path / "usb", retention=many)
    assert second.blobs_sent == 0
    assert second.blobs == 2
    saved = await box.files.save("new.pdf", chunks(b"%PDF new" * 100))
    third, _ = await backed_up(box, tmp_path / "usb", retention=many)
    assert third.blobs_sent == 1
    assert third.blobs == 3
    target = await open_target(usb)
    assert len(await list_snapshots(target)) == 3
    await box.files.delete(saved["_id"])
    keep_one = Retention(daily=0, weekly=0, monthly=0, last=1)
    fourth, _ = await backed_up(box, tmp_path / "usb", retention=keep_one)
    assert len(fourth.pruned) == 3  # type: ignore[attr-defined]
    assert fourth.blobs_removed == 1  # type: ignore[attr-defined] # the deleted file's blob
    assert await list_snapshots(target) == [fourth.snapshot]  # type: ignore[attr-defined]
    assert len(await target.list("blobs")) == 2
    assert [s["id"] for s in await snapshots(target, recovery)] == [fourth.snapshot]  # type: ignore[attr-defined]


def test_retention_keeps_the_newest_of_each_day_week_and_month() -> None:
    start = dt.datetime(2025, 1, 1, 3, tzinfo=dt.UTC)
    ids = [
        (start + dt.timedelta(hours=12 * i)).strftime("%Y%m%dT%H%M%SZ") + "-0000"
        for i in range(200)
    ]
    kept = Retention(daily=7, weekly=4, monthly=3, last=2).keep(ids)
    newest = sorted(ids)[-1]
    assert newest in kept
    assert sorted(ids)[-2] in kept
    days = {k[:8] for k in kept}
    assert len(kept) <= 2 + 7 + 4 + 3
    assert len(days) >= 7
    assert min(kept) >= "20250201"  # nothing older than the 3 months kept


async def test_no_plaintext_reaches_the_backup_or_the_staging_area(
    recovered: tuple[Box, str], tmp_path: Path
) -> None:
    box, _ = recovered
    await populate(box, files=2)
    (tmp_path / "usb").mkdir()
    target = await open_target(str(tmp_path / "usb"))
    put = target.put
    staged: list[Path] = []

    async def put_and_scan(name: str, data: AsyncIterable[bytes]) -> int:
        for path in box.paths.root.rglob("*"):  # mid-run: the staging area is ciphertext
            if path.is_file():
                staged.append(path)
                assert CANARY.encode() not in path.read_bytes(), path
        return await put(name, data)

    target.put = put_and_scan  # type: ignore[method-assign]
    await run_backup(box, target)
    assert any(".backup" in str(p) for p in staged)
    usb = str(tmp_path / "usb")
    for root in (Path(usb), box.paths.root):
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                assert CANARY.encode() not in data, path
                assert b"facture" not in data, path
                assert b"%PDF" not in data, path
    key_file = (Path(usb) / KEY_FILE).read_text()
    assert '"passphrase": ""' in key_file  # only the recovery wrap travels
    assert not (box.paths.root / ".backup").exists()


async def test_a_wrong_recovery_key_changes_nothing(
    recovered: tuple[Box, str], tmp_path: Path
) -> None:
    box, _ = recovered
    await populate(box, files=1)
    _, usb = await backed_up(box, tmp_path / "usb")
    new = await fresh(tmp_path / "new-box")
    try:
        with pytest.raises(WrongPassphrase, match="wrong recovery key"):
            await restore(new, await open_target(usb), WRONG_KEY)
        with pytest.raises(WrongPassphrase, match="not a recovery key"):
            await restore(new, await open_target(usb), "hello")
        assert not new.initialized
        assert not any((tmp_path / "new-box" / "blobs").iterdir())
    finally:
        await new.close()


@pytest.mark.parametrize(
    "damage", ["blob flipped", "store truncated", "manifest flipped", "blob missing"]
)
async def test_a_damaged_backup_is_refused_and_the_new_box_untouched(
    recovered: tuple[Box, str], tmp_path: Path, damage: str
) -> None:
    box, recovery = recovered
    await populate(box, files=2)
    report, usb = await backed_up(box, tmp_path / "usb")
    root = Path(usb)
    blob = next((root / "blobs").rglob("*/*"))
    if damage == "blob flipped":
        data = bytearray(blob.read_bytes())
        data[len(data) // 2] ^= 1
        blob.write_bytes(bytes(data))
    elif damage == "blob missing":
        blob.unlink()
    elif damage == "store truncated":
        db = root / "snapshots" / f"{report.snapshot}.db"  # type: ignore[attr-defined]
        db.write_bytes(db.read_bytes()[:-100])
    else:
        manifest = root / "snapshots" / f"{report.snapshot}.json"  # type: ignore[attr-defined]
        data = bytearray(manifest.read_bytes())
        data[20] ^= 1
        manifest.write_bytes(bytes(data))
    new = await fresh(tmp_path / "new-box")
    try:
        with pytest.raises(BackupError, match="nothing was changed"):
            await restore(new, await open_target(usb), recovery)
        assert not new.initialized
        assert not (tmp_path / "new-box" / ".restore").exists()
        assert not any((tmp_path / "new-box" / "blobs").iterdir())
    finally:
        await new.close()


async def test_restore_refuses_a_box_that_has_a_vault(
    recovered: tuple[Box, str], tmp_path: Path
) -> None:
    box, recovery = recovered
    await populate(box, files=1)
    _, usb = await backed_up(box, tmp_path / "usb")
    before = await contents(box)
    with pytest.raises(AlreadyInitialized, match="freshly set-up"):
        await restore(box, await open_target(usb), recovery)
    assert await contents(box) == before


async def test_an_unplugged_disk_is_a_clear_error(box: Box, tmp_path: Path) -> None:
    target = await open_target(str(tmp_path / "not-mounted" / "selfdata"))
    with pytest.raises(BackupError, match="plugged in and mounted"):
        await run_backup(box, target)
    assert not (tmp_path / "not-mounted").exists()
    with pytest.raises(TargetError, match="no selfdata backup"):
        await read_key_file(await open_target(str(tmp_path)))


async def test_one_target_holds_one_box(box: Box, tmp_path: Path) -> None:
    await populate(box, files=1)
    await backed_up(box, tmp_path / "usb")
    other = await Box.open(DataDir(tmp_path / "other"))
    await other.init(PASSPHRASE)
    try:
        with pytest.raises(BackupError, match="another box"):
            await backed_up(other, tmp_path / "usb")
    finally:
        await other.close()


@contextlib.contextmanager
def tiny_disk(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


async def test_a_full_backup_disk_fails_cleanly_and_keeps_the_last_good_snapshot(
    recovered: tuple[Box, str], tmp_path: Path
) -> None:
    box, recovery = recovered
    await populate(box, files=1)
    with tiny_disk(tmp_path / "usb", "1m") as usb:
        first = await run_backup(box, await open_target(str(usb)))
        big = os.urandom(3 * 1024 * 1024)
        await box.files.save("big.bin", chunks(big))
        with pytest.raises(BackupError, match="disk is full"):
            await run_backup(box, await open_target(str(usb)))
        target = await open_target(str(usb))
        assert await list_snapshots(target) == [first.snapshot]
        assert not [p for p in usb.rglob("*.partial")]
        assert not (box.paths.root / ".backup").exists()
        new = await fresh(tmp_path / "new-box")
        try:
            assert (await restore(new, target, recovery)).blobs == 1  # the good one restores
        finally:
            await new.close()


class RottingDisk:
    """A target that says it stored an object but keeps it with one bit flipped (a dying
    USB stick): only reading it back, as the test restore does, can tell."""

    def __init__(self, inner: Any, rot: Callable[[str], bool]) -> None:
        self.inner = inner
        self.label = inner.label
        self.rot = rot

    async def put(self, name: str, chunks: AsyncIterable[bytes]) -> int:
        data = b"".join([c async for c in chunks])
        if self.rot(name):
            data = data[:-40] + bytes([data[-40] ^ 0x10]) + data[-39:]
        return int(await self.inner.put(name, _once(data)))

    def get(self, name: str) -> AsyncIterator[bytes]:
        return self.inner.get(name)  # type: ignore[no-any-return]

    async def list(self, prefix: str) -> dict[str, int]:
        return await self.inner.list(prefix)  # type: ignore[no-any-return]

    async def delete(self, name: str) -> None:
        await self.inner.delete(name)

    async def close(self) -> None:
        await self.inner.close()


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.mark.parametrize("what", ["store copy", "a file"])
async def test_the_test_restore_catches_what_the_disk_corrupted(
    recovered: tuple[Box, str], tmp_path: Path, what: str
) -> None:
    box, recovery = recovered
    await populate(box, files=2)
    usb = tmp_path / "usb"
    usb.mkdir()
    first = await run_backup(box, await open_target(str(usb)))
    await box.files.save("new.pdf", chunks(b"%PDF a new bill" * 2000))
    stored: list[str] = []

    def rot(name: str) -> bool:
        stored.append(name)
        is_store = name.startswith("snapshots/") and name.endswith(".db")
        return is_store if what == "store copy" else name.startswith("blobs/")

    target = RottingDisk(await open_target(str(usb)), rot)
    with pytest.raises(BackupError, match="failed"):
        await run_backup(box, target)  # type: ignore[arg-type]
    assert any(rot(n) for n in list(stored)), stored  # the corruption did happen
    # The bad snapshot never became one: the last good one is still the newest, and restores.
    plain = await open_target(str(usb))
    assert await list_snapshots(plain) == [first.snapshot]
    new = await fresh(tmp_path / "new-box")
    try:
        assert (await restore(new, plain, recovery)).snapshot == first.snapshot
    finally:
        await new.close()


async def test_a_restore_onto_a_full_disk_changes_nothing(
    recovered: tuple[Box, str], tmp_path: Path
) -> None:
    box, recovery = recovered
    await populate(box, files=1)
    await box.files.save("big.bin", chunks(os.urandom(3 * 1024 * 1024)))
    _, usb = await backed_up(box, tmp_path / "usb")
    with tiny_disk(tmp_path / "small", "2m") as small:
        new = await fresh(small / "box")
        try:
            with pytest.raises(BackupError, match="nothing was changed"):
                await restore(new, await open_target(usb), recovery)
            assert not new.initialized
            assert not (small / "box" / ".restore").exists()
        finally:
            await new.close()


async def test_concurrent_writes_during_a_backup_give_a_consistent_snapshot(
    recovered: tuple[Box, str], tmp_path: Path
) -> None:
    box, recovery = recovered
    await populate(box, files=1)
    (tmp_path / "usb").mkdir()
    target = await open_target(str(tmp_path / "usb"))

    async def writer() -> None:
        for i in range(20):
            saved = await box.files.save(f"scan-{i}.pdf", chunks(b"%PDF scan" * 50 + bytes([i])))
            if i % 2:
                await box.files.delete(saved["_id"])

    await asyncio.gather(run_backup(box, target), writer())
    new = await fresh(tmp_path / "new-box")
    try:
        await restore(new, target, recovery)
        await new.unlock(PASSPHRASE)
        report = await new.fsck()
        assert report.ok, report.problems  # every file in the copy has its blob
    finally:
        await new.close()
