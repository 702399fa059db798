"""Where a box keeps its things: one data directory, everything inside it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DataDir", "default_data_dir"]

#: The appliance's data dir (systemd ``StateDirectory=selfdata``).
SYSTEM_DATA_DIR = Path("/var/lib/selfdata")


def default_data_dir() -> Path:
    """``$SELFDATA_DATA_DIR``, else the appliance's dir when present, else the user's."""
    if env := os.environ.get("SELFDATA_DATA_DIR"):
        return Path(env)
    if SYSTEM_DATA_DIR.is_dir():
        return SYSTEM_DATA_DIR
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(xdg) / "selfdata"


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def database(self) -> Path:
        return self.root / "selfdata.db"

    @property
    def blobs(self) -> Path:
        return self.root / "blobs"

    @property
    def tls_dir(self) -> Path:
        return self.root / "tls"

    @property
    def setup_code(self) -> Path:
        return self.root / "setup-code"

    @property
    def socket(self) -> Path:
        return self.root / "selfdata.sock"

    @property
    def handover_socket(self) -> Path:
        """Where the CLI hands the daemon an open file (selfdata.handover)."""
        return self.root / "selfdata-files.sock"

    @property
    def daemon_lock(self) -> Path:
        return self.root / "daemon.lock"

    def create(self) -> DataDir:
        """Make the directory, private to its owner (and the admin group, if it is setgid)."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o750)
        os.chmod(self.root, 0o750 | (os.stat(self.root).st_mode & 0o2000))  # noqa: S103
        self.blobs.mkdir(exist_ok=True, mode=0o750)
        return self
