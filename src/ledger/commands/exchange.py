"""The command that moves value across currencies."""

from __future__ import annotations

import attrs

from ledger.commands.base import (
    Command,
    amount_type,
    text,
)


@attrs.frozen
class Exchange(Command):
    """Move value from ``source`` (one currency) to ``destination`` (another): the source
    gives ``sell_amount_minor``, the destination gets ``buy_amount_minor``, each currency
    balanced through its FX position account; the rate is recorded.

    Rejects: field_invalid (one currency on both sides), amount_invalid,
    account_not_found (an FX position not opened), limit_exceeded, insufficient_funds.
    """

    source: str = attrs.field(kw_only=True, validator=text)
    destination: str = attrs.field(kw_only=True, validator=text)
    sell_amount_minor: int = attrs.field(kw_only=True, validator=amount_type)
    buy_amount_minor: int = attrs.field(kw_only=True, validator=amount_type)
