"""The standard wallet mix: Satang's write path, its replay and audit, its reads as the
log grows, and the same workload on the peers — ``satang bench --suite wallet|scale|peers``.

Every case runs in a process of its own (:func:`ledger.bench.report.isolated`), on a fresh
SQLite file, so no case warms another's caches; each figure carries the peak resident
memory of the stretch that measured it. Every case draws the same seeded stream
(:data:`SEED`), so Satang and the peers see the same commands.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from ledger.audit import verify
from ledger.bench.peers import es, raw
from ledger.bench.report import (
    Figure,
    Out,
    children_peak_mib,
    measured,
    percentiles,
    printed,
    reset_peak,
)
from ledger.bench.workload import BENCH_MASTER_KEY, prepare, wallet, wallet_mix
from ledger.book import Ledger
from ledger.commands import Command
from ledger.events import MoneyEvent
from ledger.results import Accepted
from ledger.store.sqlite import Durability
from projections import balances as balance_model

WALLETS, MERCHANTS = 10_000, 100
SEED = 41
"""The seed of the mix every case draws from."""

# The names the ratios look figures up by (ledger.bench.ratios).
RAW_BATCH = "raw floor: batch=1,000 durable"
RAW_SINGLE = "raw floor: batch=1 durable"
RAW_REBUILD = "raw floor: rebuild balances"
ES_SAVE = "eventsourcing: one save per command"
ES_REPLAY = "eventsourcing: replay"
REBUILD = "replay: rebuild balances"
VERIFY = "replay: verify"


def throughput_name(batch: int, durability: str, personal: bool = False) -> str:
    name = f"submit_many batch={batch:,} durability={durability}"
    return f"{name}, sealed" if personal else name


def reads_name(events: int, read: str) -> str:
    return f"reads at {events:,}: {read}"


def _commands(
    book: Ledger, count: int, wallets: int, merchants: int, personal: bool = False
) -> list[Command]:
    mix = wallet_mix(SEED, wallets, merchants, book.today(), personal=personal)
    return list(itertools.islice(mix, count))


def throughput(
    path: Path,
    batch: int,
    total: int,
    durability: Durability,
    out: Out = print,
    *,
    wallets: int = WALLETS,
    merchants: int = MERCHANTS,
    personal: bool = False,
) -> list[Figure]:
    """``total`` commands of the mix in ``submit_many`` batches of ``batch``: accepted
    (written) commands per second, and the submitted rate beside it. With ``personal``,
    the mix with its customers as subjects and personal text on its payments and
    transfers (:func:`~ledger.bench.workload.wallet_mix`), sealed."""
    key = BENCH_MASTER_KEY if personal else None
    with Ledger.open(path, durability=durability, master_key=key) as book:
        prepare(book, wallets, merchants, personal=personal)
        commands = _commands(book, total, wallets, merchants, personal)
        accepted = 0
        reset_peak()
        start = time.perf_counter()
        for i in range(0, total, batch):
            results = book.submit_many(commands[i : i + batch])
            accepted += sum(isinstance(r, Accepted) for r in results)
        elapsed = time.perf_counter() - start
    figure = Figure(
        throughput_name(batch, durability, personal),
        accepted / elapsed,
        "accepted/s",
        f"{total / elapsed:,.0f} submitted/s, {total:,} commands, {accepted / total:.1%} accepted",
    )
    return [printed(out, measured(figure))]


def latency(
    path: Path,
    singles: int,
    batches: int,
    out: Out = print,
    *,
    wallets: int = WALLETS,
    merchants: int = MERCHANTS,
) -> list[Figure]:
    """Wall time of one durable ``submit`` (``singles`` of them) and of one
    ``submit_many`` of 1,000 commands (``batches`` of them): p50, p99, max."""
    figures = []
    with Ledger.open(path) as book:
        prepare(book, wallets, merchants)
        commands = _commands(book, singles + 1_000 * batches, wallets, merchants)
        for name, size, count in (
            ("submit (one command)", 1, singles),
            ("submit_many of 1,000", 1_000, batches),
        ):
            took = []
            reset_peak()
            for _ in range(count):
                chunk, commands = commands[:size], commands[size:]
                start = time.perf_counter()
                if size == 1:
                    book.submit(chunk[0])
                else:
                    book.submit_many(chunk)
                took.append((time.perf_counter() - start) * 1_000)
            p50, p99, most = percentiles(took)
            figure = Figure(
                f"latency: {name}",
                p50,
                "ms p50",
                f"p99 {p99:.2f} ms, max {most:.2f} ms, {count:,} calls",
                p99=p99,
            )
            figures.append(printed(out, measured(figure)))
    return figures


def write_log(
    path: Path,
    commands: int,
    out: Out = print,
    *,
    wallets: int = WALLETS,
    merchants: int = MERCHANTS,
) -> list[Figure]:
    """The log :func:`replay` reads: ``commands`` of the mix on funded wallets (no
    figures: it is timed by nobody)."""
    with Ledger.open(path, durability="normal") as book:
        prepare(book, wallets, merchants)
        stream = _commands(book, commands, wallets, merchants)
        for i in range(0, commands, 8_190):
            book.submit_many(stream[i : i + 8_190])
    return []


def replay(path: Path, out: Out = print) -> list[Figure]:
    """The log at ``path`` folded back into balances (``Ledger.events()``, read from
    SQLite and decoded, into ``projections.balances.rebuild``), and a full ``verify``
    (chain, balances, history, idempotency index, every read model rebuilt and compared,
    the invariants): in a process that opens the file, as a restart or an auditor's
    replay does, not the one that wrote it."""
    with Ledger.open(path, create=False) as book:
        events = book.head()[0]
        reset_peak()
        start = time.perf_counter()
        balance_model.rebuild(book.events())
        rebuilt = measured(
            Figure(
                REBUILD, events / (time.perf_counter() - start), "events/s", f"{events:,} events"
            )
        )
        reset_peak()
        start = time.perf_counter()
        report = verify(book)
        took = time.perf_counter() - start
        beside = children_peak_mib()  # the second process, if verify started one
        audited = measured(
            Figure(
                VERIFY,
                events / took,
                "events/s",
                f"{events:,} events, findings: {len(report.findings)}"
                + (f", second process peak {beside:,.0f} MiB" if beside else ""),
            )
        )
    return [printed(out, rebuilt), printed(out, audited)]


def reads_at(
    path: Path,
    events_wanted: int,
    samples: int,
    out: Out = print,
    *,
    wallets: int = WALLETS,
    merchants: int = MERCHANTS,
) -> list[Figure]:
    """Grow a log to ``events_wanted`` events, then time ``balance()``, ``balance(as_of=
    seq)``, ``balance(as_of=time)`` of a random wallet and the first statement page (up to
    100 lines, from the read models, caught up first), ``samples`` calls each: p50, p99."""
    from projections.runner import Runner
    from projections.statements import statement

    with Ledger.open(path, durability="normal") as book:
        prepare(book, wallets, merchants)
        stream = wallet_mix(SEED, wallets, merchants, book.today())
        started, set_up = time.perf_counter(), book.head()[0]
        while book.head()[0] < events_wanted:
            book.submit_many(list(itertools.islice(stream, 8_190)))
        head = book.head()[0]
        growing = time.perf_counter() - started
        size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
        grown = Figure(
            reads_name(events_wanted, "the log grown"),
            (head - set_up) / growing if growing else 0.0,
            "events/s",
            f"{head - set_up:,} events of the mix in batches of 8,190, durability=normal, in "
            f"{growing:,.0f} s; the file {size:,} bytes, {size / head:,.0f} an event",
        )
        figures = [printed(out, grown)] if head > set_up else []  # the set-up alone: none
        rng = random.Random(7)
        first = next(book.events()).effective_at
        span = (next(book.events(after=head - 1)).effective_at - first).total_seconds()
        lines: list[int] = []
        with Runner(book, path.with_suffix(".reads.db")) as runner:
            runner.catch_up()

            def page(w: str) -> object:
                found = statement(runner, w, limit=100)
                lines.append(len(found.lines))
                return found

            kinds: dict[str, Callable[[str], object]] = {
                "balance()": lambda w: book.balance(w),
                "balance(as_of=seq)": lambda w: book.balance(w, as_of=rng.randint(1, head)),
                "balance(as_of=time)": lambda w: book.balance(
                    w, as_of=first + timedelta(seconds=rng.uniform(0, span))
                ),
                "statement page": page,
            }
            for name, call in kinds.items():
                took = []
                reset_peak()
                for _ in range(samples):
                    account = wallet(rng.randrange(wallets))
                    start = time.perf_counter()
                    call(account)
                    took.append((time.perf_counter() - start) * 1_000_000)
                p50, p99, most = percentiles(took)
                filled = f", {sum(lines) / len(lines):.1f} lines a page" if lines else ""
                figure = Figure(
                    reads_name(events_wanted, name),
                    p50,
                    "us p50",
                    f"p99 {p99:,.0f} us, max {most:,.0f} us, {samples:,} calls, "
                    f"{head:,} events{filled}",
                    p99=p99,
                )
                figures.append(printed(out, measured(figure)))
    return figures


Entry = list[tuple[str, int]]


def peer_entries(
    path: Path, count: int, wallets: int = WALLETS, merchants: int = MERCHANTS
) -> tuple[list[Entry], list[Entry], frozenset[str]]:
    """What Satang wrote for the set-up and for the first ``count`` commands of the mix,
    as the peers record it: one entry per accepted command, of every posting its events
    carry as (account, debits positive); and the wallets that may not go below zero. The
    peers so record exactly the postings Satang decided on (a command Satang refused is
    not among them)."""
    with Ledger.open(path, durability="normal") as book:
        prepare(book, wallets, merchants)
        setup_head = book.head()[0]
        commands = _commands(book, count, wallets, merchants)
        for i in range(0, count, 8_190):
            book.submit_many(commands[i : i + 8_190])
        by_command: dict[str, Entry] = {}
        opening_ids: set[str] = set()
        for rec in book.events():
            if not isinstance(rec.event, MoneyEvent):
                continue
            legs = by_command.setdefault(rec.command_id, [])
            legs += [
                (p.account, p.amount_minor if p.side == "debit" else -p.amount_minor)
                for p in rec.event.postings
            ]
            if rec.seq <= setup_head:
                opening_ids.add(rec.command_id)
    opening = [legs for cid, legs in by_command.items() if cid in opening_ids]
    mix = [legs for cid, legs in by_command.items() if cid not in opening_ids]
    return opening, mix, frozenset(wallet(i) for i in range(wallets))


def peer_raw(
    path: Path,
    count: int,
    out: Out = print,
    *,
    wallets: int = WALLETS,
    merchants: int = MERCHANTS,
) -> list[Figure]:
    """The raw floor: the postings of ``count`` commands of the mix, 1,000 entries per
    durable transaction; 2,000 of them one per transaction; the rebuild of balances."""
    opening, mix, names = peer_entries(path.with_suffix(".gen.db"), count, wallets, merchants)
    reset_peak()
    seconds, written = raw.append(path, opening, mix, 1_000, names)
    batched = measured(Figure(RAW_BATCH, written / seconds, "entries/s", f"{len(mix):,} entries"))
    reset_peak()
    single, one_by_one = raw.append(path.with_suffix(".one.db"), opening, mix[:2_000], 1, names)
    singles = measured(
        Figure(RAW_SINGLE, one_by_one / single, "entries/s", f"{min(2_000, len(mix)):,} entries")
    )
    reset_peak()
    rebuilt_s, rows = raw.rebuild(path)
    rebuilt = measured(Figure(RAW_REBUILD, rows / rebuilt_s, "entries/s", f"{rows:,} rows"))
    return [printed(out, batched), printed(out, singles), printed(out, rebuilt)]


def peer_eventsourcing(
    path: Path,
    count: int,
    out: Out = print,
    *,
    wallets: int = WALLETS,
    merchants: int = MERCHANTS,
) -> list[Figure]:
    """The ``eventsourcing`` library: the postings of ``count`` commands of the mix, one
    ``save`` (one durable transaction) each, after the opening top-ups; and the replay of
    every event it stored."""
    if not es.AVAILABLE:
        out("eventsourcing: not installed (pip install 'satang[bench]'); skipped")
        return []
    opening, mix, names = peer_entries(path.with_suffix(".gen.db"), count, wallets, merchants)
    reset_peak()
    seconds, written = es.append(path, opening, mix, names)
    saved = measured(Figure(ES_SAVE, written / seconds, "entries/s", f"{len(mix):,} entries"))
    reset_peak()
    rebuilt_s, events = es.rebuild(path)
    replayed = measured(Figure(ES_REPLAY, events / rebuilt_s, "events/s", f"{events:,} events"))
    return [printed(out, saved), printed(out, replayed)]
