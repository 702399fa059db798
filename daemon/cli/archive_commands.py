"""``selfdata export --all`` and importing a sealed export: the CLI side of selfdata.archive.

Like every command, these go through the running daemon when its admin socket answers
(the archive streams over the socket) and open the data dir themselves when it does not.
The plain export, a Cozy export and a MesInfos file need nothing special on import:
``selfdata import FILE`` detects them (selfdata.archive.detect). A sealed export needs its
passphrase first, asked here.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import click

if TYPE_CHECKING:  # the store, imported only offline
    from ..box import Box
from ..errors import DaemonError, InputError, from_code
from ..paths import DataDir
from .main import Context, emit
from .secrets import read_secret

__all__ = [
    "call",
    "daemon_session",
    "export_all",
    "export_options",
    "import_options",
    "import_sealed",
    "offline_box",
]

F = TypeVar("F", bound=Callable[..., Any])
_CHUNK = 256 * 1024
PASSPHRASE_HEADER = "X-Selfdata-Export-Passphrase"  # noqa: S105 - a header name


# --- reaching the daemon, or the data dir ------------------------------------------------------


@asynccontextmanager
async def daemon_session(data_dir: DataDir) -> AsyncIterator[aiohttp.ClientSession | None]:
    """A session on the daemon's admin socket, or ``None`` when no daemon answers."""
    if not data_dir.socket.exists():
        yield None
        return
    session = aiohttp.ClientSession(
        connector=aiohttp.UnixConnector(path=str(data_dir.socket)),
        base_url="http://selfdata",
        timeout=aiohttp.ClientTimeout(total=None),
    )
    try:
        async with session.get("/api/v1/status"):
            pass
    except aiohttp.ClientError:
        await session.close()
        yield None
        return
    try:
        yield session
    finally:
        await session.close()


async def call(session: aiohttp.ClientSession, method: str, path: str, **kwargs: Any) -> Any:
    try:
        async with session.request(method, "/api/v1" + path, **kwargs) as resp:
            return await answer(resp)
    except aiohttp.ClientError as err:
        raise DaemonError(f"lost the connection to the daemon: {err}") from None


async def answer(resp: aiohttp.ClientResponse) -> Any:
    text = await resp.text()
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        data = {}
    if resp.status >= 400:
        error = data.get("error", {}) if isinstance(data, dict) else {}
        raise from_code(str(error.get("code", "daemon")), str(error.get("message", text[:200])))
    return data


@asynccontextmanager
async def offline_box(
    data_dir: DataDir, passphrase: Callable[[], str] | None
) -> AsyncIterator[Box]:
    """The data dir's box, unlocked with ``passphrase`` when it is given."""
    from ..box import Box

    data_dir.create()
    box = await Box.open(data_dir)
    try:
        if passphrase is not None and box.initialized and box.locked:
            await box.unlock(passphrase())
        yield box
    finally:
        await box.close()


# --- export --all ------------------------------------------------------------------------------


def export_options(func: F) -> F:
    """The options ``selfdata export`` gains for a whole-box export."""
    for option in reversed(
        [
            click.option(
                "--all",
                "everything",
                is_flag=True,
                help="Export everything (documents, series, files, sources without their "
                "secrets) in one archive; needs --output. See docs/export-format.md.",
            ),
            click.option(
                "--cozy",
                is_flag=True,
                help="With --all: write the Cozy export layout (a zip), to move to a Cozy.",
            ),
            click.option(
                "--encrypt",
                is_flag=True,
                help="With --all: seal the archive with a passphrase (Argon2id + "
                "XChaCha20-Poly1305), asked for or read from --export-passphrase-file.",
            ),
            click.option(
                "--export-passphrase-file",
                type=click.Path(dir_okay=False, allow_dash=True),
                envvar="SELFDATA_EXPORT_PASSPHRASE_FILE",
                help="The passphrase that seals (or opens) an export, from this file "
                "[env: SELFDATA_EXPORT_PASSPHRASE_FILE].",
            ),
        ]
    ):
        func = option(func)
    return func


def export_all(
    ctx: Context,
    output: str,
    *,
    cozy: bool,
    encrypt: bool,
    export_passphrase_file: str | None,
    asker: Callable[[], str],
) -> None:
    if output == "-" and sys.stdout.isatty():
        raise InputError("give --output FILE: an archive does not belong on a terminal")
    if cozy and (encrypt or export_passphrase_file):
        raise InputError("--cozy writes Cozy's plain zip: it cannot be sealed")
    passphrase = None
    if encrypt or export_passphrase_file:
        passphrase = read_secret(export_passphrase_file, "Export passphrase", confirm=True)
    fmt = "cozy" if cozy else "selfdata"

    async def go() -> dict[str, Any]:
        async with daemon_session(ctx.data_dir) as session:
            if session is not None:
                body: dict[str, Any] = {"format": fmt}
                if passphrase:
                    body["passphrase"] = passphrase
                try:
                    async with session.post("/api/v1/export", json=body) as resp:
                        if resp.status != 200:
                            await answer(resp)
                        return await _write(output, resp.content.iter_chunked(_CHUNK))
                except aiohttp.ClientError as err:
                    raise DaemonError(f"lost the connection to the daemon: {err}") from None
            async with offline_box(ctx.data_dir, asker) as box:
                from ..archive import ExportSummary, export_archive
                from ..archive.events import record
                from ..interop.cozy import export_cozy

                box.documents  # noqa: B018
                summary = ExportSummary()
                stream = (
                    export_cozy(box)
                    if cozy
                    else export_archive(box, passphrase=passphrase, summary=summary)
                )
                result = await _write(output, stream)
                await record(
                    box,
                    "export",
                    {
                        "what": "all",
                        "format": fmt,
                        "encrypted": bool(passphrase),
                        "counts": summary.counts(),
                        "summary": f"Everything exported to {output} on the box",
                    },
                )
                return result

    result = asyncio.run(go())
    if output != "-":
        click.echo(
            f"exported to {output} ({result['bytes']:,} bytes"
            + (", sealed with a passphrase" if passphrase else "")
            + ")",
            err=True,
        )


async def _write(output: str, chunks: AsyncIterator[bytes]) -> dict[str, Any]:
    size = 0
    if output == "-":
        out = sys.stdout.buffer
        async for chunk in chunks:
            out.write(chunk)
            size += len(chunk)
        out.flush()
        return {"bytes": size}
    path = Path(output)
    tmp = path.with_name(f".{path.name}.partial")
    try:
        with open(tmp, "wb") as file:  # noqa: ASYNC230 - one write per chunk
            async for chunk in chunks:
                file.write(chunk)
                size += len(chunk)
        tmp.replace(path)  # never a half archive under the real name
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise InputError(f"cannot write {output}: {err.strerror}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return {"bytes": size}


# --- importing a sealed export -----------------------------------------------------------------


def import_options(func: F) -> F:
    return click.option(
        "--export-passphrase-file",
        type=click.Path(dir_okay=False, allow_dash=True),
        envvar="SELFDATA_EXPORT_PASSPHRASE_FILE",
        help="For a sealed selfdata export: its passphrase, from this file "
        "[env: SELFDATA_EXPORT_PASSPHRASE_FILE].",
    )(func)


def import_sealed(
    ctx: Context,
    file: str,
    as_json: bool,
    export_passphrase_file: str | None,
    asker: Callable[[], str],
) -> bool:
    """Import ``file`` if it is a sealed export (asking its passphrase); else ``False``."""
    from ..archive.container import is_encrypted

    path = Path(file)
    try:
        with open(path, "rb") as head:
            if not is_encrypted(head.read(64)):
                return False
    except OSError:
        return False
    passphrase = read_secret(export_passphrase_file, "Export passphrase")

    async def go() -> dict[str, Any]:
        async with daemon_session(ctx.data_dir) as session:
            if session is not None:
                with open(path, "rb") as body:  # noqa: ASYNC230 - aiohttp streams it
                    result: dict[str, Any] = await call(
                        session,
                        "POST",
                        "/archive/import",
                        data=body,
                        params={"name": path.name},
                        headers={PASSPHRASE_HEADER: passphrase},
                    )
                return result
            from ..archive.detect import ingest_archive
            from ..connectors.sinks import IngestReport, SourceFile

            async with offline_box(ctx.data_dir, asker) as box:
                box.documents  # noqa: B018
                report = IngestReport(path.name, "selfdata-export-encrypted")
                with open(path, "rb") as stream:  # noqa: ASYNC230
                    source = SourceFile(path.name, stream, {"passphrase": passphrase})
                    await ingest_archive(box, source, report, "selfdata-export-encrypted")
                return report.to_json()

    from .file_import import human_report

    report = asyncio.run(go())
    emit(report, as_json, human_report)
    if report["errors"]:
        sys.exit(1)
    return True
