"""Contention: 8 writer processes for 30 s over 20 hot wallets, 2 readers tailing.

The writers (spawned: a fresh interpreter each, as separate servers) submit top-ups,
payments, P2P, holds and their captures and releases, refunds and COD steps to 20
wallets with ``no_overdraft``, each recording what ``submit`` acknowledged. Two readers
tail the log meanwhile. Then: the logged command ids are exactly the acknowledged ones,
none twice; ``seq`` is gapless and no reader ever saw it skip or go back; every
currency sums to zero; no wallet was ever below zero available at any seq; ``verify``
is clean; and the read models one reader folded into the file while the writers wrote
equal a rebuild from seq 1, under other hash seeds and time zones too.

The same check is run on a deliberately naive writer, which decides on balances read
in an earlier transaction (its account cache is never dropped when others commit): the
check must catch it, or it proves nothing.
"""

from __future__ import annotations

import multiprocessing as mp
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.faults import contention
from tests.faults.digests import assert_one_digest
from tests.faults.suite import record, scale

WRITERS, READERS = 8, 2
SECONDS = scale(30, 3_600)


def _run(path: Path, seconds: float, *, naive: bool = False) -> dict[str, Any]:
    """Run the writers and readers on ``path``; what they reported."""
    ctx = mp.get_context("spawn")
    out, reads = ctx.Queue(), ctx.Queue()
    go, stop = ctx.Event(), ctx.Event()
    writers = [
        ctx.Process(
            target=contention.writer,
            args=(str(path), f"w{i}", 100 + i, seconds, go, out, naive),
        )
        for i in range(WRITERS)
    ]
    readers = [
        ctx.Process(target=contention.reader, args=(str(path), f"r{i}", i == 0, go, stop, reads))
        for i in range(READERS)
    ]
    for p in writers + readers:
        p.start()
    time.sleep(1.0)  # every interpreter is up and has opened the file
    started = time.perf_counter()
    go.set()
    reports = [out.get(timeout=seconds + 300) for _ in writers]
    elapsed = time.perf_counter() - started
    stop.set()
    seen = [reads.get(timeout=300) for _ in readers]
    for p in writers + readers:
        p.join(timeout=60)
        assert p.exitcode == 0, p
    failures = [r[1] for r in reports if isinstance(r[1], str)]
    assert not failures, failures
    acknowledged = Counter(cid for _, ids, _, _ in reports for cid in ids)
    kinds = sum((Counter(k) for _, _, k, _ in reports), Counter[str]())
    return {
        "acknowledged": acknowledged,
        "rejected": sum(r[3] for r in reports),
        "kinds": kinds,
        "readers": seen,
        "seconds": elapsed,
    }


def _prefixes() -> tuple[str, ...]:
    return tuple(f"w{i}-" for i in range(WRITERS))


def test_eight_writers_on_twenty_hot_wallets_lose_nothing_and_never_overdraw(
    tmp_path: Path,
) -> None:
    path = tmp_path / "hot.db"
    contention.setup(path)
    run = _run(path, SECONDS)
    figures = contention.check(path, run["acknowledged"], _prefixes())
    assert_one_digest(path)  # the read models folded under contention == a rebuild
    for name, last, pages, problems in run["readers"]:
        assert not problems, (name, problems[:3])
        assert last == figures["events"], f"reader {name} ended at {last}"
        assert pages > 10, f"reader {name} polled only {pages} times"
    kinds = run["kinds"]
    assert all(kinds[k] > 20 for k in ("top_up", "payment", "p2p", "hold", "refund")), kinds
    assert all(kinds[k] > 5 for k in ("capture", "release", "cod_delivered", "cod_remitted"))
    assert run["rejected"] > 100, "the wallets were never contended enough to refuse"
    accepted = len(run["acknowledged"])
    record(
        "contention",
        rounds=WRITERS,
        lost=0,
        seconds=round(run["seconds"], 1),
        submitted=accepted + run["rejected"],
        accepted=accepted,
        rejected=run["rejected"],
        accepted_per_s=round(accepted / run["seconds"]),
        submitted_per_s=round((accepted + run["rejected"]) / run["seconds"]),
        reader_polls=sum(r[2] for r in run["readers"]),
        events=figures["events"],
    )


def test_the_check_catches_a_writer_that_decides_on_balances_read_outside_its_transaction(
    tmp_path: Path,
) -> None:
    path = tmp_path / "naive.db"
    contention.setup(path)
    run = _run(path, scale(5, 60), naive=True)
    with pytest.raises(AssertionError, match=r"available at seq|zero"):
        contention.check(path, run["acknowledged"], _prefixes())
