"""Micro-loans: the 10,000.00 THB loan at 28% over 6 months to the satang, accrual that
never loses a fraction, the repayment waterfall, days past due and stages, provisioning,
write-off, recovery, restructuring and cure, and a rejection (appending nothing) for every
rule.

The worked figures are computed independently of the code: :func:`decimal_schedule`
recomputes the schedule with ``decimal`` at 50 digits by the textbook annuity formula,
and the accrual and default-interest figures are worked out by hand in the comments
(``interest x days elapsed // days in the period``; ``principal x 3,100 bps x days //
3,650,000``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal, getcontext
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ledger import (
    AccrueInterest,
    Credit,
    Debit,
    DisburseLoan,
    FreezeAccount,
    InvalidCommand,
    Ledger,
    LoanPolicy,
    OpenAccount,
    PostEntry,
    ProvisionLoans,
    RecoverLoan,
    RejectCode,
    RepayLoan,
    RestructureLoan,
    Reverse,
    TopUp,
    UnknownLoan,
    WriteOffLoan,
)
from ledger.errors import AmountError
from ledger.events import (
    Allocation,
    BorrowerLoanAdded,
    LoanAccrued,
    LoanDisbursed,
    LoanProvisioned,
    LoanRecovered,
    LoanRepaid,
    LoanRestructured,
    LoanWrittenOff,
)
from ledger.flows.loan_schedule import due_dates
from ledger.flows.loans import INSTALLMENTS_MAX
from ledger.state.loans import ageing, bucket_of, fold_loan
from tests.conftest import (
    FakeClock,
    assert_accepted,
    assert_rejected,
    balance_of,
    leg,
    written,
)

BKK = ZoneInfo("Asia/Bangkok")
START = date(2026, 1, 15)
LENDER_CASH = 1_000_000_000
"""The lender's own money in its bank (10,000,000.00 THB), paid in as equity."""

SCHEDULE = [
    # (number, due, principal, interest): 10,000.00 THB at 28% a year, 6 monthly
    # installments of 1,805.39 THB (the last 1,805.40: it takes the principal left)
    (1, date(2026, 2, 15), 157_206, 23_333),
    (2, date(2026, 3, 15), 160_874, 19_665),
    (3, date(2026, 4, 15), 164_628, 15_911),
    (4, date(2026, 5, 15), 168_469, 12_070),
    (5, date(2026, 6, 15), 172_400, 8_139),
    (6, date(2026, 7, 15), 176_423, 4_117),
]
TOTAL_INTEREST = 83_235


def at(day: date, hour: int = 12) -> datetime:
    """Noon (or ``hour``) of ``day`` in Bangkok."""
    return datetime.combine(day, time(hour), BKK)


def decimal_schedule(
    principal: str, annual_rate: str, periods_a_year: int, count: int
) -> list[tuple[int, int]]:
    """The schedule by the textbook formula in decimal arithmetic, independent of the
    ledger's integer code: payment = P r / (1 - (1 + r)^-n) rounded half up to the
    satang; each interest = balance x r rounded half up; the last principal = the rest.
    (principal, interest) in satang."""
    getcontext().prec = 50
    cent = Decimal("0.01")
    balance, rate = Decimal(principal), Decimal(annual_rate) / periods_a_year
    payment = (balance * rate / (1 - (1 + rate) ** -count)).quantize(cent, ROUND_HALF_UP)
    rows = []
    for k in range(count):
        interest = (balance * rate).quantize(cent, ROUND_HALF_UP)
        paid = balance if k == count - 1 else payment - interest
        rows.append((int(paid * 100), int(interest * 100)))
        balance -= paid
    return rows


def decimal_irr_bps(net_minor: int, payments: list[int], periods_a_year: int) -> int:
    """The reducing-balance annual rate at which ``payments`` are worth ``net_minor``,
    to the basis point: a decimal bisection, independent of the ledger's integer one."""
    getcontext().prec = 50
    low, high = Decimal(0), Decimal(10)
    for _ in range(200):
        middle = (low + high) / 2
        rate = middle / periods_a_year
        worth = sum(Decimal(p) / (1 + rate) ** (k + 1) for k, p in enumerate(payments))
        low, high = (middle, high) if worth > net_minor else (low, middle)
    return int((low * 10_000).quantize(Decimal(1), ROUND_HALF_UP))


@pytest.fixture
def lender(book: Ledger, clock: FakeClock) -> Ledger:
    """The chart with its loan accounts, the lender's capital in ``bank:lending``, and
    wallets ``wallet:U1`` .. ``wallet:U3``; the clock at noon on 15 January 2026."""
    clock.now = at(START)
    chart = book.chart
    results = book.open_chart(loans=True)
    results += book.submit_many(
        [
            *(chart.open_wallet(f"wallet:U{n}") for n in (1, 2, 3)),
            OpenAccount(id="open:equity", account="equity:capital", type="equity", currency="THB"),
            PostEntry(
                id="capital",
                kind="capital",
                postings=[
                    Debit(chart.loan_bank, LENDER_CASH),
                    Credit("equity:capital", LENDER_CASH),
                ],
            ),
        ]
    )
    assert all(r.__class__.__name__ == "Accepted" for r in results), results
    return book


def disburse(book: Ledger, loan: str = "L1", **kwargs: object) -> LoanDisbursed:
    """The loan of the issue by default: 10,000.00 THB at 28% over 6 months to U1."""
    fields: dict[str, object] = {
        "loan": loan,
        "borrower": "U1",
        "wallet": "wallet:U1",
        "principal_minor": 1_000_000,
        "annual_rate_bps": 2_800,
        "installments": 6,
        "first_due": date(2026, 2, 15),
    }
    fields.update(kwargs)
    assert_accepted(book, DisburseLoan(id=f"disburse-{loan}", **fields))  # type: ignore[arg-type]
    event = written(book, f"disburse-{loan}")[0].event
    assert isinstance(event, LoanDisbursed)
    return event


def top_up(book: Ledger, wallet: str, amount_minor: int) -> None:
    assert_accepted(
        book,
        TopUp(id=f"top-{book.head()[0]}", wallet=wallet, amount_minor=amount_minor, channel="bank"),
    )


def repay(book: Ledger, id: str, amount_minor: int, loan: str = "L1") -> LoanRepaid:
    assert_accepted(book, RepayLoan(id=id, loan=loan, amount_minor=amount_minor))
    event = written(book, id)[-1].event
    assert isinstance(event, LoanRepaid)
    return event


# --- the schedule -----------------------------------------------------------------------


def test_the_schedule_of_the_issue_to_the_satang(lender: Ledger) -> None:
    event = disburse(lender)
    rows = [(i.number, i.due, i.principal_minor, i.interest_minor) for i in event.schedule]
    assert rows == SCHEDULE
    assert [(p, i) for _, _, p, i in SCHEDULE] == decimal_schedule("10000.00", "0.28", 12, 6)
    assert sum(p for _, _, p, _ in SCHEDULE) == 1_000_000
    assert {p + i for _, _, p, i in SCHEDULE[:-1]} == {180_539}
    assert event.on == START
    assert event.default_rate_bps == 3_100  # 28% + 3%, under the 33% cap
    assert (event.all_in_rate_bps, event.cap_bps, event.borrower_limit_minor) == (
        2_800,
        3_300,
        10_000_000,
    )


def test_disbursement_postings_move_the_cash_into_the_trust(lender: Ledger) -> None:
    event = disburse(lender, fee_minor=10_000)
    assert event.postings == (
        leg("loans:principal", "debit", 1_000_000),
        leg("wallet:U1", "credit", 1_000_000),
        leg("wallet:U1", "debit", 10_000),
        leg("liability:deferred_loan_fees", "credit", 10_000),
        leg("bank:trust", "debit", 990_000),
        leg("bank:lending", "credit", 990_000),
    )
    assert balance_of(lender, "wallet:U1") == 990_000 == balance_of(lender, "bank:trust")
    assert balance_of(lender, "bank:lending") == LENDER_CASH - 990_000
    [added] = [r.event for r in lender.events() if r.stream == "borrower:U1"]
    assert added == BorrowerLoanAdded(borrower="U1", loan="L1", principal_minor=1_000_000)


def test_weekly_and_biweekly_schedules_and_month_ends() -> None:
    assert due_dates(date(2026, 1, 31), 4, "monthly") == [
        date(2026, 1, 31),
        date(2026, 2, 28),
        date(2026, 3, 31),
        date(2026, 4, 30),
    ]
    assert due_dates(date(2026, 1, 20), 3, "weekly") == [
        date(2026, 1, 20),
        date(2026, 1, 27),
        date(2026, 2, 3),
    ]
    assert due_dates(date(2026, 1, 20), 2, "biweekly") == [date(2026, 1, 20), date(2026, 2, 3)]


def test_a_weekly_loan_uses_a_weekly_rate(lender: Ledger) -> None:
    event = disburse(lender, installments=8, first_due=date(2026, 1, 22), frequency="weekly")
    expected = decimal_schedule("10000.00", "0.28", 52, 8)
    assert [(i.principal_minor, i.interest_minor) for i in event.schedule] == expected
    assert event.schedule[-1].due == date(2026, 3, 12)


def test_a_zero_rate_loan_splits_the_principal(lender: Ledger) -> None:
    event = disburse(lender, principal_minor=100_000, annual_rate_bps=0, installments=3)
    assert [(i.principal_minor, i.interest_minor) for i in event.schedule] == [
        (33_333, 0),
        (33_333, 0),
        (33_334, 0),
    ]
    assert event.all_in_rate_bps == 0


# --- accrual ----------------------------------------------------------------------------


def test_accrual_recognises_each_period_evenly(lender: Ledger, clock: FakeClock) -> None:
    disburse(lender)
    clock.now = at(date(2026, 1, 31))
    assert_accepted(lender, AccrueInterest(id="acc-1", as_of=date(2026, 1, 31)))
    [record] = written(lender, "acc-1")
    assert isinstance(record.event, LoanAccrued)
    # 16 of installment 1's 31 days: 23,333 x 16 // 31 = 12,042
    assert record.event.lines[0].interest_minor == 12_042
    assert record.event.postings == (
        leg("loans:interest_receivable", "debit", 12_042),
        leg("income:loan_interest", "credit", 12_042),
    )
    # the same day again posts nothing
    assert_rejected(
        lender, AccrueInterest(id="acc-2", as_of=date(2026, 1, 31)), RejectCode.NOTHING_DUE
    )
    assert_rejected(
        lender, AccrueInterest(id="acc-3", as_of=date(2026, 1, 20)), RejectCode.NOTHING_DUE
    )
    # a day not yet begun cannot be accrued
    assert_rejected(
        lender, AccrueInterest(id="acc-4", as_of=date(2026, 2, 1)), RejectCode.FIELD_INVALID
    )


def _accrue_daily(book: Ledger, clock: FakeClock, first: date, last: date, step: int) -> None:
    day = first
    while day <= last:
        clock.now = at(day, 23)
        result = book.submit(AccrueInterest(id=f"acc-{day}", as_of=day))
        assert result.__class__.__name__ == "Accepted" or result.code is RejectCode.NOTHING_DUE  # type: ignore[union-attr]
        day += timedelta(days=step)


@pytest.mark.parametrize("late", [False, True])
def test_accruing_day_by_day_equals_accruing_once(late: bool) -> None:
    """Three ledgers, the same loan (with a fee, never paid, so default interest runs
    too): one accrues every day, one every 13 days, one only at the end. At the end
    every receivable and income is the same to the satang."""
    totals = []
    for step in (1, 13, 200):
        clock = FakeClock(at(START))
        with Ledger.open(":memory:", clock=clock) as book:
            _lender_with(book, clock)
            disburse(book, fee_minor=7_777)
            end = date(2026, 9, 1) if late else date(2026, 4, 30)
            _accrue_daily(book, clock, START + timedelta(days=1), end, step)
            clock.now = at(end, 23)
            book.submit(AccrueInterest(id="acc-end", as_of=end))
            totals.append(
                {
                    b.account: b.balance
                    for b in book.balances()
                    if b.account.startswith(("loans:", "income:", "liability:deferred"))
                }
            )
    assert totals[0] == totals[1] == totals[2]
    # never paid: default interest on each installment's principal from the day after
    # its due date to the end, at 31%, the floor of the whole span's sum
    days = [max(0, (end - due).days) for _, due, _, _ in SCHEDULE]
    default = sum(
        p * 3_100 * d // 3_650_000 for (_, _, p, _), d in zip(SCHEDULE, days, strict=True)
    )
    assert totals[0]["loans:default_interest_receivable"] == default > 0
    if late:  # every installment was due by 1 September
        assert totals[0]["loans:interest_receivable"] == TOTAL_INTEREST
        assert totals[0]["income:loan_fees"] == 7_777
    else:
        # through 30 April: installments 1-3 in full, 15 of installment 4's 30 days
        interest = 23_333 + 19_665 + 15_911 + 12_070 * 15 // 30
        assert totals[0]["loans:interest_receivable"] == interest
        # the fee over the term 15 Jan - 15 Jul (181 days): 105 days earned
        assert totals[0]["income:loan_fees"] == 7_777 * 105 // 181


# --- repayment --------------------------------------------------------------------------


def test_the_loan_repaid_on_time_to_the_satang(lender: Ledger, clock: FakeClock) -> None:
    disburse(lender)
    top_up(lender, "wallet:U1", 100_000)
    for number, due, principal, interest in SCHEDULE:
        clock.now = at(due)
        event = repay(lender, f"pay-{number}", 200_000)
        assert event.amount_minor == principal + interest
        assert event.requested_minor == 200_000
        assert event.allocations == (
            Allocation(number=number, interest_minor=interest, principal_minor=principal),
        )
        assert event.paid_off is (number == 6)
    assert lender.balance("income:loan_interest").balance == TOTAL_INTEREST
    for account in ("loans:principal", "loans:interest_receivable"):
        assert balance_of(lender, account) == 0
    # 10,000 + 1,000 topped up, 11,040.... paid: the rest stays in the wallet
    left = 1_000_000 + 100_000 - 1_000_000 - TOTAL_INTEREST
    assert balance_of(lender, "wallet:U1") == left == balance_of(lender, "bank:trust")
    assert balance_of(lender, "bank:lending") == LENDER_CASH + TOTAL_INTEREST
    loan = lender.loan("L1")
    assert loan.status == "paid_off"
    assert [r.amount_minor for r in loan.repayments] == [180_539] * 5 + [180_540]
    assert_rejected(
        lender, RepayLoan(id="again", loan="L1", amount_minor=1), RejectCode.LOAN_NOT_ACTIVE
    )
    assert_rejected(
        lender, AccrueInterest(id="acc", as_of=date(2026, 7, 15)), RejectCode.NOTHING_DUE
    )


def test_a_repayment_posts_the_waterfall_and_moves_the_cash_back(
    lender: Ledger, clock: FakeClock
) -> None:
    disburse(lender)
    clock.now = at(date(2026, 2, 15))
    event = repay(lender, "pay", 50_000)
    # the accrual to today comes first, in its own event
    accrued, repaid = (r.event for r in written(lender, "pay"))
    assert isinstance(accrued, LoanAccrued) and accrued.through == date(2026, 2, 15)
    assert isinstance(repaid, LoanRepaid)
    assert event.allocations == (
        Allocation(number=1, interest_minor=23_333, principal_minor=26_667),
    )
    assert event.postings == (
        leg("wallet:U1", "debit", 50_000),
        leg("loans:interest_receivable", "credit", 23_333),
        leg("loans:principal", "credit", 26_667),
        leg("bank:lending", "debit", 50_000),
        leg("bank:trust", "credit", 50_000),
    )


def test_the_loan_paid_late_pays_default_interest_first(lender: Ledger, clock: FakeClock) -> None:
    disburse(lender)
    top_up(lender, "wallet:U1", 500_000)
    clock.now = at(date(2026, 2, 25))
    assert lender.loans()[0].days_past_due == 10
    event = repay(lender, "late", 400_000)
    # 157,206 overdue for 16..25 February (10 days) at 31%: 157,206 x 3,100 x 10 //
    # 3,650,000 = 1,335; installment 2 is not due yet, so the excess stays
    assert event.allocations == (
        Allocation(
            number=1, interest_minor=23_333, default_interest_minor=1_335, principal_minor=157_206
        ),
    )
    assert event.amount_minor == 181_874
    assert balance_of(lender, "income:loan_default_interest") == 1_335
    assert balance_of(lender, "loans:default_interest_receivable") == 0
    # the rest of the loan on time: no more default interest
    for number, due, principal, interest in SCHEDULE[1:]:
        clock.now = at(due)
        assert repay(lender, f"pay-{number}", 400_000).amount_minor == principal + interest
    assert lender.loan("L1").status == "paid_off"
    assert balance_of(lender, "income:loan_default_interest") == 1_335
    assert balance_of(lender, "income:loan_interest") == TOTAL_INTEREST


def test_oldest_installment_first_and_interest_before_principal(
    lender: Ledger, clock: FakeClock
) -> None:
    disburse(lender)
    top_up(lender, "wallet:U1", 500_000)
    clock.now = at(date(2026, 3, 20))  # installments 1 and 2 overdue
    event = repay(lender, "part", 200_000)
    # installment 1 overdue 16 Feb - 20 Mar (33 days): 157,206 x 3,100 x 33 // 3,650,000
    # = 4,406; installment 2 overdue 16-20 Mar (5 days): 160,874 x 3,100 x 5 // 3,650,000
    # = 683
    assert event.allocations == (
        Allocation(
            number=1, interest_minor=23_333, default_interest_minor=4_406, principal_minor=157_206
        ),
        Allocation(number=2, interest_minor=15_055),
    )
    event = repay(lender, "rest", 200_000)
    assert event.allocations == (
        Allocation(
            number=2,
            interest_minor=19_665 - 15_055,
            default_interest_minor=683,
            principal_minor=160_874,
        ),
    )
    assert_rejected(lender, RepayLoan(id="more", loan="L1", amount_minor=1), RejectCode.NOTHING_DUE)


def test_repaying_from_another_wallet_and_the_wallet_rules(
    lender: Ledger, clock: FakeClock
) -> None:
    disburse(lender)
    clock.now = at(date(2026, 2, 15))
    top_up(lender, "wallet:U2", 300_000)
    assert_accepted(
        lender, RepayLoan(id="by-u2", loan="L1", amount_minor=180_539, wallet="wallet:U2")
    )
    assert balance_of(lender, "wallet:U2") == 300_000 - 180_539
    clock.now = at(date(2026, 3, 15))
    assert_rejected(
        lender,
        RepayLoan(id="short", loan="L1", amount_minor=180_539, wallet="wallet:U3"),
        RejectCode.INSUFFICIENT_FUNDS,
    )
    assert_rejected(
        lender,
        RepayLoan(id="nobody", loan="L1", amount_minor=1, wallet="wallet:nobody"),
        RejectCode.ACCOUNT_NOT_FOUND,
    )
    assert_rejected(
        lender,
        RepayLoan(id="bank", loan="L1", amount_minor=1, wallet="bank:trust"),
        RejectCode.FIELD_INVALID,
    )
    assert_accepted(lender, FreezeAccount(id="freeze", account="wallet:U1"))
    assert_rejected(
        lender, RepayLoan(id="frozen", loan="L1", amount_minor=1), RejectCode.ACCOUNT_FROZEN
    )


def test_repayment_rejections(lender: Ledger, clock: FakeClock) -> None:
    assert_rejected(lender, RepayLoan(id="r", loan="L9", amount_minor=1), RejectCode.LOAN_NOT_FOUND)
    assert_rejected(
        lender, RepayLoan(id="r", loan="bad id", amount_minor=1), RejectCode.FIELD_INVALID
    )
    disburse(lender)
    for amount in (0, -5, 2**63):
        assert_rejected(
            lender, RepayLoan(id="r", loan="L1", amount_minor=amount), RejectCode.AMOUNT_INVALID
        )
    # nothing is due before the first due date
    clock.now = at(date(2026, 2, 14))
    rejected = assert_rejected(
        lender, RepayLoan(id="r", loan="L1", amount_minor=1), RejectCode.NOTHING_DUE
    )
    assert "2026-02-15" in rejected.detail
    with pytest.raises(AmountError):
        RepayLoan(id="r", loan="L1", amount_minor=1.5)  # type: ignore[arg-type]
    with pytest.raises(AmountError):
        RepayLoan(id="r", loan="L1", amount_minor=True)


def test_a_retried_repayment_is_answered_and_posts_once(lender: Ledger, clock: FakeClock) -> None:
    disburse(lender)
    clock.now = at(date(2026, 2, 15))
    first = lender.submit(RepayLoan(id="pay", loan="L1", amount_minor=180_539))
    head = lender.head()
    again = lender.submit(RepayLoan(id="pay", loan="L1", amount_minor=180_539))
    assert again.replayed and again.seq == first.seq  # type: ignore[union-attr]
    assert lender.head() == head
    assert_rejected(
        lender, RepayLoan(id="pay", loan="L1", amount_minor=5), RejectCode.IDEMPOTENCY_CONFLICT
    )
    assert_rejected(lender, Reverse(id="undo", entry_id="pay"), RejectCode.ENTRY_NOT_REVERSIBLE)


# --- disbursement rules -----------------------------------------------------------------


def test_the_borrower_limit_counts_other_open_loans(lender: Ledger, clock: FakeClock) -> None:
    disburse(lender, "L1", principal_minor=6_000_000)
    rejected = assert_rejected(
        lender,
        DisburseLoan(
            id="d2",
            loan="L2",
            borrower="U1",
            wallet="wallet:U2",
            principal_minor=4_000_001,
            annual_rate_bps=2_800,
            installments=6,
            first_due=date(2026, 2, 15),
        ),
        RejectCode.BORROWER_LIMIT_EXCEEDED,
    )
    assert "6000000" in rejected.detail
    disburse(lender, "L2", principal_minor=4_000_000, wallet="wallet:U2")
    # another borrower is not counted; a repaid principal no longer is
    disburse(lender, "L3", borrower="U3", wallet="wallet:U3", principal_minor=10_000_000)
    clock.now = at(date(2026, 2, 15))
    top_up(lender, "wallet:U1", 200_000)
    paid = repay(lender, "pay", 2_000_000, loan="L1")
    principal = sum(a.principal_minor for a in paid.allocations)
    disburse(lender, "L4", principal_minor=principal, first_due=date(2026, 3, 15))
    assert_rejected(
        lender,
        DisburseLoan(
            id="d5",
            loan="L5",
            borrower="U1",
            wallet="wallet:U1",
            principal_minor=1,
            annual_rate_bps=0,
            installments=1,
            first_due=date(2026, 3, 15),
        ),
        RejectCode.BORROWER_LIMIT_EXCEEDED,
    )


def test_the_all_in_cost_cap_counts_fees(lender: Ledger) -> None:
    # at the cap with no fee: accepted
    assert disburse(lender, "L1", annual_rate_bps=3_300).all_in_rate_bps == 3_300
    # 28% plus a 1% fee: 31.60% a year all in, under the cap
    event = disburse(lender, "L2", borrower="U2", wallet="wallet:U2", fee_minor=10_000)
    payments = [i.principal_minor + i.interest_minor for i in event.schedule]
    assert event.all_in_rate_bps == decimal_irr_bps(990_000, payments, 12) == 3_160
    # 28% plus a 2% fee: 35.27%, above it
    rejected = assert_rejected(
        lender,
        DisburseLoan(
            id="d3",
            loan="L3",
            borrower="U3",
            wallet="wallet:U3",
            principal_minor=1_000_000,
            annual_rate_bps=2_800,
            installments=6,
            first_due=date(2026, 2, 15),
            fee_minor=20_000,
        ),
        RejectCode.LOAN_COST_ABOVE_CAP,
    )
    assert "35.27%" in rejected.detail and "33.00%" in rejected.detail
    assert_rejected(
        lender,
        DisburseLoan(
            id="d4",
            loan="L4",
            borrower="U3",
            wallet="wallet:U3",
            principal_minor=1_000_000,
            annual_rate_bps=3_400,
            installments=6,
            first_due=date(2026, 2, 15),
        ),
        RejectCode.LOAN_COST_ABOVE_CAP,
    )
    # a fee of almost everything: far above any rate
    assert_rejected(
        lender,
        DisburseLoan(
            id="d5",
            loan="L5",
            borrower="U3",
            wallet="wallet:U3",
            principal_minor=1_000_000,
            annual_rate_bps=0,
            installments=1,
            first_due=date(2026, 2, 15),
            fee_minor=999_999,
        ),
        RejectCode.LOAN_COST_ABOVE_CAP,
    )


def test_default_interest_never_passes_the_cap(book: Ledger, clock: FakeClock) -> None:
    event = disburse(_lender_with(book, clock), annual_rate_bps=3_200)
    assert event.default_rate_bps == 3_300  # 32% + 3% would be 35%: held at the cap


def _lender_with(book: Ledger, clock: FakeClock) -> Ledger:
    clock.now = at(START)
    book.open_chart(loans=True)
    book.submit(book.chart.open_wallet("wallet:U1"))
    book.submit(OpenAccount(id="eq", account="equity:c", type="equity", currency="THB"))
    book.submit(
        PostEntry(
            id="cap",
            kind="capital",
            postings=[Debit("bank:lending", LENDER_CASH), Credit("equity:c", LENDER_CASH)],
        )
    )
    return book


def test_a_policy_sets_every_figure_and_the_event_records_it() -> None:
    clock = FakeClock(at(START))
    policy = LoanPolicy(borrower_limit_minor=500_000, annual_cap_bps=2_500, default_margin_bps=100)
    with Ledger.open(":memory:", clock=clock, loans=policy) as book:
        _lender_with(book, clock)
        cmd = {
            "borrower": "U1",
            "wallet": "wallet:U1",
            "installments": 3,
            "first_due": date(2026, 2, 15),
        }
        r = book.submit(
            DisburseLoan(id="a", loan="A", principal_minor=500_001, annual_rate_bps=2_000, **cmd)
        )  # type: ignore[arg-type]
        assert r.code is RejectCode.BORROWER_LIMIT_EXCEEDED  # type: ignore[union-attr]
        r = book.submit(
            DisburseLoan(id="b", loan="B", principal_minor=500_000, annual_rate_bps=2_600, **cmd)
        )  # type: ignore[arg-type]
        assert r.code is RejectCode.LOAN_COST_ABOVE_CAP  # type: ignore[union-attr]
        event = disburse(book, "C", principal_minor=500_000, annual_rate_bps=2_000, installments=3)
        assert (event.cap_bps, event.borrower_limit_minor, event.default_rate_bps) == (
            2_500,
            500_000,
            2_100,
        )
    for bad in (
        {"annual_cap_bps": 10_001},
        {"borrower_limit_minor": 0},
        {"provision_bps": (1, 2)},
        {"stage_3_after_days": 30},
        {"cure_payments": True},
    ):
        with pytest.raises(InvalidCommand):
            LoanPolicy(**bad)  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand):
        Ledger.open(":memory:", loans="strict")  # type: ignore[arg-type]


def test_disbursement_rejections_change_nothing(lender: Ledger) -> None:
    base = {
        "loan": "L1",
        "borrower": "U1",
        "wallet": "wallet:U1",
        "principal_minor": 1_000_000,
        "annual_rate_bps": 2_800,
        "installments": 6,
        "first_due": date(2026, 2, 15),
    }
    cases: list[tuple[dict[str, object], RejectCode]] = [
        ({"loan": "no spaces"}, RejectCode.FIELD_INVALID),
        ({"borrower": ""}, RejectCode.FIELD_INVALID),
        ({"annual_rate_bps": -1}, RejectCode.FIELD_INVALID),
        ({"annual_rate_bps": 10_001}, RejectCode.FIELD_INVALID),
        ({"installments": 0}, RejectCode.FIELD_INVALID),
        ({"installments": INSTALLMENTS_MAX + 1}, RejectCode.FIELD_INVALID),
        ({"frequency": "daily"}, RejectCode.FIELD_INVALID),
        ({"first_due": START}, RejectCode.FIELD_INVALID),
        ({"first_due": date(2026, 3, 16)}, RejectCode.FIELD_INVALID),
        ({"frequency": "weekly", "first_due": date(2026, 1, 30)}, RejectCode.FIELD_INVALID),
        ({"principal_minor": 0}, RejectCode.AMOUNT_INVALID),
        ({"principal_minor": 2**63}, RejectCode.AMOUNT_INVALID),
        ({"fee_minor": -1}, RejectCode.AMOUNT_INVALID),
        ({"fee_minor": 1_000_000}, RejectCode.AMOUNT_INVALID),
        ({"principal_minor": 5}, RejectCode.AMOUNT_INVALID),  # 6 installments of 5 satang
        ({"wallet": "wallet:nobody"}, RejectCode.ACCOUNT_NOT_FOUND),
        ({"wallet": "bank:trust"}, RejectCode.FIELD_INVALID),
        ({"principal_minor": 10_000_001}, RejectCode.BORROWER_LIMIT_EXCEEDED),
    ]
    for change, code in cases:
        assert_rejected(lender, DisburseLoan(id="d", **{**base, **change}), code)  # type: ignore[arg-type]
    disburse(lender)
    assert_rejected(lender, DisburseLoan(id="d2", **base), RejectCode.LOAN_EXISTS)  # type: ignore[arg-type]
    assert_accepted(lender, FreezeAccount(id="f", account="wallet:U2"))
    assert_rejected(
        lender,
        DisburseLoan(id="d3", **{**base, "loan": "L2", "borrower": "U2", "wallet": "wallet:U2"}),
        RejectCode.ACCOUNT_FROZEN,  # type: ignore[arg-type]
    )


def test_the_lender_cannot_lend_money_it_does_not_have(book: Ledger, clock: FakeClock) -> None:
    clock.now = at(START)
    book.open_chart(loans=True)
    book.submit(book.chart.open_wallet("wallet:U1"))
    assert_rejected(
        book,
        DisburseLoan(
            id="d",
            loan="L1",
            borrower="U1",
            wallet="wallet:U1",
            principal_minor=100,
            annual_rate_bps=0,
            installments=1,
            first_due=date(2026, 2, 15),
        ),
        RejectCode.INSUFFICIENT_FUNDS,
    )


@pytest.mark.parametrize(
    "field, value",
    [
        ("principal_minor", 100.0),
        ("annual_rate_bps", "2800"),
        ("installments", True),
        ("first_due", datetime(2026, 2, 15, tzinfo=UTC)),
        ("first_due", "2026-02-15"),
        ("loan", 7),
    ],
)
def test_wrong_types_raise_at_once(field: str, value: object) -> None:
    fields: dict[str, object] = {
        "loan": "L1",
        "borrower": "U1",
        "wallet": "wallet:U1",
        "principal_minor": 100,
        "annual_rate_bps": 2_800,
        "installments": 6,
        "first_due": date(2026, 2, 15),
        field: value,
    }
    with pytest.raises(InvalidCommand):
        DisburseLoan(id="d", **fields)  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand):
        AccrueInterest(id="a", as_of=datetime(2026, 1, 1, tzinfo=UTC))  # type: ignore[arg-type]


def test_no_other_flow_touches_the_loan_accounts(lender: Ledger) -> None:
    assert_rejected(
        lender,
        TopUp(
            id="t",
            wallet="wallet:U1",
            amount_minor=100,
            channel="bank",
            funding_account="loans:principal",
        ),
        RejectCode.FIELD_INVALID,
    )
    assert lender.chart.flow_account("liability:deferred_loan_fees")
    assert not lender.chart.flow_account("wallet:U1")


# --- days past due, stages, ageing -------------------------------------------------------


def test_days_past_due_stage_and_bucket_for_any_day(lender: Ledger, clock: FakeClock) -> None:
    disburse(lender)
    clock.now = at(date(2026, 8, 1))
    expected = [
        (date(2026, 2, 15), 0, "current", 1),  # due today: not late yet
        (date(2026, 2, 16), 1, "1-30", 1),
        (date(2026, 3, 17), 30, "1-30", 1),
        (date(2026, 3, 18), 31, "31-60", 2),
        (date(2026, 5, 16), 90, "61-90", 2),
        (date(2026, 5, 17), 91, "91-180", 3),
    ]
    for day, dpd, bucket, stage in expected:
        [status] = lender.loans(day)
        assert (status.days_past_due, status.bucket, status.stage) == (dpd, bucket, stage), day
    assert lender.loans(date(2026, 1, 14)) == []  # before it was disbursed
    with pytest.raises(UnknownLoan):
        lender.loan("L1", as_of=date(2026, 1, 14))
    with pytest.raises(UnknownLoan):
        lender.loan("L9")
    assert [bucket_of(d) for d in (0, 1, 30, 31, 60, 61, 90, 91, 180, 181, 360, 361)] == [
        "current",
        "1-30",
        "1-30",
        "31-60",
        "31-60",
        "61-90",
        "61-90",
        "91-180",
        "91-180",
        "181-360",
        "181-360",
        "over 360",
    ]


def test_a_past_view_is_unchanged_by_later_events(lender: Ledger, clock: FakeClock) -> None:
    disburse(lender)
    clock.now = at(date(2026, 3, 1))
    before = lender.loans(date(2026, 2, 20))
    top_up(lender, "wallet:U1", 100_000)
    repay(lender, "late", 200_000)
    assert lender.loans(date(2026, 2, 20)) == before
    assert before[0].days_past_due == 5
    [now] = lender.loans(date(2026, 3, 1))
    assert now.days_past_due == 0 and now.principal_outstanding_minor == 1_000_000 - 157_206


def test_the_ageing_table(lender: Ledger, clock: FakeClock) -> None:
    disburse(lender, "L1")
    clock.now = at(date(2026, 2, 1))
    disburse(
        lender,
        "L2",
        borrower="U2",
        wallet="wallet:U2",
        principal_minor=500_000,
        first_due=date(2026, 3, 1),
    )
    disburse(
        lender,
        "L3",
        borrower="U3",
        wallet="wallet:U3",
        principal_minor=200_000,
        first_due=date(2026, 2, 8),
        installments=4,
        frequency="weekly",
    )
    clock.now = at(date(2026, 3, 15))
    rows = {r.bucket: (r.loans, r.principal_minor) for r in ageing(lender.loans())}
    assert list(rows) == ["current", "1-30", "31-60", "61-90", "91-180", "181-360", "over 360"]
    # L1 due 15 Feb: 28 days; L3 due 8 Feb: 35 days; L2 due 1 Mar: 14 days
    assert rows["1-30"] == (2, 1_500_000)
    assert rows["31-60"] == (1, 200_000)
    assert rows["current"] == (0, 0)


# --- provisioning, write-off, recovery ----------------------------------------------------


def test_provisioning_trues_up_by_stage(lender: Ledger, clock: FakeClock) -> None:
    disburse(lender)
    assert_accepted(lender, ProvisionLoans(id="p0", as_of=START))
    [record] = written(lender, "p0")
    event = record.event
    assert isinstance(event, LoanProvisioned)
    assert (event.stage, event.exposure_minor, event.rate_bps, event.allowance_minor) == (
        1,
        1_000_000,
        100,
        10_000,
    )
    assert event.postings == (
        leg("expense:expected_credit_loss", "debit", 10_000),
        leg("loans:allowance", "credit", 10_000),
    )
    assert_rejected(lender, ProvisionLoans(id="p0b", as_of=START), RejectCode.NOTHING_DUE)
    # 31 days past due on 18 March: stage 2, 20% of principal and interest accrued
    clock.now = at(date(2026, 3, 18))
    assert_accepted(lender, AccrueInterest(id="acc", as_of=date(2026, 3, 18)))
    loan = lender.loan("L1")
    exposure = loan.exposure_minor
    assert exposure == 1_000_000 + loan.interest_outstanding_minor + loan.default_outstanding_minor
    assert_accepted(lender, ProvisionLoans(id="p1", as_of=date(2026, 3, 18)))
    event = written(lender, "p1")[0].event
    assert isinstance(event, LoanProvisioned)
    assert (event.stage, event.days_past_due, event.rate_bps) == (2, 31, 2_000)
    assert event.allowance_minor == (exposure * 2_000 + 5_000) // 10_000
    assert balance_of(lender, "loans:allowance") == -event.allowance_minor  # a contra-asset
    assert balance_of(lender, "expense:expected_credit_loss") == event.allowance_minor
    # paid up again: stage 1, the allowance released down to 1%
    top_up(lender, "wallet:U1", 500_000)
    repay(lender, "catch-up", 500_000)
    assert_accepted(lender, ProvisionLoans(id="p2", as_of=date(2026, 3, 18)))
    event = written(lender, "p2")[0].event
    assert isinstance(event, LoanProvisioned) and event.stage == 1
    assert event.postings[0] == leg(
        "expense:expected_credit_loss", "credit", event.postings[0].amount_minor
    )
    assert -balance_of(lender, "loans:allowance") == event.allowance_minor
    assert_rejected(
        lender, ProvisionLoans(id="p3", as_of=date(2026, 3, 19)), RejectCode.FIELD_INVALID
    )


def test_write_off_and_recovery(lender: Ledger, clock: FakeClock) -> None:
    disburse(lender, fee_minor=10_000)
    clock.now = at(date(2026, 6, 1))  # 106 days past due: stage 3
    assert_accepted(lender, AccrueInterest(id="acc", as_of=date(2026, 6, 1)))
    assert_accepted(lender, ProvisionLoans(id="prov", as_of=date(2026, 6, 1)))
    provisioned = written(lender, "prov")[0].event
    assert isinstance(provisioned, LoanProvisioned) and provisioned.stage == 3
    assert provisioned.allowance_minor == provisioned.exposure_minor  # 100%
    clock.now = at(date(2026, 6, 10))
    assert_accepted(lender, WriteOffLoan(id="off", loan="L1"))
    accrued, off = (r.event for r in written(lender, "off"))
    assert isinstance(accrued, LoanAccrued) and isinstance(off, LoanWrittenOff)
    assert off.principal_minor == 1_000_000
    exposure = off.principal_minor + off.interest_minor + off.default_interest_minor
    assert off.allowance_used_minor == exposure
    # the allowance is topped up by what accrued since provisioning, then used
    assert off.postings[0] == leg(
        "expense:expected_credit_loss", "debit", exposure - provisioned.allowance_minor
    )
    for account in (
        "loans:principal",
        "loans:interest_receivable",
        "loans:default_interest_receivable",
        "loans:allowance",
        "liability:deferred_loan_fees",
    ):
        assert balance_of(lender, account) == 0, account
    assert balance_of(lender, "expense:expected_credit_loss") == exposure
    assert balance_of(lender, "income:loan_fees") == 10_000
    assert lender.loan("L1").status == "written_off"
    [status] = lender.loans()
    assert (status.status, status.stage, status.principal_outstanding_minor) == (
        "written_off",
        3,
        0,
    )
    assert_rejected(lender, WriteOffLoan(id="off2", loan="L1"), RejectCode.LOAN_NOT_ACTIVE)
    assert_rejected(
        lender, RepayLoan(id="r", loan="L1", amount_minor=1), RejectCode.LOAN_NOT_ACTIVE
    )
    assert_rejected(
        lender, AccrueInterest(id="acc2", as_of=date(2026, 6, 10)), RejectCode.NOTHING_DUE
    )
    # recoveries, from the wallet and from a collector to the bank, up to what was written off
    assert_accepted(lender, RecoverLoan(id="rec1", loan="L1", amount_minor=300_000))
    [rec] = written(lender, "rec1")
    assert isinstance(rec.event, LoanRecovered)
    assert rec.event.postings == (
        leg("wallet:U1", "debit", 300_000),
        leg("bank:lending", "debit", 300_000),
        leg("bank:trust", "credit", 300_000),
        leg("income:loan_recoveries", "credit", 300_000),
    )
    assert_accepted(lender, RecoverLoan(id="rec2", loan="L1", amount_minor=100_000, from_bank=True))
    assert_rejected(
        lender,
        RecoverLoan(id="rec3", loan="L1", amount_minor=exposure - 399_999),
        RejectCode.RECOVERY_EXCEEDS_WRITTEN_OFF,
    )
    assert balance_of(lender, "income:loan_recoveries") == 400_000


def test_recovery_rejections(lender: Ledger) -> None:
    assert_rejected(
        lender, RecoverLoan(id="r", loan="L9", amount_minor=1), RejectCode.LOAN_NOT_FOUND
    )
    disburse(lender)
    assert_rejected(
        lender, RecoverLoan(id="r", loan="L1", amount_minor=1), RejectCode.LOAN_NOT_WRITTEN_OFF
    )
    assert_rejected(
        lender, RecoverLoan(id="r", loan="L1", amount_minor=0), RejectCode.AMOUNT_INVALID
    )
    assert_rejected(lender, WriteOffLoan(id="w", loan="L9"), RejectCode.LOAN_NOT_FOUND)
    assert_rejected(lender, WriteOffLoan(id="w", loan=""), RejectCode.FIELD_INVALID)


# --- restructuring and cure ---------------------------------------------------------------


def test_restructure_carries_arrears_and_cures_after_three_on_time(
    lender: Ledger, clock: FakeClock
) -> None:
    disburse(lender)
    top_up(lender, "wallet:U1", 2_000_000)
    clock.now = at(date(2026, 5, 20))  # 94 days past due: stage 3
    assert lender.loans()[0].stage == 3
    assert_accepted(
        lender, RestructureLoan(id="re", loan="L1", installments=6, first_due=date(2026, 6, 20))
    )
    accrued, restructured = (r.event for r in written(lender, "re"))
    assert isinstance(accrued, LoanAccrued) and isinstance(restructured, LoanRestructured)
    assert restructured.stage == 3 and restructured.cure_payments == 3
    new = restructured.schedule
    assert [i.number for i in new] == [7, 8, 9, 10, 11, 12]
    assert sum(i.principal_minor for i in new) == 1_000_000
    rebuilt = decimal_schedule("10000.00", "0.28", 12, 6)
    assert [(i.principal_minor, i.interest_minor) for i in new] == rebuilt
    # installments 1-4 in full, 5 days of installment 5's 31: all carried, unpaid
    interest = 23_333 + 19_665 + 15_911 + 12_070 + 8_139 * 5 // 31
    assert new[0].carried_interest_minor == interest
    assert new[0].carried_default_minor == lender.loan("L1").parts[-6].carried_default_minor > 0
    assert balance_of(lender, "loans:interest_receivable") == interest  # no money moved
    status = lender.loans()[0]
    assert (status.days_past_due, status.stage, status.restructured, status.cured) == (
        0,
        3,
        True,
        False,
    )
    # three on-time installments cure it
    for k, item in enumerate(new[:3]):
        clock.now = at(item.due)
        due = (
            item.principal_minor
            + item.interest_minor
            + item.carried_interest_minor
            + item.carried_default_minor
        )
        assert repay(lender, f"pay-{k}", 2_000_000).amount_minor == due
        status = lender.loans()[0]
        assert status.cured is (k == 2)
        assert status.stage == (1 if k == 2 else 3)
    assert lender.loans(date(2026, 7, 25))[0].stage == 3  # as it stood before the cure


def test_a_late_payment_restarts_the_cure(lender: Ledger, clock: FakeClock) -> None:
    disburse(lender)
    top_up(lender, "wallet:U1", 2_000_000)
    clock.now = at(date(2026, 4, 1))  # 45 days past due: stage 2
    assert_accepted(
        lender, RestructureLoan(id="re", loan="L1", installments=6, first_due=date(2026, 5, 1))
    )
    new = lender.loan("L1").live_parts
    paid_on = [new[0].due, new[1].due + timedelta(days=3), new[2].due, new[3].due, new[4].due]
    for k, day in enumerate(paid_on):
        clock.now = at(day)
        repay(lender, f"pay-{k}", 2_000_000)
    loan = lender.loan("L1")
    assert [loan.cured(day) for day in paid_on] == [False, False, False, False, True]
    assert lender.loans()[0].stage == 1
    assert loan.restructured is not None and loan.restructured.stage == 2


def test_restructure_rejections(lender: Ledger, clock: FakeClock) -> None:
    assert_rejected(
        lender,
        RestructureLoan(id="re", loan="L9", installments=3, first_due=date(2026, 2, 15)),
        RejectCode.LOAN_NOT_FOUND,
    )
    disburse(lender, principal_minor=10, installments=1)
    assert_rejected(
        lender,
        RestructureLoan(id="re", loan="L1", installments=0, first_due=date(2026, 2, 15)),
        RejectCode.FIELD_INVALID,
    )
    assert_rejected(
        lender,
        RestructureLoan(id="re", loan="L1", installments=3, first_due=START),
        RejectCode.FIELD_INVALID,
    )
    assert_rejected(
        lender,
        RestructureLoan(id="re", loan="L1", installments=11, first_due=date(2026, 2, 15)),
        RejectCode.AMOUNT_INVALID,
    )


# --- the fold -------------------------------------------------------------------------------


def test_the_fold_refuses_a_stream_it_cannot_read(lender: Ledger) -> None:
    """A damaged stream is a FoldError (a StoreCorrupt) naming the event at fault: one
    that is no disbursement first, or a repayment of an installment the loan lacks."""
    from ledger.errors import FoldError, StoreCorrupt
    from ledger.events import Allocation

    with pytest.raises(FoldError) as first:
        fold_loan("L1", [BorrowerLoanAdded(borrower="U1", loan="L1", principal_minor=1)])
    assert isinstance(first.value, StoreCorrupt) and first.value.index == 0
    assert fold_loan("L1", []) is None
    disbursed = disburse(lender)
    stray = LoanRepaid(
        postings=(),
        loan="L1",
        wallet="wallet:U1",
        on=disbursed.on,
        requested_minor=1,
        amount_minor=1,
        allocations=(Allocation(number=99, interest_minor=1),),
    )
    with pytest.raises(FoldError, match="no installment 99") as late:
        fold_loan("L1", [disbursed, stray])
    assert late.value.index == 1


def test_paying_a_loan_off_releases_its_allowance(lender: Ledger, clock: FakeClock) -> None:
    disburse(lender, installments=1)
    assert_accepted(lender, ProvisionLoans(id="prov", as_of=START))
    assert balance_of(lender, "loans:allowance") == -10_000
    clock.now = at(date(2026, 2, 15))
    top_up(lender, "wallet:U1", 100_000)
    event = repay(lender, "pay", 2_000_000)
    assert event.paid_off and event.allowance_released_minor == 10_000
    assert event.postings[-2:] == (
        leg("loans:allowance", "debit", 10_000),
        leg("expense:expected_credit_loss", "credit", 10_000),
    )
    assert balance_of(lender, "loans:allowance") == 0
    assert balance_of(lender, "expense:expected_credit_loss") == 0
    assert lender.loan("L1").allowance_minor == 0


def test_a_loan_account_is_no_wallet(lender: Ledger) -> None:
    """The deferred loan fees are a liability that never goes below zero, like a wallet;
    no flow may take them for one."""
    from ledger import Transfer

    assert_rejected(
        lender,
        DisburseLoan(
            id="d",
            loan="L1",
            borrower="U1",
            wallet="liability:deferred_loan_fees",
            principal_minor=100_000,
            annual_rate_bps=2_400,
            installments=2,
            first_due=date(2026, 2, 15),
        ),
        RejectCode.FIELD_INVALID,
    )
    disburse(lender, fee_minor=5_000)
    assert_rejected(
        lender,
        Transfer(
            id="t",
            source="liability:deferred_loan_fees",
            destination="wallet:U2",
            amount_minor=5_000,
        ),
        RejectCode.FIELD_INVALID,
    )


def test_a_loan_a_fraction_of_a_basis_point_above_the_cap_is_refused(lender: Ledger) -> None:
    """100,000.00 at 30% over 12 months: a fee of 1,497.03 makes it cost 33% all in
    (its installments are worth what the borrower received at 33%, to rounding); 1,499.45
    would be 33.0049%, which rounds to 33.00% but is above the cap all the same."""
    cmd: dict[str, object] = {
        "borrower": "U1",
        "wallet": "wallet:U1",
        "principal_minor": 10_000_000,
        "annual_rate_bps": 3_000,
        "installments": 12,
        "first_due": date(2026, 2, 15),
    }
    rejected = assert_rejected(
        lender,
        DisburseLoan(id="over", loan="L1", fee_minor=149_945, **cmd),  # type: ignore[arg-type]
        RejectCode.LOAN_COST_ABOVE_CAP,
    )
    assert "33.00%" in rejected.detail
    event = disburse(lender, "L2", fee_minor=149_703, **cmd)
    assert event.all_in_rate_bps == 3_300


@pytest.mark.parametrize(
    "frequency, earliest, latest",
    [
        ("monthly", date(2026, 2, 15), date(2026, 3, 15)),
        ("biweekly", date(2026, 1, 29), date(2026, 2, 12)),
        ("weekly", date(2026, 1, 22), date(2026, 1, 29)),
    ],
)
def test_the_first_period_is_one_to_two_periods(
    lender: Ledger, frequency: str, earliest: date, latest: date
) -> None:
    """Each installment is charged a whole period's interest, so a first period shorter
    than one (a month's interest for a day) is refused, as is one of more than two."""
    for k, (day, ok) in enumerate(
        [
            (START + timedelta(days=1), False),
            (earliest - timedelta(days=1), False),
            (earliest, True),
            (latest, True),
            (latest + timedelta(days=1), False),
        ]
    ):
        command = DisburseLoan(
            id=f"d{k}",
            loan=f"L{k}",
            borrower=f"B{k}",
            wallet="wallet:U1",
            principal_minor=100_000,
            annual_rate_bps=3_300,
            installments=3,
            first_due=day,
            frequency=frequency,
        )
        if ok:
            assert_accepted(lender, command)
        else:
            assert_rejected(lender, command, RejectCode.FIELD_INVALID)


def test_on_a_tiny_loan_the_rounding_of_interest_is_the_cost(lender: Ledger) -> None:
    """1.00 THB for a week at 33%: 0.63 satang of interest rounds up to 1, which is 52% a
    year; refused, as is any contract rate above the cap however small the loan."""
    for rate in (3_300, 3_600):
        rejected = assert_rejected(
            lender,
            DisburseLoan(
                id=f"tiny-{rate}",
                loan="L1",
                borrower="U1",
                wallet="wallet:U1",
                principal_minor=100,
                annual_rate_bps=rate,
                installments=1,
                first_due=date(2026, 1, 22),
                frequency="weekly",
            ),
            RejectCode.LOAN_COST_ABOVE_CAP,
        )
        assert "52.00%" in rejected.detail


def test_a_written_off_loan_still_counts_against_the_limit(
    lender: Ledger, clock: FakeClock
) -> None:
    disburse(lender, "L1", principal_minor=8_000_000)
    clock.now = at(date(2026, 3, 1))
    assert_accepted(lender, WriteOffLoan(id="off", loan="L1"))
    second = DisburseLoan(
        id="d2",
        loan="L2",
        borrower="U1",
        wallet="wallet:U1",
        principal_minor=2_000_001,
        annual_rate_bps=2_800,
        installments=6,
        first_due=date(2026, 4, 1),
    )
    assert_rejected(lender, second, RejectCode.BORROWER_LIMIT_EXCEEDED)
    assert_accepted(lender, RecoverLoan(id="rec", loan="L1", amount_minor=1, from_bank=True))
    assert_accepted(lender, second)  # one satang recovered: one more of principal may be lent


def test_provisioning_for_a_past_day_uses_that_days_stage(lender: Ledger, clock: FakeClock) -> None:
    disburse(lender)
    clock.now = at(date(2026, 3, 20))
    top_up(lender, "wallet:U1", 1_000_000)
    repay(lender, "catch-up", 1_000_000)  # current again today: stage 1
    # as of 18 March it was 31 days past due: stage 2, and only what had accrued then
    assert_accepted(lender, ProvisionLoans(id="p", as_of=date(2026, 3, 18)))
    event = written(lender, "p")[0].event
    assert isinstance(event, LoanProvisioned)
    assert (event.as_of, event.days_past_due, event.stage, event.rate_bps) == (
        date(2026, 3, 18),
        31,
        2,
        2_000,
    )
    assert event.exposure_minor == lender.loan("L1", as_of=date(2026, 3, 18)).exposure_minor
    assert event.exposure_minor == 1_000_000  # nothing had been accrued by then


def test_a_later_policy_changes_no_loans_stage(tmp_path: Path) -> None:
    path = tmp_path / "l.db"
    clock = FakeClock(at(START))
    with Ledger.open(path, clock=clock) as book:
        _lender_with(book, clock)
        disburse(book)
    clock.now = at(date(2026, 3, 20))  # 33 days past due
    strict = LoanPolicy(stage_2_after_days=5, stage_3_after_days=10)
    with Ledger.open(path, clock=clock, loans=strict) as book:
        assert book.loans()[0].stage == 2  # by the thresholds it was lent under, 30 and 90


def test_a_contract_rate_a_hair_above_the_cap_is_refused(lender: Ledger) -> None:
    """33.01% on 63.78 over three months: the all-in cost rounds to 33.00%, inside the
    half-satang slack of the cap, yet each period charges the contract rate, above the cap
    (the loan machine found it: 1.19 of interest in a 28-day month where the cap allows
    1.1850). Refused; at 33.00% the same loan is taken."""

    def loan(loan_id: str, rate: int) -> DisburseLoan:
        return DisburseLoan(
            id=f"hair-{rate}",
            loan=loan_id,
            borrower="U1",
            wallet="wallet:U1",
            principal_minor=6_378,
            annual_rate_bps=rate,
            installments=3,
            first_due=date(2026, 2, 15),
            frequency="monthly",
        )

    rejected = assert_rejected(lender, loan("L1", 3_301), RejectCode.LOAN_COST_ABOVE_CAP)
    assert "contract rate 33.01%" in rejected.detail and rejected.subject == "L1"
    assert_accepted(lender, loan("L2", 3_300))
