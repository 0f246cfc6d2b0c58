"""The read models over a wallet-mix log: ``satang bench --suite reads``."""

from __future__ import annotations

import time
from pathlib import Path

from ledger.bench.report import Figure, Out, printed
from ledger.bench.workload import prepare, wallet_mix
from ledger.book import Ledger
from ledger.store.sqlite import SqliteStore

FOLD = "reads: fold every projection"


def read_models(path: Path, commands: int, out: Out = print) -> list[Figure]:
    """The read side over a wallet-mix log of ``commands`` entries (written with
    durability normal, batches of 1,000): every projection folded from seq 1 into the
    ledger's own file, a catch-up of 1,000 new entries, a safeguarding report, the trial
    balance as of a day, and every statement page (100 lines) of the busiest account."""
    from projections.reports.safeguarding import safeguarding
    from projections.runner import Runner
    from projections.statements import statement, trial_balance

    wallets, merchants = 10_000, 100
    figures: list[Figure] = []
    with Ledger.open(path, durability="normal") as book:
        prepare(book, wallets, merchants)
        stream = wallet_mix(3, wallets, merchants, book.today(), prefix="r")
        for _ in range(commands // 1_000):
            book.submit_many([next(stream) for _ in range(1_000)])
        events = book.head()[0]
        accounts = sum(1 for _ in book.store.accounts())
        with Runner(book) as runner:
            start = time.perf_counter()
            runner.catch_up()
            fold_rate = events / (time.perf_counter() - start)
            figures.append(
                printed(
                    out,
                    Figure(
                        FOLD,
                        fold_rate,
                        "events/s",
                        f"{events:,} events from seq 1, into the ledger file",
                    ),
                )
            )
            book.submit_many([next(stream) for _ in range(1_000)])
            start = time.perf_counter()
            folded = runner.catch_up()
            rate = folded / (time.perf_counter() - start)
            figures.append(
                printed(
                    out,
                    Figure(
                        "reads: catch up 1,000 new commands", rate, "events/s", f"{folded:,} events"
                    ),
                )
            )
            day = book.today()
            for name, call in (
                ("reads: safeguarding report", lambda: safeguarding(runner, day)),
                (
                    "reads: trial balance as of a day",
                    lambda: trial_balance(runner, day, runner.timezone),
                ),
            ):
                start = time.perf_counter()
                call()
                ms = (time.perf_counter() - start) * 1_000
                figures.append(printed(out, Figure(name, ms, "ms", f"{accounts:,} accounts")))
            store = book.store
            assert isinstance(store, SqliteStore)
            (busiest, lines), *_ = store.execute(
                "SELECT account, COUNT(*) n FROM account_postings"
                " GROUP BY account ORDER BY n DESC LIMIT 1"
            )
            for order in ("recorded", "effective"):
                took = []
                after = None
                while True:
                    start = time.perf_counter()
                    page = statement(runner, busiest, order=order, after=after)
                    took.append((time.perf_counter() - start) * 1_000)
                    after = page.next_after
                    if after is None:
                        break
                took.sort()
                p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
                figures.append(
                    printed(
                        out,
                        Figure(
                            f"reads: statement page of 100, {order} order",
                            took[len(took) // 2],
                            "ms p50",
                            f"p99 {p99:.2f} ms, {busiest}: {lines:,} lines, {len(took)} pages",
                        ),
                    )
                )
    return figures
