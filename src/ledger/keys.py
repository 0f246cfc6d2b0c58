"""Per-subject keys for personal data (crypto-shredding, for Thailand's PDPA).

A subject is a customer, named by an opaque id (1..128 characters of ``[A-Za-z0-9:_.-]``).
Each subject has a random 32-byte data key. Personal text is stored sealed (AES-256-GCM)
under keys derived from it, and the data key is stored wrapped by a master key that never
enters the ledger. Destroying a subject's wrapped key erases their data: what is sealed
under it can no longer be opened, by anyone.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import re
from collections.abc import Callable
from typing import NoReturn, Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.errors import (
    InvalidCommand,
    KeyStoreDamaged,
    MasterKeyMissing,
    MasterKeyWrong,
    PersonalDataError,
    shown,
)

DATA_KEY_BYTES = 32
"""The length of a data key and of a master key, in bytes."""
TOKEN_PREFIX = "\x1bS1:"
"""How every sealed value starts (ESC, ``S1:``): then its subject, ``:`` and its body."""
ERASED = "[erased]"
"""What a sealed value of an erased subject reads as (``Ledger.reveal``)."""
SEALED = "[sealed]"
"""What another subject's sealed value reads as in one subject's data
(``Ledger.subject_data``)."""

_NONCE_BYTES = 12
_TAG_BYTES = 16
_WRAPPED_BYTES = _NONCE_BYTES + DATA_KEY_BYTES + _TAG_BYTES
_BODY_MIN_BYTES = _NONCE_BYTES + _TAG_BYTES
_BODY_MIN_CHARS = -(-_BODY_MIN_BYTES * 4 // 3)
_SUBJECT_MAX = 128

_KEY_ID_PREFIX = b"satang master key id\x00"
_WRAP_AAD = b"satang/wrap/1\x00"
_SUBJECT_CONTEXT = b"subject\x00"
_SEAL_INFO = b"satang/seal/1"
_SEALED_AAD = b"satang/sealed/1\x00"
_DIGEST_INFO = b"satang/digest/1"

_SUBJECT = re.compile(rf"[A-Za-z0-9:_.\-]{{1,{_SUBJECT_MAX}}}")
_TOKEN = re.compile(
    rf"{re.escape(TOKEN_PREFIX)}([A-Za-z0-9:_.\-]{{1,{_SUBJECT_MAX}}}):([A-Za-z0-9_\-]+)"
)
_HEX64 = re.compile(rf"[0-9a-fA-F]{{{2 * DATA_KEY_BYTES}}}")
_LAST_CHARS: dict[int, frozenset[str] | None] = {
    0: None,
    2: frozenset("AQgw"),
    3: frozenset("AEIMQUYcgkosw048"),
}
"""By body length mod 4, the last characters of canonical base64url: the bits past the
last whole byte are zero, so no two bodies decode to the same bytes."""
_KEY_FILE_MAX = 4096


@runtime_checkable
class KeyWrapper(Protocol):
    """What wraps and unwraps data keys: a :class:`MasterKey`, or an operator's own (a KMS
    client, through :class:`CallbackKeys`)."""

    @property
    def key_id(self) -> str:
        """Names the master key (not a secret); stored beside each key it wrapped."""
        ...

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """``data_key`` wrapped, bound to ``context`` (:func:`subject_context`)."""
        ...

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """The data key that :meth:`wrap` wrapped under ``context``; :class:`MasterKeyWrong`
        if it does not open."""
        ...


class MasterKey:
    """A 32-byte key that wraps data keys with AES-256-GCM. It is never shown: not by
    ``repr`` or ``str``, not in a message, and it is not pickled."""

    __slots__ = ("_aead", "_key", "_key_id")

    def __init__(self, key: bytes) -> None:
        if not isinstance(key, bytes):
            raise InvalidCommand(
                f"a master key is {DATA_KEY_BYTES} bytes, not a {type(key).__name__}"
                " (MasterKey.from_hex reads hex text)"
            )
        if len(key) != DATA_KEY_BYTES:
            raise InvalidCommand(f"a master key is {DATA_KEY_BYTES} bytes, not {len(key)}")
        self._key = bytes(key)
        self._aead = AESGCM(self._key)
        self._key_id = hashlib.sha256(_KEY_ID_PREFIX + self._key).hexdigest()[:16]

    @classmethod
    def generate(cls) -> MasterKey:
        """A new random master key."""
        return cls(os.urandom(DATA_KEY_BYTES))

    @classmethod
    def from_hex(cls, text: str) -> MasterKey:
        """The key written as 64 hex digits; whitespace around them is ignored."""
        if not isinstance(text, str):
            raise InvalidCommand(f"a master key in hex is a str, not a {type(text).__name__}")
        digits = text.strip()
        if _HEX64.fullmatch(digits) is None:
            raise InvalidCommand(
                f"a master key in hex is {2 * DATA_KEY_BYTES} hex digits; the text given is"
                f" not ({len(digits)} characters)"
            )
        return cls(bytes.fromhex(digits))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> MasterKey:
        """The key in the file at ``path``: 64 hex digits (a trailing newline allowed), or
        exactly 32 raw bytes. :class:`MasterKeyMissing` if the file cannot be read."""
        name = os.fspath(path)
        try:
            with open(name, "rb") as file:
                data = file.read(_KEY_FILE_MAX + 1)
        except (OSError, ValueError) as exc:  # ValueError: a path holding a NUL
            reason = exc.strerror if isinstance(exc, OSError) else None
            raise MasterKeyMissing(
                f"no master key could be read from {name!r}: {reason or type(exc).__name__}"
            ) from exc
        if len(data) == DATA_KEY_BYTES:
            return cls(data)
        wrong = InvalidCommand(
            f"the master key file {name} holds neither {2 * DATA_KEY_BYTES} hex digits"
            f" nor {DATA_KEY_BYTES} raw bytes"
        )
        if len(data) > _KEY_FILE_MAX:
            raise wrong
        try:
            return cls.from_hex(data.decode("ascii"))
        except (UnicodeDecodeError, InvalidCommand):
            raise wrong from None

    @classmethod
    def from_env(cls, name: str = "SATANG_MASTER_KEY") -> MasterKey:
        """The key in the environment variable ``name``, as 64 hex digits.
        :class:`MasterKeyMissing` if it is unset or empty."""
        text = os.environ.get(name)
        if not text:
            raise MasterKeyMissing(f"the environment variable {name} holds no master key")
        try:
            return cls.from_hex(text)
        except InvalidCommand:
            raise InvalidCommand(
                f"the environment variable {name} does not hold a master key:"
                f" {2 * DATA_KEY_BYTES} hex digits"
            ) from None

    def hex(self) -> str:
        """The key as 64 hex digits, for an operator to write to a file."""
        return self._key.hex()

    @property
    def key_id(self) -> str:
        """16 hex digits that name this key and reveal nothing of it."""
        return self._key_id

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """``data_key`` sealed under this key with a fresh random nonce and ``context`` as
        associated data: nonce, ciphertext and tag (60 bytes)."""
        _check_data_key(data_key)
        _check_bytes("context", context)
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, data_key, _WRAP_AAD + context)

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """The data key in ``wrapped``; :class:`MasterKeyWrong` if it was wrapped by
        another master key or under another context, or was changed."""
        _check_bytes("wrapped", wrapped)
        _check_bytes("context", context)
        if len(wrapped) == _WRAPPED_BYTES:
            nonce, sealed = wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:]
            try:
                return self._aead.decrypt(nonce, sealed, _WRAP_AAD + context)
            except InvalidTag:
                pass
        raise MasterKeyWrong(
            f"the wrapped key does not open with master key {self._key_id}: another master"
            " key, or the key store was changed"
        )

    def __repr__(self) -> str:
        return f"MasterKey(key_id={self._key_id!r})"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        raise TypeError("a MasterKey is not pickled; pass its file or variable instead")

    def __copy__(self) -> MasterKey:
        return self

    def __deepcopy__(self, memo: object) -> MasterKey:
        return self


class CallbackKeys:
    """A :class:`KeyWrapper` made of an operator's two functions (a KMS client's), each
    called with the key (or the wrapped key) and the context."""

    __slots__ = ("_key_id", "_unwrap", "_wrap")

    def __init__(
        self,
        key_id: str,
        wrap: Callable[[bytes, bytes], bytes],
        unwrap: Callable[[bytes, bytes], bytes],
    ) -> None:
        if not isinstance(key_id, str) or not key_id:
            raise InvalidCommand("the key_id of CallbackKeys is a non-empty str")
        if not callable(wrap) or not callable(unwrap):
            raise InvalidCommand("the wrap and unwrap of CallbackKeys are functions")
        self._key_id = key_id
        self._wrap = wrap
        self._unwrap = unwrap

    @property
    def key_id(self) -> str:
        """The name the operator gave the key."""
        return self._key_id

    def wrap(self, data_key: bytes, context: bytes) -> bytes:
        """What the operator's wrap function returns; its errors pass through."""
        _check_data_key(data_key)
        _check_bytes("context", context)
        wrapped = self._wrap(data_key, context)
        if not isinstance(wrapped, bytes) or not wrapped:
            raise InvalidCommand(
                f"the wrap function of key {self._key_id} returned a {type(wrapped).__name__}"
                " that is not non-empty bytes"
            )
        return wrapped

    def unwrap(self, wrapped: bytes, context: bytes) -> bytes:
        """What the operator's unwrap function returns; :class:`MasterKeyWrong` if it
        raises, or returns anything but 32 bytes."""
        _check_bytes("wrapped", wrapped)
        _check_bytes("context", context)
        try:
            data_key = self._unwrap(wrapped, context)
        except PersonalDataError:
            raise
        except Exception as exc:
            raise MasterKeyWrong(
                f"the wrapped key does not open with key {self._key_id}: the unwrap function"
                f" raised {type(exc).__name__}"
            ) from exc
        if not isinstance(data_key, bytes) or len(data_key) != DATA_KEY_BYTES:
            raise MasterKeyWrong(
                f"the unwrap function of key {self._key_id} did not return a"
                f" {DATA_KEY_BYTES}-byte data key"
            )
        return data_key

    def __repr__(self) -> str:
        return f"CallbackKeys(key_id={self._key_id!r})"


def subject_context(subject: str) -> bytes:
    """The context a subject's data key is wrapped under: it binds the wrapped key to its
    subject, so a wrapped key moved to another subject's row does not unwrap."""
    _check_subject(subject)
    return _SUBJECT_CONTEXT + subject.encode()


NAMES = "#names"
"""The key store's row of the ledger's own *names key* (no subject's: ``#`` is in no id),
under which a name that would otherwise hold personal text is keyed: a bill's stream."""


def key_context(name: str) -> bytes:
    """The context the key store's key ``name`` is wrapped under: :func:`subject_context`
    for a subject's data key, its own for the names key."""
    return b"names\x00" if name == NAMES else subject_context(name)


def keyed_name(names_key: bytes, text: str) -> str:
    """``text`` as a name that confirms nothing without the names key: 32 hex digits of an
    HMAC-SHA256 under a key derived from it."""
    derived = _names_key(names_key)
    return hmac.new(derived, text.encode(), hashlib.sha256).hexdigest()[:32]


def opaque_name(data_key: bytes, text: str) -> str:
    """``text`` (an operator's external identifier: a phone number, a national ID) as an
    opaque name under a subject's data key: 26 lowercase base32 characters of an
    HMAC-SHA256 under a key derived from it. The same text gives the same name while the
    key lives; once it is destroyed, nothing links the name back to the text."""
    derived = _derive(data_key, b"satang/id/1")
    digest = hmac.new(derived, text.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest).decode()[:26].lower()


def new_data_key() -> bytes:
    """A new random data key for one subject."""
    return os.urandom(DATA_KEY_BYTES)


def seal(data_key: bytes, subject: str, text: str) -> str:
    """``text`` sealed for ``subject``: ``TOKEN_PREFIX``, the subject, ``:`` and the
    base64url (unpadded) of nonce, ciphertext and tag.

    AES-256-GCM under a key derived from ``data_key`` (HKDF-SHA256), the subject as
    associated data. Each call draws a random 96-bit nonce: a subject's key seals far fewer
    than the 2**32 values NIST SP 800-38D allows under one key with random nonces. The
    empty string is sealed like any other text."""
    _check_subject(subject)
    if not isinstance(text, str):
        raise InvalidCommand(f"sealed text is a str, not a {type(text).__name__}")
    try:
        plain = text.encode()
    except UnicodeEncodeError:
        raise InvalidCommand("sealed text is not valid Unicode (a lone surrogate)") from None
    nonce = os.urandom(_NONCE_BYTES)
    body = nonce + _sealer(_checked(data_key)).encrypt(nonce, plain, _SEALED_AAD + subject.encode())
    return f"{TOKEN_PREFIX}{subject}:{base64.urlsafe_b64encode(body).rstrip(b'=').decode()}"


def token_subject(value: str) -> str | None:
    """The subject a sealed value belongs to; None if ``value`` is not a well-formed sealed
    value (what it holds is not checked: :func:`unseal` does that)."""
    parts = _parse(value)
    return None if parts is None else parts[0]


def is_sealed(value: str) -> bool:
    """True if ``value`` is a well-formed sealed value."""
    return _parse(value) is not None


def unseal(data_key: bytes, token: str) -> str:
    """The text sealed in ``token``; :class:`KeyStoreDamaged` if ``token`` is not a sealed
    value or does not open under ``data_key``."""
    sealer = _sealer(_checked(data_key))
    parts = _parse(token)
    if parts is None:
        raise KeyStoreDamaged("a value that must be sealed is not a sealed value")
    subject, body = parts
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    try:
        plain = sealer.decrypt(
            raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], _SEALED_AAD + subject.encode()
        )
        return plain.decode()
    except (InvalidTag, UnicodeDecodeError):
        pass
    raise KeyStoreDamaged(
        f"a sealed value of subject {subject} does not open with its data key: the value or"
        " the key store was changed"
    )


def digest_key(data_key: bytes) -> bytes:
    """The key a subject's keyed digests are made with (HKDF-SHA256 of the data key)."""
    return _digest_key(_checked(data_key))


def keyed_digest(data_key: bytes, digest: bytes) -> bytes:
    """HMAC-SHA256 of ``digest`` under :func:`digest_key`: an idempotency digest that
    confirms nothing about the command to whoever lacks the subject's key."""
    _check_bytes("digest", digest)
    return hmac.digest(digest_key(data_key), digest, "sha256")


def _parse(value: str) -> tuple[str, str] | None:
    if not isinstance(value, str) or not value.startswith(TOKEN_PREFIX):
        return None
    match = _TOKEN.fullmatch(value)
    if match is None:
        return None
    subject, body = match.groups()
    if len(body) < _BODY_MIN_CHARS:
        return None
    rest = len(body) % 4
    if rest == 1:
        return None
    last = _LAST_CHARS[rest]
    if last is not None and body[-1] not in last:
        return None
    return subject, body


def _derive(data_key: bytes, info: bytes) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=DATA_KEY_BYTES, salt=None, info=info)
    return hkdf.derive(data_key)


_DERIVED_MAX = 1 << 16
"""Data keys whose derived keys are kept (a subject's sealer and digest key): a busy
ledger touches tens of thousands of subjects, each derivation costs a few microseconds."""


@functools.lru_cache(maxsize=_DERIVED_MAX)
def _sealer(data_key: bytes) -> AESGCM:
    return AESGCM(_derive(data_key, _SEAL_INFO))


@functools.lru_cache(maxsize=_DERIVED_MAX)
def _digest_key(data_key: bytes) -> bytes:
    return _derive(data_key, _DIGEST_INFO)


@functools.lru_cache(maxsize=16)
def _names_key(names_key: bytes) -> bytes:
    return _derive(names_key, b"satang/name/1")


def _checked(data_key: bytes) -> bytes:
    _check_data_key(data_key)
    return data_key


def _check_data_key(data_key: bytes) -> None:
    if not isinstance(data_key, bytes):
        raise InvalidCommand(f"a data key is bytes, not a {type(data_key).__name__}")
    if len(data_key) != DATA_KEY_BYTES:
        raise InvalidCommand(f"a data key is {DATA_KEY_BYTES} bytes, not {len(data_key)}")


def _check_bytes(name: str, value: bytes) -> None:
    if not isinstance(value, bytes):
        raise InvalidCommand(f"{name} is bytes, not a {type(value).__name__}")


def _check_subject(subject: str) -> None:
    if type(subject) is str and subject in _SUBJECTS_SEEN:
        return
    if not isinstance(subject, str) or _SUBJECT.fullmatch(subject) is None:
        raise InvalidCommand(
            f"a subject is 1..{_SUBJECT_MAX} characters of [A-Za-z0-9:_.-], not {shown(subject)}"
        )
    if len(_SUBJECTS_SEEN) < _DERIVED_MAX:
        _SUBJECTS_SEEN.add(subject)


_SUBJECTS_SEEN: set[str] = set()
"""Subject ids found well formed (a busy ledger seals for the same ones again and again)."""


def forget_derived() -> None:
    """Drop every key derived from a data key and kept for speed: what the store calls
    once an erasure has destroyed a data key, so nothing of it stays in this process."""
    _sealer.cache_clear()
    _digest_key.cache_clear()
