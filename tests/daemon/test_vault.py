"""The key hierarchy: passphrase and recovery key both open the master key, nothing else does."""

from __future__ import annotations

import base64
import json
import re
import sqlite3
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from selfdata import crypto
from selfdata.box import Box
from selfdata.crypto import KdfParams
from selfdata.doctypes import resolve
from selfdata.errors import VaultError, WeakPassphrase, WrongPassphrase
from selfdata.paths import DataDir
from selfdata.vault import (
    Keys,
    Namer,
    Purpose,
    VaultHeader,
    check_passphrase,
    create_vault,
    format_recovery_key,
    parse_recovery_key,
)

PASSPHRASE = "correct horse battery staple"
#: The enforced floor: fast enough to run Argon2id dozens of times in a test.
FLOOR = KdfParams(KdfParams.MIN_OPSLIMIT, KdfParams.MIN_MEMLIMIT, bytes(range(16)))
CROCKFORD_KEY = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){13}$")


@pytest.fixture(scope="module")
def vault() -> tuple[VaultHeader, Keys, str]:
    return create_vault(PASSPHRASE, FLOOR)


# --- passphrase ----------------------------------------------------------------------------


def test_the_passphrase_opens_the_master_key(vault: tuple[VaultHeader, Keys, str]) -> None:
    header, keys, _ = vault
    assert header.unlock(PASSPHRASE).master == keys.master


@pytest.mark.parametrize(
    "wrong", ["correct horse battery stapl", "Correct horse battery staple", "", PASSPHRASE + " "]
)
def test_a_wrong_passphrase_is_refused(vault: tuple[VaultHeader, Keys, str], wrong: str) -> None:
    header, _, _ = vault
    with pytest.raises(WrongPassphrase):
        header.unlock(wrong)


def test_the_same_passphrase_composed_or_decomposed_unlocks() -> None:
    composed = unicodedata.normalize("NFC", "crème brûlée à Noël")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    header, keys, _ = create_vault(decomposed, FLOOR)
    assert header.unlock(composed).master == keys.master
    assert header.unlock(decomposed).master == keys.master


@pytest.mark.parametrize(
    "weak", ["", "short", "123456789", "aaaaaaaaaaaaaaaa", "abababababab", "abcabcabcabc", " " * 20]
)
def test_weak_passphrases_are_refused(weak: str) -> None:
    with pytest.raises(WeakPassphrase):
        check_passphrase(weak)
    with pytest.raises(WeakPassphrase):
        create_vault(weak, FLOOR)


def test_a_passphrase_counts_characters_after_normalisation() -> None:
    # 9 characters once composed, though 18 code points as typed on some keyboards
    with pytest.raises(WeakPassphrase):
        check_passphrase(unicodedata.normalize("NFD", "éèêëàâäôö"))


def test_a_new_passphrase_rewraps_the_same_master_key(vault: tuple[VaultHeader, Keys, str]) -> None:
    header, keys, recovery = vault
    salt = bytes(reversed(range(16)))
    changed = header.with_passphrase(keys, "another long passphrase", replace(FLOOR, salt=salt))
    assert changed.by_recovery == header.by_recovery
    assert changed.kdf.salt == salt
    assert changed.unlock("another long passphrase").master == keys.master
    with pytest.raises(WrongPassphrase):
        changed.unlock(PASSPHRASE)
    assert changed.unlock_with_recovery_key(recovery).master == keys.master


# --- recovery key --------------------------------------------------------------------------------


def test_a_recovery_key_is_14_groups_of_4_crockford_characters(
    vault: tuple[VaultHeader, Keys, str],
) -> None:
    _, _, recovery = vault
    assert CROCKFORD_KEY.match(recovery), recovery
    assert CROCKFORD_KEY.match(format_recovery_key(bytes(32)))
    assert CROCKFORD_KEY.match(format_recovery_key(b"\xff" * 32))


def test_the_recovery_key_opens_the_master_key(vault: tuple[VaultHeader, Keys, str]) -> None:
    header, keys, recovery = vault
    assert header.unlock_with_recovery_key(recovery).master == keys.master


RAW = bytes(range(0, 256, 8))  # its key holds both 0s and 1s


def confusable_key() -> str:
    key = format_recovery_key(RAW)
    assert "0" in key
    assert "1" in key
    return key


@pytest.mark.parametrize(
    "retype",
    [
        str.lower,
        lambda k: k.replace("-", " "),
        lambda k: k.replace("-", ""),
        lambda k: k.replace("-", "\n"),
        lambda k: "  " + k.replace("-", " - ") + "\t\n",
        lambda k: k.replace("0", "O"),
        lambda k: k.replace("0", "o"),
        lambda k: k.replace("1", "I"),
        lambda k: k.replace("1", "l"),
        lambda k: k.replace("1", "L").lower(),
        lambda k: k.replace("-", "\r\n"),  # pasted from a Windows text file
        lambda k: k.replace("-", "\u00a0"),  # pasted from a PDF
        lambda k: k.replace("-", "\u2013"),  # a word processor's en dash
    ],
)
def test_recovery_keys_are_parsed_tolerantly(retype: object) -> None:
    assert parse_recovery_key(retype(confusable_key())) == RAW  # type: ignore[operator]


def test_every_single_mistyped_character_gives_a_clear_checksum_error() -> None:
    key = confusable_key()
    alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    for position, char in enumerate(key):
        if char == "-":
            continue
        typo = alphabet[(alphabet.index(char) + 7) % 32]
        mistyped = key[:position] + typo + key[position + 1 :]
        with pytest.raises(WrongPassphrase, match="mistyped"):
            parse_recovery_key(mistyped)


def test_two_swapped_characters_give_a_checksum_error() -> None:
    key = confusable_key().replace("-", "")
    position = next(i for i in range(len(key) - 1) if key[i] != key[i + 1])
    swapped = key[:position] + key[position + 1] + key[position] + key[position + 2 :]
    with pytest.raises(WrongPassphrase, match="mistyped"):
        parse_recovery_key(swapped)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ABCD",
        "recovery",
        confusable_key()[:-1],
        confusable_key() + "A",
        confusable_key().replace(confusable_key()[0], "U", 1),
        PASSPHRASE,
    ],
)
def test_something_that_is_not_a_recovery_key_says_so(text: str) -> None:
    with pytest.raises(WrongPassphrase, match="14 groups of 4"):
        parse_recovery_key(text)


def test_a_well_formed_but_wrong_recovery_key_is_refused(
    vault: tuple[VaultHeader, Keys, str],
) -> None:
    header, _, _ = vault
    with pytest.raises(WrongPassphrase, match="wrong recovery key"):
        header.unlock_with_recovery_key(format_recovery_key(bytes(32)))


def test_a_new_recovery_key_invalidates_the_old_one(vault: tuple[VaultHeader, Keys, str]) -> None:
    header, keys, old = vault
    renewed, new = header.with_recovery_key(keys)
    assert new != old
    assert renewed.by_passphrase == header.by_passphrase
    assert renewed.unlock_with_recovery_key(new).master == keys.master
    with pytest.raises(WrongPassphrase):
        renewed.unlock_with_recovery_key(old)


# --- the header on disk ------------------------------------------------------------------------


def test_the_header_survives_a_json_round_trip(vault: tuple[VaultHeader, Keys, str]) -> None:
    header, _, _ = vault
    assert VaultHeader.from_json(header.to_json()) == header


def test_the_header_holds_no_key_material_in_clear(vault: tuple[VaultHeader, Keys, str]) -> None:
    header, keys, recovery = vault
    text = header.to_json()
    assert bytes(keys.master).hex() not in text
    assert base64.b64encode(bytes(keys.master)).decode() not in text
    assert recovery not in text
    assert recovery.replace("-", "") not in text


@pytest.mark.parametrize(
    "text",
    ["", "{", "[]", "null", '{"version": 1}', '{"version": 2}'],
)
def test_an_unreadable_header_is_a_vault_error(text: str) -> None:
    with pytest.raises(VaultError):
        VaultHeader.from_json(text)


def test_a_header_with_a_weakened_kdf_is_refused(vault: tuple[VaultHeader, Keys, str]) -> None:
    header, _, _ = vault
    data = json.loads(header.to_json())
    data["kdf"]["opslimit"] = 1
    with pytest.raises(VaultError, match="opslimit"):
        VaultHeader.from_json(json.dumps(data))
    data["kdf"]["opslimit"] = 2
    data["kdf"]["memlimit"] = 1024 * 1024
    with pytest.raises(VaultError, match="memlimit"):
        VaultHeader.from_json(json.dumps(data))


def test_a_flipped_byte_anywhere_in_the_recovery_wrapped_key_is_detected(
    vault: tuple[VaultHeader, Keys, str],
) -> None:
    header, _, recovery = vault
    for position in range(len(header.by_recovery)):
        wrapped = bytearray(header.by_recovery)
        wrapped[position] ^= 1
        with pytest.raises(WrongPassphrase):
            replace(header, by_recovery=bytes(wrapped)).unlock_with_recovery_key(recovery)


def test_a_flipped_byte_anywhere_in_the_passphrase_wrapped_key_is_detected(
    vault: tuple[VaultHeader, Keys, str],
) -> None:
    header, _, _ = vault
    for position in range(len(header.by_passphrase)):
        wrapped = bytearray(header.by_passphrase)
        wrapped[position] ^= 0x80
        with pytest.raises(WrongPassphrase):
            replace(header, by_passphrase=bytes(wrapped)).unlock(PASSPHRASE)


def test_a_flipped_byte_in_the_kdf_salt_is_detected(vault: tuple[VaultHeader, Keys, str]) -> None:
    header, _, _ = vault
    salt = bytearray(header.kdf.salt)
    salt[0] ^= 1
    with pytest.raises(WrongPassphrase):
        replace(header, kdf=replace(header.kdf, salt=bytes(salt))).unlock(PASSPHRASE)


def test_truncated_wrapped_keys_are_detected(vault: tuple[VaultHeader, Keys, str]) -> None:
    header, _, recovery = vault
    for size in (0, 1, 39, 40, len(header.by_recovery) - 1):
        with pytest.raises(WrongPassphrase):
            replace(header, by_recovery=header.by_recovery[:size]).unlock_with_recovery_key(
                recovery
            )


def test_wrapped_keys_swapped_between_passphrase_and_recovery_are_detected(
    vault: tuple[VaultHeader, Keys, str],
) -> None:
    header, _, recovery = vault
    swapped = replace(header, by_passphrase=header.by_recovery, by_recovery=header.by_passphrase)
    with pytest.raises(WrongPassphrase):
        swapped.unlock(PASSPHRASE)
    with pytest.raises(WrongPassphrase):
        swapped.unlock_with_recovery_key(recovery)


def test_a_tampered_inbox_public_key_is_detected(vault: tuple[VaultHeader, Keys, str]) -> None:
    header, _, recovery = vault
    pk = bytearray(header.inbox_public_key)
    pk[5] ^= 1
    with pytest.raises(VaultError, match="does not match"):
        replace(header, inbox_public_key=bytes(pk)).unlock_with_recovery_key(recovery)


# --- keys ----------------------------------------------------------------------------------------


def test_every_purpose_gets_its_own_subkey_derived_with_crypto_kdf() -> None:
    keys = Keys(bytearray(range(32)))
    subkeys = {keys.subkey(p) for p in Purpose}
    assert len(subkeys) == len(Purpose)
    assert keys.subkey(Purpose.DOCUMENTS) == crypto.derive_subkey(
        bytes(range(32)), int(Purpose.DOCUMENTS), b"selfdata"
    )


def test_keys_never_print_their_material() -> None:
    keys = Keys(bytearray(range(32)))
    assert bytes(range(32)).hex() not in repr(keys)
    assert "0, 1, 2" not in repr(keys)
    assert "\\x01" not in repr(keys)
    names = keys.subkey(Purpose.NAMES)
    assert names.hex() not in repr(keys.namer())
    assert repr(names) not in repr(keys.namer())


def test_the_namer_names_as_the_keys_do() -> None:
    """The import worker gets the naming key alone: its names must be the box's."""
    keys = Keys(bytearray(range(32)))
    namer = Namer(keys.subkey(Purpose.NAMES))
    dh = keys.name("doctype", "org.example.notes")
    assert namer.doctype_hash("org.example.notes") == dh
    assert namer.id_hash(dh, "é/1") == keys.name("document", dh, "é/1")
    assert (
        namer.content_id("org.example.notes", b"{}", 2)
        == keys.name_joined(b"content\0org.example.notes\0{}\0" + b"2").hex()
    )
    assert keys.namer()(b"x") == namer(b"x") == keys.name_joined(b"x")
    assert keys.name_joined(b"x", size=32) != namer(b"x")  # other sizes: their own hash


def test_wiping_keys_zeroes_the_master_key_and_forgets_subkeys() -> None:
    keys = Keys(bytearray(range(1, 33)))
    keys.subkey(Purpose.DOCUMENTS)
    keys.wipe()
    assert keys.master == bytearray(32)
    assert keys.subkey(Purpose.DOCUMENTS) != crypto.derive_subkey(
        bytes(range(1, 33)), int(Purpose.DOCUMENTS), b"selfdata"
    )


# --- through a box: nothing is re-encrypted, the right secrets keep working -------------------


@pytest.fixture
async def fresh_box(data_dir: DataDir) -> AsyncIterator[tuple[Box, str]]:
    box = await Box.open(data_dir)
    recovery = await box.init(PASSPHRASE)
    try:
        yield box, recovery
    finally:
        await box.close()


def stored_ciphertexts(data_dir: DataDir) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(data_dir.database)
    try:
        return [
            *conn.execute("SELECT 'doc', doctype, id, version, body FROM documents ORDER BY seq"),
            *conn.execute("SELECT 'doctype', hash, name FROM doctypes ORDER BY hash"),
            *conn.execute("SELECT 'chunk', series, day, version, body FROM series_chunks"),
            *conn.execute("SELECT 'series', hash, name FROM series"),
        ]
    finally:
        conn.close()


async def test_changing_the_passphrase_rewraps_and_reencrypts_nothing(data_dir: DataDir) -> None:
    box = await Box.open(data_dir)
    try:
        recovery = await box.init(PASSPHRASE)
        doctype = resolve("org.example.notes")
        for i in range(20):
            await box.documents.create(doctype, {"n": i, "text": "x" * i})
        await box.series.write("linky.papp", [(86_400 * d + 60, float(d)) for d in range(3)])
        before = stored_ciphertexts(data_dir)
        assert len(before) == 20 + 1 + 3 + 1

        await box.change_passphrase(PASSPHRASE, "a brand new passphrase")

        assert stored_ciphertexts(data_dir) == before
        with pytest.raises(WrongPassphrase):
            await box.verify_passphrase(PASSPHRASE)
        await box.verify_passphrase("a brand new passphrase")
        box.header.unlock_with_recovery_key(recovery)
    finally:
        await box.close()
    # and it is on disk, not only in memory
    reopened = await Box.open(data_dir)
    try:
        with pytest.raises(WrongPassphrase):
            await reopened.unlock(PASSPHRASE)
        await reopened.unlock("a brand new passphrase")
        assert await reopened.documents.count("org.example.notes") == 20
    finally:
        await reopened.close()


async def test_changing_the_passphrase_needs_the_old_one_and_a_strong_new_one(
    fresh_box: tuple[Box, str],
) -> None:
    box, _ = fresh_box
    header = box.header
    with pytest.raises(WrongPassphrase):
        await box.change_passphrase("not the passphrase", "a brand new passphrase")
    with pytest.raises(WeakPassphrase):
        await box.change_passphrase(PASSPHRASE, "weak")
    assert box.header == header
    await box.verify_passphrase(PASSPHRASE)


async def test_changing_the_passphrase_recalibrates_with_a_fresh_salt(
    fresh_box: tuple[Box, str],
) -> None:
    box, _ = fresh_box
    old = box.header.kdf
    await box.change_passphrase(PASSPHRASE, "a brand new passphrase")
    assert box.header.kdf.salt != old.salt
    assert box.header.kdf.opslimit >= KdfParams.MIN_OPSLIMIT
    assert box.header.kdf.memlimit >= KdfParams.MIN_MEMLIMIT


async def test_recovering_sets_a_new_passphrase_and_the_recovery_key_keeps_working(
    fresh_box: tuple[Box, str],
) -> None:
    box, recovery = fresh_box
    box.lock()
    await box.recover(recovery.lower().replace("-", " "), "recovered passphrase 1")
    assert not box.locked
    with pytest.raises(WrongPassphrase):
        await box.verify_passphrase(PASSPHRASE)
    await box.verify_passphrase("recovered passphrase 1")
    await box.recover(recovery, "recovered passphrase 2")
    await box.verify_passphrase("recovered passphrase 2")


async def test_recovering_with_a_wrong_key_changes_nothing(fresh_box: tuple[Box, str]) -> None:
    box, _ = fresh_box
    box.lock()
    header = box.header
    with pytest.raises(WrongPassphrase):
        await box.recover(format_recovery_key(bytes(32)), "recovered passphrase")
    assert box.locked
    assert box.header == header


async def test_a_new_recovery_key_from_the_box_invalidates_the_old_one(
    fresh_box: tuple[Box, str],
) -> None:
    box, old = fresh_box
    with pytest.raises(WrongPassphrase):
        await box.new_recovery_key("not the passphrase")
    new = await box.new_recovery_key(PASSPHRASE)
    assert CROCKFORD_KEY.match(new)
    with pytest.raises(WrongPassphrase):
        await box.recover(old, "recovered passphrase")
    await box.recover(new, "recovered passphrase")
    await box.verify_passphrase("recovered passphrase")


async def test_the_stored_kdf_parameters_respect_the_minimums(
    fresh_box: tuple[Box, str], data_dir: DataDir
) -> None:
    conn = sqlite3.connect(data_dir.database)
    try:
        (text,) = conn.execute("SELECT value FROM meta WHERE key = 'vault'").fetchone()
    finally:
        conn.close()
    kdf = json.loads(text)["kdf"]
    assert kdf["alg"] == "argon2id13"
    assert kdf["opslimit"] >= KdfParams.MIN_OPSLIMIT
    assert kdf["memlimit"] >= KdfParams.MIN_MEMLIMIT
    assert kdf["memlimit"] <= KdfParams.MAX_MEMLIMIT
