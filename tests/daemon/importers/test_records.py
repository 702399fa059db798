"""Record readers: every bad line becomes an error row, every good line a record, in bounded memory."""

from __future__ import annotations

import json
import tracemalloc
from collections.abc import AsyncIterator

import pytest
from selfdata.importers.records import MAX_RECORD, Record, RowError, read_records

Rows = list[tuple[int, Record | RowError]]


async def stream(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for pos in range(0, len(data), size):
        yield data[pos : pos + size]


async def read(data: bytes, fmt: str, size: int = 64 * 1024) -> Rows:
    return [row async for row in read_records(stream(data, size), fmt)]


def good(rows: Rows) -> list[tuple[int, Record]]:
    return [(n, r) for n, r in rows if not isinstance(r, RowError)]


def bad(rows: Rows) -> list[tuple[int, str]]:
    return [(n, r.message) for n, r in rows if isinstance(r, RowError)]


@pytest.fixture(params=[1, 2, 3, 7, 64 * 1024], ids=lambda s: f"chunks-of-{s}")
def chunk(request: pytest.FixtureRequest) -> int:
    """The same file, cut anywhere by the network: results must not depend on it."""
    return int(request.param)


# --- JSON Lines --------------------------------------------------------------------------------


async def test_json_lines_are_read_with_their_line_numbers(chunk: int) -> None:
    data = '{"a": 1}\n\n{"b": "é"}\n   \n{"c": [1, {"d": null}]}\n'.encode()
    assert await read(data, "jsonl", chunk) == [
        (1, {"a": 1}),
        (3, {"b": "é"}),
        (5, {"c": [1, {"d": None}]}),
    ]


async def test_json_lines_without_a_final_newline_keep_the_last_record(chunk: int) -> None:
    assert good(await read(b'{"a": 1}\n{"a": 2}', "jsonl", chunk)) == [(1, {"a": 1}), (2, {"a": 2})]


async def test_json_lines_with_crlf_and_a_bom_are_read(chunk: int) -> None:
    data = "\ufeff".encode() + b'{"a": 1}\r\n{"a": 2}\r\n'
    assert await read(data, "jsonl", chunk) == [(1, {"a": 1}), (2, {"a": 2})]


async def test_malformed_json_lines_are_errors_and_good_lines_are_kept(chunk: int) -> None:
    data = b'{"a": 1}\n{"a": \n[1, 2]\n"text"\n{"a": 2}\n{bad}\n{"a": 3}\n'
    rows = await read(data, "jsonl", chunk)
    assert good(rows) == [(1, {"a": 1}), (5, {"a": 2}), (7, {"a": 3})]
    assert [n for n, _ in bad(rows)] == [2, 3, 4, 6]
    messages = dict(bad(rows))
    assert "not valid JSON" in messages[2]
    assert "expected a JSON object, got list" in messages[3]
    assert "got str" in messages[4]


async def test_a_json_file_cut_mid_line_reports_the_last_line(chunk: int) -> None:
    rows = await read(b'{"a": 1}\n{"a": 2}\n{"a": "trunc', "jsonl", chunk)
    assert good(rows) == [(1, {"a": 1}), (2, {"a": 2})]
    assert [n for n, _ in bad(rows)] == [3]


async def test_a_json_file_cut_mid_utf8_character_is_an_error_row_not_a_crash(chunk: int) -> None:
    data = '{"a": 1}\n{"city": "Besançon"}\n{"city": "Saint-Étienne'.encode()
    cut = data[: data.rindex("É".encode()) + 1]  # the first byte of É only
    rows = await read(cut, "jsonl", chunk)
    assert good(rows) == [(1, {"a": 1}), (2, {"city": "Besançon"})]
    assert [n for n, _ in bad(rows)] == [3]


async def test_nul_bytes_in_json_lines_are_errors_for_their_lines_only(chunk: int) -> None:
    data = b'{"a": 1}\n{"a": "x\x00y"}\n\x00\x00\x00\n{"a": 2}\n'
    rows = await read(data, "jsonl", chunk)
    assert good(rows) == [(1, {"a": 1}), (4, {"a": 2})]
    assert [n for n, _ in bad(rows)] == [2, 3]


@pytest.mark.parametrize("depth", [200, 990, 5_000, 100_000])
async def test_deeply_nested_json_is_an_error_row(depth: int) -> None:
    data = (
        b'{"a": 1}\n'
        + b'{"x": ' * depth
        + b"1"
        + b"}" * depth
        + b"\n"
        + b"[" * depth
        + b'\n{"a": 2}\n'
    )
    rows = await read(data, "jsonl")
    assert good(rows) == [(1, {"a": 1}), (4, {"a": 2})]
    errors = bad(rows)
    assert [n for n, _ in errors] == [2, 3]
    assert "nested too deeply" in errors[0][1]


async def test_moderately_nested_json_is_fine() -> None:
    doc = {"a": {"b": {"c": {"d": [[[{"e": 1}]]]}}}}
    assert good(await read(json.dumps(doc).encode() + b"\n", "jsonl")) == [(1, doc)]


async def test_json_with_special_numbers_and_huge_integers_is_an_error_row() -> None:
    data = b'{"a": NaN}\n{"a": Infinity}\n{"a": ' + b"9" * 5000 + b'}\n{"a": 1e400}\n{"ok": 1}\n'
    rows = await read(data, "jsonl")
    # NaN, Infinity and 1e400 parse in Python but cannot be stored: the importer refuses
    # them (see test_run); the reader must at least not crash on the 5000-digit integer
    assert (3, True) in [(n, "not valid JSON" in m) for n, m in bad(rows)]
    assert good(rows)[-1] == (5, {"ok": 1})


async def test_a_5_mb_line_is_one_error_row_and_memory_stays_bounded() -> None:
    huge = b'{"blob": "' + b"A" * (5 * 1024 * 1024) + b'"}\n'
    data = b'{"a": 1}\n' + huge + b'{"a": 2}\n'
    tracemalloc.start()
    try:
        rows = [row async for row in read_records(stream(data), "jsonl")]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert good(rows) == [(1, {"a": 1}), (3, {"a": 2})]
    assert [(n, f"longer than {MAX_RECORD}" in m) for n, m in bad(rows)] == [(2, True)]
    assert peak < 4 * MAX_RECORD, peak  # never the whole 5 MB line (plus the test's copy)


async def test_a_long_line_delivered_in_one_piece_is_still_an_error_row() -> None:
    data = b'{"a": 1}\n{"blob": "' + b"A" * (2 * MAX_RECORD) + b'"}\n{"a": 2}\n'
    rows = await read(data, "jsonl", size=len(data))
    assert good(rows) == [(1, {"a": 1}), (3, {"a": 2})]
    assert [n for n, _ in bad(rows)] == [2]


async def test_a_huge_file_without_newlines_is_one_error_row() -> None:
    rows = await read(b"x" * (3 * MAX_RECORD), "jsonl")
    assert [n for n, _ in bad(rows)] == [1]
    assert good(rows) == []


async def test_windows_1252_french_text_is_decoded() -> None:
    data = '{"libellé": "Prélèvement EDF – échéance n°3", "montant": "12,50 €"}\n'.encode("cp1252")
    (row,) = await read(data, "jsonl")
    assert row == (1, {"libellé": "Prélèvement EDF – échéance n°3", "montant": "12,50 €"})


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
async def test_utf16_text_with_a_byte_order_mark_is_decoded(encoding: str, chunk: int) -> None:
    text = "Date\tLibellé\n03/01/2024\tPrélèvement\n"
    data = text.encode(encoding)
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = "\ufeff".encode(encoding) + data
    assert good(await read(data, "csv", chunk)) == [
        (2, {"Date": "03/01/2024", "Libellé": "Prélèvement"})
    ]


async def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown format"):
        await read(b"", "xml")


# --- CSV ----------------------------------------------------------------------------------------------


async def test_csv_rows_become_records_keyed_by_the_header(chunk: int) -> None:
    data = b"date,label,amount\n2024-01-02,Boulangerie,-3.20\n2024-01-03,Salaire,2100\n"
    assert await read(data, "csv", chunk) == [
        (2, {"date": "2024-01-02", "label": "Boulangerie", "amount": "-3.20"}),
        (3, {"date": "2024-01-03", "label": "Salaire", "amount": "2100"}),
    ]


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
async def test_csv_delimiters_are_sniffed_from_the_header(delimiter: str) -> None:
    d = delimiter
    data = f"date{d}libellé{d}montant\n2024-01-02{d}CB Carrefour, Lyon{d}-12,50\n".encode()
    assert good(await read(data, "csv")) == [
        (2, {"date": "2024-01-02", "libellé": "CB Carrefour, Lyon", "montant": "-12,50"})
    ]


async def test_quoted_csv_fields_hold_delimiters_quotes_and_newlines(chunk: int) -> None:
    data = (
        b"name,note,n\n"
        b'"Dupont, Jean","He said ""hi""",1\n'
        b'"Martin","line one\nline two\r\nline three",2\n'
        b'plain,"",3\n'
    )
    rows = await read(data, "csv", chunk)
    assert rows == [
        (2, {"name": "Dupont, Jean", "note": 'He said "hi"', "n": "1"}),
        (3, {"name": "Martin", "note": "line one\nline two\nline three", "n": "2"}),
        (6, {"name": "plain", "note": "", "n": "3"}),
    ]


async def test_a_multi_line_field_at_the_very_end_of_the_file_is_read(chunk: int) -> None:
    for data in (b'a,b\n1,"x\ny"\n', b'a,b\n1,"x\ny"', b'a,b\n1,"long first line\n"\n'):
        rows = await read(data, "csv", chunk)
        assert bad(rows) == []
        assert len(good(rows)) == 1


async def test_a_stray_quote_inside_an_unquoted_field_does_not_swallow_the_next_rows(
    chunk: int,
) -> None:
    data = b'label,amount\nPizza 12" large,9.50\nBread,1.20\nMilk,0.99\n'
    assert good(await read(data, "csv", chunk)) == [
        (2, {"label": 'Pizza 12" large', "amount": "9.50"}),
        (3, {"label": "Bread", "amount": "1.20"}),
        (4, {"label": "Milk", "amount": "0.99"}),
    ]


async def test_csv_with_crlf_a_bom_and_blank_lines_is_read(chunk: int) -> None:
    data = "\ufeff".encode() + b"a;b\r\n\r\n1;2\r\n\r\n3;4\r\n"
    assert await read(data, "csv", chunk) == [(3, {"a": "1", "b": "2"}), (5, {"a": "3", "b": "4"})]


async def test_windows_1252_csv_is_decoded(chunk: int) -> None:
    data = "Date;Libellé;Débit\n03/01/2024;Prélèvement échéance;1 234,56\n".encode("cp1252")
    assert good(await read(data, "csv", chunk)) == [
        (2, {"Date": "03/01/2024", "Libellé": "Prélèvement échéance", "Débit": "1 234,56"})
    ]


async def test_a_csv_row_with_extra_fields_is_an_error_and_the_others_are_kept(chunk: int) -> None:
    data = b"a,b\n1,2\n1,2,3\n4,5\n"
    rows = await read(data, "csv", chunk)
    assert good(rows) == [(2, {"a": "1", "b": "2"}), (4, {"a": "4", "b": "5"})]
    assert bad(rows) == [(3, "3 fields but the header names 2")]


async def test_a_csv_row_with_fewer_fields_keeps_what_it_has(chunk: int) -> None:
    assert good(await read(b"a,b,c\n1,2\n", "csv", chunk)) == [(2, {"a": "1", "b": "2"})]


@pytest.mark.parametrize(
    ("header", "problem"),
    [(b"a,b,a", "names a column twice"), (b"a,,c", "empty column name"), (b"a, a ,b", "twice")],
)
async def test_a_csv_header_with_duplicate_or_empty_names_is_one_clear_error(
    header: bytes, problem: str
) -> None:
    rows = await read(header + b"\n1,2,3\n4,5,6\n", "csv")
    assert len(rows) == 1
    ((line, message),) = bad(rows)
    assert line == 1
    assert problem in message


async def test_a_csv_file_cut_mid_quoted_field_reports_the_last_row(chunk: int) -> None:
    data = b'a,b\n1,"ok"\n2,"this field never ends\nand goes on'
    rows = await read(data, "csv", chunk)
    assert good(rows) == [(2, {"a": "1", "b": "ok"})]
    assert [(n, "unterminated quoted field" in m) for n, m in bad(rows)] == [(3, True)]


async def test_a_csv_file_cut_mid_line_reports_the_last_row(chunk: int) -> None:
    data = b"date,label,amount\n2024-01-02,Bread,1.20\n2024-01-03,Mi"
    rows = await read(data, "csv", chunk)
    assert good(rows) == [(2, {"date": "2024-01-02", "label": "Bread", "amount": "1.20"})]
    assert [(n, "ends in the middle of a row" in m) for n, m in bad(rows)] == [(3, True)]


async def test_a_csv_file_cut_mid_utf8_character_is_an_error_row_not_a_crash(chunk: int) -> None:
    data = "ville,cp\nBesançon,25000\nSaint-Étienne,42000\n".encode()
    cut = data[: data.index("É".encode()) + 1]
    rows = await read(cut, "csv", chunk)
    assert good(rows) == [(2, {"ville": "Besançon", "cp": "25000"})]
    assert [n for n, _ in bad(rows)] == [3]


async def test_nul_bytes_in_csv_are_errors_for_their_rows_only(chunk: int) -> None:
    data = b"a,b\n1,2\n3,x\x00y\n5,6\n"
    rows = await read(data, "csv", chunk)
    assert good(rows) == [(2, {"a": "1", "b": "2"}), (4, {"a": "5", "b": "6"})]
    assert [n for n, _ in bad(rows)] == [3]


async def test_a_nul_byte_in_the_csv_header_is_a_clear_error() -> None:
    rows = await read(b"a,\x00b\n1,2\n", "csv")
    assert [n for n, _ in bad(rows)] == [1]
    assert good(rows) == []


async def test_an_unterminated_quote_does_not_swallow_the_whole_file() -> None:
    lines = [b"a,b", b'1,"never closed'] + [b"%d,x" % i for i in range(100_000)]
    rows = await read(b"\n".join(lines) + b"\n", "csv")
    errors = bad(rows)
    assert errors
    assert errors[0][0] == 2
    assert len(good(rows)) > 90_000  # the damage is bounded


async def test_a_csv_header_only_file_has_no_records() -> None:
    assert await read(b"a,b,c\n", "csv") == []
    assert await read(b"", "csv") == []
    assert await read(b"\n\n", "csv") == []


async def test_a_single_column_csv_is_read() -> None:
    assert good(await read(b"amount\n1\n2\n", "csv")) == [
        (2, {"amount": "1"}),
        (3, {"amount": "2"}),
    ]


async def test_integers_beyond_64_bits_are_read_exactly() -> None:
    big = 123456789012345678901234567890
    rows = await read(
        b'{"id": ' + str(big).encode() + b', "x": 1.5}\n{"n": -9223372036854775809}\n', "jsonl"
    )
    assert good(rows) == [(1, {"id": big, "x": 1.5}), (2, {"n": -9223372036854775809})]
