"""The COD orders read model (projections.cod) follows each order's stream: its status and
step times agree with ``fold_order`` over the stream, caught up part way and then
incrementally, and a rebuild gives the same rows, on real SQLite files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from ledger import (
    CodDelivered,
    CodDeliveryFailed,
    CodRefunded,
    CodReleased,
    CodRemitted,
    CodReturned,
    Credit,
    Debit,
    Ledger,
    OpenAccount,
    PayoutMerchant,
    PostEntry,
)
from ledger.events import (
    CodBuyerRefunded,
    CodOrderDelivered,
    CodOrderFailed,
    CodOrderPaidOut,
    CodOrderReleased,
    CodOrderRemitted,
    CodOrderReturned,
)
from ledger.state.cod import fold_order
from ledger.times import ManualClock, to_us
from projections.cod import order_rows
from tests.projections.conftest import all_accepted, check_as_of, ok, reads

_STEP_OF = {
    CodOrderDelivered: "delivered_at_us",
    CodOrderFailed: "failed_at_us",
    CodOrderRemitted: "remitted_at_us",
    CodOrderReleased: "released_at_us",
    CodOrderPaidOut: "paid_out_at_us",
    CodOrderReturned: "returned_at_us",
    CodBuyerRefunded: "refunded_at_us",
}


def open_cod(book: Ledger) -> None:
    chart = book.chart
    all_accepted(book.open_chart(cod=True))
    all_accepted(
        book.submit_many(
            [
                *chart.open_courier("K1"),
                *chart.open_cod_merchant("M1"),
                *chart.open_cod_merchant("M2"),
                chart.open_wallet("wallet:buyer"),
                OpenAccount(
                    id="open:equity", account="equity:capital", type="equity", currency="THB"
                ),
                PostEntry(
                    id="capital",
                    kind="capital",
                    postings=[
                        Debit(chart.cod_bank, 10_000_000),
                        Credit("equity:capital", 10_000_000),
                    ],
                ),
            ]
        )
    )


def deliver(book: Ledger, order: str, merchant: str = "M1") -> None:
    ok(
        book,
        CodDelivered(
            id=f"deliver-{order}",
            order=order,
            courier="K1",
            merchant=merchant,
            amount_minor=100_000,
            commission_minor=5_000,
            shipping_minor=4_000,
            courier_fee_minor=1_000,
        ),
    )


def test_cod_orders_view_follows_each_orders_stream(
    book: Ledger, clock: ManualClock, tmp_path: Path
) -> None:
    open_cod(book)
    for order in ("O1", "O3", "O4", "O5", "O7"):
        deliver(book, order)
    deliver(book, "O2", merchant="M2")
    ok(
        book,
        CodDeliveryFailed(
            id="fail-O6", order="O6", rto_fee_minor=2_000, merchant="M1", courier="K1"
        ),
    )
    clock.advance(timedelta(hours=1))
    ok(
        book,
        CodRemitted(
            id="remit-1",
            remittance="R1",
            courier="K1",
            orders=["O2", "O3", "O5", "O7"],
            amount_minor=4 * (100_000 - 4_000 - 1_000),
        ),
    )
    runner = reads(book, tmp_path)  # part way; the rest is caught up incrementally
    clock.advance(timedelta(days=1))
    ok(book, CodReturned(id="return-O4", order="O4"))
    ok(book, CodReturned(id="return-O5", order="O5", refund_commission=False))
    ok(book, CodRefunded(id="refund-O5", order="O5", wallet="wallet:buyer"))
    clock.advance(timedelta(days=7))
    ok(book, CodReleased(id="release-1", as_of=clock.now))
    ok(book, PayoutMerchant(id="payout-M1", merchant="M1"))
    clock.advance(timedelta(days=1))
    ok(book, CodReturned(id="return-O7", order="O7"))
    ok(book, CodRefunded(id="refund-O7", order="O7"))
    runner.catch_up()

    rows = order_rows(runner.db)
    assert {r.order: r.status for r in rows} == {
        "O1": "pending",
        "O2": "available",
        "O3": "paid_out",
        "O4": "returned",
        "O5": "refunded",
        "O6": "failed",
        "O7": "refunded",
    }
    streams = book.store.read_streams("order:")
    assert [r.order for r in rows] == sorted(s.removeprefix("order:") for s in streams)
    for row in rows:
        records = streams[f"order:{row.order}"]
        folded = fold_order(row.order, [r.event for r in records])
        assert folded is not None
        assert row.status == folded.status, row.order
        steps = {step: None for step in _STEP_OF.values()}
        for r in records:
            steps[_STEP_OF[type(r.event)]] = to_us(r.effective_at)  # type: ignore[assignment]
        assert {step: getattr(row, step) for step in steps} == steps, row.order
        d = folded.delivered
        if d is None:
            failed = records[0].event
            assert isinstance(failed, CodOrderFailed)
            assert (row.merchant, row.courier, row.amount_minor) == ("M1", "K1", 0)
            assert row.return_stage is None
            continue
        assert (
            row.merchant,
            row.courier,
            row.amount_minor,
            row.commission_minor,
            row.shipping_minor,
            row.courier_fee_minor,
        ) == (
            d.merchant,
            d.courier,
            d.amount_minor,
            d.commission_minor,
            d.shipping_minor,
            d.courier_fee_minor,
        )
        returned = folded.returned
        assert row.return_stage == (None if returned is None else returned.stage)
        assert row.refund_minor == (0 if returned is None else returned.refund_minor)
    by_order = {r.order: r for r in rows}
    assert by_order["O7"].return_stage == "paid_out"
    assert by_order["O4"].return_stage == "pending"
    for status in ("pending", "available", "paid_out", "returned", "refunded", "failed"):
        assert order_rows(runner.db, status=status) == [r for r in rows if r.status == status]
    assert runner.rebuild_into(tmp_path / "again.db").dump() == runner.dump()
    check_as_of(book)
