"""What a ledger file holds, by part: ``satang bench --suite size``.

Writes the file ``satang demo`` writes (its default seed and size: a realistic day of
wallet, COD and loan activity after four months of history, then its read models folded
into the file), closes it (checkpointed: no ``-wal`` left), and prints its bytes per event:
the whole file, and each part — the log, the per-account history, the idempotency index,
the record of refusals, the accounts, the read models — its tables and its indexes apart,
from SQLite's own page accounting (``dbstat``).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

from ledger.bench.report import Figure, Out, printed

PARTS = {
    "events": "the log",
    "account_postings": "the history",
    "commands": "the idempotency index",
    "refusals": "the record of refusals",
    "accounts": "the accounts",
}
"""The store's tables, by the part of the file each is; every ``proj_`` table is a read
model's; the rest (the schema, the migrations, the settings) is ``other``."""

FILE = "size: demo file"
"""The figure of the whole file, bytes per event."""


def part_of(table: str) -> str:
    """The part of the file a table (and its indexes) belongs to."""
    if table.startswith("proj_"):
        return "the read models"
    return PARTS.get(table, "other")


def measure(path: Path) -> tuple[int, int, Counter[tuple[str, str]]]:
    """The file's events, its bytes, and its bytes by (part, ``table`` or ``index``), read
    through a read-only connection."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        events = int(conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        rows = conn.execute(
            "SELECT m.tbl_name, m.type, SUM(d.pgsize) FROM dbstat AS d"
            " LEFT JOIN sqlite_master AS m ON m.name = d.name GROUP BY d.name"
        ).fetchall()
    finally:
        conn.close()
    parts: Counter[tuple[str, str]] = Counter()
    for table, kind, size in rows:
        parts[part_of(table or ""), "index" if kind == "index" else "table"] += int(size)
    return events, path.stat().st_size, parts


def demo_file(directory: Path, out: Out) -> list[Figure]:
    """Write the demo's file into ``directory`` with ``satang demo`` (a process of its
    own), and print its bytes per event, whole and by part."""
    path = directory / "size-demo.db"
    ran = subprocess.run(
        [sys.executable, "-c", "from ledger.cli import main; main()", "demo", "--db", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    if ran.returncode:
        raise RuntimeError(f"satang demo failed ({ran.returncode}): {ran.stderr[-2_000:]}")
    events, size, parts = measure(path)
    figures = [Figure(FILE, size / events, "B/event", f"{size:,} bytes, {events:,} events")]
    for part in (*dict.fromkeys(PARTS.values()), "the read models", "other"):
        for kind in ("table", "index"):
            found = parts.get((part, kind), 0)
            if found:
                name = f"size: {part}{', indexes' if kind == 'index' else ''}"
                figures.append(Figure(name, found / events, "B/event", f"{found:,} bytes"))
    indexes = sum(n for (_, kind), n in parts.items() if kind == "index")
    figures.append(Figure("size: every index", indexes / events, "B/event", f"{indexes:,} bytes"))
    for figure in figures:
        printed(out, figure)
    return figures
