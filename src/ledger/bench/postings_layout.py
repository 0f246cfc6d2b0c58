"""Why the per-account history costs what it does: ``python -m ledger.bench.postings_layout``.

Writes the same rows — one per posting, 2.5 postings per entry, spread evenly over 10,000
accounts — into tables of several layouts, 100,000 entries first and then
20,000 timed ones in durable transactions of 1,000 (WAL, ``synchronous=FULL``), and
prints microseconds per entry. Every entry touches accounts spread over the whole key
space, so each commit dirties about one B-tree page per posting in each per-account index
and writes it to the WAL: the layout, not Python, sets this cost. The even spread is
the worst case: the mix sends a good share of its postings to about a hundred busy
accounts (the bank, the fees, the merchants), whose pages one commit dirties once.
"""

from __future__ import annotations

import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

_COLUMNS = (
    "side TEXT, amount INT, effective_at INT, debits_posted INT, credits_posted INT,"
    " debits_pending INT, credits_pending INT, phase TEXT"
)
LAYOUTS = {
    "today: clustered (account, seq, leg), index (account, effective_at)": (
        f"CREATE TABLE p (account TEXT, seq INT, leg INT, {_COLUMNS},"
        " PRIMARY KEY (account, seq, leg)) WITHOUT ROWID",
        "CREATE INDEX p_effective ON p (account, effective_at)",
    ),
    "rows in seq order, indexes (account, seq) and (account, effective_at)": (
        f"CREATE TABLE p (id INTEGER PRIMARY KEY, account TEXT, seq INT, leg INT, {_COLUMNS})",
        "CREATE INDEX p_seq ON p (account, seq)",
        "CREATE INDEX p_effective ON p (account, effective_at)",
    ),
    "rows in seq order, one index (account, seq)": (
        f"CREATE TABLE p (id INTEGER PRIMARY KEY, account TEXT, seq INT, leg INT, {_COLUMNS})",
        "CREATE INDEX p_seq ON p (account, seq)",
    ),
    "rows in seq order, no per-account index": (
        f"CREATE TABLE p (id INTEGER PRIMARY KEY, account TEXT, seq INT, leg INT, {_COLUMNS})",
    ),
}


def measure(path: Path, ddl: tuple[str, ...], before: int = 100_000, timed: int = 20_000) -> float:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA cache_size = -65536")
    for statement in ddl:
        conn.execute(statement)
    clustered = "WITHOUT ROWID" in ddl[0]
    rng = random.Random(1)
    seq = 0

    def rows(entries: int) -> list[tuple[object, ...]]:
        nonlocal seq
        out: list[tuple[object, ...]] = []
        for _ in range(entries):
            seq += 1
            for leg in range(2 if rng.random() < 0.5 else 3):
                account = f"wallet:U{rng.randrange(10_000)}"
                row = (account, seq, leg, "debit", 1_000, seq, seq, seq, 0, 0, "posted")
                out.append(row if clustered else (seq * 8 + leg, *row))
        return out

    marks = ",".join("?" * (11 if clustered else 12))
    conn.execute("BEGIN")
    conn.executemany(f"INSERT INTO p VALUES ({marks})", rows(before))
    conn.execute("COMMIT")
    start = time.perf_counter()
    for _ in range(timed // 1_000):
        batch = rows(1_000)
        conn.execute("BEGIN")
        conn.executemany(f"INSERT INTO p VALUES ({marks})", batch)
        conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed / timed * 1e6


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        for n, (name, ddl) in enumerate(LAYOUTS.items()):
            print(f"{measure(Path(tmp) / f'{n}.db', ddl):7.1f} us/entry  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
