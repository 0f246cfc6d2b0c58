"""Hostile input and damaged files: a typed error or a Rejected, and nothing changed."""

from __future__ import annotations

import itertools
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from ledger import (
    Accepted,
    BatchTooLarge,
    Credit,
    Debit,
    InvalidCommand,
    Ledger,
    LedgerClosed,
    OpenAccount,
    PostEntry,
    RejectCode,
    StoreCorrupt,
    StoreError,
)
from tests.conftest import FakeClock, assert_rejected, snapshot, top_up


@pytest.fixture
def db(tmp_path: Path, clock: FakeClock) -> Path:
    path = tmp_path / "h.db"
    with Ledger.open(path, clock=clock) as book:
        book.submit_many(
            [
                OpenAccount(id="o1", account="bank:trust", type="asset", currency="THB"),
                OpenAccount(
                    id="o2",
                    account="wallet:U1",
                    type="liability",
                    currency="THB",
                    no_overdraft=True,
                ),
            ]
        )
        top_up(book, "t1", "wallet:U1", 5_000)
    return path


@pytest.mark.parametrize(
    "sql",
    [
        # a collision on (stream, version) would delete the old row without firing DELETE
        "INSERT OR REPLACE INTO events SELECT 4, stream, version, command_id, type, schema,"
        " recorded_at, effective_at, payload, hash FROM events WHERE seq = 3",
        "INSERT OR REPLACE INTO commands VALUES ('t1', x'00', 1, 1)",
        "INSERT OR REPLACE INTO account_postings SELECT account, seq, leg, side, 1,"
        " effective_at, 0, 1, 0, 0, phase FROM account_postings WHERE seq = 3 AND leg = 1",
    ],
)
def test_insert_or_replace_cannot_rewrite_history(db: Path, sql: str) -> None:
    raw = sqlite3.connect(db)
    before = raw.execute("SELECT * FROM events").fetchall()
    with pytest.raises(sqlite3.IntegrityError, match="REPLACE refused"):
        raw.execute(sql)
    assert raw.execute("SELECT * FROM events").fetchall() == before
    raw.close()


def test_a_file_with_someone_elses_schema_migrations_is_refused_untouched(
    tmp_path: Path,
) -> None:
    path = tmp_path / "other.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, dirty BOOLEAN)")
    raw.execute("INSERT INTO schema_migrations VALUES (1, 0)")
    raw.commit()
    raw.close()
    before = path.read_bytes()
    with pytest.raises(StoreCorrupt, match="not a Satang ledger"):
        Ledger.open(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.db"]  # no -wal, no -shm


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE accounts SET type = 'bogus' WHERE id = 'wallet:U1'",
        "UPDATE accounts SET credits_posted = 'lots' WHERE id = 'wallet:U1'",
        "UPDATE accounts SET metadata = '{not json' WHERE id = 'wallet:U1'",
        "UPDATE accounts SET max_balance_minor = 1.5 WHERE id = 'wallet:U1'",
    ],
)
def test_garbage_in_the_accounts_table_is_store_corrupt(db: Path, sql: str) -> None:
    raw = sqlite3.connect(db)
    raw.execute(sql)
    raw.commit()
    raw.close()
    with Ledger.open(db) as book:
        head = book.head()
        with pytest.raises(StoreCorrupt, match="wallet:U1"):
            book.balance("wallet:U1")
        with pytest.raises(StoreCorrupt):
            top_up(book, "t2", "wallet:U1", 1)
        assert book.head() == head


@pytest.mark.parametrize(
    "build",
    [
        lambda: PostEntry(id="e", kind="k", postings=[], memo="\ud800"),
        lambda: PostEntry(id="e", kind="k", postings=[], metadata={"a": "\udfff"}),
        lambda: PostEntry(id="e", kind="k", postings=[], metadata={"\ud800": "a"}),
        lambda: Debit("wallet:\ud800", 1),
        lambda: Credit("wallet:U1", 1, "TH\ud800"),
        lambda: OpenAccount(id="o\ud800", account="a", type="asset", currency="THB"),
    ],
)
def test_text_that_is_not_valid_unicode_is_refused_when_built(build: object) -> None:
    with pytest.raises(InvalidCommand, match="Unicode"):
        build()  # type: ignore[operator]


@pytest.mark.parametrize(
    "when",
    [
        datetime.max.replace(tzinfo=timezone(timedelta(hours=-14))),
        datetime.min.replace(tzinfo=timezone(timedelta(hours=14))),
    ],
)
def test_an_instant_beyond_the_calendar_is_effective_at_invalid(db: Path, when: datetime) -> None:
    with Ledger.open(db) as book:
        command = PostEntry(
            id="e-far",
            kind="top_up",
            postings=[Debit("bank:trust", 1), Credit("wallet:U1", 1)],
            effective_at=when,
            backdated=True,
        )
        assert_rejected(book, command, RejectCode.EFFECTIVE_AT_INVALID)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"busy_timeout_ms": "5"}, StoreError),
        ({"busy_timeout_ms": -1}, StoreError),
        ({"clock": 5}, InvalidCommand),
        ({"backdate_limit": 5}, InvalidCommand),
        ({"durability": "sometimes"}, StoreError),
    ],
)
def test_open_checks_its_arguments(tmp_path: Path, kwargs: dict[str, object], error: type) -> None:
    with pytest.raises(error):
        Ledger.open(tmp_path / "x.db", **kwargs)  # type: ignore[arg-type]


def test_misused_calls_raise_ledger_errors(db: Path) -> None:
    book = Ledger.open(db)
    before = snapshot(book)
    with pytest.raises(InvalidCommand):
        book.submit_many(None)  # type: ignore[arg-type]
    endless = (
        PostEntry(id=f"e{i}", kind="k", postings=[Debit("bank:trust", 1)])
        for i in itertools.count()
    )
    with pytest.raises(BatchTooLarge):
        book.submit_many(endless)
    for as_of in (2**64, -1, True, 1.5):
        with pytest.raises(InvalidCommand):
            book.balance("wallet:U1", as_of=as_of)  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand):
        list(book.events(after=2**64))
    assert snapshot(book) == before
    book.close()
    with pytest.raises(LedgerClosed), book:
        pass


def test_a_file_with_ledger_tables_but_no_mark_is_refused(db: Path) -> None:
    raw = sqlite3.connect(db)
    raw.execute("PRAGMA application_id = 0")
    raw.commit()
    raw.close()
    with pytest.raises(StoreCorrupt, match="not a Satang ledger"):
        Ledger.open(db)


def test_opening_a_current_ledger_writes_nothing(db: Path) -> None:
    before = db.read_bytes()
    with Ledger.open(db) as book:
        book.balance("wallet:U1")
        list(book.events())
    assert db.read_bytes() == before


def test_a_fast_clock_moves_recorded_at_but_not_other_writers_decisions(db: Path) -> None:
    fast = FakeClock(datetime(2031, 1, 1, tzinfo=UTC))
    now = FakeClock(datetime(2030, 1, 1, tzinfo=UTC))
    with Ledger.open(db, clock=fast) as a, Ledger.open(db, clock=now) as b:
        top_up(a, "t-fast", "wallet:U1", 1)
        entry = PostEntry(
            id="t-now",
            kind="top_up",
            postings=[Debit("bank:trust", 1), Credit("wallet:U1", 1)],
            effective_at=now.now,  # within b's policy window, by b's own clock
        )
        assert isinstance(b.submit(entry), Accepted)
        *_, x, y = list(b.events())
    assert y.recorded_at == x.recorded_at == fast.now  # the log's order of knowledge
    assert y.effective_at == now.now


def test_odd_values_in_commands_and_paths_raise_ledger_errors(tmp_path: Path) -> None:
    class Sneaky(str):
        pass

    with Ledger.open(tmp_path / "x.db") as book, pytest.raises(InvalidCommand, match="plain"):
        book.submit(PostEntry(id="e", kind=Sneaky("k"), postings=[]))
    with pytest.raises(StoreError, match="not a usable path"):
        Ledger.open("bad\0name.db")
