"""Compression dictionaries: what makes small documents compress, one per doctype.

zstd on its own has little to work with in a 500-byte bank operation: it has not seen
the field names yet. A dictionary trained on the doctype's own records gives it them,
and their usual values: bank operations shrink to a sixth of their JSON instead of two
thirds, and compress four times faster (measured in docs/benchmarks.md).

A dictionary is made of the records it was trained on (substrings of them), so it is
user data: stored encrypted with the documents key, bound to its doctype and id
(``dictionaries`` table, migration 5), and deleted with the doctype's last document.
The frames that use it carry its id (zstd's dictionary id, random), which is inside
the ciphertext like the rest of the frame. docs/threat-model.md says what compression
before encryption reveals.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import zstandard

from ..errors import IntegrityError, StoreError

__all__ = [
    "DICTIONARY_BYTES",
    "TRAIN_FROM",
    "Dictionaries",
    "MissingDictionary",
    "checked_dictionary",
    "train",
]

#: Records a batch needs (and ``TRAIN_FROM * 64`` bytes) for a dictionary to be trained on
#: it: fewer samples make a dictionary that fits them and little else.
TRAIN_FROM = 1000
DICTIONARY_BYTES = 16 * 1024
#: A dictionary is at most this big (one from the import worker is checked against it).
_MAX_DICTIONARY = 64 * 1024
#: zstd reserves ids below 32768 and from 2**31 on for registered dictionaries.
_FIRST_ID, _END_ID = 32_768, 2**31


class MissingDictionary(IntegrityError):
    """A stored frame names a dictionary this store does not have (yet: see DocumentStore)."""

    def __init__(self, dict_id: int) -> None:
        super().__init__("a stored document needs a compression dictionary the store lacks")
        self.dict_id = dict_id


def train(plains: Sequence[bytes]) -> bytes | None:
    """A dictionary for documents like ``plains``, or None when they are too few or too
    small to train one worth having."""
    if len(plains) < TRAIN_FROM or sum(map(len, plains)) < 64 * TRAIN_FROM:
        return None
    dict_id = _FIRST_ID + secrets.randbelow(_END_ID - _FIRST_ID)
    try:
        trained = zstandard.train_dictionary(DICTIONARY_BYTES, list(plains), dict_id=dict_id)
    except zstandard.ZstdError:  # e.g. samples with nothing in common to learn
        return None
    return trained.as_bytes()


def checked_dictionary(data: object) -> tuple[int, zstandard.ZstdCompressionDict]:
    """``data`` loaded as a zstd dictionary with an id of ours, or StoreError.

    A dictionary from the import worker is checked like any input: the worker parses
    hostile files, and the box compresses its other documents with what it sends.
    """
    if not isinstance(data, bytes) or not 8 < len(data) <= _MAX_DICTIONARY:
        raise StoreError("the import's reader sent a malformed compression dictionary")
    try:
        loaded = zstandard.ZstdCompressionDict(data, dict_type=zstandard.DICT_TYPE_FULLDICT)
        loaded.precompute_compress(level=1)
    except zstandard.ZstdError:
        raise StoreError("the import's reader sent a malformed compression dictionary") from None
    dict_id = loaded.dict_id()
    if not _FIRST_ID <= dict_id < _END_ID:
        raise StoreError("the import's reader sent a malformed compression dictionary")
    return dict_id, loaded


class Dictionaries:
    """A store's dictionaries, decrypted: by id to read, the newest per doctype to write."""

    def __init__(self) -> None:
        self._raw: dict[int, bytes] = {}
        self._owner: dict[int, bytes] = {}  # dictionary id -> doctype hash
        self._newest: dict[bytes, int] = {}  # doctype hash -> dictionary id
        self._loaded: dict[int, zstandard.ZstdCompressionDict] = {}

    def __contains__(self, dict_id: int) -> bool:
        return dict_id in self._raw

    def add(self, dict_id: int, doctype_hash: bytes, data: bytes) -> None:
        """Add a dictionary; the last added for a doctype is the one its writes use."""
        self._raw[dict_id] = data
        self._owner[dict_id] = doctype_hash
        self._newest[doctype_hash] = dict_id

    def drop(self, doctype_hash: bytes) -> None:
        """Forget a doctype's dictionaries (its last document is gone)."""
        for dict_id in [i for i, dh in self._owner.items() if dh == doctype_hash]:
            del self._raw[dict_id], self._owner[dict_id]
            self._loaded.pop(dict_id, None)
        self._newest.pop(doctype_hash, None)

    def newest(self, doctype_hash: bytes) -> bytes | None:
        dict_id = self._newest.get(doctype_hash)
        return None if dict_id is None else self._raw[dict_id]

    def loaded(self, dict_id: int) -> zstandard.ZstdCompressionDict:
        """Dictionary ``dict_id``, loaded once (zstd keeps its tables in the object)."""
        found = self._loaded.get(dict_id)
        if found is None:
            raw = self._raw.get(dict_id)
            if raw is None:
                raise MissingDictionary(dict_id)
            found = self._loaded[dict_id] = zstandard.ZstdCompressionDict(raw)
        return found
