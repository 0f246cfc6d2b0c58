"""`satang demo`: a seeded day of every flow that the reports and verify accept as clean."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from ledger import Ledger
from ledger.audit import verify
from ledger.cli import main
from ledger.demo import DemoSize, months_before, run_demo
from projections.reports import REPORTS
from projections.runner import Runner

SMALL = DemoSize(customers=150, merchants=5, agents=4, couriers=2, cod_orders_per_day=20, loans=20)
DAY = date(2026, 12, 1)
BANGKOK = ZoneInfo("Asia/Bangkok")

# What the day must hold: each flow of the story, on the day itself.
THE_DAYS_EVENTS = {
    "top_up_received",
    "payment_made",
    "refunded",
    "transferred",
    "bill_paid",
    "withdrawn",
    "hold_placed",
    "hold_captured",
    "hold_released",
    "hold_expired",
    "cod_delivered",
    "cod_delivery_failed",
    "cod_remittance_received",
    "cod_order_released",
    "merchant_paid_out",
    "cod_order_returned",
    "cod_buyer_refunded",
    "courier_dispute_resolved",
    "loan_disbursed",
    "loan_accrued",
    "loan_repaid",
    "loan_provisioned",
    "agent_settled",
    "account_frozen",
}


def _head(path: Path) -> tuple[int, str]:
    with Ledger.open(path, create=False) as book:
        return book.head()


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    run_demo(path, seed=3, size=SMALL, day=DAY)
    return path


def test_a_seed_gives_the_same_log_and_another_seed_another(demo_db: Path, tmp_path: Path) -> None:
    again, other = tmp_path / "again.db", tmp_path / "other.db"
    run_demo(again, seed=3, size=SMALL, day=DAY)
    run_demo(other, seed=4, size=SMALL, day=DAY)
    assert _head(again) == _head(demo_db)
    assert _head(other) != _head(demo_db)


def test_the_day_holds_every_flow_and_overdrafts_are_rejected_not_recorded(
    tmp_path: Path,
) -> None:
    outcome = run_demo(tmp_path / "d.db", seed=3, size=SMALL, day=DAY)
    with Ledger.open(tmp_path / "d.db", create=False) as book:
        on_the_day = {
            r.type for r in book.events() if r.effective_at.astimezone(BANGKOK).date() == DAY
        }
        wallets = [f"wallet:C{n:05}" for n in range(1, SMALL.customers + 1)]
        assert all(book.balance(w).available >= 0 for w in wallets)
    assert on_the_day >= THE_DAYS_EVENTS
    assert outcome.rejected["insufficient_funds"] > 0
    assert sum(outcome.accepted.values()) + sum(outcome.rejected.values()) == sum(
        outcome.submitted.values()
    )
    assert outcome.history["OpenAccount"] >= SMALL.customers


def test_the_reports_of_the_day_and_verify_find_nothing(demo_db: Path) -> None:
    with Ledger.open(demo_db, create=False) as book:
        report = verify(book)
        assert report.ok and len(report.findings) == 0 and report.events_checked > 1_000
        with Runner(book, ":memory:") as runner:
            runner.catch_up()
            for spec in REPORTS.values():
                args = (DAY,) if spec.period == "day" else (DAY, DAY)
                made = spec.load()(runner, *args)
                assert list(made.findings) == [], spec.name
                assert made.log_seq == book.head()[0]


def test_the_aml_report_shows_the_days_cash_stories(demo_db: Path) -> None:
    with Ledger.open(demo_db, create=False) as book, Runner(book, ":memory:") as runner:
        runner.catch_up()
        made = REPORTS["aml"].load()(runner, DAY, DAY)
    sections = {s.name: s.rows for s in made.sections}
    assert [r.amount_minor for r in sections["threshold"]] == [15_000_000]
    assert [(r.pieces, r.total_minor) for r in sections["structuring"]] == [(3, 29_400_000)]


def test_the_cli_prints_the_reports_and_verify_and_guards_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    args = ["demo", "--db", str(path), "--customers", "120", "--merchants", "3"]
    args += ["--agents", "3", "--couriers", "2", "--cod-orders", "12", "--loans", "20"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    for name in REPORTS:
        assert f"== satang report {name} --db {path} --date 2026-12-01" in result.output
    seq, digest = _head(path)
    assert f"head: {seq}:{digest}" in result.output and result.output.endswith("ok\n")
    assert "rejected as insufficient_funds" in result.output

    again = CliRunner().invoke(main, args)
    assert again.exit_code == 2 and "--overwrite" in again.output
    assert _head(path) == (seq, digest)
    replaced = CliRunner().invoke(main, [*args, "--overwrite", "--seed", "9"])
    assert replaced.exit_code == 0, replaced.output
    assert _head(path) != (seq, digest)


def test_the_cli_refuses_a_file_that_is_not_a_ledger_even_with_overwrite_no(
    tmp_path: Path,
) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    result = CliRunner().invoke(main, ["demo", "--db", str(path)])
    assert result.exit_code == 2
    assert sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 12, 1), 4, date(2026, 8, 1)),
        (date(2026, 3, 31), 1, date(2026, 2, 28)),
        (date(2028, 3, 31), 1, date(2028, 2, 29)),
        (date(2026, 1, 15), 2, date(2025, 11, 15)),
        (date(2026, 12, 31), -1, date(2027, 1, 31)),
    ],
)
def test_months_before_keeps_the_day_or_takes_the_months_last(
    day: date, months: int, expected: date
) -> None:
    assert months_before(day, months) == expected


def test_sizes_are_checked() -> None:
    with pytest.raises(ValueError):
        DemoSize(customers=3)
