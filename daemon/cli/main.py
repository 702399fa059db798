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
from collections.abc import (
    Awaitable,
    Callable,
    Coroutine,
    Iterator,
    Mapping,
    MutableMapping,
)
from dataclasses import dataclass
from functools import wraps
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click

from .. import __version__
from ..errors import SelfdataError
from ..paths import DataDir, default_data_dir

if TYPE_CHECKING:
    from .backend import Backend

__all__ = ["COMMAND_MODULES", "LazyCommands", "cli", "main"]

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
    from .backend import open_backend  # aiohttp's client: imported when a command calls

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


#: Each command's module, imported only when that command runs (``--help`` imports them
#: all): ``selfdata serve`` and every scripted ``selfdata status`` skip the imports of the
#: other commands (the CLI started in 0.6 s). tests/daemon/cli/test_lazy_commands.py
#: checks this table against each module's ``COMMANDS``.
COMMAND_MODULES = {
    "serve": "server_commands",
    "status": "server_commands",
    "setup-code": "server_commands",
    "init": "vault_commands",
    "unlock": "vault_commands",
    "lock": "vault_commands",
    "passwd": "vault_commands",
    "recover": "vault_commands",
    "unattended": "unattended_commands",
    "import": "data_commands",
    "export": "data_commands",
    "doctypes": "data_commands",
    "fsck": "data_commands",
    "backup": "backup_commands",
    "restore": "backup_commands",
    "connectors": "connector_commands",
    "audit": "audit_commands",
    "answers": "answer_commands",
    "verify-answer": "answer_commands",
    "contribution": "contribution_commands",
}


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands, as click asks for them, each module imported on first use."""

    def __init__(self, modules: Mapping[str, str]) -> None:
        self._modules = dict(modules)  # name -> module, until imported
        self._commands: dict[str, click.Command] = {}

    def _load(self, name: str) -> None:
        module = self._modules.get(name)
        if module is None:
            return
        for command in import_module(f"{__package__}.{module}").COMMANDS:
            self._commands.setdefault(command.name, command)
        self._modules = {n: m for n, m in self._modules.items() if m != module}

    def __getitem__(self, name: str) -> click.Command:
        self._load(name)
        return self._commands[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._modules.pop(name, None)
        self._commands[name] = command

    def __delitem__(self, name: str) -> None:
        self._load(name)
        del self._commands[name]

    def __iter__(self) -> Iterator[str]:
        for name in list(self._modules):
            self._load(name)
        return iter(list(self._commands))

    def __len__(self) -> int:
        return len(self._commands.keys() | self._modules.keys())


cli.commands = LazyCommands(COMMAND_MODULES)
