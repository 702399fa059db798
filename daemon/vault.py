"""The key hierarchy: passphrase and recovery key → master key → subkeys per purpose.

::

    passphrase ──Argon2id(salt, ops, mem)──► KEK ──┐
                                                    ├─ each wraps (XChaCha20-Poly1305) ─► master key
    recovery key (256 random bits) ──BLAKE2b──► RK ─┤
    key file (256 random bits, opt-in) ──BLAKE2b──► FK ┘
    master key ──crypto_kdf(id, "selfdata")──► documents, series, files, names, inbox seed, …

The :class:`VaultHeader` is what sits on disk in clear: KDF parameters, salt, the
wrapped copies of the master key and the inbox public key, and — when the owner chose
unattended unlock — a third copy wrapped by a key file kept on removable media, with the
path where the daemon looks for it. Changing the passphrase re-wraps the master key and
re-encrypts nothing.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import unicodedata
from dataclasses import dataclass, field, replace
from enum import IntEnum
from typing import Any

from . import crypto
from .errors import IntegrityError, VaultError, WeakPassphrase, WrongPassphrase

__all__ = [
    "MIN_PASSPHRASE_LENGTH",
    "Keys",
    "Namer",
    "Purpose",
    "Unattended",
    "VaultHeader",
    "check_passphrase",
    "create_vault",
    "format_recovery_key",
    "parse_recovery_key",
]

MIN_PASSPHRASE_LENGTH = 10
_CONTEXT = b"selfdata"
_HEADER_VERSION = 1
_WRAP_AD_PASSPHRASE = b"selfdata/vault/v1/passphrase"
_WRAP_AD_RECOVERY = b"selfdata/vault/v1/recovery"
_WRAP_AD_KEY_FILE = b"selfdata/vault/v1/key-file"


class Purpose(IntEnum):
    """Subkey ids for crypto_kdf. Never renumber: stored data depends on them."""

    DOCUMENTS = 1
    SERIES = 2
    FILES = 3
    NAMES = 4  # keyed hashes that name doctypes, ids, series and blobs on disk
    INBOX = 5  # seed of the X25519 key pair that opens the locked-time inbox
    SESSIONS = 6
    CREDENTIALS = 7
    AUDIT = 8


class Namer:
    """The keyed hash that names records on disk (16-byte BLAKE2b), apart from the other
    keys: what the import worker gets, which names records and reads nothing."""

    __slots__ = ("_hasher",)

    def __init__(self, key: bytes) -> None:
        self._hasher = hashlib.blake2b(digest_size=16, key=key)

    def __repr__(self) -> str:  # never print key material, even by accident
        return "Namer(<key>)"

    def __call__(self, data: bytes) -> bytes:
        h = self._hasher.copy()  # the keyed set-up is done once; each name copies it
        h.update(data)
        return h.digest()

    def doctype_hash(self, doctype: str) -> bytes:
        return self(b"doctype\0" + doctype.encode())

    def id_hash(self, doctype_hash: bytes, doc_id: str) -> bytes:
        return self(b"document\0" + doctype_hash + b"\0" + doc_id.encode())

    def content_id(self, doctype: str, canonical: bytes, occurrence: int) -> str:
        """A stable ``_id`` for a record that has none (see :mod:`selfdata.importers.run`)."""
        return self(b"content\0%s\0%s\0%d" % (doctype.encode(), canonical, occurrence)).hex()


@dataclass
class Keys:
    """The unlocked key set. Lives in memory only while the box is unlocked."""

    master: bytearray
    _cache: dict[Purpose, bytes] = field(default_factory=dict, repr=False)
    _namers: dict[int, Any] = field(default_factory=dict, repr=False)  # other sizes
    _namer: Namer | None = field(default=None, repr=False)

    def __repr__(self) -> str:  # never print key material, even by accident
        return "Keys(<unlocked>)"

    def subkey(self, purpose: Purpose) -> bytes:
        key = self._cache.get(purpose)
        if key is None:
            key = crypto.derive_subkey(bytes(self.master), int(purpose), _CONTEXT)
            self._cache[purpose] = key
        return key

    def name(self, *parts: str | bytes, size: int = 16) -> bytes:
        """Keyed hash naming something on disk (doctype, document id, series, blob).

        The parts are joined with NUL bytes; :meth:`name_joined` takes them joined
        already, for the hot paths that build the bytes themselves.
        """
        return self.name_joined(
            b"\0".join([p.encode() if isinstance(p, str) else p for p in parts]), size
        )

    def namer(self) -> Namer:
        if self._namer is None:
            self._namer = Namer(self.subkey(Purpose.NAMES))
        return self._namer

    def name_joined(self, data: bytes, size: int = 16) -> bytes:
        if size == 16:
            return self.namer()(data)
        hasher = self._namers.get(size)
        if hasher is None:  # keyed set-up done once; each name copies it (the hot path)
            hasher = self._namers[size] = hashlib.blake2b(
                digest_size=size, key=self.subkey(Purpose.NAMES)
            )
        h = hasher.copy()
        h.update(data)
        return h.digest()

    def inbox_keypair(self) -> tuple[bytes, bytes]:
        return crypto.box_keypair(self.subkey(Purpose.INBOX))

    def wipe(self) -> None:
        """Best effort: CPython may hold copies, but we drop every reference we own."""
        for i in range(len(self.master)):
            self.master[i] = 0
        self._cache.clear()
        self._namers.clear()
        self._namer = None


@dataclass(frozen=True)
class Unattended:
    """Unattended unlock: the master key wrapped by a key file, and where that file lives."""

    wrapped: bytes
    path: str

    def to_json(self) -> dict[str, str]:
        return {"wrapped": _b64(self.wrapped), "path": self.path}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Unattended:
        path = data["path"]
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError("the key file path is not absolute")
        return cls(wrapped=_unb64(data["wrapped"]), path=path)


@dataclass(frozen=True)
class VaultHeader:
    kdf: crypto.KdfParams
    by_passphrase: bytes
    by_recovery: bytes
    inbox_public_key: bytes
    version: int = _HEADER_VERSION
    unattended: Unattended | None = None

    # -- (de)serialisation -------------------------------------------------------------

    def to_json(self) -> str:
        data: dict[str, Any] = {
            "version": self.version,
            "kdf": self.kdf.to_json(),
            "wrapped": {
                "passphrase": _b64(self.by_passphrase),
                "recovery": _b64(self.by_recovery),
            },
            "inbox_public_key": _b64(self.inbox_public_key),
        }
        if self.unattended is not None:
            data["unattended"] = self.unattended.to_json()
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> VaultHeader:
        try:
            data = json.loads(text)
            if data["version"] != _HEADER_VERSION:
                raise VaultError(f"vault header version {data['version']} is not supported")
            return cls(
                kdf=crypto.KdfParams.from_json(data["kdf"]),
                by_passphrase=_unb64(data["wrapped"]["passphrase"]),
                by_recovery=_unb64(data["wrapped"]["recovery"]),
                inbox_public_key=_unb64(data["inbox_public_key"]),
                unattended=(
                    Unattended.from_json(data["unattended"]) if "unattended" in data else None
                ),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise VaultError("the vault header is corrupt") from err

    # -- operations -------------------------------------------------------------------------

    def unlock(self, passphrase: str) -> Keys:
        kek = crypto.passphrase_key(_normalise(passphrase), self.kdf)
        return self._unwrap(kek, self.by_passphrase, _WRAP_AD_PASSPHRASE, "wrong passphrase")

    def unlock_with_recovery_key(self, recovery_key: str) -> Keys:
        rk = _recovery_kek(parse_recovery_key(recovery_key))
        return self._unwrap(rk, self.by_recovery, _WRAP_AD_RECOVERY, "wrong recovery key")

    def unlock_with_key_file(self, secret: bytes) -> Keys:
        if self.unattended is None:
            raise WrongPassphrase("unattended unlock is not enabled on this box")
        return self._unwrap(
            _key_file_kek(secret),
            self.unattended.wrapped,
            _WRAP_AD_KEY_FILE,
            "this key file does not open this box (unattended unlock was renewed or turned off)",
        )

    def with_unattended(self, keys: Keys, path: str) -> tuple[VaultHeader, bytes]:
        """A header that a new key file opens (any older one stops working), and its secret."""
        secret = os.urandom(crypto.KEY_BYTES)
        wrapped = crypto.aead_encrypt(_key_file_kek(secret), bytes(keys.master), _WRAP_AD_KEY_FILE)
        return replace(self, unattended=Unattended(wrapped, path)), secret

    def without_unattended(self) -> VaultHeader:
        return replace(self, unattended=None)

    @property
    def box_id(self) -> str:
        """A short public name for this vault (key files say which box they open)."""
        return crypto.keyed_hash(b"selfdata/box-id", self.inbox_public_key, 8).hex()

    def with_passphrase(
        self, keys: Keys, new_passphrase: str, kdf: crypto.KdfParams
    ) -> VaultHeader:
        """A header whose passphrase wrap opens with ``new_passphrase``: nothing re-encrypted."""
        check_passphrase(new_passphrase)
        kek = crypto.passphrase_key(_normalise(new_passphrase), kdf)
        wrapped = crypto.aead_encrypt(kek, bytes(keys.master), _WRAP_AD_PASSPHRASE)
        return replace(self, kdf=kdf, by_passphrase=wrapped)

    def with_recovery_key(self, keys: Keys) -> tuple[VaultHeader, str]:
        """A header with a fresh recovery key (the old one stops working), and that key."""
        raw = os.urandom(crypto.KEY_BYTES)
        wrapped = crypto.aead_encrypt(_recovery_kek(raw), bytes(keys.master), _WRAP_AD_RECOVERY)
        return replace(self, by_recovery=wrapped), format_recovery_key(raw)

    def _unwrap(self, kek: bytes, blob: bytes, ad: bytes, message: str) -> Keys:
        try:
            master = crypto.aead_decrypt(kek, blob, ad)
        except IntegrityError:
            raise WrongPassphrase(message) from None
        keys = Keys(bytearray(master))
        if keys.inbox_keypair()[0] != self.inbox_public_key:
            raise VaultError("the vault header does not match its master key")
        return keys


def create_vault(passphrase: str, kdf: crypto.KdfParams) -> tuple[VaultHeader, Keys, str]:
    """A new vault: its header, its unlocked keys, and the printable recovery key."""
    check_passphrase(passphrase)
    keys = Keys(bytearray(crypto.random_key()))
    kek = crypto.passphrase_key(_normalise(passphrase), kdf)
    header = VaultHeader(
        kdf=kdf,
        by_passphrase=crypto.aead_encrypt(kek, bytes(keys.master), _WRAP_AD_PASSPHRASE),
        by_recovery=b"",
        inbox_public_key=keys.inbox_keypair()[0],
    )
    header, recovery = header.with_recovery_key(keys)
    return header, keys, recovery


def check_passphrase(passphrase: str) -> None:
    text = _normalise(passphrase)
    if len(text) < MIN_PASSPHRASE_LENGTH:
        raise WeakPassphrase(
            f"the passphrase must have at least {MIN_PASSPHRASE_LENGTH} characters"
        )
    if len(set(text)) < 4:
        raise WeakPassphrase("the passphrase repeats too few different characters")


def _normalise(passphrase: str) -> str:
    # The same passphrase typed on a phone and a laptop must give the same key.
    return unicodedata.normalize("NFC", passphrase)


# --- recovery key: 256 bits, Crockford base32, grouped, with a checksum --------------------

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_DECODE = {c: i for i, c in enumerate(_ALPHABET)} | {"O": 0, "I": 1, "L": 1}
_SEPARATORS = "-\u2010\u2011\u2012\u2013\u2014\u2212_."
_CHECK_BYTES = 3
_GROUP = 4


def format_recovery_key(raw: bytes) -> str:
    data = raw + crypto.keyed_hash(b"selfdata-recovery-checksum-key!!", raw, 16)[:_CHECK_BYTES]
    number = int.from_bytes(data, "big")
    chars = []
    for _ in range((len(data) * 8 + 4) // 5):
        chars.append(_ALPHABET[number & 31])
        number >>= 5
    text = "".join(reversed(chars))
    return "-".join(text[i : i + _GROUP] for i in range(0, len(text), _GROUP))


def parse_recovery_key(text: str) -> bytes:
    # separators as people (and their word processors, PDFs and terminals) type them
    cleaned = "".join(ch for ch in text.upper() if not (ch.isspace() or ch in _SEPARATORS))
    size = crypto.KEY_BYTES + _CHECK_BYTES
    if len(cleaned) != (size * 8 + 4) // 5 or any(ch not in _DECODE for ch in cleaned):
        raise WrongPassphrase("that is not a recovery key: expected 14 groups of 4 characters")
    number = 0
    for ch in cleaned:
        number = (number << 5) | _DECODE[ch]
    if number >> (size * 8):
        raise WrongPassphrase("that recovery key is mistyped (checksum mismatch)")
    data = number.to_bytes(size, "big")
    raw, check = data[: crypto.KEY_BYTES], data[crypto.KEY_BYTES :]
    expected = crypto.keyed_hash(b"selfdata-recovery-checksum-key!!", raw, 16)[:_CHECK_BYTES]
    if not secrets.compare_digest(check, expected):
        raise WrongPassphrase("that recovery key is mistyped (checksum mismatch)")
    return raw


def _recovery_kek(raw: bytes) -> bytes:
    # 256 random bits need no stretching; a keyed hash separates this use from others.
    return crypto.keyed_hash(raw, b"selfdata/recovery-kek", crypto.KEY_BYTES)


def _key_file_kek(secret: bytes) -> bytes:
    return crypto.keyed_hash(secret, b"selfdata/key-file-kek", crypto.KEY_BYTES)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
