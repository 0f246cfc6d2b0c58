"""The SQLite store: the store contract on a real file (WAL, durable) and ``:memory:``; then
what only SQLite has: append-only triggers, a gapless log, refusing foreign files, pragmas,
migrating an old file in place."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import (
    Accepted,
    Credit,
    Debit,
    FreezeAccount,
    Ledger,
    OpenAccount,
    Rejected,
    SchemaTooNew,
    StoreBusy,
    StoreCorrupt,
    StoreError,
)
from ledger.errors import RejectCode
from ledger.store.sqlite import SCHEMA_VERSION, SqliteStore
from tests.backends.contract import Clock, PersistentStoreContract, StoreContract
from tests.conftest import FakeClock, post, snapshot, top_up, unchanged


class TestSqliteFile(PersistentStoreContract):
    @pytest.fixture(autouse=True)
    def _dir(self, tmp_path: Path) -> None:
        self.path = tmp_path / "contract.db"

    def open_book(self, clock: Clock) -> Ledger:
        return Ledger.open(self.path, clock=clock)

    def reopen_book(self, book: Ledger, clock: Clock) -> Ledger:
        book.close()
        return Ledger.open(self.path, clock=clock)

    def test_append_only_triggers_refuse_raw_sql(self, book: Ledger) -> None:
        import sqlite3

        from tests.backends.contract import top_up

        book.submit(top_up("t1", "wallet:U1", 10))
        raw = sqlite3.connect(self.path)
        try:
            for sql in (
                "UPDATE events SET payload = x'00' WHERE seq = 1",
                "DELETE FROM events WHERE seq = 1",
                "UPDATE commands SET last_seq = 99",
                "DELETE FROM commands",
                "UPDATE account_postings SET amount_minor = 1",
                "DELETE FROM account_postings WHERE seq = 4",
            ):
                with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                    raw.execute(sql)
        finally:
            raw.close()
        assert book.head()[0] == 4


class TestSqliteMemory(StoreContract):
    def open_book(self, clock: Clock) -> Ledger:
        return Ledger.open(":memory:", clock=clock)


# --- the SQLite file: its own tests ---------------------------------------------------------


def _open(account: str, type_: str, no_overdraft: bool = False, id: str = "") -> OpenAccount:
    return OpenAccount(
        id=id or f"open-{account}",
        account=account,
        type=type_,
        currency="THB",
        no_overdraft=no_overdraft,
    )


def _seed(book: Ledger) -> None:
    """Five events: three accounts, a top-up of 100.00 and a payment of 25.00."""
    results = book.submit_many(
        [
            _open("bank:trust", "asset"),
            _open("wallet:U1", "liability", no_overdraft=True),
            _open("merchant:M1:payable", "liability"),
        ]
    )
    assert [r.seq for r in results if isinstance(r, Accepted)] == [1, 2, 3]
    top_up(book, "t-1", "wallet:U1", 10_000)
    post(book, "p-1", Debit("wallet:U1", 2_500), Credit("merchant:M1:payable", 2_500))


@pytest.fixture
def db(tmp_path: Path, clock: FakeClock) -> Iterator[Path]:
    """A closed ledger file with a few accounts and entries in it."""
    path = tmp_path / "x.db"
    with Ledger.open(path, clock=clock) as book:
        _seed(book)
    yield path


def _raw(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def _state(path: Path, clock: FakeClock) -> tuple[object, ...]:
    with Ledger.open(path, clock=clock) as book:
        snap = snapshot(book)
        events = [(r.seq, r.hash, r.payload) for r in book.events()]
    return snap, events


# --- append-only ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE events SET payload = x'00' WHERE seq = 4",
        "UPDATE events SET effective_at = effective_at - 1",
        "UPDATE events SET hash = hash WHERE seq = 1",
        "DELETE FROM events WHERE seq = (SELECT MAX(seq) FROM events)",
        "DELETE FROM events",
        "UPDATE commands SET digest = x'00'",
        "UPDATE commands SET last_seq = last_seq + 1 WHERE command_id = 't-1'",
        "DELETE FROM commands WHERE command_id = 't-1'",
        "DELETE FROM commands",
    ],
)
def test_update_and_delete_on_the_log_are_refused(db: Path, clock: FakeClock, sql: str) -> None:
    before = _state(db, clock)
    conn = _raw(db)
    try:
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(sql)
    finally:
        conn.close()
    assert _state(db, clock) == before


def test_an_insert_with_a_gap_in_seq_is_refused(db: Path, clock: FakeClock) -> None:
    before = _state(db, clock)
    conn = _raw(db)
    try:
        (head,) = conn.execute("SELECT MAX(seq) FROM events").fetchone()
        rest = conn.execute(
            "SELECT command_id, type, schema, recorded_at, effective_at, payload, hash"
            " FROM events WHERE seq = ?",
            (head,),
        ).fetchone()
        for seq in (head + 2, head + 100, head, 0, -1):
            with pytest.raises(sqlite3.DatabaseError, match="gapless"):
                conn.execute(
                    "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (seq, "forged:1", 1, *rest),
                )
    finally:
        conn.close()
    assert _state(db, clock) == before


def test_the_gapless_trigger_lets_head_plus_one_through(db: Path) -> None:
    # The control for the test above: the same row at head + 1 is not refused by the trigger.
    conn = _raw(db)
    try:
        (head,) = conn.execute("SELECT MAX(seq) FROM events").fetchone()
        rest = conn.execute(
            "SELECT command_id, type, schema, recorded_at, effective_at, payload, hash"
            " FROM events WHERE seq = ?",
            (head,),
        ).fetchone()
        conn.execute("BEGIN")
        conn.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (head + 1, "forged:1", 1, *rest),
        )
        assert conn.execute("SELECT MAX(seq) FROM events").fetchone() == (head + 1,)
        conn.execute("ROLLBACK")
    finally:
        conn.close()


# --- files that are not ours ---------------------------------------------------------------


def test_a_file_of_random_bytes_is_store_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(random.Random(7).randbytes(8192))
    with pytest.raises(StoreCorrupt):
        Ledger.open(path)
    assert path.read_bytes() == random.Random(7).randbytes(8192)


def test_a_text_file_is_store_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("this is not a database\n" * 100)
    with pytest.raises(StoreCorrupt):
        Ledger.open(path)


def test_a_sqlite_file_with_someone_elses_tables_is_store_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    conn = _raw(path)
    conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
    conn.execute("INSERT INTO users VALUES (1, 'somchai')")
    conn.close()
    with pytest.raises(StoreCorrupt, match="not a Satang ledger"):
        Ledger.open(path)
    conn = _raw(path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert tables == {"users"}
    finally:
        conn.close()


def test_a_schema_newer_than_this_code_is_schema_too_new(db: Path, clock: FakeClock) -> None:
    conn = _raw(db)
    conn.execute(
        "INSERT INTO schema_migrations VALUES (?, 'from the future', datetime('now'))",
        (SCHEMA_VERSION + 1,),
    )
    conn.close()
    with pytest.raises(SchemaTooNew, match="upgrade"):
        Ledger.open(db, clock=clock)
    # refusing did not touch the file
    conn = _raw(db)
    try:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    finally:
        conn.close()
    assert versions == [*range(1, SCHEMA_VERSION + 1), SCHEMA_VERSION + 1]


def test_schema_too_new_is_a_store_error() -> None:
    assert issubclass(SchemaTooNew, StoreError)
    assert issubclass(StoreCorrupt, StoreError)


@pytest.mark.parametrize("durability", ["bogus", "FULL", "off", ""])
def test_an_unknown_durability_is_a_store_error(tmp_path: Path, durability: str) -> None:
    with pytest.raises(StoreError, match="durability"):
        Ledger.open(tmp_path / "x.db", durability=durability)  # type: ignore[arg-type]
    assert not (tmp_path / "x.db").exists()


def test_an_event_that_does_not_decode_is_store_corrupt(db: Path, clock: FakeClock) -> None:
    # Only someone bypassing the triggers can do this; the reader must say so, not crash.
    conn = _raw(db)
    conn.execute("DROP TRIGGER events_no_update")
    conn.execute("UPDATE events SET payload = x'7b7d' WHERE seq = 4")
    conn.close()
    with Ledger.open(db, clock=clock) as book:
        assert [r.seq for r in book.events(limit=3)] == [1, 2, 3]
        with pytest.raises(StoreCorrupt, match="seq 4"):
            list(book.events())


def test_a_path_that_cannot_be_opened_is_a_store_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError):
        Ledger.open(tmp_path / "no-such-dir" / "x.db")
    with pytest.raises(StoreError):
        Ledger.open(tmp_path)  # a directory


# --- reopening -----------------------------------------------------------------------------


def test_reopening_a_file_gives_the_same_balances_and_head(db: Path, clock: FakeClock) -> None:
    with Ledger.open(db, clock=clock) as book:
        wallet = book.balance("wallet:U1")
        assert book.submit(FreezeAccount(id="f-1", account="merchant:M1:payable")) == Accepted(
            "f-1", 6
        )
        head = book.head()
        balances = book.balances()
    with Ledger.open(db, clock=clock) as again:
        assert again.head() == head
        assert again.balances() == balances
        assert again.balance("wallet:U1") == wallet
        assert wallet.balance == 7_500
        assert again.account("merchant:M1:payable").status == "frozen"
        # and it keeps going from where it stopped
        result = top_up(again, "t-2", "wallet:U1", 1)
        assert result.seq == head[0] + 1


def test_the_schema_is_recorded_once(db: Path, clock: FakeClock) -> None:
    with Ledger.open(db, clock=clock):
        pass
    conn = _raw(db)
    try:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    finally:
        conn.close()
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_a_write_by_another_connection_is_seen(db: Path, clock: FakeClock) -> None:
    with Ledger.open(db, clock=clock) as one, Ledger.open(db, clock=clock) as two:
        assert one.balance("wallet:U1").balance == 7_500
        top_up(two, "t-2", "wallet:U1", 500)
        assert one.balance("wallet:U1").balance == 8_000
        # the first connection's write cache must not be stale either
        with unchanged(one):
            result = one.submit(_open("wallet:U1", "asset", id="open-again"))
        assert isinstance(result, Rejected)
        assert result.code is RejectCode.ACCOUNT_EXISTS_DIFFERENT
        post(one, "p-2", Debit("wallet:U1", 8_000), Credit("merchant:M1:payable", 8_000))
        assert two.balance("wallet:U1").balance == 0
        assert one.head() == two.head()


# --- pragmas ---------------------------------------------------------------------------------


def _store(book: Ledger) -> SqliteStore:
    store = book.store
    assert isinstance(store, SqliteStore)
    return store


def test_wal_and_synchronous_full_by_default(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "x.db") as book:
        store = _store(book)
        assert store.execute("PRAGMA journal_mode") == [("wal",)]
        assert store.execute("PRAGMA synchronous") == [(2,)]  # FULL
        assert store.durability == "full"
    conn = _raw(tmp_path / "x.db")
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    finally:
        conn.close()


def test_synchronous_normal_when_asked(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "x.db", durability="normal") as book:
        store = _store(book)
        assert store.execute("PRAGMA journal_mode") == [("wal",)]
        assert store.execute("PRAGMA synchronous") == [(1,)]  # NORMAL


def test_busy_timeout_is_applied(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "x.db", busy_timeout_ms=1_234) as book:
        assert _store(book).execute("PRAGMA busy_timeout") == [(1_234,)]


def test_memory_ledgers_are_separate() -> None:
    with Ledger.open(":memory:") as a, Ledger.open(":memory:") as b:
        _seed(a)
        assert a.head()[0] == 5
        assert b.head()[0] == 0


def test_open_accepts_str_and_pathlike(tmp_path: Path) -> None:
    with Ledger.open(str(tmp_path / "a.db")) as a:
        _seed(a)
    with Ledger.open(tmp_path / "a.db") as b:
        assert b.balance("wallet:U1").balance == 7_500


def test_a_writer_held_up_past_the_busy_timeout_gets_store_busy(db: Path) -> None:
    holder = sqlite3.connect(db, isolation_level=None)
    with Ledger.open(db, busy_timeout_ms=50) as book:
        before = snapshot(book)
        holder.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(StoreBusy, match="busy timeout"):
                top_up(book, "t-busy", "wallet:U1", 100)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert snapshot(book) == before
        top_up(book, "t-busy", "wallet:U1", 100)  # the retry goes through once the lock is free
        assert snapshot(book).head[0] == before.head[0] + 1


def test_a_file_of_schema_1_is_migrated_in_place(tmp_path: Path, clock: FakeClock) -> None:
    """A ledger written before holds and tiers (schema 1) opens under schema 2: its
    postings read as posted, its accounts have no tier, the chain still verifies, and
    the new flows work on it."""
    from datetime import timedelta

    from ledger import PlaceHold
    from ledger.audit import verify
    from ledger.store import sqlite as sqlite_store

    db = tmp_path / "schema1.db"
    with Ledger.open(db, clock=clock) as old:
        old.submit_many([_open("bank:trust", "asset"), _open("wallet:U1", "liability", True)])
        top_up(old, "t1", "wallet:U1", 5_000)
        head = old.head()
    conn = _raw(db)  # take the file back to schema 1, as an older Satang wrote it
    try:
        conn.execute("ALTER TABLE account_postings DROP COLUMN phase")
        conn.execute("ALTER TABLE accounts DROP COLUMN tier")
        conn.execute("ALTER TABLE accounts DROP COLUMN subject")
        conn.execute("DROP TABLE subjects")
        conn.execute("DROP TABLE subject_keys")
        conn.execute("DROP TABLE refusals")
        conn.execute("DROP TABLE ledger_settings")
        conn.execute("CREATE INDEX events_command_id ON events (command_id)")
        conn.execute("DELETE FROM schema_migrations WHERE version >= 2")
        assert sqlite_store.MIGRATIONS[1][0] == 2
    finally:
        conn.close()
    with Ledger.open(db, clock=clock) as book:
        assert book.head() == head
        assert book.account("wallet:U1").tier is None
        assert verify(book).ok
        book.submit(
            PlaceHold(
                id="h1",
                hold="H1",
                wallet="wallet:U1",
                destination="bank:trust",
                amount_minor=2_000,
                expires_at=clock.now + timedelta(hours=1),
            )
        )
        assert book.balance("wallet:U1").available == 3_000
        assert verify(book).ok
    conn = _raw(db)
    try:
        phases = [r[0] for r in conn.execute("SELECT phase FROM account_postings ORDER BY seq")]
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations")]
    finally:
        conn.close()
    assert phases == ["posted", "posted", "pending", "pending"]
    assert versions == list(range(1, SCHEMA_VERSION + 1))


def test_account_changes_in_one_transaction_land_as_the_log_says() -> None:
    """Changes to one account in one transaction are merged in log order before they are
    written, whatever columns each change sets: the row ends as the last change left it."""
    import sqlite3

    from ledger.store.sql import _change_statements

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE accounts (id TEXT PRIMARY KEY, status TEXT, tier TEXT)")
    conn.executemany("INSERT INTO accounts VALUES (?, 'open', NULL)", [("a",), ("b",)])
    changes = [
        ("a", {"tier": "gold"}),
        ("b", {"status": "frozen"}),
        ("a", {"status": "frozen", "tier": None}),
        ("a", {"tier": "silver"}),
        ("b", {"status": "open"}),
    ]
    for sql, rows in _change_statements("accounts", "id", changes):
        conn.executemany(sql, rows)
    assert sorted(conn.execute("SELECT * FROM accounts")) == [
        ("a", "frozen", "silver"),
        ("b", "open", None),
    ]


def test_a_commands_events_are_found_without_an_index_by_command(tmp_path: Path) -> None:
    """The log keeps no index by command id (migration 4): the idempotency index's
    first..last seq finds each command's events, the same ones a scan by id finds."""
    import itertools

    from ledger.bench.workload import prepare, wallet_mix

    with Ledger.open(tmp_path / "mix.db") as book:
        prepare(book, 20, 2)
        book.submit_many(list(itertools.islice(wallet_mix(1, 20, 2, book.today()), 300)))
        store = book.store
        assert isinstance(store, SqliteStore)
        names = {name for (name,) in store.execute("SELECT name FROM sqlite_master")}
        assert "events_command_id" not in names
        scanned: dict[str, list[object]] = {}
        for record in book.events():
            scanned.setdefault(record.command_id, []).append(record.event)
        assert any(len(events) > 1 for events in scanned.values())
        with store.transaction(1_800_000_000_000_000, book.policy) as tx:
            for command_id, events in scanned.items():
                assert tx.command_events(command_id) == events, command_id
            assert tx.command_events("never-submitted") == []
