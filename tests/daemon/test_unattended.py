"""Unattended unlock: a key file on removable media opens the box after a restart.

The vault side (a third wrap of the master key) and the key file's format, with the
hostile files it must refuse. The daemon's watcher: tests/daemon/api/test_unattended_api.py.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from selfdata.box import Box
from selfdata.doctypes import resolve
from selfdata.errors import InputError, WrongPassphrase
from selfdata.keyfile import check_location, key_file_text, parse_key_file, read_key_file
from selfdata.paths import DataDir
from selfdata.vault import VaultHeader

from ..conftest import PASSPHRASE

NEW_PASSPHRASE = "another fine passphrase"


NOTES = resolve("org.example.notes")


def stick(tmp_path: Path) -> Path:
    """Where a USB stick would be mounted (outside the data dir)."""
    path = tmp_path / "media" / "selfdata-key"
    path.mkdir(parents=True, exist_ok=True)
    return path / "selfdata.key"


def secret_of(box: Box, text: str) -> bytes:
    return parse_key_file(text.encode(), box.header.box_id)


# -- the vault ------------------------------------------------------------------------------


async def test_a_key_file_opens_the_box_it_was_made_for(box: Box, tmp_path: Path) -> None:
    text = await box.enable_unattended(PASSPHRASE, str(stick(tmp_path)))
    assert text.startswith("selfdata key file v1\n")
    await box.documents.create(NOTES, {"_id": "a", "name": "kept"})
    box.lock()
    await box.unlock_with_key_file(secret_of(box, text))
    assert not box.locked
    assert (await box.documents.get(NOTES.name, "a"))["name"] == "kept"


async def test_the_setting_survives_a_restart_and_a_passphrase_change(
    data_dir: DataDir, tmp_path: Path
) -> None:
    box = await Box.open(data_dir)
    await box.init(PASSPHRASE)
    text = await box.enable_unattended(PASSPHRASE, str(stick(tmp_path)))
    await box.change_passphrase(PASSPHRASE, NEW_PASSPHRASE)
    await box.close()
    box = await Box.open(data_dir)
    try:
        assert box.locked
        assert box.header.unattended is not None
        assert box.header.unattended.path == str(stick(tmp_path))
        await box.unlock_with_key_file(secret_of(box, text))
        assert not box.locked
    finally:
        await box.close()


async def test_renewing_or_turning_off_makes_old_key_files_useless(
    box: Box, tmp_path: Path
) -> None:
    first = await box.enable_unattended(PASSPHRASE, str(stick(tmp_path)))
    second = await box.enable_unattended(PASSPHRASE, str(stick(tmp_path)))
    box.lock()
    with pytest.raises(WrongPassphrase, match="does not open this box"):
        await box.unlock_with_key_file(secret_of(box, first))
    await box.unlock_with_key_file(secret_of(box, second))
    await box.disable_unattended()
    box.lock()
    with pytest.raises(WrongPassphrase, match="not enabled"):
        await box.unlock_with_key_file(secret_of(box, second))
    assert VaultHeader.from_json(box.header.to_json()).unattended is None


async def test_turning_it_on_needs_the_passphrase_and_changes_nothing_otherwise(
    box: Box, tmp_path: Path
) -> None:
    before = box.header.to_json()
    with pytest.raises(WrongPassphrase):
        await box.enable_unattended("not the passphrase!", str(stick(tmp_path)))
    assert box.header.to_json() == before


async def test_a_tampered_wrap_is_refused(box: Box, tmp_path: Path) -> None:
    text = await box.enable_unattended(PASSPHRASE, str(stick(tmp_path)))
    data = json.loads(box.header.to_json())
    wrapped = bytearray(base64.b64decode(data["unattended"]["wrapped"]))
    wrapped[-1] ^= 1
    data["unattended"]["wrapped"] = base64.b64encode(bytes(wrapped)).decode()
    header = VaultHeader.from_json(json.dumps(data))
    with pytest.raises(WrongPassphrase):
        header.unlock_with_key_file(secret_of(box, text))


@pytest.mark.parametrize(
    "path",
    ["relative/selfdata.key", "", "/media/\0/x"],
)
async def test_a_key_file_path_must_be_absolute_and_sane(box: Box, path: str) -> None:
    with pytest.raises(InputError):
        await box.enable_unattended(PASSPHRASE, path)
    assert box.header.unattended is None


async def test_a_key_file_may_not_live_in_the_data_dir(box: Box, tmp_path: Path) -> None:
    inside = box.paths.root / "selfdata.key"
    with pytest.raises(InputError, match="data directory"):
        await box.enable_unattended(PASSPHRASE, str(inside))
    sneaky = tmp_path / "link"
    sneaky.symlink_to(box.paths.root)
    with pytest.raises(InputError, match="data directory"):
        await box.enable_unattended(PASSPHRASE, str(sneaky / "selfdata.key"))
    assert check_location("/media/x/../selfdatakey/k", box.paths.root) == "/media/selfdatakey/k"


# -- the key file ---------------------------------------------------------------------------

BOX_ID = "0123456789abcdef"
GOOD = key_file_text(BOX_ID, bytes(range(32)))


def test_a_key_file_reads_back() -> None:
    assert parse_key_file(GOOD.encode(), BOX_ID) == bytes(range(32))
    crlf = GOOD.replace("\n", "\r\n").encode()  # copied through a Windows editor
    assert parse_key_file(crlf, BOX_ID) == bytes(range(32))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not a selfdata key file"),
        (b"\xff\xfe\x00garbage", "not text"),
        (b"x" * 5000, "too large"),
        (GOOD.encode()[:30], "not a selfdata key file"),  # truncated
        (GOOD.replace("v1", "v9").encode(), "not a selfdata key file"),
        (GOOD.replace("key: ", "key: !!").encode(), "not base64"),
        (key_file_text(BOX_ID, b"short").encode(), "wrong length"),
        ((GOOD + "extra: field\n").encode(), "not a selfdata key file"),
    ],
)
def test_anything_else_is_refused_with_a_reason(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_key_file(data, BOX_ID)


def test_a_key_file_of_another_box_says_so() -> None:
    with pytest.raises(WrongPassphrase, match="another box"):
        parse_key_file(GOOD.encode(), "fedcba9876543210")


def test_reading_missing_odd_or_huge_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no key file at"):
        read_key_file(tmp_path / "absent.key", BOX_ID)
    with pytest.raises(InputError, match="cannot read"):
        read_key_file(tmp_path, BOX_ID)  # a directory
    fifo = tmp_path / "fifo.key"
    os.mkfifo(fifo)  # nobody writes it: reading must not hang
    with pytest.raises(InputError):
        read_key_file(fifo, BOX_ID)
    huge = tmp_path / "huge.key"
    with open(huge, "wb") as f:
        f.truncate(1 << 30)  # sparse: only the first few KiB may be read
    with pytest.raises(InputError, match="too large"):
        read_key_file(huge, BOX_ID)
