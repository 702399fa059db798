"""Packing documents in batch: the same bytes as one by one, compressed only when shorter."""

from __future__ import annotations

import os

from selfdata import crypto
from selfdata.store.codec import (
    COMPRESS_FROM,
    ad_for,
    document_ads,
    open_document,
    pack_documents,
    seal_document,
    seal_packed,
)

KEY = bytes(range(32))


def _documents() -> list[bytes]:
    json = b'{"_id":"%d","label":"CB CARREFOUR MARKET","amount":-12.5,"currency":"EUR"}'
    return [
        b"{}",
        json % 1,  # short: stored as it is
        json % 2 * 3,  # compressible
        b'{"k":"' + os.urandom(200).hex().encode() + b'"}',  # hardly compressible
        b'{"k":"' + b"a" * 10_000 + b'"}',
    ]


def test_a_batch_is_packed_as_each_document_alone_would_be() -> None:
    plains = _documents()
    packed = pack_documents(plains)
    alone = [pack_documents([p])[0] for p in plains]
    assert packed == alone
    for plain, out in zip(plains, packed, strict=True):
        if len(plain) < COMPRESS_FROM:
            assert out == plain
        assert len(out) <= len(plain)
    assert len(packed[2]) < len(plains[2])
    assert len(packed[4]) < 100


def test_sealed_batches_open_as_documents() -> None:
    plains = _documents()
    ads = [b"doc\0%d" % i for i in range(len(plains))]
    blobs = seal_packed(KEY, pack_documents(plains), ads)
    assert [open_document(KEY, b, ad) for b, ad in zip(blobs, ads, strict=True)] == plains
    single = seal_document(KEY, plains[4], ads[4])
    assert open_document(KEY, single, ads[4]) == plains[4]
    assert len(single) == len(blobs[4])  # the same packing, another nonce
    assert crypto.aead_decrypt(KEY, blobs[0], ads[0]) == b"{}"


def test_a_batchs_associated_data_are_each_documents_own() -> None:
    """The import's shortcut binds every record to the same doctype, id and version."""
    dh = os.urandom(16)
    ids = [os.urandom(16), b"", b"\0" * 16]
    versions = [1, 2**63 - 1, 7]
    assert document_ads(dh, ids, versions) == [
        ad_for(b"doc", dh, ih, v) for ih, v in zip(ids, versions, strict=True)
    ]
