"""Writing while locked: a locked box can add to its inbox, never read it; unlock merges it once."""

from __future__ import annotations

import sqlite3
import tracemalloc
from pathlib import Path

import pytest
import zstandard
from selfdata import crypto
from selfdata.box import Box
from selfdata.errors import InputError, Locked, UnknownDoctype, ValidationError
from selfdata.paths import DataDir
from selfdata.store import InboxBatch

PASSPHRASE = "correct horse battery staple"
T0 = 19_700 * 86_400


def raw(path: Path, sql: str, *params: object) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def batch(n: int, *, start: int = 0) -> InboxBatch:
    b = InboxBatch()
    b.add_documents(
        "org.example.tic", [{"_id": f"reading-{i}", "papp": i} for i in range(start, start + n)]
    )
    b.add_points(
        "linky.papp", [(T0 + 60 * i, float(i)) for i in range(start, start + n)], unit="VA"
    )
    return b


async def merge(box: Box):  # type: ignore[no-untyped-def]
    return await box.inbox.merge(box.keys, box.documents, box.series)


async def contents(box: Box) -> tuple[list[dict[str, object]], list[tuple[int, float]]]:
    docs = [d async for d in box.documents.iterate("org.example.tic")]
    points = await box.series.query("linky.papp", 0, 2**40)
    return sorted(docs, key=lambda d: str(d["_id"])), points


async def test_a_locked_box_can_add_to_its_inbox_but_not_read(box: Box, data_dir: DataDir) -> None:
    box.lock()
    b = InboxBatch()
    b.add_documents("org.example.tic", [{"_id": "r1", "label": "canary-inbox-4c1e"}])
    await box.inbox.put(b)
    assert await box.inbox.pending() == 1
    with pytest.raises(Locked):
        box.documents  # noqa: B018
    with pytest.raises(Locked):
        await box.inbox.merge(box.keys, box.documents, box.series)
    for path in data_dir.root.glob("selfdata.db*"):
        assert b"canary-inbox" not in path.read_bytes()
        assert b"org.example.tic" not in path.read_bytes()


async def test_unlocking_merges_documents_and_series_and_empties_the_inbox(box: Box) -> None:
    box.lock()
    await box.inbox.put(batch(3))
    await box.inbox.put(batch(2, start=3))
    report = await box.unlock(PASSPHRASE)
    assert (report.batches, report.documents, report.points, report.failed) == (2, 5, 5, 0)
    assert await box.inbox.pending() == 0
    docs, points = await contents(box)
    assert [d["papp"] for d in docs] == [0, 1, 2, 3, 4]
    assert points == [(T0 + 60 * i, float(i)) for i in range(5)]
    assert (await box.series.info("linky.papp")).unit == "VA"


async def test_an_inbox_written_by_another_process_is_merged_at_the_next_open(
    data_dir: DataDir,
) -> None:
    box = await Box.open(data_dir)
    await box.init(PASSPHRASE)
    await box.close()
    locked = await Box.open(data_dir)  # e.g. the Linky reader after a reboot
    try:
        assert locked.locked
        await locked.inbox.put(batch(4))
        report = await locked.unlock(PASSPHRASE)
        assert report.documents == 4
        assert await locked.documents.count("org.example.tic") == 4
    finally:
        await locked.close()


async def test_merging_the_same_batch_twice_changes_nothing(box: Box) -> None:
    same = batch(3)
    await box.inbox.put(same)
    await merge(box)
    before = await contents(box)
    await box.inbox.put(same)
    report = await merge(box)
    assert report.batches == 1
    assert report.failed == 0
    assert await contents(box) == before
    assert await box.documents.count("org.example.tic") == 3


async def test_a_merge_interrupted_before_its_deletes_does_not_duplicate(
    box: Box, data_dir: DataDir
) -> None:
    await box.inbox.put(batch(3))
    await box.inbox.put(batch(3, start=2))  # overlaps the first on reading-2
    entries = raw(data_dir.database, "SELECT seq, sealed_key, body FROM inbox ORDER BY seq")
    await merge(box)
    after_first = await contents(box)
    # the crash: both entries were merged, but only the first delete was committed
    raw(data_dir.database, "INSERT INTO inbox(seq, sealed_key, body) VALUES (?, ?, ?)", *entries[1])
    report = await merge(box)
    assert (report.batches, report.failed) == (1, 0)
    assert await contents(box) == after_first
    assert await box.documents.count("org.example.tic") == 5
    assert len(after_first[1]) == 5


async def test_a_flipped_byte_anywhere_in_an_inbox_entry_is_detected_and_kept(
    box: Box, data_dir: DataDir
) -> None:
    b = InboxBatch()
    b.add_documents("org.example.tic", [{"_id": "r", "v": 1}])
    await box.inbox.put(b)
    ((seq, sealed_key, body),) = raw(data_dir.database, "SELECT seq, sealed_key, body FROM inbox")
    assert isinstance(sealed_key, bytes)
    assert isinstance(body, bytes)
    for column, value in (("sealed_key", sealed_key), ("body", body)):
        for position in range(len(value)):
            tampered = bytearray(value)
            tampered[position] ^= 0x04
            raw(
                data_dir.database,
                f"UPDATE inbox SET {column} = ? WHERE seq = ?",
                bytes(tampered),
                seq,
            )
            report = await merge(box)
            assert (report.batches, report.failed, report.documents) == (0, 1, 0), (
                column,
                position,
            )
            assert await box.inbox.pending() == 1
        raw(data_dir.database, f"UPDATE inbox SET {column} = ? WHERE seq = ?", value, seq)
    assert await box.documents.count("org.example.tic") == 0
    assert (await merge(box)).documents == 1


async def test_a_tampered_entry_does_not_stop_the_others_or_the_unlock(
    box: Box, data_dir: DataDir
) -> None:
    box.lock()
    await box.inbox.put(batch(1))
    await box.inbox.put(batch(1, start=1))
    await box.inbox.put(batch(1, start=2))
    seqs = [r[0] for r in raw(data_dir.database, "SELECT seq FROM inbox ORDER BY seq")]
    raw(data_dir.database, "UPDATE inbox SET body = substr(body, 1, 30) WHERE seq = ?", seqs[1])
    report = await box.unlock(PASSPHRASE)
    assert not box.locked
    assert (report.batches, report.failed) == (2, 1)
    assert "inbox entry" in report.problems[0]
    assert [d["papp"] for d in (await contents(box))[0]] == [0, 2]
    assert await box.inbox.pending() == 1
    fsck = await box.fsck()
    assert not fsck.ok
    assert any("inbox entry" in p for p in fsck.problems)


async def test_entries_swapped_between_keys_are_detected(box: Box, data_dir: DataDir) -> None:
    await box.inbox.put(batch(1))
    await box.inbox.put(batch(1, start=1))
    (a, _ka, ba), (b, _kb, bb) = raw(data_dir.database, "SELECT seq, sealed_key, body FROM inbox")
    raw(data_dir.database, "UPDATE inbox SET body = ? WHERE seq = ?", bb, a)
    raw(data_dir.database, "UPDATE inbox SET body = ? WHERE seq = ?", ba, b)
    report = await merge(box)
    assert (report.batches, report.failed) == (0, 2)


async def test_bad_data_is_refused_when_put_not_at_unlock(box: Box) -> None:
    b = InboxBatch()
    with pytest.raises(UnknownDoctype):
        b.add_documents("io.cozy.nonexistent", [{"x": 1}])
    good = {"amount": 1, "date": "2024-01-01"}
    with pytest.raises(ValidationError):
        b.add_documents("io.cozy.bank.operations", [good, {"amount": "lots", "date": "2024-01-01"}])
    with pytest.raises(InputError):
        b.add_points("linky.papp", [(T0, 1.0), (T0 + 1, float("nan"))])
    with pytest.raises(InputError):
        b.add_points("linky.papp", [(-5, 1.0)])
    assert not any(b.documents.values())  # all or nothing: not even the good ones
    assert not any(points for _, points in b.series.values())


async def test_documents_without_an_id_get_one_when_put(box: Box) -> None:
    b = InboxBatch()
    b.add_documents("org.example.tic", [{"v": 1}, {"v": 1}])
    await box.inbox.put(b)
    await box.inbox.put(b)  # the same batch twice: still two documents
    await merge(box)
    assert await box.documents.count("org.example.tic") == 2


def hostile_entry(box: Box, payload: bytes) -> tuple[bytes, bytes]:
    """What anyone holding the inbox public key (a hostile connector) can write."""
    key = crypto.random_key()
    return crypto.seal(box.header.inbox_public_key, key), crypto.aead_encrypt(
        key, payload, b"selfdata/inbox/v1"
    )


@pytest.mark.parametrize(
    "payload",
    [
        zstandard.compress(b"[" * 100_000 + b"]" * 100_000),  # nested beyond any stack
        zstandard.compress(b"not json"),
        zstandard.compress(b'{"documents": {"io.cozy.nope": [{}]}, "series": {}}'),
        zstandard.compress(b'{"documents": {}, "series": {"s": {"unit": "", "points": [[1]]}}}'),
        zstandard.compress(b'{"documents": {"org.example.tic": [{"no": "id"}]}, "series": {}}'),
        b"not zstd at all",
    ],
)
async def test_a_hostile_inbox_entry_is_reported_not_merged(
    box: Box, data_dir: DataDir, payload: bytes
) -> None:
    await box.inbox.put(batch(1))
    raw(
        data_dir.database,
        "INSERT INTO inbox(sealed_key, body) VALUES (?, ?)",
        *hostile_entry(box, payload),
    )
    report = await merge(box)
    assert (report.batches, report.failed) == (1, 1)
    assert await box.inbox.pending() == 1


async def test_a_zstd_bomb_in_the_inbox_is_never_inflated(box: Box, data_dir: DataDir) -> None:
    bomb = zstandard.compress(b"\0" * (256 * 1024 * 1024))
    assert len(bomb) < 100_000
    raw(
        data_dir.database,
        "INSERT INTO inbox(sealed_key, body) VALUES (?, ?)",
        *hostile_entry(box, bomb),
    )
    tracemalloc.start()
    try:
        report = await merge(box)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.failed == 1
    assert "inflates to more than" in report.problems[0]
    assert peak < 16 * 1024 * 1024


async def test_an_oversized_batch_is_refused_when_put(box: Box) -> None:
    b = InboxBatch()
    b.add_documents("org.example.tic", [{"_id": "big", "blob": "x" * (65 * 1024 * 1024)}])
    with pytest.raises(InputError, match="at most"):
        await box.inbox.put(b)
    assert await box.inbox.pending() == 0
