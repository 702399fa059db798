"""The layout of a backup repository on its target (docs/backups.md).

::

    selfdata-backup.json           in clear: format, version, the key check, and the vault
                                   header with only its recovery-key wrap (the passphrase
                                   wrap is left out: a stolen backup gives no passphrase
                                   to guess at)
    blobs/ab/ab12…                 each file blob of the box, sealed again (immutable: sent once)
    snapshots/<id>.db              a consistent copy of the SQLite store, sealed
    snapshots/<id>.json            the snapshot's manifest, sealed: written last, so a
                                   snapshot exists once it is complete

A snapshot id is its UTC time and a random suffix (``20250314T030000Z-1234569f3a``): ids sort
by time.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import IntegrityError
from ..vault import VaultHeader
from .sealing import key_check, open_object, seal_object
from .targets import Target, TargetError

__all__ = [
    "KEY_FILE",
    "Retention",
    "blob_object",
    "list_snapshots",
    "new_snapshot_id",
    "read_key_file",
    "read_manifest",
    "snapshot_time",
    "write_key_file",
    "write_manifest",
]

KEY_FILE = "selfdata-backup.json"
FORMAT = "selfdata-backup"
VERSION = 1


def blob_object(name: str) -> str:
    return f"blobs/{name[:2]}/{name}"


def new_snapshot_id(now: dt.datetime | None = None) -> str:
    now = now or dt.datetime.now(dt.UTC)  # microseconds: ids sort by time within a second
    return now.strftime("%Y%m%dT%H%M%SZ-%f") + secrets.token_hex(2)


def snapshot_time(snapshot_id: str) -> dt.datetime:
    return dt.datetime.strptime(snapshot_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)


async def _collect(chunks: AsyncIterator[bytes], limit: int = 256 * 1024 * 1024) -> bytes:
    data = bytearray()
    async for chunk in chunks:
        data += chunk
        if len(data) > limit:
            raise IntegrityError("a backup manifest is unreasonably large")
    return bytes(data)


async def _once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def write_key_file(target: Target, header: VaultHeader, key: bytes) -> None:
    recovery_only = VaultHeader(
        kdf=header.kdf,
        by_passphrase=b"",
        by_recovery=header.by_recovery,
        inbox_public_key=header.inbox_public_key,
    )
    text = json.dumps(
        {
            "format": FORMAT,
            "version": VERSION,
            "check": key_check(key),
            "vault": json.loads(recovery_only.to_json()),
        },
        indent=1,
        sort_keys=True,
    ).encode()
    existing = await target.list("")
    if KEY_FILE in existing:
        current = await _collect(target.get(KEY_FILE), 1024 * 1024)
        if current == text:
            return
        try:
            old = json.loads(current)
        except ValueError:
            old = {}
        if old.get("check") not in (None, key_check(key)):
            raise TargetError(
                f"{target.label} holds another box's backups: give each box its own target"
            )
    await target.put(KEY_FILE, _once(text))


async def read_key_file(target: Target) -> dict[str, Any]:
    try:
        text = await _collect(target.get(KEY_FILE), 1024 * 1024)
    except TargetError as err:
        raise TargetError(f"no selfdata backup at {target.label} ({err.message})") from None
    try:
        data = json.loads(text)
        if data.get("format") != FORMAT:
            raise ValueError("format")
    except (ValueError, AttributeError):
        raise IntegrityError(f"{target.label}/{KEY_FILE} is damaged") from None
    if data.get("version") != VERSION:
        raise IntegrityError(
            f"the backup at {target.label} has format version {data.get('version')}: "
            "upgrade selfdata to restore it"
        )
    return dict(data)


async def list_snapshots(target: Target) -> list[str]:
    names = await target.list("snapshots")
    return sorted(
        n.removeprefix("snapshots/").removesuffix(".json")
        for n in names
        if n.startswith("snapshots/") and n.endswith(".json")
    )


async def write_manifest(target: Target, key: bytes, manifest: dict[str, Any]) -> None:
    name = f"snapshots/{manifest['id']}.json"
    data = json.dumps(manifest, sort_keys=True).encode()
    await target.put(name, seal_object(key, name, _once(data)))


async def read_manifest(target: Target, key: bytes, snapshot_id: str) -> dict[str, Any]:
    name = f"snapshots/{snapshot_id}.json"
    data = await _collect(open_object(key, name, target.get(name)))
    try:
        manifest = json.loads(data)
    except ValueError:
        raise IntegrityError(f"backup manifest {snapshot_id} is not JSON") from None
    if not isinstance(manifest, dict) or manifest.get("id") != snapshot_id:
        raise IntegrityError(f"backup manifest {snapshot_id} is not the one it claims")
    return manifest


@dataclass(frozen=True)
class Retention:
    """Grandfather-father-son: the newest snapshot of each of the last N days, weeks, months."""

    daily: int = 7
    weekly: int = 4
    monthly: int = 12
    last: int = 1  # the newest ones, whatever their day

    def to_json(self) -> dict[str, int]:
        return {
            "daily": self.daily,
            "weekly": self.weekly,
            "monthly": self.monthly,
            "last": self.last,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Retention:
        data = data or {}
        values = {
            k: int(data.get(k, getattr(cls, k))) for k in ("daily", "weekly", "monthly", "last")
        }
        if any(v < 0 or v > 10_000 for v in values.values()) or values["last"] < 1:
            raise ValueError("retention counts are 0 to 10000, and at least the last one is kept")
        return cls(**values)

    def keep(self, ids: Iterable[str]) -> set[str]:
        ordered = sorted(ids, reverse=True)  # newest first
        kept = set(ordered[: self.last])
        for count, bucket in (
            (self.daily, lambda t: t.date()),
            (self.weekly, lambda t: t.isocalendar()[:2]),
            (self.monthly, lambda t: (t.year, t.month)),
        ):
            seen: list[object] = []
            for snapshot_id in ordered:
                key = bucket(snapshot_time(snapshot_id))
                if key in seen:
                    continue
                if len(seen) >= count:
                    break
                seen.append(key)
                kept.add(snapshot_id)
        return kept
