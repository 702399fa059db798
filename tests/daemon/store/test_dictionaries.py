"""Compression dictionaries: trained on a doctype's first big write, kept encrypted,
bound to their doctype, gone with its last document, and never a way to lose a record."""

from __future__ import annotations

from pathlib import Path

import pytest
import zstandard
from selfdata.doctypes import resolve
from selfdata.errors import IntegrityError, StoreError
from selfdata.store import Database, DocumentStore
from selfdata.store.dictionaries import TRAIN_FROM, checked_dictionary, train
from selfdata.vault import Keys

from ._util import flipped

NOTES = resolve("org.example.notes")
OTHER = resolve("org.example.other")
CANARY = "CANARY-dictionary-7f3a"


def notes(count: int, start: int = 0) -> list[dict[str, object]]:
    return [
        {
            "_id": f"n{i}",
            "label": f"PRLV SEPA {CANARY} {i % 7}",
            "amount": -i / 100,
            "currency": "EUR",
            "category": ["food", "rent", "energy"][i % 3],
        }
        for i in range(start, start + count)
    ]


def dictionary_rows(raw_sql) -> list[tuple[int, bytes]]:  # type: ignore[no-untyped-def]
    return raw_sql("SELECT id, doctype FROM dictionaries")


async def test_a_doctypes_first_big_write_trains_its_dictionary_and_shrinks_it(
    documents: DocumentStore, raw_sql
) -> None:
    await documents.put_many(NOTES, notes(TRAIN_FROM - 1))
    assert dictionary_rows(raw_sql) == []  # too few to learn from
    before = raw_sql("SELECT avg(length(body)) FROM documents")[0][0]
    await documents.put_many(NOTES, notes(TRAIN_FROM, start=TRAIN_FROM))
    ((dict_id, dh),) = dictionary_rows(raw_sql)
    assert dh == documents.doctype_hash(NOTES.name)
    after = raw_sql("SELECT avg(length(body)) FROM documents WHERE seq >= ?", TRAIN_FROM)[0][0]
    assert after < before / 2
    assert (await documents.get(NOTES.name, "n1500"))["label"] == f"PRLV SEPA {CANARY} 2"
    assert (await documents.get(NOTES.name, "n3"))["amount"] == -0.03
    # later writes, small ones too, use it; another big one does not train another
    await documents.put_many(NOTES, notes(TRAIN_FROM, start=5000))
    await documents.create(NOTES, {"_id": "alone", "label": f"PRLV SEPA {CANARY} 1" * 3})
    assert dictionary_rows(raw_sql) == [(dict_id, dh)]
    assert (await documents.get(NOTES.name, "alone"))["_rev"] == "1"


async def test_a_dictionary_is_stored_encrypted(
    documents: DocumentStore, db_path: Path, raw_sql
) -> None:
    await documents.put_many(NOTES, notes(2 * TRAIN_FROM))
    ((body,),) = raw_sql("SELECT body FROM dictionaries")
    assert CANARY.encode() not in body
    for path in db_path.parent.glob(db_path.name + "*"):  # the WAL too
        assert CANARY.encode() not in path.read_bytes(), path


async def test_a_tampered_or_moved_dictionary_fails_authentication(
    documents: DocumentStore, db: Database, keys: Keys, raw_sql
) -> None:
    await documents.put_many(NOTES, notes(TRAIN_FROM))
    await documents.create(OTHER, {"_id": "x"})
    ((seq, body),) = raw_sql("SELECT seq, body FROM dictionaries")
    raw_sql("UPDATE dictionaries SET body = ? WHERE seq = ?", flipped(body, 40), seq)
    fresh = DocumentStore(db, keys)
    with pytest.raises(IntegrityError, match="failed authentication"):
        await fresh.get(NOTES.name, "n1")
    raw_sql("UPDATE dictionaries SET body = ?, doctype = ? WHERE seq = ?", body,
            documents.doctype_hash(OTHER.name), seq)  # fmt: skip
    with pytest.raises(IntegrityError, match="failed authentication"):
        await DocumentStore(db, keys).get(NOTES.name, "n1")


async def test_a_missing_dictionary_is_a_clear_integrity_error(
    documents: DocumentStore, db: Database, keys: Keys, raw_sql
) -> None:
    await documents.put_many(NOTES, notes(TRAIN_FROM))
    raw_sql("DELETE FROM dictionaries")
    with pytest.raises(IntegrityError, match="compression dictionary the store lacks"):
        await DocumentStore(db, keys).get(NOTES.name, "n7")


async def test_a_store_reads_what_another_wrote_with_a_dictionary_made_since(
    documents: DocumentStore, db: Database, keys: Keys
) -> None:
    reader = DocumentStore(db, keys)
    assert await reader.count(NOTES.name) == 0
    await reader.load_dictionaries()  # none yet
    await documents.put_many(NOTES, notes(TRAIN_FROM))
    assert (await reader.get(NOTES.name, "n9"))["category"] == "food"
    page, _ = await reader.page(NOTES.name, limit=3)
    assert [d["_id"] for d in page] == ["n0", "n1", "n2"]


async def test_the_dictionary_goes_with_the_doctypes_last_document(
    documents: DocumentStore, raw_sql
) -> None:
    await documents.put_many(NOTES, notes(TRAIN_FROM))
    await documents.put_many(OTHER, [d | {"_id": f"o{i}"} for i, d in enumerate(notes(TRAIN_FROM))])
    assert len(dictionary_rows(raw_sql)) == 2
    for doc in notes(TRAIN_FROM)[:-1]:
        await documents.delete(NOTES.name, str(doc["_id"]))
    assert len(dictionary_rows(raw_sql)) == 2  # one document still needs it
    await documents.delete(NOTES.name, f"n{TRAIN_FROM - 1}")
    ((_, dh),) = dictionary_rows(raw_sql)
    assert dh == documents.doctype_hash(OTHER.name)
    # the doctype starts again from nothing: a new big write trains a new one
    await documents.put_many(NOTES, notes(TRAIN_FROM))
    assert len(dictionary_rows(raw_sql)) == 2
    assert (await documents.get(NOTES.name, "n5"))["amount"] == -0.05


async def test_a_dictionary_id_drawn_twice_is_a_clear_error_and_stores_nothing(
    documents: DocumentStore, db: Database, raw_sql
) -> None:
    await documents.put_many(NOTES, notes(TRAIN_FROM))
    ((dict_id,),) = raw_sql("SELECT id FROM dictionaries")
    clash = zstandard.train_dictionary(
        16 * 1024, [str(d).encode() for d in notes(TRAIN_FROM)], dict_id=dict_id
    ).as_bytes()
    await documents.ensure_doctype(OTHER)
    with pytest.raises(StoreError, match="drew the same id"):
        async with db.transaction() as tx:
            await documents.add_dictionary(tx, documents.doctype_hash(OTHER.name), clash)
    assert len(raw_sql("SELECT id FROM dictionaries")) == 1
    assert await documents.count(NOTES.name) == TRAIN_FROM


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a zstd dictionary at all",
        b"\x37\xa4\x30\xec" + b"\x01\x00\x00\x00" + b"\xff" * 200,  # the magic, then garbage
        "a str, not bytes",
        b"x" * (65 * 1024),
    ],
)
def test_a_malformed_dictionary_is_refused(data: object) -> None:
    with pytest.raises(StoreError, match="malformed compression dictionary"):
        checked_dictionary(data)


def test_a_dictionary_with_a_reserved_id_is_refused() -> None:
    samples = [str(d).encode() for d in notes(TRAIN_FROM)]
    reserved = zstandard.train_dictionary(16 * 1024, samples, dict_id=7).as_bytes()
    with pytest.raises(StoreError, match="malformed compression dictionary"):
        checked_dictionary(reserved)
    trained = train(samples)
    assert trained is not None
    dict_id, _ = checked_dictionary(trained)
    assert 32_768 <= dict_id < 2**31


def test_too_few_or_too_small_samples_train_nothing() -> None:
    assert train([b'{"a":1}'] * (TRAIN_FROM - 1)) is None
    assert train([b"{}"] * (2 * TRAIN_FROM)) is None  # a few bytes each: nothing to learn


async def test_a_flipped_byte_anywhere_in_a_dictionary_is_detected(
    documents: DocumentStore, db: Database, keys: Keys, raw_sql
) -> None:
    await documents.put_many(NOTES, notes(TRAIN_FROM))
    ((seq, body),) = raw_sql("SELECT seq, body FROM dictionaries")
    # nonce, start and end of the ciphertext, tag, and every 61st byte between
    positions = sorted({*range(64), *range(len(body) - 64, len(body)), *range(0, len(body), 61)})
    for position in positions:
        raw_sql("UPDATE dictionaries SET body = ? WHERE seq = ?", flipped(body, position), seq)
        with pytest.raises(IntegrityError):
            await DocumentStore(db, keys).get(NOTES.name, "n1")
    raw_sql("UPDATE dictionaries SET body = ? WHERE seq = ?", body, seq)
    assert (await DocumentStore(db, keys).get(NOTES.name, "n1"))["amount"] == -0.01


async def test_a_store_forgets_its_dictionaries_when_asked_and_reads_them_again(
    documents: DocumentStore,
) -> None:
    await documents.put_many(NOTES, notes(TRAIN_FROM))
    trained = await documents.dictionary(NOTES.name)
    documents.clear_cache()  # what locking the box does
    assert documents._dictionaries.newest(documents.doctype_hash(NOTES.name)) is None
    assert (await documents.get(NOTES.name, "n2"))["category"] == "energy"
    assert await documents.dictionary(NOTES.name) == trained
