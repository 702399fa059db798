"""Streaming the records of a JSON export: numbers of any width, read once each."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from selfdata.connectors.json_stream import Readable, stream_items
from selfdata.connectors.safe_zip import SafeZip, ZipLimits
from selfdata.connectors.sinks import Problem

from .file_helpers import zip_bytes

WIDE = -80241446968629135069  # a real Takeout deviceTag: valid JSON, wider than 64 bits


def export(*records: str) -> bytes:
    return ('{"locations": [' + ", ".join(records) + "]}").encode()


def items(data: bytes | Readable, prefix: str = "locations.item") -> list[Any]:
    raw = io.BytesIO(data) if isinstance(data, bytes) else data
    return list(stream_items(raw, prefix, "Records.json"))


class Pipe:
    """Bytes that can be read once, like a stream without a file behind it."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1, /) -> bytes:
        return self._data.read(size)


def test_an_integer_wider_than_64_bits_is_kept_exact_and_the_records_after_it_come() -> None:
    got = items(export('{"n": 0, "acc": 1.5}', f'{{"n": 1, "deviceTag": {WIDE}}}', '{"n": 2}'))
    assert got == [{"n": 0, "acc": 1.5}, {"n": 1, "deviceTag": WIDE}, {"n": 2}]


def test_each_record_comes_once_though_the_file_is_read_again() -> None:
    records = [f'{{"n": {i}}}' for i in range(1000)]
    records[700] = f'{{"n": 700, "deviceTag": {WIDE}}}'
    assert [r["n"] for r in items(export(*records))] == list(range(1000))


def test_numbers_read_exactly_have_the_types_of_the_fast_reading() -> None:
    # Decimals become floats again: parsers and the store take int and float only
    fast = items(export('{"lat": 45.75, "acc": 12, "path": [[1.5, 2], {"x": -0.25}]}'))
    exact = items(
        export(f'{{"lat": 45.75, "acc": 12, "path": [[1.5, 2], {{"x": -0.25}}], "t": {WIDE}}}')
    )
    assert exact == [fast[0] | {"t": WIDE}]
    for value in (exact[0]["lat"], exact[0]["path"][0][0], exact[0]["path"][1]["x"]):
        assert type(value) is float
    assert type(exact[0]["acc"]) is int


@pytest.mark.parametrize(
    "width", [2**63, -(2**63), 2**64, 10**300], ids=["2**63", "-2**63", "2**64", "10**300"]
)
def test_every_integer_a_long_long_cannot_hold_is_read(width: int) -> None:
    assert items(f"[1, {width}, 3]".encode(), "item") == [1, width, 3]


@pytest.mark.parametrize("number", ["1e400", "1" + "0" * 400], ids=["1e400", "10**400"])
def test_a_number_no_float_can_hold_is_one_bad_record(number: str) -> None:
    got = items(export('{"n": 0}', f'{{"n": 1, "x": {number}}}', '{"n": 2}'))
    assert got[0] == {"n": 0}
    assert got[2] == {"n": 2}
    assert isinstance(got[1], Problem)
    assert got[1].where == "Records.json record 1"
    assert "beyond any float" in got[1].message


def test_damage_after_a_wide_integer_is_reported_where_it_is() -> None:
    data = export('{"n": 0}', f'{{"n": 1, "t": {WIDE}}}', '{"n": 2}')
    *good, problem = items(data[:-8])
    assert good == [{"n": 0}, {"n": 1, "t": WIDE}]
    assert isinstance(problem, Problem)
    assert problem.message.startswith("not valid JSON after record 2")


def test_a_stream_that_cannot_be_read_again_stops_at_the_wide_integer_and_says_why() -> None:
    *good, problem = items(Pipe(export('{"n": 0}', f'{{"t": {WIDE}}}', '{"n": 2}')))
    assert good == [{"n": 0}]
    assert isinstance(problem, Problem)
    assert "stopped at record 1" in problem.message
    assert "wider than 64 bits" in problem.message


def test_a_zip_member_is_read_again_from_its_start() -> None:
    records = [json.dumps({"n": i, "pad": "x" * 200}) for i in range(5000)]
    records[4000] = f'{{"n": 4000, "t": {WIDE}}}'
    member = export(*records)
    data = zip_bytes({"Takeout/Location History/Records.json": member})
    with SafeZip(io.BytesIO(data)) as archive, archive.open(archive.members[0]) as reader:
        got = list(stream_items(reader, "locations.item", "Records.json"))
        assert [r["n"] for r in got] == list(range(5000))
        assert got[4000]["t"] == WIDE
        # what was inflated twice counts twice towards the archive's cap
        assert archive.inflated > len(member) + 4000 * 200


def test_reading_a_member_again_stays_under_the_archive_cap() -> None:
    records = [json.dumps({"n": i, "pad": "x" * 200}) for i in range(5000)]
    records[4000] = f'{{"n": 4000, "t": {WIDE}}}'
    member = export(*records)
    data = zip_bytes({"Takeout/Location History/Records.json": member})
    limits = ZipLimits(max_total_bytes=len(member) * 3 // 2)
    with SafeZip(io.BytesIO(data), limits) as archive, archive.open(archive.members[0]) as reader:
        *got, problem = stream_items(reader, "locations.item", "Records.json")
    assert isinstance(problem, Problem)
    assert "the archive inflates past" in problem.message
    assert [r["n"] for r in got] == list(range(len(got)))  # each once, then the cap
    assert len(got) < 5000


def test_a_zip_member_goes_back_but_never_forward() -> None:
    content = b"[" + b"1," * 1000 + b"1]"
    data = zip_bytes({"a.json": content})
    with SafeZip(io.BytesIO(data)) as archive, archive.open(archive.members[0]) as reader:
        assert reader.read(100) == content[:100]
        assert reader.seek(10) == 10
        assert reader.read(5) == content[10:15]
        # forward, zipfile would inflate the bytes it skips past every cap
        with pytest.raises(io.UnsupportedOperation):
            reader.seek(500)
        with pytest.raises(io.UnsupportedOperation):
            reader.seek(0, io.SEEK_END)
