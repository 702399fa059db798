"""``selfdata``: set up, run and administer a box, from a terminal or a script.

Every command prints one clear line and exits non-zero on error, never a traceback
(set ``SELFDATA_DEBUG=1`` to see one). Commands that output data take ``--json``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click

from .. import __version__
from ..errors import SelfdataError
from ..paths import DataDir, default_data_dir
from .backend import Backend, open_backend

__all__ = ["cli", "main"]

P = ParamSpec("P")
T = TypeVar("T")
EXIT_ERROR = 1
EXIT_INTERNAL = 70


@dataclass
class Context:
    data_dir: DataDir


pass_context = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="selfdata")
@click.option(
    "--data-dir",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="SELFDATA_DATA_DIR",
    help="The box's data directory [env: SELFDATA_DATA_DIR; default: /var/lib/selfdata "
    "on the appliance, else ~/.local/share/selfdata].",
)
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None) -> None:
    """selfdata: your personal data box, encrypted at home."""
    ctx.obj = Context(DataDir((data_dir or default_data_dir()).absolute()))


def run_async(func: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, T]:
    """Run an async command body with asyncio."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        return asyncio.run(func(*args, **kwargs))

    return wrapper


def emit(data: Any, as_json: bool, human: Callable[[Any], str]) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        click.echo(human(data))


def main() -> None:
    """Entry point: one-line errors, exit codes, no tracebacks for people."""
    debug = bool(os.environ.get("SELFDATA_DEBUG"))
    try:
        cli.main(standalone_mode=False, prog_name="selfdata")
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(EXIT_ERROR)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except click.exceptions.Exit as err:
        sys.exit(err.exit_code)
    except SelfdataError as err:
        if debug:
            raise
        click.echo(f"Error: {err.message}", err=True)
        sys.exit(EXIT_ERROR)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.stderr.close()  # `selfdata export | head`: not an error
        sys.exit(0)
    except Exception as err:
        if debug:
            raise
        click.echo(
            f"Error: internal error ({type(err).__name__}: {err}); "
            "run with SELFDATA_DEBUG=1 for details",
            err=True,
        )
        sys.exit(EXIT_INTERNAL)


def backend_call(
    ctx: Context,
    action: Callable[[Backend], Awaitable[T]],
    passphrase: Callable[[], str] | None = None,
) -> T:
    async def go() -> T:
        async with open_backend(ctx.data_dir, passphrase) as backend:
            return await action(backend)

    return asyncio.run(go())


def setup_logging(verbose: bool) -> None:
    from .. import systemd

    handler = systemd.journal_handler() or logging.StreamHandler()
    if isinstance(handler, logging.StreamHandler):
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    logging.getLogger("aiohttp.access").setLevel(logging.INFO if verbose else logging.WARNING)


# Register the commands (they import the helpers above).
from . import (  # noqa: E402
    answer_commands,
    audit_commands,
    backup_commands,
    connector_commands,
    contribution_commands,
    data_commands,
    server_commands,
    unattended_commands,
    vault_commands,
)

for module in (
    server_commands,
    vault_commands,
    unattended_commands,
    data_commands,
    backup_commands,
    connector_commands,
    audit_commands,
    answer_commands,
    contribution_commands,
):
    for command in module.COMMANDS:
        cli.add_command(command)
