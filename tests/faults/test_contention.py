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

from ledger import Accepted, Credit, Debit, Ledger, OpenAccount, PostEntry
from ledger.audit import verify
from tests.faults import contention
from tests.faults.digests import assert_one_digest
from tests.faults.suite import record, scale
from tests.races import race

WRITERS, READERS = 8, 2
SECONDS = scale(30, 3_600)
POSTGRES_SECONDS = scale(10, 3_600)
"""PostgreSQL's run is shorter in CI: the same writers, a third of the time."""


def _run(
    path: Path | str, seconds: float, *, naive: bool = False, reads: Path | None = None
) -> dict[str, Any]:
    """Run the writers and readers on ``path`` (the first reader folds the read models
    into ``reads``, or the ledger's own file); what they reported."""
    ctx = mp.get_context("spawn")
    out, answers = ctx.Queue(), ctx.Queue()
    go, stop = ctx.Event(), ctx.Event()
    writers = [
        ctx.Process(
            target=contention.writer,
            args=(str(path), f"w{i}", 100 + i, seconds, go, out, naive),
        )
        for i in range(WRITERS)
    ]
    readers = [
        ctx.Process(
            target=contention.reader,
            args=(str(path), f"r{i}", str(reads or "") if i == 0 else None, go, stop, answers),
        )
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
    seen = [answers.get(timeout=300) for _ in readers]
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
    backend: tuple[str, Path | None], request: pytest.FixtureRequest
) -> None:
    path, reads = backend
    contention.setup(path)
    run = _run(path, POSTGRES_SECONDS if reads else SECONDS, reads=reads)
    figures = contention.check(path, run["acknowledged"], _prefixes())
    assert_one_digest(path, reads)  # the read models folded under contention == a rebuild
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
        f"contention[{request.node.callspec.params['backend']}]",
        rounds=accepted + run["rejected"],
        lost=figures["lost"],
        writers=WRITERS,
        seconds=round(run["seconds"], 1),
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


ACCOUNTS = 40
LIMIT, SPEND = 100_000, 70_000


def _spend_on_new_accounts(book: Ledger, name: str, step: Any) -> list[tuple[int, str]]:
    """Spend 700.00 on each never-used agent account in turn, both processes on the same
    account at the same moment (``step``: a barrier they meet at); (account, answer)."""
    answers = []
    for n in range(ACCOUNTS):
        step.wait(timeout=60)
        result = book.submit(
            PostEntry(
                id=f"{name}-spend-{n}",
                kind="agent_cash_in",
                postings=[Debit(f"agent:N{n}:receivable", SPEND), Credit("wallet:H0", SPEND)],
            )
        )
        answers.append((n, "accepted" if isinstance(result, Accepted) else str(result.code)))
    return answers


def test_two_spends_on_a_never_used_account_with_a_limit_exactly_one_succeeds(
    backend: tuple[str, Path | None],
) -> None:
    """Agents with a credit line of 1,000.00 (an asset account with ``max_balance_minor``)
    that have never been posted to; two processes each spend 700.00 on every one of them
    at once. In a ledger that locks only the balance rows it finds, both would pass on an
    account with no row yet; here exactly one does, every time."""
    path, _ = backend
    contention.setup(path)
    with Ledger.open(path) as book:
        opened = book.submit_many(
            [
                OpenAccount(
                    id=f"open-N{n}",
                    account=f"agent:N{n}:receivable",
                    type="asset",
                    currency="THB",
                    max_balance_minor=LIMIT,
                )
                for n in range(ACCOUNTS)
            ]
        )
        assert all(isinstance(r, Accepted) for r in opened)
    step = mp.get_context("spawn").Barrier(2)
    (_, a), (_, b) = race(_spend_on_new_accounts, path, (step, step))
    wins = {"a": 0, "b": 0}
    for (n, first), (_, second) in zip(a, b, strict=True):
        assert sorted([first, second]) == ["accepted", "limit_exceeded"], (n, first, second)
        wins["a" if first == "accepted" else "b"] += 1
    assert min(wins.values()) > 0, f"the processes never really raced: {wins}"
    with Ledger.open(path) as book:
        for n in range(ACCOUNTS):
            assert book.balance(f"agent:N{n}:receivable").balance == SPEND
        assert verify(book).ok
