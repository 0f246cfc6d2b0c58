"""The standard wallet mix: Satang's write path, its replay and audit, its reads as the
log grows, and the same workload on the peers — ``satang bench --suite wallet|scale|peers``.

Every case runs in a process of its own (:func:`benchmarks.report.isolated`), on a fresh
SQLite file, so its peak memory is its own and no case warms another's caches.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from benchmarks.peers import es, raw
from benchmarks.report import Figure, Out, percentiles, printed
from benchmarks.workload import entry_legs, prepare, wallet, wallet_mix
from ledger.audit import verify
from ledger.book import Ledger
from ledger.commands import Command
from ledger.results import Accepted
from ledger.store.sqlite import Durability
from projections import balances as balance_model

WALLETS, MERCHANTS = 10_000, 100


def _commands(book: Ledger, seed: int, count: int, wallets: int, merchants: int) -> list[Command]:
    return list(itertools.islice(wallet_mix(seed, wallets, merchants, book.today()), count))


def throughput(
    path: Path,
    batch: int,
    total: int,
    durability: Durability,
    out: Out = print,
    *,
    wallets: int = WALLETS,
    merchants: int = MERCHANTS,
) -> list[Figure]:
    """``total`` commands of the mix in ``submit_many`` batches of ``batch``: accepted
    (written) commands per second, and the submitted rate beside it."""
    with Ledger.open(path, durability=durability) as book:
        prepare(book, wallets, merchants)
        commands = _commands(book, batch, total, wallets, merchants)
        accepted = 0
        start = time.perf_counter()
        for i in range(0, total, batch):
            accepted += sum(
                isinstance(r, Accepted) for r in book.submit_many(commands[i : i + batch])
            )
        elapsed = time.perf_counter() - start
    return [
        printed(
            out,
            Figure(
                f"submit_many batch={batch:,} durability={durability}",
                accepted / elapsed,
                "accepted/s",
                f"{total / elapsed:,.0f} submitted/s, {total:,} commands, "
                f"{accepted / total:.0%} accepted",
            ),
        )
    ]


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
        commands = _commands(book, 11, singles + 1_000 * batches, wallets, merchants)
        for name, size, count in (
            ("submit (one command)", 1, singles),
            ("submit_many of 1,000", 1_000, batches),
        ):
            took = []
            for _ in range(count):
                chunk, commands = commands[:size], commands[size:]
                start = time.perf_counter()
                if size == 1:
                    book.submit(chunk[0])
                else:
                    book.submit_many(chunk)
                took.append((time.perf_counter() - start) * 1_000)
            p50, p99, most = percentiles(took)
            figures.append(
                printed(
                    out,
                    Figure(
                        f"latency: {name}",
                        p50,
                        "ms p50",
                        f"p99 {p99:.2f} ms, max {most:.2f} ms, {count:,} calls",
                    ),
                )
            )
    return figures


def replay(
    path: Path,
    commands: int,
    out: Out = print,
    *,
    wallets: int = WALLETS,
    merchants: int = MERCHANTS,
) -> list[Figure]:
    """A log of ``commands`` of the mix, then the whole log folded back into balances
    (read from SQLite and decoded), and a full ``verify`` (chain, balances, history,
    idempotency index, every read model rebuilt and compared, the invariants)."""
    with Ledger.open(path, durability="normal") as book:
        prepare(book, wallets, merchants)
        stream = _commands(book, 21, commands, wallets, merchants)
        for i in range(0, commands, 8_190):
            book.submit_many(stream[i : i + 8_190])
        events = book.head()[0]
        start = time.perf_counter()
        balance_model.rebuild(book.events())
        rebuild = events / (time.perf_counter() - start)
        start = time.perf_counter()
        report = verify(book)
        audit = events / (time.perf_counter() - start)
    note = f"{events:,} events, findings: {len(report.findings)}"
    return [
        printed(out, Figure("replay: rebuild balances", rebuild, "events/s", note)),
        printed(out, Figure("replay: verify", audit, "events/s", note)),
    ]


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
    seq)``, ``balance(as_of=time)`` of a random wallet and a statement page (100 lines,
    from the read models, caught up first), ``samples`` calls each: p50 and p99."""
    from projections.runner import Runner
    from projections.statements import statement

    with Ledger.open(path, durability="normal") as book:
        prepare(book, wallets, merchants)
        stream = wallet_mix(31, wallets, merchants, book.today())
        while book.head()[0] < events_wanted:
            book.submit_many(list(itertools.islice(stream, 8_190)))
        head = book.head()[0]
        rng = random.Random(7)
        first = next(book.events()).effective_at
        span = (next(book.events(after=head - 1)).effective_at - first).total_seconds()
        with Runner(book, path.with_suffix(".reads.db")) as runner:
            runner.catch_up()
            kinds: dict[str, Callable[[str], object]] = {
                "balance()": lambda w: book.balance(w),
                "balance(as_of=seq)": lambda w: book.balance(w, as_of=rng.randint(1, head)),
                "balance(as_of=time)": lambda w: book.balance(
                    w, as_of=first + timedelta(seconds=rng.uniform(0, span))
                ),
                "statement page of 100": lambda w: statement(runner.db, w, limit=100),
            }
            figures = []
            for name, call in kinds.items():
                took = []
                for _ in range(samples):
                    account = wallet(rng.randrange(wallets))
                    start = time.perf_counter()
                    call(account)
                    took.append((time.perf_counter() - start) * 1_000_000)
                p50, p99, most = percentiles(took)
                figures.append(
                    printed(
                        out,
                        Figure(
                            f"reads at {events_wanted:,}: {name}",
                            p50,
                            "us p50",
                            f"p99 {p99:,.0f} us, max {most:,.0f} us, {samples:,} calls, "
                            f"{head:,} events",
                        ),
                    )
                )
    return figures


def _peer_entries(
    path: Path, count: int, wallets: int, merchants: int
) -> tuple[list[list[tuple[str, int]]], frozenset[str]]:
    """The mix's commands as entries of legs, with the wallets that may not go below zero;
    the opening top-ups first."""
    with Ledger.open(path) as book:
        book.open_chart(cod=True, loans=True)
        commands = _commands(book, 41, count, wallets, merchants)
        chart = book.chart
    names = frozenset(wallet(i) for i in range(wallets))
    opening = [[(chart.bank_trust, 2_000_000), (w, -2_000_000)] for w in sorted(names)]
    return opening + [entry_legs(c, chart) for c in commands], names


def peer_raw(
    path: Path, count: int, out: Out = print, *, wallets: int = WALLETS, merchants: int = MERCHANTS
) -> list[Figure]:
    """The raw floor: ``count`` entries of the mix, 1,000 per durable transaction; 2,000
    of them one per transaction; and the rebuild of balances from the rows."""
    entries, names = _peer_entries(path.with_suffix(".gen.db"), count, wallets, merchants)
    opening, mix = entries[: len(names)], entries[len(names) :]
    seconds, written = raw.append(path, opening, mix, 1_000, names)
    single, one_by_one = raw.append(path.with_suffix(".one.db"), opening, mix[:2_000], 1, names)
    rebuilt_s, rows = raw.rebuild(path)
    return [
        printed(
            out,
            Figure(
                "raw floor: batch=1,000 durable",
                written / seconds,
                "entries/s",
                f"{count:,} entries",
            ),
        ),
        printed(
            out,
            Figure(
                "raw floor: batch=1 durable",
                one_by_one / single,
                "entries/s",
                f"{min(2_000, len(mix)):,} entries",
            ),
        ),
        printed(
            out,
            Figure("raw floor: rebuild balances", rows / rebuilt_s, "entries/s", f"{rows:,} rows"),
        ),
    ]


def peer_eventsourcing(
    path: Path, count: int, out: Out = print, *, wallets: int = WALLETS, merchants: int = MERCHANTS
) -> list[Figure]:
    """The ``eventsourcing`` library: ``count`` entries of the mix, one ``save`` (one
    durable transaction) each, after the opening top-ups; and the replay of its events."""
    if not es.AVAILABLE:
        out("eventsourcing: not installed (pip install 'satang[bench]'); skipped")
        return []
    entries, names = _peer_entries(path.with_suffix(".gen.db"), count, wallets, merchants)
    opening, mix = entries[: len(names)], entries[len(names) :]
    seconds, written = es.append(path, opening, mix, names)
    rebuilt_s, events = es.rebuild(path)
    return [
        printed(
            out,
            Figure(
                "eventsourcing: one save per command",
                written / seconds,
                "entries/s",
                f"{count:,} entries",
            ),
        ),
        printed(
            out,
            Figure("eventsourcing: replay", events / rebuilt_s, "events/s", f"{events:,} events"),
        ),
    ]
