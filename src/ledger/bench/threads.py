"""Many callers on one ``Ledger``: threads each calling ``submit`` with one command, as
a threaded web backend does (group commit, :mod:`ledger.groups`).

Each thread submits its own seeded share of the standard mix, one command at a time,
durably, all threads starting together; the figure is the accepted commands a second
over the whole run (from the start until the last thread is done) and the latency of
every call: p50 and p99. The raw floor's one transaction per entry, measured in the same
run, is what the ratio table sets it against (``satang bench --suite threads``).
"""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path

from ledger import Accepted, Ledger
from ledger.bench.report import Figure, Out, measured, percentiles, printed, reset_peak
from ledger.bench.workload import prepare, wallet_mix

WALLETS, MERCHANTS = 10_000, 100
THREAD_COUNTS = (1, 8, 32, 64)


def name(threads: int) -> str:
    return f"threads={threads}: submit, one command each"


def threaded(
    path: Path,
    threads: int,
    commands: int,
    out: Out = print,
    *,
    wallets: int = WALLETS,
    merchants: int = MERCHANTS,
) -> list[Figure]:
    """``commands`` of the mix over ``threads`` threads sharing one ``Ledger``, each
    calling ``submit`` one command at a time: accepted/s, and p50 and p99 of a call."""
    with Ledger.open(path) as book:
        prepare(book, wallets, merchants)
        today = book.today()
        shares = [
            list(
                itertools.islice(
                    wallet_mix(100 + t, wallets, merchants, today, f"t{t}-"), commands // threads
                )
            )
            for t in range(threads)
        ]
        took: list[list[float]] = [[] for _ in range(threads)]
        accepted = [0] * threads
        go = threading.Barrier(threads + 1)
        failed: list[BaseException] = []

        def write(t: int) -> None:
            go.wait()
            own = took[t]
            try:
                for command in shares[t]:
                    start = time.perf_counter()
                    result = book.submit(command)
                    own.append((time.perf_counter() - start) * 1_000)
                    accepted[t] += isinstance(result, Accepted)
            except BaseException as exc:  # raised below: a figure never hides a failure
                failed.append(exc)

        workers = [threading.Thread(target=write, args=(t,)) for t in range(threads)]
        for worker in workers:
            worker.start()
        reset_peak()
        go.wait()
        start = time.perf_counter()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - start
    if failed:
        raise failed[0]
    calls = [ms for own in took for ms in own]
    p50, p99, most = percentiles(calls)
    figure = Figure(
        name(threads),
        sum(accepted) / elapsed,
        "accepted/s",
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {most:.2f} ms, {len(calls):,} calls",
        p99=p99,
    )
    return [printed(out, measured(figure))]
