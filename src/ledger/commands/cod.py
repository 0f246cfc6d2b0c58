"""Commands of cash on delivery: a courier collects cash at the door, remits it, the
merchant is paid out net of fees, and returns unwind (docs/flows/cod.md).

Each order is the stream ``order:<order>``; the commands name orders, couriers and
merchants by id (``O42``, ``K1``, ``M9``), whose accounts the ledger's chart names.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from ledger.commands.base import (
    Command,
    amount_type,
    aware_datetime,
    encodable,
    in_utc,
    require,
    text,
)
from ledger.errors import InvalidCommand, shown

PAYOUT_DESTINATIONS = ("bank", "wallet")
"""Where ``PayoutMerchant`` sends the money: the merchant's bank, or its wallet (e-money)."""
DISPUTE_OUTCOMES = ("recovered", "written_off")
"""How ``ResolveDispute`` ends a courier's shortfall: the courier paid it, or it is a loss."""

_flag = require(bool, "a bool")
_optional_text = attrs.validators.optional(text)


def _orders(value: object) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise InvalidCommand(f"orders must be a list of order ids (str), got {shown(value)}")
    for order in value:
        if not isinstance(order, str) or not encodable(order):
            raise InvalidCommand(
                f"each order must be an order id (valid Unicode text), got {shown(order)}"
            )
    return tuple(value)


@attrs.frozen
class CodDelivered(Command):
    """Courier ``courier`` delivered order ``order`` of merchant ``merchant`` and took
    ``amount_minor`` in cash at the door. The courier now owes the cash; the merchant's
    pending payable gets it less ``commission_minor`` (the platform's, VAT inside) and
    ``shipping_minor`` (the courier's). ``courier_fee_minor`` is the courier's COD fee,
    recorded now and taken as expense when the courier remits.

    Rejects: field_invalid (order, courier or merchant id), amount_invalid (an amount, or
    fees that leave the merchant or the remittance nothing), order_exists, and the
    entry's own rejections (a courier or merchant whose accounts were never opened, …).
    """

    order: str = attrs.field(kw_only=True, validator=text)
    courier: str = attrs.field(kw_only=True, validator=text)
    merchant: str = attrs.field(kw_only=True, validator=text)
    amount_minor: int = attrs.field(kw_only=True, validator=amount_type)
    commission_minor: int = attrs.field(kw_only=True, validator=amount_type)
    shipping_minor: int = attrs.field(kw_only=True, validator=amount_type)
    courier_fee_minor: int = attrs.field(default=0, kw_only=True, validator=amount_type)


@attrs.frozen
class CodRemitted(Command):
    """Courier ``courier`` deposited ``amount_minor`` for the orders ``orders``
    (remittance ``remittance``). It keeps each order's shipping and COD fee; what it
    deposits short of the rest is moved to its dispute receivable.

    Rejects: field_invalid (ids, an empty or repeated order list), amount_invalid,
    remittance_exists, then order by order order_not_found, order_not_delivered,
    field_invalid (another courier's order), order_already_remitted; then
    remittance_exceeds_due, and the entry's own rejections.
    """

    remittance: str = attrs.field(kw_only=True, validator=text)
    courier: str = attrs.field(kw_only=True, validator=text)
    orders: tuple[str, ...] = attrs.field(kw_only=True, converter=_orders)
    amount_minor: int = attrs.field(kw_only=True, validator=amount_type)


@attrs.frozen
class CodReleased(Command):
    """Move the orders whose return window ended at or before ``as_of`` (and whose cash
    the courier has remitted, unless the COD policy says otherwise) from the merchant's
    pending payable to its available one: at most ``ledger.flows.cod.RELEASES_MAX`` of
    them, those due longest first; run it again until nothing_due. A merchant whose
    payables are frozen keeps its orders pending until a later release.

    Rejects: field_invalid (``as_of`` later than the ledger's clock), nothing_due.
    """

    as_of: datetime = attrs.field(kw_only=True, converter=in_utc, validator=aware_datetime)


@attrs.frozen
class PayoutMerchant(Command):
    """Pay merchant ``merchant`` everything available, less what it owes the platform
    (returns after an earlier payout, return-to-origin fees), out of the COD bank to its
    bank, or to its wallet (``to="wallet"``: then it is e-money, and its cash moves from
    the COD bank into the bank trust).

    Rejects: field_invalid (merchant id, ``to``), nothing_due (nothing available), and
    the entry's own rejections (a wallet that is frozen, a bank account short of cash, …).
    """

    merchant: str = attrs.field(kw_only=True, validator=text)
    to: str = attrs.field(default="bank", kw_only=True, validator=text)


@attrs.frozen
class CodReturned(Command):
    """The buyer returned order ``order``: what the buyer paid less shipping is owed back
    to the buyer (the refunds payable; ``CodRefunded`` pays it). The merchant's share
    comes out of its pending payable before release, its available one before payout,
    and after payout it is owed by the merchant, recovered from the next payout. With
    ``refund_commission`` the platform gives its commission (and the VAT on it) back;
    without, the merchant owes it.

    Rejects: field_invalid (order id), order_not_found, order_not_delivered,
    order_already_returned, and the entry's own rejections.
    """

    order: str = attrs.field(kw_only=True, validator=text)
    refund_commission: bool = attrs.field(default=True, kw_only=True, validator=_flag)


@attrs.frozen
class CodRefunded(Command):
    """Pay the buyer of returned order ``order`` its refund out of the refunds payable:
    into ``wallet`` (e-money: its cash moves from the COD bank into the bank trust), or
    out of the COD bank to the buyer's bank if None.

    Rejects: field_invalid (order id), order_not_found, order_not_returned,
    order_already_refunded, account_not_found / field_invalid (the wallet),
    limit_exceeded, and the entry's own rejections (insufficient_funds: the COD bank
    holds less than the refund).
    """

    order: str = attrs.field(kw_only=True, validator=text)
    wallet: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)


@attrs.frozen
class CodDeliveryFailed(Command):
    """Order ``order`` could not be delivered and goes back to the merchant: no cash
    moved. A return-to-origin fee ``rto_fee_minor`` (VAT inside) may be charged to the
    merchant, who then owes it (recovered from its next payout); ``merchant`` is named
    when a fee is charged. ``courier`` is kept for the record.

    Rejects: field_invalid (ids), amount_invalid, field_invalid (a fee without a
    merchant), order_exists, account_not_found (a merchant or courier never opened), and
    the entry's own rejections.
    """

    order: str = attrs.field(kw_only=True, validator=text)
    rto_fee_minor: int = attrs.field(default=0, kw_only=True, validator=amount_type)
    merchant: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)
    courier: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)


@attrs.frozen
class ResolveDispute(Command):
    """End ``amount_minor`` of courier ``courier``'s shortfall: ``recovered`` (the courier
    paid it into the COD bank) or ``written_off`` (a loss, to the COD loss expense).

    Rejects: field_invalid (courier id, outcome), amount_invalid, and the entry's own
    rejections (insufficient_funds: more than the courier's dispute receivable holds).
    """

    courier: str = attrs.field(kw_only=True, validator=text)
    amount_minor: int = attrs.field(kw_only=True, validator=amount_type)
    outcome: str = attrs.field(kw_only=True, validator=text)
