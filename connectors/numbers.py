"""Numbers as French exports write them: ``-12,50``, ``+1 234,56``, ``1.234,56``.

Bank statements and utility exports share these spellings (a comma for the decimal mark,
spaces, no-break spaces or dots between thousands), so they share one reader.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["parse_decimal"]

_SPACES = re.compile(r"[\s\u00a0\u202f']")


def parse_decimal(text: str) -> Decimal | None:
    """``-12.50``, ``-12,50``, ``+1 234,56``, ``1.234,56``, ``1,234.56`` → Decimal.

    The last of ``.``/``,`` is the decimal mark when both appear; one ``,`` alone is one
    too (French exports). ``None`` when it is not a finite number.
    """
    text = _SPACES.sub("", text.strip()).replace("+", "", 1)
    if not text or len(text) > 32:
        return None
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif text.count(",") == 1:
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
