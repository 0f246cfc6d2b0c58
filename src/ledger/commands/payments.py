"""Commands of paying merchants and billers, and refunds."""

from __future__ import annotations

import attrs

from ledger.commands.base import (
    Command,
    amount_type,
    optional_amount_type,
    require,
    text,
)

_flag = require(bool, "a bool")


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
