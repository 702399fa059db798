"""An encrypted scratch file: upload bytes land on disk only as ciphertext.

Some imports need random access to the whole upload (a zip's index is at its end;
format detection reads the head twice), so the bytes must be spooled somewhere larger
than memory. They are written in 64 KiB blocks, each sealed with XChaCha20-Poly1305
under a random key that exists only in this object (the block number is the nonce:
the key is used for one file, and each block is written once). The file itself is
created unlinked. Reading back is a seekable file object that decrypts block by block.
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO

import nacl.bindings as sodium

from ..errors import IntegrityError

__all__ = ["BLOCK", "EncryptedSpool"]

BLOCK = 64 * 1024
_TAG = sodium.crypto_aead_xchacha20poly1305_ietf_ABYTES


class EncryptedSpool:
    """Write once (``write`` … ``finish``), then read as often as needed (``reader()``)."""

    def __init__(self, directory: Path) -> None:
        self._file: IO[bytes] = tempfile.TemporaryFile(dir=directory, prefix=".spool-")  # noqa: SIM115
        self._key = os.urandom(sodium.crypto_aead_xchacha20poly1305_ietf_KEYBYTES)
        self._pending = bytearray()
        self._blocks = 0
        self.size = 0
        self._finished = False

    def __enter__(self) -> EncryptedSpool:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        self._file.close()
        self._key = b""

    def write(self, data: bytes) -> None:
        if self._finished:
            raise ValueError("the spool is finished")
        self._pending += data
        self.size += len(data)
        while len(self._pending) >= BLOCK:
            self._seal(bytes(self._pending[:BLOCK]))
            del self._pending[:BLOCK]

    def finish(self) -> None:
        if not self._finished:
            if self._pending:
                self._seal(bytes(self._pending))
                self._pending.clear()
            self._file.flush()
            self._finished = True

    def reader(self) -> io.BufferedReader:
        self.finish()
        return io.BufferedReader(_SpoolReader(self), buffer_size=BLOCK)

    def _seal(self, block: bytes) -> None:
        sealed = sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(
            block, None, _nonce(self._blocks), self._key
        )
        self._file.seek(self._blocks * (BLOCK + _TAG))
        self._file.write(sealed)
        self._blocks += 1

    def _open(self, index: int) -> bytes:
        self._file.seek(index * (BLOCK + _TAG))
        sealed = self._file.read(BLOCK + _TAG)
        try:
            return bytes(
                sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(
                    sealed, None, _nonce(index), self._key
                )
            )
        except Exception as err:  # nacl's CryptoError: the scratch file was changed under us
            raise IntegrityError("the upload's scratch file failed authentication") from err


class _SpoolReader(io.RawIOBase):
    def __init__(self, spool: EncryptedSpool) -> None:
        self._spool = spool
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._spool.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if self._pos >= self._spool.size:
            return 0
        index, start = divmod(self._pos, BLOCK)
        if self._cached is None or self._cached[0] != index:
            self._cached = (index, self._spool._open(index))
        block = self._cached[1]
        n = min(len(buffer), len(block) - start)
        buffer[:n] = block[start : start + n]
        self._pos += n
        return n


def _nonce(index: int) -> bytes:
    return index.to_bytes(sodium.crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "little")
