"""libsodium primitives as selfdata uses them: known answers, and every tampering detected."""

from __future__ import annotations

import random
import time

import argon2.low_level as argon2_reference
import nacl.exceptions
import pytest
from nacl.pwhash import argon2id
from selfdata import crypto
from selfdata.crypto import STREAM_CHUNK, KdfParams, StreamDecryptor, StreamEncryptor
from selfdata.errors import IntegrityError, VaultError

# --- crypto_kdf (BLAKE2b) -----------------------------------------------------------------

#: libsodium test/default/kdf.exp: master key = bytes 0..31, context "KDF test",
#: crypto_kdf_BYTES_MAX (64) bytes for subkey ids 0..9.
KDF_VECTORS_64 = [
    "a0c724404728c8bb95e5433eb6a9716171144d61efb23e74b873fcbeda51d807"
    "1b5d70aae12066dfc94ce943f145aa176c055040c3dd73b0a15e36254d450614",
    "02507f144fa9bf19010bf7c70b235b4c2663cc00e074f929602a5e2c10a78075"
    "7d2a3993d06debc378a90efdac196dd841817b977d67b786804f6d3cd585bab5",
    "1944da61ff18dc2028c3578ac85be904931b83860896598f62468f1cb5471c6a"
    "344c945dbc62c9aaf70feb62472d17775ea5db6ed5494c68b7a9a59761f39614",
    "131c0ca1633ed074986215b264f6e0474f362c52b029effc7b0f75977ee89cc9"
    "5d85c3db87f7e399197a25411592beeeb7e5128a74646a460ecd6deb4994b71e",
    "a7023a0bf9be245d078aed26bcde0465ff0cc0961196a5482a0ff4ff8b401597"
    "1e13611f50529cb408f5776b14a90e7c3dd9160a22211db64ff4b5c0b9953680",
    "50f49313f3a05b2e565c13feedb44daa675cafd42c2b2cf9edbce9c949fbfc3f"
    "175dcb738671509ae2ea66fb85e552394d479afa7fa3affe8791744796b94176",
    "13b58d6d69780089293862cd59a1a8a4ef79bb850e3f3ba41fb22446a7dd1dc4"
    "da4667d37b33bf1225dcf8173c4c349a5d911c5bd2db9c5905ed70c11e809e3b",
    "15d44b4b44ffa006eeceeb508c98a970aaa573d65905687b9e15854dec6d49c6"
    "12757e149f78268f727660dedf9abce22a9691feb20a01b0525f4b47a3cf19db",
    "9aebba11c5428ae8225716369e30a48943be39159a899f804e9963ef78822e18"
    "6c21fe95bb0b85e60ef03a6f58d0b9d06e91f79d0ab998450b8810c73ca935b4",
    "70f9b83e463fb441e7a4c43275125cd5b19d8e2e4a5d179a39f5db10bbce745a"
    "199104563d308cf8d4c6b27bbb759ded232f5bdb7c367dd632a9677320dfe416",
]

#: The same file, second loop: output length i with subkey id i.
KDF_VECTORS_BY_LENGTH = {
    16: "a529216624ef9161e4cf117272aafff2",
    17: "068bd6940b80c6cc2530a68c31d9f4e323",
    32: "154b291f11196737f8b7f491e4ca11764e0227d34f94295408a869f007aa8618",
}

#: What selfdata actually uses (32-byte subkeys), from the system libsodium's
#: crypto_kdf_derive_from_key with the same master key and context.
KDF_VECTORS_32 = [
    "c13fcc2e6cd0cd0f82d93b163a5696c5105378f8c629d36baf3ae0239de9c280",
    "13fea52bb8cba063f3ed93de27ed07e06d8c6367474e6ae4c9282913ac3c3a03",
    "b04ad81b5f8799b9a14350510ab97cd01a7349c9f286936edc0944e8905014ab",
    "7ef2b90a3375020c8ff103e48c6b12674d11506c1c008ff4ff014a75a1593e49",
    "3393eb4c28acc78b33c136bd8cb7753a85b45d742b94965be530de79f0aa61b2",
    "3f30dbcf6e8ed9754645ba04f678211e876dbde315a2f605dd6219ae4607b2b4",
    "6fc2b27d2149ad78fc0b718538e874e339bbe4f2f50551cbb0898b952dd8b3fe",
    "cd49ce518f09d9c0c8b41cc9e199da9b93447895af2405b7a003226c848991ce",
    "a3b2b913c01168d62b5df214af2c96571d0f952e8d3b71487dbaa8a7a1bd6d6e",
    "bf34d785a53664e2715c3e25b02ad9b421c7a0e3daa98dfbd8b38b3364da5a54",
]

KDF_MASTER = bytes(range(32))
KDF_CONTEXT = b"KDF test"


@pytest.mark.parametrize("subkey_id", range(10))
def test_derive_subkey_matches_libsodium_kdf_known_answers(subkey_id: int) -> None:
    assert (
        crypto.derive_subkey(KDF_MASTER, subkey_id, KDF_CONTEXT, 64).hex()
        == (KDF_VECTORS_64[subkey_id])
    )
    assert (
        crypto.derive_subkey(KDF_MASTER, subkey_id, KDF_CONTEXT).hex()
        == (KDF_VECTORS_32[subkey_id])
    )


@pytest.mark.parametrize(("length", "expected"), KDF_VECTORS_BY_LENGTH.items())
def test_derive_subkey_matches_libsodium_for_other_output_lengths(
    length: int, expected: str
) -> None:
    assert crypto.derive_subkey(KDF_MASTER, length, KDF_CONTEXT, length).hex() == expected


def test_derive_subkey_refuses_a_context_that_is_not_8_bytes() -> None:
    with pytest.raises(ValueError, match="8 bytes"):
        crypto.derive_subkey(KDF_MASTER, 1, b"short")


def test_keyed_hash_is_libsodiums_keyed_generichash() -> None:
    import nacl.bindings

    rng = random.Random(7)
    for size in (16, 32, 64):
        for length in (0, 1, 127, 128, 129, 1000):
            key, data = rng.randbytes(32), rng.randbytes(length)
            expected = nacl.bindings.crypto_generichash_blake2b_salt_personal(
                data, digest_size=size, key=key
            )
            assert crypto.keyed_hash(key, data, size) == expected


def test_keyed_hash_depends_on_key_and_data_and_is_stable() -> None:
    a = crypto.keyed_hash(b"k" * 32, b"data")
    assert a == crypto.keyed_hash(b"k" * 32, b"data")
    assert len(a) == 16
    assert a != crypto.keyed_hash(b"K" * 32, b"data")
    assert a != crypto.keyed_hash(b"k" * 32, b"datA")


# --- XChaCha20-Poly1305 -------------------------------------------------------------------

# draft-irtf-cfrg-xchacha-03, A.3.1 (also libsodium test/default/aead_xchacha20poly1305.c)
XC_KEY = bytes.fromhex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f")
XC_NONCE = bytes.fromhex("404142434445464748494a4b4c4d4e4f5051525354555657")
XC_AD = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
XC_PLAINTEXT = (
    b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for "
    b"the future, sunscreen would be it."
)
XC_CIPHERTEXT = bytes.fromhex(
    "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb"
    "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452"
    "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9"
    "21f9664c97637da9768812f615c68b13b52e"
)
XC_TAG = bytes.fromhex("c0875924c1c7987947deafd8780acf49")
XC_BLOB = XC_NONCE + XC_CIPHERTEXT + XC_TAG  # selfdata's layout: nonce || ciphertext || tag


def test_aead_decrypt_opens_the_xchacha20poly1305_draft_test_vector() -> None:
    assert crypto.aead_decrypt(XC_KEY, XC_BLOB, XC_AD) == XC_PLAINTEXT


def test_aead_encrypt_lays_out_nonce_ciphertext_tag_and_round_trips() -> None:
    blob = crypto.aead_encrypt(XC_KEY, XC_PLAINTEXT, XC_AD)
    assert len(blob) == 24 + len(XC_PLAINTEXT) + 16
    assert crypto.aead_decrypt(XC_KEY, blob, XC_AD) == XC_PLAINTEXT


def test_aead_encrypt_uses_a_fresh_nonce_every_time() -> None:
    blobs = {crypto.aead_encrypt(XC_KEY, b"same", b"ad") for _ in range(50)}
    assert len(blobs) == 50
    assert len({b[:24] for b in blobs}) == 50


def test_aead_encrypt_many_binds_each_record_to_its_own_ad_and_fresh_nonce() -> None:
    plains = [b"", b"same", b"same", XC_PLAINTEXT, b"x" * 5000]
    ads = [b"a", b"b", b"c", XC_AD, b""]
    blobs = crypto.aead_encrypt_many(XC_KEY, plains, ads)
    assert [crypto.aead_decrypt(XC_KEY, b, ad) for b, ad in zip(blobs, ads, strict=True)] == plains
    assert len({b[:24] for b in blobs}) == len(blobs)
    assert [len(b) for b in blobs] == [24 + len(p) + 16 for p in plains]
    with pytest.raises(IntegrityError):
        crypto.aead_decrypt(XC_KEY, blobs[1], ads[2])  # a record's AD opens no other
    again = crypto.aead_encrypt_many(XC_KEY, plains, ads)
    assert not {b[:24] for b in blobs} & {b[:24] for b in again}
    assert crypto.aead_encrypt_many(XC_KEY, [], []) == []
    with pytest.raises(ValueError, match="associated data"):
        crypto.aead_encrypt_many(XC_KEY, [b"a"], [])


def test_aead_with_the_wrong_key_is_detected() -> None:
    wrong = bytes([XC_KEY[0] ^ 1]) + XC_KEY[1:]
    with pytest.raises(IntegrityError):
        crypto.aead_decrypt(wrong, XC_BLOB, XC_AD)


@pytest.mark.parametrize("ad", [b"", XC_AD[:-1], XC_AD + b"\0", b"Q" + XC_AD[1:]])
def test_aead_with_other_associated_data_is_detected(ad: bytes) -> None:
    with pytest.raises(IntegrityError):
        crypto.aead_decrypt(XC_KEY, XC_BLOB, ad)


def test_a_flipped_bit_anywhere_in_an_aead_blob_is_detected() -> None:
    for position in range(len(XC_BLOB)):
        for bit in (0x01, 0x80):
            blob = bytearray(XC_BLOB)
            blob[position] ^= bit
            with pytest.raises(IntegrityError):
                crypto.aead_decrypt(XC_KEY, bytes(blob), XC_AD)


@pytest.mark.parametrize("size", [0, 1, 23, 24, 39, 40, len(XC_BLOB) - 1])
def test_a_truncated_aead_blob_is_detected(size: int) -> None:
    with pytest.raises(IntegrityError):
        crypto.aead_decrypt(XC_KEY, XC_BLOB[:size], XC_AD)


def test_an_aead_blob_with_bytes_appended_is_detected() -> None:
    with pytest.raises(IntegrityError):
        crypto.aead_decrypt(XC_KEY, XC_BLOB + b"\0", XC_AD)


@pytest.mark.parametrize("blob", [None, 42, "text", memoryview(b"x" * 60)])
def test_a_stored_value_of_the_wrong_type_is_an_integrity_error(blob: object) -> None:
    with pytest.raises(IntegrityError):
        crypto.aead_decrypt(XC_KEY, blob, XC_AD)  # type: ignore[arg-type]


# --- sealed boxes ----------------------------------------------------------------------------


def test_a_sealed_box_opens_only_with_its_key_pair() -> None:
    public, secret = crypto.box_keypair(b"s" * 32)
    assert crypto.box_keypair(b"s" * 32) == (public, secret)
    sealed = crypto.seal(public, b"written while locked")
    assert b"written while locked" not in sealed
    assert crypto.unseal(public, secret, sealed) == b"written while locked"
    other_public, other_secret = crypto.box_keypair(b"t" * 32)
    with pytest.raises(IntegrityError):
        crypto.unseal(other_public, other_secret, sealed)
    for position in range(len(sealed)):
        tampered = bytearray(sealed)
        tampered[position] ^= 1
        with pytest.raises(IntegrityError):
            crypto.unseal(public, secret, bytes(tampered))


# --- secretstream ------------------------------------------------------------------------------

KEY = bytes(range(32, 64))
AD = b"file\0blob-name"
MESSAGE = STREAM_CHUNK + 17  # one full secretstream message on disk
HEADER = 24
ODD_SPLITS = [1, 7, 4093, STREAM_CHUNK + 1, 3, STREAM_CHUNK - 1, 65, 2 * STREAM_CHUNK + 13]


def split(data: bytes, sizes: list[int]) -> list[bytes]:
    out, pos, i = [], 0, 0
    while pos < len(data):
        out.append(data[pos : pos + sizes[i % len(sizes)]])
        pos += sizes[i % len(sizes)]
        i += 1
    return out


def encrypt(data: bytes, sizes: list[int] | None = None, ad: bytes = AD) -> bytes:
    enc = StreamEncryptor(KEY, ad)
    out = [enc.update(piece) for piece in split(data, sizes or [len(data) or 1])]
    out.append(enc.close())
    assert enc.plaintext_size == len(data)
    return b"".join(out)


def decrypt(blob: bytes, sizes: list[int] | None = None, ad: bytes = AD) -> bytes:
    dec = StreamDecryptor(KEY, ad)
    out = [dec.update(piece) for piece in split(blob, sizes or [len(blob) or 1])]
    out.append(dec.close())
    return b"".join(out)


def decrypt_with(key: bytes, blob: bytes) -> bytes:
    dec = StreamDecryptor(key, AD)
    return dec.update(blob) + dec.close()


def payload(size: int) -> bytes:
    return random.Random(size).randbytes(size)


SIZES = [0, 1, STREAM_CHUNK - 1, STREAM_CHUNK, STREAM_CHUNK + 1, 3 * STREAM_CHUNK + 5]


@pytest.mark.parametrize("size", SIZES)
def test_secretstream_round_trips_every_size_fed_in_odd_splits(size: int) -> None:
    data = payload(size)
    blob = encrypt(data, ODD_SPLITS)
    messages = max(1, -(-size // STREAM_CHUNK))  # a final message even when empty
    assert len(blob) == HEADER + size + 17 * messages
    assert decrypt(blob, ODD_SPLITS[::-1]) == data
    assert decrypt(blob) == data  # and in one piece


def test_secretstream_output_does_not_depend_on_how_input_was_split() -> None:
    data = payload(2 * STREAM_CHUNK + 100)
    a, b = encrypt(data, [1, 2, 3]), encrypt(data, [STREAM_CHUNK])
    assert len(a) == len(b)
    assert decrypt(a) == decrypt(b) == data


@pytest.mark.parametrize("size", [0, 5, STREAM_CHUNK, 2 * STREAM_CHUNK + 5])
def test_secretstream_truncated_at_a_message_boundary_is_detected(size: int) -> None:
    blob = encrypt(payload(size))
    boundaries = [HEADER + k * MESSAGE for k in range(len(blob) // MESSAGE + 1)]
    cuts = [c for c in boundaries if c < len(blob)] + [0, HEADER - 1]
    for cut in cuts:
        with pytest.raises(IntegrityError):
            decrypt(blob[:cut])


def test_secretstream_truncated_mid_message_is_detected() -> None:
    blob = encrypt(payload(2 * STREAM_CHUNK + 5))
    for cut in (
        HEADER + 1,
        HEADER + 16,
        HEADER + MESSAGE - 1,
        HEADER + MESSAGE + 100,
        len(blob) - 1,
    ):
        with pytest.raises(IntegrityError):
            decrypt(blob[:cut], ODD_SPLITS)


@pytest.mark.parametrize("size", [0, 5, STREAM_CHUNK, STREAM_CHUNK + 1])
@pytest.mark.parametrize("extra", [b"\0", b"x" * 17, b"y" * MESSAGE])
def test_secretstream_with_data_appended_after_the_end_is_detected(size: int, extra: bytes) -> None:
    blob = encrypt(payload(size))
    with pytest.raises(IntegrityError):
        decrypt(blob + extra)


def test_secretstream_with_a_valid_stream_appended_is_detected() -> None:
    blob = encrypt(b"first")
    with pytest.raises(IntegrityError):
        decrypt(blob + blob[HEADER:])


def test_secretstream_with_a_flipped_byte_in_the_header_is_detected() -> None:
    blob = encrypt(payload(100))
    for position in range(HEADER):
        tampered = bytearray(blob)
        tampered[position] ^= 1
        with pytest.raises(IntegrityError):
            decrypt(bytes(tampered))


def test_secretstream_with_a_flipped_byte_anywhere_is_detected() -> None:
    blob = encrypt(payload(300))
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x40
        with pytest.raises(IntegrityError):
            decrypt(bytes(tampered))


def test_secretstream_with_messages_reordered_is_detected() -> None:
    blob = encrypt(payload(3 * STREAM_CHUNK + 5))
    first, second = blob[HEADER : HEADER + MESSAGE], blob[HEADER + MESSAGE : HEADER + 2 * MESSAGE]
    swapped = blob[:HEADER] + second + first + blob[HEADER + 2 * MESSAGE :]
    with pytest.raises(IntegrityError):
        decrypt(swapped)


def test_secretstream_moved_to_another_file_name_is_detected() -> None:
    blob = encrypt(payload(10))
    with pytest.raises(IntegrityError):
        decrypt(blob, ad=b"file\0another-blob-name")


def test_secretstream_with_the_wrong_key_is_detected() -> None:
    blob = encrypt(payload(10))
    with pytest.raises(IntegrityError):
        decrypt_with(bytes(32), blob)


# --- Argon2id --------------------------------------------------------------------------------------


# The Argon2 reference implementation's own example (phc-winner-argon2 README and
# src/test.c): password "password", salt "somesalt", Argon2id v1.3, t=2, m=64 MiB, p=1.
REFERENCE_ARGON2ID = (
    b"$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
)


def test_libsodium_argon2id_gives_the_reference_implementations_answer() -> None:
    assert argon2id.verify(REFERENCE_ARGON2ID, b"password")
    with pytest.raises(nacl.exceptions.InvalidkeyError):
        argon2id.verify(REFERENCE_ARGON2ID, b"passwore")


@pytest.mark.parametrize("passphrase", ["correct horse battery staple", "pâté de campagne ✓"])
def test_the_passphrase_key_is_argon2id_as_the_reference_implementation_computes_it(
    passphrase: str,
) -> None:
    """argon2-cffi wraps the reference C code: an implementation independent of libsodium."""
    params = KdfParams(opslimit=3, memlimit=KdfParams.MIN_MEMLIMIT, salt=bytes(range(16)))
    expected = argon2_reference.hash_secret_raw(
        passphrase.encode(),
        params.salt,
        time_cost=params.opslimit,
        memory_cost=params.memlimit // 1024,
        parallelism=1,
        hash_len=crypto.KEY_BYTES,
        type=argon2_reference.Type.ID,
        version=19,
    )
    assert crypto.passphrase_key(passphrase, params) == expected


def test_calibration_never_goes_below_the_enforced_minimums() -> None:
    for params in (crypto.calibrate_kdf(0), crypto.calibrate_kdf(0.001, memlimit=1024)):
        assert params.opslimit >= KdfParams.MIN_OPSLIMIT
        assert params.memlimit >= KdfParams.MIN_MEMLIMIT
        assert len(params.salt) == 16
        params.check()


def test_calibration_uses_a_fresh_salt_each_time() -> None:
    assert crypto.calibrate_kdf(0).salt != crypto.calibrate_kdf(0).salt


def timed_unlock(params: KdfParams) -> float:
    start = time.perf_counter()
    crypto.passphrase_key("a passphrase of some length", params)
    return time.perf_counter() - start


def test_calibration_to_a_small_target_lands_within_a_reasonable_factor() -> None:
    params = crypto.calibrate_kdf(0.2)
    assert params.opslimit >= KdfParams.MIN_OPSLIMIT
    assert params.memlimit <= KdfParams.MAX_MEMLIMIT
    elapsed = min(timed_unlock(params) for _ in range(2))  # the quieter of two runs
    assert 0.2 / 3 <= elapsed <= 0.2 * 3, (params.opslimit, elapsed)


def test_calibration_spends_more_work_on_a_longer_target() -> None:
    short, long = crypto.calibrate_kdf(0.1), crypto.calibrate_kdf(0.4)
    assert long.memlimit == short.memlimit
    assert long.opslimit >= 2 * short.opslimit


SALT = bytes(16)


@pytest.mark.parametrize(
    ("opslimit", "memlimit"),
    [
        (1, KdfParams.MIN_MEMLIMIT),
        (0, KdfParams.MIN_MEMLIMIT),
        (-5, KdfParams.MIN_MEMLIMIT),
        (KdfParams.MIN_OPSLIMIT, KdfParams.MIN_MEMLIMIT - 1),
        (KdfParams.MIN_OPSLIMIT, 8192),
        (KdfParams.MIN_OPSLIMIT, KdfParams.MAX_MEMLIMIT + 1),  # a header cannot DoS a Pi either
        (10**9, KdfParams.MIN_MEMLIMIT),
    ],
)
def test_kdf_params_outside_the_allowed_range_are_refused(opslimit: int, memlimit: int) -> None:
    weak = KdfParams(opslimit, memlimit, SALT)
    with pytest.raises(VaultError):
        weak.check()
    with pytest.raises(VaultError):
        crypto.passphrase_key("whatever passphrase", weak)
    with pytest.raises(VaultError):
        KdfParams.from_json(weak.to_json())


@pytest.mark.parametrize(
    "change",
    [
        {"alg": "argon2i13"},
        {"alg": "scrypt"},
        {"salt": "00" * 8},
        {"salt": "not hex"},
        {"opslimit": "two"},
        {"opslimit": None},
        {"memlimit": [1]},
        {"opslimit": True},
    ],
)
def test_tampered_kdf_parameters_in_a_header_are_refused(change: dict[str, object]) -> None:
    good = KdfParams(KdfParams.MIN_OPSLIMIT, KdfParams.MIN_MEMLIMIT, SALT).to_json()
    with pytest.raises(VaultError):
        KdfParams.from_json(good | change)


def test_kdf_parameters_with_a_missing_field_are_refused() -> None:
    good = KdfParams(KdfParams.MIN_OPSLIMIT, KdfParams.MIN_MEMLIMIT, SALT).to_json()
    for key in good:
        with pytest.raises(VaultError):
            KdfParams.from_json({k: v for k, v in good.items() if k != key})


def test_kdf_params_survive_a_json_round_trip() -> None:
    params = KdfParams(3, KdfParams.MIN_MEMLIMIT, bytes(range(16)))
    assert KdfParams.from_json(params.to_json()) == params


def test_passphrase_key_depends_on_passphrase_salt_and_cost() -> None:
    base = KdfParams(KdfParams.MIN_OPSLIMIT, KdfParams.MIN_MEMLIMIT, SALT)
    key = crypto.passphrase_key("correct horse", base)
    assert len(key) == 32
    assert key == crypto.passphrase_key("correct horse", base)
    assert key != crypto.passphrase_key("correct horsE", base)
    assert key != crypto.passphrase_key("correct horse", KdfParams(2, base.memlimit, b"\1" * 16))
    assert key != crypto.passphrase_key("correct horse", KdfParams(3, base.memlimit, SALT))
