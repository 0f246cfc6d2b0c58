"""The loan-portfolio report at a half-year end: ageing, stages, NPL ratio and coverage.

A nano-lender disburses five monthly loans on 5 January 2026 and runs its month-end jobs
(accrue, then provision) at every month end. By 30 June Ploy has paid every installment
on time; Nok misses June's; Somchai stopped after February (non-performing); Fon fell
behind, was restructured in April and has paid two new installments on time (not cured
yet, so still stage 2); Dao never paid and was written off in June, with 500.00
recovered since. The report for 30 June is what the lender's board reads.

Run from the repository root: ``python examples/09_loan_portfolio.py`` (a temporary SQLite
file, an injected clock, so the output is the same on every run).
"""

import calendar
import tempfile
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ledger import (
    Accepted,
    AccrueInterest,
    Command,
    Credit,
    Debit,
    DisburseLoan,
    Ledger,
    OpenAccount,
    PostEntry,
    ProvisionLoans,
    RecoverLoan,
    RejectCode,
    RepayLoan,
    RestructureLoan,
    TopUp,
    Withdraw,
    WriteOffLoan,
    parse_amount,
)
from ledger.testing.wallet import ManualClock
from projections.reports.loan_portfolio import loan_portfolio
from projections.runner import Runner

BANGKOK = ZoneInfo("Asia/Bangkok")
HALF_YEAR_END = date(2026, 6, 30)


def thb(text: str) -> int:
    return parse_amount(text, "THB")


def accept(book: Ledger, command: Command) -> None:
    result = book.submit(command)
    assert isinstance(result, Accepted), result


clock = ManualClock(datetime(2026, 1, 5, 9, 0, tzinfo=BANGKOK))
with (
    tempfile.TemporaryDirectory() as directory,
    Ledger.open(Path(directory) / "loans.db", clock=clock) as book,
):
    chart = book.chart
    book.open_chart(loans=True)
    borrowers = {"L1": "ploy", "L2": "nok", "L3": "somchai", "L4": "dao", "L5": "fon"}
    setup: list[Command] = [
        OpenAccount(id="open:equity", account="equity:capital", type="equity", currency="THB"),
        PostEntry(
            id="capital",
            kind="capital",
            postings=[
                Debit(chart.loan_bank, thb("100,000.00")),
                Credit("equity:capital", thb("100,000.00")),
            ],
        ),
        *(chart.open_wallet(f"wallet:{name}") for name in borrowers.values()),
    ]
    assert all(isinstance(r, Accepted) for r in book.submit_many(setup))

    # Five monthly loans, first installments due on 5 February; each is cashed out.
    terms = {"L1": ("10,000.00", 2_800, 6), "L2": ("20,000.00", 3_000, 6)}
    terms |= {"L3": ("15,000.00", 2_800, 6), "L4": ("8,000.00", 2_500, 4)}
    terms |= {"L5": ("12,000.00", 2_400, 6)}
    for loan, (principal, rate, count) in terms.items():
        wallet = f"wallet:{borrowers[loan]}"
        disburse = DisburseLoan(
            id=f"disburse-{loan}",
            loan=loan,
            borrower=borrowers[loan],
            wallet=wallet,
            principal_minor=thb(principal),
            annual_rate_bps=rate,
            installments=count,
            first_due=date(2026, 2, 5),
        )
        accept(book, disburse)
        cash = book.balance(wallet).balance
        accept(book, Withdraw(id=f"cash-out-{loan}", wallet=wallet, amount_minor=cash))

    # Who pays which installment (by number), on its due date.
    pays = {"L1": {1, 2, 3, 4, 5}, "L2": {1, 2, 3, 4}, "L3": {1}, "L4": set(), "L5": {1}}
    plan: dict[date, list[tuple[str, str]]] = defaultdict(list)
    for loan, numbers in pays.items():
        for p in book.loan(loan).parts:
            if p.number in numbers:
                plan[p.due].append(("repay", loan))
    plan[date(2026, 4, 10)].append(("restructure", "L5"))
    plan[date(2026, 6, 5)].append(("write off", "L4"))
    plan[date(2026, 6, 20)].append(("recover", "L4"))

    def repay(loan: str, day: date) -> None:
        """Top the wallet up with the installment due today, and pay it."""
        wallet, command_id = f"wallet:{borrowers[loan]}", f"repay-{loan}-{day}"
        [p] = [p for p in book.loan(loan).live_parts if p.due == day]
        amount = p.principal_minor + p.interest_minor
        amount += p.carried_interest_minor + p.carried_default_minor
        top_up = TopUp(
            id=f"top-up-{command_id}", wallet=wallet, amount_minor=amount, channel="bank"
        )
        accept(book, top_up)
        accept(book, RepayLoan(id=command_id, loan=loan, amount_minor=amount))

    day = date(2026, 1, 5)
    while day <= HALF_YEAR_END:
        clock.now = datetime.combine(day, time(10), BANGKOK)
        for what, loan in plan[day]:
            if what == "repay":
                repay(loan, day)
            elif what == "restructure":  # 4 new installments, the first on 10 May
                again = RestructureLoan(
                    id=f"restructure-{loan}", loan=loan, installments=4, first_due=date(2026, 5, 10)
                )
                accept(book, again)
                for p in book.loan(loan).live_parts:
                    if p.due <= HALF_YEAR_END:
                        plan[p.due].append(("repay", loan))
            elif what == "write off":
                accept(book, WriteOffLoan(id=f"write-off-{loan}", loan=loan))
            else:  # a collector pays 500.00 into the lender's bank
                recover = RecoverLoan(
                    id=f"recover-{loan}", loan=loan, amount_minor=thb("500.00"), from_bank=True
                )
                accept(book, recover)
        if day.day == calendar.monthrange(day.year, day.month)[1]:
            clock.now = datetime.combine(day, time(23), BANGKOK)  # the month-end jobs
            jobs = (
                AccrueInterest(id=f"accrue-{day}", as_of=day),
                ProvisionLoans(id=f"provision-{day}", as_of=day),
            )
            for job in jobs:
                result = book.submit(job)
                assert isinstance(result, Accepted) or result.code is RejectCode.NOTHING_DUE
        day += timedelta(days=1)

    with Runner(book) as runner:
        report = loan_portfolio(runner, HALF_YEAR_END)
    print(report.to_table(), end="")

    # The facts of the half year, from the report and from the ledger.
    [summary] = report.rows("summary")
    loans = {row.loan: row for row in report.rows("loans")}
    assert report.ok, report.findings  # the pooled accounts equal the sum of the loans
    assert summary.allowance_minor == -book.balance(chart.loan_allowance).balance
    assert summary.principal_outstanding_minor == book.balance(chart.loan_principal).balance
    assert (summary.npl_loans, summary.npl_principal_minor) == (
        1,
        loans["L3"].principal_outstanding_minor,
    )
    assert summary.npl_ratio_bps == (
        summary.npl_principal_minor * 10_000 // summary.principal_outstanding_minor
    )
    assert (loans["L5"].days_past_due, loans["L5"].stage, loans["L5"].restructured) == (
        0,
        2,
        True,
    )
    assert (loans["L4"].status, loans["L4"].bucket, summary.recovered_minor) == (
        "written_off",
        None,
        thb("500.00"),
    )
    assert sum(row.loans for row in report.rows("ageing")) == summary.loans == 4
