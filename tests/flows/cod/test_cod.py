"""Cash on delivery: every command's postings, the order of DOMAIN.md to the satang, the
order's state machine, and a rejection (appending nothing) for every out-of-order step."""

from __future__ import annotations

from datetime import timedelta
from fractions import Fraction

import pytest

from ledger import (
    Accepted,
    AmountError,
    AssignTier,
    CodDelivered,
    CodDeliveryFailed,
    CodPolicy,
    CodRefunded,
    CodReleased,
    CodRemitted,
    CodReturned,
    Credit,
    Debit,
    DefineTier,
    FreezeAccount,
    InvalidCommand,
    Ledger,
    OpenAccount,
    PayoutMerchant,
    PostEntry,
    RejectCode,
    Rejected,
    ResolveDispute,
    Reverse,
    UnfreezeAccount,
)
from ledger.events import (
    CodBuyerRefunded,
    CodOrderDelivered,
    CodOrderFailed,
    CodOrderPaidOut,
    CodOrderReleased,
    CodOrderRemitted,
    CodOrderReturned,
    CodRemittanceReceived,
    CourierDisputeResolved,
    MerchantPaidOut,
)
from ledger.flows import cod as cod_flow
from ledger.flows.cod import ORDERS_PER_REMITTANCE_MAX, vat_inside
from ledger.money import AMOUNT_MAX_MINOR
from ledger.state.cod import fold_order
from tests.conftest import (
    FakeClock,
    assert_accepted,
    assert_rejected,
    balance_of,
    leg,
    only_event,
    unchanged,
    written,
)

WEEK = timedelta(days=7)
CAPITAL_MINOR = 10_000_000
"""The platform's own cash in the COD bank (equity), so refunds can be paid before a
courier's cash is in."""


def open_cod(book: Ledger) -> Ledger:
    """The chart with its COD accounts; couriers K1, K2; merchants M1, M2; a buyer wallet;
    and the platform's own capital in the bank."""
    chart = book.chart
    commands = [
        *chart.system_accounts(cod=True),
        *chart.open_courier("K1"),
        *chart.open_courier("K2"),
        *chart.open_cod_merchant("M1"),
        *chart.open_cod_merchant("M2"),
        chart.open_wallet("wallet:buyer"),
        OpenAccount(id="open:equity", account="equity:capital", type="equity", currency="THB"),
        PostEntry(
            id="capital",
            kind="capital",
            postings=[
                Debit(chart.cod_bank, CAPITAL_MINOR),
                Credit("equity:capital", CAPITAL_MINOR),
            ],
        ),
    ]
    results = book.submit_many(commands)
    assert all(isinstance(r, Accepted) for r in results), results
    return book


@pytest.fixture
def cod(book: Ledger) -> Ledger:
    return open_cod(book)


def deliver(book: Ledger, order: str, **kwargs: object) -> CodOrderDelivered:
    """Deliver ``order`` (by default the order of DOMAIN.md: 1,000.00, 50.00 commission,
    40.00 shipping, 10.00 COD fee, courier K1, merchant M1)."""
    assert_accepted(book, _delivery(id=f"deliver-{order}", order=order, **kwargs))
    _, event = only_event(book, f"deliver-{order}")
    assert isinstance(event, CodOrderDelivered)
    return event


def remit(book: Ledger, remittance: str, orders: list[str], amount: int, courier: str = "K1"):
    return assert_accepted(
        book,
        CodRemitted(
            id=f"remit-{remittance}",
            remittance=remittance,
            courier=courier,
            orders=orders,
            amount_minor=amount,
        ),
    )


def release(book: Ledger, clock: FakeClock, id: str = "release") -> None:
    assert_accepted(book, CodReleased(id=id, as_of=clock.now))


def balances(book: Ledger, *accounts: str) -> list[int]:
    return [balance_of(book, a) for a in accounts]


def order_events(book: Ledger, order: str) -> list[object]:
    return [r.event for r in book.events() if r.stream == f"order:{order}"]


K1_COD = "courier:K1:cod_receivable"
K1_SHIP = "courier:K1:shipping_payable"
K1_DISPUTE = "courier:K1:dispute_receivable"
M1_PENDING = "merchant:M1:payable_pending"
M1_AVAILABLE = "merchant:M1:payable_available"
M1_OWES = "merchant:M1:receivable"
M1_WALLET = "merchant:M1:wallet"


# --- the order of DOMAIN.md, to the satang ------------------------------------------------


def test_the_domain_order_to_the_satang(cod: Ledger, clock: FakeClock) -> None:
    """1,000.00 with 50.00 commission (VAT 7% inside), 40.00 shipping, a 10.00 COD fee:
    entries 1 to 5 of DOMAIN.md, posting by posting."""
    delivered = deliver(cod, "O1")
    # 1. Dr courier COD receivable 1,000 / Cr merchant pending 1,000
    # 2. Dr merchant pending 90 / Cr commission 46.73, Cr VAT output 3.27, Cr shipping 40
    assert delivered.postings == (
        leg(K1_COD, "debit", 100_000),
        leg(M1_PENDING, "credit", 100_000),
        leg(M1_PENDING, "debit", 9_000),
        leg("income:commission", "credit", 4_673),
        leg("liability:vat_output", "credit", 327),
        leg(K1_SHIP, "credit", 4_000),
    )
    assert delivered.vat_minor == 327
    assert delivered.releasable_at == clock.now + WEEK
    assert balances(cod, K1_COD, M1_PENDING, K1_SHIP) == [100_000, 91_000, 4_000]

    # 3. Dr bank 950, Dr COD fee expense 10, Dr shipping payable 40 / Cr COD receivable 1,000
    remit(cod, "R1", ["O1"], 95_000)
    record, received = written(cod, "remit-R1")[0], written(cod, "remit-R1")[0].event
    assert record.stream == "remittance:R1"
    assert isinstance(received, CodRemittanceReceived)
    assert received.postings == (
        leg("bank:cod", "debit", 95_000),
        leg("expense:cod_fee", "debit", 1_000),
        leg(K1_SHIP, "debit", 4_000),
        leg(K1_COD, "credit", 100_000),
    )
    assert (received.due_minor, received.shortfall_minor) == (95_000, 0)
    assert balances(cod, K1_COD, K1_SHIP, K1_DISPUTE) == [0, 0, 0]

    # 4. the return window ends: Dr merchant pending 910 / Cr merchant available 910
    clock.advance(WEEK)
    release(cod, clock)
    [rec] = written(cod, "release")
    assert rec.stream == "order:O1" and rec.version == 3
    assert rec.event.postings == (  # type: ignore[union-attr]
        leg(M1_PENDING, "debit", 91_000),
        leg(M1_AVAILABLE, "credit", 91_000),
    )
    assert balances(cod, M1_PENDING, M1_AVAILABLE) == [0, 91_000]

    # 5. payout: Dr merchant available / Cr the merchant's wallet (then it is e-money,
    # and its cash moves from the COD bank into the safeguarded bank trust)
    assert_accepted(cod, PayoutMerchant(id="payout-1", merchant="M1", to="wallet"))
    paid, marker = (r.event for r in written(cod, "payout-1"))
    assert isinstance(paid, MerchantPaidOut) and isinstance(marker, CodOrderPaidOut)
    assert paid.postings == (
        leg(M1_AVAILABLE, "debit", 91_000),
        leg(M1_WALLET, "credit", 91_000),
        leg("bank:trust", "debit", 91_000),
        leg("bank:cod", "credit", 91_000),
    )
    assert (paid.paid_minor, paid.netted_minor, paid.orders) == (91_000, 0, ("O1",))
    assert marker == CodOrderPaidOut(order="O1", payout="payout-1")
    assert balances(cod, M1_AVAILABLE, M1_WALLET, "income:commission") == [0, 91_000, 4_673]
    assert balances(cod, "bank:cod", "bank:trust") == [CAPITAL_MINOR + 95_000 - 91_000, 91_000]
    assert [type(e) for e in order_events(cod, "O1")] == [
        CodOrderDelivered,
        CodOrderRemitted,
        CodOrderReleased,
        CodOrderPaidOut,
    ]


def test_a_payout_to_the_bank_pays_cash_out(cod: Ledger, clock: FakeClock) -> None:
    deliver(cod, "O1")
    remit(cod, "R1", ["O1"], 95_000)
    clock.advance(WEEK)
    release(cod, clock)
    assert_accepted(cod, PayoutMerchant(id="p", merchant="M1"))
    [paid, _] = (r.event for r in written(cod, "p"))
    assert paid.postings == (  # type: ignore[union-attr]
        leg(M1_AVAILABLE, "debit", 91_000),
        leg("bank:cod", "credit", 91_000),
    )
    assert balances(cod, "bank:cod", "bank:trust") == [CAPITAL_MINOR + 95_000 - 91_000, 0]


@pytest.mark.parametrize(
    "fee,rate,vat",
    [(5_000, 700, 327), (0, 700, 0), (1, 700, 0), (8, 700, 1), (107, 700, 7), (5_350, 700, 350),
     (5_000, 0, 0), (5_000, 1_000, 455), (AMOUNT_MAX_MINOR, 700, 603_398_170_635_359_165)],
)  # fmt: skip
def test_vat_inside_a_fee_rounds_half_up(fee: int, rate: int, vat: int) -> None:
    assert vat_inside(fee, rate) == vat
    exact = Fraction(fee * rate, 10_000 + rate)
    assert exact - Fraction(1, 2) < vat <= exact + Fraction(1, 2)


# --- the courier's cash ---------------------------------------------------------------------


def test_a_short_remittance_moves_the_gap_to_the_dispute_receivable(cod: Ledger) -> None:
    deliver(cod, "O1")
    deliver(cod, "O2", amount_minor=50_000, commission_minor=2_500, shipping_minor=4_000)
    # due: 950.00 + (500 - 40 - 10) = 1,400.00; the courier deposits 1,350.00
    remit(cod, "R1", ["O1", "O2"], 135_000)
    received = written(cod, "remit-R1")[0].event
    assert isinstance(received, CodRemittanceReceived)
    assert received.postings == (
        leg("bank:cod", "debit", 135_000),
        leg("expense:cod_fee", "debit", 2_000),
        leg(K1_SHIP, "debit", 8_000),
        leg(K1_DISPUTE, "debit", 5_000),  # 9. Dr dispute receivable / Cr COD receivable
        leg(K1_COD, "credit", 150_000),
    )
    assert (received.due_minor, received.shortfall_minor) == (140_000, 5_000)
    assert balances(cod, K1_COD, K1_DISPUTE, K1_SHIP) == [0, 5_000, 0]
    assert [r.stream for r in written(cod, "remit-R1")] == [
        "remittance:R1",
        "order:O1",
        "order:O2",
    ]


def test_disputes_are_recovered_or_written_off(cod: Ledger) -> None:
    deliver(cod, "O1")
    remit(cod, "R1", ["O1"], 90_000)
    assert balance_of(cod, K1_DISPUTE) == 5_000
    recovered = ResolveDispute(id="d1", courier="K1", amount_minor=3_000, outcome="recovered")
    assert_accepted(cod, recovered)
    record, event = only_event(cod, "d1")
    assert record.stream == "disputes:K1" and record.version == 1
    assert isinstance(event, CourierDisputeResolved)
    assert event.postings == (leg("bank:cod", "debit", 3_000), leg(K1_DISPUTE, "credit", 3_000))
    too_much = ResolveDispute(id="d2", courier="K1", amount_minor=2_001, outcome="written_off")
    assert_rejected(cod, too_much, RejectCode.INSUFFICIENT_FUNDS)
    lost = ResolveDispute(id="d3", courier="K1", amount_minor=2_000, outcome="written_off")
    assert_accepted(cod, lost)
    record, event = only_event(cod, "d3")
    assert record.version == 2
    assert event.postings == (  # type: ignore[union-attr]
        leg("expense:cod_losses", "debit", 2_000),
        leg(K1_DISPUTE, "credit", 2_000),
    )
    assert balances(cod, K1_DISPUTE, "expense:cod_losses") == [0, 2_000]


def test_a_remittance_may_bring_no_cash_at_all(cod: Ledger) -> None:
    deliver(cod, "O1")
    remit(cod, "R1", ["O1"], 0)
    assert balances(cod, K1_COD, K1_DISPUTE) == [0, 95_000]


# --- release --------------------------------------------------------------------------------


def test_release_waits_for_the_window_and_the_cash(cod: Ledger, clock: FakeClock) -> None:
    deliver(cod, "O1")
    clock.advance(WEEK)
    # the window has ended but the courier has not remitted: nothing to release yet
    assert_rejected(cod, CodReleased(id="r0", as_of=clock.now), RejectCode.NOTHING_DUE)
    remit(cod, "R1", ["O1"], 95_000)
    before = CodReleased(id="r1", as_of=clock.now - timedelta(microseconds=1))
    assert_rejected(cod, before, RejectCode.NOTHING_DUE)
    release(cod, clock, "r2")
    assert balances(cod, M1_PENDING, M1_AVAILABLE) == [0, 91_000]
    assert_rejected(cod, CodReleased(id="r3", as_of=clock.now), RejectCode.NOTHING_DUE)


def test_the_cod_policy_is_configuration(tmp_path, clock: FakeClock) -> None:
    policy = CodPolicy(
        return_window=timedelta(days=3), vat_rate_bps=1_000, release_after_remittance=False
    )
    with Ledger.open(tmp_path / "cod.db", clock=clock, cod=policy) as book:
        open_cod(book)
        delivered = deliver(book, "O1")
        assert delivered.vat_minor == 455
        assert delivered.releasable_at == clock.now + timedelta(days=3)
        clock.advance(timedelta(days=3))
        release(book, clock)  # not remitted, and released all the same
        assert balance_of(book, M1_AVAILABLE) == 91_000
        # remitted after release: the order is still paid out once, by the payout
        remit(book, "R1", ["O1"], 95_000)
        assert_accepted(book, PayoutMerchant(id="p", merchant="M1"))
        assert written(book, "p")[0].event.orders == ("O1",)  # type: ignore[union-attr]
    # the window is the one recorded at delivery: a ledger reopened with another policy
    # releases the order by what its event says
    with Ledger.open(tmp_path / "cod.db", clock=clock) as book:
        deliver(book, "O2")
        remit(book, "R2", ["O2"], 95_000)
        clock.advance(timedelta(days=6))
        assert_rejected(book, CodReleased(id="early", as_of=clock.now), RejectCode.NOTHING_DUE)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"return_window": timedelta(days=-1)},
        {"return_window": 7},
        {"vat_rate_bps": 700.0},
        {"vat_rate_bps": 10_001},
        {"vat_rate_bps": True},
        {"release_after_remittance": 1},
    ],
)
def test_a_cod_policy_of_wrong_values_is_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidCommand):
        CodPolicy(**kwargs)  # type: ignore[arg-type]


def test_ledger_open_refuses_a_cod_policy_of_another_type() -> None:
    with pytest.raises(InvalidCommand, match="CodPolicy"):
        Ledger.open(":memory:", cod={"return_window": 7})  # type: ignore[arg-type]


# --- returns --------------------------------------------------------------------------------


def test_a_return_before_release_unwinds_from_pending(cod: Ledger) -> None:
    deliver(cod, "O1")
    assert_accepted(cod, CodReturned(id="ret", order="O1"))
    _, event = only_event(cod, "ret")
    assert isinstance(event, CodOrderReturned)
    # 6. Dr merchant pending (and the commission, per policy) / Cr refunds payable
    assert event.postings == (
        leg(M1_PENDING, "debit", 91_000),
        leg("income:commission", "debit", 4_673),
        leg("liability:vat_output", "debit", 327),
        leg("liability:refunds_payable", "credit", 96_000),
    )
    assert (event.stage, event.refund_minor, event.commission_refunded) == ("pending", 96_000, True)
    assert balances(cod, M1_PENDING, "income:commission", "liability:vat_output") == [0, 0, 0]
    # the courier still owes the cash: a return changes nothing on the courier's side
    assert balance_of(cod, K1_COD) == 100_000


def test_a_return_keeping_the_commission_charges_the_merchant(cod: Ledger) -> None:
    deliver(cod, "O1")
    assert_accepted(cod, CodReturned(id="ret", order="O1", refund_commission=False))
    _, event = only_event(cod, "ret")
    assert event.postings == (  # type: ignore[union-attr]
        leg(M1_PENDING, "debit", 91_000),
        leg(M1_OWES, "debit", 5_000),
        leg("liability:refunds_payable", "credit", 96_000),
    )
    assert balances(cod, "income:commission", M1_OWES) == [4_673, 5_000]


def test_a_return_after_release_unwinds_from_available(cod: Ledger, clock: FakeClock) -> None:
    deliver(cod, "O1")
    remit(cod, "R1", ["O1"], 95_000)
    clock.advance(WEEK)
    release(cod, clock)
    assert_accepted(cod, CodReturned(id="ret", order="O1"))
    _, event = only_event(cod, "ret")
    assert event.stage == "available"  # type: ignore[union-attr]
    assert event.postings[0] == leg(M1_AVAILABLE, "debit", 91_000)  # type: ignore[union-attr]
    assert_rejected(cod, PayoutMerchant(id="p", merchant="M1"), RejectCode.NOTHING_DUE)


def test_a_return_after_payout_is_owed_and_netted_from_the_next_payout(
    cod: Ledger, clock: FakeClock
) -> None:
    deliver(cod, "O1")
    remit(cod, "R1", ["O1"], 95_000)
    clock.advance(WEEK)
    release(cod, clock, "rel-1")
    assert_accepted(cod, PayoutMerchant(id="p1", merchant="M1"))
    assert_accepted(cod, CodReturned(id="ret", order="O1"))
    _, event = only_event(cod, "ret")
    # 7. Dr merchant receivable / Cr refunds payable
    assert event.postings == (  # type: ignore[union-attr]
        leg(M1_OWES, "debit", 91_000),
        leg("income:commission", "debit", 4_673),
        leg("liability:vat_output", "debit", 327),
        leg("liability:refunds_payable", "credit", 96_000),
    )
    assert balance_of(cod, M1_OWES) == 91_000
    # the next order's 1,820.00 first pays back the 910.00 owed
    deliver(cod, "O2", amount_minor=200_000, commission_minor=10_000, shipping_minor=8_000)
    remit(cod, "R2", ["O2"], 191_000)
    clock.advance(WEEK)
    release(cod, clock, "rel-2")
    assert_accepted(cod, PayoutMerchant(id="p2", merchant="M1", to="wallet"))
    paid = written(cod, "p2")[0].event
    assert isinstance(paid, MerchantPaidOut)
    assert paid.postings == (
        leg(M1_AVAILABLE, "debit", 182_000),
        leg(M1_OWES, "credit", 91_000),
        leg(M1_WALLET, "credit", 91_000),
        leg("bank:trust", "debit", 91_000),
        leg("bank:cod", "credit", 91_000),
    )
    assert (paid.available_minor, paid.netted_minor, paid.paid_minor) == (182_000, 91_000, 91_000)
    assert paid.orders == ("O2",)
    assert balances(cod, M1_OWES, M1_AVAILABLE, M1_WALLET) == [0, 0, 91_000]


def test_a_payout_smaller_than_the_debt_only_nets(cod: Ledger, clock: FakeClock) -> None:
    assert_accepted(cod, CodDeliveryFailed(id="f", order="O0", rto_fee_minor=95_000, merchant="M1"))
    deliver(cod, "O1")
    remit(cod, "R1", ["O1"], 95_000)
    clock.advance(WEEK)
    release(cod, clock)
    assert_accepted(cod, PayoutMerchant(id="p", merchant="M1"))
    paid = written(cod, "p")[0].event
    assert paid.postings == (  # type: ignore[union-attr]
        leg(M1_AVAILABLE, "debit", 91_000),
        leg(M1_OWES, "credit", 91_000),
    )
    assert paid.paid_minor == 0  # type: ignore[union-attr]
    assert balance_of(cod, M1_OWES) == 4_000


def test_the_buyer_is_refunded_to_a_wallet_or_a_bank(cod: Ledger) -> None:
    deliver(cod, "O1")
    deliver(cod, "O2")
    for order in ("O1", "O2"):
        assert_accepted(cod, CodReturned(id=f"ret-{order}", order=order))
    assert_accepted(cod, CodRefunded(id="to-wallet", order="O1", wallet="wallet:buyer"))
    _, event = only_event(cod, "to-wallet")
    assert isinstance(event, CodBuyerRefunded)
    assert event.postings == (
        leg("liability:refunds_payable", "debit", 96_000),
        leg("wallet:buyer", "credit", 96_000),
        leg("bank:trust", "debit", 96_000),
        leg("bank:cod", "credit", 96_000),
    )
    assert_accepted(cod, CodRefunded(id="to-bank", order="O2"))
    _, event = only_event(cod, "to-bank")
    assert event.postings == (  # type: ignore[union-attr]
        leg("liability:refunds_payable", "debit", 96_000),
        leg("bank:cod", "credit", 96_000),
    )
    assert balances(cod, "liability:refunds_payable", "wallet:buyer") == [0, 96_000]
    assert fold_order("O2", order_events(cod, "O2")).status == "refunded"  # type: ignore[arg-type, union-attr]


# --- failed deliveries ----------------------------------------------------------------------


def test_a_failed_delivery_moves_no_cash(cod: Ledger) -> None:
    before = [b for b in cod.balances()]
    assert_accepted(cod, CodDeliveryFailed(id="f", order="O1", courier="K1"))
    record, event = only_event(cod, "f")
    assert (record.stream, record.version) == ("order:O1", 1)
    assert isinstance(event, CodOrderFailed) and event.postings == ()
    assert cod.balances() == before


def test_a_return_to_origin_fee_is_charged_to_the_merchant(cod: Ledger) -> None:
    failed = CodDeliveryFailed(id="f", order="O1", rto_fee_minor=3_000, merchant="M1")
    assert_accepted(cod, failed)
    _, event = only_event(cod, "f")
    # 8. no cash moves; the fee is owed by the merchant (VAT 7% inside: 1.96)
    assert event.postings == (  # type: ignore[union-attr]
        leg(M1_OWES, "debit", 3_000),
        leg("income:rto_fees", "credit", 2_804),
        leg("liability:vat_output", "credit", 196),
    )
    assert event.vat_minor == 196  # type: ignore[union-attr]


# --- the order's state machine --------------------------------------------------------------


def test_an_order_stream_moves_forward_one_version_a_step(cod: Ledger, clock: FakeClock) -> None:
    deliver(cod, "O1")
    remit(cod, "R1", ["O1"], 95_000)
    clock.advance(WEEK)
    release(cod, clock)
    assert_accepted(cod, PayoutMerchant(id="p", merchant="M1"))
    assert_accepted(cod, CodReturned(id="ret", order="O1"))
    assert_accepted(cod, CodRefunded(id="ref", order="O1", wallet="wallet:buyer"))
    rows = [r for r in cod.events() if r.stream == "order:O1"]
    assert [r.version for r in rows] == [1, 2, 3, 4, 5, 6]
    order = fold_order("O1", [r.event for r in rows])
    assert order is not None
    assert (order.remitted, order.stage, order.status) == (True, "paid_out", "refunded")
    assert order.returned is not None and order.returned.stage == "paid_out"


def test_a_merchant_is_paid_once_for_an_order(cod: Ledger, clock: FakeClock) -> None:
    deliver(cod, "O1")
    deliver(cod, "O2", merchant="M2")
    remit(cod, "R1", ["O1", "O2"], 190_000)
    clock.advance(WEEK)
    release(cod, clock)
    assert_accepted(cod, PayoutMerchant(id="p1", merchant="M1"))
    assert written(cod, "p1")[0].event.orders == ("O1",)  # type: ignore[union-attr]
    assert_rejected(cod, PayoutMerchant(id="p2", merchant="M1"), RejectCode.NOTHING_DUE)
    assert_accepted(cod, PayoutMerchant(id="p3", merchant="M2"))
    assert written(cod, "p3")[0].event.orders == ("O2",)  # type: ignore[union-attr]
    versions = [r.version for r in cod.events() if r.stream == "payouts:M1"]
    assert versions == [1]


def test_a_batch_sees_the_orders_earlier_commands_wrote(cod: Ledger, clock: FakeClock) -> None:
    results = cod.submit_many(
        [
            CodDelivered(
                id="d",
                order="O1",
                courier="K1",
                merchant="M1",
                amount_minor=100_000,
                commission_minor=5_000,
                shipping_minor=4_000,
            ),
            CodRemitted(id="r", remittance="R1", courier="K1", orders=["O1"], amount_minor=96_000),
            CodReturned(id="ret", order="O1"),
            CodReturned(id="ret-again", order="O1"),
        ]
    )
    assert [type(r) for r in results] == [Accepted, Accepted, Accepted, Rejected]
    assert results[3].code is RejectCode.ORDER_ALREADY_RETURNED  # type: ignore[union-attr]


def test_a_retried_remittance_posts_once(cod: Ledger) -> None:
    deliver(cod, "O1")
    command = CodRemitted(id="r", remittance="R1", courier="K1", orders=["O1"], amount_minor=1)
    first = cod.submit(command)
    again = cod.submit(command)
    assert isinstance(first, Accepted) and isinstance(again, Accepted)
    assert again.replayed and again.seq == first.seq
    assert balance_of(cod, K1_DISPUTE) == 94_999
    other = CodRemitted(id="r", remittance="R1", courier="K1", orders=["O1"], amount_minor=2)
    assert_rejected(cod, other, RejectCode.IDEMPOTENCY_CONFLICT)


# --- every out-of-order step is rejected and appends nothing --------------------------------


def _delivered_and_remitted(book: Ledger) -> None:
    deliver(book, "O1")
    remit(book, "R1", ["O1"], 95_000)


def _returned(book: Ledger) -> None:
    deliver(book, "O1")
    assert_accepted(book, CodReturned(id="ret", order="O1"))


def _refunded(book: Ledger) -> None:
    _returned(book)
    assert_accepted(book, CodRefunded(id="ref", order="O1"))


def _failed(book: Ledger) -> None:
    assert_accepted(book, CodDeliveryFailed(id="f", order="O1"))


def _nothing(book: Ledger) -> None:
    pass


def _delivered(book: Ledger) -> None:
    deliver(book, "O1")


def _remit(amount: int = 95_000, orders: tuple[str, ...] = ("O1",), **kw: object) -> CodRemitted:
    fields: dict[str, object] = {"remittance": "R9", "courier": "K1"}
    fields.update(kw)
    return CodRemitted(id="x", orders=orders, amount_minor=amount, **fields)  # type: ignore[arg-type]


def _delivery(**kw: object) -> CodDelivered:
    """The order of DOMAIN.md as a command (order O9 unless told otherwise)."""
    fields: dict[str, object] = {
        "id": "x",
        "order": "O9",
        "courier": "K1",
        "merchant": "M1",
        "amount_minor": 100_000,
        "commission_minor": 5_000,
        "shipping_minor": 4_000,
        "courier_fee_minor": 1_000,
    }
    fields.update(kw)
    return CodDelivered(**fields)  # type: ignore[arg-type]


OUT_OF_ORDER = [
    # (story so far, command, code)
    ("remit before delivery", _nothing, _remit(), RejectCode.ORDER_NOT_FOUND),
    ("remit a failed delivery", _failed, _remit(), RejectCode.ORDER_NOT_DELIVERED),
    ("remit twice", _delivered_and_remitted, _remit(), RejectCode.ORDER_ALREADY_REMITTED),
    ("remittance id again", _delivered_and_remitted, _remit(remittance="R1", orders=("O2",)),
     RejectCode.REMITTANCE_EXISTS),
    ("remit another courier's", _delivered, _remit(courier="K2"), RejectCode.FIELD_INVALID),
    ("remit more than due", _delivered, _remit(95_001), RejectCode.REMITTANCE_EXCEEDS_DUE),
    ("deliver twice", _delivered, _delivery(order="O1"), RejectCode.ORDER_EXISTS),
    ("deliver after failing", _failed, _delivery(order="O1"), RejectCode.ORDER_EXISTS),
    ("fail after delivery", _delivered, CodDeliveryFailed(id="x", order="O1"),
     RejectCode.ORDER_EXISTS),
    ("fail twice", _failed, CodDeliveryFailed(id="x", order="O1"), RejectCode.ORDER_EXISTS),
    ("return before delivery", _nothing, CodReturned(id="x", order="O1"),
     RejectCode.ORDER_NOT_FOUND),
    ("return a failed delivery", _failed, CodReturned(id="x", order="O1"),
     RejectCode.ORDER_NOT_DELIVERED),
    ("return after return", _returned, CodReturned(id="x", order="O1"),
     RejectCode.ORDER_ALREADY_RETURNED),
    ("return after refund", _refunded, CodReturned(id="x", order="O1", refund_commission=False),
     RejectCode.ORDER_ALREADY_RETURNED),
    ("refund before return", _delivered, CodRefunded(id="x", order="O1"),
     RejectCode.ORDER_NOT_RETURNED),
    ("refund a failed delivery", _failed, CodRefunded(id="x", order="O1"),
     RejectCode.ORDER_NOT_RETURNED),
    ("refund an unknown order", _nothing, CodRefunded(id="x", order="O1"),
     RejectCode.ORDER_NOT_FOUND),
    ("refund twice", _refunded, CodRefunded(id="x", order="O1", wallet="wallet:buyer"),
     RejectCode.ORDER_ALREADY_REFUNDED),
    ("payout of nothing", _delivered_and_remitted, PayoutMerchant(id="x", merchant="M1"),
     RejectCode.NOTHING_DUE),
    ("payout of a merchant never opened", _nothing, PayoutMerchant(id="x", merchant="M7"),
     RejectCode.ACCOUNT_NOT_FOUND),
    ("release within the window", _delivered_and_remitted, "release-now", RejectCode.NOTHING_DUE),
    ("release of nothing", _nothing, "release-now", RejectCode.NOTHING_DUE),
    ("release ahead of the clock", _delivered_and_remitted, "release-tomorrow",
     RejectCode.FIELD_INVALID),
    ("dispute with none open", _delivered_and_remitted,
     ResolveDispute(id="x", courier="K1", amount_minor=1, outcome="recovered"),
     RejectCode.INSUFFICIENT_FUNDS),
]  # fmt: skip


@pytest.mark.parametrize("story,setup,command,code", OUT_OF_ORDER, ids=[s[0] for s in OUT_OF_ORDER])
def test_an_out_of_order_step_is_rejected_and_appends_nothing(
    cod: Ledger, clock: FakeClock, story: str, setup, command, code: RejectCode
) -> None:
    setup(cod)
    if command == "release-now":
        command = CodReleased(id="x", as_of=clock.now)
    elif command == "release-tomorrow":
        command = CodReleased(id="x", as_of=clock.now + timedelta(days=1))
    assert_rejected(cod, command, code)


BAD_INPUT = [
    ("order id", _delivery(order="O 1"), RejectCode.FIELD_INVALID),
    ("courier id", _delivery(courier=""), RejectCode.FIELD_INVALID),
    ("merchant id", _delivery(merchant="M/1"), RejectCode.FIELD_INVALID),
    ("zero amount", _delivery(amount_minor=0), RejectCode.AMOUNT_INVALID),
    ("negative amount", _delivery(amount_minor=-100_000), RejectCode.AMOUNT_INVALID),
    ("huge amount", _delivery(amount_minor=2**63), RejectCode.AMOUNT_INVALID),
    ("negative commission", _delivery(commission_minor=-1), RejectCode.AMOUNT_INVALID),
    ("negative COD fee", _delivery(courier_fee_minor=-1), RejectCode.AMOUNT_INVALID),
    ("fees take it all", _delivery(commission_minor=96_000), RejectCode.AMOUNT_INVALID),
    ("courier keeps more than the cash", _delivery(courier_fee_minor=96_001),
     RejectCode.AMOUNT_INVALID),
    ("courier never opened", _delivery(courier="K9"), RejectCode.ACCOUNT_NOT_FOUND),
    ("merchant never opened", _delivery(merchant="M9"), RejectCode.ACCOUNT_NOT_FOUND),
    ("overflowing receivable", _delivery(amount_minor=AMOUNT_MAX_MINOR, commission_minor=0),
     RejectCode.OVERFLOW),
    ("no orders", _remit(orders=()), RejectCode.FIELD_INVALID),
    ("an order twice", _remit(orders=("O1", "O1")), RejectCode.FIELD_INVALID),
    ("too many orders", _remit(orders=tuple(f"O{i}" for i in range(ORDERS_PER_REMITTANCE_MAX + 1))),
     RejectCode.FIELD_INVALID),
    ("malformed order", _remit(orders=("O1", "")), RejectCode.FIELD_INVALID),
    ("negative remittance", _remit(-1), RejectCode.AMOUNT_INVALID),
    ("remittance id", _remit(remittance="R 9"), RejectCode.FIELD_INVALID),
    ("payout anywhere", PayoutMerchant(id="x", merchant="M1", to="cash"), RejectCode.FIELD_INVALID),
    ("dispute outcome", ResolveDispute(id="x", courier="K1", amount_minor=1, outcome="forgiven"),
     RejectCode.FIELD_INVALID),
    ("dispute amount", ResolveDispute(id="x", courier="K1", amount_minor=0, outcome="recovered"),
     RejectCode.AMOUNT_INVALID),
    ("dispute of a courier never opened",
     ResolveDispute(id="x", courier="K9", amount_minor=1, outcome="recovered"),
     RejectCode.ACCOUNT_NOT_FOUND),
    ("fee without a merchant", CodDeliveryFailed(id="x", order="O9", rto_fee_minor=1),
     RejectCode.FIELD_INVALID),
    ("a bad fee before a missing merchant", CodDeliveryFailed(id="x", order="O9", rto_fee_minor=-5),
     RejectCode.AMOUNT_INVALID),
    ("failed for a merchant never opened", CodDeliveryFailed(id="x", order="O9", merchant="M99"),
     RejectCode.ACCOUNT_NOT_FOUND),
    ("failed for a courier never opened", CodDeliveryFailed(id="x", order="O9", courier="K99"),
     RejectCode.ACCOUNT_NOT_FOUND),
    ("negative fee", CodDeliveryFailed(id="x", order="O9", rto_fee_minor=-5, merchant="M1"),
     RejectCode.AMOUNT_INVALID),
    ("failed order id", CodDeliveryFailed(id="x", order="O:\n"), RejectCode.FIELD_INVALID),
    ("refund into a merchant payable", "refund-to-payable", RejectCode.FIELD_INVALID),
    ("refund into an unknown wallet", "refund-to-nowhere", RejectCode.ACCOUNT_NOT_FOUND),
]  # fmt: skip


@pytest.mark.parametrize("what,command,code", BAD_INPUT, ids=[b[0] for b in BAD_INPUT])
def test_bad_input_is_rejected_and_appends_nothing(
    cod: Ledger, what: str, command, code: RejectCode
) -> None:
    deliver(cod, "O1")
    if isinstance(command, str):
        assert_accepted(cod, CodReturned(id="ret", order="O1"))
        wallet = M1_PENDING if command == "refund-to-payable" else "wallet:nobody"
        command = CodRefunded(id="x", order="O1", wallet=wallet)
    assert_rejected(cod, command, code)


def test_a_frozen_merchant_wallet_stops_a_wallet_payout(cod: Ledger, clock: FakeClock) -> None:
    _delivered_and_remitted(cod)
    clock.advance(WEEK)
    release(cod, clock)
    assert_accepted(cod, FreezeAccount(id="freeze", account=M1_WALLET))
    assert_rejected(
        cod, PayoutMerchant(id="p", merchant="M1", to="wallet"), RejectCode.ACCOUNT_FROZEN
    )
    assert_accepted(cod, PayoutMerchant(id="p-bank", merchant="M1", to="bank"))


@pytest.mark.parametrize(
    "build",
    [
        lambda: _delivery(amount_minor=1000.0),
        lambda: _delivery(commission_minor=True),
        lambda: _delivery(order=42),
        lambda: CodRemitted(id="x", remittance="R", courier="K1", orders="O1", amount_minor=1),
        lambda: CodRemitted(id="x", remittance="R", courier="K1", orders=[1], amount_minor=1),
        lambda: CodReturned(id="x", order="O1", refund_commission=1),
        lambda: CodRefunded(id="x", order="O1", wallet=5),
        lambda: CodReleased(id="x", as_of="2026-01-01"),
        lambda: PayoutMerchant(id="x", merchant="M1", to=None),
        lambda: ResolveDispute(id="x", courier="K1", amount_minor=1.5, outcome="recovered"),
        lambda: CodDeliveryFailed(id="x", order="O1", merchant=3),
    ],
)
def test_wrong_types_raise_when_the_command_is_built(build) -> None:
    with pytest.raises(InvalidCommand):
        build()


def test_a_float_amount_is_an_amount_error() -> None:
    with pytest.raises(AmountError, match="minor units"):
        _delivery(amount_minor=1000.50)


def test_reverse_refuses_every_cod_entry(cod: Ledger, clock: FakeClock) -> None:
    """A COD entry is undone by its own flow (a return), never by a blind Reverse, so an
    order's state and its money never disagree."""
    deliver(cod, "O1")
    remit(cod, "R1", ["O1"], 90_000)
    clock.advance(WEEK)
    release(cod, clock)
    steps = [
        PayoutMerchant(id="payout", merchant="M1"),
        CodReturned(id="ret", order="O1"),
        CodRefunded(id="ref", order="O1"),
        CodDeliveryFailed(id="failed", order="O2", rto_fee_minor=100, merchant="M1"),
        ResolveDispute(id="dispute", courier="K1", amount_minor=1, outcome="recovered"),
    ]
    for step in steps:
        assert_accepted(cod, step)
    for entry in ["deliver-O1", "remit-R1", "release", *(s.id for s in steps)]:
        assert_rejected(
            cod, Reverse(id=f"undo-{entry}", entry_id=entry), RejectCode.ENTRY_NOT_REVERSIBLE
        )


def test_a_frozen_merchant_waits_while_the_others_are_released(
    cod: Ledger, clock: FakeClock
) -> None:
    deliver(cod, "O1")
    deliver(cod, "O2", merchant="M2")
    remit(cod, "R1", ["O1", "O2"], 190_000)
    assert_accepted(cod, FreezeAccount(id="freeze", account="merchant:M2:payable_pending"))
    clock.advance(WEEK)
    release(cod, clock)
    assert [r.stream for r in written(cod, "release")] == ["order:O1"]
    assert balances(cod, M1_AVAILABLE, "merchant:M2:payable_available") == [91_000, 0]
    assert_accepted(cod, UnfreezeAccount(id="unfreeze", account="merchant:M2:payable_pending"))
    release(cod, clock, "release-again")
    assert [r.stream for r in written(cod, "release-again")] == ["order:O2"]


def test_a_payout_that_only_nets_needs_no_usable_wallet(cod: Ledger, clock: FakeClock) -> None:
    assert_accepted(
        cod, CodDeliveryFailed(id="f", order="O0", rto_fee_minor=200_000, merchant="M1")
    )
    _delivered_and_remitted(cod)
    clock.advance(WEEK)
    release(cod, clock)
    assert_accepted(cod, FreezeAccount(id="freeze", account=M1_WALLET))
    assert_accepted(cod, PayoutMerchant(id="p", merchant="M1", to="wallet"))
    assert written(cod, "p")[0].event.paid_minor == 0  # type: ignore[union-attr]
    assert balances(cod, M1_OWES, M1_WALLET) == [200_000 - 91_000, 0]


def test_a_returned_order_is_never_released(cod: Ledger, clock: FakeClock) -> None:
    _delivered_and_remitted(cod)
    assert_accepted(cod, CodReturned(id="ret", order="O1"))
    clock.advance(WEEK)
    assert_rejected(cod, CodReleased(id="rel", as_of=clock.now), RejectCode.NOTHING_DUE)


def test_release_takes_the_longest_due_first_and_at_most_its_limit(
    cod: Ledger, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cod_flow, "RELEASES_MAX", 2)
    for order in ("O3", "O1", "O2"):  # delivered an hour apart, O3 first
        deliver(cod, order)
        clock.advance(timedelta(hours=1))
    remit(cod, "R1", ["O1", "O2", "O3"], 285_000)
    clock.advance(WEEK)
    release(cod, clock, "first")
    assert [r.stream for r in written(cod, "first")] == ["order:O3", "order:O1"]
    release(cod, clock, "second")
    assert [r.stream for r in written(cod, "second")] == ["order:O2"]


def test_nothing_due_says_what_holds_orders_back(cod: Ledger, clock: FakeClock) -> None:
    deliver(cod, "O1")
    deliver(cod, "O2")
    deliver(cod, "O3")
    clock.advance(WEEK)
    plain = assert_rejected(
        cod, CodReleased(id="r0", as_of=clock.now - WEEK), RejectCode.NOTHING_DUE
    )
    assert "wait" not in plain.detail
    uncollected = assert_rejected(
        cod, CodReleased(id="r1", as_of=clock.now), RejectCode.NOTHING_DUE
    )
    assert "3 order(s) past the window wait for their courier's cash" in uncollected.detail
    assert "frozen" not in uncollected.detail
    remit(cod, "R1", ["O1", "O2"], 190_000)
    assert_accepted(cod, FreezeAccount(id="freeze", account=M1_AVAILABLE))
    held = assert_rejected(cod, CodReleased(id="r2", as_of=clock.now), RejectCode.NOTHING_DUE)
    assert "1 order(s) past the window wait for their courier's cash" in held.detail
    assert "2 due order(s) wait for a frozen or closed payable" in held.detail


def test_without_waiting_for_the_cash_a_return_after_release_is_never_paid_out(
    tmp_path, clock: FakeClock
) -> None:
    """With release_after_remittance off, an order can be released, returned and only
    then remitted (its last event a remittance again): a payout must still skip it."""
    policy = CodPolicy(release_after_remittance=False)
    with Ledger.open(tmp_path / "cod.db", clock=clock, cod=policy) as book:
        open_cod(book)
        deliver(book, "O1")
        deliver(book, "O2")
        clock.advance(WEEK)
        release(book, clock)
        assert_accepted(book, CodReturned(id="ret", order="O1"))
        remit(book, "R1", ["O1", "O2"], 190_000)
        assert_accepted(book, PayoutMerchant(id="p", merchant="M1"))
        paid = written(book, "p")[0].event
        assert isinstance(paid, MerchantPaidOut)
        assert (paid.orders, paid.available_minor) == (("O2",), 91_000)


def test_a_return_takes_back_the_vat_recorded_at_delivery(tmp_path, clock: FakeClock) -> None:
    with Ledger.open(tmp_path / "cod.db", clock=clock) as book:
        open_cod(book)
        deliver(book, "O1")  # 7%: 3.27 of VAT in the 50.00 commission
    with Ledger.open(tmp_path / "cod.db", clock=clock, cod=CodPolicy(vat_rate_bps=1_000)) as book:
        assert_accepted(book, CodReturned(id="ret", order="O1"))
        _, event = only_event(book, "ret")
        assert event.postings[1:3] == (  # type: ignore[union-attr]
            leg("income:commission", "debit", 4_673),
            leg("liability:vat_output", "debit", 327),
        )
        assert balances(book, "income:commission", "liability:vat_output") == [0, 0]


def test_a_tier_cap_on_the_receiving_wallet_holds(cod: Ledger, clock: FakeClock) -> None:
    cap = DefineTier(
        id="tier",
        tier="small",
        max_balance_minor=50_000,
        per_transaction_max_minor=None,
        daily_outflow_max_minor=None,
        monthly_outflow_max_minor=None,
    )
    assert_accepted(cod, cap)
    for wallet in (M1_WALLET, "wallet:buyer"):
        assert_accepted(cod, AssignTier(id=f"assign-{wallet}", wallet=wallet, tier="small"))
    _delivered_and_remitted(cod)
    clock.advance(WEEK)
    release(cod, clock)
    to_wallet = PayoutMerchant(id="p", merchant="M1", to="wallet")
    assert_rejected(cod, to_wallet, RejectCode.LIMIT_EXCEEDED)
    assert_accepted(cod, PayoutMerchant(id="p-bank", merchant="M1"))
    assert_accepted(cod, CodReturned(id="ret", order="O1"))
    refund = CodRefunded(id="ref", order="O1", wallet="wallet:buyer")
    assert_rejected(cod, refund, RejectCode.LIMIT_EXCEEDED)


def test_a_linked_batch_that_breaks_an_order_step_appends_nothing(cod: Ledger) -> None:
    with unchanged(cod):
        results = cod.submit_many(
            [
                _delivery(id="d", order="O1"),
                CodReturned(id="ret", order="O1"),
                CodReturned(id="ret-again", order="O1"),
            ],
            linked=True,
        )
    assert [r.code for r in results] == [  # type: ignore[union-attr]
        RejectCode.LINKED_COMMAND_FAILED,
        RejectCode.LINKED_COMMAND_FAILED,
        RejectCode.ORDER_ALREADY_RETURNED,
    ]
    assert all(rec.stream != "order:O1" for rec in cod.events())


@pytest.mark.parametrize(
    "command",
    [
        CodReturned(id="x", order="O 1"),
        CodRefunded(id="x", order=""),
        CodRemitted(id="x", remittance="R", courier="K1", orders=["O/1"], amount_minor=0),
    ],
    ids=["return", "refund", "remit"],
)
def test_a_malformed_order_id_is_field_invalid_everywhere(cod: Ledger, command) -> None:
    assert_rejected(cod, command, RejectCode.FIELD_INVALID)


def test_an_order_id_of_invalid_unicode_is_refused_when_built() -> None:
    with pytest.raises(InvalidCommand, match="Unicode"):
        CodRemitted(id="x", remittance="R", courier="K1", orders=["O1", "\ud800"], amount_minor=0)


def test_a_return_window_past_ten_years_is_refused() -> None:
    with pytest.raises(InvalidCommand, match="3650 days"):
        CodPolicy(return_window=timedelta.max)
    assert CodPolicy(return_window=timedelta(days=3_650)).return_window.days == 3_650


def test_an_order_stream_that_starts_with_no_delivery_is_a_damaged_store() -> None:
    from ledger import StoreCorrupt

    with pytest.raises(StoreCorrupt, match="order:O1 starts with CodOrderRemitted"):
        fold_order("O1", [CodOrderRemitted(order="O1", remittance="R1")])


@pytest.mark.parametrize(
    "funding", ["bank:cod", "courier:K1:cod_receivable", "courier:K1:dispute_receivable",
                "merchant:M1:receivable"],
)  # fmt: skip
def test_a_top_up_is_never_funded_from_cod_money(cod: Ledger, funding: str) -> None:
    """COD cash is the merchants': a top-up out of it would make e-money with no cash in
    the trust behind it, and break the courier's or merchant's books."""
    from ledger import TopUp

    top_up = TopUp(id="t", wallet="wallet:buyer", amount_minor=1_000, channel="bank",
                   funding_account=funding)  # fmt: skip
    assert_rejected(cod, top_up, RejectCode.FIELD_INVALID)


@pytest.mark.parametrize(
    "destination",
    [M1_AVAILABLE, M1_PENDING, "liability:refunds_payable", "liability:vat_output", K1_SHIP],
)
def test_an_exchange_never_pays_into_a_cod_account(cod: Ledger, destination: str) -> None:
    from ledger import Exchange

    cod.submit(cod.chart.open_wallet("wallet:usd", "USD"))
    exchange = Exchange(id="x", source="wallet:usd", destination=destination,
                        sell_amount_minor=10_000, buy_amount_minor=350_000)  # fmt: skip
    assert_rejected(cod, exchange, RejectCode.FIELD_INVALID)


def test_the_chart_knows_its_cod_accounts(cod: Ledger) -> None:
    chart = cod.chart
    assert all(chart.cod_account(a) for a in (K1_COD, K1_SHIP, K1_DISPUTE, M1_OWES, "bank:cod"))
    assert not any(
        chart.cod_account(a)
        for a in (M1_WALLET, "wallet:buyer", "bank:trust", "merchant:M1:payable")
    )
