"""Idempotency under contention: 8 processes submitting from one shared pool of ids.

Each id of the pool stands for one command body; every process draws ids at random and
submits them, so most submissions are retries racing other processes' first tries, and
one in ten carries the same id with another body. Afterwards, against the answers the
processes recorded: every id in the log was written by exactly one decision (one row in
the idempotency index, its events once), and its stored digest is one body's; every
other answer for that body is the original result (``Accepted``, replayed, at the same
seq); the other body is never accepted, and after the first acceptance it is refused
``idempotency_conflict``, with nothing added; an id never accepted has nothing logged.
"""

from __future__ import annotations

import hashlib
import multiprocessing as mp
import time
from collections import defaultdict
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.audit import verify
from ledger.commands import canonical_bytes
from tests.faults import contention
from tests.faults.suite import record, scale

PROCESSES = 8
POOL = 400
SECONDS = scale(6, 1_800)


def test_eight_processes_sharing_an_id_pool_post_each_id_once(
    backend: tuple[str, Path | None], request: pytest.FixtureRequest
) -> None:
    path, _ = backend
    contention.setup(path)
    ctx = mp.get_context("spawn")
    out, go = ctx.Queue(), ctx.Event()
    procs = [
        ctx.Process(
            target=contention.retrier, args=(str(path), f"p{i}", 200 + i, SECONDS, POOL, go, out)
        )
        for i in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    time.sleep(1.0)
    started = time.perf_counter()
    go.set()
    reports = [out.get(timeout=SECONDS + 300) for _ in procs]
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    failures = [r[1] for r in reports if isinstance(r[1], str)]
    assert not failures, failures
    answers = [a for _, got in reports for a in got]

    with Ledger.open(path) as book:
        index = {
            cid: (bytes(digest), first, last)
            for cid, digest, first, last in book.store.execute(
                "SELECT command_id, digest, first_seq, last_seq FROM commands"
                " WHERE command_id LIKE 'pool-%'"
            )
        }
        refusals = {
            cid: (bytes(digest), code)
            for cid, digest, code in book.store.execute(
                "SELECT command_id, digest, code FROM refusals WHERE command_id LIKE 'pool-%'"
            )
        }
        events = defaultdict(list)
        for rec in book.events():
            if rec.command_id.startswith("pool-"):
                events[rec.command_id].append(rec.seq)
        assert verify(book).ok

    digest = {
        (cid, variant): hashlib.sha256(canonical_bytes(contention.pooled(cid, variant))).digest()
        for cid, variant, _, _ in answers
    }
    decided = defaultdict(int)
    refused_afresh = defaultdict(int)
    conflicts = replays = refused = refusal_replays = 0
    lost = {cid for cid, _, (code, _, _), _ in answers if code == "accepted"} - set(index)
    assert not lost, f"acknowledged but not in the log: {sorted(lost)[:3]}"
    for cid, variant, (code, seq, replayed), before in answers:
        stored = index.get(cid)
        # an id committed by the time this submit began was there to be found: it cannot
        # have been decided afresh (accepted anew, or refused for funds)
        fresh = code != "idempotency_conflict" and not replayed
        assert not (fresh and stored is not None and stored[1] <= before), (
            f"{cid} was decided again though it was in the log at seq {stored and stored[1]}"
        )
        if code == "accepted":
            assert cid not in refusals, f"{cid} was accepted and refused"
            assert digest[cid, variant] == stored[0], f"{cid}: the other body was accepted"
            assert seq == stored[2], f"{cid} answered seq {seq}, the log has {stored[2]}"
            decided[cid] += not replayed
            replays += replayed
        elif code == "idempotency_conflict":
            first = stored[0] if stored is not None else refusals.get(cid, (None,))[0]
            assert first is not None and digest[cid, variant] != first, cid
            conflicts += 1
        else:  # refused for funds: recorded with this body, and decided only once
            assert code in ("insufficient_funds", "limit_exceeded"), (cid, code)
            assert stored is None and refusals.get(cid) == (digest[cid, variant], code), cid
            refused_afresh[cid] += not replayed
            refusal_replays += replayed
            refused += 1
    assert all(n == 1 for n in refused_afresh.values()), "an id was refused afresh twice"
    for cid, (_, first, last) in index.items():
        assert events[cid] == list(range(first, last + 1)), f"{cid}'s events are not once"
        assert decided[cid] == 1, f"{cid} was decided and accepted {decided[cid]} times"
    assert set(events) == set(index), "events of a command the index does not hold"
    assert len(index) > POOL // 2 and replays > len(answers) // 3 and conflicts > 20
    record(
        f"idempotency[{request.node.callspec.params['backend']}]",
        rounds=len(answers),
        lost=len(lost),
        ids_logged=len(index),
        replays=replays,
        conflicts_refused=conflicts,
        refused_for_funds=refused,
        refusals_replayed=refusal_replays,
        seconds=round(elapsed, 1),
    )
