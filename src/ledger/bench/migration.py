"""``python -m ledger.bench.migration``: the demo's day written to a SQLite file, then
copied into a throwaway PostgreSQL cluster with ``satang migrate`` and timed; prints the
command's own output, the time it took and both heads (docs/scaling.md quotes it)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ledger import Ledger
from ledger.bench import pgcluster
from ledger.demo import run_demo


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp, pgcluster.cluster(fsync=True) as server:
        day = Path(tmp) / "satang-demo.db"
        run_demo(day)
        target = pgcluster.fresh_schema(server)
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", "from ledger.cli import main; main()", "migrate",
             "--from", str(day), "--to", target],
            capture_output=True,
            text=True,
        )  # fmt: skip
        elapsed = time.perf_counter() - started
        print(done.stdout, end="")
        print(f"satang migrate: exit {done.returncode} in {elapsed:.1f} s")
        with Ledger.open(day, create=False) as lite, Ledger.open(target) as pg:
            for name, book in (("sqlite", lite), ("postgres", pg)):
                seq, digest = book.head()
                print(f"{name} head: {seq}:{digest}")
        return done.returncode


if __name__ == "__main__":
    sys.exit(main())
