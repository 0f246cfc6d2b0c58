"""Processes for the contention tests: writers of the wallet flows over a few hot
wallets, readers tailing the log, and the checks of what they leave.

Writers and readers are spawned (``multiprocessing`` spawn context: a fresh interpreter
each, as separate servers would be), open the file themselves, start together on an
event, and report what they saw through a queue, outside the library.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger import (
    Accepted,
    CaptureHold,
    CodDelivered,
    CodRemitted,
    Command,
    Ledger,
    Pay,
    PlaceHold,
    Refund,
    Rejected,
    ReleaseHold,
    TopUp,
    Transfer,
)
from ledger.accounts import Counters
from ledger.audit import verify
from ledger.store.sqlite import SqliteStore
from projections.runner import Runner

HOT_WALLETS = [f"wallet:H{i}" for i in range(20)]
MERCHANTS = ["M0", "M1", "M2", "M3"]
COURIER, COD_MERCHANT = "K0", "S0"
OPENING_MINOR = 100_000
"""1,000.00 THB a wallet: payments of up to 800.00 overdraw them often."""
BUSY_MS = 60_000


def setup(path: Path | str) -> None:
    """The chart, the hot wallets each with its opening top-up, merchants, a courier."""
    with Ledger.open(path) as book:
        chart = book.chart
        commands: list[Command] = [chart.open_wallet(w) for w in HOT_WALLETS]
        commands += [chart.open_merchant(m) for m in MERCHANTS]
        commands += [*chart.open_courier(COURIER), *chart.open_cod_merchant(COD_MERCHANT)]
        commands += [
            TopUp(id=f"open-{w}", wallet=w, amount_minor=OPENING_MINOR, channel="bank")
            for w in HOT_WALLETS
        ]
        results = book.open_chart(cod=True) + book.submit_many(commands)
        assert all(isinstance(r, Accepted) for r in results), results


class _NeverForget(dict[Any, Any]):
    """An account cache that is never dropped: decisions are made on balances read in
    an earlier transaction, outside this one: the naive writer's bug."""

    def clear(self) -> None:
        pass


class Mix:
    """One writer's seeded stream of top-ups, payments, P2P, holds and their ends,
    refunds and COD steps; it learns what was accepted to pick later steps."""

    def __init__(self, name: str, seed: int, book: Ledger) -> None:
        self.name = name
        self.rng = random.Random(seed)
        self.book = book
        self.n = 0
        self.payments: list[str] = []
        self.holds: list[str] = []
        self.delivered: list[tuple[str, int]] = []
        self.kinds = Counter[str]()

    def next(self) -> Command:
        rng, self.n = self.rng, self.n + 1
        cid = f"{self.name}-{self.n}"
        u, v = rng.sample(HOT_WALLETS, 2)
        roll = rng.random()
        amount = rng.randrange(500, 80_000)
        if roll < 0.22:
            kind, command = "top_up", TopUp(id=cid, wallet=u, amount_minor=amount, channel="bank")
        elif roll < 0.47:
            fee = amount * 15 // 1000 or 1
            merchant = rng.choice(MERCHANTS)
            kind = "payment"
            command = Pay(id=cid, wallet=u, merchant=merchant, amount_minor=amount, fee_minor=fee)
        elif roll < 0.62:
            kind, command = "p2p", Transfer(id=cid, source=u, destination=v, amount_minor=amount)
        elif roll < 0.72:
            kind = "hold"
            command = PlaceHold(
                id=cid,
                hold=f"{cid}-h",
                wallet=u,
                destination=self.book.chart.merchant(rng.choice(MERCHANTS)),
                amount_minor=amount // 2,
                expires_at=datetime.now(UTC) + timedelta(days=2),
            )
        elif roll < 0.80 and self.holds:
            hold = self.holds.pop(rng.randrange(len(self.holds)))
            if rng.random() < 0.5:
                kind, command = "release", ReleaseHold(id=cid, hold=hold)
            else:
                part = None if rng.random() < 0.5 else rng.randrange(1, 250)
                kind, command = "capture", CaptureHold(id=cid, hold=hold, amount_minor=part)
        elif roll < 0.88 and self.payments:
            payment = rng.choice(self.payments)
            part = None if rng.random() < 0.3 else rng.randrange(1, 5_000)
            kind, command = "refund", Refund(id=cid, payment=payment, amount_minor=part)
        elif self.delivered and rng.random() < 0.5:
            order, owed = self.delivered.pop(0)
            kind = "cod_remitted"
            command = CodRemitted(
                id=cid, remittance=f"R-{order}", courier=COURIER, orders=[order], amount_minor=owed
            )
        else:
            cash = rng.randrange(15_000, 200_000)
            kind = "cod_delivered"
            command = CodDelivered(
                id=cid,
                order=f"{cid}-o",
                courier=COURIER,
                merchant=COD_MERCHANT,
                amount_minor=cash,
                commission_minor=cash * 5 // 100,
                shipping_minor=4_000,
                courier_fee_minor=1_000,
            )
        self.kinds[kind] += 1
        return command

    def learn(self, command: Command, result: Accepted | Rejected) -> None:
        if not isinstance(result, Accepted):
            return
        if isinstance(command, Pay):
            self.payments.append(command.id)
        elif isinstance(command, PlaceHold):
            self.holds.append(command.hold)
        elif isinstance(command, CodDelivered):
            self.delivered.append((command.order, command.amount_minor - 5_000))


def writer(path: str, name: str, seed: int, seconds: float, go: Any, out: Any, naive: bool) -> None:
    """Submit the mix for ``seconds``; report (name, acknowledged ids, kinds, rejected)."""
    try:
        with Ledger.open(path, busy_timeout_ms=BUSY_MS) as book:
            if naive:
                store = book.store
                assert isinstance(store, SqliteStore)
                store._accounts = _NeverForget()
            mix = Mix(name, seed, book)
            acknowledged: list[str] = []
            rejected = 0
            go.wait(timeout=120)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                command = mix.next()
                result = book.submit(command)
                mix.learn(command, result)
                if isinstance(result, Accepted):
                    acknowledged.append(command.id)
                else:
                    rejected += 1
                time.sleep(mix.rng.random() / 1000)  # a request gap, as a server has
        out.put((name, acknowledged, dict(mix.kinds), rejected))
    except Exception as exc:  # reported to the test, which fails with it
        out.put((name, f"writer {name} failed: {exc!r}", {}, 0))


def reader(path: str, name: str, fold: str | None, go: Any, stop: Any, out: Any) -> None:
    """Tail the log until ``stop`` is set (then read to the head once more); with
    ``fold``, also catch read models up at every poll, as a projector beside the writers
    would: in the ledger's file (``""``) or in the SQLite file ``fold``. Report (name,
    last seq seen, polls, problems)."""
    try:
        problems: list[str] = []
        last = polls = head_seen = 0
        with (
            Ledger.open(path, busy_timeout_ms=BUSY_MS) as book,
            Runner(book, fold or None) as runner,
        ):
            go.wait(timeout=120)
            while True:
                done = stop.is_set()
                head = book.head()[0]
                if head < head_seen:
                    problems.append(f"the head went back from {head_seen} to {head}")
                head_seen = head
                for rec in book.events(after=last):
                    if rec.seq != last + 1:
                        problems.append(f"seq {rec.seq} came after {last}")
                    last = rec.seq
                if fold is not None:
                    runner.catch_up()
                polls += 1
                if done:
                    break
                time.sleep(0.005)
        out.put((name, last, polls, problems))
    except Exception as exc:
        out.put((name, 0, 0, [f"reader {name} failed: {exc!r}"]))


def walk(path: Path | str) -> Iterator[tuple[int, str, Counters]]:
    """Every (seq, account, counters after it) for the no_overdraft wallets, along the log."""
    counters: dict[str, Counters] = {}
    with Ledger.open(path) as book:
        hot = {w for w in HOT_WALLETS if book.account(w).no_overdraft}
        for rec in book.events():
            for p in getattr(rec.event, "postings", ()):
                if p.account in hot:
                    now = counters.get(p.account, Counters()).add(p.side, p.amount_minor, p.phase)
                    counters[p.account] = now
                    yield rec.seq, p.account, now


def check(
    path: Path | str, acknowledged: Counter[str], prefixes: tuple[str, ...]
) -> dict[str, int]:
    """What the contention test asserts of the file its writers left; its figures."""
    with Ledger.open(path) as book:
        logged = Counter(
            rec.command_id for rec in book.events() if rec.command_id.startswith(prefixes)
        )
        commands = Counter(
            cid
            for (cid,) in book.store.execute("SELECT command_id FROM commands")
            if cid.startswith(prefixes)
        )
        seqs = [rec.seq for rec in book.events()]
        balances = book.balances()
        report = verify(book)
    lost = set(acknowledged) - set(commands)
    twice = [cid for cid, n in acknowledged.items() if n > 1]
    assert not twice, f"acknowledged twice: {twice[:3]}"
    assert set(commands) == set(acknowledged), (
        f"logged but not acknowledged: {sorted(set(commands) - set(acknowledged))[:3]}; "
        f"acknowledged but lost: {sorted(set(acknowledged) - set(commands))[:3]}"
    )
    assert all(n == 1 for n in commands.values()), "a command id is in the index twice"
    assert set(logged) == set(commands), "the log and the idempotency index disagree"
    assert seqs == list(range(1, len(seqs) + 1)), "seq is not gapless"
    sums: dict[str, int] = {}
    for b in balances:
        sums[b.currency] = sums.get(b.currency, 0) + b.debits_posted - b.credits_posted
    assert all(total == 0 for total in sums.values()), f"a currency does not sum to zero: {sums}"
    for seq, account, counters in walk(path):
        assert counters.available("credit") >= 0, (
            f"{account} went to {counters.available('credit')} available at seq {seq}"
        )
    assert report.ok, report.findings
    return {"events": len(seqs), "commands": len(commands), "lost": len(lost)}


def pooled(cid: str, variant: bool) -> Command:
    """The command that id ``cid`` of the shared pool stands for; ``variant`` is the same
    id with another body (one minor unit more), which the ledger must refuse once the
    first body is in."""
    rng = random.Random(cid)
    u, v = rng.sample(HOT_WALLETS, 2)
    amount = rng.randrange(500, 60_000) + variant
    roll = rng.random()
    if roll < 0.4:
        return TopUp(id=cid, wallet=u, amount_minor=amount, channel="bank")
    if roll < 0.8:
        return Pay(id=cid, wallet=u, merchant="M0", amount_minor=amount, fee_minor=amount // 100)
    return Transfer(id=cid, source=u, destination=v, amount_minor=amount)


def retrier(path: str, name: str, seed: int, seconds: float, pool: int, go: Any, out: Any) -> None:
    """Submit ids drawn from a pool all writers share, each with its body (now and then
    the variant) for ``seconds``; report (name, [(id, variant, answer, head before)])."""
    try:
        rng = random.Random(seed)
        answers: list[tuple[str, bool, tuple[str, int, bool], int]] = []
        with Ledger.open(path, busy_timeout_ms=BUSY_MS) as book:
            go.wait(timeout=120)
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                cid, variant = f"pool-{rng.randrange(pool)}", rng.random() < 0.1
                before = book.head()[0]  # anything committed by then must be found
                result = book.submit(pooled(cid, variant))
                if isinstance(result, Accepted):
                    answer = ("accepted", result.seq, result.replayed)
                else:
                    answer = (result.code.value, 0, result.replayed)
                answers.append((cid, variant, answer, before))
                time.sleep(rng.random() / 1000)
        out.put((name, answers))
    except Exception as exc:
        out.put((name, f"retrier {name} failed: {exc!r}"))
