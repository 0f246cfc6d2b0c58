"""Golden figures of the loan-portfolio report, worked out by hand from the story in
tests/golden/cod_loans.py (every number below is a literal, its arithmetic beside it).

Reminders for the arithmetic: 12% a year is 1% a month, so a one-installment loan owes
its principal x 1% of interest, all recognised by its due date. Default interest runs at
the contract rate + 3% (15% for the 12% loans, 3% for the 0% ones), actual/365, on the
overdue principal only, for every day after the due date: 730,000 x 15% / 365 = 300 a
day; 1,460,000 x 15% / 365 = 600; 730,000 x 3% / 365 = 60; 365,000 x 3% / 365 = 30.
The allowance is the exposure (principal + interest + default interest) x 1%, 20% or
100% by stage, rounded half up.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import typing
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest

from ledger import (
    Accepted,
    AccrueInterest,
    Credit,
    Debit,
    InvalidCommand,
    Ledger,
    PostEntry,
    ProvisionLoans,
    RepayLoan,
    TopUp,
)
from ledger.testing import ManualClock
from projections.reports.base import Report, Section
from projections.reports.loan_portfolio import (
    AgeingRow,
    LoanRow,
    StageRow,
    SummaryRow,
    loan_portfolio,
)
from projections.runner import Runner
from tests.golden.cod_loans import BANGKOK, DAY_A, DAY_B, END, build

ROOT = Path(__file__).parent.parent.parent


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("golden") / "golden.db"
    build(path)
    return path


@pytest.fixture
def ledger_file(golden: Path, tmp_path: Path) -> Path:
    """A copy of the golden log this test may append to."""
    path = tmp_path / "ledger.db"
    shutil.copy(golden, path)
    return path


def report(path: Path, day: date, reads: str | Path = ":memory:") -> Report:
    with Ledger.open(path, create=False) as book, Runner(book, reads) as runner:
        return loan_portfolio(runner, day)


def submit(path: Path, when: datetime, *commands: Any) -> None:
    with Ledger.open(path, create=False, clock=ManualClock(when)) as book:
        for command in commands:
            result = book.submit(command)
            assert isinstance(result, Accepted), (command, result)


# --- day A: 10 March 2026, after the evening's accrual and provisioning -----------------


def test_day_a_summary(golden: Path) -> None:
    made = report(golden, DAY_A)
    assert made.name == "loan-portfolio"
    assert made.parameters == {"date": "2026-03-10", "timezone": "Asia/Bangkok"}
    assert made.ok, made.findings
    assert made.rows("summary") == (
        SummaryRow(
            loans=4,  # L2, L3, L4, L5 (L1 was paid off on 5 February)
            principal_outstanding_minor=4_745_000,  # 730,000 + 1,460,000 + 2,190,000 + 365,000
            interest_outstanding_minor=21_900,  # L2 7,300 + L3 14,600 (1% each); 0% loans none
            # 33 days past 5 Feb (6 Feb..10 Mar): L2 33 x 300 = 9,900; L3 33 x 600 = 19,800;
            # L5 33 x 30 = 990; L4 the 15 x 60 = 900 carried by its restructure
            default_interest_outstanding_minor=31_590,
            # L2 20% x (730,000 + 7,300 + 9,900 = 747,200) = 149,440
            # L3 20% x (1,460,000 + 14,600 + 19,800 = 1,494,400) = 298,880
            # L4 1% x (2,190,000 + 900 = 2,190,900) = 21,909
            # L5 20% x (365,000 + 990 = 365,990) = 73,198
            allowance_minor=543_427,  # 149,440 + 298,880 + 21,909 + 73,198
            npl_loans=0,  # nobody is 91 days late yet
            npl_principal_minor=0,
            npl_ratio_bps=0,  # 0 x 10,000 // 4,745,000
            coverage_bps=None,  # nothing non-performing to cover
            written_off_loans=0,
            written_off_minor=0,
            recovered_minor=0,
        ),
    )


def test_day_a_ageing_and_stages(golden: Path) -> None:
    made = report(golden, DAY_A)
    assert made.rows("ageing") == (
        AgeingRow("current", 1, 2_190_000, 900, 21_909),  # L4, restructured, next due 20 Mar
        AgeingRow("1-30", 0, 0, 0, 0),
        # L2, L3, L5 are 33 days past due; interest 7,300 + 9,900 + 14,600 + 19,800 + 990
        AgeingRow("31-60", 3, 2_555_000, 52_590, 521_518),  # 149,440 + 298,880 + 73,198
        AgeingRow("61-90", 0, 0, 0, 0),
        AgeingRow("91-180", 0, 0, 0, 0),
        AgeingRow("181-360", 0, 0, 0, 0),
        AgeingRow("over 360", 0, 0, 0, 0),
    )
    assert made.rows("stages") == (
        StageRow(1, 1, 2_190_000, 21_909),
        StageRow(2, 3, 2_555_000, 521_518),  # over 30 days past due
        StageRow(3, 0, 0, 0),
    )


def test_day_a_loans(golden: Path) -> None:
    rows = report(golden, DAY_A).rows("loans")
    assert rows == (
        LoanRow("L1", "alice", "paid_off", 0, None, 1, 0, 0, 0, 0, 0, False, None),
        # due: 730,000 + 7,300 + 9,900 = 747,200; 33 days: 10 Mar - 5 Feb
        LoanRow("L2", "bob", "active", 33, "31-60", 2, 730_000, 7_300, 9_900, 747_200,
                149_440, False, None),
        LoanRow("L3", "chai", "active", 33, "31-60", 2, 1_460_000, 14_600, 19_800,
                1_494_400, 298_880, False, None),
        # restructured on 20 Feb into 3 x 730,000 due 20 Mar, 20 Apr, 20 May: nothing due
        LoanRow("L4", "dao", "active", 0, "current", 1, 2_190_000, 0, 900, 0, 21_909, True,
                date(2026, 3, 20)),
        LoanRow("L5", "eve", "active", 33, "31-60", 2, 365_000, 0, 990, 365_990, 73_198,
                False, None),
    )  # fmt: skip


# --- day B: 12 May 2026 ----------------------------------------------------------------


def test_day_b_summary(golden: Path) -> None:
    made = report(golden, DAY_B)
    assert made.ok, made.findings
    assert made.rows("summary") == (
        SummaryRow(
            loans=3,  # L3, L4, L6; L2 paid off late on 25 Mar, L5 written off on 1 Apr
            principal_outstanding_minor=2_920_000,  # 1,460,000 + 730,000 + 730,000
            interest_outstanding_minor=21_900,  # L3 14,600 + L6 7,300
            # L3: 96 days (6 Feb..12 May) x 600 = 57,600; L6: 11 and 12 May x 300 = 600
            default_interest_outstanding_minor=58_200,
            # L3 100% x (1,460,000 + 14,600 + 57,600) = 1,532,200; L4 1% x 730,000 = 7,300;
            # L6 1% x (730,000 + 7,300 + 600 = 737,900) = 7,379
            allowance_minor=1_546_879,
            npl_loans=1,  # L3, 96 days past due
            npl_principal_minor=1_460_000,
            npl_ratio_bps=5_000,  # 1,460,000 x 10,000 // 2,920,000
            coverage_bps=10_595,  # 1,546,879 x 10,000 // 1,460,000 = 10,595.06...
            written_off_loans=1,
            # L5: 365,000 principal + default 55 days (6 Feb..1 Apr) x 30 = 1,650
            written_off_minor=366_650,
            recovered_minor=50_000,  # from a collector on 1 May
        ),
    )


def test_day_b_ageing_stages_and_loans(golden: Path) -> None:
    made = report(golden, DAY_B)
    assert made.rows("ageing") == (
        AgeingRow("current", 1, 730_000, 0, 7_300),  # L4: its 9.00 carried was paid 20 Mar
        AgeingRow("1-30", 1, 730_000, 7_900, 7_379),  # L6, 2 days late: 7,300 + 600
        AgeingRow("31-60", 0, 0, 0, 0),
        AgeingRow("61-90", 0, 0, 0, 0),
        AgeingRow("91-180", 1, 1_460_000, 72_200, 1_532_200),  # L3: 14,600 + 57,600
        AgeingRow("181-360", 0, 0, 0, 0),
        AgeingRow("over 360", 0, 0, 0, 0),
    )
    assert made.rows("stages") == (
        StageRow(1, 2, 1_460_000, 14_679),  # L4 + L6: 7,300 + 7,379
        StageRow(2, 0, 0, 0),
        StageRow(3, 1, 1_460_000, 1_532_200),
    )
    by_loan = {r.loan: r for r in made.rows("loans")}
    assert list(by_loan) == ["L1", "L2", "L3", "L4", "L5", "L6"]
    assert by_loan["L2"] == LoanRow("L2", "bob", "paid_off", 0, None, 1, 0, 0, 0, 0, 0, False, None)
    # written off: outside the ageing table, stage 3, nothing outstanding
    assert by_loan["L5"] == LoanRow(
        "L5", "eve", "written_off", 0, None, 3, 0, 0, 0, 0, 0, False, None
    )
    assert by_loan["L3"] == LoanRow(
        "L3", "chai", "active", 96, "91-180", 3, 1_460_000, 14_600, 57_600, 1_532_200,
        1_532_200, False, None,
    )  # fmt: skip
    # two of three new installments paid on time: restructured, not cured, stage 1
    assert by_loan["L4"] == LoanRow(
        "L4", "dao", "active", 0, "current", 1, 730_000, 0, 0, 0, 7_300, True, date(2026, 5, 20)
    )
    assert by_loan["L6"] == LoanRow(
        "L6", "fon", "active", 2, "1-30", 1, 730_000, 7_300, 600, 737_900, 7_379, False, None
    )


def test_a_day_before_any_loan(golden: Path) -> None:
    made = report(golden, date(2026, 1, 4))
    assert made.ok
    [summary] = made.rows("summary")
    assert (summary.loans, summary.principal_outstanding_minor, summary.allowance_minor) == (
        0,
        0,
        0,
    )
    assert (summary.npl_ratio_bps, summary.coverage_bps) == (None, None)
    assert made.rows("loans") == ()
    assert [r.loans for r in made.rows("ageing")] == [0] * 7


# --- reproducible, backdating, exports ------------------------------------------------


def test_a_past_day_is_unchanged_by_later_events(ledger_file: Path) -> None:
    day_a, day_b = report(ledger_file, DAY_A).content(), report(ledger_file, DAY_B).content()
    # The next day: fon pays L6 (7,300 + 7,300 interest + 3 days x 300 default = 738,200);
    # a provisioning for 10 March run now, and one for today.
    next_day = END + timedelta(hours=14)  # 13 May, 11:00
    submit(
        ledger_file,
        next_day,
        TopUp(id="top-up-fon", wallet="wallet:fon", amount_minor=8_200, channel="bank"),
        RepayLoan(id="repay-L6", loan="L6", amount_minor=738_200),
        ProvisionLoans(id="provision-again-0310", as_of=DAY_A),
        AccrueInterest(id="accrue-0513", as_of=next_day.date()),
    )
    assert report(ledger_file, DAY_A).content() == day_a
    assert report(ledger_file, DAY_B).content() == day_b
    [summary] = report(ledger_file, next_day.date()).rows("summary")
    assert summary.loans == 2  # L6 paid off
    # The provisioning for 10 March is booked on 13 May, the day it ran: L3's allowance
    # goes back to its 10 March figure, 298,880, and L4's to 21,909 (as on 10 March).
    assert summary.allowance_minor == 298_880 + 21_909


def test_a_backdated_entry_changes_the_day_it_belongs_to(ledger_file: Path) -> None:
    before_day_b = report(ledger_file, DAY_B)
    before = report(ledger_file, date(2026, 5, 11)).content()
    # Recorded after day B's end, effective at 09:00 on day B: a manual top-up of the
    # allowance, which no loan holds.
    submit(
        ledger_file,
        END + timedelta(hours=3),
        PostEntry(
            id="manual-allowance",
            kind="adjustment",
            postings=[Debit("expense:expected_credit_loss", 1_000), Credit("loans:allowance",
                                                                            1_000)],
            effective_at=datetime(2026, 5, 12, 9, 0, tzinfo=BANGKOK), backdated=True,
        ),
    )  # fmt: skip
    assert report(ledger_file, date(2026, 5, 11)).content() == before
    made = report(ledger_file, DAY_B)
    [summary] = made.rows("summary")
    assert summary.allowance_minor == 1_547_879  # 1,546,879 + 1,000
    assert summary.coverage_bps == 10_601  # 1,547,879 x 10,000 // 1,460,000 = 10,601.9...
    assert made.rows("ageing") == before_day_b.rows("ageing")  # the loans did not change
    assert not made.ok
    assert made.findings == (
        "loans:allowance holds 15,478.79 but the loans' allowances sum to 15,468.79: "
        "a difference of 10.00",
    )


def test_principal_is_checked_against_the_ledger(ledger_file: Path) -> None:
    submit(
        ledger_file,
        END,
        PostEntry(
            id="manual-principal",
            kind="adjustment",
            postings=[Debit("loans:principal", 2_500), Credit("equity:capital", 2_500)],
        ),
    )
    made = report(ledger_file, DAY_B)
    assert made.findings == (
        "loans:principal holds 29,225.00 but the loans' principal sum to 29,200.00: "
        "a difference of 25.00",
    )
    assert "!! loans:principal holds 29,225.00" in made.to_table()


def _typed(row_type: type, record: dict[str, str]) -> Any:
    """A row back from its CSV text, by the row class's field types."""
    hints = typing.get_type_hints(row_type)
    values: dict[str, Any] = {}
    for name, text in record.items():
        kind = hints[name]
        if text == "":
            values[name] = None
        elif kind is bool:
            values[name] = text == "True"
        elif kind in (int, int | None):
            values[name] = int(text)
        elif kind in (date, date | None):
            values[name] = date.fromisoformat(text)
        else:
            values[name] = text
    return row_type(**values)


def round_trips(made: Report) -> None:
    """Every section survives CSV and JSON exactly, amounts as integers."""
    document = json.loads(made.content())
    assert document["report"] == made.name and document["ok"] == made.ok
    for s in made.sections:
        assert isinstance(s, Section)
        from_csv = tuple(
            _typed(s.row_type, r) for r in csv.DictReader(io.StringIO(made.to_csv(s.name)))
        )
        assert from_csv == s.rows, s.name
        records = document["sections"][s.name]
        assert records == [attrs.asdict(r) | _dates(r) for r in s.rows]
    blocks = made.to_csv().split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [f"# section: {s.name}" for s in made.sections]


def _dates(row: Any) -> dict[str, str]:
    return {k: v.isoformat() for k, v in attrs.asdict(row).items() if isinstance(v, date)}


def test_csv_and_json_round_trip(golden: Path) -> None:
    for day in (DAY_A, DAY_B):
        round_trips(report(golden, day))


def test_rebuilt_read_models_give_the_same_report(ledger_file: Path, tmp_path: Path) -> None:
    with Ledger.open(ledger_file, create=False) as book, Runner(book) as runner:
        here = [loan_portfolio(runner, d).content() for d in (DAY_A, DAY_B)]
        with runner.rebuild_into(tmp_path / "other.db") as other:
            assert other.digest() == runner.digest()
            assert [loan_portfolio(other, d).content() for d in (DAY_A, DAY_B)] == here


@pytest.mark.parametrize(
    "day", [datetime(2026, 3, 10, tzinfo=BANGKOK), "2026-03-10", None, 20260310]
)
def test_the_day_must_be_a_date(golden: Path, day: object) -> None:
    with (
        Ledger.open(golden, create=False) as book,
        Runner(book, ":memory:") as runner,
        pytest.raises(InvalidCommand, match=r"datetime\.date"),
    ):
        loan_portfolio(runner, day)  # type: ignore[arg-type]


def test_the_golden_script_runs(tmp_path: Path) -> None:
    out = tmp_path / "out.db"
    done = subprocess.run(
        [sys.executable, "-m", "tests.golden.cod_loans", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert report(out, DAY_B).content() == report(out, DAY_B).content()
    assert report(out, DAY_A).rows("summary")[0].allowance_minor == 543_427
