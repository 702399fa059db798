"""One connector run, seen from the daemon: the capability check on every message, the
run's record (outcome, counts, progress, log), and its classification.

Outcomes: ``ok``; the SDK's ``auth_failed``, ``user_action_needed``, ``rate_limited``,
``service_down``; ``bug`` (any other exception, a crash, a protocol breach, writes
refused by the capability check); ``timeout``; ``cancelled`` (the box was locked or the
daemon stopped).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import datetime as dt
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...errors import SelfdataError
from ..sdk import Manifest
from .process import Refused, RunLog, run_child
from .protocol import ProtocolError
from .registry import ConnectorSpec
from .targets import Target

__all__ = ["OUTCOMES", "Run", "RunRequest", "execute"]

OUTCOMES = (
    "ok", "auth_failed", "user_action_needed", "rate_limited", "service_down", "bug",
    "timeout", "cancelled",
)  # fmt: skip
MAX_STATE = 256 * 1024
MAX_RESULT = 1024 * 1024
MAX_RETRY_AFTER = 7 * 24 * 3600.0
_FILE_QUEUE = 4


@dataclass
class RunRequest:
    spec: ConnectorSpec
    account_id: str = ""
    credentials: dict[str, str] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    base_urls: dict[str, str] = field(default_factory=dict)
    mode: str = "sync"  # or "probe"
    options: dict[str, str] = field(default_factory=dict)
    trigger: str = "manual"
    timeout: float | None = None
    daily_remaining: int | None = None
    http_retries: int = 3
    http_backoff: float = 1.0

    @property
    def secrets(self) -> list[str]:
        names = set(self.spec.manifest.secret_fields)
        return [v for k, v in self.credentials.items() if k in names and v]

    @property
    def devices(self) -> list[str]:
        """Files the child may open read-write: the account's ``path`` fields (a serial
        port), and for a probe the ``device`` the owner named."""
        paths = {f.name for f in self.spec.manifest.credentials if f.kind == "path"}
        found = [v for k, v in self.credentials.items() if k in paths and v]
        if self.mode == "probe":
            found += [v for k, v in self.options.items() if (k in paths or k == "device") and v]
        return found


@dataclass
class Run:
    """A run's record, live while it runs (the API shows its progress) and kept after."""

    id: str
    account_id: str
    connector: str
    trigger: str
    mode: str = "sync"
    started_at: str = ""
    ended_at: str | None = None
    duration: float | None = None
    status: str = "running"
    outcome: str | None = None
    message: str = ""
    url: str | None = None
    retry_after: float | None = None
    progress: dict[str, Any] = field(default_factory=dict)
    documents: dict[str, int] = field(default_factory=dict)
    series: dict[str, int] = field(default_factory=dict)
    files: int = 0
    rejected: int = 0
    refused: int = 0
    http_requests: int = 0
    isolation: list[str] = field(default_factory=list)
    result: Any = None
    log: RunLog = field(default_factory=RunLog)
    state: dict[str, Any] = field(default_factory=dict)
    clock_trusted: bool = True
    _t0: float = 0.0

    @classmethod
    def start(cls, request: RunRequest, *, clock_trusted: bool = True) -> Run:
        return cls(
            id=uuid.uuid4().hex,
            account_id=request.account_id,
            connector=request.spec.id,
            trigger=request.trigger,
            mode=request.mode,
            started_at=_now(),
            state=dict(request.state),
            log=RunLog(secrets=request.secrets),
            clock_trusted=clock_trusted,
            _t0=time.monotonic(),
        )

    def to_json(self, *, log: bool = True) -> dict[str, Any]:
        data = {
            k: v
            for k, v in self.__dict__.items()
            if not k.startswith("_") and k not in ("log", "state")
        }
        if log:
            data["log"] = self.log.to_json()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Run:
        run = cls(
            **{
                k: v
                for k, v in data.items()
                if k in cls.__dataclass_fields__ and k not in ("log", "_t0")
            }
        )
        logged = data.get("log") or {}
        run.log = RunLog(lines=list(logged.get("lines", [])), dropped=int(logged.get("dropped", 0)))
        return run


async def execute(
    run: Run,
    request: RunRequest,
    target: Target,
    *,
    protect: tuple[Path, ...] = (),
    on_state: Callable[[dict[str, Any]], None] | None = None,
) -> Run:
    """Run the connector in a child process; fills in and returns ``run``."""
    manifest = request.spec.manifest
    session = _Session(run, target, manifest, on_state)
    timeout = request.timeout or manifest.timeout_seconds
    init = {
        "mode": request.mode,
        "connector": manifest.id,
        "module": request.spec.module,
        "attr": request.spec.attr,
        "account_id": request.account_id,
        "credentials": request.credentials,
        "state": request.state,
        "base_urls": request.base_urls,
        "options": request.options,
        "daily_remaining": request.daily_remaining,
        "http_retries": request.http_retries,
        "http_backoff": request.http_backoff,
        "clock_trusted": run.clock_trusted,
    }

    def hello(message: dict[str, Any]) -> None:
        run.isolation = [str(x) for x in message.get("layers", [])][:10]

    try:
        done = await run_child(
            init,
            serve=session.serve,
            log_to=run.log,
            timeout=timeout,
            protect=protect,
            devices=request.devices,
            on_hello=hello,
        )
    except asyncio.CancelledError:
        session.abort()
        _finish(run, {"outcome": "cancelled", "message": "the run was stopped"})
        raise
    session.abort()
    _finish(run, done)
    return run


class _Session:
    """Answers one child's requests, each checked against the manifest first."""

    def __init__(
        self,
        run: Run,
        target: Target,
        manifest: Manifest,
        on_state: Callable[[dict[str, Any]], None] | None,
    ) -> None:
        self.run = run
        self.target = target
        self.manifest = manifest
        self.connector = manifest.id
        self.on_state = on_state
        self._file: tuple[asyncio.Queue[bytes | None], asyncio.Task[str]] | None = None

    async def serve(self, message: dict[str, Any]) -> dict[str, Any] | None:
        op = message["op"]
        handler = getattr(self, "_op_" + op, None) if op.isidentifier() else None
        if handler is None:
            raise ProtocolError(f"unknown message {op[:40]!r}")
        try:
            reply: dict[str, Any] | None = await handler(message)
        except (Refused, ProtocolError):
            if op in ("save", "series", "file_begin", "file_chunk", "file_end", "stored"):
                self.run.refused += 1
            raise
        except SelfdataError as err:
            self.run.log.add("ERROR", f"{op}: {err.message}")
            return {"error": err.message}
        return reply

    # -- fire and forget -------------------------------------------------------------------

    async def _op_state(self, message: dict[str, Any]) -> None:
        state = message.get("state")
        if not isinstance(state, dict):
            raise ProtocolError("state must be a JSON object")
        if len(json.dumps(state)) > MAX_STATE:
            raise ProtocolError(f"the state is over {MAX_STATE} bytes")
        self.run.state = state
        if self.on_state is not None:
            self.on_state(state)

    async def _op_progress(self, message: dict[str, Any]) -> None:
        done, total = message.get("done"), message.get("total")
        self.run.progress = {
            "done": done if isinstance(done, int) else 0,
            "total": total if isinstance(total, int) else None,
            "message": self.run.log.redact(str(message.get("message", ""))[:500]),
        }

    # -- requests ----------------------------------------------------------------------------

    async def _op_save(self, message: dict[str, Any]) -> dict[str, Any]:
        doctype = _text(message, "doctype")
        if not self.manifest.may_write_doctype(doctype):
            raise Refused(f"{doctype!r} is not a doctype {self.connector} declares")
        docs = message.get("documents")
        if not isinstance(docs, list):
            raise ProtocolError("documents must be a list")
        stored, problems = await self.target.save(doctype, docs)
        for problem in problems[:20]:
            self.run.log.add("WARNING", f"{doctype}: document left out: {problem}")
        self.run.rejected += len(problems)
        self.run.documents[doctype] = self.run.documents.get(doctype, 0) + stored
        return {"stored": stored, "rejected": len(problems)}

    async def _op_series(self, message: dict[str, Any]) -> dict[str, Any]:
        name = _text(message, "name")
        if not self.manifest.may_write_series(name):
            raise Refused(f"series {name!r} is outside the prefixes {self.connector} declares")
        points = message.get("points")
        if not isinstance(points, list):
            raise ProtocolError("points must be a list")
        unit = str(message.get("unit", ""))[:32]
        written = await self.target.save_series(name, points, unit)
        self.run.series[name] = self.run.series.get(name, 0) + written
        return {"written": written}

    async def _op_file_begin(self, message: dict[str, Any]) -> dict[str, Any]:
        if not self.manifest.files:
            raise Refused(f"{self.connector} does not declare files=True")
        if self._file is not None:
            raise ProtocolError("a file is already being sent")
        metadata = message.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ProtocolError("file metadata must be an object")
        queue: asyncio.Queue[bytes | None] = asyncio.Queue(_FILE_QUEUE)

        async def chunks() -> AsyncIterator[bytes]:
            while (data := await queue.get()) is not None:
                yield data

        task = asyncio.create_task(
            self.target.save_file(
                _text(message, "name"), chunks(), str(message.get("mime", ""))[:255] or
                "application/octet-stream", metadata,
            )
        )  # fmt: skip
        self._file = (queue, task)
        return {}

    async def _op_file_chunk(self, message: dict[str, Any]) -> dict[str, Any]:
        if self._file is None:
            raise ProtocolError("a file chunk outside a file")
        queue, task = self._file
        try:
            data = base64.b64decode(str(message.get("data", "")), validate=True)
        except (binascii.Error, ValueError) as err:
            raise ProtocolError("a file chunk is not base64") from err
        if task.done():
            self._file = None
            task.result()  # raises what went wrong
            raise ProtocolError("a file chunk after the file ended")
        await queue.put(data)
        return {}

    async def _op_file_end(self, message: dict[str, Any]) -> dict[str, Any]:
        if self._file is None:
            raise ProtocolError("the end of a file that did not begin")
        queue, task = self._file
        self._file = None
        if not task.done():
            await queue.put(None)
        file_id = await task
        self.run.files += 1
        return {"file_id": file_id}

    async def _op_stored(self, message: dict[str, Any]) -> dict[str, Any]:
        doctype = _text(message, "doctype")
        if not self.manifest.may_write_doctype(doctype):
            raise Refused(f"{doctype!r} is not a doctype {self.connector} declares")
        document = await self.target.stored(doctype, _text(message, "doc_id"))
        return {"document": document}

    def abort(self) -> None:
        if self._file is not None:
            self._file[1].cancel()
            self._file = None


def _text(message: dict[str, Any], key: str, limit: int = 512) -> str:
    value = message.get(key)
    if not isinstance(value, str) or not value or len(value) > limit:
        raise ProtocolError(f"{key} must be a string of 1 to {limit} characters")
    return value


def _finish(run: Run, done: dict[str, Any]) -> None:
    outcome = str(done.get("outcome", "bug"))
    if outcome not in OUTCOMES:
        outcome = "bug"
    message = run.log.redact(str(done.get("message", ""))[:2000])
    if done.get("traceback"):
        run.log.add("ERROR", str(done["traceback"]))
    if outcome == "ok" and run.refused:
        outcome = "bug"
        message = f"{run.refused} write(s) outside its manifest were refused"
    url = done.get("url")
    run.url = url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
    retry = done.get("retry_after")
    if isinstance(retry, int | float) and not isinstance(retry, bool) and math.isfinite(retry):
        run.retry_after = max(0.0, min(float(retry), MAX_RETRY_AFTER))
    requests = done.get("http_requests")
    if isinstance(requests, int):
        run.http_requests = requests
    result = done.get("result")
    if result is not None and len(json.dumps(result, default=str)) <= MAX_RESULT:
        run.result = json.loads(run.log.redact(json.dumps(result, default=str)))
    run.outcome = outcome
    run.message = message
    run.status = "done"
    run.ended_at = _now()
    run.duration = round(time.monotonic() - run._t0, 3)


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
