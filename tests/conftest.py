"""Fixtures shared by the whole suite.

Argon2id runs at its enforced floor (``SELFDATA_KDF_SECONDS=0``) so the suite stays
fast; the calibration itself is tested on its own. Nothing here touches the network
beyond loopback, nor the user's real data dir.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import NoReturn

import pytest
from selfdata.box import Box
from selfdata.paths import DataDir

PASSPHRASE = "correct horse battery staple"


def missing_tool(reason: str) -> NoReturn:
    """A program the suite drives for real is not installed.

    ``./dev test`` installs every one of them (tests/debian-packages.txt) and sets
    ``SELFDATA_STRICT_TESTS=1``: there, a missing one is a failure, so CI can never pass
    by quietly skipping the real sshd, S3 server or mDNS peers. Elsewhere, a skip.
    """
    if os.environ.get("SELFDATA_STRICT_TESTS") == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _fast_kdf_and_private_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SELFDATA_KDF_SECONDS", "0")
    monkeypatch.delenv("SELFDATA_DATA_DIR", raising=False)
    monkeypatch.delenv("SELFDATA_PASSPHRASE_FILE", raising=False)
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))


@pytest.fixture
def data_dir(tmp_path: Path) -> DataDir:
    # short path: the admin socket's path must stay under 108 bytes
    return DataDir(tmp_path / "box")


@pytest.fixture
async def box(data_dir: DataDir) -> AsyncIterator[Box]:
    """An initialised, unlocked box on a fresh data dir."""
    opened = await Box.open(data_dir)
    await opened.init(PASSPHRASE)
    try:
        yield opened
    finally:
        await opened.close()


@pytest.fixture
def passphrase_file(tmp_path: Path) -> Path:
    path = tmp_path / "passphrase"
    path.write_text(PASSPHRASE + "\n")
    path.chmod(0o600)
    return path
