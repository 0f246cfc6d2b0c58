"""A cash-on-delivery order folded from its stream, and the rules its stream keeps.

An order is the stream ``order:<order>``: version 1 is ``CodOrderDelivered`` (cash taken)
or ``CodOrderFailed`` (no cash); then, as they happen, ``CodOrderRemitted``, on the
merchant's side ``CodOrderReleased`` (pending → available) once and then
``CodOrderPaidOut``, ``CodOrderReturned`` at any stage and ``CodBuyerRefunded``.
:func:`fold_order` reads an order for the decide functions and the read models, and
checks those rules for the audit.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import attrs

from ledger.errors import FoldError
from ledger.events import (
    CodBuyerRefunded,
    CodOrderDelivered,
    CodOrderFailed,
    CodOrderPaidOut,
    CodOrderReleased,
    CodOrderRemitted,
    CodOrderReturned,
    Event,
)

Stage = Literal["pending", "available", "paid_out"]
"""Where the merchant's share of a delivered order is."""


def order_stream(order: str) -> str:
    """The stream of an order: its delivery outcome, then what follows it."""
    return f"order:{order}"


@attrs.frozen
class Order:
    """An order's state, folded from its stream (what the decide functions read).

    The merchant's side moves ``pending → available → paid_out``; the cash side
    ``collected → remitted``; a return may come at any merchant stage, a refund after it.
    A failed delivery has no ``delivered`` event and no further state.
    """

    order: str
    version: int
    delivered: CodOrderDelivered | None
    remitted: bool = False
    stage: Stage = "pending"
    returned: CodOrderReturned | None = None
    refunded: bool = False

    @property
    def merchant_share_minor(self) -> int:
        """What the merchant gets of the cash: amount less commission and shipping."""
        d = self.delivered
        return 0 if d is None else d.amount_minor - d.commission_minor - d.shipping_minor

    @property
    def status(self) -> str:
        """One word for views: failed, refunded, returned, or the merchant's stage."""
        if self.delivered is None:
            return "failed"
        if self.refunded:
            return "refunded"
        return "returned" if self.returned is not None else self.stage


def fold_order(order: str, events: Sequence[Event]) -> Order | None:
    """The order's state after ``events`` (its stream, in version order); None if the
    stream has no events. The one fold of an order's stream (the COD read model keeps its
    own columns, row by row, as the events come).

    :class:`~ledger.errors.FoldError` (``index``: the event at fault) if the stream breaks
    its rules: it starts with anything but a delivery or a failed one, a delivery outcome
    comes again later, an order is released twice or after its payout, or paid out
    before it was released."""
    if not events:
        return None
    first = events[0]
    if not isinstance(first, CodOrderDelivered | CodOrderFailed):
        raise FoldError(
            f"order:{order} starts with {type(first).__name__}, not a delivery", index=0
        )
    state = Order(order, len(events), first if isinstance(first, CodOrderDelivered) else None)
    for index, event in enumerate(events[1:], start=1):
        if (
            isinstance(event, CodOrderDelivered | CodOrderFailed)
            or (isinstance(event, CodOrderReleased) and state.stage != "pending")
            or (isinstance(event, CodOrderPaidOut) and state.stage != "available")
        ):
            raise FoldError(
                f"order:{order}: {event.__struct_config__.tag} out of order", index=index
            )
        if isinstance(event, CodOrderRemitted):
            state = attrs.evolve(state, remitted=True)
        elif isinstance(event, CodOrderReleased):
            state = attrs.evolve(state, stage="available")
        elif isinstance(event, CodOrderPaidOut):
            state = attrs.evolve(state, stage="paid_out")
        elif isinstance(event, CodOrderReturned):
            state = attrs.evolve(state, returned=event)
        elif isinstance(event, CodBuyerRefunded):
            state = attrs.evolve(state, refunded=True)
    return Order(order, len(events), None) if state.delivered is None else state
