"""Commands of KYC tiers: their limits, and which wallet is held to which tier."""

from __future__ import annotations

import attrs

from ledger.commands.base import (
    Command,
    optional_amount_type,
    text,
)


@attrs.frozen
class DefineTier(Command):
    """Define (or redefine) KYC tier ``tier``'s limits; None means no limit of that kind.
    Outflow limits count posted debits of the wallet in the day and month (in the
    ledger's time zone) plus its pending holds.

    Rejects: field_invalid (tier name), amount_invalid (a limit).
    """

    tier: str = attrs.field(kw_only=True, validator=text)
    max_balance_minor: int | None = attrs.field(kw_only=True, validator=optional_amount_type)
    per_transaction_max_minor: int | None = attrs.field(
        kw_only=True, validator=optional_amount_type
    )
    daily_outflow_max_minor: int | None = attrs.field(kw_only=True, validator=optional_amount_type)
    monthly_outflow_max_minor: int | None = attrs.field(
        kw_only=True, validator=optional_amount_type
    )


@attrs.frozen
class AssignTier(Command):
    """Hold ``wallet`` to ``tier``'s limits from now on.

    Rejects: account_not_found, field_invalid (not a wallet), account_closed,
    tier_not_found.
    """

    wallet: str = attrs.field(kw_only=True, validator=text)
    tier: str = attrs.field(kw_only=True, validator=text)
