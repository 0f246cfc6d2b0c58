"""Per-subject keys: what is sealed opens only under its subject's key, and nothing else."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import pickle
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import (
    InvalidCommand,
    KeyStoreDamaged,
    MasterKeyMissing,
    MasterKeyWrong,
    PersonalDataError,
    StoreCorrupt,
)
from ledger.keys import (
    DATA_KEY_BYTES,
    TOKEN_PREFIX,
    CallbackKeys,
    KeyWrapper,
    MasterKey,
    digest_key,
    is_sealed,
    keyed_digest,
    new_data_key,
    seal,
    subject_context,
    token_subject,
    unseal,
)

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
KEY = bytes(range(32))
OTHER_KEY = bytes(range(1, 33))
SECRET = "Somchai Jaidee, 99/1 Sukhumvit Road"

subjects = st.from_regex(r"[A-Za-z0-9:_.\-]{1,128}", fullmatch=True)


def _body(token: str) -> str:
    return token.rpartition(":")[2]


def _raw(token: str) -> bytes:
    body = _body(token)
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def _hkdf(data_key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(data_key)


# sealing


@given(subjects, st.text())
def test_seal_then_unseal_is_exact(subject: str, text: str) -> None:
    token = seal(KEY, subject, text)
    assert token.startswith(TOKEN_PREFIX)
    assert token_subject(token) == subject
    assert is_sealed(token)
    assert unseal(KEY, token) == text
    assert len(_raw(token)) == 12 + len(text.encode()) + 16
    head = f"{TOKEN_PREFIX}{subject}:"
    if len(text) >= 4 and text not in head:
        assert text.encode() not in token.encode()
        assert text.encode() not in _raw(token)


def test_the_format_is_aes_gcm_under_the_derived_seal_key() -> None:
    """Pinned against the spec, independently of the module: HKDF-SHA256 with info
    ``satang/seal/1``, a 12-byte nonce first, the subject in the associated data."""
    token = seal(KEY, "cust:7", SECRET)
    assert token.startswith(TOKEN_PREFIX + "cust:7:")
    assert "=" not in token
    raw = _raw(token)
    aead = AESGCM(_hkdf(KEY, b"satang/seal/1"))
    assert aead.decrypt(raw[:12], raw[12:], b"satang/sealed/1\x00cust:7") == SECRET.encode()


def test_sealing_the_same_text_twice_gives_two_values() -> None:
    first, second = seal(KEY, "u1", SECRET), seal(KEY, "u1", SECRET)
    assert first != second
    assert _raw(first)[:12] != _raw(second)[:12]
    assert unseal(KEY, first) == unseal(KEY, second) == SECRET


def test_no_nonce_repeats_over_ten_thousand_seals() -> None:
    nonces = {_raw(seal(KEY, "u1", "x"))[:12] for _ in range(10_000)}
    assert len(nonces) == 10_000


def test_the_empty_string_is_sealed_like_any_text() -> None:
    token = seal(KEY, "u1", "")
    assert is_sealed(token)
    assert token != ""
    assert unseal(KEY, token) == ""


def test_a_subject_may_hold_colons() -> None:
    token = seal(KEY, "a:b:c", SECRET)
    assert token_subject(token) == "a:b:c"
    assert unseal(KEY, token) == SECRET
    longest = "s:" * 63 + "ab"
    assert token_subject(seal(KEY, longest, SECRET)) == longest


# what does not open


def _assert_damaged_quietly(error: pytest.ExceptionInfo[KeyStoreDamaged], token: str) -> None:
    message = str(error.value)
    assert SECRET not in message
    assert _body(token) not in message
    assert error.value.seq is None
    assert isinstance(error.value, StoreCorrupt)
    assert isinstance(error.value, PersonalDataError)


def test_another_data_key_does_not_open() -> None:
    token = seal(KEY, "cust:1", SECRET)
    with pytest.raises(KeyStoreDamaged, match="subject cust:1 does not open") as error:
        unseal(OTHER_KEY, token)
    _assert_damaged_quietly(error, token)


def test_every_changed_character_of_the_body_does_not_open() -> None:
    """Each position of the body, each other base64url character, bodies of each length
    mod 4 that base64 allows (spare bits in the last character or none): no change opens."""
    for text in (SECRET, SECRET + "!", SECRET + "!!"):
        token = seal(KEY, "cust:1", text)
        start = token.rindex(":") + 1
        for at in range(start, len(token)):
            for char in B64URL.replace(token[at], ""):
                changed = token[:at] + char + token[at + 1 :]
                with pytest.raises(KeyStoreDamaged) as error:
                    unseal(KEY, changed)
                _assert_damaged_quietly(error, token)


def test_the_last_character_may_not_hide_a_change_in_its_spare_bits() -> None:
    """Base64url that is not canonical would decode to the same bytes; it is refused."""
    token = seal(KEY, "u1", "abc")
    assert len(_body(token)) % 4 == 2
    last = token[-1]
    for spare in B64URL[B64URL.index(last) + 1 : B64URL.index(last) + 16]:
        changed = token[:-1] + spare
        assert token_subject(changed) is None
        with pytest.raises(KeyStoreDamaged):
            unseal(KEY, changed)


def test_a_value_moved_to_another_subject_does_not_open() -> None:
    token = seal(KEY, "cust:1", SECRET)
    moved = f"{TOKEN_PREFIX}cust:2:{_body(token)}"
    assert token_subject(moved) == "cust:2"
    with pytest.raises(KeyStoreDamaged, match="subject cust:2 does not open") as error:
        unseal(KEY, moved)
    _assert_damaged_quietly(error, token)


def test_a_value_that_is_not_sealed_does_not_open() -> None:
    with pytest.raises(KeyStoreDamaged) as error:
        unseal(KEY, SECRET)
    assert SECRET not in str(error.value)


GOOD = seal(KEY, "cust:1", SECRET)
BODY = _body(GOOD)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "plain text",
        SECRET,
        TOKEN_PREFIX,
        TOKEN_PREFIX + "cust:1",
        TOKEN_PREFIX + "cust:1:",
        TOKEN_PREFIX + ":" + BODY,
        TOKEN_PREFIX + "cust 1:" + BODY,
        TOKEN_PREFIX + "cüst:" + BODY,
        TOKEN_PREFIX + "a" * 129 + ":" + BODY,
        TOKEN_PREFIX + "cust:1:" + "A" * 37,
        TOKEN_PREFIX + "cust:1:" + "A" * 41,
        TOKEN_PREFIX + "cust:1:" + BODY[:-1] + "+",
        TOKEN_PREFIX + "cust:1:" + BODY[:-1] + "/",
        TOKEN_PREFIX + "cust:1:" + BODY + "==",
        TOKEN_PREFIX + "cust:1:" + BODY + "\n",
        " " + GOOD,
        "\x1bS2:cust:1:" + BODY,
        "S1:cust:1:" + BODY,
    ],
    ids=[
        "empty",
        "plain",
        "secret",
        "prefix-alone",
        "no-body",
        "empty-body",
        "empty-subject",
        "space-in-subject",
        "non-ascii-subject",
        "long-subject",
        "short-body",
        "body-length-1-mod-4",
        "plus",
        "slash",
        "padded",
        "newline",
        "leading-space",
        "other-version",
        "no-escape",
    ],
)
def test_a_malformed_value_is_not_sealed(value: str) -> None:
    assert token_subject(value) is None
    assert not is_sealed(value)
    with pytest.raises(KeyStoreDamaged):
        unseal(KEY, value)


def test_the_shortest_body_is_nonce_and_tag() -> None:
    minimal = base64.urlsafe_b64encode(bytes(28)).rstrip(b"=").decode()
    assert token_subject(TOKEN_PREFIX + "u:" + minimal) == "u"
    assert token_subject(TOKEN_PREFIX + "u:" + minimal[:-1]) is None


@pytest.mark.parametrize(
    ("data_key", "subject", "text"),
    [
        (KEY, "", SECRET),
        (KEY, "cust 1", SECRET),
        (KEY, "a" * 129, SECRET),
        (KEY, b"cust:1", SECRET),
        (KEY, "cust:1", b"bytes"),
        (KEY, "cust:1", "\ud800"),
        (KEY[:31], "cust:1", SECRET),
        (KEY + b"\x00", "cust:1", SECRET),
        (bytearray(KEY), "cust:1", SECRET),
        (KEY.hex(), "cust:1", SECRET),
    ],
    ids=[
        "empty-subject",
        "space",
        "long-subject",
        "bytes-subject",
        "bytes-text",
        "surrogate",
        "short-key",
        "long-key",
        "bytearray-key",
        "str-key",
    ],
)
def test_seal_refuses_what_it_cannot_seal(data_key: bytes, subject: str, text: str) -> None:
    with pytest.raises(InvalidCommand) as error:
        seal(data_key, subject, text)
    assert KEY.hex() not in str(error.value)


def test_unseal_refuses_a_data_key_of_the_wrong_kind() -> None:
    with pytest.raises(InvalidCommand):
        unseal(KEY[:16], GOOD)


def test_a_data_key_is_new_and_random() -> None:
    keys = {new_data_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(type(k) is bytes and len(k) == DATA_KEY_BYTES for k in keys)


# keyed digests


def test_a_keyed_digest_is_deterministic_per_key_and_hides_the_digest() -> None:
    digest = hashlib.sha256(b"command body").digest()
    one = keyed_digest(KEY, digest)
    assert one == keyed_digest(KEY, digest)
    assert len(one) == 32
    assert one != digest
    assert one != keyed_digest(OTHER_KEY, digest)
    assert one != keyed_digest(KEY, hashlib.sha256(b"another body").digest())
    assert digest_key(KEY) == _hkdf(KEY, b"satang/digest/1")
    assert digest_key(KEY) not in (KEY, _hkdf(KEY, b"satang/seal/1"))
    assert one == hmac.new(_hkdf(KEY, b"satang/digest/1"), digest, hashlib.sha256).digest()


# the master key


def test_a_master_key_wraps_and_unwraps() -> None:
    master = MasterKey.generate()
    data_key = new_data_key()
    context = subject_context("cust:1")
    wrapped = master.wrap(data_key, context)
    assert len(wrapped) == 60
    assert data_key not in wrapped
    assert master.wrap(data_key, context) != wrapped
    assert master.unwrap(wrapped, context) == data_key


def test_the_subject_context_names_the_subject() -> None:
    assert subject_context("cust:1") == b"subject\x00cust:1"
    with pytest.raises(InvalidCommand):
        subject_context("cust 1")


def test_another_master_key_does_not_unwrap() -> None:
    master, other = MasterKey(KEY), MasterKey(OTHER_KEY)
    wrapped = master.wrap(new_data_key(), subject_context("u1"))
    with pytest.raises(MasterKeyWrong, match=re.escape(other.key_id)) as error:
        other.unwrap(wrapped, subject_context("u1"))
    assert OTHER_KEY.hex() not in str(error.value)


@given(st.integers(min_value=0, max_value=59), st.integers(min_value=1, max_value=255))
def test_a_wrapped_key_changed_in_one_byte_does_not_unwrap(where: int, flip: int) -> None:
    master = MasterKey(KEY)
    wrapped = bytearray(master.wrap(OTHER_KEY, subject_context("u1")))
    wrapped[where] ^= flip
    with pytest.raises(MasterKeyWrong):
        master.unwrap(bytes(wrapped), subject_context("u1"))


def test_a_wrapped_key_moved_to_another_subject_does_not_unwrap() -> None:
    master = MasterKey(KEY)
    wrapped = master.wrap(new_data_key(), subject_context("cust:A"))
    with pytest.raises(MasterKeyWrong):
        master.unwrap(wrapped, subject_context("cust:B"))


@pytest.mark.parametrize("length", [0, 12, 44, 59, 61, 120])
def test_a_wrapped_key_of_the_wrong_length_does_not_unwrap(length: int) -> None:
    master = MasterKey(KEY)
    wrapped = (master.wrap(OTHER_KEY, b"c") * 2)[:length]
    with pytest.raises(MasterKeyWrong):
        master.unwrap(wrapped, b"c")


@pytest.mark.parametrize(
    "key",
    [b"short", KEY[:31], KEY + b"\x00", KEY.hex(), "str", bytearray(KEY), None],
    ids=["short", "31-bytes", "33-bytes", "hex-str", "str", "bytearray", "none"],
)
def test_a_master_key_is_32_bytes(key: bytes) -> None:
    with pytest.raises(InvalidCommand) as error:
        MasterKey(key)
    message = str(error.value)
    assert KEY.hex() not in message
    assert KEY[:31].hex() not in message
    assert repr(KEY[:5]) not in message


def test_a_master_key_is_never_shown() -> None:
    master = MasterKey(KEY)
    for text in (repr(master), str(master), f"{master}", repr([master])):
        assert KEY.hex() not in text
        assert KEY.hex().upper() not in text
        assert repr(KEY) not in text
    assert repr(master) == f"MasterKey(key_id={master.key_id!r})"


def test_the_key_id_names_the_key() -> None:
    key_id = MasterKey(KEY).key_id
    expected = hashlib.sha256(b"satang master key id\x00" + KEY).hexdigest()[:16]
    assert key_id == expected == MasterKey(KEY).key_id
    assert re.fullmatch(r"[0-9a-f]{16}", key_id)
    assert key_id not in KEY.hex()
    assert MasterKey(OTHER_KEY).key_id != key_id
    assert MasterKey.generate().key_id != MasterKey.generate().key_id


def test_a_master_key_is_not_pickled() -> None:
    master = MasterKey(KEY)
    with pytest.raises(TypeError):
        pickle.dumps(master)
    assert copy.copy(master) is master
    assert copy.deepcopy(master) is master


def test_hex_round_trips() -> None:
    master = MasterKey.generate()
    again = MasterKey.from_hex(master.hex())
    assert again.key_id == master.key_id
    assert MasterKey.from_hex(f"  {KEY.hex().upper()}\n").key_id == MasterKey(KEY).key_id
    wrapped = master.wrap(KEY, b"c")
    assert again.unwrap(wrapped, b"c") == KEY


@pytest.mark.parametrize(
    "text",
    [
        "",
        KEY.hex()[:63],
        KEY.hex() + "0",
        KEY.hex()[:62] + "zz",
        KEY.hex()[:32] + " " + KEY.hex()[32:],
        "0x" + KEY.hex()[2:],
    ],
    ids=["empty", "63-digits", "65-digits", "not-hex", "space-inside", "0x"],
)
def test_from_hex_refuses_without_echoing(text: str) -> None:
    with pytest.raises(InvalidCommand) as error:
        MasterKey.from_hex(text)
    if text:
        assert text.strip() not in str(error.value)
    assert KEY.hex()[:16] not in str(error.value)


def test_from_file_reads_hex_or_raw_bytes(tmp_path: Path) -> None:
    expected = MasterKey(KEY).key_id
    hex_file = tmp_path / "master.hex"
    hex_file.write_text(KEY.hex() + "\n")
    assert MasterKey.from_file(hex_file).key_id == expected
    assert MasterKey.from_file(str(hex_file)).key_id == expected
    raw_file = tmp_path / "master.key"
    raw_file.write_bytes(KEY)
    assert MasterKey.from_file(raw_file).key_id == expected


def test_from_file_without_a_file_is_missing(tmp_path: Path) -> None:
    absent = tmp_path / "absent.key"
    with pytest.raises(MasterKeyMissing, match=re.escape(str(absent))):
        MasterKey.from_file(absent)
    with pytest.raises(MasterKeyMissing):
        MasterKey.from_file(tmp_path)


@pytest.mark.parametrize(
    "contents",
    [b"", b"garbage\n", KEY[:31], KEY + b"\n", ("zz" * 32).encode(), b"\xff" * 64, b"0" * 5000],
    ids=["empty", "garbage", "31-bytes", "33-bytes", "64-not-hex", "64-binary", "huge"],
)
def test_from_file_refuses_bad_contents(tmp_path: Path, contents: bytes) -> None:
    path = tmp_path / "master.key"
    path.write_bytes(contents)
    with pytest.raises(InvalidCommand, match=re.escape(str(path))) as error:
        MasterKey.from_file(path)
    assert "garbage" not in str(error.value)


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATANG_MASTER_KEY", KEY.hex())
    assert MasterKey.from_env().key_id == MasterKey(KEY).key_id
    monkeypatch.setenv("MY_KEY", OTHER_KEY.hex() + "\n")
    assert MasterKey.from_env("MY_KEY").key_id == MasterKey(OTHER_KEY).key_id


def test_from_env_unset_or_empty_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SATANG_MASTER_KEY", raising=False)
    with pytest.raises(MasterKeyMissing, match="SATANG_MASTER_KEY"):
        MasterKey.from_env()
    monkeypatch.setenv("SATANG_MASTER_KEY", "")
    with pytest.raises(MasterKeyMissing, match="SATANG_MASTER_KEY"):
        MasterKey.from_env()


def test_from_env_refuses_a_bad_value_without_echoing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SATANG_MASTER_KEY", KEY.hex()[:60])
    with pytest.raises(InvalidCommand, match="SATANG_MASTER_KEY") as error:
        MasterKey.from_env()
    assert KEY.hex()[:60] not in str(error.value)
    assert error.value.__cause__ is None


# an operator's own wrapper


def test_callback_keys_round_trip_through_the_operators_functions() -> None:
    master = MasterKey(KEY)
    seen: list[bytes] = []

    def wrap(data_key: bytes, context: bytes) -> bytes:
        seen.append(context)
        return master.wrap(data_key, context)

    keys = CallbackKeys("kms:alias/satang", wrap, master.unwrap)
    assert keys.key_id == "kms:alias/satang"
    assert "kms:alias/satang" in repr(keys)
    context = subject_context("cust:1")
    wrapped = keys.wrap(OTHER_KEY, context)
    assert seen == [context]
    assert keys.unwrap(wrapped, context) == OTHER_KEY
    assert master.unwrap(wrapped, context) == OTHER_KEY
    with pytest.raises(MasterKeyWrong):
        keys.unwrap(wrapped, subject_context("cust:2"))


def test_both_wrappers_are_key_wrappers() -> None:
    master = MasterKey(KEY)
    assert isinstance(master, KeyWrapper)
    assert isinstance(CallbackKeys("k", master.wrap, master.unwrap), KeyWrapper)


def test_a_callback_that_raises_is_a_wrong_key() -> None:
    def unwrap(wrapped: bytes, context: bytes) -> bytes:
        raise RuntimeError("kms: access denied")

    keys = CallbackKeys("kms:1", MasterKey(KEY).wrap, unwrap)
    with pytest.raises(MasterKeyWrong, match="kms:1") as error:
        keys.unwrap(bytes(60), b"c")
    assert isinstance(error.value.__cause__, RuntimeError)


def test_a_callback_raising_personal_data_error_passes_it_on() -> None:
    def unwrap(wrapped: bytes, context: bytes) -> bytes:
        raise MasterKeyMissing("no key in the KMS")

    keys = CallbackKeys("kms:1", MasterKey(KEY).wrap, unwrap)
    with pytest.raises(MasterKeyMissing, match="no key in the KMS"):
        keys.unwrap(bytes(60), b"c")


@pytest.mark.parametrize("result", [bytes(31), bytes(33), b"", "x" * 32, None])
def test_a_callback_that_returns_no_data_key_is_a_wrong_key(result: bytes) -> None:
    def unwrap(wrapped: bytes, context: bytes) -> bytes:
        return result

    keys = CallbackKeys("kms:1", MasterKey(KEY).wrap, unwrap)
    with pytest.raises(MasterKeyWrong):
        keys.unwrap(bytes(60), b"c")


@pytest.mark.parametrize("key_id", ["", None, 7, b"kms"])
def test_callback_keys_need_a_key_id(key_id: str) -> None:
    master = MasterKey(KEY)
    with pytest.raises(InvalidCommand):
        CallbackKeys(key_id, master.wrap, master.unwrap)


def test_callback_keys_need_functions() -> None:
    master = MasterKey(KEY)
    with pytest.raises(InvalidCommand):
        CallbackKeys("k", "wrap", master.unwrap)  # type: ignore[arg-type]
