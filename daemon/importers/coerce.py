"""Turn CSV strings into the JSON types a known doctype's schema asks for.

A CSV cell is always text; ``io.cozy.bank.operations`` wants ``amount`` as a number.
French exports write ``-12,50`` and ``1 234,56``: both are understood. Empty cells are
dropped rather than stored as empty strings. Values that cannot be converted are left
as they are, so schema validation reports them with the column's name.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["coerce_to_schema"]

_NUMBER = re.compile(r"^[+-]?(\d{1,3}([ \u00a0\u202f.]\d{3})+|\d+)([.,]\d+)?$")
_TRUE = {"true", "yes", "oui", "1", "vrai"}
_FALSE = {"false", "no", "non", "0", "faux"}


def coerce_to_schema(record: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties", {})
    out: dict[str, Any] = {}
    for key, value in record.items():
        if not isinstance(value, str):
            out[key] = value
            continue
        if value == "":
            continue
        expected = properties.get(key, {}).get("type")
        if expected in ("number", "integer"):
            out[key] = _number(value, integer=expected == "integer")
        elif expected == "boolean":
            lowered = value.strip().lower()
            out[key] = True if lowered in _TRUE else False if lowered in _FALSE else value
        else:
            out[key] = value
    return out


def _number(text: str, *, integer: bool) -> Any:
    cleaned = text.strip()
    if not _NUMBER.match(cleaned):
        return text
    body = re.sub(r"[ \u00a0\u202f]", "", cleaned)
    if "," in body:  # French decimal comma: dots, if any, group thousands
        body = body.replace(".", "").replace(",", ".")
    elif body.count(".") > 1:  # 1.234.567: only grouping
        body = body.replace(".", "")
    if "." not in body:
        return int(body)  # exact, however many digits
    value = float(body)
    if not math.isfinite(value):
        return text
    if integer:
        return int(value) if value.is_integer() else text
    return value
