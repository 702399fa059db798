"""docs/cli.md, generated from the commands' own ``--help`` so the two never disagree.

Regenerate with ``python -m selfdata.cli.reference > docs/cli.md``; a test fails when
the file is stale.
"""

from __future__ import annotations

import click

from .main import cli

__all__ = ["render"]

_INTRO = """\
# Command-line reference

`selfdata` administers a box over ssh or on the box itself. Every command works through
the running daemon's admin socket when there is one (file permissions are the
authentication: root, the `selfdata` user and members of its group), and on the data
directory directly when there is none. Errors are one line on stderr with a non-zero
exit status; `--json` gives machine-readable output where a command prints data.

Passphrases are never arguments: give `--passphrase-file FILE` (or `-` for stdin, or the
environment variable named in the option) in scripts, or type them at the hidden prompt.

This file is generated from `--help`: `python -m selfdata.cli.reference > docs/cli.md`.
"""


def render() -> str:
    parts = [_INTRO]
    ctx = click.Context(cli, info_name="selfdata", terminal_width=100, max_content_width=100)
    parts.append(f"## selfdata\n\n```\n{cli.get_help(ctx)}\n```\n")
    for name in sorted(cli.list_commands(ctx)):
        command = cli.get_command(ctx, name)
        assert command is not None
        sub = click.Context(
            command, info_name=name, parent=ctx, terminal_width=100, max_content_width=100
        )
        parts.append(f"## selfdata {name}\n\n```\n{command.get_help(sub)}\n```\n")
        if isinstance(command, click.Group):  # e.g. `selfdata connectors add`
            for child in sorted(command.list_commands(sub)):
                leaf = command.get_command(sub, child)
                assert leaf is not None
                leaf_ctx = click.Context(
                    leaf, info_name=child, parent=sub, terminal_width=100, max_content_width=100
                )
                parts.append(
                    f"### selfdata {name} {child}\n\n```\n{leaf.get_help(leaf_ctx)}\n```\n"
                )
    return "\n".join(parts)


if __name__ == "__main__":
    click.echo(render(), nl=False)
