"""The workload on the ``eventsourcing`` library, written as its documentation teaches:
an ``Account`` aggregate per account (opened, debited, credited; a wallet refuses a debit
that would take it below zero), an ``Application`` on its SQLite persistence, and one
``save`` — one durable transaction — per command, of every account the entry touches.
The library's aggregate cache is on (``AGGREGATE_CACHE_MAXSIZE``): without it, each
command loads its accounts from all their events, which is quadratic in the bank's
account. Installed with the ``bench`` extra; absent, the peer is skipped and said so.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Leg = tuple[str, int]

try:
    from eventsourcing.application import Application
    from eventsourcing.domain import Aggregate, event
except ImportError:  # pragma: no cover - the bench extra is not installed
    AVAILABLE = False
else:
    AVAILABLE = True

    class Account(Aggregate):
        @event("Opened")
        def __init__(self, name: str, overdraft_free: bool) -> None:
            self.name = name
            self.overdraft_free = overdraft_free
            self.balance = 0  # debits minus credits

        @event("Posted")
        def post(self, amount: int) -> None:
            self.balance += amount

        def check(self, amount: int) -> None:
            if self.overdraft_free and amount > 0 and self.balance + amount > 0:
                raise ValueError(f"{self.name} would go below zero")

    class Ledger(Application[uuid.UUID]):
        def open(self, name: str, overdraft_free: bool) -> uuid.UUID:
            account = Account(name, overdraft_free)
            self.save(account)
            return account.id

        def entry(self, ids: dict[str, uuid.UUID], legs: Sequence[Leg]) -> bool:
            accounts: dict[str, Account] = {
                name: self.repository.get(ids[name]) for name, _ in legs
            }
            try:
                for name, amount in legs:
                    accounts[name].check(amount)
            except ValueError:
                return False
            for name, amount in legs:
                accounts[name].post(amount)
            self.save(*accounts.values())
            return True


def _app(path: Path) -> Any:
    return Ledger(
        env={
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(path),
            # Without the cache every command replays its accounts from their events, and
            # the bank's account, in every top-up, grows without end (quadratic): the
            # library's own remedy is the aggregate cache, on here.
            "AGGREGATE_CACHE_MAXSIZE": "100000",
        }
    )


def append(
    path: Path,
    opening: Sequence[Sequence[Leg]],
    entries: Sequence[Sequence[Leg]],
    overdraft_free: frozenset[str],
) -> tuple[float, int]:
    """Open every account the entries name and post ``opening`` (untimed), then submit
    ``entries`` one ``save`` each; (seconds for ``entries``, entries written)."""
    app = _app(path)
    names = sorted({name for legs in [*opening, *entries] for name, _ in legs})
    ids = {name: app.open(name, name in overdraft_free) for name in names}
    for legs in opening:
        app.entry(ids, legs)
    start = time.perf_counter()
    written = sum(app.entry(ids, legs) for legs in entries)
    elapsed = time.perf_counter() - start
    app.close()
    return elapsed, written


def rebuild(path: Path) -> tuple[float, int]:
    """Read every stored event back through the application's mapper and fold the
    balances; (seconds, events)."""
    app = _app(path)
    balances: dict[uuid.UUID, int] = {}
    start = time.perf_counter()
    n, after = 0, 0
    while True:
        page = app.recorder.select_notifications(after + 1, 1_000)
        if not page:
            break
        for notification in page:
            domain_event = app.mapper.to_domain_event(notification)
            amount = getattr(domain_event, "amount", None)
            if amount is not None:
                balances[domain_event.originator_id] = (
                    balances.get(domain_event.originator_id, 0) + amount
                )
            n += 1
        after = page[-1].id
    elapsed = time.perf_counter() - start
    app.close()
    return elapsed, n
