"""Serving: several processes on one SQLite file, each with writer threads and a thread
folding the read models into the ledger's own file — the shape of a wallet service.

Each process opens the ledger once and shares that ``Ledger`` between its threads. Each
writer thread submits its own seeded share of the standard mix (:mod:`ledger.bench.workload`)
one command at a time for ``seconds``; the folding thread keeps a ``Runner(book)`` caught
up, every :data:`FOLD_PAUSE_S`. Printed per process: commands submitted, the slowest
``submit``, the longest stretch in which the process got nothing written, how many calls
raised ``StoreBusy``, and its share of all commands against a fair share (1 / processes).

``python -m ledger.bench.serving --processes 2 --runs 3`` (or ``satang bench --suite
serving``) prints the figures docs/serving.md quotes.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import multiprocessing as mp
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from ledger import Ledger, StoreBusy
from ledger.bench import pgcluster
from ledger.bench.report import Figure, Out, machine
from ledger.bench.workload import prepare, wallet_mix
from projections.runner import Runner

WALLETS, MERCHANTS = 1_000, 20
THREADS = 3
SECONDS = 10.0
FOLD_PAUSE_S = 0.1
"""The folding thread's pause between two catch-ups: read models at most about this far
behind the log, as a service's statements would be."""


@attrs.frozen
class ProcessFigures:
    """What one serving process did."""

    n: int
    submits: int
    slowest_s: float
    longest_gap_s: float
    """The longest time between two of this process's answered submits (or from the start
    to the first, or from the last to the end)."""
    busy: int
    folds: int
    folded_events: int
    error: str = ""


def _process(path: str, n: int, threads: int, seconds: float, go: Any, done: Any) -> None:
    try:
        with Ledger.open(path) as book:
            streams = [
                wallet_mix(1_000 + 10 * n + t, WALLETS, MERCHANTS, book.today(), f"p{n}t{t}-")
                for t in range(threads)
            ]
            stats = {"submits": 0, "busy": 0, "slowest": 0.0, "folds": 0, "folded": 0}
            answered: list[float] = []
            lock = threading.Lock()
            go.wait(timeout=600)
            start = time.monotonic()
            end = start + seconds

            def write(t: int) -> None:
                stream = streams[t]
                while time.monotonic() < end:
                    command = next(stream)
                    began = time.monotonic()
                    try:
                        book.submit(command)
                    except StoreBusy:
                        with lock:
                            stats["busy"] += 1
                        continue
                    took = time.monotonic() - began
                    with lock:
                        stats["submits"] += 1
                        stats["slowest"] = max(stats["slowest"], took)
                        answered.append(time.monotonic())

            def fold() -> None:
                with Runner(book) as runner:
                    while time.monotonic() < end:
                        try:
                            folded = runner.catch_up()
                        except StoreBusy:
                            with lock:
                                stats["busy"] += 1
                            continue
                        with lock:
                            stats["folds"] += 1
                            stats["folded"] += folded
                        time.sleep(FOLD_PAUSE_S)

            workers = [threading.Thread(target=write, args=(t,)) for t in range(threads)]
            workers.append(threading.Thread(target=fold))
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            marks = [start, *sorted(answered), max(end, time.monotonic())]
            gap = max(b - a for a, b in itertools.pairwise(marks))
        done.put(
            ProcessFigures(
                n,
                int(stats["submits"]),
                float(stats["slowest"]),
                gap,
                int(stats["busy"]),
                int(stats["folds"]),
                int(stats["folded"]),
            )
        )
    except Exception as exc:  # the parent reports it
        done.put(ProcessFigures(n, 0, 0.0, 0.0, 0, 0, 0, error=repr(exc)))


def run_processes(
    path: str,
    processes: int,
    threads: int = THREADS,
    seconds: float = SECONDS,
    while_running: Callable[[], None] | None = None,
) -> list[ProcessFigures]:
    """Prepare a ledger at ``path`` and run ``processes`` serving processes on it;
    ``while_running`` is called in this process once they have started (an operator's
    command line against the live file)."""
    with Ledger.open(path) as book:
        prepare(book, WALLETS, MERCHANTS)
    ctx = mp.get_context("spawn")
    go, done = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_process, args=(path, n, threads, seconds, go, done))
        for n in range(processes)
    ]
    for p in procs:
        p.start()
    time.sleep(1.0)  # let every process open the ledger and build its streams
    go.set()
    if while_running is not None:
        while_running()
    results = [done.get(timeout=seconds + 600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    return sorted(results, key=lambda r: r.n)


def serving(
    directory: Path,
    processes: int,
    runs: int,
    seconds: float,
    out: Out = print,
    dsn: str | None = None,
) -> list[Figure]:
    """``runs`` runs of ``processes`` processes, each on a new SQLite file in
    ``directory`` (or a new schema of the PostgreSQL server at ``dsn``); print each
    process's figures."""
    figures: list[Figure] = []
    backend = "sqlite" if dsn is None else "postgres"
    for run in range(1, runs + 1):
        path = (
            str(directory / f"serving-{processes}-{run}.db")
            if dsn is None
            else pgcluster.fresh_schema(dsn)
        )
        results = run_processes(path, processes, THREADS, seconds)
        total = sum(r.submits for r in results)
        for r in results:
            if r.error:
                raise RuntimeError(f"serving process {r.n} failed: {r.error}")
            share = r.submits / total if total else 0.0
            name = f"serving {backend} {processes} processes, run {run}, process {r.n}"
            line = (
                f"{name}: {r.submits:,} submits ({r.submits / seconds:,.0f}/s), slowest "
                f"{r.slowest_s * 1000:,.1f} ms, longest gap {r.longest_gap_s * 1000:,.1f} ms, "
                f"StoreBusy {r.busy}, folds {r.folds:,} ({r.folded_events:,} events), share "
                f"{share:.1%} of a fair {1 / processes:.1%} ({share * processes:.2f} of fair)"
            )
            out(line)
            figures.append(Figure(name, r.submits / seconds, "submits/s", note=line))
        fairest = min(r.submits for r in results) * processes / total if total else 0.0
        out(
            f"serving {backend} {processes} processes, run {run}: {total:,} submits in "
            f"{seconds:.0f} s, "
            f"the least served process had {fairest:.2f} of its fair share"
        )
    return figures


def refusal_cost(directory: Path, count: int, out: Out = print) -> list[Figure]:
    """What a refusal costs: ``count`` payments refused for want of funds, one ``submit``
    each (each refusal is recorded and synced before it is answered), against ``count``
    accepted ones on the same path; the bytes the file grows by per refusal (after a
    checkpoint, so the WAL is in the file); and a mix of half refusals."""
    from ledger import Credit, Debit, OpenAccount, PostEntry

    figures: list[Figure] = []
    path = directory / "refusals.db"
    with Ledger.open(path) as book:
        book.submit_many(
            [
                OpenAccount(id="o-bank", account="bank:trust", type="asset", currency="THB"),
                OpenAccount(
                    id="o-w",
                    account="wallet:W",
                    type="liability",
                    currency="THB",
                    no_overdraft=True,
                ),
            ]
        )

        def pay(cid: str, amount: int) -> PostEntry:
            legs = [Debit("wallet:W", amount), Credit("bank:trust", amount)]
            return PostEntry(id=cid, kind="payment", postings=legs)

        def top_up(cid: str, amount: int) -> PostEntry:
            legs = [Debit("bank:trust", amount), Credit("wallet:W", amount)]
            return PostEntry(id=cid, kind="top_up", postings=legs)

        def timed(name: str, commands: list[PostEntry]) -> None:
            began = time.perf_counter()
            for command in commands:
                book.submit(command)
            rate = len(commands) / (time.perf_counter() - began)
            line = f"{name}: {rate:,.0f} submits/s ({len(commands):,}, one submit each)"
            out(line)
            figures.append(Figure(name, rate, "submits/s", note=line))

        store = book.store
        checkpoint = getattr(store, "checkpoint", None)
        assert checkpoint is not None, "the refusal cost is measured on a SQLite file"
        checkpoint()
        size = path.stat().st_size
        timed("refusals: refused payments", [pay(f"r-{i:07d}", 1_000) for i in range(count)])
        checkpoint()
        grown = path.stat().st_size - size
        line = f"refusals: the file grows {grown / count:,.0f} bytes per refusal ({count:,})"
        out(line)
        figures.append(Figure("refusals: bytes per refusal", grown / count, "bytes", note=line))
        timed("refusals: accepted top-ups", [top_up(f"t-{i:07d}", 1_000) for i in range(count)])
        mix: list[PostEntry] = []
        for i in range(count // 2):
            mix += [pay(f"m-{i:07d}", 10**12), top_up(f"n-{i:07d}", 1_000)]
        timed("refusals: half refused, half accepted", mix)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3, 4])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=SECONDS)
    parser.add_argument("--dir", default=None)
    parser.add_argument(
        "--refusals", type=int, default=0, help="Also measure this many refusals' cost."
    )
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="Run on a throwaway durable PostgreSQL cluster instead of SQLite files.",
    )
    args = parser.parse_args()
    for line in machine():
        print(line)
    print(
        f"workload: the mix over {WALLETS:,} wallets; each process {THREADS} writer threads "
        "and 1 thread folding the read models (into the ledger's file; in memory for "
        "PostgreSQL)"
    )
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        with contextlib.ExitStack() as stack:
            dsn = None
            if args.postgres:
                dsn = stack.enter_context(pgcluster.cluster(fsync=True, port=pgcluster.PORT + 2))
                print("postgres: a throwaway cluster, fsync=on, on a Unix socket")
            for processes in args.processes:
                serving(Path(tmp), processes, args.runs, args.seconds, dsn=dsn)
        if args.refusals:
            refusal_cost(Path(tmp), args.refusals)


if __name__ == "__main__":
    main()
