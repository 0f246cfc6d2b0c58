"""Two OS processes race on the same borrowers and loans in one SQLite file.

The per-borrower limit is read and enforced inside the write transaction, and each
disbursement appends the borrower stream's next version, so of two loans that together
pass the limit exactly one is made, whatever the interleaving. Two processes repaying
the same installments never take more than was due between them.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ledger import (
    Accepted,
    Credit,
    Debit,
    DisburseLoan,
    Ledger,
    OpenAccount,
    PostEntry,
    RejectCode,
    RepayLoan,
    TopUp,
)
from ledger.audit import verify
from ledger.events import LoanRepaid
from tests.races import pause, race

pytestmark = pytest.mark.slow  # processes racing on one file: `make test` runs them

BKK = ZoneInfo("Asia/Bangkok")
BORROWERS = 20
PRINCIPAL_MINOR = 6_000_000
"""60,000.00 THB: two of them pass the 100,000.00 THB limit."""


def _disbursing_day() -> datetime:
    return datetime.combine(date(2026, 1, 15), time(12), BKK)


def _due_day() -> datetime:
    return datetime.combine(date(2026, 2, 15), time(12), BKK)


def _setup(path: Path) -> None:
    with Ledger.open(path, clock=_disbursing_day) as book:
        chart = book.chart
        results = book.open_chart(loans=True)
        results += book.submit_many(
            [
                OpenAccount(id="eq", account="equity:capital", type="equity", currency="THB"),
                PostEntry(
                    id="capital",
                    kind="capital",
                    postings=[
                        Debit(chart.loan_bank, 10**12),
                        Credit("equity:capital", 10**12),
                    ],
                ),
                *(chart.open_wallet(f"wallet:U{n}") for n in range(BORROWERS)),
                *(
                    TopUp(id=f"top-{n}", wallet=f"wallet:U{n}", amount_minor=10**7, channel="bank")
                    for n in range(BORROWERS)
                ),
            ]
        )
        assert all(isinstance(r, Accepted) for r in results), results


def _disburse(book: Ledger, name: str, seed: int) -> list[tuple[int, str]]:
    """Lend 60,000.00 THB to every borrower, in a random order; what each answer was."""
    rng = random.Random(seed)
    order = list(range(BORROWERS))
    rng.shuffle(order)
    answers = []
    for n in order:
        result = book.submit(
            DisburseLoan(
                id=f"{name}-L{n}",
                loan=f"{name}-L{n}",
                borrower=f"U{n}",
                wallet=f"wallet:U{n}",
                principal_minor=PRINCIPAL_MINOR,
                annual_rate_bps=2_800,
                installments=6,
                first_due=date(2026, 2, 15),
            )
        )
        answers.append((n, "ok" if isinstance(result, Accepted) else result.code.value))
        pause(rng)
    return answers


def _repay(book: Ledger, name: str, seed: int) -> list[tuple[str, int]]:
    """Repay 1,000.00 THB at a time on every loan until nothing is due."""
    rng = random.Random(seed)
    loans = sorted(
        {r.stream.removeprefix("loan:") for r in book.events() if r.type == "loan_disbursed"}
    )
    taken = []
    for _ in range(12):
        for loan in rng.sample(loans, len(loans)):
            result = book.submit(
                RepayLoan(id=f"{name}-{loan}-{len(taken)}", loan=loan, amount_minor=100_000)
            )
            if isinstance(result, Accepted):
                taken.append((loan, result.seq))
            else:
                assert result.code is RejectCode.NOTHING_DUE, result
            pause(rng)
    return taken


def test_two_loans_that_pass_the_limit_together_make_one(tmp_path: Path) -> None:
    # Every round checks every invariant; a round whose repayments happened not to
    # interleave proves nothing about that race, so it is run again.
    for attempt in range(3):
        if _loan_round(tmp_path / f"loans-{attempt}.db"):
            return
    pytest.fail("no real race in three rounds: one process took every repayment")


def _loan_round(path: Path) -> bool:
    """Disbursements racing on the borrower limit, then repayments racing on the same
    installments, every invariant asserted; True if both processes took repayments."""
    _setup(path)
    (_, a), (_, b) = race(_disburse, path, (1, 2), clock=_disbursing_day)
    a_won, b_won = dict(a), dict(b)
    for n in range(BORROWERS):
        assert sorted([a_won[n], b_won[n]]) == ["borrower_limit_exceeded", "ok"], n
    with Ledger.open(path, clock=_due_day) as book:
        made = [r for r in book.events() if r.type == "loan_disbursed"]
        assert len(made) == BORROWERS
        assert book.balance("loans:principal").balance == BORROWERS * PRINCIPAL_MINOR
        assert len([r for r in book.events() if r.stream.startswith("borrower:")]) == BORROWERS
        assert verify(book).ok
    # both now repay the first installments of the same loans at once
    (_, paid_a), (_, paid_b) = race(_repay, path, (3, 4), clock=_due_day)
    raced = bool(paid_a and paid_b)
    with Ledger.open(path, clock=_due_day) as book:
        repaid = [r.event for r in book.events() if isinstance(r.event, LoanRepaid)]
        assert len(repaid) == len(paid_a) + len(paid_b)
        for loan in book.loans():
            assert loan.due_minor == 0  # all of installment 1 taken, not a satang more
            first = book.loan(loan.loan).parts[0]
            assert first.settled and first.principal_paid_minor == first.principal_minor
        schedule = book.loan(made[0].stream.removeprefix("loan:")).disbursed.schedule
        owed = schedule[0].principal_minor + schedule[0].interest_minor
        assert sum(e.amount_minor for e in repaid) == BORROWERS * owed
        assert verify(book).ok
    return raced
