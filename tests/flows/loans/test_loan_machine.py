"""The loan machine: sequences of up to 40 random micro-loan steps (disbursements over
the limit and above the cap, accruals on any day, repayments of any size from any
wallet, provisioning, restructuring and cure, write-offs, recoveries, retries) on a
hand-moved clock, checked against the model after every step (60 sequences under the
default policy, 25 under another); a property that accruing day by day posts what
accruing once does; and the bugs the machine found in the cost cap and the first
period, pinned (all fixed)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import (
    AccrueInterest,
    Credit,
    Debit,
    DisburseLoan,
    Ledger,
    LoanPolicy,
    OpenAccount,
    PostEntry,
    RejectCode,
    RepayLoan,
    RestructureLoan,
    TopUp,
    WriteOffLoan,
)
from ledger.commands import Command
from ledger.results import Accepted, Rejected, Result
from ledger.testing import LoanMachine, ManualClock
from ledger.testing.loans import first_due_range, period_overcharges, present_value

MACHINE = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


class MemoryLoanMachine(LoanMachine):
    """The loan machine under the default policy, on an in-memory ledger."""


MemoryLoanMachine.TestCase.settings = MACHINE
TestMemoryLoanMachine = pytest.mark.slow(MemoryLoanMachine.TestCase)  # a long stateful search


class OtherPolicyLoanMachine(LoanMachine):
    """A 30,000.00 limit, a 36% cap, default interest at the contract rate (none on a
    loan at 0%), stages after 5 and 20 days, nothing provisioned in stage 1, one
    on-time payment cures."""

    policy = LoanPolicy(
        borrower_limit_minor=3_000_000,
        annual_cap_bps=3_600,
        default_margin_bps=0,
        stage_2_after_days=5,
        stage_3_after_days=20,
        provision_bps=(0, 5_000, 10_000),
        cure_payments=1,
    )


OtherPolicyLoanMachine.TestCase.settings = settings(MACHINE, max_examples=25)
TestOtherPolicyLoanMachine = pytest.mark.slow(OtherPolicyLoanMachine.TestCase)


# --- accruing day by day posts what accruing once does ---------------------------------

_START = datetime(2026, 1, 29, 2, 0, tzinfo=UTC)
_WALLETS = ["wallet:A", "wallet:B", "wallet:C"]
_loan = st.tuples(
    st.integers(10_000, 3_000_000),
    st.sampled_from([0, 1_500, 2_800, 3_000]),
    st.sampled_from([1, 3, 6]),
    st.sampled_from(["monthly", "biweekly", "weekly"]),
    st.sampled_from([0, 0, 30, 150]),
)
_wait = st.tuples(st.just("wait"), st.integers(1, 45), st.just(0))
_step = st.one_of(
    _wait,
    _wait,
    st.tuples(st.just("repay"), st.integers(0, 2), st.sampled_from([10**9, 12_345, 1])),
    st.tuples(st.just("restructure"), st.integers(0, 2), st.sampled_from([1, 3, 6])),
    st.tuples(st.just("write_off"), st.integers(0, 2), st.just(0)),
)
_ACCOUNTS = [
    "loans:interest_receivable",
    "loans:default_interest_receivable",
    "income:loan_interest",
    "income:loan_default_interest",
    "income:loan_fees",
    "liability:deferred_loan_fees",
]


def _outcome(result: Result) -> str:
    return "accepted" if isinstance(result, Accepted) else str(result.code)


def _run(
    loans: list[tuple[int, int, int, str, int]], steps: list[tuple[str, int, int]], daily: bool
) -> tuple[list[str], dict[str, object], list[object]]:
    """Run the same commands on a fresh ledger, accruing every day or only at the end:
    every answer but the accruals', every balance, every installment's state."""
    clock = ManualClock(_START)
    book = Ledger.open(":memory:", clock=clock)
    book.open_chart(loans=True)
    setup: list[Command] = [
        OpenAccount(id="open:equity", account="equity:capital", type="equity", currency="THB"),
        PostEntry(
            id="capital",
            kind="capital",
            postings=[Debit("bank:lending", 10**10), Credit("equity:capital", 10**10)],
        ),
        *(book.chart.open_wallet(w) for w in _WALLETS),
        *(TopUp(id=f"top-up-{w}", wallet=w, amount_minor=10**8, channel="bank") for w in _WALLETS),
    ]
    assert all(isinstance(r, Accepted) for r in book.submit_many(setup))
    answers = []
    for k, (principal, rate, installments, frequency, fee_bps) in enumerate(loans):
        first_due = first_due_range(book.today(), frequency)[0]
        answers.append(
            _outcome(
                book.submit(
                    DisburseLoan(
                        id=f"disburse-{k}",
                        loan=f"L{k}",
                        borrower=f"U{k}",
                        wallet=_WALLETS[k],
                        principal_minor=principal,
                        annual_rate_bps=rate,
                        installments=installments,
                        first_due=first_due,
                        frequency=frequency,
                        fee_minor=principal * fee_bps // 10_000,
                    )
                )
            )
        )
    day = 0
    for n, (kind, which, arg) in enumerate(steps):
        loan = f"L{which}"
        if kind == "wait":
            for _ in range(which):
                clock.advance(timedelta(days=1))
                day += 1
                if daily:
                    accrued = book.submit(AccrueInterest(id=f"accrue-{day}", as_of=book.today()))
                    assert _outcome(accrued) in ("accepted", "nothing_due"), accrued
            continue
        command: Command
        if kind == "repay":
            command = RepayLoan(id=f"step-{n}", loan=loan, amount_minor=arg)
        elif kind == "restructure":
            first_due = first_due_range(book.today(), "weekly")[1]
            command = RestructureLoan(
                id=f"step-{n}", loan=loan, installments=arg, first_due=first_due
            )
        else:
            command = WriteOffLoan(id=f"step-{n}", loan=loan)
        answers.append(_outcome(book.submit(command)))
    final = book.submit(AccrueInterest(id="accrue-end", as_of=book.today()))
    assert _outcome(final) in ("accepted", "nothing_due"), final
    balances: dict[str, object] = {b.account: b.balance for b in book.balances()}
    parts = [
        (
            loan.loan,
            p.number,
            p.interest_accrued_minor,
            p.default_accrued_minor,
            p.default_basis,
            p.interest_paid_minor,
            p.default_paid_minor,
            p.principal_paid_minor,
        )
        for loan in (book.loan(s.loan) for s in book.loans())
        for p in loan.parts
    ]
    book.close()
    return answers, balances, list(parts)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    loans=st.lists(_loan, min_size=1, max_size=3),
    steps=st.lists(_step, min_size=1, max_size=12).map(lambda s: [("wait", 20, 0), *s]),
)
def test_accruing_day_by_day_posts_what_accruing_once_does(
    loans: list[tuple[int, int, int, str, int]], steps: list[tuple[str, int, int]]
) -> None:
    """Two ledgers, the same commands, one accruing every day and one only at the end:
    the same answers, and the receivables, incomes and deferred fees equal to the satang
    (every balance in fact: repayments, restructures and write-offs accrue to today
    first, so they see the same amounts either way)."""
    daily = _run(loans, steps, daily=True)
    once = _run(loans, steps, daily=False)
    assert daily[0] == once[0]
    assert {a: daily[1][a] for a in _ACCOUNTS} == {a: once[1][a] for a in _ACCOUNTS}
    assert daily[1] == once[1]
    assert daily[2] == once[2]


# --- what the machine found, pinned ---------------------------------------------------


def _lender(start: datetime) -> Ledger:
    book = Ledger.open(":memory:", clock=ManualClock(start))
    book.open_chart(loans=True)
    book.submit_many(
        [
            OpenAccount(id="open:equity", account="equity:capital", type="equity", currency="THB"),
            PostEntry(
                id="capital",
                kind="capital",
                postings=[Debit("bank:lending", 10**9), Credit("equity:capital", 10**9)],
            ),
            book.chart.open_wallet("wallet:U1"),
        ]
    )
    return book


def test_a_loan_a_fraction_of_a_basis_point_above_the_cap_is_refused() -> None:
    """100,000.00 at 30% over 12 months: a fee of 1,497.03 (and half a satang an
    installment) makes it cost exactly 33%. A cap compared with the all-in rate rounded
    to the basis point took fees up to 1,499.45 (33.0049%, recorded as 3,300 bps)."""
    with _lender(datetime(2026, 1, 5, 3, 0, tzinfo=UTC)) as book:
        over = DisburseLoan(
            id="disburse",
            loan="L1",
            borrower="U1",
            wallet="wallet:U1",
            principal_minor=10_000_000,
            annual_rate_bps=3_000,
            installments=12,
            first_due=date(2026, 2, 5),
            fee_minor=149_945,
        )
        refused = book.submit(over)
        assert isinstance(refused, Rejected)
        assert refused.code is RejectCode.LOAN_COST_ABOVE_CAP
        at_most = book.submit(attrs.evolve(over, id="disburse-2", fee_minor=149_709))
        assert isinstance(at_most, Accepted), at_most
        schedule = book.loan("L1").disbursed.schedule
        payments = [i.principal_minor + i.interest_minor for i in schedule]
        worth = present_value(payments, Fraction(3_300, 10_000), "monthly")
        assert 10_000_000 - 149_709 + 6 >= worth > 10_000_000 - 149_710 + 6


def test_a_first_period_is_at_least_a_period() -> None:
    """Every installment is charged a whole period's interest, so a first due date a
    day away charged a month's interest for one day (27,500 on 10,000.00 at 33%: 1,004%
    a year, recorded as an all-in 33%). The same for a restructure."""
    with _lender(datetime(2026, 1, 5, 3, 0, tzinfo=UTC)) as book:
        loan = DisburseLoan(
            id="disburse",
            loan="L1",
            borrower="U1",
            wallet="wallet:U1",
            principal_minor=1_000_000,
            annual_rate_bps=3_300,
            installments=1,
            first_due=date(2026, 1, 6),  # tomorrow
        )
        refused = book.submit(loan)
        assert isinstance(refused, Rejected) and refused.code is RejectCode.FIELD_INVALID
        accepted = book.submit(attrs.evolve(loan, id="disburse-2", first_due=date(2026, 2, 5)))
        assert isinstance(accepted, Accepted), accepted
        parts = book.loan("L1").parts
        rows = [(p.start, p.due, p.principal_minor, p.interest_minor) for p in parts]
        assert period_overcharges(rows, "monthly", 3_300) == []
        short = RestructureLoan(
            id="restructure", loan="L1", installments=1, first_due=date(2026, 1, 6)
        )
        refused = book.submit(short)
        assert isinstance(refused, Rejected) and refused.code is RejectCode.FIELD_INVALID


def test_no_loan_at_a_rate_above_the_cap_is_taken() -> None:
    """1.00 lent weekly at 36% (the cap is 33%): 1 satang of interest, an all-in 52%,
    worth 100.37 at the cap against the 100 lent, within the half-satang slack."""
    with _lender(datetime(2026, 1, 5, 3, 0, tzinfo=UTC)) as book:
        result = book.submit(
            DisburseLoan(
                id="disburse",
                loan="L1",
                borrower="U1",
                wallet="wallet:U1",
                principal_minor=100,
                annual_rate_bps=3_600,
                installments=1,
                first_due=date(2026, 1, 12),
                frequency="weekly",
            )
        )
        if isinstance(result, Rejected):
            assert result.code is RejectCode.LOAN_COST_ABOVE_CAP
            return
        loan = book.loan("L1").disbursed
        assert loan.annual_rate_bps <= loan.cap_bps, loan
        assert loan.all_in_rate_bps <= loan.cap_bps, loan  # 5,200
