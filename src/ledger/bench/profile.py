"""Where the write path's time goes: ``python -m ledger.bench.profile``.

Submits 20,000 commands of the standard mix in batches of 1,000 (durable) on 10,000
funded wallets, three times: once under cProfile (the functions with the most time of
their own, and the count of calls), once timing each statement of the batch's flush
(microseconds per command spent in SQLite, by table), and once timing each stage of the
write path (deciding, appending, the balances each answer carries, the flush, the
COMMIT). The figures of docs/performance.md's profile come from here.

``python -m ledger.bench.profile --sealed`` times the stages of the same mix with its
customers' personal data sealed (``wallet_mix(personal=True)``), then of the plain mix,
alternately, with the two stages sealing adds: the keyed digest and sealing an event.
"""

from __future__ import annotations

import cProfile
import io
import itertools
import pstats
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ledger import book as book_module
from ledger.bench.workload import BENCH_MASTER_KEY, prepare, wallet_mix
from ledger.book import Ledger
from ledger.store import sql
from ledger.store import sqlite as store

COMMANDS, BATCH = 20_000, 1_000


def _batches(book: Ledger, commands: int, wallets: int, personal: bool = False) -> list[list[Any]]:
    stream = wallet_mix(1, wallets, 100, book.today(), personal=personal)
    return [list(itertools.islice(stream, BATCH)) for _ in range(commands // BATCH)]


def profiled(directory: Path, commands: int = COMMANDS, wallets: int = 10_000) -> str:
    """The cProfile report (top 20 by own time) of ``commands`` of the mix."""
    with Ledger.open(directory / "profile.db") as book:
        prepare(book, wallets, 100)
        batches = _batches(book, commands, wallets)
        profile = cProfile.Profile()
        profile.enable()
        for batch in batches:
            book.submit_many(batch)
        profile.disable()
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(20)
    return text.getvalue()


class _Timed:
    """A connection whose ``executemany`` adds its time to ``spent`` by statement."""

    def __init__(self, conn: Any, spent: dict[str, float]) -> None:
        self.conn, self.spent = conn, spent

    def executemany(self, sql: str, rows: Sequence[Any]) -> Any:
        start = time.perf_counter()
        result = self.conn.executemany(sql, rows)
        key = " ".join(sql.split()[:3])
        self.spent[key] = self.spent.get(key, 0.0) + time.perf_counter() - start
        return result


def flush_split(
    directory: Path, commands: int = COMMANDS, wallets: int = 10_000
) -> tuple[float, dict[str, float]]:
    """Seconds for ``commands`` of the mix, and the seconds of it each flush statement
    took."""
    spent: dict[str, float] = {}
    flush = store._SqliteTransaction.flush

    def timed(self: Any) -> None:
        real = self._conn
        self._conn = _Timed(real, spent)
        try:
            flush(self)
        finally:
            self._conn = real

    store._SqliteTransaction.flush = timed  # type: ignore[method-assign]
    try:
        with Ledger.open(directory / "split.db") as book:
            prepare(book, wallets, 100)
            spent.clear()
            batches = _batches(book, commands, wallets)
            start = time.perf_counter()
            for batch in batches:
                book.submit_many(batch)
            elapsed = time.perf_counter() - start
    finally:
        store._SqliteTransaction.flush = flush  # type: ignore[method-assign]
    return elapsed, spent


STAGES: tuple[tuple[Any, str, str], ...] = (
    (book_module, "decide", "decide (the flow's rules, post, reads of state)"),
    (sql.SqlTransaction, "append", "append (encode, hash chain, inline projection)"),
    (sql.SqlTransaction, "balances", "the balances each Accepted carries"),
    (store._SqliteTransaction, "flush", "flush (every INSERT and UPDATE of the batch)"),
    (store.SqliteStore, "_commit", "COMMIT (WAL write and fsync)"),
)
"""What :func:`stage_split` times: (owner, attribute, what it is)."""
SEALING: tuple[tuple[Any, str, str], ...] = (
    (book_module.Ledger, "_personal_digest", "the digest keyed with a subject's key"),
    (sql.SqlTransaction, "_sealed", "(of append) sealing an event's personal text"),
)
"""The stages sealing personal data adds, timed with :data:`STAGES` for ``--sealed``; the
second runs inside ``append``."""


def stage_split(
    directory: Path, commands: int = COMMANDS, wallets: int = 10_000, *, personal: bool = False
) -> tuple[float, dict[str, float]]:
    """Seconds for ``commands`` of the mix, and the seconds of it each stage of the write
    path took (:data:`STAGES`, and :data:`SEALING`, by what it is); with ``personal``,
    of the mix with its customers' personal data sealed."""
    spent: dict[str, float] = {}
    stages = STAGES + SEALING
    originals = [(owner, name, vars(owner).get(name)) for owner, name, _ in stages]

    def timing(real: Any, label: str) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return real(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - start

        return timed

    for (owner, name, _), (_, _, label) in zip(originals, stages, strict=True):
        setattr(owner, name, timing(getattr(owner, name), label))
    key = BENCH_MASTER_KEY if personal else None
    try:
        with Ledger.open(directory / f"stages-{personal}.db", master_key=key) as book:
            prepare(book, wallets, 100, personal=personal)
            spent.clear()
            batches = _batches(book, commands, wallets, personal)
            start = time.perf_counter()
            for batch in batches:
                book.submit_many(batch)
            elapsed = time.perf_counter() - start
    finally:
        for owner, name, own in originals:  # put back, or take away what was inherited
            if own is None:
                delattr(owner, name)
            else:
                setattr(owner, name, own)
    return elapsed, spent


def _per_command(elapsed: float, spent: dict[str, float], rest: str) -> None:
    print(f"{COMMANDS:,} commands in {elapsed:.2f} s: {elapsed / COMMANDS * 1e6:.1f} us each")
    for what, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"{seconds / COMMANDS * 1e6:8.1f} us/command  {what}")
    outside = sum(v for k, v in spent.items() if not k.startswith("(of "))
    print(f"{(elapsed - outside) / COMMANDS * 1e6:8.1f} us/command  {rest}")


def main() -> int:
    if sys.argv[1:] == ["--sealed"]:
        rest = "everything else (BEGIN, the plain digests, the batch's reads, the results)"
        for run in range(2):
            for personal in (True, False):
                print(f"run {run + 1}, {'sealed' if personal else 'plain'}:")
                with tempfile.TemporaryDirectory() as tmp:  # a new ledger each time
                    _per_command(*stage_split(Path(tmp), personal=personal), rest)
                print()
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        print(profiled(Path(tmp)))
        _per_command(*flush_split(Path(tmp)), "everything else (Python, reads, COMMIT)")
        print()
        rest = "everything else (BEGIN, the digests, the batch's reads, the results)"
        _per_command(*stage_split(Path(tmp)), rest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
