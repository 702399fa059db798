"""Shared by the tests of sources that call a service: a run's context on its fake."""

from __future__ import annotations

import datetime as dt

import aiohttp
from selfdata.box import Box
from selfdata.connectors.sdk import Manifest

from tests.connectors.fakes.context import BoxContext


def fake_context(
    box: Box,
    session: aiohttp.ClientSession,
    manifest: Manifest,
    url: str,
    *,
    now: dt.datetime,
    **credentials: str,
) -> BoxContext:
    """A run of ``manifest``'s source with ``credentials``, at ``now``, on ``box``: every
    service it calls (each of its base URLs) is the fake at ``url``."""
    return BoxContext(
        box,
        session,
        manifest,
        credentials,
        base_urls=dict.fromkeys(manifest.base_urls, url),
        now=now,
    )
