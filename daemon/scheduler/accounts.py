"""Connector accounts, their state and their runs: encrypted records like any other.

* ``selfdata.accounts`` — which connector, its plain settings, and the secret credential
  values sealed once more under the vault's *credentials* subkey, with associated data
  binding them to the account and its connector: a copy pasted into another account, or
  read through the documents API, opens nothing;
* ``selfdata.accounts.state`` — per account: the connector's incremental state, the
  status the owner sees (``new``, ``ok``, ``failing``, ``waiting``, ``needs_action``), the
  backoff, the daily request count, the ids of its recent runs;
* ``selfdata.accounts.runs`` — one per run, its log capped and redacted.

Accounts of connectors that run while the box is locked (they take no secret) are also
listed in clear in the ``locked_sources`` table, so they can start after a reboot.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .. import crypto
from ..box import Box
from ..connectors.sdk import Manifest
from ..doctypes import resolve
from ..errors import InputError, NotFound
from ..vault import Purpose
from .triggers import parse_schedule

__all__ = [
    "ACCOUNTS",
    "RUNS",
    "STATES",
    "Account",
    "AccountStore",
    "check_credentials",
]

ACCOUNTS = "selfdata.accounts"
STATES = "selfdata.accounts.state"
RUNS = "selfdata.accounts.runs"
KEEP_RUNS = 30
MAX_VALUE = 4096


@dataclass
class Account:
    id: str
    connector: str
    fields: dict[str, str] = field(default_factory=dict)
    secret_fields: list[str] = field(default_factory=list)
    sealed: str = ""
    label: str = ""
    base_urls: dict[str, str] = field(default_factory=dict)
    schedule: str | None = None
    enabled: bool = True
    created_at: str = ""
    updated_at: str = ""

    def to_doc(self) -> dict[str, Any]:
        return {
            "_id": self.id,
            "connector": self.connector,
            "label": self.label,
            "fields": self.fields,
            "secrets": self.sealed,
            "secret_fields": self.secret_fields,
            "base_urls": self.base_urls,
            "schedule": self.schedule,
            "enabled": self.enabled,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> Account:
        return cls(
            id=doc["_id"],
            connector=doc["connector"],
            fields=dict(doc.get("fields", {})),
            secret_fields=list(doc.get("secret_fields", [])),
            sealed=doc.get("secrets", ""),
            label=doc.get("label", ""),
            base_urls=dict(doc.get("base_urls", {})),
            schedule=doc.get("schedule"),
            enabled=bool(doc.get("enabled", True)),
            created_at=doc.get("created_at", ""),
            updated_at=doc.get("updated_at", ""),
        )

    def public(self) -> dict[str, Any]:
        """What the API and the CLI show: secret values never, only that they are set."""
        return {
            "id": self.id,
            "connector": self.connector,
            "label": self.label,
            "credentials": dict(self.fields),
            "secrets_set": sorted(self.secret_fields),
            "base_urls": dict(self.base_urls),
            "schedule": self.schedule,
            "enabled": self.enabled,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


def check_credentials(
    manifest: Manifest,
    given: Mapping[str, Any],
    *,
    fields: Mapping[str, str] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Merge ``given`` into an account's current values; check them against the manifest.

    Returns the plain fields and the secret values. An empty string clears an optional
    field; a required field must end up with a value (its default counts).
    """
    known = {f.name: f for f in manifest.credentials}
    plain = dict(fields or {})
    secret = dict(secrets or {})
    for name, value in given.items():
        spec = known.get(name)
        if spec is None:
            raise InputError(
                f"{manifest.id} has no field {name!r} (it has: {', '.join(known) or 'none'})"
            )
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise InputError(f"{name}: a value is a string of at most {MAX_VALUE} characters")
        target = secret if spec.secret else plain
        if value == "":
            target.pop(name, None)
            continue
        if spec.kind == "select" and spec.options and value not in spec.options:
            raise InputError(f"{name}: one of {', '.join(spec.options)}")
        if spec.kind == "number":
            try:
                float(value)
            except ValueError:
                raise InputError(f"{name}: a number") from None
        if spec.kind == "url" and urlsplit(value).scheme not in ("http", "https"):
            raise InputError(f"{name}: an http(s) URL")
        if spec.kind == "path" and not value.startswith("/"):
            raise InputError(f"{name}: an absolute path")
        target[name] = value
    for spec in manifest.credentials:
        store = secret if spec.secret else plain
        if spec.name not in store and spec.default is not None and not spec.secret:
            store[spec.name] = spec.default
        if spec.required and not store.get(spec.name):
            raise InputError(f"{manifest.id} needs {spec.name!r} ({spec.label})")
    return plain, secret


def check_base_urls(manifest: Manifest, given: Mapping[str, Any]) -> dict[str, str]:
    urls: dict[str, str] = {}
    for name, value in given.items():
        if name not in manifest.base_urls:
            raise InputError(
                f"{manifest.id} has no base URL {name!r} (it has: {', '.join(manifest.base_urls) or 'none'})"
            )
        if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
            raise InputError(f"base URL {name}: an http(s) URL")
        urls[name] = value
    return urls


class AccountStore:
    def __init__(self, box: Box) -> None:
        self._box = box

    # -- accounts ----------------------------------------------------------------------------

    async def all(self) -> list[Account]:
        return [Account.from_doc(d) async for d in self._box.documents.iterate(ACCOUNTS)]

    async def get(self, account_id: str) -> Account:
        try:
            return Account.from_doc(await self._box.documents.get(ACCOUNTS, account_id))
        except NotFound:
            raise NotFound(f"no account {account_id!r} (`selfdata connectors list`)") from None

    async def create(self, connector: str) -> Account:
        now = _now()
        return Account(id=uuid.uuid4().hex, connector=connector, created_at=now, updated_at=now)

    async def put(
        self, account: Account, manifest: Manifest, secrets: Mapping[str, str] | None
    ) -> None:
        if account.schedule is not None:
            parse_schedule(account.schedule)
        if secrets is not None:
            account.sealed = self._seal(account, dict(secrets))
            account.secret_fields = sorted(secrets)
        account.updated_at = _now()
        await self._box.documents.put_many(resolve(ACCOUNTS), [account.to_doc()])
        if manifest.runs_locked:
            await self._set_locked_source(account)
        else:
            await self._drop_locked_source(account.id)

    def secrets(self, account: Account) -> dict[str, str]:
        """The secret values (only the daemon, for a run of this account's connector)."""
        if not account.sealed:
            return {}
        key = self._box.keys.subkey(Purpose.CREDENTIALS)
        plain = crypto.aead_decrypt(key, base64.b64decode(account.sealed), _ad(account))
        values: dict[str, str] = json.loads(plain)
        return values

    async def delete(self, account_id: str) -> None:
        account = await self.get(account_id)
        state = await self.state(account_id)
        for run_id in state.get("runs", []):
            await self._delete(RUNS, run_id)
        await self._delete(STATES, account_id)
        await self._box.documents.delete(ACCOUNTS, account.id)
        await self._drop_locked_source(account_id)

    # -- state and runs --------------------------------------------------------------------------

    async def state(self, account_id: str) -> dict[str, Any]:
        try:
            return await self._box.documents.get(STATES, account_id)
        except NotFound:
            return {"_id": account_id, "status": "new", "state": {}, "failures": 0, "runs": []}

    async def put_state(self, state: dict[str, Any]) -> None:
        doc = {k: v for k, v in state.items() if k != "_rev"}
        await self._box.documents.put_many(resolve(STATES), [doc])

    async def add_run(self, state: dict[str, Any], run: dict[str, Any]) -> None:
        """Record a finished run and forget the oldest beyond :data:`KEEP_RUNS`."""
        await self._box.documents.put_many(resolve(RUNS), [{**run, "_id": run["id"]}])
        runs = [r for r in state.get("runs", []) if r != run["id"]] + [run["id"]]
        for old in runs[:-KEEP_RUNS]:
            await self._delete(RUNS, old)
        state["runs"] = runs[-KEEP_RUNS:]

    async def run(self, run_id: str) -> dict[str, Any]:
        try:
            doc = await self._box.documents.get(RUNS, run_id)
        except NotFound:
            raise NotFound(f"no run {run_id!r}") from None
        doc.pop("_rev", None)
        doc.pop("_id", None)
        return doc

    async def _delete(self, doctype: str, doc_id: str) -> None:
        with contextlib.suppress(NotFound):
            await self._box.documents.delete(doctype, doc_id)

    # -- while locked ------------------------------------------------------------------------

    async def locked_sources(self) -> list[Account]:
        """Accounts that may run while locked (readable without the keys)."""
        rows = await self._box.db.fetchall(
            "SELECT account, connector, settings FROM locked_sources"
        )
        found = []
        for account_id, connector, settings in rows:
            try:
                data = json.loads(settings)
                found.append(
                    Account(
                        id=str(account_id),
                        connector=str(connector),
                        fields={str(k): str(v) for k, v in data.get("fields", {}).items()},
                        base_urls={str(k): str(v) for k, v in data.get("base_urls", {}).items()},
                        schedule=data.get("schedule"),
                        enabled=bool(data.get("enabled", True)),
                        label=str(data.get("label", "")),
                    )
                )
            except (ValueError, AttributeError, TypeError):
                continue  # a damaged row: the account runs again after unlock
        return found

    async def _set_locked_source(self, account: Account) -> None:
        settings = json.dumps(
            {
                "fields": account.fields,
                "base_urls": account.base_urls,
                "schedule": account.schedule,
                "enabled": account.enabled,
                "label": account.label,
            }
        )
        async with self._box.db.transaction() as db:
            await db.execute(
                "INSERT OR REPLACE INTO locked_sources(account, connector, settings) VALUES (?, ?, ?)",
                (account.id, account.connector, settings),
            )

    async def _drop_locked_source(self, account_id: str) -> None:
        async with self._box.db.transaction() as db:
            await db.execute("DELETE FROM locked_sources WHERE account = ?", (account_id,))

    def _seal(self, account: Account, secrets: dict[str, str]) -> str:
        if not secrets:
            return ""
        key = self._box.keys.subkey(Purpose.CREDENTIALS)
        blob = crypto.aead_encrypt(key, json.dumps(secrets).encode(), _ad(account))
        return base64.b64encode(blob).decode()


def _ad(account: Account) -> bytes:
    return b"\0".join([b"selfdata/credentials/v1", account.id.encode(), account.connector.encode()])


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
