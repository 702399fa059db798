"""The answer desk: requests in, the owner's decision, signed statements out.

A request is stored encrypted, keyed by a random id, with a keyed hash of its nonce in
clear so that the same request (or any request reusing its nonce) is refused. The owner
looks at a preview — the very fields the statement would carry, plus what the box found
for their eyes only — and approves by sending back the answer and period they saw: if
the data changed meanwhile, the approval is refused and the owner looks again. The
statement is signed, recorded in the ledger and stored in one transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
import sqlite3
from collections.abc import Mapping
from typing import Any

from ..box import Box
from ..errors import Conflict, InputError, IntegrityError, NotFound, SelfdataError
from ..ledger import ConsentKeys, Ledger
from ..scheduler.clock import Clock, SystemClock
from ..store.codec import ad_for, open_json, seal_json
from .request import AnswerRequest, parse_request
from .statement import digest, iso, sign_statement, statement_fields
from .templates import PARIS, TEMPLATES, Evaluation

__all__ = ["MAX_PENDING", "MAX_STORED", "AnswerDesk", "check_id"]

MAX_PENDING = 50
MAX_STORED = 5000
_ID_LENGTH = 32
_REVEALED = [
    "the question, as the requester asked it",
    "the answer: yes or no",
    "the period it covers",
    "when it was issued and until when it is valid",
    "the requester's name and nonce, as they sent them",
    "the id of the box's public key",
]


def check_id(request_id: object) -> str:
    if (
        not isinstance(request_id, str)
        or len(request_id) != _ID_LENGTH
        or any(c not in "0123456789abcdef" for c in request_id)
    ):
        raise NotFound("no such answer request")
    return request_id


class AnswerDesk:
    def __init__(self, box: Box, clock: Clock | None = None) -> None:
        self._box = box
        self._db = box.db
        self._clock = clock or SystemClock()

    @property
    def _keys(self) -> ConsentKeys:
        return ConsentKeys.of(self._box.keys)

    # -- requests in ----------------------------------------------------------------------------

    async def submit(self, blob: bytes | str | dict[str, Any]) -> dict[str, Any]:
        """Store a third party's request as pending; answers its preview."""
        keys = self._keys
        request = parse_request(blob)
        record = {
            "request": request.to_json(),
            "state": "pending",
            "received_at": iso(self._now()),
        }
        request_id = secrets.token_hex(_ID_LENGTH // 2)
        nonce_hash = keys.name("answer-nonce", request.nonce)
        async with self._db.transaction() as conn:
            async with conn.execute("SELECT count(*) FROM answer_requests") as cur:
                row = await cur.fetchone()
            if row is not None and int(row[0]) >= MAX_STORED:
                raise Conflict(f"the box keeps at most {MAX_STORED} answer requests")
            async with conn.execute(
                "SELECT 1 FROM answer_requests WHERE nonce = ?", (nonce_hash,)
            ) as cur:
                if await cur.fetchone():
                    raise Conflict("this request was already received (same nonce): replay refused")
            pending = await self._pending_count(conn, keys)
            if pending >= MAX_PENDING:
                raise Conflict(
                    f"{MAX_PENDING} requests already wait for your decision: refuse or approve some"
                )
            try:
                await conn.execute(
                    "INSERT INTO answer_requests(id, nonce, body) VALUES (?, ?, ?)",
                    (request_id, nonce_hash, self._seal(keys, request_id, record)),
                )
            except sqlite3.IntegrityError:
                raise Conflict(
                    "this request was already received (same nonce): replay refused"
                ) from None
        return await self.show(request_id)

    async def _pending_count(self, conn: Any, keys: ConsentKeys) -> int:
        count = 0
        async with conn.execute("SELECT id, body FROM answer_requests") as cur:
            for request_id, body in await cur.fetchall():
                if self._open(keys, request_id, body).get("state") == "pending":
                    count += 1
        return count

    # -- reading --------------------------------------------------------------------------------

    async def list(self) -> list[dict[str, Any]]:
        keys = self._keys
        rows = await self._db.fetchall("SELECT id, body FROM answer_requests")
        items = [self._summary(rid, self._open(keys, rid, body)) for rid, body in rows]
        items.sort(key=lambda i: str(i["received_at"]), reverse=True)  # newest first,
        items.sort(key=lambda i: i["state"] != "pending")  # pending ones on top
        return items

    async def show(self, request_id: str) -> dict[str, Any]:
        """The request and, while pending, exactly what approving it would reveal."""
        record = await self._load(check_id(request_id))
        view = self._summary(request_id, record)
        view["request"] = record["request"]
        if record["state"] == "pending":
            view["preview"] = await self._preview(self._request(record))
        if record.get("statement"):
            view["statement"] = record["statement"]
        return view

    async def statement(self, request_id: str) -> dict[str, Any]:
        record = await self._load(check_id(request_id))
        if not record.get("statement"):
            raise NotFound("this request has no statement: it was not approved")
        statement: dict[str, Any] = record["statement"]
        return statement

    async def _preview(self, request: AnswerRequest) -> dict[str, Any]:
        now = self._now()
        preview: dict[str, Any] = {
            "question": request.question,
            "requester": request.requester,
            "purpose": request.purpose,
            "nonce": request.nonce,
            "issued_at": iso(now),
            "expires_at": iso(now + dt.timedelta(days=request.valid_days)),
            "revealed": _REVEALED,
            "not_revealed": "your data, amounts, dates and anything the box found while answering",
        }
        try:
            evaluation = await self._evaluate(request, now)
        except Conflict as err:
            return preview | {"answerable": False, "reason": err.message, "answer": None}
        return preview | {
            "answerable": True,
            "reason": None,
            "answer": evaluation.answer,
            "period": {"start": evaluation.start.isoformat(), "end": evaluation.end.isoformat()},
            "facts_for_you_only": evaluation.facts,
        }

    # -- decisions ------------------------------------------------------------------------------

    async def approve(self, request_id: str, expect: Mapping[str, Any]) -> dict[str, Any]:
        """Sign and record the answer the owner saw (``expect``: its answer and period)."""
        check_id(request_id)
        keys = self._keys
        record = await self._load(request_id)
        self._check_pending(record)
        if not self._clock.trusted():
            raise Conflict(
                "the box's clock is not synchronised yet: a statement would carry a wrong date"
            )
        request = self._request(record)
        now = self._now()
        evaluation = await self._evaluate(request, now)
        seen = {
            "answer": evaluation.answer,
            "period": {"start": evaluation.start.isoformat(), "end": evaluation.end.isoformat()},
        }
        if _expected(expect) != seen:
            raise Conflict("the answer or its period changed since you looked: review it again")
        fields = statement_fields(request, evaluation, now, keys.public_key)
        envelope = sign_statement(keys, fields)
        record |= {"state": "approved", "decided_at": iso(now), "statement": envelope}
        details = {
            "decision": "approved",
            "request_id": request_id,
            "requester": request.requester,
            "question": request.question,
            "template": request.template.id,
            "answer": evaluation.answer,
            "period": seen["period"],
            "issued_at": fields["issued_at"],
            "expires_at": fields["expires_at"],
            "nonce": request.nonce,
            "statement_sha256": digest(envelope),
        }
        await self._decide(request_id, record, details)
        return await self.show(request_id)

    async def refuse(self, request_id: str) -> dict[str, Any]:
        check_id(request_id)
        record = await self._load(request_id)
        self._check_pending(record)
        request = self._request(record)
        record |= {"state": "refused", "decided_at": iso(self._now())}
        details = {
            "decision": "refused",
            "request_id": request_id,
            "requester": request.requester,
            "question": request.question,
            "template": request.template.id,
            "nonce": request.nonce,
        }
        await self._decide(request_id, record, details)
        return await self.show(request_id)

    async def _decide(
        self, request_id: str, record: dict[str, Any], details: dict[str, Any]
    ) -> None:
        keys, ledger = self._keys, Ledger(self._box)
        async with self._db.transaction() as conn:
            async with conn.execute(
                "SELECT body FROM answer_requests WHERE id = ?", (request_id,)
            ) as cur:
                row = await cur.fetchone()
            if row is None:
                raise NotFound("no such answer request")
            self._check_pending(self._open(keys, request_id, row[0]))  # a concurrent decision
            await ledger.drain_in(conn)
            await ledger.append_in(conn, "answer", details)
            await conn.execute(
                "UPDATE answer_requests SET body = ? WHERE id = ?",
                (self._seal(keys, request_id, record), request_id),
            )

    # -- helpers --------------------------------------------------------------------------------

    def _now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(int(self._clock.wall()), dt.UTC)

    async def _evaluate(self, request: AnswerRequest, now: dt.datetime) -> Evaluation:
        today = now.astimezone(PARIS).date()
        try:
            return await request.template.evaluate(self._box, request.params, today)
        except (Conflict, InputError):
            raise
        except SelfdataError as err:
            raise Conflict(f"the box could not answer: {err.message}") from err

    async def _load(self, request_id: str) -> dict[str, Any]:
        keys = self._keys
        row = await self._db.fetchone(
            "SELECT body FROM answer_requests WHERE id = ?", (request_id,)
        )
        if row is None:
            raise NotFound("no such answer request")
        return self._open(keys, request_id, row[0])

    @staticmethod
    def _check_pending(record: Mapping[str, Any]) -> None:
        if record.get("state") != "pending":
            raise Conflict(f"this request was already {record.get('state')}")

    @staticmethod
    def _request(record: Mapping[str, Any]) -> AnswerRequest:
        return parse_request(dict(record["request"]))

    @staticmethod
    def _summary(request_id: str, record: Mapping[str, Any]) -> dict[str, Any]:
        request = record["request"]
        template = TEMPLATES.get(request.get("template"))
        return {
            "id": request_id,
            "state": record["state"],
            "requester": request.get("requester"),
            "question": template.question(request["params"]) if template else None,
            "received_at": record.get("received_at"),
            "decided_at": record.get("decided_at"),
        }

    @staticmethod
    def _seal(keys: ConsentKeys, request_id: str, record: dict[str, Any]) -> bytes:
        return seal_json(keys.state, record, ad_for(b"answer-request", request_id.encode()))

    @staticmethod
    def _open(keys: ConsentKeys, request_id: object, body: object) -> dict[str, Any]:
        rid = request_id.encode() if isinstance(request_id, str) else b"?"
        value = open_json(keys.state, body, ad_for(b"answer-request", rid))  # type: ignore[arg-type]
        if not isinstance(value, dict) or "request" not in value or "state" not in value:
            raise IntegrityError("a stored answer request is unreadable")
        return value


def _expected(expect: Mapping[str, Any]) -> dict[str, Any]:
    answer, period = expect.get("answer"), expect.get("period")
    if not isinstance(answer, bool) or not isinstance(period, Mapping):
        raise InputError(
            "approve with the answer and period you saw: {answer, period: {start, end}}"
        )
    return {"answer": answer, "period": {"start": period.get("start"), "end": period.get("end")}}
