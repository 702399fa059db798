"""The connector SDK: what a connector declares, receives and raises.

::

    from selfdata.connectors.sdk import Manifest, CredentialField, Context, AuthFailed

    MANIFEST = Manifest(
        id="example-energy",
        name="Example Energy",
        vendor="Example SA",
        description="Daily electricity use from Example's customer API.",
        doctypes=("selfdata.energy.contracts",),
        series=("example/",),
        credentials=(CredentialField("token", "API token", kind="secret"),),
        schedule="every 1d",
        rate_limit=RateLimit(requests=5, per_seconds=1),
    )

    async def sync(ctx: Context) -> None:
        resp = await ctx.http.get(ctx.url("api", "/consumption"), params={...})
        if resp.status == 401:
            raise AuthFailed("the token was refused: make a new one on example.com")
        ...
        await ctx.save_series("example/consumption", points, unit="Wh")
        ctx.state["last_day"] = day

The runner (not the connector) owns scheduling, retries, time-outs, rate limits, logs
and what the owner sees; a connector only translates its source's errors into the
few exceptions below, whose names say what to do next (as Home Assistant's
``ConfigEntryAuthFailed``/``UpdateFailed`` do).

A connector module (built in under ``selfdata/connectors/`` or installed through the
``selfdata.connectors`` entry-point group) exports:

* ``MANIFEST`` — a :class:`Manifest`; and at least one of:
* ``async def sync(ctx: Context) -> None`` — one run (see :data:`SyncFunction`);
* ``def detect(name: str, head: bytes) -> bool`` and
  ``async def ingest(sink, source, report) -> None`` — a *file source* (see
  :class:`FileSource`): the box hands it files (upload, ``selfdata import FILE``, a
  drop folder) whose format ``detect`` recognised;
* optionally ``async def probe(ctx: Context, options: Mapping[str, str]) -> dict`` — a
  check the owner runs by hand (``selfdata connectors probe ID``), e.g. decoding a few
  frames of a serial meter to check the wiring (see :data:`ProbeFunction`).

A package may instead export ``CONNECTORS``: a tuple of such modules (one package, several
routes to the same service).

Everything runs in a child process that holds no store handle and no key: each
``save*`` is a message the daemon checks against the manifest's capability
(``doctypes``, ``series`` prefixes, ``files``) before it writes. A write outside it raises
:class:`CapabilityError` in the connector. Read docs/connectors.md.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from .sinks import IngestReport, Sink, SourceFile

__all__ = [
    "AuthFailed",
    "CapabilityError",
    "ClockNotTrusted",
    "ConnectorError",
    "Context",
    "CredentialField",
    "FileSource",
    "HttpClient",
    "HttpResponse",
    "Manifest",
    "ProbeFunction",
    "RateLimit",
    "RateLimited",
    "ServiceDown",
    "SyncFunction",
    "UserActionNeeded",
]

_ID = re.compile(r"^[a-z][a-z0-9-]{1,48}[a-z0-9]$")


# --- what a connector declares --------------------------------------------------------


@dataclass(frozen=True)
class CredentialField:
    """One field of the "add this source" form, generated from the manifest.

    ``kind="secret"`` fields (passwords, tokens) are never shown back, never logged and
    stored encrypted, readable only by the connector they belong to.
    """

    name: str
    label: str
    kind: Literal["text", "secret", "email", "number", "select", "url", "path"] = "text"
    help: str = ""
    required: bool = True
    options: tuple[str, ...] = ()  # for kind="select"
    default: str | None = None

    @property
    def secret(self) -> bool:
        return self.kind == "secret"


@dataclass(frozen=True)
class RateLimit:
    """At most ``requests`` HTTP requests per ``per_seconds``; ``daily`` caps a day's total."""

    requests: int = 5
    per_seconds: float = 1.0
    daily: int | None = None


@dataclass(frozen=True)
class Manifest:
    id: str
    name: str
    vendor: str
    description: str
    #: Doctypes the connector may write documents to: its capability.
    doctypes: tuple[str, ...] = ()
    #: Series name prefixes it may write (``"enedis/"``); a name outside them is refused.
    series: tuple[str, ...] = ()
    #: Whether it may store files (``io.cozy.files``), e.g. PDF bills.
    files: bool = False
    credentials: tuple[CredentialField, ...] = ()
    #: ``"every 6h"``, ``"every 1d"``, a cron line (``"30 7 * * *"``), or ``"manual"``.
    schedule: str = "every 1d"
    rate_limit: RateLimit = field(default_factory=RateLimit)
    #: True when it needs no secret and may write while the box is locked (sealed inbox).
    runs_locked: bool = False
    #: Named base URLs, overridable per account (real services have sandboxes).
    base_urls: Mapping[str, str] = field(default_factory=dict)
    #: ``"energy"``, ``"bank"``, ``"utilities"``, ``"telecom"``, ``"insurance"``,
    #: ``"exports"``, ``"open-data"``: how the web UI groups the catalogue.
    category: str = "other"
    #: File formats it accepts when a file is dropped or imported (``"ofx"``, ``"takeout"``…).
    file_formats: tuple[str, ...] = ()
    #: Longest a run may take before it is stopped.
    timeout_seconds: float = 15 * 60
    #: A page where the owner gets the credentials (shown next to the form).
    help_url: str | None = None

    def __post_init__(self) -> None:
        if not _ID.match(self.id):
            raise ValueError(f"connector id {self.id!r}: lowercase letters, digits and -")
        names = [f.name for f in self.credentials]
        if len(set(names)) != len(names):
            raise ValueError(f"connector {self.id}: a credential field is declared twice")
        if self.runs_locked and any(f.secret for f in self.credentials):
            # while locked nothing secret can be read: such a source cannot run then
            raise ValueError(f"connector {self.id}: runs_locked connectors take no secret")
        if self.timeout_seconds <= 0:
            raise ValueError(f"connector {self.id}: timeout_seconds must be positive")

    @property
    def secret_fields(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.credentials if f.secret)

    def may_write_doctype(self, doctype: str) -> bool:
        return doctype in self.doctypes

    def may_write_series(self, name: str) -> bool:
        return any(name.startswith(prefix) for prefix in self.series if prefix)

    def to_json(self) -> dict[str, Any]:
        """What the catalogue shows (the web UI builds the "add a source" form from it)."""
        return {
            "id": self.id,
            "name": self.name,
            "vendor": self.vendor,
            "description": self.description,
            "category": self.category,
            "doctypes": list(self.doctypes),
            "series": list(self.series),
            "files": self.files,
            "credentials": [
                {
                    "name": f.name,
                    "label": f.label,
                    "kind": f.kind,
                    "help": f.help,
                    "required": f.required,
                    "options": list(f.options),
                    "default": f.default,
                }
                for f in self.credentials
            ],
            "schedule": self.schedule,
            "rate_limit": {
                "requests": self.rate_limit.requests,
                "per_seconds": self.rate_limit.per_seconds,
                "daily": self.rate_limit.daily,
            },
            "runs_locked": self.runs_locked,
            "base_urls": dict(self.base_urls),
            "file_formats": list(self.file_formats),
            "timeout_seconds": self.timeout_seconds,
            "help_url": self.help_url,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Manifest:
        """The manifest :meth:`to_json` described (the daemon reads manifests this way,
        from the child process that imported the connector's code)."""
        rate = data.get("rate_limit") or {}
        return cls(
            id=str(data["id"]),
            name=str(data["name"]),
            vendor=str(data.get("vendor", "")),
            description=str(data.get("description", "")),
            doctypes=tuple(str(d) for d in data.get("doctypes", ())),
            series=tuple(str(s) for s in data.get("series", ())),
            files=bool(data.get("files", False)),
            credentials=tuple(
                CredentialField(
                    name=str(f["name"]),
                    label=str(f.get("label", f["name"])),
                    kind=f.get("kind", "text"),
                    help=str(f.get("help", "")),
                    required=bool(f.get("required", True)),
                    options=tuple(str(o) for o in f.get("options", ())),
                    default=None if f.get("default") is None else str(f["default"]),
                )
                for f in data.get("credentials", ())
            ),
            schedule=str(data.get("schedule", "every 1d")),
            rate_limit=RateLimit(
                requests=int(rate.get("requests", 5)),
                per_seconds=float(rate.get("per_seconds", 1.0)),
                daily=None if rate.get("daily") is None else int(rate["daily"]),
            ),
            runs_locked=bool(data.get("runs_locked", False)),
            base_urls={str(k): str(v) for k, v in (data.get("base_urls") or {}).items()},
            category=str(data.get("category", "other")),
            file_formats=tuple(str(f) for f in data.get("file_formats", ())),
            timeout_seconds=float(data.get("timeout_seconds", 15 * 60)),
            help_url=None if data.get("help_url") is None else str(data["help_url"]),
        )


# --- what a connector raises ------------------------------------------------------------


class ConnectorError(Exception):
    """Base of the errors a connector raises on purpose. Anything else is a bug."""

    kind = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthFailed(ConnectorError):
    """The credentials were refused. Automatic runs stop until the owner fixes them."""

    kind = "auth_failed"


class UserActionNeeded(ConnectorError):
    """The service wants a person (CAPTCHA, new terms, consent renewal). Runs stop."""

    kind = "user_action_needed"

    def __init__(self, message: str, url: str | None = None) -> None:
        super().__init__(message)
        self.url = url


class RateLimited(ConnectorError):
    """The service said "too many requests": retry after ``retry_after`` seconds."""

    kind = "rate_limited"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceDown(ConnectorError):
    """The service is unreachable or failing (5xx, time-outs): retry later, with backoff."""

    kind = "service_down"


class ClockNotTrusted(ServiceDown):
    """``ctx.now()`` was asked before the box's clock could be trusted (a Raspberry Pi has
    no real-time clock: until time sync it may believe it is 1970, or the moment it was
    last shut down). Raised by the context, not by connectors: what the run would date
    is not stored with a wrong time, and it runs again after time sync."""


class CapabilityError(Exception):
    """The box refused a write outside the manifest (another doctype, a series outside
    the declared prefixes, a file without ``files=True``). A bug in the connector: not a
    :class:`ConnectorError`, and the run is classified as one even if it is caught."""


# --- what a connector receives -------------------------------------------------------------


class HttpResponse(Protocol):
    status: int
    headers: Mapping[str, str]

    async def json(self) -> Any: ...
    async def text(self) -> str: ...
    async def read(self) -> bytes: ...


class HttpClient(Protocol):
    """aiohttp underneath, with the manifest's rate limit, time-outs and retries.

    Connection errors, time-outs and 5xx are retried with exponential backoff and then
    raised as :class:`ServiceDown`; a 429 is raised as :class:`RateLimited` with the
    service's ``Retry-After``. Other statuses are returned for the connector to judge.
    """

    async def request(self, method: str, url: str, **kwargs: Any) -> HttpResponse: ...
    async def get(self, url: str, **kwargs: Any) -> HttpResponse: ...
    async def post(self, url: str, **kwargs: Any) -> HttpResponse: ...


class Context(Protocol):
    """Everything a run may use. It is all a connector gets: no store, no keys."""

    manifest: Manifest
    #: The account this run is for (several accounts may use one connector).
    account_id: str
    #: The account's credential values, by field name (secret and plain fields alike).
    credentials: Mapping[str, str]
    #: Saved incremental state (JSON-able); persisted when the run ends, even on error.
    state: MutableMapping[str, Any]
    http: HttpClient
    log: logging.Logger

    def url(self, base: str, path: str = "") -> str:
        """A base URL from the manifest (or the account's override) joined with ``path``."""
        ...

    def now(self) -> dt.datetime:
        """The current time, from a clock the box trusts (UTC, aware).

        Raises :class:`ClockNotTrusted` when the run started before time sync (the
        scheduler still starts local, ``runs_locked`` sources then: one that needs no
        time — a drop folder — works; one that dates readings waits for the clock)."""
        ...

    async def save(self, doctype: str, documents: Iterable[dict[str, Any]]) -> int:
        """Upsert documents (give each an ``_id`` so re-runs never duplicate)."""
        ...

    async def save_series(
        self, name: str, points: Iterable[tuple[int, float]], unit: str = ""
    ) -> int: ...

    async def save_file(
        self,
        name: str,
        content: bytes | AsyncIterable[bytes],
        *,
        mime: str = "application/octet-stream",
        metadata: Mapping[str, Any] | None = None,
    ) -> str:
        """Store a file (deduplicated by content); returns its ``io.cozy.files`` id."""
        ...

    async def stored(self, doctype: str, doc_id: str) -> dict[str, Any] | None:
        """A document of one of the manifest's doctypes stored earlier under ``doc_id``."""
        ...

    async def progress(self, done: int, total: int | None = None, message: str = "") -> None: ...


SyncFunction = Callable[[Context], Awaitable[None]]
#: ``probe(ctx, options)``: a hand-run check (wiring, reachability) whose answer is shown
#: to the owner as JSON. ``options`` come from the command line or the web form
#: (``--device``, ``--frames``…); its ``ctx`` may not write anything.
ProbeFunction = Callable[[Context, Mapping[str, str]], Awaitable[dict[str, Any]]]


class FileSource(Protocol):
    """A module that reads files a person has (statements, export archives).

    ``detect`` looks at a file's name and first bytes (at most 64 KiB) and says whether
    this source reads it — cheaply, without raising. ``ingest`` streams the file into the
    sink (an unlocked box for ``selfdata import``, the run's :class:`Context` otherwise)
    and records per-doctype counts and bad records in the report (bad records are
    values, not crashes). Types live in :mod:`selfdata.connectors.sinks`.
    """

    MANIFEST: Manifest

    def detect(self, name: str, head: bytes) -> bool: ...

    async def ingest(self, sink: Sink, source: SourceFile, report: IngestReport) -> None: ...
