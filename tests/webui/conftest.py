"""Fixtures for the web UI: the API's in-process daemon, and sample household data."""

from __future__ import annotations

from ..daemon.api.conftest import daemon, owner, ready_daemon

__all__ = ["daemon", "owner", "ready_daemon"]
