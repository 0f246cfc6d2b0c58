"""Journal entries of explicit legs and their reversal."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import ClassVar, Literal

import attrs

from ledger.commands.base import (
    Command,
    amount_type,
    aware_datetime,
    in_utc,
    metadata_map,
    require,
    text,
)
from ledger.errors import InvalidCommand, shown


@attrs.frozen
class Debit:
    """One debit leg: ``amount_minor`` onto ``account``; ``currency`` asserts the account's."""

    account: str = attrs.field(validator=text)
    amount_minor: int = attrs.field(validator=amount_type)
    currency: str | None = attrs.field(default=None, validator=attrs.validators.optional(text))
    side: Literal["debit", "credit"] = attrs.field(default="debit", init=False)


@attrs.frozen
class Credit:
    """One credit leg: ``amount_minor`` onto ``account``; ``currency`` asserts the account's."""

    account: str = attrs.field(validator=text)
    amount_minor: int = attrs.field(validator=amount_type)
    currency: str | None = attrs.field(default=None, validator=attrs.validators.optional(text))
    side: Literal["debit", "credit"] = attrs.field(default="credit", init=False)


Leg = Debit | Credit


def _postings(value: object) -> tuple[Leg, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidCommand(f"postings must be a list of Debit/Credit, got {shown(value)}")
    for leg in value:
        if not isinstance(leg, (Debit, Credit)):
            raise InvalidCommand(f"each posting must be a Debit or a Credit, got {shown(leg)}")
    return tuple(value)


@attrs.frozen
class PostEntry(Command):
    """Post a balanced journal entry of explicit legs.

    ``effective_at`` (default: now) more than the policy's ``backdate_grace`` before now
    is a backdated entry, which must say so with ``backdated=True``; it is still refused
    outside ``backdate_limit`` and inside a closed period (:class:`ClosePeriod`).

    Rejects, in this order: field_invalid (kind, memo, metadata, ``backdated`` without
    ``effective_at``), effective_at_invalid, postings_invalid, amount_invalid (any leg),
    then leg by leg account_not_found, account_frozen, account_closed, currency_mismatch;
    then unbalanced, overflow, insufficient_funds, limit_exceeded; and period_closed.
    (Before any of these, the ledger itself answers id_invalid and idempotency_conflict.)
    """

    DIGEST_OPTIONAL: ClassVar[Mapping[str, object]] = {"backdated": False}

    kind: str = attrs.field(kw_only=True, validator=text)
    postings: tuple[Leg, ...] = attrs.field(kw_only=True, converter=_postings)
    memo: str = attrs.field(default="", kw_only=True, validator=text)
    metadata: dict[str, str] = attrs.field(factory=dict, kw_only=True, converter=metadata_map)
    effective_at: datetime | None = attrs.field(
        default=None, kw_only=True, converter=in_utc, validator=aware_datetime
    )
    backdated: bool = attrs.field(default=False, kw_only=True, validator=require(bool, "a bool"))


@attrs.frozen
class ClosePeriod(Command):
    """Close the books through ``through``: from now on nothing may be effective at or
    before it (a backdated entry, or a writer whose clock is behind, is refused with
    period_closed), so the figures reported for a closed period never change again.

    Periods close forward only, and a close is never undone: what belongs to a closed
    period is booked as a correcting entry in the open one. Rejects: field_invalid
    (memo), effective_at_invalid (``through`` not at least the policy's ``future_limit``
    before now, so a server whose clock runs ahead cannot close what others still call
    now), period_closed (``through`` is not after the end of the last closed period).
    """

    through: datetime = attrs.field(kw_only=True, converter=in_utc, validator=aware_datetime)
    memo: str = attrs.field(default="", kw_only=True, validator=text)


@attrs.frozen
class Reverse(Command):
    """Post the exact mirror of the entry written by command ``entry_id``, at most once.

    Rejects: entry_not_found, entry_already_reversed, and any rejection a fresh entry of
    the mirrored legs would get (a frozen account, insufficient funds, …).
    """

    entry_id: str = attrs.field(kw_only=True, validator=text)
    memo: str = attrs.field(default="", kw_only=True, validator=text)
