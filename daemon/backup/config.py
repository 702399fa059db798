"""Backup targets the owner configured: ``selfdata.backups`` documents.

A target's secrets (an SSH private key, a password, an S3 secret key) are sealed once
more under the vault's *credentials* subkey, bound to the target's name: they never come
back out through the documents API, the CLI or an export (``selfdata.backups`` is not
exported), only into the backup run that needs them.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from .. import crypto
from ..box import Box
from ..doctypes import resolve
from ..errors import InputError, NotFound
from ..scheduler.triggers import parse_schedule
from ..vault import Purpose
from .repository import Retention
from .targets import describe

__all__ = ["BACKUPS", "TargetConfig", "TargetStore"]

BACKUPS = "selfdata.backups"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_OPTIONS = frozenset({"host_key", "endpoint", "region", "access_key"})
_SECRETS = frozenset({"ssh_key", "password", "secret_key"})


@dataclass
class TargetConfig:
    name: str
    url: str
    options: dict[str, str] = field(default_factory=dict)
    sealed: str = ""
    secret_fields: list[str] = field(default_factory=list)
    schedule: str | None = "every 1d"
    retention: Retention = field(default_factory=Retention)
    enabled: bool = True
    created_at: str = ""
    updated_at: str = ""
    last: dict[str, Any] | None = None

    def to_doc(self) -> dict[str, Any]:
        return {
            "_id": self.name,
            "url": self.url,
            "options": self.options,
            "secrets": self.sealed,
            "secret_fields": self.secret_fields,
            "schedule": self.schedule,
            "retention": self.retention.to_json(),
            "enabled": self.enabled,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "last": self.last,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> TargetConfig:
        return cls(
            name=doc["_id"],
            url=doc["url"],
            options=dict(doc.get("options", {})),
            sealed=doc.get("secrets", ""),
            secret_fields=list(doc.get("secret_fields", [])),
            schedule=doc.get("schedule"),
            retention=Retention.from_json(doc.get("retention")),
            enabled=bool(doc.get("enabled", True)),
            created_at=doc.get("created_at", ""),
            updated_at=doc.get("updated_at", ""),
            last=doc.get("last"),
        )

    def public(self) -> dict[str, Any]:
        """What the API and the CLI show: which secrets are set, never their values."""
        return {
            "name": self.name,
            "url": self.url,
            "options": dict(self.options),
            "secrets_set": sorted(self.secret_fields),
            "schedule": self.schedule,
            "retention": self.retention.to_json(),
            "enabled": self.enabled,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "last": self.last,
        }


def check_target(
    name: str, url: str, options: dict[str, Any], secrets: dict[str, Any], schedule: str | None
) -> None:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InputError("a target's name is 1 to 32 lowercase letters, digits and dashes")
    if not isinstance(url, str) or not url or len(url) > 2048:
        raise InputError("give the target's URL: a directory, sftp://… or s3://…")
    describe(url)
    for label, values, allowed in (("option", options, _OPTIONS), ("secret", secrets, _SECRETS)):
        for key, value in values.items():
            if key not in allowed:
                raise InputError(f"unknown {label} {key!r} (known: {', '.join(sorted(allowed))})")
            if not isinstance(value, str) or len(value) > 8192:
                raise InputError(f"{key}: a string of at most 8192 characters")
    if schedule is not None:
        parse_schedule(schedule)


class TargetStore:
    def __init__(self, box: Box) -> None:
        self._box = box

    async def all(self) -> list[TargetConfig]:
        return [TargetConfig.from_doc(d) async for d in self._box.documents.iterate(BACKUPS)]

    async def get(self, name: str) -> TargetConfig:
        try:
            return TargetConfig.from_doc(await self._box.documents.get(BACKUPS, name))
        except NotFound:
            raise NotFound(f"no backup target {name!r} (`selfdata backup targets`)") from None

    async def put(self, target: TargetConfig, secrets: dict[str, str] | None) -> None:
        if secrets is not None:
            secrets = {k: v for k, v in secrets.items() if v}
            target.sealed = self._seal(target.name, secrets)
            target.secret_fields = sorted(secrets)
        now = _now()
        target.created_at = target.created_at or now
        target.updated_at = now
        await self._box.documents.put_many(resolve(BACKUPS), [target.to_doc()])

    async def record(self, name: str, last: dict[str, Any]) -> None:
        """Keep the last run's result (the target may have been removed meanwhile)."""
        try:
            target = await self.get(name)
        except NotFound:
            return
        target.last = last
        await self._box.documents.put_many(resolve(BACKUPS), [target.to_doc()])

    async def delete(self, name: str) -> None:
        await self.get(name)
        await self._box.documents.delete(BACKUPS, name)

    def secrets(self, target: TargetConfig) -> dict[str, str]:
        if not target.sealed:
            return {}
        key = self._box.keys.subkey(Purpose.CREDENTIALS)
        plain = crypto.aead_decrypt(key, base64.b64decode(target.sealed), _ad(target.name))
        values: dict[str, str] = json.loads(plain)
        return values

    def _seal(self, name: str, secrets: dict[str, str]) -> str:
        if not secrets:
            return ""
        key = self._box.keys.subkey(Purpose.CREDENTIALS)
        blob = crypto.aead_encrypt(key, json.dumps(secrets).encode(), _ad(name))
        return base64.b64encode(blob).decode()


def _ad(name: str) -> bytes:
    return b"selfdata/backup-target/v1\0" + name.encode()


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
