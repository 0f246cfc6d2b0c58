"""Run the fault suite and print the table of docs/reliability.md.

    python -m tests.faults.report            # the short mode, as make test runs it
    SATANG_FAULT_LONG=1 python -m tests.faults.report   # the long mode (hours)

Each fault test appends its figures to ``$SATANG_FAULT_REPORT`` (tests/faults/suite.py);
this runs pytest on tests/faults with it set, then prints one row per test: what it
does, how many rounds or examples it ran, what was lost (0 on a green run: a loss fails
the test), and its own figures.
"""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WHAT = {
    "kill9": "writer SIGKILLed at a random moment while writing, folding, checkpointing",
    "crash_point": "writer exits hard (os._exit) at one point of the write path",
    "power_loss[torn": "a checkpoint torn by a power cut, its WAL whole",
    "power_loss": "WAL of a ledger cut at random offsets, as a power cut leaves it",
    "corruption": "bit flips, zeroed pages, truncations of a ledger file",
    "contention": "8 writer processes on 20 hot wallets, 2 readers (one folding)",
    "idempotency": "8 processes submitting ids from one shared pool, 1 in 10 a new body",
    "hostile": "malformed values through the public API (hypothesis)",
    "fuzz_decoder": "atheris on the event decoder, seeded from real events",
    "clock": "two writers, one clock jumping back and forward and freezing",
    "determinism": "read models rebuilt under other hash seeds and time zones",
}
COUNTED = {"rounds", "lost", "test", "seconds"}


def _what(test: str) -> str:
    return next((text for key, text in WHAT.items() if test.startswith(key)), "")


def main() -> int:
    root = Path(__file__).parent.parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "faults.jsonl"
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/faults"],
            cwd=root,
            env={**os.environ, "SATANG_FAULT_REPORT": str(out)},
        )
        elapsed = time.perf_counter() - started
        rows = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    mode = "long" if os.environ.get("SATANG_FAULT_LONG") == "1" else "short"
    print(
        f"\nfault suite, {mode} mode: pytest exit {done.returncode}, {elapsed:.0f} s;"
        f" {os.cpu_count()} cores, Python {platform.python_version()},"
        f" SQLite {sqlite3.sqlite_version}\n"
    )
    print("| test | what it does | rounds / examples | lost | seconds | figures |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        figures = ", ".join(
            f"{k} {v:,}" if isinstance(v, int) else f"{k} {v}"
            for k, v in sorted(row.items())
            if k not in COUNTED
        )
        print(
            f"| {row['test']} | {_what(row['test'])} | {row['rounds']:,} |"
            f" {'n/a' if row['lost'] is None else row['lost']} |"
            f" {row.get('seconds', '')} | {figures} |"
        )
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
