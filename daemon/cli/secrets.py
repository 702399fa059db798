"""Asking for passphrases: from a file (for scripts) or a hidden prompt (for people)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import InputError

__all__ = ["passphrase_option", "read_secret"]

F = TypeVar("F", bound=Callable[..., Any])


def passphrase_option(
    name: str = "--passphrase-file",
    envvar: str = "SELFDATA_PASSPHRASE_FILE",
    help_text: str = "Read the passphrase from this file (- for stdin).",
) -> Callable[[F], F]:
    return click.option(
        name,
        type=click.Path(dir_okay=False, allow_dash=True),
        envvar=envvar,
        help=help_text + f" [env: {envvar}]" if envvar else help_text,
    )


def read_secret(path: str | None, prompt: str, *, confirm: bool = False) -> str:
    """The first line of ``path``, or a hidden prompt on a terminal."""
    if path is not None:
        try:
            text = sys.stdin.readline() if path == "-" else Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise InputError(f"cannot read the passphrase file {path}: {err}") from None
        secret = text.splitlines()[0] if text.splitlines() else ""
        if not secret:
            raise InputError(f"the passphrase file {path} is empty")
        return secret
    if not sys.stdin.isatty():
        raise InputError(
            f"{prompt.lower()} needed: give it with --passphrase-file (or its env variable)"
        )
    # on stderr: stdout may be data (`unattended enable -o -`, `export`)
    value: str = click.prompt(prompt, hide_input=True, confirmation_prompt=confirm, err=True)
    return value
