"""Fixtures and helpers every test folder shares (``from tests.conftest import ...``).

* A throwaway PostgreSQL cluster (src/ledger/bench/pgcluster.py), started once per session:
  ``postgres`` and ``pg_dsn`` (one new schema per test).
* A ledger on each backend with an injected clock: ``book`` (``:memory:``, a file and
  PostgreSQL), ``clock`` (a :class:`FakeClock`), ``wallets`` and ``flows`` (accounts opened).
* Every rejection test goes through :func:`assert_rejected`: it asserts the exact
  ``RejectCode`` *and* that nothing changed — same head (seq and hash), same balances, same
  account attributes and statuses, same number of rows in the idempotency index.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import attrs
import pytest

from ledger import (
    Accepted,
    Balance,
    Command,
    Credit,
    Debit,
    Ledger,
    OpenAccount,
    PostEntry,
    Rejected,
    TopUp,
)
from ledger.accounts import Phase, Side, is_valid_id
from ledger.bench import pgcluster as pg
from ledger.errors import RejectCode
from ledger.events import Event, Posting
from ledger.store.base import RecordedEvent
from ledger.times import ManualClock


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        help="the fault suite's long mode (tests/faults: hours); SATANG_FAULT_LONG=1",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--long"):  # read by tests/faults/suite.py and the writers it spawns
        os.environ["SATANG_FAULT_LONG"] = "1"


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The DSN of a PostgreSQL cluster started for this test session."""
    if pg.binaries() is None:
        reason = "no PostgreSQL server binaries here (apt-get install postgresql)"
        if pg.REQUIRED:
            pytest.fail(f"{reason}, and SATANG_REQUIRE_POSTGRES=1")
        pytest.skip(f"{reason}; SATANG_REQUIRE_POSTGRES=1 makes this a failure")
    with pg.cluster() as dsn:
        yield dsn


@pytest.fixture
def pg_dsn(postgres: str) -> str:
    """A DSN whose search_path is a new, empty schema: one ledger per test."""
    return pg.fresh_schema(postgres)


# --- a ledger with an injected clock, and the refusal helpers ------------------------------

T0 = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
"""The injected clock's starting time."""


class FakeClock(ManualClock):
    """The tests' injected clock: a :class:`~ledger.times.ManualClock` (it returns
    ``now`` until moved) that starts at :data:`T0` unless told otherwise."""

    def __init__(self, now: datetime = T0) -> None:
        super().__init__(now)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["memory", "file", "postgres"])
def book(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Ledger]:
    """A fresh ledger with an injected clock: in ``:memory:``, in a file, and in a new
    schema of the test session's PostgreSQL cluster (src/ledger/bench/pgcluster.py)."""
    path: str | Path = {
        "memory": ":memory:",
        "file": tmp_path / "x.db",
    }.get(request.param) or request.getfixturevalue("pg_dsn")
    ledger = Ledger.open(path, clock=clock)
    try:
        yield ledger
    finally:
        ledger.close()


@attrs.frozen
class Snapshot:
    head: tuple[int, str]
    balances: tuple[Any, ...]
    accounts: tuple[Any, ...]
    commands: int


def snapshot(book: Ledger) -> Snapshot:
    """Everything a rejected command must leave exactly as it was."""
    balances = tuple(book.balances())
    accounts = tuple(book.account(b.account) for b in balances)
    rows = book.store.execute("SELECT COUNT(*) FROM commands")  # type: ignore[attr-defined]
    return Snapshot(book.head(), balances, accounts, rows[0][0])


@contextmanager
def unchanged(book: Ledger) -> Iterator[Snapshot]:
    """Assert that the block leaves the ledger exactly as it found it."""
    before = snapshot(book)
    yield before
    after = snapshot(book)
    assert after == before, "a rejected command changed the ledger"


_attempts = itertools.count(1)


def assert_rejected(book: Ledger, command: Command, code: RejectCode) -> Rejected:
    """Submit ``command`` as a fresh attempt; assert it is rejected with ``code``, that
    nothing changed but the record of refusals, and that a retry gets the same answer.

    A refusal spends its id (a retry is answered with it), so each attempt here goes under
    an id of its own: ``command.id`` with a suffix, unless the id itself is what is wrong.
    Tests then reuse ``command.id`` for the attempt that should pass. (An id that is
    invalid, or that is refused as already used, is the point of the test and is kept.)
    """
    spent = code not in (RejectCode.ID_INVALID, RejectCode.IDEMPOTENCY_CONFLICT)
    if spent and is_valid_id(command.id) and len(command.id) <= 100:
        command = attrs.evolve(command, id=f"{command.id}.attempt-{next(_attempts)}")
    with unchanged(book):
        result = book.submit(command)
        assert isinstance(result, Rejected), f"expected {code}, got {result!r}"
        assert result.code is code, f"expected {code}, got {result.code}: {result.detail}"
        assert result.id == command.id
        assert result.detail
        if spent:
            assert book.submit(command) == attrs.evolve(result, replayed=True)
    return result


def assert_accepted(book: Ledger, command: Command) -> Accepted:
    """Submit ``command``; assert it is accepted with a new event (not a replay)."""
    head_before = book.head()[0]
    result = book.submit(command)
    assert isinstance(result, Accepted), f"expected Accepted, got {result!r}"
    assert result.id == command.id
    assert result.replayed is False
    assert result.seq > head_before
    assert book.head()[0] == result.seq
    return result


def open_account(
    book: Ledger,
    account: str,
    type: str = "liability",
    currency: str = "THB",
    **kwargs: Any,
) -> Accepted:
    return assert_accepted(
        book,
        OpenAccount(id=f"open-{account}", account=account, type=type, currency=currency, **kwargs),
    )


def post(book: Ledger, id: str, *legs: Debit | Credit, **kwargs: Any) -> Accepted:
    kwargs.setdefault("kind", "adjustment")
    return assert_accepted(book, PostEntry(id=id, postings=list(legs), **kwargs))


def entry(id: str, *legs: Debit | Credit, **kwargs: Any) -> PostEntry:
    kwargs.setdefault("kind", "adjustment")
    return PostEntry(id=id, postings=list(legs), **kwargs)


@pytest.fixture
def wallets(book: Ledger) -> Ledger:
    """A THB ledger: the trust bank account, two wallets with no_overdraft, a merchant,
    an income account and a USD pair for cross-currency checks."""
    specs: list[tuple[str, str, str, bool]] = [
        ("bank:trust", "asset", "THB", False),
        ("wallet:U1", "liability", "THB", True),
        ("wallet:U2", "liability", "THB", True),
        ("merchant:M1:payable", "liability", "THB", False),
        ("income:fees", "income", "THB", False),
        ("bank:usd", "asset", "USD", False),
        ("wallet:U1:usd", "liability", "USD", False),
    ]
    results = book.submit_many(
        [
            OpenAccount(id=f"open-{a}", account=a, type=t, currency=c, no_overdraft=n)
            for a, t, c, n in specs
        ]
    )
    assert results == [Accepted(f"open-{a}", seq) for seq, (a, *_) in enumerate(specs, 1)]
    return book


def top_up(book: Ledger, id: str, wallet: str, amount_minor: int) -> Accepted:
    return post(
        book,
        id,
        Debit("bank:trust", amount_minor),
        Credit(wallet, amount_minor),
        kind="top_up",
    )


def balance_of(book: Ledger, account: str) -> int:
    return book.balance(account).balance


# --- wallet flows ---------------------------------------------------------------------------


def open_wallet_accounts(book: Ledger, fx_currencies: tuple[str, ...] = ("USD",)) -> Ledger:
    """Open the ledger's chart (bank trust, fee income, FX positions for ``fx_currencies``),
    THB wallets ``wallet:U1`` and ``wallet:U2``, a USD wallet ``wallet:U3:usd``, merchant
    ``M1``, biller ``B1`` and agent ``A1``; all through the chart's own commands."""
    chart = book.chart
    results = book.open_chart(fx_currencies)
    assert all(isinstance(r, Accepted) and not r.replayed for r in results), results
    results = book.submit_many(
        [
            chart.open_wallet("wallet:U1"),
            chart.open_wallet("wallet:U2"),
            chart.open_wallet("wallet:U3:usd", "USD"),
            chart.open_merchant("M1"),
            chart.open_biller("B1"),
            chart.open_agent("A1"),
        ]
    )
    assert all(isinstance(r, Accepted) and not r.replayed for r in results), results
    return book


@pytest.fixture
def flows(book: Ledger) -> Ledger:
    """``book`` with the default chart and the accounts of :func:`open_wallet_accounts`."""
    return open_wallet_accounts(book)


def fund(book: Ledger, wallet: str, amount_minor: int) -> Accepted:
    """Top ``wallet`` up by bank transfer, no fee (a fresh command id each time)."""
    return assert_accepted(
        book,
        TopUp(
            id=f"fund-{book.head()[0]}",
            wallet=wallet,
            amount_minor=amount_minor,
            channel="bank",
        ),
    )


def leg(
    account: str,
    side: Side,
    amount_minor: int,
    currency: str = "THB",
    phase: Phase = "posted",
) -> Posting:
    """A stored posting, for comparing with ``event.postings``."""
    return Posting(
        account=account,
        side=side,
        amount_minor=amount_minor,
        currency=currency,
        phase=phase,
    )


def written(book: Ledger, command_id: str) -> list[RecordedEvent]:
    """Every event the command ``command_id`` wrote, in log order."""
    return [r for r in book.events() if r.command_id == command_id]


def only_event(book: Ledger, command_id: str) -> tuple[RecordedEvent, Event]:
    """The one event the command wrote, as the row and the decoded event."""
    [record] = written(book, command_id)
    return record, record.event


def counters(book: Ledger, account: str) -> tuple[int, int, int, int]:
    """``(balance, available, debits_pending, credits_pending)`` of the account."""
    b: Balance = book.balance(account)
    return b.balance, b.available, b.debits_pending, b.credits_pending
