"""Two OS processes hammer one wallet in one SQLite file: no overdraft, nothing lost.

Each writer records the ids that ``submit`` acknowledged, outside the library, and the
test compares them with the log: every acknowledged command is there exactly once,
nothing else is, and the wallet never went below zero at any point of the log.
"""

from __future__ import annotations

import itertools
import multiprocessing as mp
import random
import time
from pathlib import Path
from typing import Any

import pytest

from ledger import Accepted, Credit, Debit, Ledger, OpenAccount, PostEntry
from ledger.audit import verify

pytestmark = pytest.mark.slow  # processes racing on one file: `make test` runs them

START_MINOR = 200_000
ROUNDS = 600


def _writer(path: str, name: str, seed: int, go: Any, acks: Any) -> None:
    try:
        _write(path, name, seed, go, acks)
    except Exception as exc:  # reported to the test, which fails with it
        acks.put(f"writer {name} failed: {exc!r}")


def _write(path: str, name: str, seed: int, go: Any, acks: Any) -> None:
    rng = random.Random(seed)
    acknowledged: list[tuple[str, int]] = []
    with Ledger.open(path, busy_timeout_ms=30_000) as book:
        go.wait(timeout=60)
        for i in range(ROUNDS):
            cid = f"{name}-{i}"
            if rng.random() < 0.2:
                amount = rng.randrange(1_000, 20_000)
                legs = [Debit("bank:trust", amount), Credit("wallet:hot", amount)]
                signed = amount
            else:
                amount = rng.randrange(1_000, 30_000)
                legs = [Debit("wallet:hot", amount), Credit("merchant:sink", amount)]
                signed = -amount
            result = book.submit(PostEntry(id=cid, kind="hammer", postings=legs))
            if isinstance(result, Accepted):
                acknowledged.append((cid, signed))
            # A request gap of up to 1 ms, as a server would have: without it, SQLite's
            # busy handler lets whichever process holds the lock take it again and again.
            time.sleep(rng.random() / 1000)
    acks.put(acknowledged)


def test_two_processes_never_overdraw_and_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "hot.db"
    with Ledger.open(path) as book:
        book.submit_many(
            [
                OpenAccount(id="o1", account="bank:trust", type="asset", currency="THB"),
                OpenAccount(id="o2", account="merchant:sink", type="liability", currency="THB"),
                OpenAccount(
                    id="o3",
                    account="wallet:hot",
                    type="liability",
                    currency="THB",
                    no_overdraft=True,
                ),
                PostEntry(
                    id="seed",
                    kind="top_up",
                    postings=[Debit("bank:trust", START_MINOR), Credit("wallet:hot", START_MINOR)],
                ),
            ]
        )
    ctx = mp.get_context("spawn")
    acks = ctx.Queue()
    go = ctx.Event()
    procs = [
        ctx.Process(target=_writer, args=(str(path), name, seed, go, acks))
        for name, seed in (("a", 1), ("b", 2))
    ]
    for p in procs:
        p.start()
    go.set()
    reports = [acks.get(timeout=120) for _ in procs]
    failures = [r for r in reports if isinstance(r, str)]
    assert not failures, failures
    acknowledged = [entry for report in reports for entry in report]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0

    with Ledger.open(path) as book:
        logged = [r.command_id for r in book.events() if r.command_id.startswith(("a-", "b-"))]
        assert len(logged) == len(set(logged)), "a command was logged twice"
        assert set(logged) == {cid for cid, _ in acknowledged}
        # Both writers really interleaved, and the wallet was really contended.
        switches = sum(1 for x, y in itertools.pairwise(logged) if x[0] != y[0])
        assert switches >= 20, f"the writers took turns only {switches} times"
        assert len(logged) < 2 * ROUNDS, "no overdraft was ever attempted"
        expected = START_MINOR + sum(signed for _, signed in acknowledged)
        assert book.balance("wallet:hot").balance == expected >= 0
        running = 0
        for rec in book.events():
            for p in getattr(rec.event, "postings", ()):
                if p.account == "wallet:hot":
                    running += p.amount_minor if p.side == "credit" else -p.amount_minor
            assert running >= 0, f"wallet:hot went to {running} at seq {rec.seq}"
        report = verify(book)
        assert report.ok, report.findings
