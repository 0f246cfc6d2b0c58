"""Commands of the account lifecycle: open, freeze, unfreeze, close."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import attrs

from ledger.commands.base import (
    Command,
    metadata_map,
    optional_amount_type,
    optional_text,
    require,
    text,
)


@attrs.frozen
class OpenAccount(Command):
    """Open ``account`` of ``type`` (asset, liability, equity, income, expense) in ``currency``.

    ``subject`` names the customer the account belongs to (an opaque id, never a phone
    number or national ID: docs/personal-data.md); a system account has none. The
    values of ``metadata`` are personal data of that subject, sealed under its data key,
    except those under the keys the policy declares structural.

    Rejects: account_id_invalid, id_personal, account_type_invalid,
    currency_invalid, amount_invalid (a bad ``max_balance_minor``), field_invalid,
    subject_erased, account_exists (already open with these attributes: nothing to do),
    account_exists_different (open with other attributes).
    """

    DIGEST_OPTIONAL: ClassVar[Mapping[str, object]] = {"subject": None}

    account: str = attrs.field(kw_only=True, validator=text)
    type: str = attrs.field(kw_only=True, validator=text)
    currency: str = attrs.field(kw_only=True, validator=text)
    no_overdraft: bool = attrs.field(default=False, kw_only=True, validator=require(bool, "a bool"))
    max_balance_minor: int | None = attrs.field(
        default=None, kw_only=True, validator=optional_amount_type
    )
    metadata: dict[str, str] = attrs.field(factory=dict, kw_only=True, converter=metadata_map)
    subject: str | None = attrs.field(default=None, kw_only=True, validator=optional_text)


@attrs.frozen
class FreezeAccount(Command):
    """Stop all postings to ``account`` until it is unfrozen.

    Rejects: account_not_found, account_closed, account_frozen (already frozen).
    """

    account: str = attrs.field(kw_only=True, validator=text)
    reason: str = attrs.field(default="", kw_only=True, validator=text)


@attrs.frozen
class UnfreezeAccount(Command):
    """Let a frozen ``account`` take postings again. Rejects: account_not_frozen, …"""

    account: str = attrs.field(kw_only=True, validator=text)
    reason: str = attrs.field(default="", kw_only=True, validator=text)


@attrs.frozen
class CloseAccount(Command):
    """Close ``account`` for good; only at zero balance with nothing pending.

    Rejects: account_not_found, account_closed, balance_not_zero.
    """

    account: str = attrs.field(kw_only=True, validator=text)
