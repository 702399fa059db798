"""A third party's question, as it arrives: parsed and checked before anything else.

The request is written by someone the owner does not control. Everything is bounded and
typed, unknown fields are refused, and text that a person will read (the requester's
name, the purpose) may not hide anything: no control, format (bidirectional overrides,
zero-width), private-use or unassigned characters.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .templates import TEMPLATES, Template

__all__ = [
    "MAX_REQUEST",
    "REQUEST_TYPE",
    "AnswerRequest",
    "check_text",
    "parse_request",
]

REQUEST_TYPE = "selfdata.answer-request/1"
MAX_REQUEST = 16 * 1024
NONCE = re.compile(r"^[A-Za-z0-9_-]{22,86}$")
_FIELDS = {"type", "template", "params", "nonce", "requester", "valid_days", "purpose"}
_HIDDEN = {"Cc", "Cf", "Co", "Cs", "Cn", "Zl", "Zp"}
DEFAULT_VALID_DAYS = 30
MAX_VALID_DAYS = 90


@dataclass(frozen=True)
class AnswerRequest:
    template: Template
    params: dict[str, Any]
    nonce: str
    requester: str
    valid_days: int
    purpose: str | None = None

    @property
    def question(self) -> str:
        return self.template.question(self.params)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "type": REQUEST_TYPE,
            "template": self.template.id,
            "params": self.params,
            "nonce": self.nonce,
            "requester": self.requester,
            "valid_days": self.valid_days,
        }
        if self.purpose is not None:
            data["purpose"] = self.purpose
        return data


def check_text(value: object, what: str, limit: int) -> str:
    if not isinstance(value, str):
        raise InputError(f"{what} must be text")
    text = unicodedata.normalize("NFC", value).strip()
    if not text:
        raise InputError(f"{what} is empty")
    if len(text) > limit:
        raise InputError(f"{what} is longer than {limit} characters")
    if any(unicodedata.category(ch) in _HIDDEN for ch in text):
        raise InputError(f"{what} holds control or invisible characters")
    return text


def parse_request(blob: bytes | str | dict[str, Any]) -> AnswerRequest:
    """The request in ``blob`` (its JSON text, or the decoded object), or InputError."""
    data = _decode(blob)
    unknown = sorted(set(data) - _FIELDS)
    if unknown:
        raise InputError(f"unknown field(s) in the request: {', '.join(unknown)[:100]}")
    if data.get("type") != REQUEST_TYPE:
        raise InputError(f"not an answer request: its type must be {REQUEST_TYPE!r}")
    name = data.get("template")
    template = TEMPLATES.get(name) if isinstance(name, str) else None
    if template is None:
        raise InputError(
            f"unknown question template {str(name)[:40]!r}: use one of {', '.join(TEMPLATES)}"
        )
    params = data.get("params")
    if not isinstance(params, dict):
        raise InputError("the request's params must be a JSON object")
    nonce = data.get("nonce")
    if not isinstance(nonce, str) or not NONCE.fullmatch(nonce):
        raise InputError(
            "the request's nonce must be 22 to 86 base64url characters (128 random bits or more)"
        )
    valid_days = data.get("valid_days", DEFAULT_VALID_DAYS)
    if (
        not isinstance(valid_days, int)
        or isinstance(valid_days, bool)
        or not 1 <= valid_days <= MAX_VALID_DAYS
    ):
        raise InputError(f"valid_days must be a whole number of days from 1 to {MAX_VALID_DAYS}")
    purpose = data.get("purpose")
    return AnswerRequest(
        template=template,
        params=template.check(params),
        nonce=nonce,
        requester=check_text(data.get("requester"), "the requester's name", 120),
        valid_days=valid_days,
        purpose=None if purpose is None else check_text(purpose, "the purpose", 300),
    )


def _decode(blob: bytes | str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(blob, dict):
        data: Any = blob
    else:
        raw = blob.encode("utf-8", "surrogatepass") if isinstance(blob, str) else blob
        if len(raw) > MAX_REQUEST:
            raise InputError(f"an answer request is at most {MAX_REQUEST} bytes")
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError):
            raise InputError("the answer request is not valid JSON") from None
    if not isinstance(data, dict):
        raise InputError("the answer request must be a JSON object")
    try:
        size = len(json.dumps(data, default=str))
    except (ValueError, RecursionError):
        raise InputError("the answer request is not plain JSON") from None
    if size > MAX_REQUEST:
        raise InputError(f"an answer request is at most {MAX_REQUEST} bytes")
    return data
