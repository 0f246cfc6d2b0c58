"""The base of every command, the type checks all commands share, and canonical bytes.

The validators here check *types* only, when a command is built; values are judged by
the decide functions (see :mod:`ledger.commands`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date
from typing import Any, ClassVar

import attrs
import msgspec

from ledger.errors import AmountError, InvalidCommand, shown
from ledger.times import is_aware


def require(kind: type | tuple[type, ...], what: str) -> Any:
    """A field validator: InvalidCommand unless the value is a ``kind`` (``what`` says
    which, in the message), and for text unless it is valid Unicode."""

    def check(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, kind):
            raise InvalidCommand(
                f"{type(instance).__name__}.{attribute.name} must be {what}, "
                f"got {type(value).__name__} ({shown(value)})"
            )
        if isinstance(value, str) and not encodable(value):
            raise InvalidCommand(
                f"{type(instance).__name__}.{attribute.name} is not valid Unicode text "
                f"(it holds a lone surrogate): {shown(value)}"
            )

    return check


def encodable(text: str) -> bool:
    """True if ``text`` encodes as UTF-8 (no lone surrogates): everything stored must."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def amount_type(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A field validator: AmountError unless the value is an ``int`` (its range is checked
    on submit: amount_invalid)."""
    if type(value) is not int:
        raise AmountError(
            f"{type(instance).__name__}.{attribute.name} must be an int of minor units "
            f"(satang for THB), got {type(value).__name__} ({shown(value)}); "
            "use ledger.parse_amount for decimal strings"
        )


def optional_amount_type(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """:func:`amount_type`, or None."""
    if value is not None:
        amount_type(instance, attribute, value)


def aware_datetime(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A timezone-aware datetime, or None where the field allows it (its default is None)."""
    if value is None and attribute.default is None:
        return
    if not is_aware(value):
        optional = " or None" if attribute.default is None else ""
        raise InvalidCommand(
            f"{type(instance).__name__}.{attribute.name} must be a timezone-aware datetime"
            f"{optional}, got {shown(value)}"
        )


def calendar_date(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """A calendar day (a ``date``, not a ``datetime``): a due date, a business day in the
    ledger's time zone."""
    if type(value) is not date:
        raise InvalidCommand(
            f"{type(instance).__name__}.{attribute.name} must be a datetime.date (a day, "
            f"not a datetime), got {type(value).__name__} ({shown(value)})"
        )


def count_type(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An int that is not a bool (a count, a rate in basis points)."""
    if type(value) is not int:
        raise InvalidCommand(
            f"{type(instance).__name__}.{attribute.name} must be an int, "
            f"got {type(value).__name__} ({shown(value)})"
        )


def in_utc(value: Any) -> Any:
    """An aware datetime as the same instant in UTC; anything else as given (for the
    validator to refuse)."""
    if is_aware(value):
        try:
            return value.astimezone(UTC)
        except OverflowError:  # beyond year 1..9999 in UTC: the policy window refuses it
            return value
    return value


def metadata_map(value: object) -> dict[str, str]:
    """A converter: the metadata as a plain dict of str to str, InvalidCommand otherwise."""
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise InvalidCommand(f"metadata must be a mapping of str to str, got {shown(value)}")
    if not all(encodable(k) and encodable(v) for k, v in value.items()):
        raise InvalidCommand(f"metadata holds text that is not valid Unicode: {shown(value)}")
    return dict(value)


ID_FIELD = attrs.field(validator=require(str, "a str"))
text = require(str, "a str")
optional_text = attrs.validators.optional(text)


@attrs.frozen
class Command:
    """Base of every command: ``id`` is the caller's idempotency key."""

    id: str = ID_FIELD

    DIGEST_OPTIONAL: ClassVar[Mapping[str, object]] = {}
    """Fields added after the class was first released, with their defaults: a field at
    its default is left out of :func:`canonical_bytes`, so a command stored before the
    field existed is the same command after it (its retry stays idempotent)."""


_digest_encoder = msgspec.json.Encoder(order="sorted")


def canonical_bytes(command: Command) -> bytes:
    """The command's type and fields as canonical JSON: equal commands, equal bytes.

    Fields and dict keys are sorted; a leg carries its ``side``; ``effective_at`` was
    normalised to UTC when the command was built, so the same instant written in two
    time zones is the same command (an idempotent retry, not a conflict). Fields of
    ``DIGEST_OPTIONAL`` at their default are left out.

    Raises :class:`ledger.errors.InvalidCommand` for an int too large to write out
    (Python's limit on int-to-text conversion, 4,300 digits by default): no amount is
    near that, and the command has no canonical form.
    """
    body: object = command
    optional = type(command).DIGEST_OPTIONAL
    if optional:
        body = {
            field.name: value
            for field in attrs.fields(type(command))
            if not _at_default(value := getattr(command, field.name), optional, field.name)
        }
    try:
        return _digest_encoder.encode([type(command).__name__, body])
    except ValueError as exc:  # an int past the int-to-text limit
        raise InvalidCommand(
            f"{type(command).__name__} holds an int too large to write out; an amount is "
            "at most 2**63-1 minor units"
        ) from exc


def _at_default(value: object, optional: Mapping[str, object], name: str) -> bool:
    """``value`` is the default ``optional`` names for field ``name`` (same type too, so
    ``0`` is not ``False``)."""
    if name not in optional:
        return False
    default = optional[name]
    return type(value) is type(default) and value == default
