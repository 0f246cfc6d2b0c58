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
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import sqlite_utils

from ledger import crashpoints
from ledger.errors import (
    LedgerError,
    SchemaTooNew,
    StoreBusy,
    StoreCorrupt,
    StoreError,
)
from ledger.store.sql import READ_PAGE, SqlStore, SqlTransaction

Durability = Literal["full", "normal"]

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


class SqliteStore(SqlStore):
    """The SQLite backend of the store interface (:class:`ledger.store.base.Store`).

    Every failure of SQLite itself surfaces as a :class:`~ledger.errors.StoreError`
    (``StoreBusy``, ``StoreCorrupt``), never as a raw ``sqlite3`` exception.
    """

    _ERRORS = _SQLITE_ERRORS

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: Durability = "full",
        busy_timeout_ms: int = 5_000,
        create: bool = True,
    ) -> None:
        super().__init__()
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
        self._sql = self._conn
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

    # --- the write lock -----------------------------------------------------------------

    def _error(self, exc: BaseException) -> StoreError:
        return _store_error(exc, self.path)

    def _in_transaction(self) -> bool:
        return self._conn.in_transaction

    def _begin(self) -> None:
        """``BEGIN IMMEDIATE``: the write lock is taken before anything is read. The
        cache is proven fresh by ``PRAGMA data_version``, which moves when any other
        connection commits."""
        self._conn.execute("BEGIN IMMEDIATE")
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._forget()
            self._data_version = version

    def _commit(self) -> None:
        self._conn.execute("COMMIT")

    def _abort(self) -> None:
        self._conn.execute("ROLLBACK")

    def _stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        try:
            cursor = self._conn.execute(sql)
        except _SQLITE_ERRORS as exc:
            raise _store_error(exc, self.path) from exc
        try:
            while rows := cursor.fetchmany(READ_PAGE):
                yield from rows
        except _SQLITE_ERRORS as exc:
            raise _store_error(exc, self.path) from exc
        finally:
            cursor.close()

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


_SqliteTransaction = SqlTransaction
"""The write transaction (shared with PostgreSQL: :mod:`ledger.store.sql`)."""
