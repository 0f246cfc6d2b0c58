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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import attrs
import msgspec
import sqlite_utils

from ledger.accounts import Account, AccountStatus, AccountType, Counters
from ledger.errors import SchemaTooNew, StoreBusy, StoreCorrupt, StoreError
from ledger.events import (
    AccountClosed,
    AccountFrozen,
    AccountOpened,
    AccountUnfrozen,
    Event,
    MoneyEvent,
    decode_event,
    encode_event,
)
from ledger.flows.base import NewEvent, Policy
from ledger.store.base import (
    GENESIS_HASH,
    RecordedEvent,
    StoredCommand,
    chain_hash,
    from_us,
)

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
"""

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
        + _APPEND_ONLY.format(table="events")
        + """
        CREATE TABLE commands (
            command_id TEXT    PRIMARY KEY,
            digest     BLOB    NOT NULL,
            first_seq  INTEGER NOT NULL,
            last_seq   INTEGER NOT NULL
        ) WITHOUT ROWID;
        """
        + _APPEND_ONLY.format(table="commands")
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
        + _APPEND_ONLY.format(table="account_postings"),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]

_metadata_encoder = msgspec.json.Encoder(order="sorted")
_metadata_decoder = msgspec.json.Decoder(dict[str, str])


def _store_error(exc: sqlite3.Error, path: str) -> StoreError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreBusy(
            f"{path}: another writer held the lock past the busy timeout ({text}); "
            "retry, or raise busy_timeout_ms"
        )
    if "not a database" in text or "malformed" in text:
        return StoreCorrupt(f"{path}: {text}; this file is not a readable Satang database")
    return StoreError(f"{path}: {text}")


class SqliteStore:
    """The SQLite backend of the store interface (:class:`ledger.store.base.Store`)."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        durability: Durability = "full",
        busy_timeout_ms: int = 5_000,
    ) -> None:
        if durability not in ("full", "normal"):
            raise StoreError(f"durability must be 'full' or 'normal', not {durability!r}")
        self.path = os.fspath(path)
        self.durability = durability
        try:
            self._conn = sqlite3.connect(
                self.path,
                isolation_level=None,
                check_same_thread=False,
                timeout=busy_timeout_ms / 1000,
            )
        except sqlite3.Error as exc:
            raise _store_error(exc, self.path) from exc
        self._accounts: dict[str, tuple[Account, Counters]] = {}
        self._head: tuple[int, bytes] | None = None
        self._data_version = -1
        try:
            self._check_is_ledger()
            self._configure(busy_timeout_ms)
            self._migrate()
        except sqlite3.Error as exc:
            self._conn.close()
            raise _store_error(exc, self.path) from exc
        except StoreError:
            self._conn.close()
            raise

    # --- set-up -------------------------------------------------------------------------

    def _check_is_ledger(self) -> None:
        """Refuse another application's database before changing anything in it."""
        tables = set(sqlite_utils.Database(self._conn, execute_plugins=False).table_names())
        if tables and "schema_migrations" not in tables:
            raise StoreCorrupt(
                f"{self.path} holds tables {sorted(tables)[:5]} but is not a Satang ledger; "
                "open a new file instead"
            )

    def _configure(self, busy_timeout_ms: int) -> None:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if self.path != ":memory:":
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise StoreError(f"{self.path}: could not switch to WAL (got {mode!r})")
        conn.execute(f"PRAGMA synchronous = {self.durability.upper()}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")

    def _migrate(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            row = self._conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
            current = row[0] or 0
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
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _store_error(exc, self.path) from exc
        version = self._conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._accounts.clear()
            self._head = None
            self._data_version = version
        tx = _SqliteTransaction(self, now_us, policy)
        try:
            yield tx
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise _store_error(exc, self.path) from exc
            raise
        if tx.aborted:
            self._rollback()
            return
        try:
            tx.flush()
            self._conn.execute("COMMIT")
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise _store_error(exc, self.path) from exc
            raise
        if len(self._accounts) > ACCOUNT_CACHE_MAX:
            self._accounts.clear()

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        self._accounts.clear()
        self._head = None

    # --- reads --------------------------------------------------------------------------

    def head(self) -> tuple[int, bytes]:
        row = self._conn.execute(
            "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return (0, GENESIS_HASH) if row is None else (row[0], row[1])

    def read_events(self, after: int = 0, limit: int | None = None) -> Iterator[RecordedEvent]:
        remaining = limit
        while remaining is None or remaining > 0:
            page = READ_PAGE if remaining is None else min(READ_PAGE, remaining)
            rows = self._conn.execute(
                "SELECT seq, stream, version, command_id, type, schema, recorded_at,"
                " effective_at, payload, hash FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
                (after, page),
            ).fetchall()
            for row in rows:
                yield _recorded(row, self.path)
            if len(rows) < page:
                return
            after = rows[-1][0]
            if remaining is not None:
                remaining -= len(rows)

    def account(self, account_id: str) -> Account | None:
        row = self._select_account(account_id)
        return None if row is None else row[0]

    def counters(self, account_id: str) -> Counters:
        row = self._select_account(account_id)
        return Counters() if row is None else row[1]

    def counters_at_seq(self, account_id: str, seq: int) -> Counters:
        row = self._conn.execute(
            "SELECT debits_posted, credits_posted, debits_pending, credits_pending"
            " FROM account_postings WHERE account = ? AND seq <= ?"
            " ORDER BY seq DESC, leg DESC LIMIT 1",
            (account_id, seq),
        ).fetchone()
        return Counters() if row is None else Counters(*row)

    def counters_at_time(self, account_id: str, effective_at_us: int) -> Counters:
        row = self._conn.execute(
            "SELECT COALESCE(SUM(CASE side WHEN 'debit' THEN amount_minor END), 0),"
            " COALESCE(SUM(CASE side WHEN 'credit' THEN amount_minor END), 0)"
            " FROM account_postings WHERE account = ? AND effective_at <= ?",
            (account_id, effective_at_us),
        ).fetchone()
        return Counters(debits_posted=row[0], credits_posted=row[1])

    def posting_rows(self) -> Iterator[tuple[str, int, int, Counters]]:
        """Every stored (account, seq, leg, counters after it), in seq and leg order."""
        for row in self._conn.execute(
            "SELECT account, seq, leg, debits_posted, credits_posted, debits_pending,"
            " credits_pending FROM account_postings ORDER BY seq, leg"
        ):
            yield row[0], row[1], row[2], Counters(row[3], row[4], row[5], row[6])

    def accounts(self) -> Iterator[tuple[Account, Counters]]:
        for row in self._conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY id"):
            yield _account_row(row)

    def _select_account(self, account_id: str) -> tuple[Account, Counters] | None:
        row = self._conn.execute(
            f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ?", (account_id,)
        ).fetchone()
        return None if row is None else _account_row(row)

    def close(self) -> None:
        self._conn.close()

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run raw SQL on the store's connection (tests and audits; not for writes)."""
        return self._conn.execute(sql, parameters).fetchall()


_ACCOUNT_COLUMNS = (
    "id, type, currency, no_overdraft, max_balance_minor, status, metadata,"
    " debits_posted, credits_posted, debits_pending, credits_pending"
)


def _account_row(row: tuple[Any, ...]) -> tuple[Account, Counters]:
    account = Account(
        id=row[0],
        type=AccountType(row[1]),
        currency=row[2],
        no_overdraft=bool(row[3]),
        max_balance_minor=row[4],
        status=AccountStatus(row[5]),
        metadata=_metadata_decoder.decode(row[6]),
    )
    return account, Counters(row[7], row[8], row[9], row[10])


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
        event = decode_event(type_, schema, payload)
    except msgspec.MsgspecError as exc:
        raise StoreCorrupt(f"{path}: event seq {seq} does not decode: {exc}", seq) from exc
    return RecordedEvent(
        seq=seq,
        stream=stream,
        version=version,
        command_id=command_id,
        type=type_,
        schema=schema,
        recorded_at=from_us(recorded_at),
        effective_at=from_us(effective_at),
        event=event,
        hash=h.hex(),
        payload=payload,
    )


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
        self._policy = policy
        self.aborted = False
        self._events: list[tuple[Any, ...]] = []
        self._postings: list[tuple[Any, ...]] = []
        self._commands: list[tuple[Any, ...]] = []
        self._opened: list[tuple[Any, ...]] = []
        self._statuses: list[tuple[str, str]] = []
        self._touched: set[str] = set()
        self._streams: dict[str, int] = {}
        self._by_command: dict[str, list[Event]] = {}

    @property
    def now_us(self) -> int:
        return self._now_us

    @property
    def policy(self) -> Policy:
        return self._policy

    @property
    def head_seq(self) -> int:
        return self._head()[0]

    def _head(self) -> tuple[int, bytes]:
        if self._store._head is None:
            self._store._head = self._store.head()
        return self._store._head

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
                found[cid] = StoredCommand(bytes(digest), first, last)
        return found

    def abort(self) -> None:
        self.aborted = True

    def append(self, command_id: str, digest: bytes, events: Sequence[NewEvent]) -> int:
        seq, previous = self._head()
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
                self._now_us,
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
                    self._now_us,
                    new.effective_at_us,
                    payload,
                    previous,
                )
            )
            self._streams[new.stream] = new.version
            self._by_command.setdefault(command_id, []).append(event)
            self._project(seq, new)
        self._store._head = (seq, previous)
        self._commands.append((command_id, digest, first_seq, seq))
        return seq

    def _project(self, seq: int, new: NewEvent) -> None:
        """The inline balance projection: fold one event into accounts and postings."""
        event = new.event
        cache = self._store._accounts
        if isinstance(event, MoneyEvent):
            for leg, p in enumerate(event.postings):
                account, counters = self._must(p.account)
                counters = counters.add(p.side, p.amount_minor)
                cache[p.account] = (account, counters)
                self._touched.add(p.account)
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
        conn.executemany("INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._events)
        conn.executemany(
            "INSERT INTO account_postings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._postings
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
