"""The CLI imports a command's module only when that command runs."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from importlib import import_module

import click
import pytest
import selfdata.cli
from selfdata.cli.main import COMMAND_MODULES, LazyCommands, cli


def test_the_table_names_every_command_of_every_module_and_nothing_else() -> None:
    found = {}
    for info in pkgutil.iter_modules(selfdata.cli.__path__):
        module = import_module(f"selfdata.cli.{info.name}")
        for command in getattr(module, "COMMANDS", []):
            found[command.name] = info.name
    assert found == COMMAND_MODULES
    assert sorted(cli.list_commands(click.Context(cli))) == sorted(found)
    assert {name: cli.commands[name].name for name in found} == {name: name for name in found}


def test_one_command_imports_its_module_only() -> None:
    script = (
        "import sys\n"
        "from selfdata.cli.main import cli\n"
        "assert cli.commands['serve'].name == 'serve'\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('selfdata.cli.'))))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.split()
    assert out == ["selfdata.cli.main", "selfdata.cli.server_commands"]


def test_the_mapping_behaves_as_one() -> None:
    names = ("serve", "setup-code", "status")
    commands = LazyCommands(dict.fromkeys(names, "server_commands"))
    assert len(commands) == 3
    assert "serve" in commands
    assert "nope" not in commands
    extra = click.Command("extra")
    commands["extra"] = extra
    assert sorted(commands) == ["extra", *names]
    del commands["status"]
    assert sorted(commands) == ["extra", "serve", "setup-code"]
    with pytest.raises(KeyError):
        commands["status"]
