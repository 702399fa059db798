"""One backup run: snapshot, send what is new, prove it can be read back, prune.

1. **Snapshot**, holding the store's write lock for the moment it takes: every blob is
   hard-linked into ``<data dir>/.backup/`` (a file deleted meanwhile keeps its bytes
   there) and SQLite writes a consistent copy of the store (``VACUUM INTO``). Both are
   ciphertext already: nothing in clear touches the disk.
2. **Send** the blobs the target lacks (blobs are immutable: incremental means new blobs
   plus a new store copy), then the store copy, each sealed under the backup key.
3. **Verify** by a test restore of a sample: the store copy is fetched back, opened and
   checked (authentication, SHA-256, ``PRAGMA integrity_check``, the vault header), and a
   few blobs are fetched and authenticated under both layers.
4. **Commit**: the snapshot's manifest is written last. Then the retention policy
   removes old snapshots and the blobs no kept snapshot needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import random
import shutil
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__, crypto
from ..box import Box
from ..errors import IntegrityError, SelfdataError
from ..store import FILES_DOCTYPE, SCHEMA_VERSION
from ..store.codec import ad_for, open_dictionaries, open_document
from ..vault import Keys, Purpose
from .repository import (
    Retention,
    blob_object,
    list_snapshots,
    new_snapshot_id,
    read_manifest,
    write_key_file,
    write_manifest,
)
from .sealing import backup_key, open_object, seal_object
from .targets import Target, TargetError

__all__ = ["BackupError", "BackupReport", "run_backup", "verify_snapshot"]

log = logging.getLogger(__name__)
STAGING = ".backup"
SAMPLE = 3
_CHUNK = 1024 * 1024


class BackupError(SelfdataError):
    """A backup could not be made or checked; the previous snapshots are untouched."""

    http_status = 502
    code = "backup"


@dataclass
class BackupReport:
    target: str
    snapshot: str = ""
    blobs: int = 0
    blobs_sent: int = 0
    bytes_sent: int = 0
    database_bytes: int = 0
    verified_blobs: int = 0
    pruned: list[str] = field(default_factory=list)
    blobs_removed: int = 0
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


async def run_backup(box: Box, target: Target, retention: Retention | None = None) -> BackupReport:
    # our own copy of the keys: locking the box meanwhile wipes its copy, not this run's
    keys = Keys(bytearray(box.keys.master))  # Locked / NotInitialized first
    header = box.header
    started = time.monotonic()
    report = BackupReport(target.label)
    key = backup_key(keys)
    staging = box.paths.root / STAGING
    await asyncio.to_thread(_fresh_dir, staging)
    try:
        await write_key_file(target, header, key)
        snapshot_id = new_snapshot_id()
        report.snapshot = snapshot_id
        db_copy = staging / "store.db"
        async with box.db.transaction():  # writers wait: the copy and the links agree
            linked = await asyncio.to_thread(_link_blobs, box.paths.blobs, staging / "blobs")
            await asyncio.to_thread(_vacuum_into, box.paths.database, db_copy)
        referenced = await asyncio.to_thread(_referenced_blobs, db_copy, keys)
        missing = sorted(referenced - linked)
        report.problems += [f"blob {name} is missing from the box (run fsck)" for name in missing]
        blobs = {name: (staging / "blobs" / name).stat().st_size for name in referenced & linked}
        report.blobs = len(blobs)
        present = await target.list("blobs")
        new = [n for n in sorted(blobs) if blob_object(n) not in present]
        for name in new:
            obj = blob_object(name)
            report.bytes_sent += await target.put(
                obj, seal_object(key, obj, _read_file(staging / "blobs" / name))
            )
            report.blobs_sent += 1
        db_name = f"snapshots/{snapshot_id}.db"
        db_digest = await asyncio.to_thread(_sha256, db_copy)
        report.database_bytes = db_copy.stat().st_size
        report.bytes_sent += await target.put(
            db_name, seal_object(key, db_name, _read_file(db_copy))
        )
        manifest = {
            "id": snapshot_id,
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "selfdata": __version__,
            "schema": SCHEMA_VERSION,
            "database": {"object": db_name, "size": report.database_bytes, "sha256": db_digest},
            "blobs": blobs,
        }
        sample = new[:SAMPLE] if new else random.sample(sorted(blobs), min(SAMPLE, len(blobs)))
        report.verified_blobs = await verify_snapshot(
            box, target, key, manifest, staging, sample=sample, keys=keys
        )
        await write_manifest(target, key, manifest)
        await _prune(target, key, retention or Retention(), snapshot_id, report)
    except (TargetError, IntegrityError) as err:
        raise BackupError(f"backup to {target.label} failed: {err.message}") from None
    except OSError as err:
        raise BackupError(f"backup to {target.label} failed: {err.strerror or err}") from None
    finally:
        keys.wipe()
        await asyncio.to_thread(shutil.rmtree, staging, True)
    report.seconds = round(time.monotonic() - started, 3)
    return report


async def verify_snapshot(
    box: Box,
    target: Target,
    key: bytes,
    manifest: dict[str, Any],
    workdir: Path,
    *,
    sample: list[str] | None = None,
    keys: Keys | None = None,
) -> int:
    """Test-restore a snapshot's store copy and a sample of its blobs; raise if anything fails."""
    keys = keys or box.keys
    db_info = manifest["database"]
    copy = workdir / "verify.db"
    await _fetch(target, key, db_info["object"], copy)
    if await asyncio.to_thread(_sha256, copy) != db_info["sha256"]:
        raise IntegrityError(f"the store copy of {manifest['id']} does not match its manifest")
    await asyncio.to_thread(_check_database, copy, box.header.inbox_public_key)
    copy.unlink()
    if sample is None:
        blobs = sorted(manifest.get("blobs", {}))
        sample = random.sample(blobs, min(SAMPLE, len(blobs)))
    files_key = keys.subkey(Purpose.FILES)
    for name in sample:
        obj = blob_object(name)
        opener = crypto.StreamDecryptor(files_key, b"file\0" + name.encode())
        async for chunk in open_object(key, obj, target.get(obj)):
            opener.update(chunk)  # the file's own layer authenticates too (and is discarded)
        opener.close()
    return len(sample)


async def _prune(
    target: Target, key: bytes, retention: Retention, current: str, report: BackupReport
) -> None:
    snapshots = await list_snapshots(target)
    keep = retention.keep(snapshots) | {current}
    needed: set[str] = set()
    for snapshot_id in sorted(keep):
        try:
            needed.update(
                blob_object(n) for n in (await read_manifest(target, key, snapshot_id))["blobs"]
            )
        except (IntegrityError, TargetError, KeyError) as err:
            # a damaged snapshot must not make us delete blobs others need: stop pruning
            report.problems.append(f"snapshot {snapshot_id} is unreadable ({err}): not pruned")
            return
    for snapshot_id in snapshots:
        if snapshot_id not in keep:
            await target.delete(f"snapshots/{snapshot_id}.json")
            await target.delete(f"snapshots/{snapshot_id}.db")
            report.pruned.append(snapshot_id)
    listed = await target.list("snapshots")
    for name in listed:  # store copies of runs that never committed
        if name.endswith(".db") and name.removeprefix("snapshots/").removesuffix(".db") not in keep:
            await target.delete(name)
    for obj in await target.list("blobs"):
        if obj not in needed:
            await target.delete(obj)
            report.blobs_removed += 1


# --- helpers (files and SQLite, run in worker threads) -------------------------------------------


def _fresh_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(mode=0o700)


def _link_blobs(blobs: Path, into: Path) -> set[str]:
    into.mkdir(mode=0o700, exist_ok=True)
    linked: set[str] = set()
    for path in blobs.glob("??/*"):
        if path.name.startswith("."):
            continue
        try:
            os.link(path, into / path.name)
        except FileNotFoundError:
            continue  # deleted meanwhile: not referenced by the copy either
        except OSError:
            shutil.copy2(path, into / path.name)  # a file system without hard links
        linked.add(path.name)
    return linked


def _vacuum_into(database: Path, copy: Path) -> None:
    conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        conn.execute("VACUUM INTO ?", (str(copy),))
    finally:
        conn.close()


def _referenced_blobs(copy: Path, keys: Keys) -> set[str]:
    """The blob names the copy's ``io.cozy.files`` documents point to."""
    doc_key = keys.subkey(Purpose.DOCUMENTS)
    dh = keys.name("doctype", FILES_DOCTYPE)
    conn = sqlite3.connect(f"file:{copy}?mode=ro", uri=True)
    try:
        rows = conn.execute(
            "SELECT id, version, body FROM documents WHERE doctype = ?", (dh,)
        ).fetchall()
        dictionaries = open_dictionaries(
            doc_key,
            conn.execute(
                "SELECT id, doctype, body FROM dictionaries WHERE doctype = ? ORDER BY seq", (dh,)
            ),
        )
    finally:
        conn.close()
    names: set[str] = set()
    for ih, version, body in rows:
        doc = json.loads(
            open_document(doc_key, body, ad_for(b"doc", dh, ih, version), dictionaries)
        )
        if isinstance(doc, dict) and doc.get("type") == "file":
            names.add(keys.name("blob", str(doc["_id"])).hex())
    return names


def _check_database(path: Path, inbox_public_key: bytes) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        problems = [r[0] for r in conn.execute("PRAGMA integrity_check") if r[0] != "ok"]
        if problems:
            raise IntegrityError(f"the store copy fails SQLite's integrity check: {problems[0]}")
        row = conn.execute("SELECT value FROM meta WHERE key = 'vault'").fetchone()
    except sqlite3.DatabaseError as err:
        raise IntegrityError(f"the store copy is not a readable SQLite file ({err})") from None
    finally:
        conn.close()
    from ..vault import VaultHeader  # noqa: PLC0415

    if row is None or VaultHeader.from_json(row[0]).inbox_public_key != inbox_public_key:
        raise IntegrityError("the store copy holds another vault")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while data := file.read(_CHUNK):
            digest.update(data)
    return digest.hexdigest()


async def _read_file(path: Path) -> AsyncIterator[bytes]:
    with open(path, "rb") as file:  # noqa: ASYNC230 - each read goes through a thread
        while data := await asyncio.to_thread(file.read, _CHUNK):
            yield data


async def _fetch(target: Target, key: bytes, name: str, into: Path) -> None:
    try:
        with open(into, "xb") as out:  # noqa: ASYNC230
            async for chunk in open_object(key, name, target.get(name)):
                await asyncio.to_thread(out.write, chunk)
    except BaseException:
        with contextlib.suppress(OSError):
            into.unlink()  # noqa: ASYNC240 - one unlink, on failure
        raise
