"""``submit_many`` on SQLite and on PostgreSQL, by batch size, with one writer process and
with eight: the figures docs/scaling.md quotes.

Each case is a fresh ledger (a SQLite file, or a new schema of a PostgreSQL cluster),
prepared with the standard mix's accounts (:mod:`ledger.bench.workload`). Every writer is
a spawned process that opens the ledger itself and builds its own seeded share of the
mix before the clock starts; they start together on an event, and the figure is all
writers' accepted commands over the time from the start to the last one's end. Both
backends are durable: SQLite ``synchronous=FULL``, PostgreSQL ``synchronous_commit=on``
on a cluster with ``fsync=on``.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from typing import Any

from ledger import Accepted, Ledger
from ledger.bench.report import Figure, Out, measured, printed, reset_peak
from ledger.bench.workload import prepare, wallet_mix

WALLETS, MERCHANTS = 10_000, 100
BATCHES = (1, 100, 1_000)
WRITERS = (1, 8)
BUSY_MS = 120_000


def name(backend: str, batch: int, writers: int) -> str:
    return f"{backend} submit_many batch {batch:,}, {writers} writer{'s' * (writers > 1)}"


def _writer(target: str, n: int, batch: int, count: int, go: Any, done: Any) -> None:
    try:
        with Ledger.open(target, busy_timeout_ms=BUSY_MS) as book:
            stream = wallet_mix(1_000 + n, WALLETS, MERCHANTS, book.today(), prefix=f"w{n}-")
            commands = [next(stream) for _ in range(count)]
            go.wait(timeout=600)
            accepted = 0
            for i in range(0, count, batch):
                results = book.submit_many(commands[i : i + batch])
                accepted += sum(isinstance(r, Accepted) for r in results)
        done.put((n, accepted, time.perf_counter()))
    except Exception as exc:  # the parent fails with it
        done.put((n, f"writer {n} failed: {exc!r}", 0.0))


def writers(
    target: str, backend: str, batch: int, count: int, processes: int, out: Out = print
) -> list[Figure]:
    """``processes`` writers, each submitting ``count`` commands of the mix in batches
    of ``batch`` to the ledger at ``target`` (a path or a DSN)."""
    with Ledger.open(target) as book:
        prepare(book, WALLETS, MERCHANTS)
    ctx = mp.get_context("spawn")
    go, done = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_writer, args=(target, n, batch, count, go, done))
        for n in range(processes)
    ]
    for p in procs:
        p.start()
    time.sleep(2.0 + 0.3 * processes)  # every writer has opened the ledger, built its share
    reset_peak()
    start = time.perf_counter()
    go.set()
    reports = [done.get(timeout=3_600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    failed = [r[1] for r in reports if isinstance(r[1], str)]
    if failed:
        raise RuntimeError(failed)
    elapsed = max(r[2] for r in reports) - start
    accepted = sum(int(r[1]) for r in reports)
    total = count * processes
    figure = Figure(
        name(backend, batch, processes),
        accepted / elapsed,
        "accepted/s",
        f"{total / elapsed:,.0f} submitted/s, {total:,} commands, {accepted / total:.1%} accepted",
    )
    return [printed(out, measured(figure))]


def plan(quick: bool) -> list[tuple[int, int, int]]:
    """(batch, commands per writer, writers) of each case."""
    per_writer = {1: 200, 100: 2_000, 1_000: 5_000} if quick else {
        1: 1_000, 100: 10_000, 1_000: 30_000
    }  # fmt: skip
    cases = []
    for processes in WRITERS:
        for batch in BATCHES:
            count = per_writer[batch] if processes == 1 else per_writer[batch] // 4
            cases.append((batch, max(count, batch), processes))
    return cases
