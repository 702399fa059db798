"""The consent ledger in-process: append, read back, and catch every kind of tampering.

Tampering is done as the holder of the SD card would: a plain ``sqlite3`` connection
rewrites the file while no box has it open; the box is then reopened, as after a restart.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from selfdata import ledger
from selfdata.box import Box
from selfdata.errors import InputError, Locked
from selfdata.ledger import Ledger
from selfdata.ledger.chain import GENESIS, entry_hash, entry_message, head_message
from selfdata.ledger.keys import verify_signature
from selfdata.paths import DataDir

from ...conftest import PASSPHRASE
from .conftest import ClosableBox


async def fill(box: Box, count: int = 5) -> None:
    for i in range(count):
        assert await ledger.append(box, "export", {"n": i, "to": f"disk {i}"}) == i + 1


def sql(data_dir: DataDir, statement: str, *params: Any) -> list[Any]:
    with sqlite3.connect(data_dir.database) as db:
        return db.execute(statement, params).fetchall()


async def reopened_verdict(data_dir: DataDir, *, unlock: bool) -> dict[str, Any]:
    box = await Box.open(data_dir)
    try:
        if unlock:
            await box.unlock(PASSPHRASE)
        return (await Ledger(box).verify()).to_json()
    finally:
        await box.close()


async def test_entries_come_back_newest_first_in_plain_words(box: Box) -> None:
    await ledger.append(box, "export", {"summary": "Exported everything to a USB disk"})
    await ledger.append(box, "backup", {"target": "sftp", "files": 3})
    entries = await Ledger(box).entries()
    assert [e.seq for e in entries] == [2, 1]
    assert entries[1].to_json()["summary"] == "Exported everything to a USB disk"
    assert entries[0].to_json()["summary"].startswith("Backup (")
    assert entries[0].details == {"target": "sftp", "files": 3}
    assert (await Ledger(box).verify()).ok


async def test_the_format_is_what_the_docs_say(box: Box, data_dir: DataDir) -> None:
    await fill(box, 3)
    rows = sql(data_dir, "SELECT seq, body, hash, sig FROM ledger ORDER BY seq")
    head = json.loads(sql(data_dir, "SELECT value FROM meta WHERE key = 'ledger.head'")[0][0])
    public = (await Ledger(box).key_info())["public_key"]
    import base64

    key = base64.b64decode(public)
    prev = GENESIS
    for seq, body, digest, sig in rows:
        assert entry_hash(prev, seq, body) == digest
        assert verify_signature(key, entry_message(seq, digest), sig)
        prev = digest
    assert head["seq"] == 3
    assert head["hash"] == prev.hex()
    assert head["public_key"] == public
    assert verify_signature(key, head_message(3, prev), base64.b64decode(head["sig"]))


async def test_the_signing_key_comes_back_from_the_recovery_key(
    closable: ClosableBox, data_dir: DataDir
) -> None:
    box = closable.box
    before = await Ledger(box).key_info()
    await closable.close()
    reopened = await Box.open(data_dir)
    try:
        await reopened.unlock(PASSPHRASE)
        assert await Ledger(reopened).key_info() == before
    finally:
        await reopened.close()


@pytest.mark.parametrize(
    "bad",
    [
        ("Export", {}),
        ("", {}),
        ("x" * 41, {}),
        ("ok", []),
        ("ok", {"a": float("nan")}),
        ("ok", {"a": object()}),
        ("ok", {"a": "x" * 70_000}),
        ("ok", {1: "non-string key"}),
        ("ok", "text"),
    ],
)
async def test_bad_kinds_and_details_are_refused(box: Box, bad: tuple[Any, Any]) -> None:
    kind, details = bad
    with pytest.raises(InputError):
        await ledger.append(box, kind, details)
    assert await Ledger(box).count() == 0


async def test_a_locked_box_queues_entries_and_chains_them_after_unlock(
    box: Box, data_dir: DataDir
) -> None:
    await fill(box, 2)
    box.lock()
    assert await ledger.append(box, "backup", {"target": "usb"}) is None
    with pytest.raises(Locked):
        await Ledger(box).entries()
    locked = await Ledger(box).verify()
    assert locked.ok
    assert not locked.deep
    assert locked.queued == 1
    await box.unlock(PASSPHRASE)
    entries = await Ledger(box).entries()
    assert [e.kind for e in entries] == ["backup", "export", "export"]
    assert entries[0].queued
    assert "while the box was locked" in entries[0].to_json()["summary"]
    assert (await Ledger(box).verify()).ok
    assert sql(data_dir, "SELECT count(*) FROM ledger_queue") == [(0,)]


async def test_a_forged_queued_entry_is_dropped_and_said(box: Box, data_dir: DataDir) -> None:
    await fill(box, 1)
    box.lock()
    sql(data_dir, "INSERT INTO ledger_queue(sealed) VALUES (?)", b"not sealed at all")
    await box.unlock(PASSPHRASE)
    entries = await Ledger(box).entries()
    assert entries[0].kind == "ledger"
    assert "could not be read" in entries[0].to_json()["summary"]
    assert (await Ledger(box).verify()).ok


# --- tampering: every way, locked and unlocked, with the seq where it breaks ------------------

Tamper = Callable[[DataDir], None]


def edit_body(d: DataDir) -> None:
    (body,) = sql(d, "SELECT body FROM ledger WHERE seq = 3")[0]
    sql(d, "UPDATE ledger SET body = ? WHERE seq = 3", body[:-1] + bytes([body[-1] ^ 1]))


def edit_and_rehash(d: DataDir) -> None:
    """The careful attacker: edits entry 3 and recomputes every hash after it."""
    rows = sql(d, "SELECT seq, body, hash FROM ledger ORDER BY seq")
    prev = GENESIS
    for seq, stored, _ in rows:
        body = stored[:-1] + bytes([stored[-1] ^ 1]) if seq == 3 else stored
        new = entry_hash(prev, seq, body)
        sql(d, "UPDATE ledger SET body = ?, hash = ? WHERE seq = ?", body, new, seq)
        prev = new


def delete_middle(d: DataDir) -> None:
    sql(d, "DELETE FROM ledger WHERE seq = 3")


def delete_and_renumber(d: DataDir) -> None:
    sql(d, "DELETE FROM ledger WHERE seq = 3")
    for seq in (4, 5):
        sql(d, "UPDATE ledger SET seq = ? WHERE seq = ?", seq - 1, seq)


def delete_last(d: DataDir) -> None:
    sql(d, "DELETE FROM ledger WHERE seq = 5")


def insert_entry(d: DataDir) -> None:
    for seq in (5, 4, 3):
        sql(d, "UPDATE ledger SET seq = ? WHERE seq = ?", seq + 1, seq)
    (body, digest, sig) = sql(d, "SELECT body, hash, sig FROM ledger WHERE seq = 2")[0]
    sql(d, "INSERT INTO ledger(seq, body, hash, sig) VALUES (3, ?, ?, ?)", body, digest, sig)


def swap_entries(d: DataDir) -> None:
    a = sql(d, "SELECT body, hash, sig FROM ledger WHERE seq = 3")[0]
    b = sql(d, "SELECT body, hash, sig FROM ledger WHERE seq = 4")[0]
    sql(d, "UPDATE ledger SET body = ?, hash = ?, sig = ? WHERE seq = 3", *b)
    sql(d, "UPDATE ledger SET body = ?, hash = ?, sig = ? WHERE seq = 4", *a)


def swap_bodies_only(d: DataDir) -> None:
    a = sql(d, "SELECT body FROM ledger WHERE seq = 3")[0][0]
    b = sql(d, "SELECT body FROM ledger WHERE seq = 4")[0][0]
    sql(d, "UPDATE ledger SET body = ? WHERE seq = 3", b)
    sql(d, "UPDATE ledger SET body = ? WHERE seq = 4", a)


def wrong_type(d: DataDir) -> None:
    sql(d, "UPDATE ledger SET body = 'text now' WHERE seq = 3")


TAMPERING: dict[str, tuple[Tamper, int]] = {
    "edited body": (edit_body, 3),
    "edited and re-hashed": (edit_and_rehash, 3),
    "deleted in the middle": (delete_middle, 3),
    "deleted and renumbered": (delete_and_renumber, 3),
    "deleted last": (delete_last, 5),
    "inserted": (insert_entry, 3),
    "reordered": (swap_entries, 3),
    "bodies swapped": (swap_bodies_only, 3),
    "column type changed": (wrong_type, 3),
}


@pytest.mark.parametrize("case", list(TAMPERING), ids=str)
@pytest.mark.parametrize("unlock", [False, True], ids=["locked", "unlocked"])
async def test_any_tampering_is_found_with_the_seq_where_it_breaks(
    closable: ClosableBox, data_dir: DataDir, case: str, unlock: bool
) -> None:
    box = closable.box
    await fill(box, 5)
    await closable.close()
    tamper, where = TAMPERING[case]
    tamper(data_dir)
    verdict = await reopened_verdict(data_dir, unlock=unlock)
    assert not verdict["ok"], verdict
    assert verdict["broken_at"] == where, verdict
    assert verdict["problem"]


async def test_a_ledger_re_signed_with_another_key_is_caught(
    closable: ClosableBox, data_dir: DataDir
) -> None:
    """Someone rebuilds the whole chain with their own key: only the box's key tells."""
    box = closable.box
    import base64

    import nacl.signing

    await fill(box, 3)
    genuine = (await Ledger(box).key_info())["public_key"]
    await closable.close()
    fake = nacl.signing.SigningKey.generate()
    prev = GENESIS
    for seq, body in sql(data_dir, "SELECT seq, body FROM ledger ORDER BY seq"):
        digest = entry_hash(prev, seq, body)
        sig = fake.sign(entry_message(seq, digest)).signature
        sql(data_dir, "UPDATE ledger SET hash = ?, sig = ? WHERE seq = ?", digest, sig, seq)
        prev = digest
    head = {
        "seq": 3,
        "hash": prev.hex(),
        "sig": base64.b64encode(fake.sign(head_message(3, prev)).signature).decode(),
        "public_key": base64.b64encode(bytes(fake.verify_key)).decode(),
    }
    sql(data_dir, "UPDATE meta SET value = ? WHERE key = 'ledger.head'", json.dumps(head))
    assert (await reopened_verdict(data_dir, unlock=True))["ok"] is False
    box2 = await Box.open(data_dir)
    try:  # locked, with the key the owner published: caught too
        verdict = await Ledger(box2).verify(pinned=base64.b64decode(genuine))
        assert not verdict.ok
    finally:
        await box2.close()


async def test_a_missing_head_is_caught(closable: ClosableBox, data_dir: DataDir) -> None:
    box = closable.box
    await fill(box, 2)
    await closable.close()
    sql(data_dir, "DELETE FROM meta WHERE key = 'ledger.head'")
    for unlock in (False, True):
        verdict = await reopened_verdict(data_dir, unlock=unlock)
        assert not verdict["ok"]


async def test_an_empty_ledger_verifies(box: Box) -> None:
    assert (await Ledger(box).verify()).ok


async def test_a_rollback_to_an_older_copy_is_caught_by_a_noted_head(
    closable: ClosableBox, data_dir: DataDir
) -> None:
    """An old copy of the whole file is authentic: only a head noted since tells."""
    import shutil

    box = closable.box
    await fill(box, 2)
    await closable.close()
    old = data_dir.root.parent / "old-copy.db"
    shutil.copy(data_dir.database, old)
    box = await Box.open(data_dir)
    try:
        await box.unlock(PASSPHRASE)
        await fill_from(box, 3, 2)
        noted = await Ledger(box).verify()
    finally:
        await box.close()
    witness = (noted.head_seq, bytes.fromhex(noted.head_hash))
    shutil.copy(old, data_dir.database)  # the attacker puts the old card image back
    box = await Box.open(data_dir)
    try:
        assert (await Ledger(box).verify()).ok  # authentic, just old
        verdict = await Ledger(box).verify(witness=witness)
        assert not verdict.ok
        assert verdict.broken_at == 3
        assert "rolled back" in (verdict.problem or "")
        await box.unlock(PASSPHRASE)
        assert not (await Ledger(box).verify(witness=(2, bytes(32)))).ok  # rewritten
    finally:
        await box.close()


async def fill_from(box: Box, first: int, count: int) -> None:
    for i in range(first, first + count):
        assert await ledger.append(box, "export", {"n": i}) == i


@pytest.mark.parametrize("text", ["", "3", "x:ab", "0:" + "00" * 32, "3:" + "zz" * 32, "3:abcd"])
def test_a_malformed_noted_head_is_refused(text: str) -> None:
    from selfdata.ledger import parse_witness

    with pytest.raises(InputError):
        parse_witness(text)
