"""Who may call what: owner sessions, the admin socket, Origin checks, login backoff.

* Requests on the Unix socket are the admin's: file permissions on the socket are the
  authentication (ssh + group membership), as for ``docker.sock``.
* Requests over TCP need an owner session cookie, except the routes marked public.
  The cookie is ``Secure; HttpOnly; SameSite=Strict`` and only a hash of its token is
  kept in memory (a restart ends every session; so does locking the box).
* Unsafe methods over TCP must come from the box's own origin (``Origin``/``Referer``).
* Guessing is slowed per client and globally: every failed passphrase, recovery key or
  setup code doubles the wait before the next try (Argon2id itself costs ~1 s).
"""

from __future__ import annotations

import hashlib
import secrets
import socket
import time
from dataclasses import dataclass

from aiohttp import web
from yarl import URL

__all__ = ["COOKIE", "LoginGuard", "Session", "SessionStore", "is_admin_socket", "same_origin"]

COOKIE = "selfdata_session"


def is_admin_socket(request: web.Request) -> bool:
    transport = request.transport
    sock = transport.get_extra_info("socket") if transport is not None else None
    return sock is not None and sock.family == socket.AF_UNIX


def same_origin(request: web.Request) -> bool:
    """True when a state-changing request comes from a page of this box."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return False
    try:
        origin = URL(source)
        served = URL(f"{request.scheme}://{request.host}")
    except ValueError:
        return False
    return (
        origin.scheme == request.scheme
        and origin.host is not None
        and origin.host == served.host
        and origin.port == served.port
    )


@dataclass
class Session:
    created: float
    last_seen: float


class SessionStore:
    def __init__(self, idle_seconds: int, max_seconds: int) -> None:
        self._sessions: dict[str, Session] = {}
        self._idle = idle_seconds
        self._max = max_seconds

    def create(self) -> str:
        token = secrets.token_urlsafe(32)
        now = time.monotonic()
        self._sessions[_digest(token)] = Session(now, now)
        return token

    def check(self, token: str | None) -> bool:
        if not token:
            return False
        key = _digest(token)
        session = self._sessions.get(key)
        now = time.monotonic()
        if session is None:
            return False
        if now - session.last_seen > self._idle or now - session.created > self._max:
            del self._sessions[key]
            return False
        session.last_seen = now
        return True

    def end(self, token: str | None) -> None:
        if token:
            self._sessions.pop(_digest(token), None)

    def end_all(self) -> None:
        self._sessions.clear()

    def __len__(self) -> int:
        return len(self._sessions)


def _digest(token: str) -> str:
    return hashlib.blake2b(token.encode(), digest_size=32).hexdigest()


class LoginGuard:
    """Exponential backoff on failed secrets, per client address and for the whole box."""

    def __init__(self, base: float = 1.0, cap: float = 300.0, global_after: int = 20) -> None:
        self._base = base
        self._cap = cap
        self._global_after = global_after
        self._clients: dict[str, tuple[int, float]] = {}  # address -> (failures, next allowed)
        self._global: tuple[int, float] = (0, 0.0)

    def retry_after(self, client: str) -> float:
        """Seconds this client must still wait (0: may try now)."""
        now = time.monotonic()
        waits = [self._clients.get(client, (0, 0.0))[1] - now, self._global[1] - now]
        return max(0.0, *waits)

    def failed(self, client: str) -> None:
        now = time.monotonic()
        count, _ = self._clients.get(client, (0, 0.0))
        count += 1
        self._clients[client] = (count, now + self._delay(count))
        total, _ = self._global
        total += 1
        over = total - self._global_after
        self._global = (total, now + self._delay(over) if over > 0 else 0.0)
        if len(self._clients) > 10_000:  # bounded memory under a spray of addresses
            self._clients.pop(next(iter(self._clients)))

    def succeeded(self, client: str) -> None:
        self._clients.pop(client, None)
        self._global = (0, 0.0)

    def _delay(self, failures: int) -> float:
        return float(min(self._cap, self._base * 2 ** (failures - 1)))
