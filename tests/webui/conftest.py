"""Fixtures for the web UI: the API's in-process daemon, a collector and SFTP and S3 servers
on loopback (the contribution's and backups' tests' own), and for the browser tests Debian's
chromium (driven by Playwright) and axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..daemon.api.conftest import daemon, owner, ready_daemon
from ..daemon.backup.conftest import s3_server, sftp_server
from ..daemon.contribution.test_contribution_cli import collector_url

__all__ = [
    "axe",
    "browser",
    "collector_url",
    "daemon",
    "owner",
    "ready_daemon",
    "s3_server",
    "sftp_server",
]


# per module: the sync Playwright API must not outlive a module into the asyncio tests
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from .browser import ARGS, CHROMIUM, pw  # Playwright only for the browser tests

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install the packages in tests/debian-packages.txt")
    with pw.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def axe() -> str:
    from .axe import axe_source

    return axe_source()
