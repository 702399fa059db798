"""Backups: scheduled, incremental, encrypted again, verified; and restore (docs/backups.md).

* :func:`run_backup` — one run to a :class:`Target` (a directory, SFTP, S3);
* :func:`restore` — onto a freshly set-up box, with only the recovery key;
* :class:`BackupService` — the configured targets, their schedule and status.
"""

from .engine import BackupError, BackupReport, run_backup, verify_snapshot
from .repository import Retention
from .restore import RestoreReport, restore, snapshots
from .targets import Target, TargetError, open_target

__all__ = [
    "BackupError",
    "BackupReport",
    "RestoreReport",
    "Retention",
    "Target",
    "TargetError",
    "open_target",
    "restore",
    "run_backup",
    "snapshots",
    "verify_snapshot",
]
