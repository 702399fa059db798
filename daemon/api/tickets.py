"""One-time download tickets: a POST (Origin-checked, JSON) prepares, a GET link streams.

A browser saves a download to disk as it arrives only when it follows a link; a
``fetch`` keeps the whole body in memory. So the web UI asks for a ticket with the
export's options, then navigates to the ticket's URL. A ticket is random, works once, for
the session that asked for it, and expires within a minute: the options it carries
(an export passphrase, say) live in memory that long at most.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["Tickets"]


@dataclass
class _Ticket:
    session: str
    value: dict[str, Any]
    expires: float


class Tickets:
    def __init__(self, ttl: float = 60.0, limit: int = 16) -> None:
        self._ttl = ttl
        self._limit = limit
        self._tickets: dict[str, _Ticket] = {}

    def issue(self, session: str, value: dict[str, Any]) -> str:
        self._expire()
        if len(self._tickets) >= self._limit:  # a flood cannot grow memory
            oldest = min(self._tickets, key=lambda t: self._tickets[t].expires)
            del self._tickets[oldest]
        token = secrets.token_urlsafe(24)
        self._tickets[token] = _Ticket(session, value, time.monotonic() + self._ttl)
        return token

    def redeem(self, token: str, session: str) -> dict[str, Any] | None:
        """The ticket's value, once; ``None`` if unknown, used, expired or another session's."""
        self._expire()
        ticket = self._tickets.get(token)
        if ticket is None or not secrets.compare_digest(ticket.session, session):
            return None
        del self._tickets[token]
        return ticket.value

    def _expire(self) -> None:
        now = time.monotonic()
        for token in [t for t, v in self._tickets.items() if v.expires <= now]:
            del self._tickets[token]

    @property
    def ttl(self) -> float:
        return self._ttl
