"""How a record becomes ciphertext: canonical JSON, and associated data binding it.

The associated data is the record's clear coordinates (keyed hashes and version), so a
ciphertext copied to another row, doctype or version fails authentication.
"""

from __future__ import annotations

import json
import struct
import threading
from collections.abc import Iterable, Sequence
from typing import Any

import orjson
import zstandard

from .. import crypto
from ..errors import IntegrityError
from .dictionaries import Dictionaries, MissingDictionary

__all__ = [
    "ad_for",
    "dumps",
    "encode_parsed",
    "open_dictionaries",
    "open_dictionary",
    "open_document",
    "open_json",
    "pack_documents",
    "seal_dictionary",
    "seal_document",
    "seal_json",
    "seal_packed",
]

_MAX_DOCUMENT = 64 * 1024 * 1024

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


def dumps(value: Any) -> bytes:
    """Compact JSON; refuses NaN and infinities, which JSON cannot hold."""
    return _dumps(value).encode("utf-8")


def encode_parsed(value: Any) -> bytes:
    """Compact JSON of a value that came out of a JSON or CSV parser, 20 times faster.

    orjson would write NaN or an infinity as ``null``: callers guarantee there is none
    (orjson's parser refuses them; the CSV coercion keeps non-finite numbers as text).
    """
    return orjson.dumps(value)


def ad_for(kind: bytes, *coordinates: bytes | int) -> bytes:
    parts = [kind]
    for c in coordinates:
        if isinstance(c, bytes):
            parts.append(c)
        elif isinstance(c, int) and -(2**63) <= c < 2**63:
            parts.append(struct.pack("<q", c))
        else:  # SQLite columns are dynamically typed: a row rewritten with another type
            raise IntegrityError("a stored record has a malformed column")
    return b"\0".join(parts)


def document_ads(dh: bytes, id_hashes: Sequence[bytes], versions: Sequence[int]) -> list[bytes]:
    """``ad_for(b"doc", dh, ih, version)`` of each document, at once: the same bytes,
    without the general case's checks (the store made these versions), for a batch."""
    head = b"doc\0" + dh + b"\0"
    pack = _VERSION.pack
    return [head + ih + b"\0" + pack(v) for ih, v in zip(id_hashes, versions, strict=True)]


_VERSION = struct.Struct("<q")

#: Documents at least this long are stored zstd-compressed (then encrypted) when that
#: makes them smaller: a bank operation shrinks by a third, and so do the bytes written.
COMPRESS_FROM = 128
#: ...from this length with a dictionary, which knows the field names already.
COMPRESS_WITH_DICTIONARY_FROM = 32
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # a JSON object starts with "{", never with this
_compressor = threading.local()


def seal_document(key: bytes, plain: bytes, ad: bytes) -> bytes:
    """Encrypt a document's JSON, compressed first when that is shorter."""
    return crypto.aead_encrypt(key, pack_documents([plain])[0], ad)


def pack_documents(plains: Sequence[bytes], dictionary: bytes | None = None) -> list[bytes]:
    """What :func:`seal_document` encrypts, for many documents: zstd in one call, with the
    doctype's ``dictionary`` when it has one (see :mod:`.dictionaries`).

    That call releases the GIL for the whole batch, so run in a thread it overlaps with
    whatever the event loop does meanwhile (an import parses its next batch); per
    document, each ``compress`` released and retook the GIL, and with SQLite's thread
    busy, retaking it cost more than compressing. Same frames, byte for byte.
    """
    out = list(plains)
    least = COMPRESS_FROM if dictionary is None else COMPRESS_WITH_DICTIONARY_FROM
    big = [i for i, plain in enumerate(plains) if len(plain) >= least]
    if not big:
        return out
    compressor = _zstd(dictionary)
    inputs: list[bytes | bytearray | memoryview] = [plains[i] for i in big]
    try:
        if len(inputs) == 1:
            raise NotImplementedError  # one document: no batch to amortise
        frames = compressor.multi_compress_to_buffer(inputs, threads=1)
        packed = [frames[n].tobytes() for n in range(len(frames))]
    except (AttributeError, NotImplementedError):  # zstandard's CFFI backend lacks it
        packed = [compressor.compress(plain) for plain in inputs]
    for i, frame in zip(big, packed, strict=True):
        if len(frame) < len(out[i]):
            out[i] = frame
    return out


def seal_packed(key: bytes, packed: Sequence[bytes], ads: Sequence[bytes]) -> list[bytes]:
    """Encrypt what :func:`pack_documents` made, each bound to its associated data."""
    return crypto.aead_encrypt_many(key, packed, ads)


def open_document(
    key: bytes, blob: bytes, ad: bytes, dictionaries: Dictionaries | None = None
) -> bytes:
    """A document's JSON bytes (authenticated, decompressed if it was compressed, with
    the dictionary its frame names: :class:`.dictionaries.MissingDictionary` if unknown)."""
    plain = crypto.aead_decrypt(key, blob, ad)
    if plain[:4] != _ZSTD_MAGIC:
        return plain
    try:
        dict_id = zstandard.get_frame_parameters(plain).dict_id
        trained = None
        if dict_id:
            if dictionaries is None:
                raise MissingDictionary(dict_id)
            trained = dictionaries.loaded(dict_id)
        # a decompressor per call: they are not thread-safe, and cost little to make
        decompressor = zstandard.ZstdDecompressor(dict_data=trained)
        return decompressor.decompress(plain, max_output_size=_MAX_DOCUMENT)
    except zstandard.ZstdError as err:  # authentic but broken: a bug, not tampering
        raise IntegrityError("a stored document does not decompress") from err


def _zstd(dictionary: bytes | None) -> zstandard.ZstdCompressor:
    """This thread's compressor for ``dictionary`` (made once: loading one costs ~1 ms)."""
    cache: dict[bytes | None, zstandard.ZstdCompressor] | None = getattr(_compressor, "value", None)
    if cache is None:
        cache = _compressor.value = {}
    compressor = cache.get(dictionary)
    if compressor is None:
        if len(cache) >= 8:  # a few doctypes at a time, in practice
            cache.clear()
        trained = None if dictionary is None else zstandard.ZstdCompressionDict(dictionary)
        compressor = cache[dictionary] = zstandard.ZstdCompressor(
            level=1, dict_data=trained, write_checksum=False
        )
    return compressor


def seal_dictionary(key: bytes, doctype_hash: bytes, dict_id: int, data: bytes) -> bytes:
    """A compression dictionary encrypted: it is made of pieces of records."""
    return crypto.aead_encrypt(key, data, ad_for(b"dictionary", doctype_hash, dict_id))


def open_dictionaries(key: bytes, rows: Iterable[Sequence[Any]]) -> Dictionaries:
    """The ``(id, doctype, body)`` rows of the ``dictionaries`` table, oldest first, opened."""
    found = Dictionaries()
    for dict_id, dh, body in rows:
        found.add(dict_id, dh, open_dictionary(key, dh, dict_id, body))
    return found


def open_dictionary(key: bytes, doctype_hash: bytes, dict_id: int, body: bytes) -> bytes:
    return crypto.aead_decrypt(key, body, ad_for(b"dictionary", doctype_hash, dict_id))


def seal_json(key: bytes, value: Any, ad: bytes) -> bytes:
    return crypto.aead_encrypt(key, dumps(value), ad)


def open_json(key: bytes, blob: bytes, ad: bytes) -> Any:
    plain = crypto.aead_decrypt(key, blob, ad)
    try:
        return json.loads(plain)
    except ValueError as err:  # authentic but unparsable: a bug, not tampering
        raise IntegrityError("a stored record is not valid JSON") from err
