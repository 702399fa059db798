"""Documents: CRUD with ``_rev`` conflicts, complete paging, and nothing readable on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from selfdata.doctypes import resolve
from selfdata.errors import Conflict, InputError, NotFound, ValidationError
from selfdata.store import Database, DocumentStore
from selfdata.vault import Keys

NOTES = resolve("org.example.notes")
OPERATIONS = resolve("io.cozy.bank.operations")


def strip(doc: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in doc.items() if k != "_rev"}


# --- CRUD ---------------------------------------------------------------------------------


async def test_a_created_document_reads_back_with_its_id_and_first_rev(
    documents: DocumentStore,
) -> None:
    result = await documents.create(NOTES, {"title": "café", "n": 1, "nested": {"a": [1, 2.5]}})
    assert result.created
    assert result.changed
    assert result.rev == "1"
    doc = await documents.get("org.example.notes", result.id)
    assert doc == {
        "_id": result.id,
        "_rev": "1",
        "title": "café",
        "n": 1,
        "nested": {"a": [1, 2.5]},
    }


async def test_create_keeps_a_given_id_and_ignores_a_given_rev(documents: DocumentStore) -> None:
    result = await documents.create(NOTES, {"_id": "mine", "_rev": "42", "x": 1})
    assert (result.id, result.rev) == ("mine", "1")
    assert (await documents.get("org.example.notes", "mine"))["_rev"] == "1"


async def test_creating_an_existing_id_is_a_conflict(documents: DocumentStore) -> None:
    await documents.create(NOTES, {"_id": "a", "x": 1})
    with pytest.raises(Conflict):
        await documents.create(NOTES, {"_id": "a", "x": 2})
    assert (await documents.get("org.example.notes", "a"))["x"] == 1


async def test_an_update_with_the_current_rev_bumps_it(documents: DocumentStore) -> None:
    await documents.create(NOTES, {"_id": "a", "x": 1})
    result = await documents.update(NOTES, "a", {"x": 2, "_rev": "ignored"}, "1")
    assert (result.rev, result.created, result.changed) == ("2", False, True)
    assert await documents.get("org.example.notes", "a") == {"_id": "a", "_rev": "2", "x": 2}


@pytest.mark.parametrize("stale", ["0", "2", "", None, "1.0", " 1"])
async def test_an_update_with_a_stale_or_missing_rev_is_a_conflict(
    documents: DocumentStore, stale: str | None
) -> None:
    await documents.create(NOTES, {"_id": "a", "x": 1})
    with pytest.raises(Conflict):
        await documents.update(NOTES, "a", {"x": 2}, stale)
    assert await documents.get("org.example.notes", "a") == {"_id": "a", "_rev": "1", "x": 1}


async def test_two_writers_with_the_same_rev_one_wins_one_conflicts(
    documents: DocumentStore,
) -> None:
    await documents.create(NOTES, {"_id": "a", "x": 0})
    await documents.update(NOTES, "a", {"x": "first"}, "1")
    with pytest.raises(Conflict):
        await documents.update(NOTES, "a", {"x": "second"}, "1")
    assert (await documents.get("org.example.notes", "a"))["x"] == "first"


async def test_an_update_that_changes_nothing_keeps_the_rev(documents: DocumentStore) -> None:
    await documents.create(NOTES, {"_id": "a", "x": 1})
    result = await documents.update(NOTES, "a", {"x": 1}, "1")
    assert (result.rev, result.changed) == ("1", False)


async def test_updating_a_missing_document_with_a_rev_is_not_found(
    documents: DocumentStore,
) -> None:
    with pytest.raises(NotFound):
        await documents.update(NOTES, "ghost", {"x": 1}, "1")


async def test_updating_a_missing_document_without_a_rev_creates_it(
    documents: DocumentStore,
) -> None:
    result = await documents.update(NOTES, "new", {"x": 1}, None)
    assert result.created
    assert result.rev == "1"


async def test_a_deleted_document_is_gone(documents: DocumentStore) -> None:
    await documents.create(NOTES, {"_id": "a", "x": 1})
    await documents.delete("org.example.notes", "a", "1")
    with pytest.raises(NotFound):
        await documents.get("org.example.notes", "a")
    with pytest.raises(NotFound):
        await documents.delete("org.example.notes", "a")
    assert await documents.count("org.example.notes") == 0


async def test_deleting_with_a_stale_rev_is_a_conflict(documents: DocumentStore) -> None:
    await documents.create(NOTES, {"_id": "a", "x": 1})
    await documents.update(NOTES, "a", {"x": 2}, "1")
    with pytest.raises(Conflict):
        await documents.delete("org.example.notes", "a", "1")
    await documents.delete("org.example.notes", "a", "2")


async def test_a_recreated_document_does_not_reuse_an_old_body(documents: DocumentStore) -> None:
    await documents.create(NOTES, {"_id": "a", "x": 1})
    await documents.delete("org.example.notes", "a")
    await documents.create(NOTES, {"_id": "a", "x": 2})
    assert await documents.get("org.example.notes", "a") == {"_id": "a", "_rev": "1", "x": 2}


async def test_get_of_an_unknown_id_or_doctype_is_not_found(documents: DocumentStore) -> None:
    await documents.create(NOTES, {"_id": "a"})
    with pytest.raises(NotFound):
        await documents.get("org.example.notes", "b")
    with pytest.raises(NotFound):
        await documents.get("org.example.other", "a")


async def test_the_same_id_in_two_doctypes_is_two_documents(documents: DocumentStore) -> None:
    other = resolve("org.example.other")
    await documents.create(NOTES, {"_id": "a", "in": "notes"})
    await documents.create(other, {"_id": "a", "in": "other"})
    assert (await documents.get("org.example.notes", "a"))["in"] == "notes"
    assert (await documents.get("org.example.other", "a"))["in"] == "other"


async def test_a_known_doctype_validates_against_its_schema(documents: DocumentStore) -> None:
    with pytest.raises(ValidationError):
        await documents.create(OPERATIONS, {"amount": "twelve", "date": "2024-01-01"})
    with pytest.raises(ValidationError):
        await documents.create(OPERATIONS, {"label": "no amount nor date"})
    ok = await documents.create(OPERATIONS, {"amount": -12.5, "date": "2024-01-01"})
    with pytest.raises(ValidationError):
        await documents.update(OPERATIONS, ok.id, {"amount": None, "date": "2024-01-01"}, "1")
    assert await documents.count("io.cozy.bank.operations") == 1


async def test_put_many_upserts_in_one_go_and_the_last_duplicate_wins(
    documents: DocumentStore,
) -> None:
    results = await documents.put_many(
        NOTES, [{"_id": "a", "v": 1}, {"_id": "b", "v": 1}, {"_id": "a", "v": 2}]
    )
    assert [(r.id, r.rev, r.created) for r in results] == [
        ("a", "1", True),
        ("b", "1", True),
        ("a", "2", False),
    ]
    assert (await documents.get("org.example.notes", "a"))["v"] == 2
    assert await documents.count("org.example.notes") == 2


# --- listing ------------------------------------------------------------------------------------


async def test_doctypes_lists_every_doctype_with_its_count(documents: DocumentStore) -> None:
    assert await documents.doctypes() == {}
    for i in range(3):
        await documents.create(NOTES, {"i": i})
    await documents.create(OPERATIONS, {"amount": 1, "date": "2024-01-01"})
    await documents.ensure_doctype(resolve("org.example.empty"))
    assert await documents.doctypes() == {
        "io.cozy.bank.operations": 1,
        "org.example.empty": 0,
        "org.example.notes": 3,
    }
    assert await documents.exists("org.example.empty")
    assert not await documents.exists("org.example.never")


async def test_paging_with_the_cursor_returns_every_document_once_in_write_order(
    documents: DocumentStore,
) -> None:
    ids = [(await documents.create(NOTES, {"i": i})).id for i in range(250)]
    await documents.create(resolve("org.example.other"), {"not": "mine"})
    seen: list[str] = []
    cursor = 0
    pages = 0
    while True:
        docs, cursor = await documents.page("org.example.notes", after=cursor, limit=100)  # type: ignore[assignment]
        pages += 1
        seen += [d["_id"] for d in docs]
        if cursor is None:
            break
    assert seen == ids
    assert pages == 3


async def test_an_exact_last_page_says_there_is_no_more(documents: DocumentStore) -> None:
    for i in range(10):
        await documents.create(NOTES, {"i": i})
    docs, cursor = await documents.page("org.example.notes", limit=10)
    assert len(docs) == 10
    assert cursor is None
    docs, cursor = await documents.page("org.example.notes", limit=5)
    assert len(docs) == 5
    assert cursor is not None


async def test_paging_is_stable_while_documents_are_added_and_deleted(
    documents: DocumentStore,
) -> None:
    ids = [(await documents.create(NOTES, {"i": i})).id for i in range(30)]
    first, cursor = await documents.page("org.example.notes", limit=10)
    assert cursor is not None
    # meanwhile: a new document arrives, one already seen and one not yet seen are deleted
    late = (await documents.create(NOTES, {"i": "late"})).id
    await documents.delete("org.example.notes", ids[0])
    await documents.delete("org.example.notes", ids[15])
    rest: list[str] = []
    while cursor is not None:
        docs, cursor = await documents.page("org.example.notes", after=cursor, limit=10)
        rest += [d["_id"] for d in docs]
    assert [d["_id"] for d in first] == ids[:10]
    assert rest == [*ids[10:15], *ids[16:], late]  # nothing skipped, nothing twice


@pytest.mark.parametrize("limit", [0, -1])
async def test_a_page_of_no_documents_is_refused(documents: DocumentStore, limit: int) -> None:
    await documents.create(NOTES, {"i": 1})
    with pytest.raises(InputError):
        await documents.page("org.example.notes", limit=limit)


async def test_iterate_streams_every_document_in_write_order(documents: DocumentStore) -> None:
    await documents.put_many(NOTES, [{"_id": f"d{i}", "i": i} for i in range(1234)])
    docs = [d async for d in documents.iterate("org.example.notes")]
    assert [d["i"] for d in docs] == list(range(1234))
    assert all(d["_rev"] == "1" for d in docs)
    assert [d async for d in documents.iterate("org.example.nothing")] == []


# --- nothing in clear ------------------------------------------------------------------------------


async def test_ids_doctype_names_and_contents_never_appear_in_the_sqlite_files(
    tmp_path: Path, keys: Keys
) -> None:
    db_path = tmp_path / "canary.db"
    canaries = {
        "doctype": "org.canarydoctype.secretthings",
        "id": "canary-document-id-7f3a",
        "value": "canary-value-9b1c",
        "key": "canaryfieldname",
    }

    def leaks() -> list[str]:
        found = []
        for path in tmp_path.glob("canary.db*"):  # the file, its -wal and -shm
            raw = path.read_bytes()
            for what, text in canaries.items():
                for encoded in (
                    text.encode(),
                    text.encode("utf-16-le"),
                    text.encode().hex().encode(),
                ):
                    if encoded in raw:
                        found.append(f"{what} in {path.name}")
        return found

    db = await Database.open(db_path)
    try:
        documents = DocumentStore(db, keys)
        doctype = resolve(canaries["doctype"])
        await documents.create(doctype, {"_id": canaries["id"], canaries["key"]: canaries["value"]})
        await documents.put_many(
            doctype, [{"_id": f"{canaries['id']}-{i}", "v": i} for i in range(50)]
        )
        await documents.update(
            doctype, canaries["id"], {canaries["key"]: canaries["value"] * 2}, "1"
        )
        assert (tmp_path / "canary.db-wal").stat().st_size > 0
        assert leaks() == []
    finally:
        await db.close()  # checkpointed into the main file
    assert leaks() == []


def test_the_hand_joined_names_are_the_generic_names(documents: DocumentStore) -> None:
    keys = documents._keys
    dh = documents.doctype_hash("org.example.notes")
    assert documents.id_hash(dh, "é/1") == keys.name("document", dh, "é/1")
    canonical = b'{"a":1}'
    assert (
        documents.content_id("org.example.notes", canonical, 3)
        == keys.name("content", "org.example.notes", canonical, "3").hex()
    )
