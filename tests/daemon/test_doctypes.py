"""Doctypes: known ones check their schema, reserved namespaces stay closed, any other name opens."""

from __future__ import annotations

import pytest
from selfdata.doctypes import RESERVED_PREFIXES, Doctype, builtin_doctypes, check_name, resolve
from selfdata.errors import UnknownDoctype, ValidationError

BUILTINS = sorted(builtin_doctypes())


def test_the_cozy_doctypes_selfdata_promises_are_built_in() -> None:
    for name in (
        "io.cozy.bank.operations",
        "io.cozy.bank.accounts",
        "io.cozy.bills",
        "io.cozy.contacts",
        "io.cozy.files",
    ):
        assert name in BUILTINS
    assert list(builtin_doctypes()) == BUILTINS  # listed in order


@pytest.mark.parametrize("name", BUILTINS)
def test_every_built_in_schema_is_sound(name: str) -> None:
    doctype = builtin_doctypes()[name]
    schema = doctype.schema
    assert schema is not None
    assert doctype.builtin
    assert name.startswith(RESERVED_PREFIXES)
    assert check_name(name) == name
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["type"] == "object"
    assert doctype.title == schema["title"]
    assert schema["title"]
    assert set(schema.get("required", [])) <= set(schema["properties"])
    assert schema["properties"]["_id"]["type"] == "string"
    assert resolve(name) is doctype


@pytest.mark.parametrize("name", BUILTINS)
def test_every_built_in_doctype_refuses_a_non_object_and_a_bad_id(name: str) -> None:
    doctype = resolve(name)
    with pytest.raises(ValidationError):
        doctype.validate([])  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        doctype.validate({"_id": 12})


def test_a_valid_bank_operation_passes_and_an_invalid_one_says_where() -> None:
    operations = resolve("io.cozy.bank.operations")
    operations.validate({"_id": "x", "amount": -3.2, "date": "2024-01-02", "label": "Pain"})
    with pytest.raises(ValidationError) as caught:
        operations.validate({"amount": "3,20", "date": "2024-01-02"})
    assert "io.cozy.bank.operations" in caught.value.message
    assert "amount" in str(caught.value.details.get("path")) or "amount" in caught.value.message
    with pytest.raises(ValidationError, match="must contain"):
        operations.validate({"label": "no amount, no date"})


@pytest.mark.parametrize(
    "name", ["org.example.mycsv", "fr.edf.releves", "com.example.my-data", "net.x.y_z.w2"]
)
def test_other_reverse_domain_names_are_schemaless_user_doctypes(name: str) -> None:
    doctype = resolve(name)
    assert doctype == Doctype(name=name, title=name)
    assert not doctype.builtin
    doctype.validate({"anything": {"goes": [1, None, "x"]}})


@pytest.mark.parametrize(
    "name", ["io.cozy.unknown", "io.cozy.bank.operations2", "selfdata.mine", "selfdata.energy"]
)
def test_unknown_names_in_the_reserved_namespaces_are_refused(name: str) -> None:
    with pytest.raises(UnknownDoctype, match="reserved"):
        resolve(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "nodot",
        "Org.Example.x",
        "org..x",
        ".org.x",
        "org.x.",
        "org/x",
        "org.x y",
        "1org.x",
        "org.é",
        "org." + "x" * 130,
        "org.x\n",
        "org.x\0",
    ],
)
def test_names_that_are_not_reverse_domain_names_are_refused(name: str) -> None:
    with pytest.raises(UnknownDoctype, match="not a doctype name"):
        check_name(name)
    with pytest.raises(UnknownDoctype):
        resolve(name)


@pytest.mark.parametrize("name", [None, 12, b"org.x.y", ["org.x.y"]])
def test_a_name_that_is_not_text_is_refused(name: object) -> None:
    with pytest.raises(UnknownDoctype):
        check_name(name)  # type: ignore[arg-type]
