"""The benchmarks run and measure what they say (no time is asserted): the workload is
the mix it claims, each case prints its figures, the peers record the same entries, and
the ratios come from the figures of one run."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from benchmarks import ratios
from benchmarks.flows import cod_orders, loan_book
from benchmarks.peers import es, raw
from benchmarks.reads import read_models
from benchmarks.report import Figure, isolated, machine
from benchmarks.wallet import latency, peer_eventsourcing, peer_raw, reads_at, replay, throughput
from benchmarks.workload import MIX, entry_legs, prepare, wallet_mix
from ledger import Accepted, Ledger, Rejected

SMALL = {"wallets": 200, "merchants": 5}


def test_machine_lines_name_the_versions() -> None:
    lines = machine()
    assert "cores" in lines[0]
    for name in ("python", "sqlite", "satang", "msgspec", "eventsourcing"):
        assert name in lines[1]


def test_the_mix_is_seeded_in_its_shares_and_accepted_or_refused_as_overdrafts(
    tmp_path: Path,
) -> None:
    today = date(2026, 12, 1)
    first = list(itertools.islice(wallet_mix(7, 200, 5, today), 4_000))
    assert first == list(itertools.islice(wallet_mix(7, 200, 5, today), 4_000))
    assert first != list(itertools.islice(wallet_mix(8, 200, 5, today), 4_000))
    kinds = Counter(type(c).__name__ for c in first)
    shares = {
        "TopUp": kinds["TopUp"],
        "Pay": kinds["Pay"],
        "Transfer": kinds["Transfer"],
        "cod": kinds["CodDelivered"] + kinds["CodRemitted"],
        "DisburseLoan": kinds["DisburseLoan"],
    }
    for (_, share), got in zip(MIX, shares.values(), strict=True):
        assert abs(got / 4_000 - share / 100) < 0.03
    with Ledger.open(tmp_path / "mix.db") as book:
        prepare(book, 200, 5)
        stream = wallet_mix(1, 200, 5, book.today())
        results = book.submit_many(list(itertools.islice(stream, 3_000)))
    refused = Counter(r.code for r in results if isinstance(r, Rejected))
    assert set(refused) <= {"insufficient_funds"}
    assert sum(isinstance(r, Accepted) for r in results) > 2_500


def test_every_command_of_the_mix_is_a_balanced_entry_for_the_peers() -> None:
    for command in itertools.islice(wallet_mix(3, 50, 5, date(2026, 12, 1)), 500):
        legs = entry_legs(command)
        assert len(legs) >= 2 and sum(amount for _, amount in legs) == 0


def test_the_raw_floor_and_eventsourcing_record_the_same_entries(tmp_path: Path) -> None:
    wallets = frozenset({"w1", "w2"})
    opening = [[("bank", 1_000), ("w1", -1_000)]]
    entries = [
        [("w1", 600), ("m", -600)],
        [("w1", 600), ("m", -600)],  # overdraws w1: refused by both
        [("w1", 100), ("w2", -100)],
        [("w2", 100), ("m", -100)],
    ]
    _, raw_written = raw.append(tmp_path / "raw.db", opening, entries, 2, wallets)
    _, rows = raw.rebuild(tmp_path / "raw.db")
    assert (raw_written, rows) == (3, 4)
    if not es.AVAILABLE:
        pytest.fail("eventsourcing is not installed: make installs the bench extra")
    _, es_written = es.append(tmp_path / "es.db", opening, entries, wallets)
    _, events = es.rebuild(tmp_path / "es.db")
    assert es_written == 3
    assert events == 4 + 2 + 2 * 3  # four accounts opened, the opening's legs, three entries' legs


def test_the_write_latency_and_replay_cases_print_their_figures(tmp_path: Path) -> None:
    lines: list[str] = []
    (written,) = throughput(tmp_path / "t.db", 100, 500, "normal", lines.append, **SMALL)
    assert written.name == "submit_many batch=100 durability=normal"
    assert written.unit == "accepted/s" and written.value > 0 and "500 commands" in written.note
    single, batch = latency(tmp_path / "l.db", 20, 2, lines.append, **SMALL)
    assert "20 calls" in single.note and "2 calls" in batch.note
    rebuilt, audited = replay(tmp_path / "r.db", 2_000, lines.append, **SMALL)
    assert rebuilt.name == "replay: rebuild balances" and audited.name == "replay: verify"
    assert "findings: 0" in audited.note
    assert len(lines) == 5


def test_reads_at_a_log_size_time_each_read(tmp_path: Path) -> None:
    lines: list[str] = []
    figures = reads_at(tmp_path / "s.db", 3_000, 30, lines.append, **SMALL)
    assert [f.name for f in figures] == [
        "reads at 3,000: balance()",
        "reads at 3,000: balance(as_of=seq)",
        "reads at 3,000: balance(as_of=time)",
        "reads at 3,000: statement page of 100",
    ]
    assert all(f.unit == "us p50" and "30 calls" in f.note for f in figures)


def test_the_peer_cases_run_on_the_same_mix(tmp_path: Path) -> None:
    lines: list[str] = []
    floor = peer_raw(tmp_path / "raw.db", 3_000, lines.append, **SMALL)
    assert [f.name for f in floor] == [
        "raw floor: batch=1,000 durable",
        "raw floor: batch=1 durable",
        "raw floor: rebuild balances",
    ]
    library = peer_eventsourcing(tmp_path / "es.db", 100, lines.append, **SMALL)
    assert [f.name for f in library] == [
        "eventsourcing: one save per command",
        "eventsourcing: replay",
    ]


def test_an_isolated_case_runs_in_a_process_of_its_own_and_reports_its_peak(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    (figure,) = isolated(lines.append, throughput, tmp_path / "i.db", 10, 100, "normal", **SMALL)
    assert figure.peak_mib is not None and figure.peak_mib > 10
    assert lines[0].endswith(f"peak {figure.peak_mib:,.0f} MiB)")


def test_the_ratios_are_the_figures_divided_and_checked_against_the_targets() -> None:
    figures = [
        Figure("submit_many batch=1,000 durability=full", 40_000, "accepted/s"),
        Figure("raw floor: batch=1,000 durable", 50_000, "entries/s"),
        Figure("eventsourcing: one save per command", 400, "entries/s"),
        Figure("replay: verify", 25_000, "events/s"),
    ]
    lines = ratios(figures)
    assert any("vs the raw floor" in line and "0.80" in line and "yes" in line for line in lines)
    assert any("eventsourcing" in line and "100.00" in line and "yes" in line for line in lines)
    assert any("verify" in line and "0.50" in line and line.endswith("no") for line in lines)
    assert ratios([]) == []


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
    lines: list[str] = []
    figures = read_models(tmp_path / "reads.db", 2_000, lines.append)
    assert [f.name for f in figures] == [
        "reads: fold every projection",
        "reads: catch up 1,000 new commands",
        "reads: safeguarding report",
        "reads: trial balance as of a day",
        "reads: statement page of 100, recorded order",
        "reads: statement page of 100, effective order",
    ]
    assert all(f.value > 0 for f in figures)
    folded = int(figures[1].note.removesuffix(" events").replace(",", ""))
    assert 1_000 <= folded <= 1_300  # a loan or a delivery writes more than one event
    assert len(lines) == len(figures)


def test_the_profile_names_the_hot_functions_and_splits_the_flush_by_table(
    tmp_path: Path,
) -> None:
    from benchmarks.profile import flush_split, profiled

    report = profiled(tmp_path, commands=2_000, wallets=100)
    assert "submit_many" in report or "_submit_one" in report
    elapsed, spent = flush_split(tmp_path, commands=2_000, wallets=100)
    assert {"INSERT INTO events", "INSERT INTO account_postings", "INSERT INTO commands"} <= set(
        spent
    )
    assert 0 < sum(spent.values()) < elapsed


def test_every_postings_layout_is_measured(tmp_path: Path) -> None:
    from benchmarks.postings_layout import LAYOUTS, measure

    for n, ddl in enumerate(LAYOUTS.values()):
        assert measure(tmp_path / f"{n}.db", ddl, before=500, timed=1_000) > 0
