"""The benchmarks run and measure what they say (no time is asserted): the workload is
the mix it claims, each case prints its figures, the peers record the same entries, and
the ratios come from the figures of one run."""

from __future__ import annotations

import itertools
import os
from collections import Counter
from datetime import date
from pathlib import Path

import attrs
import msgspec
import pytest

from ledger import Accepted, Ledger, Rejected
from ledger.bench import ratios, reads, threads, wallet
from ledger.bench.flows import cod_orders, loan_book
from ledger.bench.peers import es, raw
from ledger.bench.reads import read_models
from ledger.bench.report import Figure, isolated, machine
from ledger.bench.wallet import (
    latency,
    peer_entries,
    peer_eventsourcing,
    peer_raw,
    reads_at,
    replay,
    throughput,
    throughput_name,
    write_log,
)
from ledger.bench.workload import BENCH_MASTER_KEY, MIX, prepare, wallet_mix
from ledger.keys import is_sealed

SMALL = {"wallets": 200, "merchants": 5}


def test_machine_lines_name_the_versions() -> None:
    import platform
    import sqlite3

    lines = machine()
    assert "cores" in lines[0]
    assert f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}" in lines[1]
    assert f"msgspec {msgspec.__version__}" in lines[1]
    assert "eventsourcing 9." in lines[1] and "satang 0." in lines[1]


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
        prepare(book, 20, 5)  # few wallets, many commands each: some overdraw
        stream = wallet_mix(1, 20, 5, book.today())
        results = []
        for _ in range(4):
            results += book.submit_many(list(itertools.islice(stream, 1_000)))
        logged = {r.command_id for r in book.events()}
    refused = [r for r in results if isinstance(r, Rejected)]
    assert refused and {r.code for r in refused} == {"insufficient_funds"}
    assert not logged & {r.id for r in refused}  # a refused command wrote nothing
    assert sum(isinstance(r, Accepted) for r in results) > 3_000


def test_the_peers_get_the_postings_satang_wrote_for_the_same_commands(tmp_path: Path) -> None:
    opening, mix, wallets = peer_entries(tmp_path / "p.db", 1_000, wallets=50, merchants=5)
    with Ledger.open(tmp_path / "p.db") as book:
        money = [r for r in book.events() if hasattr(r.event, "postings")]
    assert len(opening) == 1 + 50  # the capital, then each wallet's opening top-up
    assert 950 <= len(mix) <= 1_000  # the accepted ones
    assert sum(len(legs) for legs in opening + mix) == sum(len(r.event.postings) for r in money)
    assert all(sum(amount for _, amount in legs) == 0 for legs in opening + mix)
    assert wallets == frozenset(f"wallet:U{i}" for i in range(50))


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
    assert write_log(tmp_path / "r.db", 2_000, lines.append, **SMALL) == []
    rebuilt, audited = replay(tmp_path / "r.db", lines.append)
    assert rebuilt.name == "replay: rebuild balances" and audited.name == "replay: verify"
    assert "findings: 0" in audited.note
    assert len(lines) == 5


def test_the_personal_data_case_runs_the_same_mix_with_its_text_sealed(tmp_path: Path) -> None:
    plain = throughput(tmp_path / "p0.db", 100, 400, "full", lambda line: None, **SMALL)
    (sealed,) = throughput(
        tmp_path / "p1.db", 100, 400, "full", lambda line: None, personal=True, **SMALL
    )
    assert sealed.name == "submit_many batch=100 durability=full, sealed"
    assert sealed.note.split(", ")[-1] == plain[0].note.split(", ")[-1]  # the same accepted
    with Ledger.open(tmp_path / "p1.db", master_key=BENCH_MASTER_KEY) as book:
        payments = [r.event for r in book.events() if r.type == "payment_made"]
        assert payments and all(is_sealed(p.reference) for p in payments)
        assert book.reveal(payments[0].reference).startswith("order ")
        assert book.subject("C0").accounts == 1
    assert b"Jaidee" not in (tmp_path / "p1.db").read_bytes()
    rows = ratios([plain[0], attrs.evolve(sealed, name=throughput_name(1_000, "full", True))])
    assert rows == []  # the row needs both at batch 1,000
    both = [
        attrs.evolve(plain[0], name=throughput_name(1_000, "full"), value=10.0),
        attrs.evolve(sealed, name=throughput_name(1_000, "full", True), value=9.0),
    ]
    assert any(
        line.startswith("batch 1,000 with personal data sealed vs without") and "0.90" in line
        for line in ratios(both)
    )


def test_the_threads_case_submits_every_command_from_its_threads(tmp_path: Path) -> None:
    lines: list[str] = []
    (figure,) = threads.threaded(tmp_path / "t.db", 4, 200, lines.append, **SMALL)
    assert figure.name == "threads=4: submit, one command each" and figure.value > 0
    assert "200 calls" in figure.note and figure.p99 is not None and len(lines) == 1
    with Ledger.open(tmp_path / "t.db") as book:  # each thread's 50, each decided once
        answers = [book.result(f"t{t}-{n}") for t in range(4) for n in range(1, 51)]
        assert book.result("t0-51") is None
        logged = [e.command_id for e in book.events() if e.command_id.startswith("t")]
    assert all(a is not None for a in answers)
    accepted = {a.id for a in answers if isinstance(a, Accepted)}
    assert set(logged) == accepted and len(accepted) > 100


@pytest.mark.slow  # a log of 3,000 commands, each read timed
def test_reads_at_a_log_size_time_each_read(tmp_path: Path) -> None:
    lines: list[str] = []
    figures = reads_at(tmp_path / "s.db", 3_000, 30, lines.append, **SMALL)
    assert [f.name for f in figures] == [
        "reads at 3,000: the log grown",
        "reads at 3,000: balance()",
        "reads at 3,000: balance(as_of=seq)",
        "reads at 3,000: balance(as_of=time)",
        "reads at 3,000: statement page",
    ]
    grown, *reads = figures  # the set-up of SMALL is under 3,000 events: the log grew
    assert grown.unit == "events/s" and grown.value > 0 and "bytes" in grown.note
    assert all(f.unit == "us p50" and "30 calls" in f.note for f in reads)
    assert all(f.p99 is not None and f.p99 >= f.value for f in reads)
    assert "lines a page" in reads[3].note


@pytest.mark.slow  # 3,000 entries through the raw floor
def test_the_peer_cases_run_on_the_same_mix(tmp_path: Path) -> None:
    lines: list[str] = []
    floor = peer_raw(tmp_path / "raw.db", 3_000, lines.append, **SMALL)
    assert [f.name for f in floor] == [wallet.RAW_BATCH, wallet.RAW_SINGLE, wallet.RAW_REBUILD]
    library = peer_eventsourcing(tmp_path / "es.db", 100, lines.append, **SMALL)
    assert [f.name for f in library] == [wallet.ES_SAVE, wallet.ES_REPLAY]
    assert all(f.peak_mib is not None for f in floor + library)


def pid_case(out: object = None) -> list[Figure]:
    """A case that says which process ran it."""
    return [Figure("pid", os.getpid(), "pid")]


@pytest.mark.slow  # two processes
def test_an_isolated_case_runs_in_a_process_of_its_own_and_reports_its_peak(
    tmp_path: Path,
) -> None:
    lines: list[str] = []
    (where,) = isolated(lines.append, pid_case)
    assert where.value != os.getpid()
    (figure,) = isolated(lines.append, throughput, tmp_path / "i.db", 10, 100, "normal", **SMALL)
    assert figure.peak_mib is not None and figure.peak_mib > 10
    assert lines[1].endswith(f"peak {figure.peak_mib:,.0f} MiB)")


def test_the_ratios_are_the_figures_divided_and_checked_against_the_targets() -> None:
    figures = [
        Figure(wallet.throughput_name(1_000, "full"), 40_000, "accepted/s"),
        Figure(wallet.throughput_name(1, "full"), 800, "accepted/s"),
        Figure(wallet.RAW_BATCH, 50_000, "entries/s"),
        Figure(wallet.RAW_SINGLE, 1_000, "entries/s"),
        Figure(wallet.ES_SAVE, 400, "entries/s"),
        Figure(wallet.REBUILD, 300_000, "events/s"),
        Figure(wallet.RAW_REBUILD, 200_000, "entries/s"),
        Figure(wallet.VERIFY, 25_000, "events/s"),
        Figure(threads.name(32), 1_500, "accepted/s", p99=5.0),
        Figure(reads.FOLD, 40_000, "events/s"),
        Figure(wallet.reads_name(1_000_000, "balance()"), 40, "us p50", p99=2_000),
        Figure(wallet.reads_name(1_000_000, "balance(as_of=seq)"), 40, "us p50", p99=1_000),
    ]
    table = {line[:52].strip(): line[52:].split() for line in ratios(figures)[2:]}
    assert table == {
        "batch 1,000 vs the raw floor": ["0.80", "0.25", "yes"],
        "batch 1,000 vs 30,000/s": ["1.33", "1.00", "yes"],
        "batch 1,000 vs TigerBeetle's Python client": ["1.00", "-", "-"],
        "batch 1,000 vs eventsourcing": ["100.00", "50.00", "yes"],
        "batch 1 vs eventsourcing (both one commit each)": ["2.00", "-", "-"],
        "one submit vs the raw floor's one per transaction": ["0.80", "0.80", "yes"],
        "replay vs 200,000 events/s": ["1.50", "1.00", "yes"],
        "replay vs the raw floor's rebuild": ["1.50", "1.00", "yes"],
        "32 threads vs the raw floor's one per transaction": ["1.50", "1.00", "yes"],
        "10 ms / p99 of a submit with 32 threads": ["2.00", "1.00", "yes"],
        "verify vs 50,000 events/s": ["0.50", "1.00", "no"],
        "folding every read model vs 50,000 events/s": ["0.80", "1.00", "no"],
        "1 ms / balance() p99 at 1M events": ["0.50", "1.00", "no"],
        "5 ms / balance(as_of=seq) p99 at 1M events": ["5.00", "1.00", "yes"],
    }
    assert ratios([]) == []


def test_the_ratios_find_the_figures_the_cases_make(tmp_path: Path) -> None:
    made = throughput(tmp_path / "n.db", 1_000, 1_000, "full", lambda line: None, **SMALL)
    made += peer_raw(tmp_path / "raw.db", 1_000, lambda line: None, **SMALL)
    assert any(line.startswith("batch 1,000 vs the raw floor") for line in ratios(made))


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


@pytest.mark.slow  # a 2,000-command log folded
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
    from ledger.bench.profile import flush_split, profiled

    report = profiled(tmp_path, commands=2_000, wallets=100)
    assert "submit_many" in report or "_submit_one" in report
    elapsed, spent = flush_split(tmp_path, commands=2_000, wallets=100)
    assert {"INSERT INTO events", "INSERT INTO account_postings", "INSERT INTO commands"} <= set(
        spent
    )
    assert 0 < sum(spent.values()) < elapsed
    from ledger.bench.profile import SEALING, STAGES, stage_split

    before = [getattr(owner, name) for owner, name, _ in STAGES + SEALING]
    for personal in (False, True):
        elapsed, stages = stage_split(tmp_path, commands=2_000, wallets=100, personal=personal)
        assert set(stages) == {what for _, _, what in STAGES + SEALING}
        assert all(seconds > 0 for seconds in stages.values())
        assert sum(stages.values()) < elapsed
    assert [getattr(owner, name) for owner, name, _ in STAGES + SEALING] == before  # put back


def test_every_postings_layout_is_measured(tmp_path: Path) -> None:
    from ledger.bench.postings_layout import LAYOUTS, measure

    for n, ddl in enumerate(LAYOUTS.values()):
        assert measure(tmp_path / f"{n}.db", ddl, before=500, timed=1_000) > 0


def test_the_size_suite_splits_a_file_into_its_parts(tmp_path: Path) -> None:
    """Every page of a closed ledger file is counted once, in the part its table is."""
    from ledger.bench import size
    from projections.runner import Runner

    path = tmp_path / "sized.db"
    with Ledger.open(path) as book:
        prepare(book, 20, 2)
        book.submit_many(list(itertools.islice(wallet_mix(1, 20, 2, book.today()), 200)))
        with Runner(book) as runner:
            runner.catch_up()
        head = book.head()[0]
    events, file_bytes, parts = size.measure(path)
    assert events == head
    assert sum(parts.values()) == file_bytes  # a new file has no free pages
    for part in ("the log", "the history", "the idempotency index", "the read models"):
        assert parts[part, "table"] > 0, part
    assert parts["the history", "index"] > 0 and parts["the read models", "index"] > 0
    assert size.part_of("proj_transactions") == "the read models"
    assert size.part_of("schema_migrations") == "other"


def test_the_ratios_hold_the_write_and_size_targets() -> None:
    from ledger.bench import BATCH_TARGET, BYTES_TARGET, size

    lines = ratios(
        [
            Figure(wallet.throughput_name(1_000, "full"), 15_000.0, "accepted/s"),
            Figure(size.FILE, 1_532.0, "B/event"),
        ]
    )
    table = "\n".join(lines)
    assert f"batch 1,000 vs {BATCH_TARGET:,}/s" in table
    assert f"{BYTES_TARGET} B / the demo file's bytes per event" in table
    assert "0.50" in table and " no" in table
