"""Settings: language, time zone, passphrase, recovery key, unattended unlock, certificate,
mDNS name.

The passphrase and the recovery key change through the JSON API (``/api/v1/passphrase``,
``/api/v1/recovery-key``). Checking a recovery key without changing anything is the one
write this module answers itself, under the same login backoff as every secret.
"""

from __future__ import annotations

import socket
from functools import cache

from aiohttp import web

from ...api.handlers.vault import _guarded
from ...api.keys import BOX, CERTIFICATE, KEY_FILE_WATCHER
from ...api.requests import json_body, reply
from ..i18n import LANGUAGES, box_timezone, timezone_of, valid_timezone, zone_names
from ..render import page

__all__ = ["check_recovery_key", "settings_page"]


@cache
def _zone_names() -> list[str]:
    return sorted(z for z in zone_names() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


def mdns_name() -> str:
    host = socket.gethostname().split(".", 1)[0] or "selfdata"
    return f"{host}.local"


async def settings_page(request: web.Request) -> web.StreamResponse:
    cert = request.app.get(CERTIFICATE)
    tz = request.query.get("tz")
    return page(
        request,
        "settings.html",
        {
            "languages": LANGUAGES,
            "timezone": timezone_of(request),
            "box_timezone": box_timezone(),
            "zones": _zone_names(),
            "tz_error": bool(tz) and not valid_timezone(tz),
            "fingerprint": cert.fingerprint if cert else None,
            "mdns_name": mdns_name(),
            "port": request.url.port,
            "unattended": request.app[KEY_FILE_WATCHER].status(),
        },
        title="Settings",
    )


async def check_recovery_key(request: web.Request) -> web.Response:
    body = await json_body(
        request,
        {
            "type": "object",
            "required": ["recovery_key"],
            "properties": {"recovery_key": {"type": "string", "minLength": 1, "maxLength": 200}},
            "additionalProperties": False,
        },
    )
    header = request.app[BOX].header

    async def check() -> None:
        header.unlock_with_recovery_key(body["recovery_key"]).wipe()

    await _guarded(request, check())
    return reply({"valid": True})
