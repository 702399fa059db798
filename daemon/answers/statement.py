"""Making a signed statement: the box's side of the format that ``verify.py`` checks."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from typing import Any

from ..ledger.keys import ConsentKeys, key_id
from .request import AnswerRequest
from .templates import Evaluation
from .verify import SIGNED_PREFIX, STATEMENT_TYPE

__all__ = ["iso", "sign_statement", "statement_fields"]


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def statement_fields(
    request: AnswerRequest, evaluation: Evaluation, issued: dt.datetime, public_key: bytes
) -> dict[str, Any]:
    """Everything that leaves the box, and nothing else."""
    return {
        "type": STATEMENT_TYPE,
        "template": request.template.id,
        "params": request.params,
        "question": request.question,
        "answer": evaluation.answer,
        "period": {"start": evaluation.start.isoformat(), "end": evaluation.end.isoformat()},
        "issued_at": iso(issued),
        "expires_at": iso(issued + dt.timedelta(days=request.valid_days)),
        "nonce": request.nonce,
        "requester": request.requester,
        "key_id": key_id(public_key),
    }


def sign_statement(keys: ConsentKeys, fields: dict[str, Any]) -> dict[str, Any]:
    """The statement file: the exact signed text, its signature and the key's id."""
    text = json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    signature = keys.sign(SIGNED_PREFIX + text.encode("utf-8"))
    return {
        "statement": text,
        "signature": base64.b64encode(signature).decode(),
        "key_id": fields["key_id"],
    }


def digest(envelope: dict[str, Any]) -> str:
    return hashlib.sha256(str(envelope["statement"]).encode("utf-8")).hexdigest()
