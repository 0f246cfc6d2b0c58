"""Commands of cash in: wallet top-ups and agents settling the cash they collected."""

from __future__ import annotations

import attrs

from ledger.commands.base import (
    Command,
    amount_type,
    metadata_map,
    text,
)

TOP_UP_CHANNELS = ("bank", "card", "promptpay", "counter", "agent")
"""How cash reaches a wallet. ``counter`` and ``agent`` top-ups are cash the agent owes."""


@attrs.frozen
class TopUp(Command):
    """Cash in: ``amount_minor`` arrived through ``channel``; the wallet gets it less
    ``fee_minor``. Bank, card and PromptPay top-ups debit the safeguarded bank account
    (the chart's ``bank_trust``) unless ``funding_account`` names another; counter and
    agent top-ups must name the agent's receivable as ``funding_account``. The funding
    account must be an asset account (a bank account, an agent's receivable).

    Rejects: field_invalid (channel, funding account, metadata, not a wallet),
    amount_invalid, limit_exceeded (tier), and the entry's own rejections.
    """

    wallet: str = attrs.field(kw_only=True, validator=text)
    amount_minor: int = attrs.field(kw_only=True, validator=amount_type)
    channel: str = attrs.field(kw_only=True, validator=text)
    funding_account: str | None = attrs.field(
        default=None, kw_only=True, validator=attrs.validators.optional(text)
    )
    fee_minor: int = attrs.field(default=0, kw_only=True, validator=amount_type)
    metadata: dict[str, str] = attrs.field(factory=dict, kw_only=True, converter=metadata_map)


@attrs.frozen
class SettleAgent(Command):
    """Agent ``agent`` hands over ``amount_minor`` of the cash it collected: it moves from
    the agent's receivable into the bank. Rejects: insufficient_funds (more than the
    agent owes), account_not_found, amount_invalid."""

    agent: str = attrs.field(kw_only=True, validator=text)
    amount_minor: int = attrs.field(kw_only=True, validator=amount_type)
