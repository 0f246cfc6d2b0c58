"""Paying merchants (``Pay``) and billers (``PayBill``), and refunds (``Refund``)."""

from __future__ import annotations

import itertools
import math
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import (
    Accepted,
    CloseAccount,
    Credit,
    Debit,
    FreezeAccount,
    Ledger,
    Pay,
    PayBill,
    Refund,
    Rejected,
    Reverse,
    TopUp,
)
from ledger.errors import RejectCode
from ledger.events import BillPaid, EntryReversed, PaymentMade, Refunded, decode_event
from tests.conftest import (
    FakeClock,
    assert_accepted,
    assert_rejected,
    counters,
    fund,
    leg,
    only_event,
    open_wallet_accounts,
    post,
    unchanged,
    written,
)

MAX = 2**63 - 1
MERCHANT = "merchant:M1:payable"
BILLER = "biller:B1:payable"


def pay(id: str = "p-1", **kwargs: object) -> Pay:
    fields: dict[str, object] = {
        "wallet": "wallet:U1",
        "merchant": "M1",
        "amount_minor": 2_000,
    }
    fields.update(kwargs)
    return Pay(id=id, **fields)  # type: ignore[arg-type]


def bill(id: str = "b-1", **kwargs: object) -> PayBill:
    fields: dict[str, object] = {
        "wallet": "wallet:U1",
        "biller": "B1",
        "bill_reference": "INV-001",
        "amount_minor": 1_500,
    }
    fields.update(kwargs)
    return PayBill(id=id, **fields)  # type: ignore[arg-type]


@pytest.fixture
def funded(flows: Ledger) -> Ledger:
    """``flows`` with 10,000 in wallet:U1."""
    fund(flows, "wallet:U1", 10_000)
    return flows


# --- Pay ------------------------------------------------------------------------------------


def test_a_payment_debits_the_wallet_and_credits_the_merchant_less_the_fee(
    funded: Ledger,
) -> None:
    assert_accepted(funded, pay(fee_minor=30, reference="order-42"))
    record, event = only_event(funded, "p-1")
    assert (record.type, record.stream, record.version) == ("payment_made", "payment:p-1", 1)
    assert isinstance(event, PaymentMade)
    assert (event.wallet, event.merchant, event.reference) == ("wallet:U1", "M1", "order-42")
    assert (event.amount_minor, event.fee_minor) == (2_000, 30)
    assert event.postings == (
        leg("wallet:U1", "debit", 2_000),
        leg(MERCHANT, "credit", 1_970),
        leg("income:fees", "credit", 30),
    )
    assert counters(funded, "wallet:U1") == (8_000, 8_000, 0, 0)
    assert counters(funded, MERCHANT) == (1_970, 1_970, 0, 0)
    assert counters(funded, "income:fees") == (30, 30, 0, 0)


def test_a_payment_without_fee_has_two_postings(funded: Ledger) -> None:
    assert_accepted(funded, pay(amount_minor=10_000))
    _, event = only_event(funded, "p-1")
    assert isinstance(event, PaymentMade)
    assert event.postings == (leg("wallet:U1", "debit", 10_000), leg(MERCHANT, "credit", 10_000))
    assert counters(funded, "wallet:U1") == (0, 0, 0, 0)


def test_a_bad_merchant_id_is_field_invalid(funded: Ledger) -> None:
    for merchant in ["M 1", "", "a/b", "x" * 129]:
        result = assert_rejected(funded, pay(merchant=merchant), RejectCode.FIELD_INVALID)
        assert "merchant" in result.detail


def test_a_reference_longer_than_1000_is_field_invalid(funded: Ledger) -> None:
    assert_rejected(funded, pay(reference="r" * 1_001), RejectCode.FIELD_INVALID)
    assert_accepted(funded, pay("p-2", reference="r" * 1_000))


def test_bad_amounts_and_fees_are_amount_invalid(funded: Ledger) -> None:
    for i, (amount, fee) in enumerate(
        [(0, 0), (-1, 0), (2**63, 0), (100, -1), (100, 2**63), (100, 100), (100, 101)]
    ):
        assert_rejected(
            funded, pay(f"p-{i}", amount_minor=amount, fee_minor=fee), RejectCode.AMOUNT_INVALID
        )


def test_an_unknown_wallet_is_account_not_found(funded: Ledger) -> None:
    assert_rejected(funded, pay(wallet="wallet:nobody"), RejectCode.ACCOUNT_NOT_FOUND)
    assert_rejected(funded, pay("p-2", wallet="not an id"), RejectCode.ACCOUNT_NOT_FOUND)


def test_paying_from_an_account_that_is_not_a_wallet_is_field_invalid(funded: Ledger) -> None:
    assert_rejected(funded, pay(wallet="bank:trust"), RejectCode.FIELD_INVALID)
    assert_rejected(funded, pay("p-2", wallet="income:fees"), RejectCode.FIELD_INVALID)
    # a liability that may go below zero (a merchant payable) is not a wallet either
    assert_rejected(funded, pay("p-3", wallet=MERCHANT), RejectCode.FIELD_INVALID)


def test_a_merchant_without_a_payable_is_account_not_found(funded: Ledger) -> None:
    assert_rejected(funded, pay(merchant="M404"), RejectCode.ACCOUNT_NOT_FOUND)


def test_paying_more_than_the_wallet_holds_is_insufficient_funds(funded: Ledger) -> None:
    assert_rejected(funded, pay(amount_minor=10_001), RejectCode.INSUFFICIENT_FUNDS)
    assert_rejected(funded, pay(wallet="wallet:U2", amount_minor=1), RejectCode.INSUFFICIENT_FUNDS)


def test_a_frozen_wallet_or_merchant_is_account_frozen(funded: Ledger) -> None:
    assert_accepted(funded, FreezeAccount(id="f-1", account="wallet:U1"))
    assert_rejected(funded, pay(), RejectCode.ACCOUNT_FROZEN)
    fund(funded, "wallet:U2", 5_000)
    assert_accepted(funded, FreezeAccount(id="f-2", account=MERCHANT))
    assert_rejected(funded, pay("p-2", wallet="wallet:U2"), RejectCode.ACCOUNT_FROZEN)


def test_a_closed_wallet_is_account_closed(funded: Ledger) -> None:
    assert_accepted(funded, funded.chart.open_wallet("wallet:U9"))
    assert_accepted(funded, CloseAccount(id="c-1", account="wallet:U9"))
    assert_rejected(funded, pay(wallet="wallet:U9"), RejectCode.ACCOUNT_CLOSED)


def test_a_usd_wallet_paying_a_thb_merchant_is_currency_mismatch(funded: Ledger) -> None:
    assert_rejected(funded, pay(wallet="wallet:U3:usd"), RejectCode.CURRENCY_MISMATCH)


def test_pay_rejections_come_in_the_documented_order(funded: Ledger) -> None:
    assert_rejected(
        funded, pay(merchant="M 1", amount_minor=0, wallet="nobody"), RejectCode.FIELD_INVALID
    )
    assert_rejected(funded, pay(amount_minor=0, wallet="nobody"), RejectCode.AMOUNT_INVALID)
    assert_rejected(funded, pay(wallet="nobody", merchant="M404"), RejectCode.ACCOUNT_NOT_FOUND)
    assert_rejected(
        funded,
        pay(wallet="bank:trust", merchant="M404", amount_minor=MAX),
        RejectCode.FIELD_INVALID,
    )


def test_a_payment_cannot_be_reversed(funded: Ledger) -> None:
    assert_accepted(funded, pay())
    result = assert_rejected(
        funded, Reverse(id="r-1", entry_id="p-1"), RejectCode.ENTRY_NOT_REVERSIBLE
    )
    assert "PaymentMade" in result.detail


# --- PayBill --------------------------------------------------------------------------------


def test_a_bill_payment_debits_the_wallet_and_credits_the_biller(funded: Ledger) -> None:
    reference = "INV 2024/06-001 ค่าไฟ"
    assert_accepted(funded, bill(bill_reference=reference, fee_minor=10))
    record, event = only_event(funded, "b-1")
    assert (record.type, record.stream, record.version) == ("bill_paid", f"bill:B1/{reference}", 1)
    assert isinstance(event, BillPaid)
    assert (event.wallet, event.biller, event.bill_reference) == ("wallet:U1", "B1", reference)
    assert (event.amount_minor, event.fee_minor, event.partial) == (1_500, 10, False)
    assert event.entry_id == "b-1"
    assert event.postings == (
        leg("wallet:U1", "debit", 1_500),
        leg(BILLER, "credit", 1_490),
        leg("income:fees", "credit", 10),
    )
    assert counters(funded, "wallet:U1") == (8_500, 8_500, 0, 0)
    assert counters(funded, BILLER) == (1_490, 1_490, 0, 0)
    assert counters(funded, "income:fees") == (10, 10, 0, 0)


def test_partial_payments_of_one_bill_are_accepted_in_turn(funded: Ledger) -> None:
    assert_accepted(funded, bill("b-1", partial=True, amount_minor=500))
    assert_accepted(funded, bill("b-2", partial=True, amount_minor=700, wallet="wallet:U1"))
    assert_accepted(funded, bill("b-3", partial=True, amount_minor=300))
    versions = [(r.stream, r.version) for c in ("b-1", "b-2", "b-3") for r in written(funded, c)]
    assert versions == [("bill:B1/INV-001", 1), ("bill:B1/INV-001", 2), ("bill:B1/INV-001", 3)]
    _, event = only_event(funded, "b-2")
    assert isinstance(event, BillPaid)
    assert event.partial is True
    assert event.postings == (leg("wallet:U1", "debit", 700), leg(BILLER, "credit", 700))
    assert counters(funded, "wallet:U1") == (8_500, 8_500, 0, 0)
    assert counters(funded, BILLER) == (1_500, 1_500, 0, 0)


def test_bill_streams_of_billers_and_references_with_colons_never_collide(
    funded: Ledger,
) -> None:
    # biller "B1" with reference "X:Y" and biller "B1:X" with reference "Y"
    assert_accepted(funded, funded.chart.open_biller("B1:X"))
    assert_accepted(funded, bill("b-1", bill_reference="X:Y"))
    assert_accepted(funded, bill("b-2", biller="B1:X", bill_reference="Y"))
    streams = [r.stream for c in ("b-1", "b-2") for r in written(funded, c)]
    assert streams == ["bill:B1/X:Y", "bill:B1:X/Y"]
    assert counters(funded, "biller:B1:X:payable") == (1_500, 1_500, 0, 0)


def test_one_reference_of_two_billers_is_two_bills(funded: Ledger) -> None:
    assert_accepted(funded, funded.chart.open_biller("B2"))
    assert_accepted(funded, bill("b-1"))
    assert_accepted(funded, bill("b-2", biller="B2"))
    record, _ = only_event(funded, "b-2")
    assert (record.stream, record.version) == ("bill:B2/INV-001", 1)
    assert counters(funded, "biller:B2:payable") == (1_500, 1_500, 0, 0)


@pytest.mark.parametrize(
    ("first", "second"),
    [(False, False), (False, True), (True, False)],
    ids=["full-then-full", "full-then-partial", "partial-then-full"],
)
def test_a_bill_is_paid_once_unless_every_payment_is_partial(
    funded: Ledger, first: bool, second: bool
) -> None:
    assert_accepted(funded, bill("b-1", partial=first))
    result = assert_rejected(
        funded, bill("b-2", partial=second, wallet="wallet:U1"), RejectCode.BILL_ALREADY_PAID
    )
    assert "INV-001" not in result.detail  # a bill reference may be personal: never echoed
    assert "B1" in result.detail


def test_after_partial_payments_a_full_one_is_bill_already_paid(funded: Ledger) -> None:
    assert_accepted(funded, bill("b-1", partial=True))
    assert_accepted(funded, bill("b-2", partial=True))
    assert_rejected(funded, bill("b-3", partial=False), RejectCode.BILL_ALREADY_PAID)
    # the paid bill is refused whoever pays, before the wallet is even looked at
    assert_rejected(funded, bill("b-4", wallet="wallet:nobody"), RejectCode.BILL_ALREADY_PAID)


def test_a_rejected_bill_payment_leaves_the_bill_unpaid(funded: Ledger) -> None:
    assert_rejected(funded, bill("b-1", amount_minor=10_001), RejectCode.INSUFFICIENT_FUNDS)
    assert_accepted(funded, bill("b-2", amount_minor=10_000))
    record, _ = only_event(funded, "b-2")
    assert record.version == 1


def test_a_retried_bill_payment_is_a_replay_not_a_second_payment(funded: Ledger) -> None:
    first = assert_accepted(funded, bill())
    with unchanged(funded):
        again = funded.submit(bill())
    assert again == Accepted("b-1", first.seq, replayed=True)


def test_a_bad_biller_id_is_field_invalid(funded: Ledger) -> None:
    for biller in ["B 1", "", "x" * 129]:
        result = assert_rejected(funded, bill(biller=biller), RejectCode.FIELD_INVALID)
        assert "biller" in result.detail


def test_a_bad_bill_reference_is_field_invalid(funded: Ledger) -> None:
    for reference in ["", "r" * 65, "INV\n1", "INV\x00", "tab\there", "\x7f"]:
        result = assert_rejected(funded, bill(bill_reference=reference), RejectCode.FIELD_INVALID)
        assert "bill_reference" in result.detail


def test_a_64_character_bill_reference_is_accepted(funded: Ledger) -> None:
    assert_accepted(funded, bill(bill_reference="r" * 64))


def test_bad_bill_amounts_are_amount_invalid(funded: Ledger) -> None:
    for i, (amount, fee) in enumerate([(0, 0), (-5, 0), (2**63, 0), (10, -1), (10, 10)]):
        assert_rejected(
            funded, bill(f"b-{i}", amount_minor=amount, fee_minor=fee), RejectCode.AMOUNT_INVALID
        )


def test_bill_wallet_rejections(funded: Ledger) -> None:
    assert_rejected(funded, bill("b-1", wallet="wallet:nobody"), RejectCode.ACCOUNT_NOT_FOUND)
    assert_rejected(funded, bill("b-2", wallet="bank:trust"), RejectCode.FIELD_INVALID)
    assert_rejected(funded, bill("b-3", biller="B404"), RejectCode.ACCOUNT_NOT_FOUND)
    assert_rejected(funded, bill("b-4", amount_minor=10_001), RejectCode.INSUFFICIENT_FUNDS)
    assert_rejected(funded, bill("b-6", wallet="wallet:U3:usd"), RejectCode.CURRENCY_MISMATCH)
    assert_accepted(funded, FreezeAccount(id="f-1", account="wallet:U1"))
    assert_rejected(funded, bill("b-5"), RejectCode.ACCOUNT_FROZEN)


def test_bill_rejections_come_in_the_documented_order(funded: Ledger) -> None:
    assert_rejected(
        funded, bill(biller="B 1", bill_reference="", amount_minor=0), RejectCode.FIELD_INVALID
    )
    assert_rejected(funded, bill(bill_reference="", amount_minor=0), RejectCode.FIELD_INVALID)
    assert_accepted(funded, bill("b-paid"))
    assert_rejected(funded, bill("b-2", amount_minor=0), RejectCode.AMOUNT_INVALID)


# --- Refund ---------------------------------------------------------------------------------


def test_a_full_refund_gives_back_the_payment_and_its_fee(funded: Ledger) -> None:
    assert_accepted(funded, pay(fee_minor=30))
    assert_accepted(funded, Refund(id="rf-1", payment="p-1"))
    record, event = only_event(funded, "rf-1")
    assert (record.type, record.stream, record.version) == ("refunded", "payment:p-1", 2)
    assert isinstance(event, Refunded)
    assert (event.payment, event.wallet, event.merchant) == ("p-1", "wallet:U1", "M1")
    assert (event.amount_minor, event.fee_minor) == (2_000, 30)
    assert event.postings == (
        leg(MERCHANT, "debit", 1_970),
        leg("income:fees", "debit", 30),
        leg("wallet:U1", "credit", 2_000),
    )
    assert counters(funded, "wallet:U1") == (10_000, 10_000, 0, 0)
    assert counters(funded, MERCHANT) == (0, 0, 0, 0)
    assert counters(funded, "income:fees") == (0, 0, 0, 0)


def test_a_partial_refund_gives_back_the_fee_in_proportion(funded: Ledger) -> None:
    assert_accepted(funded, pay(fee_minor=30))
    assert_accepted(funded, Refund(id="rf-1", payment="p-1", amount_minor=1_000))
    record, event = only_event(funded, "rf-1")
    assert record.version == 2
    assert isinstance(event, Refunded)
    assert (event.amount_minor, event.fee_minor) == (1_000, 15)
    assert event.postings == (
        leg(MERCHANT, "debit", 985),
        leg("income:fees", "debit", 15),
        leg("wallet:U1", "credit", 1_000),
    )
    assert counters(funded, "wallet:U1") == (9_000, 9_000, 0, 0)
    assert counters(funded, MERCHANT) == (985, 985, 0, 0)
    assert counters(funded, "income:fees") == (15, 15, 0, 0)
    # the rest (amount None) is what is left, with the rest of the fee
    assert_accepted(funded, Refund(id="rf-2", payment="p-1"))
    record, event = only_event(funded, "rf-2")
    assert record.version == 3
    assert isinstance(event, Refunded)
    assert (event.amount_minor, event.fee_minor) == (1_000, 15)
    assert counters(funded, MERCHANT) == (0, 0, 0, 0)
    assert counters(funded, "income:fees") == (0, 0, 0, 0)


def test_the_fee_part_rounds_half_up_on_the_running_total(funded: Ledger) -> None:
    assert_accepted(funded, pay(amount_minor=1_000, fee_minor=25))
    fees = []
    for i, amount in enumerate([100, 100, 100, 700]):
        assert_accepted(funded, Refund(id=f"rf-{i}", payment="p-1", amount_minor=amount))
        _, event = only_event(funded, f"rf-{i}")
        assert isinstance(event, Refunded)
        fees.append(event.fee_minor)
    # running totals 100, 200, 300, 1000 -> 2.5, 5, 7.5, 25 -> 3, 5, 8, 25 (half up)
    assert fees == [3, 2, 3, 17]
    assert sum(fees) == 25
    assert counters(funded, "income:fees") == (0, 0, 0, 0)
    assert counters(funded, MERCHANT) == (0, 0, 0, 0)


def test_a_refund_whose_fee_part_is_zero_has_no_fee_posting(funded: Ledger) -> None:
    assert_accepted(funded, pay(amount_minor=3, fee_minor=1))
    expected = [
        # refunded 1 of 3: 1/3 of the fee rounds to 0
        (leg(MERCHANT, "debit", 1), leg("wallet:U1", "credit", 1)),
        # refunded 2 of 3: 2/3 rounds to 1
        (leg("income:fees", "debit", 1), leg("wallet:U1", "credit", 1)),
        # refunded 3 of 3: still 1, nothing more
        (leg(MERCHANT, "debit", 1), leg("wallet:U1", "credit", 1)),
    ]
    for i, postings in enumerate(expected):
        assert_accepted(funded, Refund(id=f"rf-{i}", payment="p-1", amount_minor=1))
        _, event = only_event(funded, f"rf-{i}")
        assert isinstance(event, Refunded)
        assert event.postings == postings
    assert counters(funded, "wallet:U1") == (10_000, 10_000, 0, 0)
    assert counters(funded, MERCHANT) == (0, 0, 0, 0)
    assert counters(funded, "income:fees") == (0, 0, 0, 0)


def test_a_refund_after_payout_leaves_the_merchant_owing(funded: Ledger) -> None:
    assert_accepted(funded, pay(fee_minor=30))
    post(funded, "payout-1", Debit(MERCHANT, 1_970), Credit("bank:trust", 1_970), kind="payout")
    assert_accepted(funded, Refund(id="rf-1", payment="p-1"))
    assert counters(funded, MERCHANT) == (-1_970, -1_970, 0, 0)
    assert counters(funded, "wallet:U1") == (10_000, 10_000, 0, 0)


def test_a_retried_refund_is_replayed_and_posts_nothing(funded: Ledger) -> None:
    assert_accepted(funded, pay(fee_minor=30))
    first = assert_accepted(funded, Refund(id="rf-1", payment="p-1", amount_minor=500))
    with unchanged(funded):
        again = funded.submit(Refund(id="rf-1", payment="p-1", amount_minor=500))
    assert again == Accepted("rf-1", first.seq, replayed=True)
    assert len(written(funded, "rf-1")) == 1
    assert counters(funded, "wallet:U1") == (8_500, 8_500, 0, 0)
    # the same id with another amount is a conflict, not a second refund
    assert_rejected(
        funded,
        Refund(id="rf-1", payment="p-1", amount_minor=400),
        RejectCode.IDEMPOTENCY_CONFLICT,
    )


def test_a_retried_full_refund_is_replayed_not_refund_exceeds_original(funded: Ledger) -> None:
    assert_accepted(funded, pay())
    first = assert_accepted(funded, Refund(id="rf-1", payment="p-1"))
    with unchanged(funded):
        assert funded.submit(Refund(id="rf-1", payment="p-1")) == Accepted(
            "rf-1", first.seq, replayed=True
        )


def test_refunding_an_unknown_payment_is_payment_not_found(funded: Ledger) -> None:
    for payment in ["p-404", "not an id", ""]:
        assert_rejected(funded, Refund(id="rf-1", payment=payment), RejectCode.PAYMENT_NOT_FOUND)


def test_refunding_what_is_not_a_payment_is_payment_not_found(funded: Ledger) -> None:
    # a top-up and a bill payment are no Pay
    assert_accepted(funded, TopUp(id="t-1", wallet="wallet:U1", amount_minor=1, channel="bank"))
    assert_accepted(funded, bill())
    assert_rejected(funded, Refund(id="rf-1", payment="t-1"), RejectCode.PAYMENT_NOT_FOUND)
    assert_rejected(funded, Refund(id="rf-2", payment="b-1"), RejectCode.PAYMENT_NOT_FOUND)
    # nor is a refund
    assert_accepted(funded, pay())
    assert_accepted(funded, Refund(id="rf-3", payment="p-1", amount_minor=1))
    assert_rejected(funded, Refund(id="rf-4", payment="rf-3"), RejectCode.PAYMENT_NOT_FOUND)


def test_a_bad_refund_amount_is_amount_invalid(funded: Ledger) -> None:
    assert_accepted(funded, pay())
    for amount in [0, -1, 2**63]:
        assert_rejected(
            funded,
            Refund(id="rf-1", payment="p-1", amount_minor=amount),
            RejectCode.AMOUNT_INVALID,
        )


def test_refunding_more_than_the_payment_is_refund_exceeds_original(funded: Ledger) -> None:
    assert_accepted(funded, pay())
    assert_rejected(
        funded,
        Refund(id="rf-1", payment="p-1", amount_minor=2_001),
        RejectCode.REFUND_EXCEEDS_ORIGINAL,
    )
    assert_accepted(funded, Refund(id="rf-2", payment="p-1", amount_minor=1_500))
    result = assert_rejected(
        funded,
        Refund(id="rf-3", payment="p-1", amount_minor=501),
        RejectCode.REFUND_EXCEEDS_ORIGINAL,
    )
    assert "500" in result.detail
    assert_accepted(funded, Refund(id="rf-4", payment="p-1", amount_minor=500))


def test_after_a_full_refund_nothing_is_left_to_refund(funded: Ledger) -> None:
    assert_accepted(funded, pay())
    assert_accepted(funded, Refund(id="rf-1", payment="p-1"))
    assert_rejected(funded, Refund(id="rf-2", payment="p-1"), RejectCode.REFUND_EXCEEDS_ORIGINAL)
    assert_rejected(
        funded,
        Refund(id="rf-3", payment="p-1", amount_minor=1),
        RejectCode.REFUND_EXCEEDS_ORIGINAL,
    )


def test_refund_rejections_come_in_the_documented_order(funded: Ledger) -> None:
    assert_rejected(
        funded, Refund(id="rf-1", payment="p-404", amount_minor=0), RejectCode.PAYMENT_NOT_FOUND
    )
    assert_accepted(funded, pay())
    assert_accepted(funded, Refund(id="rf-2", payment="p-1"))
    # amount before "nothing left"
    assert_rejected(
        funded, Refund(id="rf-3", payment="p-1", amount_minor=0), RejectCode.AMOUNT_INVALID
    )


def test_a_refund_to_a_frozen_wallet_or_from_a_frozen_merchant_is_account_frozen(
    funded: Ledger,
) -> None:
    assert_accepted(funded, pay())
    assert_accepted(funded, FreezeAccount(id="f-1", account="wallet:U1"))
    assert_rejected(funded, Refund(id="rf-1", payment="p-1"), RejectCode.ACCOUNT_FROZEN)
    fund(funded, "wallet:U2", 5_000)
    assert_accepted(funded, pay("p-2", wallet="wallet:U2"))
    assert_accepted(funded, FreezeAccount(id="f-2", account=MERCHANT))
    assert_rejected(funded, Refund(id="rf-2", payment="p-2"), RejectCode.ACCOUNT_FROZEN)


def test_a_refund_to_a_closed_wallet_is_account_closed(funded: Ledger) -> None:
    assert_accepted(funded, pay(amount_minor=10_000))
    assert_accepted(funded, CloseAccount(id="c-1", account="wallet:U1"))
    assert_rejected(funded, Refund(id="rf-1", payment="p-1"), RejectCode.ACCOUNT_CLOSED)


def test_refunds_in_one_batch_see_each_other(funded: Ledger) -> None:
    assert_accepted(funded, pay(fee_minor=30))
    results = funded.submit_many(
        [
            Refund(id="rf-1", payment="p-1", amount_minor=1_500),
            Refund(id="rf-2", payment="p-1", amount_minor=501),
            Refund(id="rf-3", payment="p-1"),
            Refund(id="rf-4", payment="p-1", amount_minor=1),
        ]
    )
    assert isinstance(results[0], Accepted)
    assert isinstance(results[1], Rejected)
    assert results[1].code is RejectCode.REFUND_EXCEEDS_ORIGINAL
    assert isinstance(results[2], Accepted)
    assert isinstance(results[3], Rejected)
    assert results[3].code is RejectCode.REFUND_EXCEEDS_ORIGINAL
    versions = [(r.version, r.event) for c in ("rf-1", "rf-3") for r in written(funded, c)]
    assert [v for v, _ in versions] == [2, 3]
    assert [e.fee_minor for _, e in versions] == [23, 7]  # type: ignore[union-attr]
    assert counters(funded, "wallet:U1") == (10_000, 10_000, 0, 0)
    assert counters(funded, "income:fees") == (0, 0, 0, 0)


def test_a_refund_cannot_be_reversed(funded: Ledger) -> None:
    assert_accepted(funded, pay())
    assert_accepted(funded, Refund(id="rf-1", payment="p-1", amount_minor=100))
    result = assert_rejected(
        funded, Reverse(id="r-1", entry_id="rf-1"), RejectCode.ENTRY_NOT_REVERSIBLE
    )
    assert "Refunded" in result.detail


def test_a_bill_payment_is_reversible_like_an_entry(funded: Ledger) -> None:
    assert_accepted(funded, bill(fee_minor=10))
    assert_accepted(funded, Reverse(id="r-1", entry_id="b-1"))
    _, event = only_event(funded, "r-1")
    assert isinstance(event, EntryReversed)
    assert event.postings == (
        leg("wallet:U1", "credit", 1_500),
        leg(BILLER, "debit", 1_490),
        leg("income:fees", "debit", 10),
    )
    assert counters(funded, "wallet:U1") == (10_000, 10_000, 0, 0)
    assert counters(funded, BILLER) == (0, 0, 0, 0)
    assert counters(funded, "income:fees") == (0, 0, 0, 0)


def test_a_reversed_bill_payment_no_longer_counts(funded: Ledger) -> None:
    assert_accepted(funded, bill("b-1"))
    assert_accepted(funded, Reverse(id="r-1", entry_id="b-1"))
    assert_accepted(funded, bill("b-2"))
    record, event = only_event(funded, "b-2")
    assert (record.stream, record.version) == ("bill:B1/INV-001", 2)
    assert isinstance(event, BillPaid)
    assert event.entry_id == "b-2"
    # the second payment, not reversed, counts again
    result = assert_rejected(funded, bill("b-3"), RejectCode.BILL_ALREADY_PAID)
    assert "1 payment(s)" in result.detail
    assert counters(funded, "wallet:U1") == (8_500, 8_500, 0, 0)
    assert counters(funded, BILLER) == (1_500, 1_500, 0, 0)


def test_after_a_reversed_full_payment_partial_ones_are_accepted(funded: Ledger) -> None:
    assert_accepted(funded, bill("b-1"))
    assert_rejected(funded, bill("b-2", partial=True), RejectCode.BILL_ALREADY_PAID)
    assert_accepted(funded, Reverse(id="r-1", entry_id="b-1"))
    assert_accepted(funded, bill("b-2", partial=True, amount_minor=500))
    assert_accepted(funded, bill("b-3", partial=True, amount_minor=500))
    # a reversed partial payment leaves the others counting
    assert_accepted(funded, Reverse(id="r-3", entry_id="b-3"))
    assert_rejected(funded, bill("b-4"), RejectCode.BILL_ALREADY_PAID)
    assert_accepted(funded, bill("b-5", partial=True, amount_minor=1_000))
    assert [r.version for c in ("b-1", "b-2", "b-3", "b-5") for r in written(funded, c)] == [
        1,
        2,
        3,
        4,
    ]
    assert counters(funded, BILLER) == (1_500, 1_500, 0, 0)


def test_a_bill_paid_payload_from_before_entry_id_still_decodes() -> None:
    # docs/schema-evolution.md, rule 1: a new field gets a default, old payloads decode
    payload = (
        b'{"type":"bill_paid","postings":['
        b'{"account":"wallet:U1","side":"debit","amount_minor":100,"currency":"THB"},'
        b'{"account":"biller:B1:payable","side":"credit","amount_minor":100,"currency":"THB"}],'
        b'"wallet":"wallet:U1","biller":"B1","bill_reference":"X","amount_minor":100}'
    )
    event = decode_event("bill_paid", 1, payload)  # a schema 1 row, written before it
    assert isinstance(event, BillPaid)
    assert (event.wallet, event.biller, event.bill_reference) == ("wallet:U1", "B1", "X")
    assert event.postings == (
        leg("wallet:U1", "debit", 100),
        leg(BILLER, "credit", 100),
    )


# --- the fee rule, over random payments and splits ------------------------------------------


def _round_half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


@st.composite
def payments_and_splits(draw: st.DrawFn) -> tuple[int, int, list[int]]:
    amount = draw(st.one_of(st.integers(2, 50), st.integers(2, 10**12)))
    fee = draw(st.integers(0, amount - 1))
    cuts = draw(st.lists(st.integers(1, amount - 1), max_size=6, unique=True))
    bounds = [0, *sorted(cuts), amount]
    return amount, fee, [b - a for a, b in itertools.pairwise(bounds)]


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payments_and_splits(), st.booleans())
def test_partial_refunds_return_the_rounded_share_and_exactly_the_fee_in_total(
    case: tuple[int, int, list[int]], last_as_rest: bool
) -> None:
    amount, fee, parts = case
    with Ledger.open(":memory:", clock=FakeClock()) as book:
        open_wallet_accounts(book)
        book.submit(TopUp(id="t-1", wallet="wallet:U1", amount_minor=amount, channel="bank"))
        assert isinstance(book.submit(pay(amount_minor=amount, fee_minor=fee)), Accepted)
        refunded = returned = 0
        for i, part in enumerate(parts):
            rest = last_as_rest and i == len(parts) - 1
            result = book.submit(
                Refund(id=f"rf-{i}", payment="p-1", amount_minor=None if rest else part)
            )
            assert isinstance(result, Accepted), result
            [record] = written(book, f"rf-{i}")
            event = record.event
            assert isinstance(event, Refunded)
            refunded += part
            share = _round_half_up(Fraction(fee * refunded, amount))
            assert event.amount_minor == part
            assert event.fee_minor == share - returned
            assert 0 <= event.fee_minor <= part
            returned = share
            debits = {p.account: p.amount_minor for p in event.postings if p.side == "debit"}
            assert debits.get(MERCHANT, 0) == part - event.fee_minor
            assert debits.get("income:fees", 0) == event.fee_minor
            assert [p for p in event.postings if p.side == "credit"] == [
                leg("wallet:U1", "credit", part)
            ]
            assert book.balance("income:fees").balance == fee - returned
        assert returned == fee
        assert counters(book, "wallet:U1") == (amount, amount, 0, 0)
        assert counters(book, MERCHANT) == (0, 0, 0, 0)
        assert counters(book, "income:fees") == (0, 0, 0, 0)
        more = book.submit(Refund(id="rf-more", payment="p-1"))
        assert isinstance(more, Rejected)
        assert more.code is RejectCode.REFUND_EXCEEDS_ORIGINAL


@pytest.mark.parametrize("reference", ["INV-1 ", " INV-1", "INV\u20281", "INV\u200b1", "\x85"])
def test_a_bill_reference_with_edge_spaces_or_invisible_characters_is_field_invalid(
    funded: Ledger, reference: str
) -> None:
    assert_rejected(funded, bill(bill_reference=reference), RejectCode.FIELD_INVALID)


def test_a_refund_goes_back_to_the_accounts_the_payment_used(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A ledger reopened with another chart still refunds from the payment's own merchant
    payable and fee account: the event holds them."""
    from ledger import Chart, Pay, Refund

    path = tmp_path / "chart.db"
    with Ledger.open(path, clock=clock) as book:
        open_wallet_accounts(book)
        fund(book, "wallet:U1", 10_000)
        assert_accepted(
            book,
            Pay(id="p-1", wallet="wallet:U1", merchant="M1", amount_minor=5_000, fee_minor=100),
        )
    renamed = Chart(merchant_payable="payable:{merchant}", fee_income="income:other")
    with Ledger.open(path, clock=clock, chart=renamed) as book:
        book.submit_many([renamed.open_merchant("M1"), *renamed.system_accounts()])
        assert_accepted(book, Refund(id="rf-1", payment="p-1", amount_minor=5_000))
        assert book.balance(MERCHANT).balance == 0
        assert book.balance("income:fees").balance == 0
        assert book.balance("payable:M1").balance == 0
        assert book.balance("wallet:U1").balance == 10_000
