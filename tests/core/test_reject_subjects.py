"""``Rejected.subject``: the account id, the command's field, or the hold, order, loan or
payment id that failed — for a representative refusal of every flow, submitted for real."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs
import pytest

from ledger import (
    Accepted,
    AssignTier,
    CaptureHold,
    CloseAccount,
    ClosePeriod,
    CodDelivered,
    CodRemitted,
    CodReturned,
    Command,
    Credit,
    Debit,
    DefineTier,
    DisburseLoan,
    Exchange,
    ExpireHolds,
    FreezeAccount,
    Ledger,
    OpenAccount,
    Pay,
    PayBill,
    PlaceHold,
    PostEntry,
    RecoverLoan,
    Refund,
    RejectCode,
    RepayLoan,
    Reverse,
    TopUp,
    Transfer,
    UnfreezeAccount,
    Withdraw,
)
from ledger.errors import REJECT_CATEGORIES, RejectCategory
from tests.conftest import (
    FakeClock,
    assert_accepted,
    assert_rejected,
    fund,
    open_wallet_accounts,
    post,
)
from tests.flows.cod.test_cod import open_cod

BKK = ZoneInfo("Asia/Bangkok")


@pytest.fixture
def ledger(clock: FakeClock) -> Iterator[Ledger]:
    book = Ledger.open(":memory:", clock=clock)
    try:
        yield book
    finally:
        book.close()


@pytest.fixture
def wallets(ledger: Ledger) -> Ledger:
    """The default chart, THB wallets U1 and U2, a USD wallet U3, merchant M1, biller B1."""
    return open_wallet_accounts(ledger)


_IDS = itertools.count(1)


def subject_of(book: Ledger, command: Command, code: RejectCode) -> str:
    """Submit ``command`` under a fresh id (a refusal is recorded against its id), assert
    it is refused with ``code`` and changes no balance, and return the refusal's subject."""
    return assert_rejected(book, attrs.evolve(command, id=f"q{next(_IDS)}"), code).subject


# --- accounts ---------------------------------------------------------------------------


def test_account_refusals_name_the_account_or_the_field(ledger: Ledger) -> None:
    def opening(**fields: object) -> OpenAccount:
        base: dict[str, object] = {"account": "a:1", "type": "asset", "currency": "THB"}
        return OpenAccount(**({"id": "o"} | base | fields))  # type: ignore[arg-type]

    code = RejectCode
    assert subject_of(ledger, opening(account="bad id"), code.ACCOUNT_ID_INVALID) == "account"
    assert subject_of(ledger, opening(type="cash"), code.ACCOUNT_TYPE_INVALID) == "type"
    assert subject_of(ledger, opening(currency="XXX"), code.CURRENCY_INVALID) == "currency"
    assert subject_of(ledger, opening(metadata={"k": "v" * 1_001}), code.FIELD_INVALID) == (
        "metadata"
    )
    assert subject_of(ledger, opening(max_balance_minor=0), code.AMOUNT_INVALID) == (
        "max_balance_minor"
    )
    assert_accepted(ledger, opening())
    assert_accepted(ledger, opening(id="o2", account="l:1", type="liability"))
    assert subject_of(ledger, opening(id="o3"), code.ACCOUNT_EXISTS) == "a:1"
    assert subject_of(ledger, opening(id="o3", currency="USD"), code.ACCOUNT_EXISTS_DIFFERENT) == (
        "a:1"
    )
    assert subject_of(ledger, FreezeAccount(id="f", account="a:9"), code.ACCOUNT_NOT_FOUND) == (
        "a:9"
    )
    unfreeze = UnfreezeAccount(id="u", account="a:1")
    assert subject_of(ledger, unfreeze, code.ACCOUNT_NOT_FROZEN) == "a:1"
    freeze = FreezeAccount(id="f", account="a:1", reason="r" * 1_001)
    assert subject_of(ledger, freeze, code.FIELD_INVALID) == "reason"
    post(ledger, "e1", Debit("a:1", 5), Credit("l:1", 5))
    assert subject_of(ledger, CloseAccount(id="c", account="l:1"), code.BALANCE_NOT_ZERO) == "l:1"


# --- entries ----------------------------------------------------------------------------


def test_entry_refusals_name_the_leg_account_or_the_field(
    wallets: Ledger, clock: FakeClock
) -> None:
    code = RejectCode

    def entry(*legs: Debit | Credit, **fields: object) -> PostEntry:
        base: dict[str, object] = {"kind": "adjustment"}
        return PostEntry(id="p", postings=list(legs), **(base | fields))  # type: ignore[arg-type]

    ok = (Debit("bank:trust", 5), Credit("wallet:U1", 5))
    assert subject_of(wallets, entry(*ok, kind="Bad Kind"), code.FIELD_INVALID) == "kind"
    assert subject_of(wallets, entry(*ok, memo="m" * 1_001), code.FIELD_INVALID) == "memo"
    assert subject_of(wallets, entry(*ok, metadata={"bad key": "v"}), code.FIELD_INVALID) == (
        "metadata"
    )
    long_ago = clock.now - timedelta(days=60)
    assert subject_of(wallets, entry(*ok, effective_at=long_ago), code.EFFECTIVE_AT_INVALID) == (
        "effective_at"
    )
    assert subject_of(wallets, entry(ok[0]), code.POSTINGS_INVALID) == "postings"
    missing = entry(Debit("bank:trust", 5), Credit("wallet:nobody", 5))
    assert subject_of(wallets, missing, code.ACCOUNT_NOT_FOUND) == "wallet:nobody"
    malformed = entry(Debit("bank:trust", 5), Credit("bad id", 5))
    assert subject_of(wallets, malformed, code.ACCOUNT_NOT_FOUND) == "postings"
    assert subject_of(
        wallets, entry(Debit("bank:trust", 5), Credit("wallet:U1", 4)), code.UNBALANCED
    ) == ("postings")
    zero = entry(Debit("bank:trust", 5), Credit("wallet:U1", 0))
    assert subject_of(wallets, zero, code.AMOUNT_INVALID) == "wallet:U1"
    usd = entry(Debit("bank:trust", 5), Credit("wallet:U1", 5, "USD"))
    assert subject_of(wallets, usd, code.CURRENCY_MISMATCH) == "wallet:U1"
    short = entry(Debit("wallet:U1", 5), Credit("bank:trust", 5))
    assert subject_of(wallets, short, code.INSUFFICIENT_FUNDS) == "wallet:U1"
    reverse = Reverse(id="r", entry_id="e-none")
    assert subject_of(wallets, reverse, code.ENTRY_NOT_FOUND) == "e-none"
    post(wallets, "e1", *ok)
    assert_accepted(wallets, Reverse(id="r1", entry_id="e1"))
    assert subject_of(wallets, Reverse(id="r2", entry_id="e1"), code.ENTRY_ALREADY_REVERSED) == (
        "e1"
    )
    assert subject_of(
        wallets, ClosePeriod(id="cp", through=clock.now), code.EFFECTIVE_AT_INVALID
    ) == ("through")
    assert_accepted(wallets, ClosePeriod(id="cp1", through=clock.now - timedelta(days=2)))
    backdated = entry(*ok, effective_at=clock.now - timedelta(days=3), backdated=True)
    assert subject_of(wallets, backdated, code.PERIOD_CLOSED) == "effective_at"
    again = ClosePeriod(id="cp2", through=clock.now - timedelta(days=3))
    assert subject_of(wallets, again, code.PERIOD_CLOSED) == "through"


def test_a_refusal_of_no_one_account_or_field_has_no_subject(wallets: Ledger) -> None:
    """A periodic command that finds nothing to do concerns no single account or field."""
    expire = ExpireHolds(id="x", as_of=datetime(2024, 6, 1, 11, tzinfo=BKK))
    assert subject_of(wallets, expire, RejectCode.NOTHING_DUE) == ""


# --- wallet flows -----------------------------------------------------------------------


def test_wallet_refusals_name_the_wallet_or_the_field(wallets: Ledger) -> None:
    code = RejectCode
    top_up = TopUp(id="t", wallet="wallet:nobody", amount_minor=100, channel="bank")
    assert subject_of(wallets, top_up, code.ACCOUNT_NOT_FOUND) == "wallet:nobody"
    top_up = TopUp(id="t", wallet="bad id", amount_minor=100, channel="bank")
    assert subject_of(wallets, top_up, code.ACCOUNT_NOT_FOUND) == "wallet"
    top_up = TopUp(id="t", wallet="wallet:U1", amount_minor=100, fee_minor=100, channel="bank")
    assert subject_of(wallets, top_up, code.AMOUNT_INVALID) == "fee_minor"
    top_up = TopUp(id="t", wallet="wallet:U1", amount_minor=100, channel="pigeon")
    assert subject_of(wallets, top_up, code.FIELD_INVALID) == "channel"
    top_up = TopUp(
        id="t", wallet="wallet:U1", amount_minor=100, channel="bank", funding_account="wallet:U2"
    )
    assert subject_of(wallets, top_up, code.FIELD_INVALID) == "wallet:U2"

    pay = Pay(id="p", wallet="wallet:U1", merchant="M1", amount_minor=100)
    assert subject_of(wallets, pay, code.INSUFFICIENT_FUNDS) == "wallet:U1"
    pay = Pay(id="p", wallet="bank:trust", merchant="M1", amount_minor=100)
    assert subject_of(wallets, pay, code.FIELD_INVALID) == "bank:trust"
    pay = Pay(id="p", wallet="wallet:U1", merchant="bad id", amount_minor=100)
    assert subject_of(wallets, pay, code.FIELD_INVALID) == "merchant"
    pay = Pay(id="p", wallet="wallet:U1", merchant="M1", amount_minor=0)
    assert subject_of(wallets, pay, code.AMOUNT_INVALID) == "amount_minor"
    bill = PayBill(id="b", wallet="wallet:U1", biller="B1", bill_reference=" x", amount_minor=1)
    assert subject_of(wallets, bill, code.FIELD_INVALID) == "bill_reference"

    transfer = Transfer(id="x", source="wallet:U1", destination="wallet:U3:usd", amount_minor=1)
    assert subject_of(wallets, transfer, code.CURRENCY_MISMATCH) == "wallet:U3:usd"
    transfer = Transfer(id="x", source="wallet:U1", destination="wallet:U1", amount_minor=1)
    assert subject_of(wallets, transfer, code.FIELD_INVALID) == "destination"
    withdraw = Withdraw(id="w", wallet="wallet:U1", amount_minor=-1)
    assert subject_of(wallets, withdraw, code.AMOUNT_INVALID) == "amount_minor"
    exchange = Exchange(
        id="fx",
        source="wallet:U1",
        destination="wallet:U2",
        sell_amount_minor=1,
        buy_amount_minor=1,
    )
    assert subject_of(wallets, exchange, code.FIELD_INVALID) == "wallet:U2"

    fund(wallets, "wallet:U1", 1_000)
    assert_accepted(wallets, FreezeAccount(id="fz", account="wallet:U2"))
    transfer = Transfer(id="x", source="wallet:U1", destination="wallet:U2", amount_minor=1)
    assert subject_of(wallets, transfer, code.ACCOUNT_FROZEN) == "wallet:U2"

    assert_accepted(wallets, Pay(id="p1", wallet="wallet:U1", merchant="M1", amount_minor=300))
    assert subject_of(wallets, Refund(id="r", payment="p9"), code.PAYMENT_NOT_FOUND) == "p9"
    assert subject_of(wallets, Refund(id="r", payment="bad id"), code.PAYMENT_NOT_FOUND) == (
        "payment"
    )
    over = Refund(id="r", payment="p1", amount_minor=301)
    assert subject_of(wallets, over, code.REFUND_EXCEEDS_ORIGINAL) == "amount_minor"


def test_tier_refusals_name_the_wallet_or_the_tier(wallets: Ledger) -> None:
    code = RejectCode
    assign = AssignTier(id="a", wallet="wallet:U1", tier="basic")
    assert subject_of(wallets, assign, code.TIER_NOT_FOUND) == "basic"
    define = DefineTier(
        id="d",
        tier="bad tier",
        max_balance_minor=None,
        per_transaction_max_minor=None,
        daily_outflow_max_minor=None,
        monthly_outflow_max_minor=None,
    )
    assert subject_of(wallets, define, code.FIELD_INVALID) == "tier"
    define = DefineTier(
        id="d",
        tier="basic",
        max_balance_minor=None,
        per_transaction_max_minor=0,
        daily_outflow_max_minor=None,
        monthly_outflow_max_minor=None,
    )
    assert subject_of(wallets, define, code.AMOUNT_INVALID) == "per_transaction_max_minor"
    assert_accepted(
        wallets,
        DefineTier(
            id="d1",
            tier="basic",
            max_balance_minor=None,
            per_transaction_max_minor=50,
            daily_outflow_max_minor=None,
            monthly_outflow_max_minor=None,
        ),
    )
    assert_accepted(wallets, assign)
    fund(wallets, "wallet:U1", 1_000)
    transfer = Transfer(id="x", source="wallet:U1", destination="wallet:U2", amount_minor=51)
    assert subject_of(wallets, transfer, code.LIMIT_EXCEEDED) == "wallet:U1"


def test_hold_refusals_name_the_hold_or_the_field(wallets: Ledger, clock: FakeClock) -> None:
    code = RejectCode

    def hold(**fields: object) -> PlaceHold:
        base: dict[str, object] = {
            "hold": "h1",
            "wallet": "wallet:U1",
            "destination": "merchant:M1:payable",
            "amount_minor": 100,
            "expires_at": clock.now + timedelta(hours=1),
        }
        return PlaceHold(**({"id": "ph"} | base | fields))  # type: ignore[arg-type]

    assert subject_of(wallets, hold(hold="bad id"), code.FIELD_INVALID) == "hold"
    past = hold(expires_at=clock.now - timedelta(seconds=1))
    assert subject_of(wallets, past, code.FIELD_INVALID) == "expires_at"
    assert subject_of(wallets, hold(destination="wallet:U1"), code.FIELD_INVALID) == ("destination")
    assert subject_of(wallets, hold(), code.INSUFFICIENT_FUNDS) == "wallet:U1"
    fund(wallets, "wallet:U1", 1_000)
    assert_accepted(wallets, hold(id="ph1"))
    assert subject_of(wallets, hold(id="ph2"), code.HOLD_EXISTS) == "h1"
    capture = CaptureHold(id="c", hold="h9")
    assert subject_of(wallets, capture, code.HOLD_NOT_FOUND) == "h9"
    assert subject_of(wallets, CaptureHold(id="c", hold="bad id"), code.HOLD_NOT_FOUND) == "hold"
    over = CaptureHold(id="c", hold="h1", amount_minor=101)
    assert subject_of(wallets, over, code.CAPTURE_EXCEEDS_HOLD) == "amount_minor"
    clock.advance(timedelta(hours=2))
    assert subject_of(wallets, CaptureHold(id="c", hold="h1"), code.HOLD_EXPIRED) == "h1"


# --- cash on delivery -------------------------------------------------------------------


def test_cod_refusals_name_the_order_or_the_field(ledger: Ledger) -> None:
    code = RejectCode
    book = open_cod(ledger)

    def delivery(**fields: object) -> CodDelivered:
        base: dict[str, object] = {
            "order": "O1",
            "courier": "K1",
            "merchant": "M1",
            "amount_minor": 100_000,
            "commission_minor": 5_000,
            "shipping_minor": 4_000,
        }
        return CodDelivered(**({"id": "d"} | base | fields))  # type: ignore[arg-type]

    assert subject_of(book, delivery(order="bad id"), code.FIELD_INVALID) == "order"
    assert subject_of(book, delivery(commission_minor=96_000), code.AMOUNT_INVALID) == (
        "commission_minor"
    )
    assert subject_of(book, delivery(courier="K9"), code.ACCOUNT_NOT_FOUND) == (
        "courier:K9:cod_receivable"
    )
    assert_accepted(book, delivery(id="d1"))
    assert subject_of(book, delivery(id="d2"), code.ORDER_EXISTS) == "O1"
    assert subject_of(book, CodReturned(id="r", order="O9"), code.ORDER_NOT_FOUND) == "O9"

    def remittance(**fields: object) -> CodRemitted:
        base: dict[str, object] = {
            "remittance": "R1",
            "courier": "K1",
            "orders": ["O1"],
            "amount_minor": 91_000,
        }
        return CodRemitted(**({"id": "rm"} | base | fields))  # type: ignore[arg-type]

    assert subject_of(book, remittance(courier="K2"), code.FIELD_INVALID) == "O1"
    assert subject_of(book, remittance(orders=["O1", "O1"]), code.FIELD_INVALID) == "orders"
    assert subject_of(book, remittance(amount_minor=96_001), code.REMITTANCE_EXCEEDS_DUE) == (
        "amount_minor"
    )
    assert_accepted(book, remittance(id="rm1"))
    assert subject_of(book, remittance(id="rm2"), code.REMITTANCE_EXISTS) == "R1"
    again = remittance(id="rm3", remittance="R2")
    assert subject_of(book, again, code.ORDER_ALREADY_REMITTED) == "O1"


# --- micro-loans ------------------------------------------------------------------------


def test_loan_refusals_name_the_loan_or_the_field(ledger: Ledger, clock: FakeClock) -> None:
    code = RejectCode
    clock.now = datetime.combine(date(2026, 1, 15), time(12), BKK)
    chart = ledger.chart
    results = ledger.open_chart(loans=True)
    results += ledger.submit_many(
        [
            chart.open_wallet("wallet:U1"),
            OpenAccount(id="open:equity", account="equity:capital", type="equity", currency="THB"),
            PostEntry(
                id="capital",
                kind="capital",
                postings=[
                    Debit(chart.loan_bank, 100_000_000),
                    Credit("equity:capital", 100_000_000),
                ],
            ),
        ]
    )
    assert all(isinstance(r, Accepted) for r in results), results

    def loan(**fields: object) -> DisburseLoan:
        base: dict[str, object] = {
            "loan": "L1",
            "borrower": "U1",
            "wallet": "wallet:U1",
            "principal_minor": 1_000_000,
            "annual_rate_bps": 2_800,
            "installments": 6,
            "first_due": date(2026, 2, 15),
        }
        return DisburseLoan(**({"id": "dl"} | base | fields))  # type: ignore[arg-type]

    assert subject_of(ledger, loan(annual_rate_bps=10_001), code.FIELD_INVALID) == (
        "annual_rate_bps"
    )
    assert subject_of(ledger, loan(installments=0), code.FIELD_INVALID) == "installments"
    assert subject_of(ledger, loan(first_due=date(2026, 6, 1)), code.FIELD_INVALID) == ("first_due")
    assert subject_of(ledger, loan(fee_minor=1_000_000), code.AMOUNT_INVALID) == "fee_minor"
    assert subject_of(ledger, loan(wallet="wallet:U9"), code.ACCOUNT_NOT_FOUND) == "wallet:U9"
    assert subject_of(ledger, loan(annual_rate_bps=9_000), code.LOAN_COST_ABOVE_CAP) == "L1"
    assert subject_of(ledger, loan(principal_minor=20_000_000), code.BORROWER_LIMIT_EXCEEDED) == (
        "U1"
    )
    assert_accepted(ledger, loan(id="dl1"))
    assert subject_of(ledger, loan(id="dl2"), code.LOAN_EXISTS) == "L1"
    repay = RepayLoan(id="rp", loan="L9", amount_minor=1)
    assert subject_of(ledger, repay, code.LOAN_NOT_FOUND) == "L9"
    repay = RepayLoan(id="rp", loan="L1", amount_minor=1)
    assert subject_of(ledger, repay, code.NOTHING_DUE) == "L1"
    recover = RecoverLoan(id="rc", loan="L1", amount_minor=1)
    assert subject_of(ledger, recover, code.LOAN_NOT_WRITTEN_OFF) == "L1"


# --- the subject stays small ------------------------------------------------------------


def test_a_malformed_id_is_never_the_subject(wallets: Ledger) -> None:
    """An id too long to be one is reported by its field, so the subject stays small."""
    huge = "w" * 1_000
    top_up = TopUp(id="t", wallet=huge, amount_minor=100, channel="bank")
    rejected = assert_rejected(wallets, top_up, RejectCode.ACCOUNT_NOT_FOUND)
    assert rejected.subject == "wallet"
    assert len(rejected.detail) < 200


def test_every_reject_code_has_exactly_one_category() -> None:
    assert set(REJECT_CATEGORIES) == set(RejectCode)
    assert len(REJECT_CATEGORIES) == len(RejectCode)
    assert all(isinstance(code.category, RejectCategory) for code in RejectCode)
    assert {c.value for c in RejectCategory} == {
        "malformed",
        "not_found",
        "conflict",
        "state",
        "policy",
    }
    # a request to fix, answered 400 by a service (docs/errors.md)
    assert {c for c in RejectCode if c.category is RejectCategory.MALFORMED} == {
        RejectCode.ID_INVALID,
        RejectCode.FIELD_INVALID,
        RejectCode.AMOUNT_INVALID,
        RejectCode.ACCOUNT_ID_INVALID,
        RejectCode.ACCOUNT_TYPE_INVALID,
        RejectCode.CURRENCY_INVALID,
        RejectCode.POSTINGS_INVALID,
        RejectCode.UNBALANCED,
    }
