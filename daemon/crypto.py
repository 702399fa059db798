"""libsodium primitives, as selfdata uses them (through PyNaCl 1.5's ``nacl.bindings``).

Nothing here knows about doctypes or files: this module turns keys and bytes into
bytes. Every authentication failure becomes :class:`~selfdata.errors.IntegrityError`.
"""

from __future__ import annotations

import hashlib
import os
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass

import nacl.bindings as sodium
import nacl.exceptions
from nacl._sodium import ffi as _ffi
from nacl._sodium import lib as _lib
from nacl.pwhash import argon2id

from .errors import IntegrityError, VaultError

__all__ = [
    "KEY_BYTES",
    "KdfParams",
    "StreamDecryptor",
    "StreamEncryptor",
    "aead_decrypt",
    "aead_encrypt",
    "aead_encrypt_many",
    "box_keypair",
    "calibrate_kdf",
    "derive_subkey",
    "keyed_hash",
    "passphrase_key",
    "random_key",
    "seal",
    "unseal",
]

KEY_BYTES = 32
NONCE_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES  # 24
TAG_BYTES = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES  # 16
AEAD_OVERHEAD = NONCE_BYTES + TAG_BYTES

#: Plaintext size of one secretstream message; files are streamed in these.
STREAM_CHUNK = 64 * 1024
_SS_HEADER = sodium.crypto_secretstream_xchacha20poly1305_HEADERBYTES
_SS_ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES
_TAG_MESSAGE = sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE
_TAG_FINAL = sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL


def random_key() -> bytes:
    return os.urandom(KEY_BYTES)


# --- key derivation -------------------------------------------------------------------


def derive_subkey(master: bytes, subkey_id: int, context: bytes, size: int = KEY_BYTES) -> bytes:
    """libsodium's ``crypto_kdf_derive_from_key`` (BLAKE2b), which PyNaCl 1.5 lacks.

    Same construction, byte for byte: BLAKE2b keyed with the master key, the subkey id
    little-endian in the salt and the 8-byte context in the personalisation; the tests
    hold libsodium's own known-answer vectors.
    """
    if len(context) != 8:
        raise ValueError("kdf context must be 8 bytes")
    salt = struct.pack("<Q", subkey_id) + bytes(8)
    person = context + bytes(8)
    return bytes(
        sodium.crypto_generichash_blake2b_salt_personal(
            b"", digest_size=size, key=master, salt=salt, person=person
        )
    )


def keyed_hash(key: bytes, data: bytes, size: int = 16) -> bytes:
    """BLAKE2b MAC: names things on disk without revealing them.

    Byte for byte libsodium's ``crypto_generichash`` (the tests compare them), through
    hashlib: this runs three times per imported row, and PyNaCl's argument checks cost
    ten times the hash itself.
    """
    return hashlib.blake2b(data, digest_size=size, key=key).digest()


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters, stored in clear next to the salt they were used with."""

    opslimit: int
    memlimit: int
    salt: bytes

    #: Floors checked when a vault is *loaded*: a tampered header cannot weaken the KDF
    #: below OWASP's Argon2id minimum (19 MiB, t=2).
    MIN_OPSLIMIT = 2
    MIN_MEMLIMIT = 19 * 1024 * 1024
    #: Ceiling for the Pi: 1 GB of RAM is the floor of supported hardware.
    MAX_MEMLIMIT = 256 * 1024 * 1024

    def check(self) -> None:
        if not (self.MIN_OPSLIMIT <= self.opslimit <= 100):
            raise VaultError(f"vault KDF opslimit {self.opslimit} is outside the allowed range")
        if not (self.MIN_MEMLIMIT <= self.memlimit <= self.MAX_MEMLIMIT):
            raise VaultError(f"vault KDF memlimit {self.memlimit} is outside the allowed range")
        if len(self.salt) != argon2id.SALTBYTES:
            raise VaultError("vault KDF salt has the wrong length")

    def to_json(self) -> dict[str, object]:
        return {
            "alg": "argon2id13",
            "opslimit": self.opslimit,
            "memlimit": self.memlimit,
            "salt": self.salt.hex(),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> KdfParams:
        try:
            if data["alg"] != "argon2id13":
                raise VaultError(f"unsupported KDF {data['alg']!r}")
            params = cls(
                opslimit=int(data["opslimit"]),  # type: ignore[call-overload]
                memlimit=int(data["memlimit"]),  # type: ignore[call-overload]
                salt=bytes.fromhex(str(data["salt"])),
            )
        except (KeyError, TypeError, ValueError) as err:
            raise VaultError("the vault header's KDF parameters are unreadable") from err
        params.check()
        return params


def passphrase_key(passphrase: str, params: KdfParams) -> bytes:
    params.check()
    return bytes(
        argon2id.kdf(
            KEY_BYTES,
            passphrase.encode("utf-8"),
            params.salt,
            opslimit=params.opslimit,
            memlimit=params.memlimit,
        )
    )


def calibrate_kdf(target_seconds: float, memlimit: int = 64 * 1024 * 1024) -> KdfParams:
    """Pick Argon2id parameters that take about ``target_seconds`` on this machine.

    Memory is fixed (64 MiB leaves room on a 1 GB Pi running the daemon); time cost grows
    until the target is reached. Never below the enforced minimums, so a target of 0
    gives the floor (what the test suite uses).
    """
    memlimit = max(KdfParams.MIN_MEMLIMIT, min(memlimit, KdfParams.MAX_MEMLIMIT))
    salt = os.urandom(argon2id.SALTBYTES)
    ops = KdfParams.MIN_OPSLIMIT
    if target_seconds <= 0:
        return KdfParams(ops, memlimit, salt)
    probe = KdfParams(ops, memlimit, salt)
    start = time.perf_counter()
    passphrase_key("calibration", probe)
    per_op = max((time.perf_counter() - start) / ops, 1e-4)
    ops = max(KdfParams.MIN_OPSLIMIT, min(100, round(target_seconds / per_op)))
    return KdfParams(ops, memlimit, salt)


# --- records ----------------------------------------------------------------------------


# Records are small (a bank operation is ~400 bytes) and there are hundreds of thousands
# of them: PyNaCl's public wrapper spends five times longer checking its arguments than
# libsodium spends encrypting. These two functions call PyNaCl's own cffi binding
# (``nacl._sodium``, there since PyNaCl 1.0) and check the arguments themselves.


def aead_encrypt(key: bytes, plaintext: bytes, ad: bytes) -> bytes:
    """XChaCha20-Poly1305 with a random nonce; returns nonce || ciphertext || tag."""
    if len(key) != KEY_BYTES:
        raise ValueError("an AEAD key is 32 bytes")
    nonce = os.urandom(NONCE_BYTES)
    out = _ffi.new("unsigned char[]", len(plaintext) + TAG_BYTES)
    _lib.crypto_aead_xchacha20poly1305_ietf_encrypt(
        out, _ffi.NULL, plaintext, len(plaintext), ad, len(ad), _ffi.NULL, nonce, key
    )
    return nonce + bytes(_ffi.buffer(out))


def aead_encrypt_many(key: bytes, plaintexts: Sequence[bytes], ads: Sequence[bytes]) -> list[bytes]:
    """:func:`aead_encrypt` of each ``(plaintext, ad)``, their random nonces drawn at once.

    One ``getrandom`` for the batch instead of one per record: each call releases the GIL,
    and with SQLite's thread busy (an import), getting it back cost more than the call.
    The nonces are as random as ever: the same CSPRNG, 24 fresh bytes each.
    """
    if len(key) != KEY_BYTES:
        raise ValueError("an AEAD key is 32 bytes")
    if len(plaintexts) != len(ads):
        raise ValueError("one associated data per plaintext")
    nonces = os.urandom(NONCE_BYTES * len(plaintexts))
    encrypt, new, buffer = _lib.crypto_aead_xchacha20poly1305_ietf_encrypt, _ffi.new, _ffi.buffer
    null = _ffi.NULL
    out: list[bytes] = []
    for i, (plaintext, ad) in enumerate(zip(plaintexts, ads, strict=True)):
        nonce = nonces[NONCE_BYTES * i : NONCE_BYTES * (i + 1)]
        sealed = new("unsigned char[]", len(plaintext) + TAG_BYTES)
        encrypt(sealed, null, plaintext, len(plaintext), ad, len(ad), null, nonce, key)
        out.append(nonce + bytes(buffer(sealed)))
    return out


def aead_decrypt(key: bytes, blob: bytes, ad: bytes) -> bytes:
    if not isinstance(blob, bytes):  # SQLite columns are dynamically typed: a tampered row
        raise IntegrityError("a stored record is malformed")
    if len(blob) < AEAD_OVERHEAD:
        raise IntegrityError("a stored record is truncated")
    if len(key) != KEY_BYTES:
        raise ValueError("an AEAD key is 32 bytes")
    size = len(blob) - AEAD_OVERHEAD
    out = _ffi.new("unsigned char[]", max(size, 1))
    status = _lib.crypto_aead_xchacha20poly1305_ietf_decrypt(
        out,
        _ffi.NULL,
        _ffi.NULL,
        blob[NONCE_BYTES:],
        len(blob) - NONCE_BYTES,
        ad,
        len(ad),
        blob[:NONCE_BYTES],
        key,
    )
    if status != 0:
        raise IntegrityError("a stored record failed authentication")
    return bytes(_ffi.buffer(out, size))


# --- sealed boxes (writing while locked) --------------------------------------------------


def box_keypair(seed: bytes) -> tuple[bytes, bytes]:
    """X25519 key pair from a 32-byte seed: (public, secret)."""
    pk, sk = sodium.crypto_box_seed_keypair(seed)
    return bytes(pk), bytes(sk)


def seal(public_key: bytes, data: bytes) -> bytes:
    return bytes(sodium.crypto_box_seal(data, public_key))


def unseal(public_key: bytes, secret_key: bytes, data: bytes) -> bytes:
    try:
        return bytes(sodium.crypto_box_seal_open(data, public_key, secret_key))
    except nacl.exceptions.CryptoError as err:
        raise IntegrityError("a sealed inbox entry failed authentication") from err


# --- files ---------------------------------------------------------------------------------


class StreamEncryptor:
    """Push-style secretstream encryption, for data that arrives in pieces.

    Output starts with the stream header. ``ad`` is bound to the first message, so a
    blob cannot be moved to another file id; the last message carries TAG_FINAL, so
    truncation is detected. Messages are fixed-size so the reader needs no framing.
    """

    def __init__(self, key: bytes, ad: bytes) -> None:
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        self._header = bytes(
            sodium.crypto_secretstream_xchacha20poly1305_init_push(self._state, key)
        )
        self._ad: bytes | None = ad
        self._buffer = bytearray()
        self.plaintext_size = 0

    def update(self, data: bytes) -> bytes:
        self._buffer += data
        self.plaintext_size += len(data)
        out = [self._take_header()]
        # Keep the last full message back: only close() knows it is the final one.
        while len(self._buffer) > STREAM_CHUNK:
            out.append(self._push(bytes(self._buffer[:STREAM_CHUNK]), _TAG_MESSAGE))
            del self._buffer[:STREAM_CHUNK]
        return b"".join(out)

    def close(self) -> bytes:
        tail = self._take_header() + self._push(bytes(self._buffer), _TAG_FINAL)
        self._buffer.clear()
        return tail

    def _take_header(self) -> bytes:
        header, self._header = self._header, b""
        return header

    def _push(self, chunk: bytes, tag: int) -> bytes:
        ad, self._ad = self._ad, None
        return bytes(sodium.crypto_secretstream_xchacha20poly1305_push(self._state, chunk, ad, tag))


class StreamDecryptor:
    """Inverse of :class:`StreamEncryptor`, fed with raw bytes in any split."""

    def __init__(self, key: bytes, ad: bytes) -> None:
        self._key = key
        self._state = sodium.crypto_secretstream_xchacha20poly1305_state()
        self._ad: bytes | None = ad
        self._buffer = bytearray()
        self._header_done = False
        self._finished = False

    def update(self, data: bytes) -> bytes:
        self._buffer += data
        if not self._header_done:
            if len(self._buffer) < _SS_HEADER:
                return b""
            try:
                sodium.crypto_secretstream_xchacha20poly1305_init_pull(
                    self._state, bytes(self._buffer[:_SS_HEADER]), self._key
                )
            except nacl.exceptions.CryptoError as err:
                raise IntegrityError("a stored file has a bad header") from err
            del self._buffer[:_SS_HEADER]
            self._header_done = True
        out = []
        message = STREAM_CHUNK + _SS_ABYTES
        while len(self._buffer) > message:
            out.append(self._pull(bytes(self._buffer[:message])))
            del self._buffer[:message]
        return b"".join(out)

    def close(self) -> bytes:
        if not self._header_done:
            raise IntegrityError("a stored file is truncated")
        tail = self._pull(bytes(self._buffer)) if self._buffer else b""
        self._buffer.clear()
        if not self._finished:
            raise IntegrityError("a stored file is truncated")
        return tail

    def _pull(self, blob: bytes) -> bytes:
        if self._finished:
            raise IntegrityError("a stored file has data after its end")
        ad, self._ad = self._ad, None
        try:
            plain, tag = sodium.crypto_secretstream_xchacha20poly1305_pull(self._state, blob, ad)
        except nacl.exceptions.CryptoError as err:
            raise IntegrityError("a stored file failed authentication") from err
        self._finished = tag == _TAG_FINAL
        return bytes(plain)
