"""``selfdata backup …`` and ``selfdata restore``: the CLI side of selfdata.backup.

Targets are named by a URL (a directory such as ``/media/usb/selfdata``,
``sftp://user@host/path``, ``s3://bucket/prefix``); secrets come from files, never from
the command line. Through the daemon when it runs, on the data dir otherwise.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import InputError
from .archive_commands import call, daemon_session, offline_box
from .main import Context, emit, pass_context
from .secrets import passphrase_option, read_secret

__all__ = ["COMMANDS"]

F = TypeVar("F", bound=Callable[..., Any])


def _read_file(path: str | None, what: str) -> str | None:
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the {what} file {path}: {err}") from None


def target_options(func: F) -> F:
    """How to reach a target: non-secret options, and secrets read from files."""
    for option in reversed(
        [
            click.option(
                "--host-key",
                help="SFTP: the server's public host key, as `ssh-keyscan HOST` prints it "
                "(ssh-ed25519 AAAA…), or @FILE to read it from a file.",
            ),
            click.option(
                "--ssh-key", type=click.Path(dir_okay=False), help="SFTP: a private key file."
            ),
            click.option(
                "--password-file", type=click.Path(dir_okay=False), help="SFTP: a password file."
            ),
            click.option("--endpoint", help="S3: the endpoint URL (default: AWS)."),
            click.option("--region", help="S3: the region (default: us-east-1)."),
            click.option("--access-key", help="S3: the access key id."),
            click.option(
                "--secret-key-file",
                type=click.Path(dir_okay=False),
                help="S3: a file holding the secret access key.",
            ),
        ]
    ):
        func = option(func)
    return func


def _target(kwargs: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    host_key = kwargs.pop("host_key", None)
    if host_key and host_key.startswith("@"):
        host_key = _read_file(host_key[1:], "host key")
    options = {
        "host_key": host_key,
        "endpoint": kwargs.pop("endpoint", None),
        "region": kwargs.pop("region", None),
        "access_key": kwargs.pop("access_key", None),
    }
    secrets = {
        "ssh_key": _read_file(kwargs.pop("ssh_key", None), "SSH key"),
        "password": _read_file(kwargs.pop("password_file", None), "password"),
        "secret_key": _read_file(kwargs.pop("secret_key_file", None), "secret key"),
    }
    return (
        {k: v for k, v in options.items() if v},
        {k: v for k, v in secrets.items() if v},
    )


def _asker(passphrase_file: str | None) -> Callable[[], str]:
    return lambda: read_secret(passphrase_file, "Passphrase")


@click.group()
def backup() -> None:
    """Encrypted backups to a USB disk, an SFTP server or S3 (docs/backups.md)."""


@backup.command("targets")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def targets(ctx: Context, as_json: bool, passphrase_file: str | None) -> None:
    """List the backup targets and how their last backup went."""

    async def go() -> list[dict[str, Any]]:
        async with daemon_session(ctx.data_dir) as session:
            if session is not None:
                return list((await call(session, "GET", "/backups"))["targets"])
            from ..backup.config import TargetStore

            async with offline_box(ctx.data_dir, _asker(passphrase_file)) as box:
                return [t.public() for t in await TargetStore(box).all()]

    emit(asyncio.run(go()), as_json, _human_targets)


def _human_targets(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no backup target yet: `selfdata backup add NAME URL`"
    lines = []
    for t in rows:
        last = t.get("last") or {}
        state = (
            "never ran"
            if not last
            else f"last {'OK' if last.get('ok') else 'FAILED'} {last.get('time', '')}"
            + (f": {last['error']}" if last.get("error") else "")
        )
        lines.append(f"{t['name']:<12} {t['url']}  [{t['schedule'] or 'manual'}]  {state}")
    return "\n".join(lines)


@backup.command("add")
@click.argument("name")
@click.argument("url")
@target_options
@click.option(
    "--schedule",
    default="every 1d",
    show_default=True,
    help="When: 'every 1d', a cron line such as '30 3 * * *', 'at unlock' or 'manual'.",
)
@click.option("--keep-daily", type=click.IntRange(0, 10000), default=7, show_default=True)
@click.option("--keep-weekly", type=click.IntRange(0, 10000), default=4, show_default=True)
@click.option("--keep-monthly", type=click.IntRange(0, 10000), default=12, show_default=True)
@click.option("--no-check", is_flag=True, help="Save it without reaching the target now.")
@passphrase_option()
@pass_context
def add(ctx: Context, /, name: str, url: str, **kwargs: Any) -> None:
    """Add (or change) the backup target NAME at URL."""
    options, secrets = _target(kwargs)
    body = {
        "url": url,
        "options": options,
        "secrets": secrets or None,
        "schedule": None if kwargs["schedule"] == "manual" else kwargs["schedule"],
        "retention": {
            "daily": kwargs["keep_daily"],
            "weekly": kwargs["keep_weekly"],
            "monthly": kwargs["keep_monthly"],
        },
        "check": not kwargs["no_check"],
    }
    if body["secrets"] is None:
        del body["secrets"]

    async def go() -> dict[str, Any]:
        async with daemon_session(ctx.data_dir) as session:
            if session is not None:
                result: dict[str, Any] = await call(session, "PUT", f"/backups/{name}", json=body)
                return result
            return await _offline_put(ctx, name, body, kwargs["passphrase_file"])

    result = asyncio.run(go())
    click.echo(
        f"backup target {result['name']} → {result['url']} [{result['schedule'] or 'manual'}]"
    )


async def _offline_put(
    ctx: Context, name: str, body: dict[str, Any], passphrase_file: str | None
) -> dict[str, Any]:
    from ..backup import open_target
    from ..backup.config import TargetConfig, TargetStore, check_target
    from ..backup.repository import Retention
    from ..errors import NotFound

    async with offline_box(ctx.data_dir, _asker(passphrase_file)) as box:
        store = TargetStore(box)
        secrets = body.get("secrets")
        check_target(name, body["url"], body["options"], secrets or {}, body["schedule"])
        try:
            config = await store.get(name)
        except NotFound:
            config, secrets = TargetConfig(name=name, url=body["url"]), secrets or {}
        config.url, config.options, config.schedule = body["url"], body["options"], body["schedule"]
        config.retention = Retention.from_json(body["retention"])
        if body["check"]:
            target = await open_target(
                config.url, config.options, store.secrets(config) if secrets is None else secrets
            )
            try:
                await target.list("snapshots")
            finally:
                await target.close()
        await store.put(config, secrets)
        return (await store.get(name)).public()


@backup.command("remove")
@click.argument("name")
@passphrase_option()
@pass_context
def remove(ctx: Context, name: str, passphrase_file: str | None) -> None:
    """Forget the backup target NAME (the backups on it stay)."""

    async def go() -> None:
        async with daemon_session(ctx.data_dir) as session:
            if session is not None:
                await call(session, "DELETE", f"/backups/{name}")
                return
            from ..backup.config import TargetStore

            async with offline_box(ctx.data_dir, _asker(passphrase_file)) as box:
                await TargetStore(box).delete(name)

    asyncio.run(go())
    click.echo(f"backup target {name} removed (its backups are still on it)")


@backup.command("run")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Output the report as JSON.")
@passphrase_option()
@pass_context
def run(ctx: Context, name: str | None, as_json: bool, passphrase_file: str | None) -> None:
    """Back up now to NAME (default: every enabled target); checks each by a test restore."""

    async def go() -> list[dict[str, Any]]:
        async with daemon_session(ctx.data_dir) as session:
            if session is not None:
                names = (
                    [name]
                    if name
                    else [
                        t["name"]
                        for t in (await call(session, "GET", "/backups"))["targets"]
                        if t["enabled"]
                    ]
                )
                return [await call(session, "POST", f"/backups/{n}/run") for n in names]
            from ..backup.service import BackupService

            async with offline_box(ctx.data_dir, _asker(passphrase_file)) as box:
                service = BackupService(box)
                names = [name] if name else [t.name for t in await service.store.all() if t.enabled]
                return [(await service.run(n)).to_json() for n in names]

    reports = asyncio.run(go())
    if not reports:
        raise InputError("no backup target yet: `selfdata backup add NAME URL`")
    emit(reports, as_json, lambda rs: "\n".join(_human_report(r) for r in rs))
    if any(r["problems"] for r in reports):
        sys.exit(1)


def _human_report(r: dict[str, Any]) -> str:
    text = (
        f"{r['target']}: snapshot {r['snapshot']} — {r['blobs']:,} file(s), "
        f"{r['blobs_sent']:,} new, {r['bytes_sent']:,} bytes sent, "
        f"{r['verified_blobs']} checked by a test restore"
    )
    if r["pruned"]:
        text += f"; {len(r['pruned'])} old snapshot(s) removed"
    return "\n".join([text, *(f"  problem: {p}" for p in r["problems"])])


@backup.command("snapshots")
@click.argument("name")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@passphrase_option()
@pass_context
def list_snapshots(ctx: Context, name: str, as_json: bool, passphrase_file: str | None) -> None:
    """List the snapshots on the backup target NAME."""

    async def go() -> list[dict[str, Any]]:
        async with daemon_session(ctx.data_dir) as session:
            if session is not None:
                return list((await call(session, "GET", f"/backups/{name}/snapshots"))["snapshots"])
            from ..backup import open_target
            from ..backup.config import TargetStore
            from ..backup.repository import list_snapshots as ids
            from ..backup.repository import read_manifest
            from ..backup.sealing import backup_key

            async with offline_box(ctx.data_dir, _asker(passphrase_file)) as box:
                store = TargetStore(box)
                config = await store.get(name)
                target = await open_target(config.url, config.options, store.secrets(config))
                try:
                    key = backup_key(box.keys)
                    found = []
                    for snapshot_id in await ids(target):
                        manifest = await read_manifest(target, key, snapshot_id)
                        found.append(
                            {
                                "id": snapshot_id,
                                "created": manifest.get("created"),
                                "files": len(manifest.get("blobs", {})),
                                "database_bytes": manifest["database"]["size"],
                            }
                        )
                    return found
                finally:
                    await target.close()

    emit(asyncio.run(go()), as_json, _human_snapshots)


def _human_snapshots(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "no snapshot there yet"
    return "\n".join(f"{r['id']}  {r['files']:>7,} file(s)  {r['created']}" for r in rows)


@click.command()
@click.option(
    "--from", "source", required=True, help="Where the backups are: a URL as for `backup add`."
)
@target_options
@click.option(
    "--recovery-key-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Read the recovery key from this file (else it is asked for).",
)
@click.option("--snapshot", help="Which snapshot (default: the newest).")
@click.option("--list", "only_list", is_flag=True, help="Only list the snapshots there.")
@click.option("--json", "as_json", is_flag=True, help="Output JSON.")
@pass_context
def restore(ctx: Context, /, source: str, **kwargs: Any) -> None:
    """Restore a backup onto this freshly set-up box, with only the recovery key.

    The box must have no vault yet (a fresh SD card, an empty data dir). Everything is
    fetched and checked before anything is put in place: a wrong key or a damaged backup
    changes nothing. Afterwards unlock with the passphrase you had (or `selfdata recover`).
    """
    options, secrets = _target(kwargs)
    recovery_key = read_secret(kwargs["recovery_key_file"], "Recovery key")
    body: dict[str, Any] = {
        "url": source,
        "options": options,
        "secrets": secrets,
        "recovery_key": recovery_key,
    }
    if kwargs["snapshot"]:
        body["snapshot"] = kwargs["snapshot"]
    if kwargs["only_list"]:
        body["list"] = True

    async def go() -> Any:
        async with daemon_session(ctx.data_dir) as session:
            if session is not None:
                return await call(session, "POST", "/restore", json=body)
            from ..backup import (
                open_target,
                snapshots,
            )
            from ..backup import restore as do_restore

            target = await open_target(source, options, secrets)
            try:
                if kwargs["only_list"]:
                    return {"snapshots": await snapshots(target, recovery_key)}
                async with offline_box(ctx.data_dir, None) as box:
                    report = await do_restore(box, target, recovery_key, kwargs["snapshot"])
                    return {**report.to_json(), **box.status()}
            finally:
                await target.close()

    result = asyncio.run(go())
    if kwargs["only_list"]:
        emit(result["snapshots"], kwargs["as_json"], _human_snapshots)
        return
    emit(
        result,
        kwargs["as_json"],
        lambda r: (
            f"restored snapshot {r['snapshot']} ({r['created']}): {r['blobs']:,} file(s). "
            "Unlock with your passphrase, or set a new one with `selfdata recover`."
        ),
    )


COMMANDS = [backup, restore]
