"""What the read-model tests share (``from tests.projections.conftest import ...``): a ledger
in a SQLite file whose injected clock steps on every read (the ``book`` and ``clock``
fixtures, which stand in here for those of tests/conftest.py), a caught-up runner over it
(:func:`reads`), and :func:`check_as_of`, which checks balances and the trial balance as of
every point of a ledger against ``Ledger.balance(as_of=...)`` and that every way of catching
up folds the same rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger import Accepted, Command, Ledger, Result
from ledger.events import AccountOpened, MoneyEvent
from ledger.times import ManualClock, from_us
from projections.runner import Runner
from projections.statements import AsOf, balances_as_of, day_end_us, trial_balance

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
"""The injected clock's starting time."""
US = timedelta(microseconds=1)
STEP = timedelta(seconds=2)
"""How far the injected clock moves on every read, so no two commands share a time; the
tests jump it with ``advance`` or by setting ``now``."""


def ok(book: Ledger, command: Command) -> Accepted:
    """Submit ``command``; assert it is accepted and not a replay."""
    result = book.submit(command)
    assert isinstance(result, Accepted) and not result.replayed, result
    return result


def all_accepted(results: list[Result]) -> None:
    """Assert that every result of a batch is accepted."""
    assert all(isinstance(r, Accepted) for r in results), results


@pytest.fixture
def clock() -> ManualClock:
    """A clock at :data:`T0` that moves :data:`STEP` on every read."""
    return ManualClock(T0, step=STEP)


@pytest.fixture
def book(tmp_path: Path, clock: ManualClock) -> Iterator[Ledger]:
    """A fresh ledger in a SQLite file, on :func:`clock`."""
    with Ledger.open(tmp_path / "ledger.db", clock=clock) as ledger:
        yield ledger


def reads(book: Ledger, tmp_path: Path) -> Runner:
    """A runner over ``book`` with its read models in a file of their own, caught up."""
    runner = Runner(book, tmp_path / "reads.db")
    runner.catch_up()
    return runner


def check_as_of(book: Ledger) -> None:
    """Balances and the trial balance as of every seq, every effective time (and the
    microsecond before it) and every day of ``book`` (and the day before it) are the
    ledger's own; catching up in pages of any size, in two goes, or by a rebuild gives the
    same rows."""
    zone = book.policy.timezone
    head = book.head()[0]
    events = list(book.events())
    names = [b.account for b in book.balances()]
    runner = Runner(book, ":memory:")
    runner.catch_up()

    def expect(point: AsOf | None, counts: Any, as_of: int | datetime | None) -> None:
        """``balances_as_of`` and the trial balance at ``point`` name the accounts opened
        or posted to by then (``counts`` says which events count), each with the ledger's
        own balance as of ``as_of`` (the same point, for ``Ledger.balance``)."""
        counted = [r for r in events if counts(r)]
        wanted = {r.event.account for r in counted if isinstance(r.event, AccountOpened)}
        for r in counted:
            if isinstance(r.event, MoneyEvent):
                wanted |= {p.account for p in r.event.postings}
        found = balances_as_of(runner, point, zone)
        assert list(found) == sorted(wanted), point
        for account in names:
            b = book.balance(account, as_of)
            if account in found:
                assert found[account] == b, (account, point)
            else:
                assert b == book.balance(account, 0), (account, point)
        tb = trial_balance(runner, point, zone)
        assert [r.account for r in tb.rows] == sorted(wanted)
        totals: dict[str, tuple[int, int]] = {}
        for row in tb.rows:
            b = book.balance(row.account, as_of)
            assert row.currency == b.currency
            assert row.type == book.account(row.account).type.value
            assert row.debit_minor - row.credit_minor == b.debits_posted - b.credits_posted
            assert min(row.debit_minor, row.credit_minor) == 0
            d, c = totals.get(row.currency, (0, 0))
            totals[row.currency] = (d + row.debit_minor, c + row.credit_minor)
        assert tb.totals == dict(sorted(totals.items()))
        assert tb.balanced and all(d == c for d, c in tb.totals.values())

    expect(None, lambda r: True, None)
    for seq in range(head + 2):
        expect(seq, lambda r, p=seq: r.seq <= p, seq)
    times = sorted({r.effective_at for r in events})
    for moment in [t + d for t in times for d in (-US, 0 * US)]:
        expect(moment, lambda r, p=moment: r.effective_at <= p, moment)
    days = sorted({t.astimezone(zone).date() + timedelta(days=k) for t in times for k in (-1, 0)})
    for day in days:
        end = from_us(day_end_us(day, zone)) - US
        expect(day, lambda r, p=end: r.effective_at <= p, end)
    dumps = set()
    for k in (1, 7, 1000):
        other = Runner(book, ":memory:", page_events=k)
        other.catch_up()
        dumps.add(other.dump())
        other.close()
    halfway = Runner(book, ":memory:", page_events=2)
    halfway.catch_up(until=head // 2)
    halfway.catch_up()
    dumps.add(halfway.dump())
    rebuilt = runner.rebuild_into(":memory:")
    dumps.add(rebuilt.dump())
    rebuilt.close()
    assert dumps == {runner.dump()}
    runner.close()
