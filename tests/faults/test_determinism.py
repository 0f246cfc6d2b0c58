"""Determinism: the read models rebuilt from seq 1 have the same canonical dump, whatever
the hash seed of the process and the time zone of the machine.

The demo's day (every flow) is rebuilt into a fresh in-memory database in this process
and in processes started with other ``PYTHONHASHSEED`` and ``TZ`` values; the SHA-256 of
the canonical dump must be the same everywhere, and equal to that of the read models
folded incrementally in the ledger's own file. The contention test checks the same of
the ledger its eight writers leave, folded by a projector while they wrote
(tests/faults/test_contention.py).
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.demo import DemoSize, run_demo
from tests.faults.digests import ELSEWHERE, assert_one_digest
from tests.faults.suite import record

SIZE = DemoSize(customers=60, merchants=3, agents=3, couriers=2, cod_orders_per_day=12, loans=20)


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("determinism") / "day.db"
    run_demo(path, seed=2, size=SIZE, day=date(2026, 12, 1))
    return path


def test_a_rebuild_has_one_digest_under_any_hash_seed_and_time_zone(day: Path) -> None:
    started = time.perf_counter()
    digest = assert_one_digest(day)
    with Ledger.open(day, create=False) as book:
        events = book.head()[0]
    record(
        "determinism",
        rounds=2 + len(ELSEWHERE),
        lost=None,
        events=events,
        digest=digest[:12],
        seconds=round(time.perf_counter() - started, 1),
    )
