"""The API's in-process daemon fixtures (tests/daemon/api/conftest.py), reused here."""

from __future__ import annotations

from ..api.conftest import daemon, owner, ready_daemon

__all__ = ["daemon", "owner", "ready_daemon"]
