"""The raw floor: what Python and SQLite can do on this machine with no ledger at all.

One row per entry (the entry's legs msgspec-encoded into a blob), inserted with
``executemany``, ``batch`` entries per durable transaction (WAL, ``synchronous=FULL``);
the only check is an in-memory overdraft check on a dict of balances. No hash chain, no
idempotency index, no history per account, no as-of reads: the floor under every ledger.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path

import msgspec

Leg = tuple[str, int]
"""An account and a signed amount (debits positive)."""

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(list[tuple[str, int]])


def _open(path: Path, durability: str = "full") -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {durability.upper()}")
    conn.execute("CREATE TABLE IF NOT EXISTS entries (seq INTEGER PRIMARY KEY, legs BLOB NOT NULL)")
    return conn


def append(
    path: Path,
    opening: Sequence[Sequence[Leg]],
    entries: Sequence[Sequence[Leg]],
    batch: int,
    overdraft_free: frozenset[str],
    durability: str = "full",
) -> tuple[float, int]:
    """Append ``opening`` in one transaction (untimed), then ``entries`` ``batch`` per
    transaction; (seconds for ``entries``, entries written). An entry that would take an
    ``overdraft_free`` account below zero is skipped, nothing of it written."""
    conn = _open(path, durability)
    balances: dict[str, int] = {}

    def commit(chunk: Sequence[Sequence[Leg]]) -> int:
        rows = []
        for legs in chunk:
            if any(
                amount > 0 and account in overdraft_free and balances.get(account, 0) + amount > 0
                for account, amount in legs
            ):
                continue
            for account, amount in legs:
                balances[account] = balances.get(account, 0) + amount
            rows.append((_encoder.encode(legs),))
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO entries (legs) VALUES (?)", rows)
        conn.execute("COMMIT")
        return len(rows)

    commit(opening)
    start = time.perf_counter()
    written = sum(commit(entries[i : i + batch]) for i in range(0, len(entries), batch))
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed, written


def rebuild(path: Path) -> tuple[float, int]:
    """Read every entry back and fold the balances; (seconds, entries)."""
    conn = _open(path)
    balances: dict[str, int] = {}
    start = time.perf_counter()
    n = 0
    for (blob,) in conn.execute("SELECT legs FROM entries ORDER BY seq"):
        for account, amount in _decoder.decode(blob):
            balances[account] = balances.get(account, 0) + amount
        n += 1
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed, n
