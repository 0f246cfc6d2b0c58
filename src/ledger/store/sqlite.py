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
* Every write first takes the file's fair write lock (:mod:`ledger.store.writelock`),
  then ``BEGIN IMMEDIATE``. Reads run on connections of their own (a small pool), beside
  the writer, and take no lock: in WAL mode a reader sees the last commit before its
  read began, never a write in flight.
* Files are private: a new ledger is created ``0600`` whatever the umask, and SQLite
  gives its ``-wal`` and ``-shm`` the mode of the database file.
* ``readonly=True`` writes nothing: no migration, no ``-wal``/``-shm`` where the copy is
  read-only (no write bit on the file or its folder: then SQLite reads it as immutable).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Literal
from urllib.parse import quote

import sqlite_utils

from ledger import crashpoints
from ledger.errors import (
    LedgerError,
    SchemaTooNew,
    StoreBusy,
    StoreCorrupt,
    StoreError,
    shown,
)
from ledger.store.sql import READ_PAGE, SqlStore, SqlTransaction
from ledger.store.writelock import WriteLock

Durability = Literal["full", "normal"]

CACHE_KIB = 65_536
"""SQLite's page cache per connection (64 MiB): the hot accounts and index pages stay in it."""
READER_CACHE_KIB = 16_384
"""The page cache of each reading connection (16 MiB)."""
READERS_KEPT = 8
"""Idle reading connections kept open for the next read."""
FILE_MODE = 0o600
"""A new ledger file's permissions: its owner's alone (SQLite gives ``-wal`` and ``-shm``
the same)."""
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
    (
        3,
        "the record of refusals, and the ledger settings (its time zone)",
        """
        CREATE TABLE refusals (
            n           INTEGER PRIMARY KEY,
            command_id  TEXT    NOT NULL UNIQUE,
            digest      BLOB    NOT NULL,
            code        TEXT    NOT NULL,
            subject     TEXT    NOT NULL,
            detail      TEXT    NOT NULL,
            recorded_at INTEGER NOT NULL,
            head_seq    INTEGER NOT NULL,
            hash        BLOB    NOT NULL CHECK (length(hash) = 32)
        );
        CREATE TRIGGER refusals_gapless BEFORE INSERT ON refusals
        WHEN NEW.n IS NOT COALESCE((SELECT MAX(n) FROM refusals), 0) + 1
        BEGIN SELECT RAISE(ABORT, 'refusals.n must be the last + 1: the record is gapless'); END;
        """
        # a REPLACE colliding on n is refused by refusals_gapless (n is never last + 1)
        + _APPEND_ONLY.format(table="refusals", key="command_id = NEW.command_id")
        + """
        CREATE TABLE ledger_settings (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;
        """
        + _APPEND_ONLY.format(table="ledger_settings", key="key = NEW.key"),
    ),
    (
        4,
        "no index of the log by command id: commands holds the seqs of each command",
        # the one reader of the log by command id (Reverse) finds its events through the
        # idempotency index's first_seq..last_seq: the index cost every event 28 bytes and
        # a random write, and paid for one lookup
        """
        DROP INDEX events_command_id;
        """,
    ),
    (
        5,
        "event payloads of schema 2, the compact encoding: older code must not open the file",
        # no table changes: the version alone makes a package that cannot decode the
        # compact payloads refuse the file when it opens it, not fail at the first one
        """
        SELECT 1;
        """,
    ),
    (
        6,
        "subjects: the customer of each account, the key store of their data keys",
        # subject_keys is the one table rows leave (an erasure deletes its subject's key,
        # with secure_delete on and the WAL truncated after): not append-only
        """
        ALTER TABLE accounts ADD COLUMN subject TEXT;
        CREATE TABLE subjects (
            subject        TEXT    PRIMARY KEY,
            accounts       INTEGER NOT NULL,
            open_accounts  INTEGER NOT NULL,
            last_closed_at INTEGER,
            erased_seq     INTEGER
        ) WITHOUT ROWID;
        CREATE TABLE subject_keys (
            subject TEXT PRIMARY KEY,
            key_id  TEXT NOT NULL,
            wrapped BLOB NOT NULL
        ) WITHOUT ROWID;
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


def create_private(path: str) -> None:
    """Create ``path`` empty with mode ``0600`` if it does not exist (whatever the umask),
    so SQLite, which gives ``-wal`` and ``-shm`` the database file's mode, makes them
    private too."""
    if path == ":memory:" or path.startswith("file:"):
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        return
    except OSError:
        return  # a folder we cannot write to: sqlite3.connect says so in its own words
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def is_readonly_copy(path: str) -> bool:
    """A file nobody may write (no write bit on it) or in a folder nobody may write: an
    auditor's copy. Judged by the mode bits, not by ``access()``, which says yes to root."""
    write = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
    folder = os.path.dirname(os.path.abspath(path))
    try:
        return not (os.stat(path).st_mode & write and os.stat(folder).st_mode & write)
    except OSError:
        return False


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
        readonly: bool = False,
    ) -> None:
        super().__init__()
        if durability not in ("full", "normal"):
            raise StoreError(f"durability must be 'full' or 'normal', not {durability!r}")
        if type(busy_timeout_ms) is not int or busy_timeout_ms < 0:
            raise StoreError(f"busy_timeout_ms is an int >= 0, not {busy_timeout_ms!r}")
        try:
            self.path = os.fspath(path)
        except TypeError as exc:
            raise StoreError(f"a ledger's path is a str or a path, not {type(path)}") from exc
        self.durability = durability
        self.readonly = readonly
        self.busy_timeout_ms = busy_timeout_ms
        self.created = False
        """Whether this open made the ledger (a new file, or an empty one)."""
        self.schema_version = SCHEMA_VERSION
        """The schema the file is at (older only when opened read-only, unmigrated)."""
        memory = self.path == ":memory:"
        if "\x00" in self.path:
            raise StoreError(f"{shown(self.path)} is not a usable path: it holds a NUL")
        if (not create or readonly) and not memory and not os.path.isfile(self.path):
            raise StoreError(f"{shown(self.path)}: no such ledger file")
        if readonly and memory:
            raise StoreError("a ':memory:' ledger cannot be opened read-only: it is empty")
        self.absolute_path = self.path if memory else os.path.abspath(self.path)
        """The file as it was when opened: a relative ``path`` names another after a
        ``chdir``, and the audit's own connections and second process open this one."""
        self.concurrent_reads = not memory
        self._local = threading.local()
        self._idle: list[sqlite3.Connection] = []
        self._closed = False
        self._lock: WriteLock | None = None
        if readonly:
            self._uri = self._readonly_uri()
        else:
            self._uri = "file::memory:" if memory else _file_uri(self.path, "")
            if not memory:
                create_private(self.path)
        try:
            self._conn = self._connect(self._uri)
        except _SQLITE_ERRORS as exc:
            raise _store_error(exc, self.path) from exc
        self._sql = self._conn
        self._data_version = -1
        try:
            self._check_is_ledger(create and not readonly)
            self._configure()
            if readonly:
                self._check_readable()
            else:
                if not memory:
                    self._lock = WriteLock(self.path)
                self._migrate()
        except _SQLITE_ERRORS as exc:
            self.close()
            raise _store_error(exc, self.path) from exc
        except StoreError:
            self.close()
            raise

    # --- set-up -------------------------------------------------------------------------

    def _readonly_uri(self) -> str:
        """``mode=ro`` for a live ledger (SQLite reads its WAL through the ``-shm``), and
        ``immutable=1`` for a read-only copy without one, so nothing is created beside it."""
        if not is_readonly_copy(self.path):
            return _file_uri(self.path, "mode=ro")
        wal = f"{self.path}-wal"
        if os.path.exists(wal) and os.path.getsize(wal) > 0:
            if os.path.exists(f"{self.path}-shm"):
                return _file_uri(self.path, "mode=ro")
            raise StoreError(
                f"{shown(self.path)} is a read-only copy with a write-ahead log (-wal) but no "
                "-shm: copy it with its -shm, or copy the live ledger after a checkpoint "
                "(Ledger.store.checkpoint(), which empties the -wal), or into a folder you may "
                "write"
            )
        return _file_uri(self.path, "immutable=1")

    def _connect(self, uri: str) -> sqlite3.Connection:
        return sqlite3.connect(
            uri,
            uri=True,
            isolation_level=None,
            check_same_thread=False,
            timeout=self.busy_timeout_ms / 1000,
        )

    def _check_is_ledger(self, create: bool) -> None:
        """Refuse another application's database before changing anything in it.

        A Satang file is marked with ``PRAGMA application_id``; a file with tables but
        without the mark is someone else's, whatever its tables are called.
        """
        tables = set(sqlite_utils.Database(self._conn, execute_plugins=False).table_names())
        if not tables and not create:
            raise StoreCorrupt(f"{shown(self.path)} is empty: it holds no Satang ledger")
        if tables:
            mark = self._conn.execute("PRAGMA application_id").fetchone()[0]
            if mark != APPLICATION_ID or "events" not in tables:
                raise StoreCorrupt(
                    f"{shown(self.path)} holds tables {sorted(tables)[:5]} but is not a Satang "
                    "ledger; open a new file instead"
                )
        self.created = not tables

    def _configure(self) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
        if self.path != ":memory:" and not self.readonly:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{self.path}: could not switch to WAL (got {mode!r})")
        conn.execute(f"PRAGMA synchronous = {self.durability.upper()}")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        # what an erasure deletes (a subject's data key) is overwritten with zeros
        conn.execute("PRAGMA secure_delete = ON")

    def _schema_version(self) -> int | None:
        tables = set(sqlite_utils.Database(self._conn, execute_plugins=False).table_names())
        if "schema_migrations" not in tables:
            return None
        version = self._conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
        if version is not None and type(version) is not int:
            raise StoreCorrupt(f"{self.path}: schema_migrations holds {version!r}")
        return version

    def _check_readable(self) -> None:
        """A read-only open migrates nothing: a file of an older schema is read as it is
        (what it lacks, such as the record of refusals, reads as empty)."""
        version = self._schema_version() or 0
        if version > SCHEMA_VERSION:
            raise SchemaTooNew(
                f"{self.path} has schema {version}; this Satang knows up to "
                f"{SCHEMA_VERSION}: upgrade the satang package"
            )
        self.schema_version = version
        self.has_refusals = version >= 3
        self.has_subjects = version >= 6

    @property
    def read_uri(self) -> str:
        """A URI that opens this ledger read-only, as this store reads it (``immutable``
        for a read-only copy), for a connection of one's own (an audit's)."""
        return self._uri if self.readonly else _file_uri(self.absolute_path, "mode=ro")

    def _migrate(self) -> None:
        """Bring the file to SCHEMA_VERSION; a file already there is not written to (so an
        open costs no commit)."""
        if self._schema_version() == SCHEMA_VERSION:
            return
        with self._write_lock():
            current = migrate(self._conn, MIGRATIONS)
            if current > SCHEMA_VERSION:
                raise SchemaTooNew(
                    f"{self.path} has schema {current}; this Satang knows up to "
                    f"{SCHEMA_VERSION}: upgrade the satang package"
                )

    # --- the write lock -----------------------------------------------------------------

    def _error(self, exc: BaseException) -> StoreError:
        return _store_error(exc, self.path)

    def _write_lock(self) -> AbstractContextManager[None]:
        """The file's fair write lock (none for ``:memory:``, which one process owns)."""
        if self._lock is None:
            return super()._write_lock()
        return self._lock.hold(self.busy_timeout_ms / 1000)

    def _in_transaction(self) -> bool:
        return self._conn.in_transaction

    def _in_snapshot(self) -> bool:
        return getattr(self._local, "snapshot", None) is not None or (
            not self.concurrent_reads and self._conn.in_transaction
        )

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

    def _shred(self) -> bool:
        """Empty the WAL (``wal_checkpoint(TRUNCATE)``) once an erasure has committed:
        the pages it rewrote (the key store's, zeroed by ``secure_delete``) go into the
        file, and every older copy of them, in frames the WAL would otherwise keep until
        they are written over, is cut off with it. False if a reader of another process
        held it up: it is tried again after the next commit, and on close."""
        if self.path == ":memory:":
            return True
        try:
            busy = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        except _SQLITE_ERRORS:
            return False
        return not busy

    # --- reads --------------------------------------------------------------------------

    @contextmanager
    def _reader(self) -> Iterator[Any]:
        """This thread's snapshot connection if it holds one; else a pooled reading
        connection (the writer's own for ``:memory:``, where the ``Ledger`` serialises
        reads with writes)."""
        held = getattr(self._local, "snapshot", None)
        if held is not None or not self.concurrent_reads:
            yield held if held is not None else self._conn
            return
        if self._closed:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        try:
            conn = self._idle.pop()
        except IndexError:
            conn = self._connect(self._uri)
            conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
            conn.execute("PRAGMA query_only = 1")
            conn.execute(f"PRAGMA synchronous = {self.durability.upper()}")
            conn.execute(f"PRAGMA cache_size = -{READER_CACHE_KIB}")
        try:
            yield conn
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if self._closed or len(self._idle) >= READERS_KEPT:
                conn.close()
            else:
                self._idle.append(conn)

    def _stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        with self._reader() as conn:
            try:
                cursor = conn.execute(sql)
            except _SQLITE_ERRORS as exc:
                raise _store_error(exc, self.path) from exc
            try:
                while rows := cursor.fetchmany(READ_PAGE):
                    yield from rows
            except _SQLITE_ERRORS as exc:
                raise _store_error(exc, self.path) from exc
            finally:
                cursor.close()

    def holds_snapshot(self) -> bool:
        return getattr(self._local, "snapshot", None) is not None

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Hold one read snapshot of the whole database for the block, on this thread:
        every read in it sees the last commit before it began, however long it runs.
        Writers (this ``Ledger``'s other threads, other processes) go on. Not nested."""
        if self._in_snapshot():
            raise LedgerError("snapshot() is already open on this Ledger; it does not nest")
        with self._reader() as conn:
            try:
                conn.execute("BEGIN")
                conn.execute("SELECT 1 FROM events LIMIT 1")  # a WAL snapshot starts at a read
            except _SQLITE_ERRORS as exc:
                raise _store_error(exc, self.path) from exc
            self._local.snapshot = conn
            try:
                yield
            finally:
                self._local.snapshot = None
                try:
                    if conn.in_transaction:
                        conn.execute("COMMIT")
                except sqlite3.ProgrammingError:  # the Ledger was closed inside the block
                    pass
                except _SQLITE_ERRORS as exc:  # a damaged page found while reading
                    raise _store_error(exc, self.path) from exc

    def checkpoint(self) -> int:
        """Copy every committed page of the WAL into the database file and empty the WAL
        (``wal_checkpoint(TRUNCATE)``), e.g. before copying the file for a backup;
        return the pages copied. It takes the write lock (writers wait for it) on a
        connection of its own; readers of other processes may hold it up
        (``busy_timeout_ms``); a crash in the middle loses nothing, since the WAL is only
        emptied after the file is synced."""
        if self.readonly:
            raise StoreError(f"{self.path} was opened read-only (readonly=True): no checkpoint")
        crashpoints.reach("mid_checkpoint")
        with self._write_lock():
            try:
                conn = self._connect(self._uri)
            except _SQLITE_ERRORS as exc:
                raise _store_error(exc, self.path) from exc
            try:
                conn.execute(f"PRAGMA busy_timeout = {self.busy_timeout_ms}")
                busy, _, copied = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            except _SQLITE_ERRORS as exc:
                raise _store_error(exc, self.path) from exc
            finally:
                conn.close()
        if busy:
            raise StoreBusy(f"{self.path}: a reader or writer held the checkpoint up")
        return int(copied)

    def close(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()
        if self._shred_pending:
            self._shred()
        self._conn.close()
        if self._lock is not None:
            self._lock.close()


def migrate(conn: sqlite3.Connection, migrations: Sequence[tuple[int, str, str]]) -> int:
    """Run, in one transaction on ``conn``, every migration newer than the version
    ``schema_migrations`` records; return the version the file had (a newer one than
    these migrations know is left alone, for the caller to refuse)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        current = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0] or 0
        if type(current) is not int:
            raise StoreCorrupt(f"schema_migrations holds {current!r}")
        if current == 0:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        if current <= max((m[0] for m in migrations), default=0):
            for version, name, script in migrations:
                if version > current:
                    for statement in _split_sql(script):
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, datetime('now'))",
                        (version, name),
                    )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return current


def _file_uri(path: str, query: str) -> str:
    uri = "file:" + quote(os.path.abspath(path))
    return f"{uri}?{query}" if query else uri


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
