"""Cash-on-delivery orders and where each stands.

Table (projection ``cod_orders``): ``proj_cod_orders`` — one row per order: merchant,
courier, the cash and the fees, its status now (``pending``, ``available``, ``paid_out``,
``returned``, ``refunded``, ``failed``, as :func:`ledger.state.cod.fold_order` names
them), and the effective time of each step (delivered, remitted, released, paid out,
returned, refunded), so the COD report can say where every order stood at any day's end.
"""

from __future__ import annotations

import attrs

from ledger.events import (
    CodBuyerRefunded,
    CodOrderDelivered,
    CodOrderFailed,
    CodOrderPaidOut,
    CodOrderReleased,
    CodOrderRemitted,
    CodOrderReturned,
)
from ledger.store.base import RecordedEvent
from projections.base import Database, Projection, Table, matching

_STEPS = ("delivered_at", "remitted_at", "released_at", "paid_out_at", "returned_at", "refunded_at")

ORDERS = Table(
    "proj_cod_orders",
    {
        "order_id": str,
        "merchant": str,
        "courier": str,
        "amount_minor": int,
        "commission_minor": int,
        "vat_minor": int,
        "shipping_minor": int,
        "courier_fee_minor": int,
        "rto_fee_minor": int,
        "refund_minor": int,
        "status": str,
        "remittance": str,
        "payout": str,
        "return_stage": str,
        "failed_at": int,
        **{step: int for step in _STEPS},
        "last_seq": int,
    },
    pk=("order_id",),
    indexes=(("courier", "delivered_at"), ("merchant",)),
    nullable=frozenset({"remittance", "payout", "return_stage", "failed_at", *_STEPS}),
)


class CodOrders(Projection):
    """The COD orders read model: each order's stage and figures (the tables above)."""

    name = "cod_orders"
    version = 1
    handles = frozenset(
        {
            CodOrderDelivered,
            CodOrderFailed,
            CodOrderRemitted,
            CodOrderReleased,
            CodOrderPaidOut,
            CodOrderReturned,
            CodBuyerRefunded,
        }
    )
    tables = (ORDERS,)

    def apply(self, db: Database, record: RecordedEvent) -> None:
        event = record.event
        at = record.effective_at_us
        seq = record.seq
        if isinstance(event, CodOrderDelivered):
            db.execute(
                "INSERT INTO proj_cod_orders (order_id, merchant, courier, amount_minor,"
                " commission_minor, vat_minor, shipping_minor, courier_fee_minor, rto_fee_minor,"
                " refund_minor, status, delivered_at, last_seq)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 'pending', ?, ?)",
                (
                    event.order,
                    event.merchant,
                    event.courier,
                    event.amount_minor,
                    event.commission_minor,
                    event.vat_minor,
                    event.shipping_minor,
                    event.courier_fee_minor,
                    at,
                    seq,
                ),
            )
        elif isinstance(event, CodOrderFailed):
            db.execute(
                "INSERT INTO proj_cod_orders (order_id, merchant, courier, amount_minor,"
                " commission_minor, vat_minor, shipping_minor, courier_fee_minor, rto_fee_minor,"
                " refund_minor, status, failed_at, last_seq)"
                " VALUES (?, ?, ?, 0, 0, ?, 0, 0, ?, 0, 'failed', ?, ?)",
                (
                    event.order,
                    event.merchant or "",
                    event.courier or "",
                    event.vat_minor,
                    event.rto_fee_minor,
                    at,
                    seq,
                ),
            )
        elif isinstance(event, CodOrderRemitted):
            _update(db, event.order, seq, remitted_at=at, remittance=event.remittance)
        elif isinstance(event, CodOrderReleased):
            _update(db, event.order, seq, released_at=at, status="available")
        elif isinstance(event, CodOrderPaidOut):
            _update(db, event.order, seq, paid_out_at=at, payout=event.payout, status="paid_out")
        elif isinstance(event, CodOrderReturned):
            _update(
                db,
                event.order,
                seq,
                returned_at=at,
                return_stage=event.stage,
                refund_minor=event.refund_minor,
                status="returned",
            )
        elif isinstance(event, CodBuyerRefunded):
            _update(db, event.order, seq, refunded_at=at, status="refunded")


def _update(db: Database, order: str, seq: int, **columns: object) -> None:
    names = sorted(columns)
    sets = ", ".join(f"{n} = ?" for n in names)
    db.execute(
        f"UPDATE proj_cod_orders SET {sets}, last_seq = ? WHERE order_id = ?",
        (*(columns[n] for n in names), seq, order),
    )


@attrs.frozen
class OrderRow:
    """One order with the effective time (UTC microseconds) of each step, None if not yet."""

    order: str
    merchant: str
    courier: str
    amount_minor: int
    commission_minor: int
    shipping_minor: int
    courier_fee_minor: int
    refund_minor: int
    status: str
    return_stage: str | None
    failed_at_us: int | None
    delivered_at_us: int | None
    remitted_at_us: int | None
    released_at_us: int | None
    paid_out_at_us: int | None
    returned_at_us: int | None
    refunded_at_us: int | None

    @property
    def merchant_share_minor(self) -> int:
        """What the merchant gets of the cash: amount less commission and shipping (as
        ``ledger.state.cod.Order.merchant_share_minor``; 0 for a failed delivery)."""
        return self.amount_minor - self.commission_minor - self.shipping_minor


def order_rows(db: Database, *, status: str | None = None) -> list[OrderRow]:
    """Every order (or those in ``status`` now), by order id."""
    where, params = matching(status=status)
    rows = db.execute(
        "SELECT order_id, merchant, courier, amount_minor, commission_minor, shipping_minor,"
        " courier_fee_minor, refund_minor, status, return_stage, failed_at, "
        + ", ".join(_STEPS)
        + f" FROM proj_cod_orders WHERE {where} ORDER BY order_id",
        params,
    ).fetchall()
    return [OrderRow(*r) for r in rows]
