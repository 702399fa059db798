"""``selfdata connectors …``: the sources that bring data in, from a terminal.

Through the running daemon (admin socket) when there is one, else on the data dir
directly (asking for the passphrase). Secret credential values never go on the command
line: ``--credential-file NAME=FILE`` or a hidden prompt.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import InputError, NotFound
from ..paths import DataDir
from .main import Context, emit, pass_context
from .secrets import passphrase_option, read_secret

if TYPE_CHECKING:
    from ..scheduler import Scheduler

__all__ = ["COMMANDS"]


# --- where the commands run ----------------------------------------------------------------


class _Daemon:
    def __init__(self, session: Any) -> None:
        self._session = session

    async def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        import aiohttp

        from .backend import _answer

        try:
            async with self._session.request(method, "/api/v1" + path, json=body, **kwargs) as resp:
                return await _answer(resp)
        except aiohttp.ClientError as err:
            from ..errors import DaemonError

            raise DaemonError(f"lost the connection to the daemon: {err}") from None

    async def catalogue(self) -> list[dict[str, Any]]:
        return list((await self.call("GET", "/connectors"))["connectors"])

    async def connector(self, connector_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("GET", f"/connectors/{connector_id}")
        return result

    async def accounts(self) -> list[dict[str, Any]]:
        return list((await self.call("GET", "/accounts"))["accounts"])

    async def add(self, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", "/accounts", body)
        return result

    async def remove(self, account_id: str) -> None:
        await self.call("DELETE", f"/accounts/{account_id}")

    async def run(self, account_id: str) -> dict[str, Any]:
        result: dict[str, Any] = await self.call("POST", f"/accounts/{account_id}/run")
        return result

    async def run_record(self, run_id: str, wait: bool = False) -> dict[str, Any]:
        params = {"wait": "1"} if wait else {}
        result: dict[str, Any] = await self.call("GET", f"/runs/{run_id}", params=params)
        return result

    async def runs(self, account_id: str) -> list[dict[str, Any]]:
        return list((await self.call("GET", f"/accounts/{account_id}/runs"))["runs"])

    async def probe(
        self, connector: str, options: dict[str, str], account: str | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"options": options}
        if account:
            body["account_id"] = account
        result: dict[str, Any] = await self.call("POST", f"/connectors/{connector}/probe", body)
        return result


class _Local:
    """The same operations on the data dir, with a scheduler that runs nothing by itself."""

    def __init__(self, box: Any, passphrase: Callable[[], str] | None) -> None:
        from ..scheduler import Scheduler

        self._box = box
        self._passphrase = passphrase
        self.scheduler = Scheduler(box)
        self._ready = False

    async def _unlocked(self) -> Scheduler:
        if not self._ready:
            if self._box.locked:
                self._box.header  # noqa: B018  (NotInitialized first)
                if self._passphrase is None:
                    from ..errors import Locked

                    raise Locked("the daemon is not running and no passphrase was given")
                await self._box.unlock(self._passphrase())
            await self.scheduler.reload()
            self._ready = True
        return self.scheduler

    async def catalogue(self) -> list[dict[str, Any]]:
        return await self.scheduler.catalogue()

    async def connector(self, connector_id: str) -> dict[str, Any]:
        return await self.scheduler.connector(connector_id)

    async def accounts(self) -> list[dict[str, Any]]:
        return await (await self._unlocked()).accounts()

    async def add(self, body: dict[str, Any]) -> dict[str, Any]:
        scheduler = await self._unlocked()
        connector = body.pop("connector")
        return await scheduler.add_account(connector, **body)

    async def remove(self, account_id: str) -> None:
        await (await self._unlocked()).remove_account(account_id)

    async def run(self, account_id: str) -> dict[str, Any]:
        return await (await self._unlocked()).run_now(account_id)

    async def run_record(self, run_id: str, wait: bool = False) -> dict[str, Any]:
        scheduler = await self._unlocked()
        return await (scheduler.wait(run_id) if wait else scheduler.run_record(run_id))

    async def runs(self, account_id: str) -> list[dict[str, Any]]:
        return await (await self._unlocked()).runs(account_id)

    async def probe(
        self, connector: str, options: dict[str, str], account: str | None
    ) -> dict[str, Any]:
        scheduler = await self._unlocked() if account else self.scheduler
        return await scheduler.probe(connector, options, account)


@asynccontextmanager
async def _client(data_dir: DataDir, passphrase_file: str | None) -> AsyncIterator[Any]:
    from .backend import open_backend

    def ask() -> str:
        return read_secret(passphrase_file, "Passphrase")

    async with open_backend(data_dir, ask) as backend:
        if backend.daemon:
            yield _Daemon(backend._session)  # type: ignore[attr-defined]
            return
        local = _Local(backend._box, ask)  # type: ignore[attr-defined]
        try:
            yield local
        finally:
            await local.scheduler.close()


async def _account_id(client: Any, given: str) -> str:
    """An account by its id, a unique prefix of it, or its connector's id."""
    accounts = await client.accounts()
    exact = [a for a in accounts if a["id"] == given]
    matches = exact or [
        a
        for a in accounts
        if (len(given) >= 4 and a["id"].startswith(given)) or a["connector"] == given
    ]
    if len(matches) == 1:
        return str(matches[0]["id"])
    if not matches:
        raise NotFound(f"no source {given!r} (`selfdata connectors list` shows them)")
    raise InputError(f"{given!r} names {len(matches)} sources: give the account id")


def _run(ctx: Context, passphrase_file: str | None, action: Callable[[Any], Any]) -> Any:
    async def go() -> Any:
        async with _client(ctx.data_dir, passphrase_file) as client:
            return await action(client)

    return asyncio.run(go())


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise InputError(f"{what}: expected NAME=VALUE, got {item!r}")
        found[name.strip()] = value
    return found


# --- the commands ----------------------------------------------------------------------------


@click.group()
def connectors() -> None:
    """Sources that bring data in: list, add, remove, run, logs, probe."""


@connectors.command("list")
@click.option(
    "--available", is_flag=True, help="List the connectors this box has, not the sources."
)
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def list_(ctx: Context, available: bool, as_json: bool, passphrase_file: str | None) -> None:
    """The sources added to this box and their status (or, --available, the connectors)."""
    if available:
        data = _run(ctx, passphrase_file, lambda c: c.catalogue())
        emit(data, as_json, _human_catalogue)
        return
    data = _run(ctx, passphrase_file, lambda c: c.accounts())
    emit(data, as_json, _human_accounts)


@connectors.command()
@click.argument("connector")
@click.option("--label", default="", help="A name for this source (say, whose meter).")
@click.option(
    "--set", "values", multiple=True, metavar="NAME=VALUE", help="A plain (non-secret) field."
)
@click.option(
    "--credential-file",
    "files",
    multiple=True,
    metavar="NAME=FILE",
    help="Read a field (secret ones: only this way, or a hidden prompt) from FILE's first line.",
)
@click.option(
    "--base-url", "urls", multiple=True, metavar="NAME=URL", help="Override a base URL (a sandbox)."
)
@click.option("--schedule", help="'every 6h', a cron line '30 7 * * *', 'at unlock', 'manual'.")
@click.option("--disabled", is_flag=True, help="Add it without running it automatically.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def add(
    ctx: Context,
    connector: str,
    label: str,
    values: tuple[str, ...],
    files: tuple[str, ...],
    urls: tuple[str, ...],
    schedule: str | None,
    disabled: bool,
    as_json: bool,
    passphrase_file: str | None,
) -> None:
    """Add a source using CONNECTOR (`selfdata connectors list --available`)."""
    plain = _pairs(values, "--set")
    from_files = {
        name: _first_line(path) for name, path in _pairs(files, "--credential-file").items()
    }

    async def go(client: Any) -> dict[str, Any]:
        manifest = await client.connector(connector)
        secret_names = {f["name"] for f in manifest["credentials"] if f["kind"] == "secret"}
        if leaked := sorted(secret_names & set(plain)):
            raise InputError(
                f"{', '.join(leaked)} is secret: give it with --credential-file NAME=FILE "
                "or at the prompt, never on the command line"
            )
        credentials = {**plain, **from_files}
        for field in manifest["credentials"]:
            if field["kind"] == "secret" and field["required"] and field["name"] not in credentials:
                credentials[field["name"]] = _prompt_secret(field)
        body: dict[str, Any] = {
            "connector": connector,
            "credentials": credentials,
            "label": label,
            "base_urls": _pairs(urls, "--base-url"),
            "enabled": not disabled,
        }
        if schedule:
            body["schedule"] = schedule
        result: dict[str, Any] = await client.add(body)
        return result

    data = _run(ctx, passphrase_file, go)
    emit(data, as_json, lambda a: f"added {a['connector']} as {a['id']} ({a['status']})")


@connectors.command()
@click.argument("account")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def remove(ctx: Context, account: str, as_json: bool, passphrase_file: str | None) -> None:
    """Remove a source (its state and run records; the data it brought stays)."""

    async def go(client: Any) -> dict[str, Any]:
        account_id = await _account_id(client, account)
        await client.remove(account_id)
        return {"removed": account_id}

    emit(_run(ctx, passphrase_file, go), as_json, lambda r: f"removed {r['removed']}")


@connectors.command()
@click.argument("account")
@click.option("--wait/--no-wait", default=True, show_default=True, help="Wait for the run to end.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def run(ctx: Context, account: str, wait: bool, as_json: bool, passphrase_file: str | None) -> None:
    """Run a source now (also when it waits for your action); exit 1 unless it succeeds."""

    async def go(client: Any) -> dict[str, Any]:
        started: dict[str, Any] = await client.run(await _account_id(client, account))
        if not wait:
            return started
        result: dict[str, Any] = await client.run_record(started["id"], wait=True)
        return result

    data = _run(ctx, passphrase_file, go)
    emit(data, as_json, _human_run)
    if wait and data.get("outcome") != "ok":
        sys.exit(1)


@connectors.command()
@click.argument("account")
@click.option("--run", "run_id", help="A given run (default: the latest).")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def logs(
    ctx: Context, account: str, run_id: str | None, as_json: bool, passphrase_file: str | None
) -> None:
    """The log of a source's latest run (or of --run ID), secrets blanked out."""

    async def go(client: Any) -> dict[str, Any]:
        chosen = run_id
        if chosen is None:
            runs = await client.runs(await _account_id(client, account))
            if not runs:
                raise NotFound("this source has not run yet")
            chosen = runs[0]["id"]
        result: dict[str, Any] = await client.run_record(chosen)
        return result

    data = _run(ctx, passphrase_file, go)
    emit(data, as_json, _human_log)


@connectors.command()
@click.argument("connector")
@click.option("--device", help="A device or capture file to check (serial meters).")
@click.option("--frames", type=click.IntRange(1, 1000), help="How many frames to decode.")
@click.option(
    "--option", "-o", "options", multiple=True, metavar="NAME=VALUE", help="More probe options."
)
@click.option("--account", help="Use this source's settings (and credentials).")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def probe(
    ctx: Context,
    connector: str,
    device: str | None,
    frames: int | None,
    options: tuple[str, ...],
    account: str | None,
    as_json: bool,
    passphrase_file: str | None,
) -> None:
    """Check a connector's wiring: `probe linky-tic --device /dev/ttyUSB0`."""
    given = _pairs(options, "--option")
    if device:
        given["device"] = str(Path(device).absolute())
    if frames:
        given["frames"] = str(frames)

    async def go(client: Any) -> dict[str, Any]:
        account_id = await _account_id(client, account) if account else None
        result: dict[str, Any] = await client.probe(connector, given, account_id)
        return result

    data = _run(ctx, passphrase_file, go)
    if as_json:
        emit(data.get("result") if data.get("outcome") == "ok" else data, True, str)
    else:
        emit(data, False, _human_probe)
    if data.get("outcome") != "ok":
        sys.exit(1)


# --- output for people ------------------------------------------------------------------------


def _human_catalogue(rows: list[dict[str, Any]]) -> str:
    lines = []
    for c in rows:
        kind = "files" if c["file_source"] and not c["can_sync"] else c["schedule"]
        lines.append(f"{c['id']:<26} {c['category']:<10} {kind:<12} {c['name']}")
    return "\n".join(lines) or "no connectors"


def _human_accounts(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no sources yet: `selfdata connectors add CONNECTOR` (see --available)"
    lines = []
    for a in rows:
        last = (a.get("last_run") or {}).get("ended_at") or "never"
        line = f"{a['id'][:8]}  {a['connector']:<24} {a['status']:<12} last run: {last}"
        if a.get("label"):
            line += f"  ({a['label']})"
        lines.append(line)
        if a["status"] in ("failing", "needs_action", "waiting") and a.get("message"):
            lines.append(f"          {a['message']}" + (f" — {a['url']}" if a.get("url") else ""))
    return "\n".join(lines)


def _human_run(r: dict[str, Any]) -> str:
    if r.get("status") != "done":
        return f"run {r['id']} started ({r['status']}): `selfdata connectors logs {r['account_id'][:8]}`"
    counts = [f"{n} {d}" for d, n in sorted((r.get("documents") or {}).items())]
    counts += [f"{n} points in {s}" for s, n in sorted((r.get("series") or {}).items())]
    if r.get("files"):
        counts.append(f"{r['files']} file(s)")
    head = f"{r['outcome']} in {r.get('duration') or 0:.1f} s"
    body = f": {', '.join(counts)}" if counts else ""
    message = f"\n{r['message']}" if r.get("message") else ""
    url = f"\n{r['url']}" if r.get("url") else ""
    return head + body + message + url


def _human_log(r: dict[str, Any]) -> str:
    lines = [f"run {r['id']} ({r.get('trigger', '?')}): {r.get('outcome') or r.get('status')}"]
    for line in (r.get("log") or {}).get("lines", []):
        when = dt.datetime.fromtimestamp(line["t"], dt.UTC).strftime("%H:%M:%S")
        lines.append(f"{when} {line['level']:<7} {line['message']}")
    dropped = (r.get("log") or {}).get("dropped", 0)
    if dropped:
        lines.append(f"… {dropped} more line(s) not kept")
    return "\n".join(lines)


def _human_probe(r: dict[str, Any]) -> str:
    if r.get("outcome") != "ok":
        return f"{r.get('outcome')}: {r.get('message', '')}"
    import json

    return json.dumps(r.get("result"), ensure_ascii=False, indent=2)


def _first_line(path: str) -> str:
    return read_secret(path, "Credential")


def _prompt_secret(field: dict[str, Any]) -> str:
    if not sys.stdin.isatty():
        raise InputError(
            f"{field['name']} is needed: give it with --credential-file {field['name']}=FILE"
        )
    value: str = click.prompt(field["label"], hide_input=True)
    return value


COMMANDS = [connectors]
