"""Commands of the wallet flows: top-ups, payments, bills, P2P, withdrawals, exchange,
holds, refunds and KYC tiers.

Wallets and other accounts are named by account id (``wallet:U1``); merchants, billers
and agents by party id (``M9``), whose accounts the ledger's chart names
(:class:`ledger.flows.chart.Chart`).
"""

from __future__ import annotations

from datetime import datetime

import attrs

from ledger.commands.base import (
    Command,
    amount_type,
    aware_datetime,
    in_utc,
    metadata_map,
    optional_amount_type,
    require,
    text,
)

TOP_UP_CHANNELS = ("bank", "card", "promptpay", "counter", "agent")
"""How cash reaches a wallet. ``counter`` and ``agent`` top-ups are cash the agent owes."""

_flag = require(bool, "a bool")
_time = attrs.field(
    kw_only=True,
    converter=in_utc,
    validator=[require(datetime, "a timezone-aware datetime"), aware_datetime],
)


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


@attrs.frozen
class Pay(Command):
    """``wallet`` pays ``amount_minor`` to merchant ``merchant``; ``fee_minor`` of it is the
    merchant discount fee. Refund it with :class:`Refund` (``payment`` = this id).

    Rejects: field_invalid, amount_invalid (fee not below the amount), limit_exceeded,
    insufficient_funds, and the entry's own rejections.
    """

    wallet: str = attrs.field(kw_only=True, validator=text)
    merchant: str = attrs.field(kw_only=True, validator=text)
    amount_minor: int = attrs.field(kw_only=True, validator=amount_type)
    fee_minor: int = attrs.field(default=0, kw_only=True, validator=amount_type)
    reference: str = attrs.field(default="", kw_only=True, validator=text)


@attrs.frozen
class PayBill(Command):
    """``wallet`` pays bill ``bill_reference`` of ``biller``. A bill reference is paid
    once; a second payment of it is accepted only if it and every earlier one say
    ``partial=True``.

    Rejects: bill_already_paid, field_invalid, amount_invalid, limit_exceeded,
    insufficient_funds, and the entry's own rejections.
    """

    wallet: str = attrs.field(kw_only=True, validator=text)
    biller: str = attrs.field(kw_only=True, validator=text)
    bill_reference: str = attrs.field(kw_only=True, validator=text)
    amount_minor: int = attrs.field(kw_only=True, validator=amount_type)
    fee_minor: int = attrs.field(default=0, kw_only=True, validator=amount_type)
    partial: bool = attrs.field(default=False, kw_only=True, validator=_flag)


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


@attrs.frozen
class Refund(Command):
    """Give back ``amount_minor`` (all that is left, if None) of the ``Pay`` whose id is
    ``payment``; the fee comes back in proportion (docs/flows/wallet.md).

    Rejects: payment_not_found, refund_exceeds_original (more than is left unrefunded),
    amount_invalid, and the entry's own rejections.
    """

    payment: str = attrs.field(kw_only=True, validator=text)
    amount_minor: int | None = attrs.field(
        default=None, kw_only=True, validator=optional_amount_type
    )


# --- two-phase: holds -----------------------------------------------------------------


@attrs.frozen
class PlaceHold(Command):
    """Reserve ``amount_minor`` of ``wallet`` for ``destination`` until ``expires_at``.
    The wallet's ``available`` drops at once; nothing is posted until the hold is
    captured.

    Rejects: hold_exists, field_invalid (hold id, expiry not after now, destination the
    wallet itself), amount_invalid,
    limit_exceeded, insufficient_funds, and the entry's own rejections.
    """

    hold: str = attrs.field(kw_only=True, validator=text)
    wallet: str = attrs.field(kw_only=True, validator=text)
    destination: str = attrs.field(kw_only=True, validator=text)
    amount_minor: int = attrs.field(kw_only=True, validator=amount_type)
    expires_at: datetime = _time


@attrs.frozen
class CaptureHold(Command):
    """Post ``amount_minor`` of the hold (all of it if None) and release the rest.

    Rejects: hold_not_found, hold_not_pending (already captured or released),
    hold_expired (expired, or past its ``expires_at``), amount_invalid,
    capture_exceeds_hold.
    """

    hold: str = attrs.field(kw_only=True, validator=text)
    amount_minor: int | None = attrs.field(
        default=None, kw_only=True, validator=optional_amount_type
    )


@attrs.frozen
class ReleaseHold(Command):
    """Free the whole hold without posting. Rejects: hold_not_found, hold_not_pending."""

    hold: str = attrs.field(kw_only=True, validator=text)


@attrs.frozen
class ExpireHolds(Command):
    """Expire every pending hold whose ``expires_at`` is at or before ``as_of``.

    Rejects: field_invalid (``as_of`` later than the ledger's clock), nothing_due (no hold
    to expire).
    """

    as_of: datetime = _time


# --- KYC tiers ------------------------------------------------------------------------


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
