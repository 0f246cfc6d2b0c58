"""The loans read model (projections.loans) matches the ledger's loans: ``loan_statuses``
equals ``Ledger.loans`` on every day of a portfolio's life, and each ``loan_rows`` row
equals ``Ledger.loan``, on real SQLite files."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ledger import (
    AccrueInterest,
    Credit,
    Debit,
    DisburseLoan,
    Ledger,
    OpenAccount,
    PostEntry,
    ProvisionLoans,
    RecoverLoan,
    RepayLoan,
    RestructureLoan,
    WriteOffLoan,
)
from ledger.times import ManualClock
from projections.loans import LoanRow, loan_rows, loan_statuses
from tests.projections.conftest import all_accepted, check_as_of, ok, reads

BKK = ZoneInfo("Asia/Bangkok")


def at(day: date) -> datetime:
    return datetime.combine(day, time(12), BKK)


def test_loans_view_matches_the_ledgers_loans_on_every_day(
    book: Ledger, clock: ManualClock, tmp_path: Path
) -> None:
    clock.now = at(date(2026, 1, 15))
    chart = book.chart
    all_accepted(book.open_chart(loans=True))
    all_accepted(
        book.submit_many(
            [
                *(chart.open_wallet(f"wallet:U{n}") for n in (1, 2, 3)),
                OpenAccount(
                    id="open:equity", account="equity:capital", type="equity", currency="THB"
                ),
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
    )

    def disburse(loan: str, n: int, principal: int, first_due: date, **kw: Any) -> None:
        ok(
            book,
            DisburseLoan(
                id=f"disburse-{loan}",
                loan=loan,
                borrower=f"U{n}",
                wallet=f"wallet:U{n}",
                principal_minor=principal,
                annual_rate_bps=2_800,
                installments=kw.pop("installments", 6),
                first_due=first_due,
                **kw,
            ),
        )

    disburse("L1", 1, 1_000_000, date(2026, 2, 15))
    clock.now = at(date(2026, 1, 20))
    disburse("L2", 2, 500_000, date(2026, 2, 20), installments=3, fee_minor=2_000)
    disburse("L3", 3, 200_000, date(2026, 2, 20), installments=2)
    clock.now = at(date(2026, 1, 31))
    ok(book, AccrueInterest(id="accrue-0131", as_of=date(2026, 1, 31)))
    runner = reads(book, tmp_path)
    clock.now = at(date(2026, 2, 15))
    ok(book, RepayLoan(id="repay-L1-1", loan="L1", amount_minor=180_539))
    clock.now = at(date(2026, 3, 10))
    ok(book, AccrueInterest(id="accrue-0310", as_of=date(2026, 3, 10)))
    ok(book, ProvisionLoans(id="provision-0310", as_of=date(2026, 3, 10)))
    clock.now = at(date(2026, 3, 16))
    ok(book, RepayLoan(id="repay-L2", loan="L2", amount_minor=50_000))
    ok(book, WriteOffLoan(id="writeoff-L3", loan="L3"))
    ok(book, RecoverLoan(id="recover-L3", loan="L3", amount_minor=10_000))
    ok(
        book,
        RestructureLoan(
            id="restructure-L2", loan="L2", installments=4, first_due=date(2026, 4, 16)
        ),
    )
    runner.catch_up()

    days = [
        date(2026, 1, 10),  # before any disbursement
        date(2026, 1, 15),
        date(2026, 1, 17),  # L1 only
        date(2026, 1, 31),
        date(2026, 2, 16),  # mid-term, L1 paid on time
        date(2026, 2, 21),  # L2 and L3 missed their first installment
        date(2026, 3, 10),
        date(2026, 3, 15),
        date(2026, 3, 16),  # after a partial repayment, a write-off, a restructure
        date(2026, 4, 30),
        date(2026, 6, 1),
    ]
    for day in days:
        assert loan_statuses(runner.db, day) == book.loans(day), day
    assert loan_statuses(runner.db, date(2026, 1, 10)) == []
    assert [s.loan for s in loan_statuses(runner.db, date(2026, 1, 17))] == ["L1"]
    late = {s.loan: s for s in loan_statuses(runner.db, date(2026, 2, 21))}
    assert late["L2"].days_past_due > 0 and late["L1"].days_past_due == 0
    assert {s.loan: s.status for s in loan_statuses(runner.db, date(2026, 3, 16))} == {
        "L1": "active",
        "L2": "active",
        "L3": "written_off",
    }

    streams = book.store.read_streams("loan:")
    rows = loan_rows(runner.db)
    assert [r.loan for r in rows] == ["L1", "L2", "L3"]
    assert [r.loan for r in loan_rows(runner.db, status="written_off")] == ["L3"]
    assert [r.loan for r in loan_rows(runner.db, borrower=rows[0].borrower)] == ["L1"]
    for row in rows:
        loan = book.loan(row.loan)
        d = loan.disbursed
        assert row == LoanRow(
            loan=loan.loan,
            borrower=d.borrower,
            wallet=d.wallet,
            principal_minor=d.principal_minor,
            disbursed_on=d.on,
            status=loan.status,
            principal_outstanding_minor=loan.principal_outstanding_minor,
            interest_outstanding_minor=loan.interest_outstanding_minor,
            default_interest_outstanding_minor=loan.default_outstanding_minor,
            allowance_minor=loan.allowance_minor,
            written_off_minor=loan.written_off_minor,
            recovered_minor=loan.recovered_minor,
            last_day=streams[f"loan:{row.loan}"][-1].event.on,  # type: ignore[union-attr]
        )
        (last_seq,) = runner.db.execute(
            "SELECT last_seq FROM proj_loans WHERE loan = ?", (row.loan,)
        ).fetchone()
        assert last_seq == streams[f"loan:{row.loan}"][-1].seq
    assert rows[0].principal_outstanding_minor == 1_000_000 - 157_206  # L1 repaid inst. 1
    assert (rows[2].status, rows[2].recovered_minor) == ("written_off", 10_000)
    assert [s.restructured for s in book.loans(date(2026, 4, 30))] == [False, True, False]
    check_as_of(book)
