"""Determinism: the read models rebuilt from seq 1 have the same canonical dump, whatever
the hash seed of the process and the time zone of the machine.

The demo's day (every flow) is rebuilt into a fresh in-memory database in this process
and in processes started with other ``PYTHONHASHSEED`` and ``TZ`` values; the SHA-256 of
the canonical dump must be the same everywhere, and equal to that of the read models
folded incrementally in the ledger's own file.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.demo import DemoSize, run_demo
from projections.runner import Runner

SIZE = DemoSize(customers=60, merchants=3, agents=3, couriers=2, cod_orders_per_day=12, loans=20)
DIGEST = (
    "from ledger import Ledger; from projections.runner import Runner; import sys\n"
    "with Ledger.open(sys.argv[1], create=False) as book, Runner(book, ':memory:') as r:\n"
    "    r.catch_up(); print(r.digest())\n"
)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("determinism") / "day.db"
    run_demo(path, seed=2, size=SIZE, day=date(2026, 12, 1))
    return path


def _digest_in(path: Path, env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", DIGEST, str(path)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_a_rebuild_has_one_digest_under_any_hash_seed_and_time_zone(day: Path) -> None:
    with Ledger.open(day, create=False) as book:
        with Runner(book) as incremental:  # folded page by page into the ledger's file
            incremental.catch_up()
            folded = incremental.digest()
        with Runner(book, ":memory:") as rebuilt:
            rebuilt.catch_up()
            here = rebuilt.digest()
    assert here == folded and len(here) == 64
    elsewhere = {
        _digest_in(day, {"PYTHONHASHSEED": seed, "TZ": zone})
        for seed, zone in (("0", "UTC"), ("12345", "America/New_York"), ("987", "Asia/Tokyo"))
    }
    assert elsewhere == {here}
