"""`satang demo`: a seeded day of every flow that the reports and verify accept as clean."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from ledger import Ledger, StoreError
from ledger.audit import verify
from ledger.cli import main
from ledger.demo import DemoSize, day_ticks, months_before, run_demo
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


SMALL_HEAD = (1622, "8ce45c7dec3fdebc55cfcabc19635005eb8b152e67468f0866236f29f780301a")
"""The head of SMALL with seed 3, as the demo wrote it when this test was written: the same
on every machine that runs it, under any PYTHONHASHSEED. A change to the story changes it
on purpose; update it then, with docs/demo.md. (The compact payloads of schema 2 changed
it from 69df057f…a3b0: the same events, other bytes under the chain; the subject field
of ``account_opened``, last in its array and None here, from 607cbf5e…95ea.)"""


def test_a_seed_gives_the_same_log_on_every_machine_and_another_seed_another(
    demo_db: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.db"
    run_demo(other, seed=4, size=SMALL, day=DAY)
    assert _head(demo_db) == SMALL_HEAD
    assert _head(other) != SMALL_HEAD


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
    # a wallet short of money, or the wallet compliance froze: never a malformed command
    assert set(outcome.rejected) <= {"insufficient_funds", "account_frozen"}
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


def test_overwrite_replaces_only_a_ledger_the_demo_wrote(tmp_path: Path) -> None:
    plain = tmp_path / "plain.db"
    sqlite3.connect(plain).execute("CREATE TABLE t (x)").connection.commit()
    ledger_file = tmp_path / "wallet.db"
    with Ledger.open(ledger_file) as book:
        book.open_chart()
        head = book.head()
    for path in (plain, ledger_file):
        result = CliRunner().invoke(main, ["demo", "--db", str(path), "--overwrite"])
        assert result.exit_code == 2 and "kept" in result.output, result.output
    assert sqlite3.connect(plain).execute("SELECT name FROM sqlite_master").fetchall() == [("t",)]
    assert _head(ledger_file) == head


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--timezone", "Mars/Olympus"], "unknown time zone"),
        (["--customers", "10"], "--customers"),
        (["--customers", "40", "--loans", "21"], "at most one loan for every two customers"),
        (["--agents", "2"], "--agents"),
        (["--date", "0001-02-01"], "outside 1971..9998"),
        (["--date", "garbage"], "is not a day"),
        (["--db", ":memory:"], "writes a file"),
    ],
)
def test_bad_flags_are_usage_errors_and_write_nothing(
    tmp_path: Path, args: list[str], says: str
) -> None:
    path = tmp_path / "never.db"
    result = CliRunner().invoke(main, ["demo", "--db", str(path), *args])
    assert result.exit_code == 2 and says in result.output, result.output
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_cannot_be_written_is_a_message_not_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "--db", str(tmp_path / "no" / "such" / "x.db")])
    assert result.exit_code == 1 and "Error:" in result.output, result.output
    assert isinstance(result.exception, SystemExit)  # click's exit, not an escaped error


def test_a_failure_half_way_removes_the_demos_own_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ledger.demo

    def broken(self: object, progress: object) -> None:
        raise StoreError("the disk is full")

    monkeypatch.setattr(ledger.demo._Story, "the_day", broken)
    path = tmp_path / "half.db"
    args = ["demo", "--db", str(path), "--customers", "40", "--loans", "20", "--agents", "3"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1 and "the disk is full" in result.output, result.output
    assert list(tmp_path.iterdir()) == []


def test_a_daylight_saving_day_has_its_own_ticks_and_the_clock_never_goes_back(
    tmp_path: Path,
) -> None:
    zone = ZoneInfo("America/New_York")
    spring, autumn = date(2026, 3, 8), date(2026, 11, 1)
    assert [len(day_ticks(d, zone)) for d in (spring, autumn, DAY)] == [138, 150, 144]
    path = tmp_path / "ny.db"
    run_demo(path, seed=5, size=SMALL, day=spring, timezone="America/New_York")
    with Ledger.open(path, create=False, timezone="America/New_York") as book:
        recorded = [r.recorded_at for r in book.events()]
        assert recorded == sorted(recorded)
        assert verify(book).ok


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
    with pytest.raises(ValueError, match="customers"):
        DemoSize(customers=39)
    with pytest.raises(ValueError, match="at most one loan for every two customers"):
        DemoSize(customers=100, loans=51)
