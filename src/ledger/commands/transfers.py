"""Commands of P2P transfers and cash-out."""

from __future__ import annotations

import attrs

from ledger.commands.base import (
    Command,
    amount_type,
    text,
)


@attrs.frozen
class Transfer(Command):
    """P2P: ``source`` wallet pays ``destination`` wallet ``amount_minor`` (one currency).

    Rejects: field_invalid (same wallet, not wallets), currency_mismatch,
    limit_exceeded, insufficient_funds, and the entry's own rejections.
    """

    source: str = attrs.field(kw_only=True, validator=text)
    destination: str = attrs.field(kw_only=True, validator=text)
    amount_minor: int = attrs.field(kw_only=True, validator=amount_type)
    memo: str = attrs.field(default="", kw_only=True, validator=text)


@attrs.frozen
class Withdraw(Command):
    """Cash out: ``amount_minor`` leaves the bank account for the user's bank, and the
    wallet pays it plus ``fee_minor``.

    Rejects: field_invalid, amount_invalid, limit_exceeded, insufficient_funds (wallet or
    bank account), and the entry's own rejections.
    """

    wallet: str = attrs.field(kw_only=True, validator=text)
    amount_minor: int = attrs.field(kw_only=True, validator=amount_type)
    fee_minor: int = attrs.field(default=0, kw_only=True, validator=amount_type)
