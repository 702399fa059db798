"""Undo Facebook's mojibake: UTF-8 bytes written out as one ``\\u00XX`` escape each.

Facebook's "Download your information" JSON encodes "é" (UTF-8 ``C3 A9``) as
``"\\u00c3\\u00a9"``, which a JSON parser reads as "Ã©". The repair is to take the
string's code points back as bytes (Latin-1) and decode them as UTF-8, but only where
that is what happened:

* a string with a code point above U+00FF was not produced this way: left alone;
* a string of pure ASCII needs nothing;
* otherwise the repair is kept only if the bytes are valid UTF-8 — real Latin-1 text
  such as "café" (``E9`` alone) is not valid UTF-8 and stays as it was.
"""

from __future__ import annotations

from typing import Any

__all__ = ["repair", "repair_all"]


def repair(text: str) -> str:
    if text.isascii():
        return text
    try:
        raw = text.encode("latin-1")
    except UnicodeEncodeError:
        return text  # a code point above U+00FF: already real Unicode
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return text


def repair_all(value: Any) -> Any:
    """``value`` with every string in it (keys too) repaired."""
    if isinstance(value, str):
        return repair(value)
    if isinstance(value, list):
        return [repair_all(v) for v in value]
    if isinstance(value, dict):
        return {repair(k) if isinstance(k, str) else k: repair_all(v) for k, v in value.items()}
    return value
