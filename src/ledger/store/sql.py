"""What the SQL backends share: the reads, and the write transaction that buffers a batch
and flushes it with one statement per table.

:class:`SqlStore` is the base of :class:`~ledger.store.sqlite.SqliteStore` and
:class:`~ledger.store.postgres.PostgresStore`. They differ only in how they connect, take
the write lock, and name their errors; the SQL here is written once, with ``?``
placeholders, in the subset both engines read the same way (text compared byte by byte:
PostgreSQL's columns are ``COLLATE "C"``; sums cast to ``BIGINT``).

Every write runs under one lock for the whole ledger, taken before anything is read, so
decisions are made on state no other writer can change until the commit, ``seq`` is
head + 1, and commits happen in ``seq`` order: a reader never sees a later ``seq``
before an earlier one. Reads inside a write come from a cache of account rows that the
backend proves fresh when it takes the lock (nobody else committed since), else drops.

Reads outside a write go through :meth:`SqlStore._reader`: a backend whose readers
cannot see a write in flight (SQLite in WAL mode, on connections of their own) lets them
run beside the writer, taking no lock at all (docs/durability.md, the lock hierarchy).

Refusals that ``decide`` reached are kept in ``refusals``, the same way as the log: a row
per refused command id, numbered ``n`` 1, 2, 3 … without gaps, each hashed over the one
before (:func:`~ledger.store.base.refusal_hash`), append-only under triggers. They take
no ``seq``: the log stays the order of accepted decisions.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import msgspec

from ledger import crashpoints
from ledger.accounts import (
    Account,
    AccountStatus,
    AccountType,
    Balance,
    Counters,
    is_valid_id,
    move,
)
from ledger.errors import (
    KeyStoreDamaged,
    LedgerError,
    MasterKeyMissing,
    MasterKeyWrong,
    RejectCode,
    StoreCorrupt,
    StoreError,
    UnknownEventType,
)
from ledger.events import (
    AccountClosed,
    AccountOpened,
    Event,
    MoneyEvent,
    PeriodClosed,
    SubjectErased,
    decode_event,
    encode_event,
)
from ledger.keys import (
    NAMES,
    KeyWrapper,
    forget_derived,
    key_context,
    keyed_name,
    new_data_key,
    seal,
    token_subject,
    unseal,
)
from ledger.money import AMOUNT_MAX_MINOR
from ledger.personal import PERSONAL_EVENT_FIELDS, event_has_text, event_subject, sealed_event
from ledger.policy import Policy
from ledger.results import Rejected
from ledger.state import NewEvent
from ledger.state.accounts import CHANGES, changed, changes, opened, stored
from ledger.state.subjects import Subject, applied
from ledger.store.base import (
    GENESIS_HASH,
    HistoryLine,
    HistoryOrder,
    PostingRow,
    RecordedEvent,
    RefusalRow,
    StoredCommand,
    StoredRefusal,
    chain_hash,
    refusal_hash,
    row_digest,
)
from ledger.times import US_MAX, US_MIN, to_us

ACCOUNT_CACHE_MAX = 200_000
"""Account rows kept between transactions; past this the cache starts over."""
KEY_CACHE_MAX = 1 << 16
"""Subjects' data keys kept unwrapped between transactions; past this they start over."""
READ_PAGE = 1_000
LEG_MAX = 2**31 - 1
"""A bound past every leg of an entry: the counters after a seq's last leg."""

COUNTERS_UPDATE = (
    "UPDATE accounts SET debits_posted = ?, credits_posted = ?,"
    " debits_pending = ?, credits_pending = ? WHERE id = ?"
)
"""The one statement per batch that writes every touched account's counters (a backend
may run it as one bulk statement)."""

_metadata_encoder = msgspec.json.Encoder(order="sorted")
_metadata_decoder = msgspec.json.Decoder(dict[str, str])


class SqlStore(ABC):
    """The store interface (:class:`ledger.store.base.Store`) over SQL; a backend gives
    the connection (``_sql``: ``execute`` and ``executemany``, ``?`` placeholders) and
    the hooks below.

    Every failure of the engine surfaces as a :class:`~ledger.errors.StoreError`, never
    as the driver's own exception.
    """

    path: str
    """Where the ledger is, for messages (a file path, or a DSN without its password)."""
    _sql: Any
    _ERRORS: tuple[type[BaseException], ...] = ()

    concurrent_reads = False
    """Whether reads may run beside a write in flight (on connections of their own, never
    seeing it): then the ``Ledger`` takes no lock to read."""
    readonly = False
    """Opened to read only: every write raises :class:`~ledger.errors.StoreError`."""
    has_refusals = True
    """Whether the schema holds ``refusals`` and ``ledger_settings`` (a file of schema 2
    opened read-only, unmigrated, does not)."""
    has_subjects = True
    """Whether the schema holds subjects and their keys (a file of schema 5 or older
    opened read-only, unmigrated, does not)."""

    def __init__(self) -> None:
        self._accounts: dict[str, tuple[Account, Counters]] = {}
        self._head: tuple[int, bytes, int] | None = None
        self._refusal_head: tuple[int, bytes, int] | None = None
        self._closed_us: int | None = None
        self.keys: KeyWrapper | None = None
        """What wraps the subjects' data keys (the master key): set by the ``Ledger``
        that opens the store; None where it was opened without one."""
        self._subjects: dict[str, Subject] = {}
        self._data_keys: dict[str, bytes] = {}
        """Subjects' data keys unwrapped so far: dropped with the other caches, and when
        an erasure commits."""
        self._shred_pending = False
        self._master_checked: str | None = None
        """The master key id the key store was last found to hold only keys of."""

    # --- what a backend provides --------------------------------------------------------

    @abstractmethod
    def _error(self, exc: BaseException) -> StoreError:
        """The typed error for one of the driver's exceptions (``_ERRORS``)."""

    @abstractmethod
    def _in_transaction(self) -> bool:
        """Whether a transaction (a write, or a snapshot) is open on the connection."""

    @abstractmethod
    def _begin(self) -> None:
        """Start the write transaction and take the ledger's write lock; drop the caches
        (:meth:`_forget`) if anyone else committed since this store's last transaction."""

    @abstractmethod
    def _commit(self) -> None:
        """Commit the write transaction: its rows are durable when this returns."""

    @abstractmethod
    def _abort(self) -> None:
        """Roll the open transaction back (it may hold nothing)."""

    def _flushed(self, head: tuple[int, bytes, int]) -> None:  # noqa: B027 (a no-op unless overridden)
        """The batch's rows are written; ``head`` is the new last (seq, hash, recorded_at)."""

    @abstractmethod
    def _stream(self, sql: str) -> Iterator[tuple[Any, ...]]:
        """Every row of one query, read a page at a time."""

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[None]:
        """One consistent read of the whole store for the block; not nested."""

    # --- the write transaction ----------------------------------------------------------

    def _forget(self) -> None:
        self._accounts.clear()
        self._head = None
        self._refusal_head = None
        self._closed_us = None
        self._subjects.clear()
        self._data_keys.clear()
        self._master_checked = None

    @property
    def shred_pending(self) -> bool:
        """True while what an erasure deleted may still be in the backend's files: the
        WAL truncation (SQLite) or the table rewrite (PostgreSQL) after it was held up,
        and is tried again after the next commit and on close."""
        return self._shred_pending

    def _shred(self) -> bool:
        """Make what an erasure deleted unrecoverable from the backend's files, once it
        has committed; False if it could not yet (it is tried again after the next
        commit). By default nothing is left to do."""
        return True

    @contextmanager
    def _reader(self) -> Iterator[Any]:
        """The connection a read outside a write runs on (by default the store's one
        connection: the ``Ledger`` then serialises reads with writes)."""
        yield self._sql

    def _write_lock(self) -> AbstractContextManager[None]:
        """The lock a write takes before the engine's own (a no-op unless overridden)."""
        return contextlib.nullcontext()

    @contextmanager
    def transaction(self, now_us: int, policy: Policy) -> Iterator[SqlTransaction]:
        """The write lock … COMMIT. ``recorded_at`` never goes back along the log: a clock
        behind the last event (another server's) records that event's time."""
        if self.readonly:
            raise StoreError(f"{self.path} was opened read-only (readonly=True): no writes")
        if self._in_snapshot():
            raise LedgerError(
                "a write cannot start inside a snapshot() of the same Ledger; leave the "
                "snapshot block first, or write through another Ledger"
            )
        with self._write_lock():
            yield from self._transaction(now_us, policy)

    def _transaction(self, now_us: int, policy: Policy) -> Iterator[SqlTransaction]:
        try:
            self._begin()
            tx = SqlTransaction(self, now_us, policy)
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, self._ERRORS):
                raise self._error(exc) from exc
            raise
        try:
            yield tx
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, self._ERRORS):
                raise self._error(exc) from exc
            raise
        if tx.aborted:
            if not tx.refused:
                self._rollback()
                return
            # a failed linked batch: nothing it appended stays, but the refusals it
            # reached are recorded (with the cache and head as they were before it)
            tx.discard_appends()
            self._forget()
        try:
            crashpoints.reach("before_insert")
            tx.flush()
            crashpoints.reach("before_commit")
            self._commit()
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, self._ERRORS):
                raise self._error(exc) from exc
            raise
        crashpoints.reach("after_commit")
        if len(self._accounts) > ACCOUNT_CACHE_MAX:
            self._accounts.clear()
        if len(self._data_keys) > KEY_CACHE_MAX or len(self._subjects) > ACCOUNT_CACHE_MAX:
            self._data_keys.clear()
            self._subjects.clear()
        if tx.erased:
            self._data_keys.clear()
            forget_derived()
            self._shred_pending = True
        if self._shred_pending:
            self._shred_pending = not self._shred()

    def _rollback(self) -> None:
        if self._in_transaction():
            self._abort()
        self._forget()

    def _in_snapshot(self) -> bool:
        """Whether this thread holds a ``snapshot()`` of this store."""
        return self._in_transaction()

    def record_setting(self, key: str, value: str) -> str:
        """Record the ledger-wide setting ``key`` once; return what is recorded (the
        earlier value if there was one: settings never change)."""
        if not self.has_refusals:
            raise StoreError(f"{self.path}: this ledger's schema keeps no settings")
        with self.transaction(0, Policy()) as tx:
            rows = tx._conn.execute(
                "SELECT value FROM ledger_settings WHERE key = ?", (key,)
            ).fetchall()
            if rows:
                tx.abort()
                return str(rows[0][0])
            tx._conn.execute("INSERT INTO ledger_settings VALUES (?, ?)", (key, value))
        return value

    # --- reads --------------------------------------------------------------------------

    def _usable(self) -> None:  # noqa: B027 (a no-op unless overridden)
        """Make sure the connection can be used (a backend may reconnect here)."""

    def _read(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        try:
            with self._reader() as conn:
                return list(conn.execute(sql, parameters).fetchall())
        except self._ERRORS as exc:
            raise self._error(exc) from exc

    # --- settings and results -----------------------------------------------------------

    def setting(self, key: str) -> str | None:
        """A ledger-wide setting (``timezone``), or None if none is recorded."""
        if not self.has_refusals:
            return None
        rows = self._read("SELECT value FROM ledger_settings WHERE key = ?", (key,))
        if rows and type(rows[0][0]) is not str:
            raise StoreCorrupt(f"{self.path}: the setting {key!r} is damaged")
        return rows[0][0] if rows else None

    def find_result(self, command_id: str) -> StoredCommand | StoredRefusal | None:
        """What the idempotency index, or the record of refusals, keeps of one id."""
        with self._reader() as conn:
            try:
                return _find_results(conn, [command_id], self.path, self.has_refusals).get(
                    command_id
                )
            except self._ERRORS as exc:
                raise self._error(exc) from exc

    def refusals_head(self) -> tuple[int, bytes]:
        """The last refusal's ``n`` and hash (0 and :data:`GENESIS_HASH` if none)."""
        if not self.has_refusals:
            return 0, GENESIS_HASH
        rows = self._read("SELECT n, hash FROM refusals ORDER BY n DESC LIMIT 1")
        if not rows:
            return 0, GENESIS_HASH
        n, digest = rows[0]
        if type(digest) is not bytes:
            raise StoreCorrupt(f"{self.path}: the hash of refusal n {n} is not bytes")
        return n, digest

    def refusal_rows(self) -> Iterator[RefusalRow]:
        """The record of refusals in ``n`` order (nothing for a schema without it)."""
        if not self.has_refusals:
            return
        after = 0
        while True:
            rows = self._read(
                f"SELECT {_REFUSAL_COLUMNS} FROM refusals WHERE n > ? ORDER BY n LIMIT ?",
                (after, READ_PAGE),
            )
            for row in rows:
                yield _refusal_row(row, self.path)
            if len(rows) < READ_PAGE:
                return
            after = rows[-1][0]

    def _head_row(self) -> tuple[int, bytes, int]:
        """(seq, hash, recorded_at) of the last event, cached while proven fresh."""
        if self._head is None:
            self._head = self._last_row("events", "seq")
        return self._head

    def _last_row(self, table: str, key: str) -> tuple[int, bytes, int]:
        """(key, hash, recorded_at) of the last row of a chained table (``events`` by
        ``seq``, ``refusals`` by ``n``), read on the write connection; zeros and
        :data:`GENESIS_HASH` for an empty one."""
        row = self._sql.execute(
            f"SELECT {key}, hash, recorded_at FROM {table} ORDER BY {key} DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return 0, GENESIS_HASH, 0
        if type(row[1]) is not bytes or type(row[2]) is not int:
            raise StoreCorrupt(f"{self.path}: the last row of {table} ({key} {row[0]}) is damaged")
        return row[0], row[1], row[2]

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
        return self._counters_after(account_id, seq, LEG_MAX)

    def _counters_after(self, account_id: str, seq: int, leg: int) -> Counters:
        """The counters the history keeps with the account's last line at or before
        (seq, leg) in log order (zeros before its first)."""
        rows = self._read(
            "SELECT debits_posted, credits_posted, debits_pending, credits_pending"
            " FROM account_postings WHERE account = ? AND (seq, leg) <= (?, ?)"
            " ORDER BY seq DESC, leg DESC LIMIT 1",
            (account_id, seq, leg),
        )
        return Counters() if not rows else _counters(rows[0], self.path)

    def counters_at_time(self, account_id: str, effective_at_us: int) -> Counters:
        # one range of the (account, effective_at) index
        return self._sums(account_id, "effective_at <= ?", (effective_at_us,))

    def history_page(
        self,
        account_id: str,
        order: HistoryOrder,
        after: tuple[int, int, int] | None,
        limit: int,
        upto_seq: int,
    ) -> tuple[Counters, list[HistoryLine]]:
        """One index range read of the history joined with the log by seq, and the page's
        opening: in log order the counters the history keeps with the line before it, by
        value date the sum of the lines before it."""
        effective = order == "effective"
        key = "p.effective_at, p.seq, p.leg" if effective else "p.seq, p.leg"
        bound: tuple[int, ...] = () if after is None else after if effective else after[1:]
        beyond = f" AND ({key}) > ({', '.join('?' * len(bound))})" if bound else ""
        rows = self._read(
            "SELECT p.seq, p.leg, p.effective_at, e.recorded_at, e.type, e.command_id,"
            " e.schema, e.payload, p.side, p.phase, p.amount_minor"
            " FROM account_postings p LEFT JOIN events e ON e.seq = p.seq"
            f" WHERE p.account = ? AND p.seq <= ?{beyond} ORDER BY {key} LIMIT ?",
            (account_id, upto_seq, *bound, limit),
        )
        if after is None:
            opening = Counters()
        elif effective:
            opening = self._sums(
                account_id, "seq <= ? AND (effective_at, seq, leg) <= (?, ?, ?)", (upto_seq, *after)
            )
        else:
            seq, leg = after[1:] if after[1] <= upto_seq else (upto_seq, LEG_MAX)
            opening = self._counters_after(account_id, seq, leg)
        entries: dict[int, tuple[str, ...]] = {}
        lines = []
        for seq, leg, eff, rec, type_, command_id, schema, payload, side, phase, amount in rows:
            if rec is None:
                raise StoreCorrupt(f"{self.path}: the history posts at seq {seq}, not in the log")
            if not (
                type(seq) is type(leg) is type(schema) is type(amount) is int
                and type(eff) is type(rec) is int
                and US_MIN <= eff <= US_MAX
                and US_MIN <= rec <= US_MAX
                and type(command_id) is type(type_) is str
                and type(payload) is bytes
                and side in _SIDES
                and phase in _PHASES
            ):
                raise StoreCorrupt(f"{self.path}: a history line at seq {seq} is malformed", seq)
            accounts = entries.get(seq)
            if accounts is None:
                event = decode_event(type_, schema, payload)
                if not isinstance(event, MoneyEvent):
                    raise StoreCorrupt(
                        f"{self.path}: the history posts at seq {seq}, a {type_!r}", seq
                    )
                accounts = entries[seq] = tuple(dict.fromkeys(p.account for p in event.postings))
            lines.append(
                HistoryLine(seq, leg, eff, rec, type_, command_id, accounts, side, phase, amount)
            )
        return opening, lines

    def history_sums(
        self, upto_seq: int, effective_upto_us: int | None, accounts: Sequence[str] | None
    ) -> dict[str, Counters]:
        where = "seq <= ?" + ("" if effective_upto_us is None else " AND effective_at <= ?")
        bounds: tuple[int, ...] = (upto_seq,) + (
            () if effective_upto_us is None else (effective_upto_us,)
        )
        chunks: list[tuple[str, tuple[Any, ...]]] = [(where, bounds)]
        if accounts is not None:
            wanted = sorted(set(accounts))
            chunks = [
                (f"{where} AND account IN ({', '.join('?' * len(part))})", (*bounds, *part))
                for part in (wanted[i : i + 500] for i in range(0, len(wanted), 500))
            ]
        out: dict[str, Counters] = {}
        for clause, parameters in chunks:
            for account, *sums in self._read(
                f"SELECT account, {_SUMS} FROM account_postings WHERE {clause} GROUP BY account",
                parameters,
            ):
                out[account] = _summed(sums, self.path)
        return out

    def _sums(self, account_id: str, where: str, parameters: Sequence[int]) -> Counters:
        rows = self._read(
            f"SELECT {_SUMS} FROM account_postings WHERE account = ? AND {where}",
            (account_id, *parameters),
        )
        return _summed(rows[0], self.path)

    def posting_rows(self) -> Generator[PostingRow, None, None]:
        """One streaming read, sorted once (the table is keyed by account, not seq)."""
        rows = self._stream(f"SELECT {_HISTORY_COLUMNS} FROM account_postings ORDER BY seq, leg")
        # rows as stored: the audit compares each with the one the log says it must be,
        # so a damaged value is a finding at its seq, not a read that stops the walk
        make = PostingRow._make
        for row in rows:
            yield make(row)

    def history_digest(self, salt: int, through: int | None) -> tuple[int, int]:
        """One read in the table's own order, no sort: see :meth:`Store.history_digest`."""
        rows = total = 0
        bound = "" if through is None else f" WHERE seq <= {int(through)}"
        for row in self._stream(f"SELECT {_HISTORY_COLUMNS} FROM account_postings{bound}"):
            rows += 1
            total += row_digest(salt, row)
        return rows, total

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
                f"SELECT {self._account_columns} FROM accounts WHERE id > ? ORDER BY id LIMIT ?",
                (after, READ_PAGE),
            )
            for row in rows:
                yield _account_row(row, self.path)
            if len(rows) < READ_PAGE:
                return
            after = rows[-1][0]

    @property
    def _account_columns(self) -> str:
        """The accounts columns a read selects (no subjects in an unmigrated old file)."""
        return _ACCOUNT_COLUMNS if self.has_subjects else _OLD_ACCOUNT_COLUMNS

    def subject(self, subject_id: str) -> Subject | None:
        """The subject as the store keeps it, None if nothing names it."""
        if not self.has_subjects:
            return None
        rows = self._read(
            f"SELECT {_SUBJECT_COLUMNS} FROM subjects WHERE subject = ?", (subject_id,)
        )
        return None if not rows else _subject_row(tuple(rows[0]), self.path)

    def subjects(self) -> Iterator[Subject]:
        """Every subject the store keeps, by id."""
        if not self.has_subjects:
            return
        for row in self._read(f"SELECT {_SUBJECT_COLUMNS} FROM subjects ORDER BY subject", ()):
            yield _subject_row(tuple(row), self.path)

    def key_rows(self) -> list[tuple[str, str, bytes]]:
        """Every row of the key store: (subject, the master key's id, the wrapped data
        key), by subject."""
        if not self.has_subjects:
            return []
        rows = self._read("SELECT subject, key_id, wrapped FROM subject_keys ORDER BY subject", ())
        out = []
        for subject_id, key_id, wrapped in rows:
            if type(subject_id) is not str or type(key_id) is not str or type(wrapped) is not bytes:
                raise KeyStoreDamaged(f"{self.path}: a key store row is damaged")
            out.append((subject_id, key_id, wrapped))
        return out

    def data_key(self, subject_id: str) -> bytes | None:
        """The subject's data key, None if the key store holds none (the subject was
        erased, or never had one); :class:`~ledger.errors.MasterKeyMissing` without a
        master key, :class:`~ledger.errors.MasterKeyWrong` if it does not open it."""
        if self.keys is None:
            raise MasterKeyMissing(
                f"{self.path}: reading personal data needs the master key; open the ledger "
                "with Ledger.open(..., master_key=...)"
            )
        if not self.has_subjects:
            return None
        rows = self._read(
            "SELECT key_id, wrapped FROM subject_keys WHERE subject = ?", (subject_id,)
        )
        return None if not rows else _unwrapped(self.keys, subject_id, tuple(rows[0]), self.path)

    def rewrap(self, new: KeyWrapper) -> int:
        """Wrap every subject's data key with ``new`` instead of the master key the store
        was opened with, in one transaction, and use ``new`` from then on; the number of
        keys rewrapped. Nothing is written if any key does not open
        (:class:`~ledger.errors.MasterKeyWrong`)."""
        old = self.keys
        if old is None:
            raise MasterKeyMissing(f"{self.path}: rotating the master key needs the current one")
        with self.transaction(0, Policy()) as tx:
            count = tx.rewrap(old, new)
        self.keys = new
        self._data_keys.clear()
        self._master_checked = None
        self._shred_pending = not self._shred()
        return count

    def _select_account(self, account_id: str) -> tuple[Account, Counters] | None:
        rows = self._read(
            f"SELECT {self._account_columns} FROM accounts WHERE id = ?", (account_id,)
        )
        return None if not rows else _account_row(rows[0], self.path)

    def _refusal_head_row(self) -> tuple[int, bytes, int]:
        """(n, hash, recorded_at) of the last refusal, cached while proven fresh (write
        path)."""
        if self._refusal_head is None:
            self._refusal_head = self._last_row("refusals", "n")
        return self._refusal_head

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run raw SQL on the store's connection (tests and audits; not for writes)."""
        return self._read(sql, parameters)


_REFUSAL_COLUMNS = "n, command_id, digest, code, subject, detail, recorded_at, head_seq, hash"


def _refusal_row(row: tuple[Any, ...], path: str) -> RefusalRow:
    n, command_id, digest, code, subject, detail, recorded_at, head_seq, h = row
    if not (
        type(n) is int
        and type(command_id) is str
        and type(digest) is bytes
        and type(code) is str
        and type(subject) is str
        and type(detail) is str
        and type(recorded_at) is int
        and type(head_seq) is int
        and type(h) is bytes
    ):
        raise StoreCorrupt(f"{path}: refusal n {n} has columns of the wrong types")
    return RefusalRow(n, command_id, digest, code, subject, detail, recorded_at, head_seq, h)


def _find_results(
    conn: Any, command_ids: Sequence[str], path: str, refusals: bool
) -> dict[str, StoredCommand | StoredRefusal]:
    """The index entries, then the recorded refusals, of those ids (in chunks)."""
    found: dict[str, StoredCommand | StoredRefusal] = {}
    unique = list(dict.fromkeys(command_ids))
    for i in range(0, len(unique), _IN_CHUNK):
        chunk = unique[i : i + _IN_CHUNK]
        marks = ",".join("?" * len(chunk))
        for cid, digest, first, last in conn.execute(
            "SELECT command_id, digest, first_seq, last_seq FROM commands"
            f" WHERE command_id IN ({marks})",
            chunk,
        ):
            if type(digest) is not bytes or type(first) is not int or type(last) is not int:
                raise StoreCorrupt(f"{path}: the index row of {cid!r} is damaged")
            found[cid] = StoredCommand(digest, first, last)
        if not refusals or len(found) == len(unique):
            continue
        for cid, digest, code, subject, detail in conn.execute(
            "SELECT command_id, digest, code, subject, detail FROM refusals"
            f" WHERE command_id IN ({marks})",
            chunk,
        ):
            try:
                if type(digest) is not bytes or type(subject) is not str or type(detail) is not str:
                    raise ValueError("columns of the wrong types")
                rejected = Rejected(RejectCode(code), detail, cid, subject, replayed=True)
            except ValueError as exc:
                raise StoreCorrupt(f"{path}: the refusal of {cid!r} is damaged ({exc})") from exc
            found[cid] = StoredRefusal(digest, rejected)
    return found


_ACCOUNT_COLUMNS = (
    "id, type, currency, no_overdraft, max_balance_minor, status, metadata,"
    " debits_posted, credits_posted, debits_pending, credits_pending, tier, subject"
)
_OLD_ACCOUNT_COLUMNS = _ACCOUNT_COLUMNS.replace("tier, subject", "tier, NULL")
_HISTORY_COLUMNS = (
    "account, seq, leg, side, amount_minor, effective_at, debits_posted, credits_posted,"
    " debits_pending, credits_pending, phase"
)
"""A row of the balance history as :class:`PostingRow` holds it."""
_SUM_PHASE = (
    "CAST(COALESCE(SUM(CASE WHEN side = '{side}' AND phase = '{phase}' THEN amount_minor END),"
    " 0) AS BIGINT)"
)
_SIDES = frozenset({"debit", "credit"})
_PHASES = frozenset({"posted", "pending", "released"})
_SUMS = (
    f"{_SUM_PHASE.format(side='debit', phase='posted')},"
    f" {_SUM_PHASE.format(side='credit', phase='posted')},"
    f" {_SUM_PHASE.format(side='debit', phase='pending')}"
    f" - {_SUM_PHASE.format(side='debit', phase='released')},"
    f" {_SUM_PHASE.format(side='credit', phase='pending')}"
    f" - {_SUM_PHASE.format(side='credit', phase='released')}"
)
"""The four counters of the history rows a query selects (a hold's released legs take
back what its pending legs put on)."""


def _account_row(row: tuple[Any, ...], path: str) -> tuple[Account, Counters]:
    try:
        if not (type(row[0]) is str and type(row[2]) is str and type(row[3]) is int):
            raise ValueError("columns of the wrong types")
        if row[4] is not None and type(row[4]) is not int:
            raise ValueError("max_balance_minor is not an integer")
        if row[11] is not None and type(row[11]) is not str:
            raise ValueError("tier is not text")
        if row[12] is not None and type(row[12]) is not str:
            raise ValueError("subject is not text")
        account = Account(
            id=row[0],
            type=AccountType(row[1]),
            currency=row[2],
            no_overdraft=bool(row[3]),
            max_balance_minor=row[4],
            status=AccountStatus(row[5]),
            metadata=_metadata_decoder.decode(row[6]),
            tier=row[11],
            subject=row[12],
        )
    except (ValueError, TypeError, msgspec.MsgspecError) as exc:
        raise StoreCorrupt(f"{path}: the accounts row of {row[0]!r} is damaged ({exc})") from exc
    return account, _counters(row[7:11], f"{path}: account {row[0]!r}")


_SUBJECT_COLUMNS = "subject, accounts, open_accounts, last_closed_at, erased_seq"


def _subject_row(row: tuple[Any, ...], path: str) -> Subject:
    name, accounts, open_accounts, closed, erased = row
    if not (
        type(name) is str
        and type(accounts) is int
        and type(open_accounts) is int
        and 0 <= open_accounts <= accounts
        and (closed is None or type(closed) is int)
        and (erased is None or type(erased) is int)
    ):
        raise StoreCorrupt(f"{path}: the subjects row of {name!r} is damaged")
    return Subject(name, accounts, open_accounts, closed, erased)


def _read_subject(conn: Any, subject_id: str, path: str) -> Subject | None:
    row = conn.execute(
        f"SELECT {_SUBJECT_COLUMNS} FROM subjects WHERE subject = ?", (subject_id,)
    ).fetchone()
    return None if row is None else _subject_row(tuple(row), path)


def _unwrapped(keys: KeyWrapper, subject_id: str, row: Sequence[Any], path: str) -> bytes:
    """A subject's data key from its key store row (key_id, wrapped)."""
    key_id, wrapped = row
    if type(key_id) is not str or type(wrapped) is not bytes:
        raise KeyStoreDamaged(f"{path}: the key store row of {subject_id!r} is damaged")
    if key_id != keys.key_id:
        raise MasterKeyWrong(
            f"{path}: subject {subject_id!r}'s data key is wrapped by master key {key_id}, "
            f"not by the one the ledger was opened with ({keys.key_id})"
        )
    return keys.unwrap(wrapped, key_context(subject_id))


def _summed(values: Sequence[Any], where: str) -> Counters:
    """Counters summed over history lines chosen by effective time: integers, but a hold
    released (or captured) at an effective time before the one it was placed at, as a
    clock stepped back can make it, leaves a pending sum below zero between the two."""
    if not all(type(v) is int for v in values):
        raise StoreCorrupt(f"{where}: the history sums to {list(values)!r}, not four integers")
    return Counters(*values)


def _counters(values: Sequence[Any], where: str) -> Counters:
    if not all(type(v) is int and 0 <= v <= AMOUNT_MAX_MINOR for v in values):
        raise StoreCorrupt(f"{where}: a balance row holds {list(values)!r}, not four counters")
    return Counters(*values)


def _recorded(row: tuple[Any, ...], path: str) -> RecordedEvent:
    """A row of the log, checked column by column and its event decoded; StoreCorrupt
    (or UnknownEventType) naming its seq if it cannot be read."""
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
    if not (US_MIN <= recorded_at <= US_MAX and US_MIN <= effective_at <= US_MAX):
        raise StoreCorrupt(
            f"{path}: event seq {seq} does not decode: a time outside the calendar", seq
        )
    try:
        event = decode_event(type_, schema, payload)
    except UnknownEventType as exc:
        raise UnknownEventType(
            f"{path}: event seq {seq} cannot be read: {exc}", exc.event_type, exc.schema, seq
        ) from exc
    except (StoreCorrupt, ValueError) as exc:
        raise StoreCorrupt(f"{path}: event seq {seq} does not decode: {exc}", seq) from exc
    return RecordedEvent(
        seq,
        stream,
        version,
        command_id,
        type_,
        schema,
        recorded_at,
        effective_at,
        payload,
        h,
        event,
    )


def _prefix_end(prefix: str) -> str:
    """The least string after every string that starts with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class SqlTransaction:
    """One write transaction (the store holds the write lock); implements the decide
    functions' ``State``.

    Writes are buffered and flushed with one ``executemany`` per table just before
    COMMIT (an account's counters are written once per transaction, however many
    postings touched it). Reads during the transaction see the buffer: accounts through
    the write-through cache, streams and commands through the dicts kept beside it.
    """

    def __init__(self, store: SqlStore, now_us: int, policy: Policy) -> None:
        self._store = store
        self._conn = store._sql
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
        self._changes: list[tuple[str, dict[str, Any]]] = []
        self._touched: set[str] = set()
        self._refusals: list[tuple[str, bytes, Rejected]] = []
        self._streams: dict[str, int] = {}
        self._by_command: dict[str, list[Event]] = {}
        self._by_stream: dict[str, list[Event]] = {}
        self._debits: dict[str, list[tuple[int, int]]] = {}
        self._new_keys: list[tuple[str, str, bytes]] = []
        self._subjects_touched: set[str] = set()
        self.erased: list[str] = []
        """Subjects whose data keys this transaction deletes."""
        # which master key wraps the key store is asked again in every transaction: a
        # rotation by another process moves no head that would drop the caches
        store._master_checked = None

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
        if not isinstance(account_id, str):
            return None
        if type(account_id) is not str:  # a str subclass (a StrEnum member): its plain value
            account_id = str.__str__(account_id)
        # every id in the cache came from an accounts row, so a hit needs no id check; a
        # miss reads the row, which the write-through cache must never overwrite with an
        # older one (this transaction may have moved it)
        found = self._store._accounts.get(account_id)
        if found is None:
            if not is_valid_id(account_id):
                return None
            row = self._conn.execute(
                f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE id = ?", (account_id,)
            ).fetchone()
            found = None if row is None else _account_row(row, self._store.path)
            if found is not None:
                self._store._accounts[account_id] = found
        return found

    def account(self, account_id: str) -> Account | None:
        found = self._cached(account_id)
        return None if found is None else found[0]

    def counters(self, account_id: str) -> Counters:
        found = self._cached(account_id)
        return Counters() if found is None else found[1]

    def holding(self, account_id: str) -> tuple[Account, Counters] | None:
        return self._cached(account_id)

    def subject(self, subject_id: str) -> Subject | None:
        cache = self._store._subjects
        found = cache.get(subject_id)
        if found is None and type(subject_id) is str:
            found = _read_subject(self._conn, subject_id, self._store.path)
            if found is not None:
                cache[subject_id] = found
        return found

    def _subject_of(self, account_id: str) -> str | None:
        found = self._cached(account_id)
        return None if found is None else found[0].subject

    def data_key(self, subject_id: str, *, create: bool = False) -> bytes:
        """The subject's data key, unwrapped with the master key; a new one (written with
        this transaction) if it has none and ``create``. :class:`MasterKeyMissing`
        without a master key, :class:`MasterKeyWrong` if it does not open the key,
        :class:`KeyStoreDamaged` if a living subject's key is gone."""
        store = self._store
        key = store._data_keys.get(subject_id)
        if key is not None:
            return key
        if store.keys is None:
            raise MasterKeyMissing(
                f"{store.path}: subject {subject_id!r}'s personal data needs its data key, "
                "and the ledger was opened without a master key (Ledger.open(..., "
                "master_key=...))"
            )
        row = self._conn.execute(
            "SELECT key_id, wrapped FROM subject_keys WHERE subject = ?", (subject_id,)
        ).fetchone()
        if row is not None:
            key = _unwrapped(store.keys, subject_id, row, store.path)
        elif create:
            self._same_master_key(store.keys)
            key = new_data_key()
            wrapped = store.keys.wrap(key, key_context(subject_id))
            self._new_keys.append((subject_id, store.keys.key_id, wrapped))
            if subject_id != NAMES and self.subject(subject_id) is None:
                store._subjects[subject_id] = Subject(subject_id)
        else:
            found = self.subject(subject_id)
            state = "was erased" if found is not None and found.erased else "has no data key"
            raise KeyStoreDamaged(f"{store.path}: subject {subject_id!r} {state}")
        store._data_keys[subject_id] = key
        return key

    def _same_master_key(self, keys: KeyWrapper) -> None:
        """:class:`MasterKeyWrong` if the key store holds a key another master key wraps:
        a new key wrapped by this one would leave the store half readable by each."""
        store = self._store
        if store._master_checked == keys.key_id:
            return
        row = self._conn.execute(
            "SELECT key_id FROM subject_keys WHERE key_id <> ? LIMIT 1", (keys.key_id,)
        ).fetchone()
        if row is not None:
            raise MasterKeyWrong(
                f"{store.path}: the key store's keys are wrapped by master key {row[0]}, not "
                f"by the one the ledger was opened with ({keys.key_id}); no key is added"
            )
        store._master_checked = keys.key_id

    def keyed_name(self, text: str, *, create: bool = False) -> str | None:
        store = self._store
        if not create and NAMES not in store._data_keys:
            row = self._conn.execute(
                "SELECT 1 FROM subject_keys WHERE subject = ?", (NAMES,)
            ).fetchone()
            if row is None:
                return None  # nothing was ever named so: there is nothing to look for
        return keyed_name(self.data_key(NAMES, create=create), text)

    def reveal(self, value: str) -> str:
        subject_id = token_subject(value)
        if subject_id is None:
            return value
        return unseal(self.data_key(subject_id), value)

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
            "SELECT e.seq, e.stream, e.version, e.command_id, e.type, e.schema, e.recorded_at,"
            " e.effective_at, e.payload, e.hash FROM commands AS c JOIN events AS e"
            " ON e.seq BETWEEN c.first_seq AND c.last_seq AND e.command_id = c.command_id"
            " WHERE c.command_id = ? ORDER BY e.seq",
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

    def find_commands(self, command_ids: Sequence[str]) -> dict[str, StoredCommand | StoredRefusal]:
        return _find_results(self._conn, command_ids, self._store.path, self._store.has_refusals)

    def abort(self) -> None:
        self.aborted = True

    @property
    def refused(self) -> bool:
        """Whether this transaction holds refusals to record."""
        return bool(self._refusals)

    def refuse(self, command_id: str, digest: bytes, rejected: Rejected) -> None:
        """Record ``rejected`` against ``command_id`` when the transaction commits."""
        self._refusals.append((command_id, digest, rejected))

    def discard_appends(self) -> None:
        """Drop every buffered row but the refusals (a linked batch that failed)."""
        for buffer in (
            self._events,
            self._postings,
            self._commands,
            self._opened,
            self._changes,
            self.erased,
        ):
            buffer.clear()
        self._touched.clear()
        self._subjects_touched.clear()

    def balances(self, command_events: Sequence[NewEvent]) -> tuple[Balance, ...]:
        """The balances, now in this transaction, of every account those events post to,
        by account id (from the write-through cache, which ``append`` has just filled)."""
        cache = self._store._accounts
        touched = {
            p.account
            for new in command_events
            if isinstance(new.event, MoneyEvent)
            for p in new.event.postings
        }
        out = []
        for account_id in sorted(touched):
            account, counters = cache[account_id]
            out.append(
                Balance.from_counters(account_id, account.currency, account.normal_side, counters)
            )
        return tuple(out)

    def append(
        self,
        command_id: str,
        digest: bytes,
        events: Sequence[NewEvent],
        *,
        recorded_us: int | None = None,
    ) -> int:
        """The :class:`~ledger.store.base.Transaction` method; ``recorded_us`` gives the
        command another ``recorded_at`` than the transaction's: a copy of another log's
        command keeps its time (``ledger.seal``), never before the head's."""
        if recorded_us is not None:
            if recorded_us < self._store._head_row()[2]:
                raise StoreError(f"{self._store.path}: recorded_at would go back along the log")
            self._recorded_us = recorded_us
        seq, previous, _ = self._store._head_row()
        first_seq = seq + 1
        for new in events:
            seq += 1
            event = new.event
            if type(event) in PERSONAL_EVENT_FIELDS:
                event = self._sealed(event)
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
            self._project(seq, new.effective_at_us, event)
        self._store._head = (seq, previous, self._recorded_us)
        self._commands.append((command_id, digest, first_seq, seq))
        return seq

    def _sealed(self, event: Event) -> Event:
        """``event`` with its personal text sealed under its subject's data key (a new
        key for a subject's first account); as it is if it names no subject."""
        opening = isinstance(event, AccountOpened)
        structural = self._policy.personal.structural_metadata
        if not opening and not event_has_text(event, structural):
            return event  # nothing to seal: no key to look up
        subject_id = event_subject(event, self._subject_of)
        if subject_id is None:
            return event
        key = self.data_key(subject_id, create=opening)
        return sealed_event(event, lambda text: seal(key, subject_id, text), structural)

    def _subject_moved(self, subject_id: str, seq: int, event: Event) -> None:
        found = self.subject(subject_id) or Subject(subject_id)
        self._store._subjects[subject_id] = applied(found, event, seq, self._recorded_us)
        self._subjects_touched.add(subject_id)

    def _project(self, seq: int, effective_us: int, event: Event) -> None:
        """The inline projection: fold one event into accounts, postings and subjects."""
        cache = self._store._accounts
        if isinstance(event, MoneyEvent):
            touched, rows = self._touched, self._postings
            for leg, p in enumerate(event.postings):
                account_id, side, amount, phase = p.account, p.side, p.amount_minor, p.phase
                account, c = cache.get(account_id) or self._must(account_id)
                after = [c.debits_posted, c.credits_posted, c.debits_pending, c.credits_pending]
                move(after, side, amount, phase)
                if side == "debit" and phase == "posted":
                    self._debits.setdefault(account_id, []).append((effective_us, amount))
                cache[account_id] = (account, Counters(*after))
                touched.add(account_id)
                rows.append((account_id, seq, leg, side, amount, effective_us, *after, phase))
        elif isinstance(event, AccountOpened):
            account = opened(event)
            self._opened.append(
                (
                    event.account,
                    event.account_type,
                    event.currency,
                    int(event.no_overdraft),
                    event.max_balance_minor,
                    account.status.value,
                    _metadata_encoder.encode(event.metadata).decode(),
                    seq,
                    event.subject,
                )
            )
            cache[event.account] = (account, Counters())
            if event.subject is not None:
                self._subject_moved(event.subject, seq, event)
        elif type(event) in CHANGES:
            account_id, values = changes(event)
            account, counters = self._must(account_id)
            cache[account_id] = (changed(account, event), counters)
            self._changes.append((account_id, stored(values)))
            if isinstance(event, AccountClosed) and account.subject is not None:
                self._subject_moved(account.subject, seq, event)
        elif isinstance(event, SubjectErased):
            self._subject_moved(event.subject, seq, event)
            self.erased.append(event.subject)
            self._store._data_keys.pop(event.subject, None)

    def _must(self, account_id: str) -> tuple[Account, Counters]:
        found = self._cached(account_id)
        # decide checked every account it posts to: a miss here is our own bug, not a
        # damaged file, so it is not reported as StoreCorrupt
        assert found is not None, f"an event names {account_id!r}, which has no accounts row"
        return found

    def flush(self) -> None:
        """Write the buffer: one statement per table, in an order the triggers accept."""
        conn = self._conn
        if self._opened:
            conn.executemany(
                "INSERT INTO accounts (id, type, currency, no_overdraft, max_balance_minor,"
                " status, metadata, opened_seq, subject) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self._opened,
            )
        self._flush_subjects()
        for sql, rows in _change_statements("accounts", "id", self._changes):
            conn.executemany(sql, rows)
        if self._events:
            conn.executemany(
                "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", self._events
            )
        if self._postings:
            conn.executemany(
                "INSERT INTO account_postings (account, seq, leg, side, amount_minor,"
                " effective_at, debits_posted, credits_posted, debits_pending,"
                " credits_pending, phase) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                sorted(self._postings),
            )
        if self._commands:
            conn.executemany("INSERT INTO commands VALUES (?, ?, ?, ?)", sorted(self._commands))
        if self._refusals:
            conn.executemany(
                f"INSERT INTO refusals ({_REFUSAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                self._refusal_rows(),
            )
        cache = self._store._accounts
        if self._touched:
            conn.executemany(
                COUNTERS_UPDATE,
                [
                    (c.debits_posted, c.credits_posted, c.debits_pending, c.credits_pending, a)
                    for a, c in ((a, cache[a][1]) for a in sorted(self._touched))
                ],
            )
        if self._events:
            self._store._flushed(self._store._head_row())

    def _flush_subjects(self) -> None:
        """The key store and the subjects: new data keys (each with its subject's row,
        if it has none: a refused command's digest may be keyed with a new subject's
        key), the subjects this transaction moved, and the keys its erasures delete."""
        conn = self._conn
        if self._new_keys:
            conn.executemany(
                "INSERT INTO subject_keys (subject, key_id, wrapped) VALUES (?, ?, ?)",
                self._new_keys,
            )
            conn.executemany(
                "INSERT INTO subjects (subject, accounts, open_accounts) VALUES (?, 0, 0)"
                " ON CONFLICT (subject) DO NOTHING",
                [(subject_id,) for subject_id, _, _ in self._new_keys if subject_id != NAMES],
            )
        if self._subjects_touched:
            cache = self._store._subjects
            conn.executemany(
                "INSERT INTO subjects (subject, accounts, open_accounts, last_closed_at,"
                " erased_seq) VALUES (?, ?, ?, ?, ?) ON CONFLICT (subject) DO UPDATE SET"
                " accounts = excluded.accounts, open_accounts = excluded.open_accounts,"
                " last_closed_at = excluded.last_closed_at, erased_seq = excluded.erased_seq",
                [
                    (s.id, s.accounts, s.open_accounts, s.last_closed_us, s.erased_seq)
                    for s in (cache[name] for name in sorted(self._subjects_touched))
                ],
            )
        if self.erased:
            conn.executemany(
                "DELETE FROM subject_keys WHERE subject = ?", [(name,) for name in self.erased]
            )

    def rewrap(self, old: KeyWrapper, new: KeyWrapper) -> int:
        """Wrap every key of the key store with ``new``, each unwrapped with ``old``; the
        number rewrapped (:meth:`SqlStore.rewrap`)."""
        path = self._store.path
        updates = []
        for name, key_id, wrapped in self._conn.execute(
            "SELECT subject, key_id, wrapped FROM subject_keys ORDER BY subject"
        ).fetchall():
            key = _unwrapped(old, name, (key_id, wrapped), path)
            updates.append((new.key_id, new.wrap(key, key_context(name)), name))
        if updates:
            self._conn.executemany(
                "UPDATE subject_keys SET key_id = ?, wrapped = ? WHERE subject = ?", updates
            )
        return len(updates)

    def insert_refusals(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Write whole rows of the record of refusals, numbered and chained by the caller
        (a sealed copy's, ``ledger.seal``), with the transaction; only into an empty
        record."""
        if self._store._refusal_head_row()[0]:
            raise StoreError(f"{self._store.path}: the record of refusals is not empty")
        self._conn.executemany(
            f"INSERT INTO refusals ({_REFUSAL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
        )
        if rows:
            self._store._refusal_head = (rows[-1][0], rows[-1][8], rows[-1][6])

    def _refusal_rows(self) -> list[tuple[Any, ...]]:
        """The buffered refusals as rows, numbered and chained after the last one; each
        records the head of the log this transaction commits, and a time that never goes
        back along the record (as ``recorded_at`` along the log)."""
        n, previous, last_us = self._store._refusal_head_row()
        head_seq = self._store._head_row()[0]
        recorded_us = max(self._recorded_us, last_us)
        rows = []
        for command_id, digest, rejected in self._refusals:
            n += 1
            fields = (
                n,
                command_id,
                digest,
                str(rejected.code),
                rejected.subject,
                rejected.detail,
                recorded_us,
                head_seq,
            )
            previous = refusal_hash(previous, *fields)
            rows.append((*fields, previous))
        self._store._refusal_head = (n, previous, recorded_us)
        return rows


_IN_CHUNK = 500


def _change_statements(
    table: str, key: str, changes: Sequence[tuple[str, dict[str, Any]]]
) -> list[tuple[str, list[tuple[Any, ...]]]]:
    """The UPDATEs that write account changes (``ledger.state.accounts.changes``) to
    ``table``: each account's changes merged in log order (the last value of each column
    wins), then one statement per set of columns."""
    merged: dict[str, dict[str, Any]] = {}
    for account_id, values in changes:
        merged.setdefault(account_id, {}).update(values)
    grouped: dict[tuple[str, ...], list[tuple[Any, ...]]] = {}
    for account_id, values in merged.items():
        grouped.setdefault(tuple(sorted(values)), []).append(
            (*(values[c] for c in sorted(values)), account_id)
        )
    return [
        (f"UPDATE {table} SET {', '.join(f'{c} = ?' for c in columns)} WHERE {key} = ?", rows)
        for columns, rows in grouped.items()
    ]
