"""An import run: good rows stored, bad rows reported, and running it again changes nothing.

Every test runs three times: records checked in this process, in the worker process big
imports use (selfdata.importers.worker), and by a worker reading the file itself (one
the CLI handed over, selfdata.handover); all must behave the same in every way.
"""

from __future__ import annotations

import json
import tempfile
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import IO

import pytest
from selfdata import crypto
from selfdata.doctypes import Doctype, resolve
from selfdata.importers import ImportReport, import_records
from selfdata.importers import run as import_run
from selfdata.importers.run import BATCH, MAX_REPORTED_ERRORS, OpenFile
from selfdata.store import Database, DocumentStore
from selfdata.vault import Keys

NOTES = resolve("org.example.notes")
OPERATIONS = resolve("io.cozy.bank.operations")


#: Where the tests' input comes from: streamed (False) or a file (True); see ``checking``.
FROM_FILE = {"now": False}
_FILES: list[IO[bytes]] = []


@pytest.fixture(
    autouse=True, params=["checked here", "checked in a worker", "read from its file by a worker"]
)
def checking(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    in_worker = request.param != "checked here"
    monkeypatch.setattr(import_run, "WORKER_FROM", 0 if in_worker else 1 << 62)
    monkeypatch.setattr(import_run.os, "cpu_count", lambda: 2)  # also on a one-core runner
    monkeypatch.setitem(FROM_FILE, "now", request.param == "read from its file by a worker")
    yield str(request.param)
    while _FILES:
        _FILES.pop().close()


async def stream(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for pos in range(0, len(data), size):
        yield data[pos : pos + size]


def source(data: bytes) -> AsyncIterator[bytes] | OpenFile:
    """``data`` as the test's mode gives it: streamed, or in a file read by its descriptor."""
    if not FROM_FILE["now"]:
        return stream(data)
    file = tempfile.TemporaryFile()  # noqa: SIM115 - closed by the fixture
    _FILES.append(file)
    file.write(data)
    file.seek(0)
    return OpenFile(file.fileno())


def jsonl(rows: list[dict[str, object]]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


async def run(
    documents: DocumentStore, doctype: Doctype, data: bytes, fmt: str = "jsonl", **kw: object
) -> ImportReport:
    return await import_records(documents, doctype, source(data), fmt, **kw)  # type: ignore[arg-type]


async def stored(
    documents: DocumentStore, doctype: str = "org.example.notes"
) -> list[dict[str, object]]:
    return [d async for d in documents.iterate(doctype)]


def counts(report: ImportReport) -> tuple[int, int, int, int, int]:
    return report.read, report.created, report.updated, report.unchanged, report.error_count


# --- the basics ---------------------------------------------------------------------------------


async def test_json_lines_are_stored_and_counted(documents: DocumentStore) -> None:
    report = await run(documents, NOTES, jsonl([{"n": i} for i in range(5)]))
    assert counts(report) == (5, 5, 0, 0, 0)
    assert sorted(d["n"] for d in await stored(documents)) == [0, 1, 2, 3, 4]  # type: ignore[type-var]
    assert report.to_json()["stored"] == 5


async def test_bad_rows_are_reported_with_their_lines_and_good_rows_kept(
    documents: DocumentStore,
) -> None:
    data = (
        b'{"n": 1}\nnot json\n[1]\n{"n": NaN}\n{"n": Infinity}\n{"_id": 5}\n{"_id": ""}\n{"n": 2}\n'
    )
    report = await run(documents, NOTES, data)
    assert counts(report) == (8, 2, 0, 0, 6)
    assert [e.line for e in report.errors] == [2, 3, 4, 5, 6, 7]
    assert "_id must be a non-empty string" in report.errors[4].message
    assert sorted(d["n"] for d in await stored(documents)) == [1, 2]  # type: ignore[type-var]


async def test_integers_beyond_64_bits_are_stored_exactly(documents: DocumentStore) -> None:
    # a real Google device tag, and a number only the exact parser reads right
    data = b'{"deviceTag": -80241446968629135069, "n": 1}\n{"n": 2, "big": [1e3, 123456789012345678901234567890]}\n'
    report = await run(documents, NOTES, data)
    assert counts(report) == (2, 2, 0, 0, 0)
    docs = sorted(await stored(documents), key=lambda d: d["n"])  # type: ignore[arg-type, return-value]
    assert docs[0]["deviceTag"] == -80241446968629135069
    assert docs[1]["big"] == [1000.0, 123456789012345678901234567890]


async def test_a_deeply_nested_record_is_an_error_row(documents: DocumentStore) -> None:
    deep = b'{"x": ' * 500 + b"1" + b"}" * 500
    report = await run(documents, NOTES, b'{"n": 1}\n' + deep + b'\n{"n": 2}\n')
    assert counts(report) == (3, 2, 0, 0, 1)
    assert report.errors[0].line == 2


async def test_a_french_bank_csv_is_coerced_validated_and_stored(documents: DocumentStore) -> None:
    data = (
        "date;label;amount;currency\n"
        "2024-01-02;Boulangerie Paul;-3,20;EUR\n"
        "2024-01-03;Salaire;2 100,00;EUR\n"
        "2024-01-04;Montant illisible;douze;EUR\n"
        ";Sans date;-1,00;EUR\n"
        "2024-01-05;Loyer;-1 234,56;EUR\n"
    ).encode("cp1252")
    report = await run(documents, OPERATIONS, data, "csv")
    assert counts(report) == (5, 3, 0, 0, 2)
    assert [e.line for e in report.errors] == [4, 5]
    assert "amount" in report.errors[0].message
    docs = await stored(documents, "io.cozy.bank.operations")
    assert sorted(d["amount"] for d in docs) == [-1234.56, -3.2, 2100.0]  # type: ignore[type-var]


async def test_a_csv_file_into_a_user_doctype_keeps_text_as_text(documents: DocumentStore) -> None:
    report = await run(documents, NOTES, b"a,b\n1,\n-12,50,3\n", "csv")
    assert report.created == 1
    assert report.error_count == 1
    assert (await stored(documents))[0] | {"_id": "", "_rev": ""} == {
        "_id": "",
        "_rev": "",
        "a": "1",
        "b": "",
    }


async def test_only_a_sample_of_errors_is_kept_but_all_are_counted(
    documents: DocumentStore,
) -> None:
    report = await run(documents, NOTES, b"oops\n" * 250 + b'{"n": 1}\n')
    assert report.error_count == 250
    assert len(report.errors) == MAX_REPORTED_ERRORS
    assert report.to_json()["errors"] == 250
    assert report.created == 1


async def test_progress_is_reported_per_batch_and_at_the_end(documents: DocumentStore) -> None:
    seen: list[int] = []
    await import_records(
        documents,
        NOTES,
        source(jsonl([{"n": i} for i in range(2 * BATCH + 5)])),
        "jsonl",
        progress=lambda r: seen.append(r.read),
    )
    assert seen == [BATCH, 2 * BATCH, 2 * BATCH + 5]


# --- idempotency --------------------------------------------------------------------------------------


async def test_importing_the_same_file_twice_changes_nothing(documents: DocumentStore) -> None:
    data = jsonl([{"n": i, "label": f"row {i}"} for i in range(300)])
    first = await run(documents, NOTES, data)
    before = {d["_id"]: d for d in await stored(documents)}
    second = await run(documents, NOTES, data)
    assert counts(first) == (300, 300, 0, 0, 0)
    assert counts(second) == (300, 0, 0, 300, 0)
    assert {d["_id"]: d for d in await stored(documents)} == before


async def test_identical_rows_in_one_file_stay_distinct_documents(documents: DocumentStore) -> None:
    data = jsonl([{"label": "coffee", "amount": -2}] * 3 + [{"label": "tea"}])
    assert counts(await run(documents, NOTES, data)) == (4, 4, 0, 0, 0)
    assert await documents.count("org.example.notes") == 4
    assert counts(await run(documents, NOTES, data)) == (4, 0, 0, 4, 0)
    assert await documents.count("org.example.notes") == 4


async def test_a_second_file_with_one_more_identical_row_adds_exactly_one(
    documents: DocumentStore,
) -> None:
    row = {"label": "coffee", "amount": -2}
    await run(documents, NOTES, jsonl([row] * 2))
    report = await run(documents, NOTES, jsonl([row] * 3))
    assert counts(report) == (3, 1, 0, 2, 0)
    assert await documents.count("org.example.notes") == 3


@pytest.mark.parametrize(
    "layout",
    [
        "all-identical",  # every batch is full of one row
        "one-then-two",  # once in the first batch, twice in the second
        "mixed",  # a handful of distinct rows repeated across batches
    ],
)
async def test_identical_rows_across_batches_stay_distinct_and_reimport_adds_none(
    documents: DocumentStore, layout: str
) -> None:
    filler = [{"filler": i} for i in range(BATCH - 1)]
    row = {"label": "coffee", "amount": -2}
    rows: list[dict[str, object]] = {
        "all-identical": [row] * (2 * BATCH + 500),
        "one-then-two": [row, *filler, row, row, *filler[:10]],
        "mixed": [{"label": f"item {i % 7}"} for i in range(2 * BATCH + 123)],
    }[layout]
    data = jsonl(rows)
    first = await run(documents, NOTES, data)
    assert counts(first) == (len(rows), len(rows), 0, 0, 0)
    docs = await stored(documents)
    assert len(docs) == len(rows)
    assert Counter(
        json.dumps({k: v for k, v in d.items() if k not in ("_id", "_rev")}, sort_keys=True)
        for d in docs
    ) == Counter(json.dumps(r, sort_keys=True) for r in rows)
    second = await run(documents, NOTES, data)
    assert counts(second) == (len(rows), 0, 0, len(rows), 0)
    assert await documents.count("org.example.notes") == len(rows)


async def test_content_ids_do_not_depend_on_the_key_order_of_a_row(
    documents: DocumentStore,
) -> None:
    await run(documents, NOTES, b'{"a": 1, "b": 2}\n')
    report = await run(documents, NOTES, b'{"a": 1, "b": 2}\n')
    assert report.unchanged == 1
    assert await documents.count("org.example.notes") == 1


# --- id_field and _id ------------------------------------------------------------------------------


async def test_an_id_field_names_the_documents(documents: DocumentStore) -> None:
    data = b"ref,amount\nA1,10\nB2,20\n"
    report = await run(documents, NOTES, data, "csv", id_field="ref")
    assert counts(report) == (2, 2, 0, 0, 0)
    assert (await documents.get("org.example.notes", "A1"))["amount"] == "10"


async def test_reimporting_with_an_id_field_updates_what_changed(documents: DocumentStore) -> None:
    await run(documents, NOTES, b"ref,amount\nA1,10\nB2,20\n", "csv", id_field="ref")
    report = await run(
        documents, NOTES, b"ref,amount\nA1,10\nB2,25\nC3,30\n", "csv", id_field="ref"
    )
    assert counts(report) == (3, 1, 1, 1, 0)
    b2 = await documents.get("org.example.notes", "B2")
    assert (b2["amount"], b2["_rev"]) == ("25", "2")


async def test_rows_without_a_value_in_the_id_field_are_errors(documents: DocumentStore) -> None:
    report = await run(
        documents, NOTES, b'{"ref": "a"}\n{"ref": ""}\n{"other": 1}\n{"ref": 7}\n', id_field="ref"
    )
    assert counts(report) == (4, 2, 0, 0, 2)
    assert [e.line for e in report.errors] == [2, 3]
    assert "ref" in report.errors[0].message
    assert (await documents.get("org.example.notes", "7"))["ref"] == 7


async def test_the_same_id_twice_in_one_file_keeps_the_last(documents: DocumentStore) -> None:
    report = await run(documents, NOTES, b'{"_id": "x", "v": 1}\n{"_id": "x", "v": 2}\n')
    assert report.created == 1
    assert (await documents.get("org.example.notes", "x"))["v"] == 2
    assert await documents.count("org.example.notes") == 1


async def test_a_rev_in_the_file_is_ignored(documents: DocumentStore) -> None:
    await run(documents, NOTES, b'{"_id": "x", "_rev": "99", "v": 1}\n')
    assert (await documents.get("org.example.notes", "x"))["_rev"] == "1"


# --- memory ------------------------------------------------------------------------------------------


async def peak_import_memory(tmp_path: Path, rows: int, *, traced: bool = True) -> int:
    db = await Database.open(tmp_path / f"mem-{rows}.db")
    documents = DocumentStore(db, Keys(bytearray(crypto.random_key())))
    line = b'{"date": "2024-01-02", "label": "CB CARREFOUR LYON %06d", "amount": -12.5}\n'

    async def generated() -> AsyncIterator[bytes]:
        per_chunk = 500
        for start in range(0, rows, per_chunk):
            yield b"".join(line % i for i in range(start, start + per_chunk))

    try:
        if traced:
            tracemalloc.start()
        report = await import_records(documents, OPERATIONS, generated(), "jsonl")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        await db.close()
    assert report.created == rows
    return peak


async def test_import_memory_does_not_grow_with_the_number_of_rows(tmp_path: Path) -> None:
    await peak_import_memory(tmp_path, 500, traced=False)  # one-time allocations, not measured
    small = await peak_import_memory(tmp_path, 2 * BATCH)
    large = await peak_import_memory(tmp_path, 10 * BATCH)
    # 16,000 more rows: growth of even ~50 bytes a row (an id kept per row) would show
    assert large < 1.3 * small, (small, large)


async def test_a_long_import_commits_in_transactions_that_double_and_checkpoints_at_its_end(
    documents: DocumentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    from selfdata.store import db as store_db
    from selfdata.store.documents import BulkWriter

    monkeypatch.setattr(BulkWriter, "COMMIT_ROWS", BATCH)
    monkeypatch.setattr(BulkWriter, "MAX_COMMIT_ROWS", 4 * BATCH)
    monkeypatch.setattr(BulkWriter, "COMMIT_SECONDS", 3600.0)  # rows decide, not the clock
    committed: list[int] = []
    commit = BulkWriter._commit

    async def counting(self: BulkWriter, err: BaseException | None = None) -> None:
        if self._tx is not None:
            committed.append(self._rows)
        await commit(self, err)

    monkeypatch.setattr(BulkWriter, "_commit", counting)
    settings: list[int] = []
    set_autocheckpoint = store_db.Database._set_autocheckpoint

    async def recording(self: Database, pages: int) -> None:
        settings.append(pages)
        await set_autocheckpoint(self, pages)

    monkeypatch.setattr(store_db.Database, "_set_autocheckpoint", recording)
    rows = [{"_id": f"r{i}", "n": i} for i in range(15 * BATCH + 7)]
    report = await import_records(documents, NOTES, source(jsonl(rows)), "jsonl")
    assert report.created == len(rows)
    assert committed == [BATCH, 2 * BATCH, 4 * BATCH, 4 * BATCH, 4 * BATCH, 7]
    assert settings == [store_db.BULK_CHECKPOINT_PAGES, 1000]
    db = documents._db
    async with db.transaction() as tx, tx.execute("PRAGMA wal_autocheckpoint") as cur:
        assert await cur.fetchone() == (1000,)
    assert await documents.count("org.example.notes") == len(rows)
