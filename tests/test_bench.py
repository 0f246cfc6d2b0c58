"""The benchmark's machinery runs and measures what it says (no time is asserted)."""

from __future__ import annotations

import itertools
from pathlib import Path

from ledger import Accepted, Ledger
from ledger.bench import _throughput, cod_orders, loan_book, machine, setup_commands, wallet_mix


def test_machine_line_names_python_and_sqlite() -> None:
    lines = machine()
    assert "python" in lines[1] and "sqlite" in lines[1] and "satang" in lines[1]


def test_the_mix_is_seeded_and_funded_wallets_accept_it(tmp_path: Path) -> None:
    first = list(itertools.islice(wallet_mix(7, 50, 5), 200))
    again = list(itertools.islice(wallet_mix(7, 50, 5), 200))
    other = list(itertools.islice(wallet_mix(8, 50, 5), 200))
    assert first == again != other
    assert {c.kind for c in first} == {"top_up", "payment", "p2p", "withdrawal"}
    with Ledger.open(tmp_path / "b.db") as book:
        assert all(isinstance(r, Accepted) for r in book.submit_many(setup_commands(50, 5)))
        stream = wallet_mix(1, 50, 5)
        results = book.submit_many([next(stream) for _ in range(500)])
    assert sum(isinstance(r, Accepted) for r in results) >= 450


def test_throughput_reports_submitted_and_accepted_rates(tmp_path: Path) -> None:
    submitted, accepted = _throughput(tmp_path / "t.db", 10, 200, "normal", 50, 5)
    assert 1 < accepted <= submitted  # rates per second, not shares


def test_the_cod_suite_walks_every_order_through_and_prints_each_figure(tmp_path: Path) -> None:
    lines: list[str] = []
    figures = cod_orders(tmp_path / "cod.db", 1_200, lines.append)
    assert [f.name for f in figures] == [
        "cod: CodDelivered, batches of 1,000",
        "cod: CodRemitted, 1,000 orders each",
        "cod: CodReleased, per command",
        "cod: PayoutMerchant of every order",
        "cod: CodReleased with nothing due",
    ]
    assert all(f.value > 0 for f in figures) and len(lines) == len(figures)
    assert "2 releases of up to 1,000 orders" in figures[2].note
    with Ledger.open(tmp_path / "cod.db") as book:
        assert book.balance(book.chart.available_payable("M1")).balance == 0
        assert book.balance(book.chart.cod_bank).balance == 1_200 * 95_000 - 1_200 * 91_000


def test_the_loan_suite_accrues_a_month_and_takes_every_first_installment(tmp_path: Path) -> None:
    lines: list[str] = []
    figures = loan_book(tmp_path / "loans.db", 30, lines.append)
    assert [f.name for f in figures] == [
        "loans: DisburseLoan, batches of 1,000",
        "loans: AccrueInterest, a day's run",
        "loans: RepayLoan, batches of 1,000",
        "loans: Ledger.loans(), the portfolio view",
        "loans: AccrueInterest with nothing due",
    ]
    assert all(f.value > 0 for f in figures) and len(lines) == len(figures)
    assert "31 commands" in figures[1].note
    with Ledger.open(tmp_path / "loans.db") as book:
        assert book.balance("loans:principal").balance == 30 * (1_000_000 - 157_206)
        assert book.balance("income:loan_interest").balance == 30 * 23_333


def test_the_reads_suite_folds_reports_and_pages_and_prints_each_figure(tmp_path: Path) -> None:
    from ledger.bench import read_models

    lines: list[str] = []
    figures = read_models(tmp_path / "reads.db", 2_000, lines.append)
    assert [f.name for f in figures] == [
        "reads: fold every projection",
        "reads: catch up 1,000 new entries",
        "reads: safeguarding report",
        "reads: trial balance as of a day",
        "reads: statement page of 100, recorded order",
        "reads: statement page of 100, effective order",
    ]
    assert all(f.value > 0 for f in figures)
    assert "22,102 events from seq 1" in figures[0].note  # 10,100 opens + 10,000 + 2,000
    assert figures[1].note == "1,000 events"
    assert len(lines) == len(figures)


def test_balance_latency_times_each_kind_of_balance_read(tmp_path: Path) -> None:
    from ledger.bench import balance_latency

    with Ledger.open(tmp_path / "lat.db") as book:
        book.submit_many(setup_commands(20, 2))
        stream = wallet_mix(2, 20, 2)
        book.submit_many([next(stream) for _ in range(200)])
        figures = balance_latency(book, 20, 30)
        head = book.head()[0]
    assert [f.name for f in figures] == [
        "latency: balance()",
        "latency: balance(as_of=seq)",
        "latency: balance(as_of=time)",
    ]
    assert all(f.value > 0 and f.unit == "us p50" for f in figures)
    assert all(f"30 calls, {head:,} events" in f.note for f in figures)
