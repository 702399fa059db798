"""The key file of unattended unlock: its format, and reading it safely.

A key file holds 256 random bits that unwrap the vault's master key (see
:mod:`selfdata.vault`). It is small text, so an owner can recognise it on a USB stick::

    selfdata key file v1
    box: 3f9c2a71d04be518
    key: <base64 of 32 bytes>

The ``box`` line names the vault it opens (:attr:`VaultHeader.box_id`), so a stick
carried to the wrong box gets a clear message rather than a generic failure.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from pathlib import Path

from . import crypto
from .errors import InputError, WrongPassphrase

__all__ = ["MAX_SIZE", "check_location", "key_file_text", "parse_key_file", "read_key_file"]

_MAGIC = "selfdata key file v1"
#: A key file is under 100 bytes; anything much larger is not one (and is not read whole).
MAX_SIZE = 4096


def key_file_text(box_id: str, secret: bytes) -> str:
    return f"{_MAGIC}\nbox: {box_id}\nkey: {base64.b64encode(secret).decode()}\n"


def parse_key_file(data: bytes, box_id: str) -> bytes:
    """The secret of a key file for the box ``box_id``; :class:`InputError` if it is not one."""
    if len(data) > MAX_SIZE:
        raise InputError("that is not a selfdata key file (too large)")
    try:
        lines = data.decode("ascii").strip().splitlines()
    except UnicodeDecodeError:
        raise InputError("that is not a selfdata key file (not text)") from None
    fields = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
    if not lines or lines[0].strip() != _MAGIC or set(fields) != {"box", "key"}:
        raise InputError("that is not a selfdata key file")
    if fields["box"].strip() != box_id:
        raise WrongPassphrase(
            f"this key file belongs to another box ({fields['box'].strip()}, this one is {box_id})"
        )
    try:
        secret = base64.b64decode(fields["key"].strip(), validate=True)
    except (binascii.Error, ValueError):
        raise InputError("that key file is damaged (its key is not base64)") from None
    if len(secret) != crypto.KEY_BYTES:
        raise InputError("that key file is damaged (its key has the wrong length)")
    return secret


def read_key_file(path: Path, box_id: str) -> bytes:
    """Read and parse the key file at ``path``: :class:`InputError` says why it could not."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO planted there must not hang us
    except FileNotFoundError:
        raise InputError(f"no key file at {path}") from None
    except OSError as err:
        raise InputError(f"cannot read the key file at {path}: {err.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise InputError(f"cannot read the key file at {path}: not a regular file")
        data = os.read(fd, MAX_SIZE + 1)
    except OSError as err:
        raise InputError(f"cannot read the key file at {path}: {err.strerror}") from None
    finally:
        os.close(fd)
    return parse_key_file(data, box_id)


def check_location(path: str, data_dir: Path) -> str:
    """The normalised absolute path for a key file, refusing places that defeat its point."""
    if not path or "\0" in path or len(path) > 1024:
        raise InputError("give the key file's path, e.g. /media/selfdatakey/selfdata.key")
    if not path.startswith("/"):
        raise InputError(f"the key file's path must be absolute, not {path!r}")
    clean = os.path.normpath(path)
    root = os.path.realpath(data_dir)
    resolved = os.path.realpath(clean)
    if resolved == root or resolved.startswith(root + os.sep):
        raise InputError(
            "the key file must not live in the data directory: it would sit next to what it opens"
        )
    return clean
