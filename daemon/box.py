"""A box: one data directory, its vault and its store, locked or unlocked.

This is the one place that knows the lock state. The daemon holds one ``Box`` for its
lifetime; offline CLI commands open one on the data dir directly. Both take an
exclusive lock on the data dir, so two processes never write the same store.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import __version__, crypto
from .errors import AlreadyInitialized, IntegrityError, Locked, NotInitialized, StoreBusy
from .keyfile import check_location, key_file_text
from .paths import DataDir
from .store import Database, DocumentStore, FileStore, Inbox, MergeReport, SeriesStore
from .store.codec import ad_for, open_dictionary, open_document, open_json
from .store.dictionaries import Dictionaries
from .vault import Keys, Purpose, VaultHeader, check_passphrase, create_vault

__all__ = ["Box", "FsckReport", "kdf_target_seconds"]

_VAULT_META = "vault"


def kdf_target_seconds() -> float:
    """How long unlocking should take: ~1 s on the device (tests set 0: the floor)."""
    return float(os.environ.get("SELFDATA_KDF_SECONDS", "1.0"))


@dataclass
class FsckReport:
    checked: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    deep: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "deep": self.deep,
            "checked": self.checked,
            "problems": self.problems,
        }


class Box:
    def __init__(self, paths: DataDir, db: Database, lock_fd: int) -> None:
        self.paths = paths
        self.db = db
        self._lock_fd = lock_fd
        self._header: VaultHeader | None = None
        self._keys: Keys | None = None
        self._documents: DocumentStore | None = None
        self._series: SeriesStore | None = None
        self._files: FileStore | None = None
        # Argon2id takes ~1 s and 64 MiB: one at a time, so guesses cannot exhaust a Pi.
        self._kdf_lock = asyncio.Lock()

    @classmethod
    async def open(cls, paths: DataDir) -> Box:
        paths.create()
        fd = os.open(paths.daemon_lock, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StoreBusy(
                f"another selfdata process is using {paths.root} (is the daemon running?)"
            ) from None
        try:
            db = await Database.open(paths.database)
        except BaseException:
            os.close(fd)
            raise
        box = cls(paths, db, fd)
        try:
            if text := await db.get_meta(_VAULT_META):
                box._header = VaultHeader.from_json(text)
        except BaseException:
            await box.close()  # a refused header must not keep the data dir locked
            raise
        return box

    async def close(self) -> None:
        self.lock()
        await self.db.close()
        os.close(self._lock_fd)

    async def reopen(self, replace: Callable[[], None]) -> None:
        """Close the store, run ``replace`` (a restore puts another store in place; it
        runs in a thread), and open the store again, keeping the data dir's lock."""
        self.lock()
        await self.db.close()
        try:
            await asyncio.to_thread(replace)
        finally:
            self.db = await Database.open(self.paths.database)
            text = await self.db.get_meta(_VAULT_META)
            self._header = VaultHeader.from_json(text) if text else None

    # -- state ----------------------------------------------------------------------------

    @property
    def initialized(self) -> bool:
        return self._header is not None

    @property
    def locked(self) -> bool:
        return self._keys is None

    def status(self) -> dict[str, Any]:
        return {"version": __version__, "initialized": self.initialized, "locked": self.locked}

    @property
    def header(self) -> VaultHeader:
        if self._header is None:
            raise NotInitialized()
        return self._header

    @property
    def keys(self) -> Keys:
        self.header  # noqa: B018  (NotInitialized beats Locked)
        if self._keys is None:
            raise Locked()
        return self._keys

    @property
    def documents(self) -> DocumentStore:
        self.keys  # noqa: B018
        assert self._documents is not None
        return self._documents

    @property
    def series(self) -> SeriesStore:
        self.keys  # noqa: B018
        assert self._series is not None
        return self._series

    @property
    def files(self) -> FileStore:
        self.keys  # noqa: B018
        assert self._files is not None
        return self._files

    @property
    def inbox(self) -> Inbox:
        return Inbox(self.db, self.header.inbox_public_key)

    # -- vault operations -------------------------------------------------------------------

    async def init(self, passphrase: str) -> str:
        """Create the vault and unlock it; returns the recovery key (shown once)."""
        if self.initialized:
            raise AlreadyInitialized()
        check_passphrase(passphrase)  # before a second of calibration, not after
        async with self._kdf_lock:
            kdf = await asyncio.to_thread(crypto.calibrate_kdf, kdf_target_seconds())
            header, keys, recovery = await asyncio.to_thread(create_vault, passphrase, kdf)
        await self.db.set_meta(_VAULT_META, header.to_json())
        self._header = header
        await self._open_stores(keys)
        self.paths.setup_code.unlink(missing_ok=True)
        return recovery

    async def verify_passphrase(self, passphrase: str) -> Keys:
        header = self.header
        async with self._kdf_lock:
            return await asyncio.to_thread(header.unlock, passphrase)

    async def unlock(self, passphrase: str) -> MergeReport:
        keys = await self.verify_passphrase(passphrase)
        if self._keys is not None:
            keys.wipe()
            return MergeReport()
        return await self._open_stores(keys)

    async def recover(self, recovery_key: str, new_passphrase: str) -> None:
        """Set a new passphrase with the recovery key (which stays valid)."""
        keys = self.header.unlock_with_recovery_key(recovery_key)
        await self._rewrap(keys, new_passphrase)
        if self._keys is None:
            await self._open_stores(keys)
        else:
            keys.wipe()

    async def change_passphrase(self, old: str, new: str) -> None:
        keys = await self.verify_passphrase(old)
        try:
            await self._rewrap(keys, new)
        finally:
            keys.wipe()

    async def new_recovery_key(self, passphrase: str) -> str:
        keys = await self.verify_passphrase(passphrase)
        try:
            header, recovery = self.header.with_recovery_key(keys)
            await self.db.set_meta(_VAULT_META, header.to_json())
            self._header = header
            return recovery
        finally:
            keys.wipe()

    # -- unattended unlock (docs/threat-model.md: the trade-off) ------------------------------

    async def enable_unattended(self, passphrase: str, path: str) -> str:
        """Let a key file at ``path`` unlock the box; returns the file's text to write there.

        A fresh key each time: a key file made before stops working.
        """
        location = check_location(path, self.paths.root)
        keys = await self.verify_passphrase(passphrase)
        try:
            header, secret = self.header.with_unattended(keys, location)
        finally:
            keys.wipe()
        await self.db.set_meta(_VAULT_META, header.to_json())
        self._header = header
        return key_file_text(header.box_id, secret)

    async def disable_unattended(self) -> None:
        """Forget the key file's wrap: every key file stops working at once."""
        header = self.header.without_unattended()
        await self.db.set_meta(_VAULT_META, header.to_json())
        self._header = header

    async def unlock_with_key_file(self, secret: bytes) -> MergeReport:
        keys = self.header.unlock_with_key_file(secret)  # no Argon2id: 256 random bits
        if self._keys is not None:
            keys.wipe()
            return MergeReport()
        return await self._open_stores(keys)

    def lock(self) -> None:
        if self._keys is not None:
            self._keys.wipe()
        if self._series is not None:
            self._series.clear_cache()
        if self._documents is not None:
            self._documents.clear_cache()
        self._keys = self._documents = self._series = self._files = None

    async def _rewrap(self, keys: Keys, new_passphrase: str) -> None:
        check_passphrase(new_passphrase)
        async with self._kdf_lock:
            kdf = await asyncio.to_thread(crypto.calibrate_kdf, kdf_target_seconds())
            header = await asyncio.to_thread(self.header.with_passphrase, keys, new_passphrase, kdf)
        await self.db.set_meta(_VAULT_META, header.to_json())
        self._header = header

    async def _open_stores(self, keys: Keys) -> MergeReport:
        self._keys = keys
        self._documents = DocumentStore(self.db, keys)
        self._series = SeriesStore(self.db, keys)
        self._files = FileStore(self.paths.blobs, self._documents, keys)
        return await self.inbox.merge(keys, self._documents, self._series)

    # -- setup code ---------------------------------------------------------------------------

    def setup_code(self) -> str:
        """The one-time code the first web visitor must type; made on first call."""
        if self.initialized:
            raise AlreadyInitialized("this box is already set up: there is no setup code")
        path = self.paths.setup_code
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            pass
        code = "-".join(f"{secrets.randbelow(10**4):04d}" for _ in range(3))
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        os.fchmod(fd, 0o640)  # whatever the umask: the admin group reads it over ssh
        with os.fdopen(fd, "w") as f:
            f.write(code + "\n")
        return code

    def check_setup_code(self, code: str) -> bool:
        try:
            expected = self.paths.setup_code.read_text().strip()
        except FileNotFoundError:
            return False
        typed = "".join(ch for ch in code if ch.isdigit())
        return secrets.compare_digest(typed.encode(), expected.replace("-", "").encode())

    # -- fsck -------------------------------------------------------------------------------------

    async def fsck(self) -> FsckReport:
        """Check the SQLite file; when unlocked, authenticate every record and blob too."""
        report = FsckReport(deep=not self.locked)
        report.problems += [f"sqlite: {p}" for p in await self.db.integrity_check()]
        if not self.initialized:
            return report
        if self.locked:
            return report
        keys = self.keys
        await self._fsck_records(keys, report)
        await self._fsck_files(report)
        inbox = await self.inbox.verify(keys)
        report.checked["inbox"] = inbox.batches + inbox.failed
        report.problems += inbox.problems
        return report

    async def _fsck_records(self, keys: Keys, report: FsckReport) -> None:
        doc_key, series_key = keys.subkey(Purpose.DOCUMENTS), keys.subkey(Purpose.SERIES)
        dictionaries = Dictionaries()  # the ones that open, for the documents after
        checks: list[tuple[str, str, Any]] = [
            (
                "doctypes",
                "SELECT hash, name FROM doctypes",
                lambda r: open_json(doc_key, r[1], ad_for(b"doctype", r[0])),
            ),
            (
                "dictionaries",
                "SELECT doctype, id, body FROM dictionaries ORDER BY seq",
                lambda r: dictionaries.add(r[1], r[0], open_dictionary(doc_key, *r)),
            ),
            (
                "documents",
                "SELECT doctype, id, version, body FROM documents",
                lambda r: json.loads(
                    open_document(doc_key, r[3], ad_for(b"doc", r[0], r[1], r[2]), dictionaries)
                ),
            ),
            (
                "series",
                "SELECT hash, name FROM series",
                lambda r: open_json(series_key, r[1], ad_for(b"series-name", r[0])),
            ),
            (
                "series_chunks",
                "SELECT series, day, version, body FROM series_chunks",
                lambda r: crypto.aead_decrypt(series_key, r[3], ad_for(b"chunk", r[0], r[1], r[2])),
            ),
        ]
        for label, sql, check in checks:
            count = 0
            async for rows in self.db.iterate(sql):
                for row in rows:
                    count += 1
                    try:
                        check(row)
                    except IntegrityError as err:
                        report.problems.append(f"{label}: {err}")
            report.checked[label] = count

    async def _fsck_files(self, report: FsckReport) -> None:
        files = self.files
        expected: set[str] = set()
        count = 0
        try:
            async for doc in self.documents.iterate("io.cozy.files"):
                if doc.get("type") != "file":
                    continue
                count += 1
                expected.add(files.blob_path(doc["_id"]).name)
                try:
                    await files.verify(doc["_id"])
                except (IntegrityError, FileNotFoundError) as err:
                    report.problems.append(f"file {doc['_id']}: {err}")
                except Exception as err:
                    report.problems.append(f"file {doc['_id']}: {err}")
        except IntegrityError as err:
            report.problems.append(f"files: {err}")
        report.checked["files"] = count
        orphans = files.blob_names() - expected
        if orphans:
            report.problems.append(f"{len(orphans)} blob(s) on disk belong to no file")
