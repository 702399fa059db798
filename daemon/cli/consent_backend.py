"""Where the ledger, answers and contribution commands run: the daemon, or the data dir.

The same operations either way: over the admin socket (as the web UI calls them), or
on the data dir directly when no daemon runs (asking for the passphrase when the
operation needs the box unlocked). Checking the ledger needs no passphrase.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from ..errors import DaemonError, InputError, Locked, NotFound
from ..paths import DataDir
from .secrets import read_secret

__all__ = ["ConsentClient", "consent_client", "resolve_request_id", "run_consent"]


class ConsentClient:
    """The operations, on the daemon. :class:`_Local` has the same methods."""

    def __init__(self, session: Any) -> None:
        self._session = session

    async def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        import aiohttp

        from .backend import _answer

        try:
            async with self._session.request(method, "/api/v1" + path, json=body, **kwargs) as resp:
                return await _answer(resp)
        except aiohttp.ClientError as err:
            raise DaemonError(f"lost the connection to the daemon: {err}") from None

    # ledger
    async def ledger_entries(self, limit: int, before: int | None) -> dict[str, Any]:
        params = {"limit": str(limit)} | ({"before": str(before)} if before else {})
        result: dict[str, Any] = await self.call("GET", "/ledger", params=params)
        return result

    async def ledger_verify(self, key: str | None, head: str | None, deep: bool) -> dict[str, Any]:
        params = ({"key": key} if key else {}) | ({"head": head} if head else {})
        result: dict[str, Any] = await self.call("GET", "/ledger/verify", params=params)
        return result

    async def ledger_key(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", "/ledger/key")
        return result

    # answers
    async def answers_list(self) -> list[dict[str, Any]]:
        return list((await self.call("GET", "/answers"))["requests"])

    async def answers_submit(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", "/answers", body)
        return result

    async def answers_show(self, request_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", f"/answers/{request_id}")
        return result

    async def answers_approve(self, request_id: str, expect: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", f"/answers/{request_id}/approve", expect)
        return result

    async def answers_refuse(self, request_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", f"/answers/{request_id}/refuse")
        return result

    async def answers_statement(self, request_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", f"/answers/{request_id}/statement")
        return result

    # contribution
    async def contribution_status(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", "/contribution")
        return result

    async def contribution_set(self, changes: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("PUT", "/contribution/settings", changes)
        return result

    async def contribution_preview(self, months: list[str] | None) -> dict[str, Any]:
        body = {"months": months} if months else {}
        result: dict[str, Any] = await self.call("POST", "/contribution/preview", body)
        return result

    async def contribution_discard(self) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("DELETE", "/contribution/preview")
        return result

    async def contribution_send(self, sha256: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", "/contribution/send", {"sha256": sha256})
        return result


class _Local(ConsentClient):
    """The same operations on the data dir (no daemon running)."""

    def __init__(self, box: Any, passphrase: Callable[[], str]) -> None:
        super().__init__(None)
        self._box = box
        self._passphrase = passphrase

    async def _unlocked(self) -> Any:
        if self._box.locked:
            self._box.header  # noqa: B018  (NotInitialized first)
            await self._box.unlock(self._passphrase())
        return self._box

    def _ledger(self) -> Any:
        from ..ledger import Ledger

        return Ledger(self._box)

    def _answers(self) -> Any:
        from ..answers.desk import AnswerDesk

        return AnswerDesk(self._box)

    def _contribution(self) -> Any:
        from ..contribution import Contribution

        return Contribution(self._box)

    async def ledger_entries(self, limit: int, before: int | None) -> dict[str, Any]:
        await self._unlocked()
        ledger = self._ledger()
        entries = await ledger.entries(limit=limit, before=before)
        last = entries[-1].seq if entries else None
        return {
            "entries": [e.to_json() for e in entries],
            "total": await ledger.count(),
            "next_before": last if last is not None and last > 1 else None,
        }

    async def ledger_verify(self, key: str | None, head: str | None, deep: bool) -> dict[str, Any]:
        from ..ledger import parse_public_key, parse_witness

        pinned = parse_public_key(key) if key else None
        witness = parse_witness(head) if head else None
        if deep:
            await self._unlocked()
        verdict = await self._ledger().verify(pinned, witness)
        result: dict[str, Any] = verdict.to_json()
        return result

    async def ledger_key(self) -> dict[str, Any]:
        try:
            result: dict[str, Any] = await self._ledger().key_info()
        except Locked:
            await self._unlocked()
            result = await self._ledger().key_info()
        return result

    async def answers_list(self) -> list[dict[str, Any]]:
        await self._unlocked()
        return list(await self._answers().list())

    async def answers_submit(self, body: dict[str, Any]) -> dict[str, Any]:
        await self._unlocked()
        result: dict[str, Any] = await self._answers().submit(body)
        return result

    async def answers_show(self, request_id: str) -> dict[str, Any]:
        await self._unlocked()
        result: dict[str, Any] = await self._answers().show(request_id)
        return result

    async def answers_approve(self, request_id: str, expect: dict[str, Any]) -> dict[str, Any]:
        await self._unlocked()
        result: dict[str, Any] = await self._answers().approve(request_id, expect)
        return result

    async def answers_refuse(self, request_id: str) -> dict[str, Any]:
        await self._unlocked()
        result: dict[str, Any] = await self._answers().refuse(request_id)
        return result

    async def answers_statement(self, request_id: str) -> dict[str, Any]:
        await self._unlocked()
        result: dict[str, Any] = await self._answers().statement(request_id)
        return result

    async def contribution_status(self) -> dict[str, Any]:
        await self._unlocked()
        result: dict[str, Any] = await self._contribution().status()
        return result

    async def contribution_set(self, changes: dict[str, Any]) -> dict[str, Any]:
        await self._unlocked()
        result: dict[str, Any] = await self._contribution().configure(changes)
        return result

    async def contribution_preview(self, months: list[str] | None) -> dict[str, Any]:
        await self._unlocked()
        result: dict[str, Any] = await self._contribution().preview(months)
        return result

    async def contribution_discard(self) -> dict[str, Any]:
        await self._unlocked()
        result: dict[str, Any] = await self._contribution().discard()
        return result

    async def contribution_send(self, sha256: str) -> dict[str, Any]:
        await self._unlocked()
        result: dict[str, Any] = await self._contribution().send(sha256)
        return result


@asynccontextmanager
async def consent_client(
    data_dir: DataDir, passphrase_file: str | None
) -> AsyncIterator[ConsentClient]:
    from .backend import open_backend

    def ask() -> str:
        return read_secret(passphrase_file, "Passphrase")

    async with open_backend(data_dir, ask) as backend:
        if backend.daemon:
            yield ConsentClient(backend._session)  # type: ignore[attr-defined]
        else:
            yield _Local(backend._box, ask)  # type: ignore[attr-defined]


def run_consent(
    data_dir: DataDir, passphrase_file: str | None, action: Callable[[ConsentClient], Any]
) -> Any:
    async def go() -> Any:
        async with consent_client(data_dir, passphrase_file) as client:
            return await action(client)

    return asyncio.run(go())


async def resolve_request_id(client: ConsentClient, given: str) -> str:
    """A request by its id or a unique prefix of it (4 characters at least)."""
    text = given.strip().lower()
    if len(text) == 32:
        return text
    if len(text) < 4 or any(c not in "0123456789abcdef" for c in text):
        raise InputError("give the request's id, or at least its first 4 characters")
    matches = [r["id"] for r in await client.answers_list() if r["id"].startswith(text)]
    if not matches:
        raise NotFound(f"no answer request {given[:40]!r} (`selfdata answers list` shows them)")
    if len(matches) > 1:
        raise InputError(f"{given!r} names {len(matches)} requests: give more of the id")
    return str(matches[0])
