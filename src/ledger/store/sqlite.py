"""The SQLite store: one file (or ``:memory:``), WAL, one writer at a time.

* Every write is ``BEGIN IMMEDIATE``: the write lock is taken before anything is read,
  so decisions are made on state no other writer can change until we commit. Several
  processes may open the same file; they queue on the lock (``busy_timeout_ms``).
* Reads inside a write come from a cache of account rows that is proven fresh at
  ``BEGIN IMMEDIATE`` by ``PRAGMA data_version``: if any other connection committed since
  our last transaction, the cache is dropped and rows are read again.
* ``seq`` is assigned as head + 1 inside the lock, and a trigger refuses any other value,
  so the log is gapless; UPDATE and DELETE on ``events`` and ``commands`` are refused by
  triggers.
* ``durability="full"`` (the default) is ``synchronous=FULL``: an acknowledged command
  survives power loss. ``"normal"`` survives a process crash but may lose the last
  transactions on power loss, in exchange for fewer fsyncs.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import attrs
import msgspec
import sqlite_utils

from ledger import crashpoints
from ledger.accounts import Account, AccountStatus, AccountType, Counters
from ledger.errors import (
    LedgerError,
    SchemaTooNew,
    StoreBusy,
    StoreCorrupt,
    StoreError,
    UnknownEventType,
)
from ledger.events import (
    AccountClosed,
    AccountFrozen,
    AccountOpened,
    AccountUnfrozen,
    Event,
    MoneyEvent,
    PeriodClosed,
    TierAssigned,
    decode_event,
    encode_event,
)
from ledger.flows.base import NewEvent, Policy
from ledger.money import AMOUNT_MAX_MINOR
from ledger.store.base import (
    GENESIS_HASH,
    PostingRow,
    RecordedEvent,
    StoredCommand,
    chain_hash,
)
from ledger.times import from_us, to_us

Durability = Literal["full", "normal"]

ACCOUNT_CACHE_MAX = 200_000
"""Account rows kept between transactions; past this the cache starts over."""
READ_PAGE = 1_000
CACHE_KIB = 65_536
"""SQLite's page cache per connection (64 MiB): the hot accounts and index pages stay in it."""
WAL_AUTOCHECKPOINT_PAGES = 10_000
"""Checkpoint the WAL into the database file after this many pages (about 40 MiB) rather
than SQLite's default 1,000: fewer, larger checkpoints on the write path."""

_APPEND_ONLY = """
CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: UPDATE refused'); END;
CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
BEGIN SELECT RAISE(ABORT, '{table} is append-only: DELETE refused'); END;
CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table}
WHEN EXISTS (SELECT 1 FROM {table} WHERE {key})
BEGIN SELECT RAISE(ABORT, '{table} is append-only: that row exists (REPLACE refused)'); END;
"""
# INSERT OR REPLACE deletes the row it collides with, and SQLite fires no DELETE trigger
# for that unless recursive_triggers is on; the no_replace trigger refuses the collision.

MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "event log, idempotency index, inline balances",
        """
        CREATE TABLE events (
            seq          INTEGER PRIMARY KEY,
            stream       TEXT    NOT NULL,
            version      INTEGER NOT NULL CHECK (version >= 1),
            command_id   TEXT    NOT NULL,
            type         TEXT    NOT NULL,
            schema       INTEGER NOT NULL,
            recorded_at  INTEGER NOT NULL,
            effective_at INTEGER NOT NULL,
            payload      BLOB    NOT NULL,
            hash         BLOB    NOT NULL CHECK (length(hash) = 32),
            UNIQUE (stream, version)
        );
        CREATE INDEX events_command_id ON events (command_id);
        CREATE TRIGGER events_gapless BEFORE INSERT ON events
        WHEN NEW.seq IS NOT COALESCE((SELECT MAX(seq) FROM events), 0) + 1
        BEGIN SELECT RAISE(ABORT, 'events.seq must be the head + 1: the log is gapless'); END;
        """
        + _APPEND_ONLY.format(table="events", key="stream = NEW.stream AND version = NEW.version")
        + """
        CREATE TABLE commands (
            command_id TEXT    PRIMARY KEY,
            digest     BLOB    NOT NULL,
            first_seq  INTEGER NOT NULL,
            last_seq   INTEGER NOT NULL
        ) WITHOUT ROWID;
        """
        + _APPEND_ONLY.format(table="commands", key="command_id = NEW.command_id")
        + """
        CREATE TABLE accounts (
            id                TEXT    PRIMARY KEY,
            type              TEXT    NOT NULL,
            currency          TEXT    NOT NULL,
            no_overdraft      INTEGER NOT NULL,
            max_balance_minor INTEGER,
            status            TEXT    NOT NULL,
            metadata          TEXT    NOT NULL,
            opened_seq        INTEGER NOT NULL,
            debits_posted     INTEGER NOT NULL DEFAULT 0,
            credits_posted    INTEGER NOT NULL DEFAULT 0,
            debits_pending    INTEGER NOT NULL DEFAULT 0,
            credits_pending   INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE TABLE account_postings (
            account         TEXT    NOT NULL,
            seq             INTEGER NOT NULL,
            leg             INTEGER NOT NULL,
            side            TEXT    NOT NULL,
            amount_minor    INTEGER NOT NULL,
            effective_at    INTEGER NOT NULL,
            debits_posted   INTEGER NOT NULL,
            credits_posted  INTEGER NOT NULL,
            debits_pending  INTEGER NOT NULL,
            credits_pending INTEGER NOT NULL,
            PRIMARY KEY (account, seq, leg)
        ) WITHOUT ROWID;
        CREATE INDEX account_postings_effective ON account_postings (account, effective_at);
        """
        + _APPEND_ONLY.format(
            table="account_postings",
            key="account = NEW.account AND seq = NEW.seq AND leg = NEW.leg",
        ),
    ),
    (
        2,
        "holds (the phase of each posting) and KYC tiers on accounts",
        """
        ALTER TABLE account_postings ADD COLUMN phase TEXT NOT NULL DEFAULT 'posted'
            CHECK (phase IN ('posted', 'pending', 'released'));
        ALTER TABLE accounts ADD COLUMN tier TEXT;
        """,
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
APPLICATION_ID = 0x53415447
"""``PRAGMA application_id`` of a Satang file ("SATG"): how a file is known to be ours."""

_metadata_encoder = msgspec.json.Encoder(order="sorted")
_metadata_decoder = msgspec.json.Decoder(dict[str, str])


_SQLITE_ERRORS = (sqlite3.Error, UnicodeDecodeError)
"""What SQLite raises through Python: its own errors, and a ``UnicodeDecodeError`` when a
name or text in a damaged file is not UTF-8 (even inside SQLite's own error message)."""


def _store_error(exc: BaseException, path: str) -> StoreError:
    if isinstance(exc, UnicodeDecodeError):
        return StoreCorrupt(f"{path}: text in the file is not UTF-8 ({exc}); it is damaged")
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreBusy(
            f"{path}: another writer held the lock past the busy timeout ({text}); "
            "retry, or raise busy_timeout_ms"
        )
    if "not a database" in text or "malformed" in text or "no such" in text:
        return StoreCorrupt(f"{path}: {text}; this is not a readable Satang database")
    return StoreError(f"{path}: {text}")


class SqliteStore:
    """The SQLite backend of the store interface (:class:`ledger.store.base.Store`).

    Every failure of SQLite itself surfaces as a :class:`~ledger.errors.StoreError`
    (``StoreBusy``, ``StoreCorrupt``), never as a raw ``sqlite3`` exception.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: Durability = "full",
        busy_timeout_ms: int = 5_000,
        create: bool = True,
    ) -> None:
        if durability not in ("full", "normal"):
            raise StoreError(f"durability must be 'full' or 'normal', not {durability!r}")
        if type(busy_timeout_ms) is not int or busy_timeout_ms < 0:
            raise StoreError(f"busy_timeout_ms is an int >= 0, not {busy_timeout_ms!r}")
        self.path = os.fspath(path)
        self.durability = durability
        if not create and self.path != ":memory:" and not os.path.isfile(self.path):
            raise StoreError(f"{self.path}: no such ledger file")
        try:
            self._conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=busy_timeout_ms / 1000,
            )
        except _SQLITE_ERRORS as exc:
            raise _store_error(exc, self.path) from exc
        except ValueError as exc:  # a NUL in the path, for one
            raise StoreError(f"{self.path!r} is not a usable path: {exc}") from exc
        self._accounts: dict[str, tuple[Account, Counters]] = {}
        self._head: tuple[int, bytes, int] | None = None
        self._closed_us: int | None = None
        self._data_version = -1
        try:
            self._check_is_ledger(create)
            self._configure(busy_timeout_ms)
            self._migrate()
        except _SQLITE_ERRORS as exc:
            self._conn.close()
            raise _store_error(exc, self.path) from exc
        except StoreError:
            self._conn.close()
            raise

    # --- set-up -------------------------------------------------------------------------

    def _check_is_ledger(self, create: bool) -> None:
        """Refuse another application's database before changing anything in it.

        A Satang file is marked with ``PRAGMA application_id``; a file with tables but
        without the mark is someone else's, whatever its tables are called.
        """
        tables = set(sqlite_utils.Database(self._conn, execute_plugins=False).table_names())
        if not tables and not create:
            raise StoreCorrupt(f"{self.path} is empty: it holds no Satang ledger")
        if tables:
            mark = self._conn.execute("PRAGMA application_id").fetchone()[0]
            if mark != APPLICATION_ID or "events" not in tables:
                raise StoreCorrupt(
                    f"{self.path} holds tables {sorted(tables)[:5]} but is not a Satang "
                    "ledger; open a new file instead"
                )

    def _configure(self, busy_timeout_ms: int) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
        if self.path != ":memory:":
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{self.path}: could not switch to WAL (got {mode!r})")
        conn.execute(f"PRAGMA synchronous = {self.durability.upper()}")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")

    def _migrate(self) -> None:
        """Bring the file to SCHEMA_VERSION; a file already there is not written to (so a
        read-only copy opens, and an open costs no commit)."""
        tables = set(sqlite_utils.Database(self._conn, execute_plugins=False).table_names())
        if "schema_migrations" in tables:
            row = self._conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            if row[0] == SCHEMA_VERSION:
                return
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            row = self._conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            current = row[0] or 0
            if current == 0:
                self._conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            if type(current) is not int:
                raise StoreCorrupt(f"{self.path}: schema_migrations holds {current!r}")
            if current > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"{self.path} has schema {current}; this Satang knows up to "
                    f"{SCHEMA_VERSION}: upgrade the satang package"
                )
            for version, name, script in MIGRATIONS:
                if version > current:
                    for statement in _split_sql(script):
                        self._conn.execute(statement)
                    self._conn.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, datetime('now'))",
                        (version, name),
                    )
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise

    # --- the write transaction ----------------------------------------------------------

    @contextmanager
    def transaction(self, now_us: int, policy: Policy) -> Iterator[_SqliteTransaction]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``. ``recorded_at`` never goes back along the log:
        a clock behind the last event (another server's) records that event's time."""
        if self._conn.in_transaction:
            raise LedgerError(
                "a write cannot start inside a snapshot() of the same Ledger; leave the "
                "snapshot block first, or write through another Ledger"
            )
        try:
            self._conn.execute("BEGIN IMMEDIATE")
            version = self._conn.execute("PRAGMA data_version").fetchone()[0]
            if version != self._data_version:
                self._accounts.clear()
                self._head = None
                self._closed_us = None
                self._data_version = version
            tx = _SqliteTransaction(self, now_us, policy)
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, _SQLITE_ERRORS):
                raise _store_error(exc, self.path) from exc
            raise
        try:
            yield tx
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, _SQLITE_ERRORS):
                raise _store_error(exc, self.path) from exc
            raise
        if tx.aborted:
            self._rollback()
            return
        try:
            crashpoints.reach("before_insert")
            tx.flush()
            crashpoints.reach("before_commit")
            self._conn.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, _SQLITE_ERRORS):
                raise _store_error(exc, self.path) from exc
            raise
        crashpoints.reach("after_commit")
        if len(self._accounts) > ACCOUNT_CACHE_MAX:
            self._accounts.clear()

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        self._accounts.clear()
        self._head = None
        self._closed_us = None

    def _head_row(self) -> tuple[int, bytes, int]:
        """(seq, hash, recorded_at) of the last event, cached while proven fresh."""
        if self._head is None:
            row = self._conn.execute(
                "SELECT seq, hash, recorded_at FROM events ORDER BY seq DESC LIMIT 1"
            ).fetchone()
            if row is None:
                self._head = (0, GENESIS_HASH, 0)
            elif type(row[1]) is not bytes or type(row[2]) is not int:
                raise StoreCorrupt(f"{self.path}: the last event (seq {row[0]}) is damaged")
            else:
                self._head = (row[0], row[1], row[2])
        return self._head

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Hold one read snapshot of the whole database for the block: every read in it
        sees the last commit before it began, however long it runs. Not nested."""
        if self._conn.in_transaction:
            raise LedgerError("snapshot() is already open on this Ledger; it does not nest")
        self._read("BEGIN")
        try:
            self._read("SELECT 1 FROM events LIMIT 1")  # a WAL snapshot starts at a read
            yield
        finally:
            try:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")
            except sqlite3.ProgrammingError:  # the Ledger was closed inside the block
                pass
            except _SQLITE_ERRORS as exc:  # a damaged page found while reading
                raise _store_error(exc, self.path) from exc

    # --- reads --------------------------------------------------------------------------

    def _read(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        try:
            return self._conn.execute(sql, parameters).fetchall()
        except _SQLITE_ERRORS as exc:
            raise _store_error(exc, self.path) from exc

    def head(self) -> tuple[int, bytes]:
        rows = self._read("SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1")
        if not rows:
            return 0, GENESIS_HASH
        seq, digest = rows[0]
        if type(digest) is not bytes:
            raise StoreCorrupt(f"{self.path}: the hash of seq {seq} is not bytes", seq)
        return seq, digest

    def read_events(self, after: int = 0, limit: int = READ_PAGE) -> list[RecordedEvent]:
        rows = self._read(
            "SELECT seq, stream, version, command_id, type, schema, recorded_at,"
            " effective_at, payload, hash FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit),
        )
        return [_recorded(row, self.path) for row in rows]

    def read_streams(self, prefix: str) -> dict[str, list[RecordedEvent]]:
        if not prefix:
            raise ValueError("read_streams needs a non-empty stream prefix")
        rows = self._read(
            "SELECT seq, stream, version, command_id, type, schema, recorded_at,"
            " effective_at, payload, hash FROM events WHERE stream >= ? AND stream < ?"
            " ORDER BY stream, version",
            (prefix, _prefix_end(prefix)),
        )
        streams: dict[str, list[RecordedEvent]] = {}
        for row in rows:
            streams.setdefault(row[1], []).append(_recorded(row, self.path))
        return streams

    def account(self, account_id: str) -> Account | None:
        row = self._select_account(account_id)
        return None if row is None else row[0]

    def counters(self, account_id: str) -> Counters:
        row = self._select_account(account_id)
        return Counters() if row is None else row[1]

    def counters_at_seq(self, account_id: str, seq: int) -> Counters:
        rows = self._read(
            "SELECT debits_posted, credits_posted, debits_pending, credits_pending"
            " FROM account_postings WHERE account = ? AND seq <= ?"
            " ORDER BY seq DESC, leg DESC LIMIT 1",
            (account_id, seq),
        )
        return Counters() if not rows else _counters(rows[0], self.path)

    def counters_at_time(self, account_id: str, effective_at_us: int) -> Counters:
        rows = self._read(
            f"SELECT {_SUM_PHASE.format(side='debit', phase='posted')},"
            f" {_SUM_PHASE.format(side='credit', phase='posted')},"
            f" {_SUM_PHASE.format(side='debit', phase='pending')}"
            f" - {_SUM_PHASE.format(side='debit', phase='released')},"
            f" {_SUM_PHASE.format(side='credit', phase='pending')}"
            f" - {_SUM_PHASE.format(side='credit', phase='released')}"
            " FROM account_postings WHERE account = ? AND effective_at <= ?",
            (account_id, effective_at_us),
        )
        return _counters(rows[0], self.path)

    def posting_rows(self) -> Generator[PostingRow, None, None]:
        """One streaming cursor, sorted once (the table is keyed by account, not seq);
        closed when the iteration ends or is abandoned."""
        try:
            cursor = self._conn.execute(
                "SELECT account, seq, leg, side, amount_minor, effective_at, debits_posted,"
                " credits_posted, debits_pending, credits_pending, phase FROM account_postings"
                " ORDER BY seq, leg"
            )
        except _SQLITE_ERRORS as exc:
            raise _store_error(exc, self.path) from exc
        try:
            while rows := cursor.fetchmany(READ_PAGE):
                for row in rows:
                    yield PostingRow(
                        account=row[0],
                        seq=row[1],
                        leg=row[2],
                        side=row[3],
                        amount_minor=row[4],
                        effective_at_us=row[5],
                        counters=_counters(row[6:10], self.path),
                        phase=row[10],
                    )
        except _SQLITE_ERRORS as exc:
            raise _store_error(exc, self.path) from exc
        finally:
            cursor.close()

    def command_rows(self) -> Iterator[tuple[str, int, int]]:
        after = ""
        while True:
            rows = self._read(
                "SELECT command_id, first_seq, last_seq FROM commands WHERE command_id > ?"
                " ORDER BY command_id LIMIT ?",
                (after, READ_PAGE),
            )
            yield from rows
            if len(rows) < READ_PAGE:
                return
            after = rows[-1][0]

    def accounts(self) -> Iterator[tuple[Account, Counters]]:
        after = ""
        while True:
            rows = self._read(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id > ? ORDER BY id LIMIT ?",
                (after, READ_PAGE),
            )
            for row in rows:
                yield _account_row(row, self.path)
            if len(rows) < READ_PAGE:
                return
            after = rows[-1][0]

    def _select_account(self, account_id: str) -> tuple[Account, Counters] | None:
        rows = self._read(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ?", (account_id,))
        return None if not rows else _account_row(rows[0], self.path)

    def checkpoint(self) -> int:
        """Copy every committed page of the WAL into the database file and empty the WAL
        (``wal_checkpoint(TRUNCATE)``), e.g. before copying the file for a backup;
        return the pages copied. Readers and writers of other processes may hold it up
        (``busy_timeout_ms``); a crash in the middle loses nothing, since the WAL is only
        emptied after the file is synced."""
        crashpoints.reach("mid_checkpoint")
        rows = self._read("PRAGMA wal_checkpoint(TRUNCATE)")
        busy, _, copied = rows[0]
        if busy:
            raise StoreBusy(f"{self.path}: a reader or writer held the checkpoint up")
        return int(copied)

    def close(self) -> None:
        self._conn.close()

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run raw SQL on the store's connection (tests and audits; not for writes)."""
        return self._read(sql, parameters)


_ACCOUNT_COLUMNS = (
    "id, type, currency, no_overdraft, max_balance_minor, status, metadata,"
    " debits_posted, credits_posted, debits_pending, credits_pending, tier"
)
_SUM_PHASE = (
    "COALESCE(SUM(CASE WHEN side = '{side}' AND phase = '{phase}' THEN amount_minor END), 0)"
)


def _account_row(row: tuple[Any, ...], path: str) -> tuple[Account, Counters]:
    try:
        if not (type(row[0]) is str and type(row[2]) is str and type(row[3]) is int):
            raise ValueError("columns of the wrong types")
        if row[4] is not None and type(row[4]) is not int:
            raise ValueError("max_balance_minor is not an integer")
        if row[11] is not None and type(row[11]) is not str:
            raise ValueError("tier is not text")
        account = Account(
            id=row[0],
            type=AccountType(row[1]),
            currency=row[2],
            no_overdraft=bool(row[3]),
            max_balance_minor=row[4],
            status=AccountStatus(row[5]),
            metadata=_metadata_decoder.decode(row[6]),
            tier=row[11],
        )
    except (ValueError, TypeError, msgspec.MsgspecError) as exc:
        raise StoreCorrupt(f"{path}: the accounts row of {row[0]!r} is damaged ({exc})") from exc
    return account, _counters(row[7:11], f"{path}: account {row[0]!r}")


def _counters(values: Sequence[Any], where: str) -> Counters:
    if not all(type(v) is int and 0 <= v <= AMOUNT_MAX_MINOR for v in values):
        raise StoreCorrupt(f"{where}: a balance row holds {list(values)!r}, not four counters")
    return Counters(*values)


def _recorded(row: tuple[Any, ...], path: str) -> RecordedEvent:
    seq, stream, version, command_id, type_, schema, recorded_at, effective_at, payload, h = row
    if not (
        type(payload) is bytes
        and type(h) is bytes
        and type(stream) is str
        and type(command_id) is str
        and type(type_) is str
        and type(version) is int
        and type(schema) is int
        and type(recorded_at) is int
        and type(effective_at) is int
    ):
        raise StoreCorrupt(f"{path}: event seq {seq} has columns of the wrong types", seq)
    try:
        return RecordedEvent(
            seq=seq,
            stream=stream,
            version=version,
            command_id=command_id,
            type=type_,
            schema=schema,
            recorded_at=from_us(recorded_at),
            effective_at=from_us(effective_at),
            event=decode_event(type_, schema, payload),
            hash=h.hex(),
            payload=payload,
        )
    except UnknownEventType as exc:
        raise UnknownEventType(
            f"{path}: event seq {seq} cannot be read: {exc}", exc.event_type, exc.schema, seq
        ) from exc
    except (StoreCorrupt, ValueError, OverflowError) as exc:  # from_us out of range, too
        raise StoreCorrupt(f"{path}: event seq {seq} does not decode: {exc}", seq) from exc


def _prefix_end(prefix: str) -> str:
    """The least string after every string that starts with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _split_sql(script: str) -> list[str]:
    """Split a migration into statements, keeping trigger bodies (BEGIN … END;) whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements


class _SqliteTransaction:
    """One ``BEGIN IMMEDIATE`` transaction; implements the decide functions' ``State``.

    Writes are buffered and flushed with one ``executemany`` per table just before
    COMMIT (an account's counters are written once per transaction, however many
    postings touched it). Reads during the transaction see the buffer: accounts through
    the write-through cache, streams and commands through the dicts kept beside it.
    """

    def __init__(self, store: SqliteStore, now_us: int, policy: Policy) -> None:
        self._store = store
        self._conn = store._conn
        self._now_us = now_us
        # recorded_at never goes back along the log (so "known by time T" is a prefix of
        # it); decisions and default effective times use this writer's own clock.
        self._recorded_us = max(now_us, store._head_row()[2])
        self._policy = policy
        self.aborted = False
        self._events: list[tuple[Any, ...]] = []
        self._postings: list[tuple[Any, ...]] = []
        self._commands: list[tuple[Any, ...]] = []
        self._opened: list[tuple[Any, ...]] = []
        self._statuses: list[tuple[str, str]] = []
        self._touched: set[str] = set()
        self._tiers: list[tuple[str | None, str]] = []
        self._streams: dict[str, int] = {}
        self._by_command: dict[str, list[Event]] = {}
        self._by_stream: dict[str, list[Event]] = {}
        self._debits: dict[str, list[tuple[int, int]]] = {}

    @property
    def now_us(self) -> int:
        return self._now_us

    @property
    def policy(self) -> Policy:
        return self._policy

    @property
    def head_seq(self) -> int:
        return self._store._head_row()[0]

    def _cached(self, account_id: str) -> tuple[Account, Counters] | None:
        found = self._store._accounts.get(account_id)
        if found is None:
            found = self._store._select_account(account_id)
            if found is not None:
                self._store._accounts[account_id] = found
        return found

    def account(self, account_id: str) -> Account | None:
        found = self._cached(account_id)
        return None if found is None else found[0]

    def counters(self, account_id: str) -> Counters:
        found = self._cached(account_id)
        return Counters() if found is None else found[1]

    def stream_version(self, stream: str) -> int:
        version = self._streams.get(stream)
        if version is not None:
            return version
        row = self._conn.execute(
            "SELECT MAX(version) FROM events WHERE stream = ?", (stream,)
        ).fetchone()
        return int(row[0] or 0)

    def stream_events(self, stream: str) -> list[Event]:
        rows = self._conn.execute(
            "SELECT seq, stream, version, command_id, type, schema, recorded_at,"
            " effective_at, payload, hash FROM events WHERE stream = ? ORDER BY version",
            (stream,),
        ).fetchall()
        stored = [_recorded(row, self._store.path).event for row in rows]
        return stored + self._by_stream.get(stream, [])

    def latest_events(self, prefix: str) -> dict[str, Event]:
        if not prefix:
            raise ValueError("latest_events needs a non-empty stream prefix")
        upper = _prefix_end(prefix)
        rows = self._conn.execute(
            "SELECT seq, stream, version, command_id, type, schema, recorded_at,"
            " effective_at, payload, hash FROM events AS e"
            " WHERE stream >= ? AND stream < ?"
            " AND version = (SELECT MAX(version) FROM events WHERE stream = e.stream)"
            " ORDER BY stream",
            (prefix, upper),
        ).fetchall()
        latest = {row[1]: _recorded(row, self._store.path).event for row in rows}
        for stream, events in self._by_stream.items():
            if stream.startswith(prefix):
                latest[stream] = events[-1]
        return dict(sorted(latest.items()))

    def posted_debits_since(self, account_id: str, since_us: int) -> int:
        row = self._conn.execute(
            "SELECT COALESCE(SUM(amount_minor), 0) FROM account_postings"
            " WHERE account = ? AND effective_at >= ? AND side = 'debit' AND phase = 'posted'",
            (account_id, since_us),
        ).fetchone()
        buffered = sum(n for at, n in self._debits.get(account_id, ()) if at >= since_us)
        return int(row[0]) + buffered

    def command_events(self, command_id: str) -> list[Event]:
        events = self._by_command.get(command_id)
        if events is not None:
            return events
        rows = self._conn.execute(
            "SELECT seq, stream, version, command_id, type, schema, recorded_at,"
            " effective_at, payload, hash FROM events WHERE command_id = ? ORDER BY seq",
            (command_id,),
        ).fetchall()
        return [_recorded(row, self._store.path).event for row in rows]

    @property
    def closed_through_us(self) -> int:
        store = self._store
        if store._closed_us is None:
            rows = self._conn.execute(
                "SELECT seq, stream, version, command_id, type, schema, recorded_at,"
                " effective_at, payload, hash FROM events WHERE stream = 'periods'"
                " ORDER BY version DESC LIMIT 1"
            ).fetchall()
            last = _recorded(rows[0], store.path).event if rows else None
            store._closed_us = to_us(last.through) if isinstance(last, PeriodClosed) else 0
        return store._closed_us

    def find_commands(self, command_ids: Sequence[str]) -> dict[str, StoredCommand]:
        found: dict[str, StoredCommand] = {}
        unique = list(dict.fromkeys(command_ids))
        for i in range(0, len(unique), _IN_CHUNK):
            chunk = unique[i : i + _IN_CHUNK]
            marks = ",".join("?" * len(chunk))
            for cid, digest, first, last in self._conn.execute(
                "SELECT command_id, digest, first_seq, last_seq FROM commands"
                f" WHERE command_id IN ({marks})",
                chunk,
            ):
                if type(digest) is not bytes or type(first) is not int or type(last) is not int:
                    raise StoreCorrupt(f"{self._store.path}: the index row of {cid!r} is damaged")
                found[cid] = StoredCommand(digest, first, last)
        return found

    def abort(self) -> None:
        self.aborted = True

    def append(self, command_id: str, digest: bytes, events: Sequence[NewEvent]) -> int:
        seq, previous, _ = self._store._head_row()
        first_seq = seq + 1
        for new in events:
            seq += 1
            event = new.event
            type_ = event.__struct_config__.tag
            assert isinstance(type_, str)
            payload = encode_event(event)
            previous = chain_hash(
                previous,
                seq,
                new.stream,
                new.version,
                command_id,
                type_,
                event.SCHEMA,
                self._recorded_us,
                new.effective_at_us,
                payload,
            )
            self._events.append(
                (
                    seq,
                    new.stream,
                    new.version,
                    command_id,
                    type_,
                    event.SCHEMA,
                    self._recorded_us,
                    new.effective_at_us,
                    payload,
                    previous,
                )
            )
            self._streams[new.stream] = new.version
            if isinstance(event, PeriodClosed):
                self._store._closed_us = to_us(event.through)
            self._by_command.setdefault(command_id, []).append(event)
            self._by_stream.setdefault(new.stream, []).append(event)
            self._project(seq, new)
        self._store._head = (seq, previous, self._recorded_us)
        self._commands.append((command_id, digest, first_seq, seq))
        return seq

    def _project(self, seq: int, new: NewEvent) -> None:
        """The inline balance projection: fold one event into accounts and postings."""
        event = new.event
        cache = self._store._accounts
        if isinstance(event, MoneyEvent):
            for leg, p in enumerate(event.postings):
                account, counters = self._must(p.account)
                counters = counters.add(p.side, p.amount_minor, p.phase)
                cache[p.account] = (account, counters)
                self._touched.add(p.account)
                if p.side == "debit" and p.phase == "posted":
                    self._debits.setdefault(p.account, []).append(
                        (new.effective_at_us, p.amount_minor)
                    )
                self._postings.append(
                    (
                        p.account,
                        seq,
                        leg,
                        p.side,
                        p.amount_minor,
                        new.effective_at_us,
                        counters.debits_posted,
                        counters.credits_posted,
                        counters.debits_pending,
                        counters.credits_pending,
                        p.phase,
                    )
                )
        elif isinstance(event, AccountOpened):
            self._opened.append(
                (
                    event.account,
                    event.account_type,
                    event.currency,
                    int(event.no_overdraft),
                    event.max_balance_minor,
                    _metadata_encoder.encode(event.metadata).decode(),
                    seq,
                )
            )
            cache[event.account] = (
                Account(
                    id=event.account,
                    type=AccountType(event.account_type),
                    currency=event.currency,
                    no_overdraft=event.no_overdraft,
                    max_balance_minor=event.max_balance_minor,
                    status=AccountStatus.OPEN,
                    metadata=dict(event.metadata),
                ),
                Counters(),
            )
        elif isinstance(event, AccountFrozen | AccountUnfrozen | AccountClosed):
            status = _STATUS_AFTER[type(event)]
            account, counters = self._must(event.account)
            cache[event.account] = (attrs.evolve(account, status=status), counters)
            self._statuses.append((status.value, event.account))
        elif isinstance(event, TierAssigned):
            account, counters = self._must(event.account)
            cache[event.account] = (attrs.evolve(account, tier=event.tier), counters)
            self._tiers.append((event.tier, event.account))

    def _must(self, account_id: str) -> tuple[Account, Counters]:
        found = self._cached(account_id)
        if found is None:  # decide checked every account; this is our own bug
            raise StoreCorrupt(f"an event names {account_id!r}, which has no accounts row")
        return found

    def flush(self) -> None:
        """Write the buffer: one statement per table, in an order the triggers accept."""
        conn = self._conn
        conn.executemany(
            "INSERT INTO accounts (id, type, currency, no_overdraft, max_balance_minor,"
            " status, metadata, opened_seq) VALUES (?, ?, ?, ?, ?, 'open', ?, ?)",
            self._opened,
        )
        conn.executemany("UPDATE accounts SET status = ? WHERE id = ?", self._statuses)
        conn.executemany("UPDATE accounts SET tier = ? WHERE id = ?", self._tiers)
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._events)
        conn.executemany(
            "INSERT INTO account_postings (account, seq, leg, side, amount_minor, effective_at,"
            " debits_posted, credits_posted, debits_pending, credits_pending, phase)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self._postings,
        )
        conn.executemany("INSERT INTO commands VALUES (?, ?, ?, ?)", self._commands)
        cache = self._store._accounts
        conn.executemany(
            "UPDATE accounts SET debits_posted = ?, credits_posted = ?,"
            " debits_pending = ?, credits_pending = ? WHERE id = ?",
            [
                (c.debits_posted, c.credits_posted, c.debits_pending, c.credits_pending, a)
                for a, c in ((a, cache[a][1]) for a in sorted(self._touched))
            ],
        )


_IN_CHUNK = 500
_STATUS_AFTER = {
    AccountFrozen: AccountStatus.FROZEN,
    AccountUnfrozen: AccountStatus.OPEN,
    AccountClosed: AccountStatus.CLOSED,
}
