"""Restoring a backup onto a freshly set-up box, with only the recovery key.

Everything is fetched, decrypted and checked in ``<data dir>/.restore/`` first — the
store copy (its seal, its SHA-256, SQLite's integrity check, and that the recovery key
opens the vault inside it) and every blob (both layers authenticate) — and only then put
in place, in one step, under the box's own lock. A wrong recovery key, a damaged or
truncated backup, an unreachable target or a full disk stop the restore before that
step: the box is left as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import crypto
from ..archive.events import record_restore
from ..box import Box
from ..errors import AlreadyInitialized, IntegrityError, StoreError, VaultError, WrongPassphrase
from ..store import SCHEMA_VERSION
from ..vault import Purpose, VaultHeader, parse_recovery_key
from .engine import BackupError
from .repository import blob_object, list_snapshots, read_key_file, read_manifest
from .sealing import backup_key, key_check, open_object
from .targets import Target, TargetError

__all__ = ["RestoreReport", "restore", "snapshots"]

STAGING = ".restore"


@dataclass
class RestoreReport:
    snapshot: str
    created: str
    blobs: int
    database_bytes: int

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def _unlock(target: Target, recovery_key: str) -> tuple[bytes, VaultHeader, Any]:
    data = await read_key_file(target)
    try:
        header = VaultHeader.from_json(json.dumps(data["vault"]))
    except (KeyError, VaultError) as err:
        raise IntegrityError(f"the backup's key file is damaged ({err})") from None
    parse_recovery_key(recovery_key)  # a mistyped key says so, before any crypto
    try:
        keys = header.unlock_with_recovery_key(recovery_key)
    except WrongPassphrase:
        raise WrongPassphrase("wrong recovery key for this backup") from None
    except VaultError as err:
        raise IntegrityError(f"the backup's key file is damaged ({err.message})") from None
    key = backup_key(keys)
    if data.get("check") != key_check(key):
        raise IntegrityError("the backup's key file does not match its key")
    return key, header, keys


async def snapshots(target: Target, recovery_key: str) -> list[dict[str, Any]]:
    """The snapshots on ``target`` (newest last), readable with ``recovery_key``."""
    key, _header, keys = await _unlock(target, recovery_key)
    try:
        found = []
        for snapshot_id in await list_snapshots(target):
            manifest = await read_manifest(target, key, snapshot_id)
            found.append(
                {
                    "id": snapshot_id,
                    "created": manifest.get("created"),
                    "files": len(manifest.get("blobs", {})),
                    "database_bytes": manifest["database"]["size"],
                }
            )
        return found
    finally:
        keys.wipe()


async def restore(
    box: Box, target: Target, recovery_key: str, snapshot: str | None = None
) -> RestoreReport:
    if box.initialized:
        raise AlreadyInitialized(
            "this box already has a vault: restore onto a freshly set-up box (an empty "
            "data directory), never over one in use"
        )
    key, _header, keys = await _unlock(target, recovery_key)
    staging = box.paths.root / STAGING
    try:
        ids = await list_snapshots(target)
        if not ids:
            raise BackupError(f"there is no complete snapshot at {target.label}")
        chosen = snapshot or ids[-1]
        if chosen not in ids:
            raise BackupError(f"no snapshot {chosen!r} at {target.label} (it has {', '.join(ids)})")
        manifest = await read_manifest(target, key, chosen)
        await asyncio.to_thread(_fresh_dir, staging)
        db_info = manifest["database"]
        copy = staging / "selfdata.db"
        digest = hashlib.sha256()
        with open(copy, "xb") as out:  # noqa: ASYNC230 - writes go through a thread
            async for chunk in open_object(key, db_info["object"], target.get(db_info["object"])):
                digest.update(chunk)
                await asyncio.to_thread(out.write, chunk)
            out.flush()
            await asyncio.to_thread(os.fsync, out.fileno())
        if digest.hexdigest() != db_info["sha256"]:
            raise IntegrityError("the store copy does not match its manifest")
        await asyncio.to_thread(_check_copy, copy, recovery_key)
        files_key = keys.subkey(Purpose.FILES)
        blob_dir = staging / "blobs"
        for name in sorted(manifest.get("blobs", {})):
            obj = blob_object(name)
            (blob_dir / name[:2]).mkdir(parents=True, exist_ok=True, mode=0o750)
            inner = crypto.StreamDecryptor(files_key, b"file\0" + name.encode())
            with open(blob_dir / name[:2] / name, "xb") as out:  # noqa: ASYNC230
                async for chunk in open_object(key, obj, target.get(obj)):
                    inner.update(chunk)  # authenticate the file's own layer; keep ciphertext
                    await asyncio.to_thread(out.write, chunk)
                out.flush()
                await asyncio.to_thread(os.fsync, out.fileno())
            inner.close()
        await box.reopen(lambda: _install(staging, box.paths.root))
    except (IntegrityError, TargetError) as err:
        raise BackupError(
            f"restore from {target.label} failed, nothing was changed: {err.message}"
        ) from None
    except OSError as err:
        raise BackupError(
            f"restore failed, nothing was changed: {err.strerror or err} (is the disk full?)"
        ) from None
    finally:
        keys.wipe()
        await asyncio.to_thread(shutil.rmtree, staging, True)
    box.paths.setup_code.unlink(missing_ok=True)
    await record_restore(box, target.label, chosen, str(manifest.get("created", "")))
    return RestoreReport(
        snapshot=chosen,
        created=str(manifest.get("created", "")),
        blobs=len(manifest.get("blobs", {})),
        database_bytes=int(db_info["size"]),
    )


def _fresh_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700)


def _check_copy(copy: Path, recovery_key: str) -> None:
    try:
        conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
        try:
            problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            row = conn.execute("SELECT value FROM meta WHERE key = 'vault'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        raise IntegrityError(f"the store copy is not a readable SQLite file ({err})") from None
    if problems:
        raise IntegrityError(f"the store copy fails SQLite's integrity check: {problems[0]}")
    if version > SCHEMA_VERSION:
        raise StoreError("this backup was made by a newer selfdata: upgrade selfdata first")
    if row is None:
        raise IntegrityError("the store copy holds no vault")
    VaultHeader.from_json(row[0]).unlock_with_recovery_key(recovery_key).wipe()


def _install(staging: Path, root: Path) -> None:
    """Put the checked store and blobs in place (the box's store is closed meanwhile)."""
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(FileNotFoundError):
            (root / f"selfdata.db{suffix}").unlink()
    blobs = root / "blobs"
    staged = staging / "blobs"
    if staged.is_dir():
        for folder in staged.iterdir():
            (blobs / folder.name).mkdir(parents=True, exist_ok=True, mode=0o750)
            for blob in folder.iterdir():
                os.replace(blob, blobs / folder.name / blob.name)
    os.replace(staging / "selfdata.db", root / "selfdata.db")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
