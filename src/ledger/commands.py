"""Commands: frozen values naming what a caller wants the ledger to do.

Every command carries ``id``, chosen by the caller and used as its idempotency key.
Building a command checks only *types* (a float amount or an int id raises
:class:`~ledger.errors.InvalidCommand` at once); *values* — a negative amount, an unknown
account, a malformed id — are judged by the decide functions and come back as
``Rejected`` with a code, so a wallet backend can pass user input straight through.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal

import attrs
import msgspec

from ledger.errors import AmountError, InvalidCommand


def _require(kind: type | tuple[type, ...], what: str) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            raise InvalidCommand(
                f"{type(instance).__name__}.{attribute.name} must be {what}, "
                f"got {type(value).__name__} ({value!r})"
            )
        if isinstance(value, str) and not _encodable(value):
            raise InvalidCommand(
                f"{type(instance).__name__}.{attribute.name} is not valid Unicode text "
                f"(it holds a lone surrogate): {value!r}"
            )

    return check


def _encodable(text: str) -> bool:
    """True if ``text`` encodes as UTF-8 (no lone surrogates): everything stored must."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _amount_type(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if type(value) is not int:
        raise AmountError(
            f"{type(instance).__name__}.{attribute.name} must be an int of minor units "
            f"(satang for THB), got {type(value).__name__} ({value!r}); "
            "use ledger.parse_amount for decimal strings"
        )


def _optional_amount_type(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _amount_type(instance, attribute, value)


def _aware_datetime(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is None:
        return
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidCommand(
            f"{type(instance).__name__}.{attribute.name} must be a timezone-aware datetime "
            f"or None, got {value!r}"
        )


def _in_utc(value: Any) -> Any:
    """An aware datetime as the same instant in UTC; anything else as given (for the
    validator to refuse)."""
    if isinstance(value, datetime) and value.tzinfo is not None:
        try:
            return value.astimezone(UTC)
        except OverflowError:  # beyond year 1..9999 in UTC: the policy window refuses it
            return value
    return value


def _metadata(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidCommand(f"metadata must be a mapping of str to str, got {value!r}")
    if not all(_encodable(k) and _encodable(v) for k, v in value.items()):
        raise InvalidCommand(f"metadata holds text that is not valid Unicode: {value!r}")
    return dict(value)


_id = attrs.field(validator=_require(str, "a str"))
_text = _require(str, "a str")


@attrs.frozen
class Command:
    """Base of every command: ``id`` is the caller's idempotency key."""

    id: str = _id


# --- accounts -------------------------------------------------------------------------


@attrs.frozen
class OpenAccount(Command):
    """Open ``account`` of ``type`` (asset, liability, equity, income, expense) in ``currency``.

    Rejects: account_id_invalid, account_type_invalid, currency_invalid, amount_invalid
    (a bad ``max_balance_minor``), field_invalid, account_exists (already open with these
    attributes: nothing to do), account_exists_different (open with other attributes).
    """

    account: str = attrs.field(kw_only=True, validator=_text)
    type: str = attrs.field(kw_only=True, validator=_text)
    currency: str = attrs.field(kw_only=True, validator=_text)
    no_overdraft: bool = attrs.field(
        default=False, kw_only=True, validator=_require(bool, "a bool")
    )
    max_balance_minor: int | None = attrs.field(
        default=None, kw_only=True, validator=_optional_amount_type
    )
    metadata: dict[str, str] = attrs.field(factory=dict, kw_only=True, converter=_metadata)


@attrs.frozen
class FreezeAccount(Command):
    """Stop all postings to ``account`` until it is unfrozen.

    Rejects: account_not_found, account_closed, account_frozen (already frozen).
    """

    account: str = attrs.field(kw_only=True, validator=_text)
    reason: str = attrs.field(default="", kw_only=True, validator=_text)


@attrs.frozen
class UnfreezeAccount(Command):
    """Let a frozen ``account`` take postings again. Rejects: account_not_frozen, …"""

    account: str = attrs.field(kw_only=True, validator=_text)
    reason: str = attrs.field(default="", kw_only=True, validator=_text)


@attrs.frozen
class CloseAccount(Command):
    """Close ``account`` for good; only at zero balance with nothing pending.

    Rejects: account_not_found, account_closed, balance_not_zero.
    """

    account: str = attrs.field(kw_only=True, validator=_text)


# --- journal entries ------------------------------------------------------------------


@attrs.frozen
class Debit:
    """One debit leg: ``amount_minor`` onto ``account``; ``currency`` asserts the account's."""

    account: str = attrs.field(validator=_text)
    amount_minor: int = attrs.field(validator=_amount_type)
    currency: str | None = attrs.field(default=None, validator=attrs.validators.optional(_text))
    side: Literal["debit", "credit"] = attrs.field(default="debit", init=False)


@attrs.frozen
class Credit:
    """One credit leg: ``amount_minor`` onto ``account``; ``currency`` asserts the account's."""

    account: str = attrs.field(validator=_text)
    amount_minor: int = attrs.field(validator=_amount_type)
    currency: str | None = attrs.field(default=None, validator=attrs.validators.optional(_text))
    side: Literal["debit", "credit"] = attrs.field(default="credit", init=False)


Leg = Debit | Credit


def _postings(value: object) -> tuple[Leg, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidCommand(f"postings must be a list of Debit/Credit, got {value!r}")
    for leg in value:
        if not isinstance(leg, (Debit, Credit)):
            raise InvalidCommand(f"each posting must be a Debit or a Credit, got {leg!r}")
    return tuple(value)


@attrs.frozen
class PostEntry(Command):
    """Post a balanced journal entry of explicit legs.

    Rejects, in this order: field_invalid (kind, memo, metadata), effective_at_invalid,
    postings_invalid, amount_invalid (any leg), then leg by leg account_not_found,
    account_frozen, account_closed, currency_mismatch; then unbalanced, overflow,
    insufficient_funds, limit_exceeded. (Before any of these, the ledger itself answers
    id_invalid and idempotency_conflict.)
    """

    kind: str = attrs.field(kw_only=True, validator=_text)
    postings: tuple[Leg, ...] = attrs.field(kw_only=True, converter=_postings)
    memo: str = attrs.field(default="", kw_only=True, validator=_text)
    metadata: dict[str, str] = attrs.field(factory=dict, kw_only=True, converter=_metadata)
    effective_at: datetime | None = attrs.field(
        default=None, kw_only=True, converter=_in_utc, validator=_aware_datetime
    )


@attrs.frozen
class Reverse(Command):
    """Post the exact mirror of the entry written by command ``entry_id``, at most once.

    Rejects: entry_not_found, entry_already_reversed, and any rejection a fresh entry of
    the mirrored legs would get (a frozen account, insufficient funds, …).
    """

    entry_id: str = attrs.field(kw_only=True, validator=_text)
    memo: str = attrs.field(default="", kw_only=True, validator=_text)


_digest_encoder = msgspec.json.Encoder(order="sorted")


def canonical_bytes(command: Command) -> bytes:
    """The command's type and fields as canonical JSON: equal commands, equal bytes.

    Fields and dict keys are sorted; a leg carries its ``side``; ``effective_at`` was
    normalised to UTC when the command was built, so the same instant written in two
    time zones is the same command (an idempotent retry, not a conflict).
    """
    return _digest_encoder.encode([type(command).__name__, command])
