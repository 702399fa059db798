"""CSV cells become the JSON types a known doctype asks for, French number formats included."""

from __future__ import annotations

from typing import Any

import pytest
from selfdata.doctypes import resolve
from selfdata.importers.coerce import coerce_to_schema

SCHEMA: dict[str, Any] = {
    "properties": {
        "amount": {"type": "number"},
        "count": {"type": "integer"},
        "active": {"type": "boolean"},
        "label": {"type": "string"},
    }
}


def amount(text: str) -> object:
    return coerce_to_schema({"amount": text}, SCHEMA)["amount"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12", 12),
        ("-12,50", -12.5),
        ("+3,2", 3.2),
        ("1 234,56", 1234.56),
        ("-1 234 567,89", -1234567.89),
        ("1\u00a0234,56", 1234.56),  # no-break space, as LibreOffice writes it
        ("1\u202f234,56", 1234.56),  # narrow no-break space, as French locales write it
        ("1.234,56", 1234.56),
        ("1.234.567", 1234567),
        ("12.50", 12.5),
        ("0,07", 0.07),
        (" 42 ", 42),
        ("1 234", 1234),
    ],
)
def test_numbers_are_understood_in_french_and_english_forms(text: str, expected: float) -> None:
    value = amount(text)
    assert value == pytest.approx(expected)
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    "text", ["12,50 €", "abc", "1,234.56", "1 23,4", "--1", "1e5", "12.", ",5", "NaN"]
)
def test_text_that_is_not_a_number_is_left_for_validation_to_report(text: str) -> None:
    assert amount(text) == text


@pytest.mark.parametrize(
    ("text", "expected"), [("12", 12), ("1 200", 1200), ("12,0", 12), ("12,5", "12,5")]
)
def test_integers_accept_only_whole_numbers(text: str, expected: object) -> None:
    assert coerce_to_schema({"count": text}, SCHEMA)["count"] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("oui", True),
        ("Non", False),
        ("TRUE", True),
        ("0", False),
        ("1", True),
        ("vrai", True),
        ("faux", False),
        ("peut-être", "peut-être"),
    ],
)
def test_booleans_are_understood_in_french_and_english(text: str, expected: object) -> None:
    assert coerce_to_schema({"active": text}, SCHEMA)["active"] == expected


def test_empty_cells_are_dropped_and_strings_left_alone() -> None:
    record = {"amount": "", "label": "12,50", "other": "x", "count": 3, "nested": {"a": "1"}}
    assert coerce_to_schema(record, SCHEMA) == {
        "label": "12,50",
        "other": "x",
        "count": 3,
        "nested": {"a": "1"},
    }


def test_a_french_bank_export_row_becomes_a_valid_operation() -> None:
    operations = resolve("io.cozy.bank.operations")
    assert operations.schema is not None
    row = {"date": "2024-01-03", "label": "PRLV EDF", "amount": "-1 234,56", "currency": "EUR"}
    doc = coerce_to_schema(row, operations.schema)
    assert doc == {"date": "2024-01-03", "label": "PRLV EDF", "amount": -1234.56, "currency": "EUR"}
    operations.validate(doc)
