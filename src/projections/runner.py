"""The runner: catches every projection up from its checkpoint, rebuilds what changed.

Read models live in a SQLite database of their own choosing: by default the ledger's own
file (tables ``proj_*`` beside the log), or any other file, or memory. Each projection's
checkpoint — the last ``seq`` it has folded, and its version — sits in
``proj_checkpoints`` and moves in the same transaction as the rows it covers, so a crash
leaves a projection exactly at some checkpoint, never between.

Several runners (threads or processes) may catch the same database up at once: each page
is applied under the file's fair write lock (:mod:`ledger.store.writelock`, the one a
ledger's writers take when the read models share its file) and ``BEGIN IMMEDIATE``, after
the checkpoints are read again inside it, and
a page that no longer starts right after a projection's checkpoint (another runner got
there first, or reset that projection) is dropped and read again, so an event is folded
exactly once, never skipped. Events are read from the ledger outside that lock, in pages
(and reading them takes no lock of the ledger's), and only committed events are ever
read, so a projection never runs ahead of the log. So a fold holds the write lock for one
page at a time, and never waits for the ledger while it does.

Each checkpoint also holds the hash of the event at its seq, and every catch-up first
checks the ledger still has that event there: read models built from another ledger, or
from a log since cut short (a restored backup), are refused (:class:`ReadModelsStale`),
never served.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import tzinfo
from types import TracebackType

import attrs
import sqlite_utils

from ledger import crashpoints
from ledger.book import Ledger, parse_zone
from ledger.chart import Chart
from ledger.errors import InvalidCommand, StoreBusy, StoreCorrupt, StoreError
from ledger.store.base import RecordedEvent
from ledger.store.sqlite import SqliteStore, create_private
from ledger.store.writelock import WriteLock
from projections.base import Database, Projection, canonical_dump, digest, snapshot

PAGE_EVENTS = 1_000
"""Events folded per transaction."""
BUSY_TIMEOUT_MS = 5_000
CONSISTENT_TRIES = 5
"""Catch-ups :meth:`Runner.consistent` makes before giving up on agreeing checkpoints."""
CACHE_KIB = 65_536
"""SQLite's page cache for the read models' connection (64 MiB, as the store's): the
accounts and the index pages a fold touches stay in memory."""

Progress = Callable[[int, int], None]
"""Called after each page with (events folded so far, events to fold in all)."""

_CHECKPOINTS = """
CREATE TABLE IF NOT EXISTS proj_checkpoints (
    name    TEXT    PRIMARY KEY,
    version INTEGER NOT NULL,
    seq     INTEGER NOT NULL,
    hash    TEXT    NOT NULL
)
"""
_UNINDEXED = """
CREATE TABLE IF NOT EXISTS proj_unindexed (
    name TEXT PRIMARY KEY
)
"""
"""The projections made afresh whose secondary indexes are still to be built (when the
catch-up folding them is done): written with the reset, so a fold cut short says so."""


class ReadModelsStale(StoreError):
    """The read models were folded from a log this ledger does not have (another ledger,
    or this one before it was cut short): rebuild them (``Runner.rebuild()``)."""


@attrs.frozen
class Checkpoint:
    """Where projection ``name`` stands: the ``version`` of the code that folded it and
    the last ``seq`` folded, with that event's hash (so read models of another log, or of
    a log since cut short, are recognised)."""

    name: str
    version: int
    seq: int
    hash: str
    """Hex hash of the event at ``seq`` ("" at seq 0)."""


def default_projections() -> tuple[Projection, ...]:
    """One of each read model, in the order they are folded."""
    from projections.cod import CodOrders
    from projections.holds import Holds
    from projections.loans import Loans
    from projections.statements import Statements
    from projections.transactions import Transactions

    return (Statements(), Transactions(), Holds(), CodOrders(), Loans())


def _connect(path: str) -> Database:
    create_private(path)
    try:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
    except sqlite3.Error as exc:
        raise StoreError(f"{path}: cannot open the read models: {exc}") from exc
    return sqlite_utils.Database(conn)


class Runner:
    """The read side of one ledger: its projections, in one database, kept caught up.

    ``Runner(book)`` keeps them in the ledger's own file (in memory for a ``:memory:``
    ledger); ``Runner(book, db="reads.db")`` in another file; ``timezone=`` makes the
    reports cut days in another zone than the ledger's. Reports and views call
    :meth:`catch_up` before they read, so they always reflect the whole committed log.
    ``Runner(book, ":memory:", indexes=False)`` folds into tables without their secondary
    indexes: a rebuild that is only compared, as ``verify`` makes (no fold reads through
    them, the read API's queries do; each index costs every row it holds a write).
    """

    def __init__(
        self,
        book: Ledger,
        db: str | os.PathLike[str] | Database | None = None,
        *,
        projections: Sequence[Projection] | None = None,
        page_events: int = PAGE_EVENTS,
        until: int | None = None,
        timezone: str | tzinfo | None = None,
        indexes: bool = True,
    ) -> None:
        if not isinstance(book, Ledger):
            raise InvalidCommand(f"Runner reads a ledger.Ledger, not {book!r}")
        if type(page_events) is not int or not 1 <= page_events <= 100_000:
            raise InvalidCommand(f"page_events is an int in 1..100000, not {page_events!r}")
        if until is not None and (type(until) is not int or until < 0):
            raise InvalidCommand(f"until is a seq (int >= 0) or None, not {until!r}")
        if type(indexes) is not bool or not (indexes or db == ":memory:"):
            raise InvalidCommand(
                f"indexes is True, or False for db=':memory:' only, not {indexes!r} with {db!r}"
            )
        self._indexes = indexes
        """False: the read models' tables without their secondary indexes (a rebuild in
        memory that is only compared, as ``verify`` makes: no fold reads through them)."""
        self._unindexed: set[str] = set()
        """Projections this runner made afresh: their tables get their secondary indexes
        when a catch-up is done, built once over the rows rather than row by row."""
        self.book = book
        self._zone = None if timezone is None else parse_zone(timezone)
        self.until = until
        """Never fold past this seq: the read models (and every report on them) as the
        log stood then, e.g. a report reproduced exactly as it was filed."""
        self._owns_db = not isinstance(db, sqlite_utils.Database)
        if db is None:
            store = book.store
            path = store.path if isinstance(store, SqliteStore) and not store.readonly else ""
            self.db = _connect(path or ":memory:")
        elif isinstance(db, sqlite_utils.Database):
            self.db = db
        elif isinstance(db, (str, os.PathLike)):
            self.db = _connect(os.fspath(db))
        else:
            raise InvalidCommand(f"db is a path, a sqlite_utils.Database or None, not {db!r}")
        own = self._path()
        self._lock = WriteLock(own) if own else None
        self.projections = tuple(default_projections() if projections is None else projections)
        names = [p.name for p in self.projections]
        if len(set(names)) != len(names):
            raise InvalidCommand(f"two projections share a name: {names}")
        self._page = page_events
        self._prepare()
        if until is not None and any(c.seq > until for c in self.checkpoints().values()):
            self.close()
            raise InvalidCommand(
                f"these read models are folded past seq {until}: pin a runner to a past seq "
                "on a fresh database (db=':memory:' or a new file)"
            )

    # --- context manager ----------------------------------------------------------------

    def __enter__(self) -> Runner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the read models' connection, if this runner opened it (giving the tables
        it made their indexes first, if no catch-up has)."""
        try:
            self._index_made()
        finally:
            if self._lock is not None:
                self._lock.close()
                self._lock = None
            if self._owns_db:
                self.db.conn.close()

    def _index_made(self) -> None:
        """Give the projections this runner made afresh their secondary indexes."""
        if self._unindexed:
            with self._write():
                for p in self.projections:
                    if p.name in self._unindexed:
                        p.create_indexes(self.db)
                        self.db.execute("DELETE FROM proj_unindexed WHERE name = ?", (p.name,))
            self._unindexed.clear()

    @property
    def chart(self) -> Chart:
        return self.book.chart

    @property
    def timezone(self) -> tzinfo:
        """The zone the reports cut days in: the ledger's, unless this runner was given
        another (a report then says which it used in its parameters)."""
        return self.book.policy.timezone if self._zone is None else self._zone

    # --- checkpoints --------------------------------------------------------------------

    def _prepare(self) -> None:
        """Create what is missing; drop and recreate a projection whose version changed
        or whose tables are gone (it then folds again from seq 1)."""
        with self._write():
            columns = {r[1] for r in self.db.execute("PRAGMA table_info(proj_checkpoints)")}
            if columns and "hash" not in columns:  # written before checkpoints kept hashes
                self.db.execute("DROP TABLE proj_checkpoints")
            self.db.execute(_CHECKPOINTS)
            self.db.execute(_UNINDEXED)
            pending = {row[0] for row in self.db.execute("SELECT name FROM proj_unindexed")}
            known = self._read_checkpoints()
            tables = set(self.db.table_names())
            for p in self.projections:
                found = known.get(p.name)
                intact = all(t.name in tables for t in p.tables)
                if found is None or found.version != p.version or not intact:
                    self._reset(p)
                elif p.name in pending and self._indexes:  # a first fold cut short
                    self._unindexed.add(p.name)

    def _reset(self, projection: Projection) -> None:
        projection.drop(self.db)
        projection.create(self.db)
        if self._indexes:
            self._unindexed.add(projection.name)
            self.db.execute(
                "INSERT OR REPLACE INTO proj_unindexed (name) VALUES (?)", (projection.name,)
            )
        self.db.execute(
            "INSERT OR REPLACE INTO proj_checkpoints (name, version, seq, hash)"
            " VALUES (?, ?, 0, '')",
            (projection.name, projection.version),
        )

    def _read_checkpoints(self) -> dict[str, Checkpoint]:
        rows = self.db.execute("SELECT name, version, seq, hash FROM proj_checkpoints").fetchall()
        return {row[0]: Checkpoint(*row) for row in rows}

    def checkpoints(self) -> dict[str, Checkpoint]:
        """Each projection's checkpoint: its version and the last seq it has folded."""
        found = self._read_checkpoints()
        return {p.name: found[p.name] for p in self.projections}

    def _write(self) -> _WriteTx:
        return _WriteTx(self.db.conn, self._lock)

    # --- folding ------------------------------------------------------------------------

    def catch_up(self, *, until: int | None = None, progress: Progress | None = None) -> int:
        """Fold every committed event past each projection's checkpoint (up to seq
        ``until`` if given, and never past the runner's own ``until``); return how many
        events were folded into at least one projection's checkpoint range. Safe to run
        from several processes at once. :class:`ReadModelsStale` if a checkpoint names an
        event this ledger does not have."""
        if until is not None and (type(until) is not int or until < 0):
            raise InvalidCommand(f"until is a seq (int >= 0) or None, not {until!r}")
        if self.db.conn.in_transaction:
            raise InvalidCommand("catch_up inside a reading() block: catch up before it")
        head = self.book.head()[0]
        target = min(x for x in (head, until, self.until) if x is not None)
        self._check_anchors(self.checkpoints().values(), head)
        after = min((c.seq for c in self.checkpoints().values()), default=target)
        total = max(0, target - after)
        done = 0
        while after < target:
            page = list(self.book.events(after=after, limit=min(self._page, target - after)))
            if not page or page[0].seq != after + 1:
                raise StoreCorrupt(f"the log has no seq {after + 1}; its head said {head}")
            with self._write():
                current = self._read_checkpoints()
                mine = [current[p.name] for p in self.projections]
                for p, c in zip(self.projections, mine, strict=True):
                    if c.version != p.version:
                        raise StoreError(
                            f"projection {p.name} in this database is version {c.version}, "
                            f"this code folds version {p.version}: run the newer code, or "
                            "open the database again to rebuild it"
                        )
                if min(c.seq for c in mine) != after:
                    # Another runner moved or reset a checkpoint since the page was read:
                    # fold nothing of it, and read again from where they stand now.
                    after = min(c.seq for c in mine)
                    self._check_anchors(mine, head)
                    total = max(total, done + target - after)
                    continue
                for p, c in zip(self.projections, mine, strict=True):
                    self._fold(p, c.seq, page)
                    crashpoints.reach("mid_projection")
            after = page[-1].seq
            done += len(page)
            if progress is not None:
                progress(done, total)
        self._index_made()
        return done

    def _check_anchors(self, checkpoints: Iterable[Checkpoint], head: int) -> None:
        """Every checkpoint's seq must hold, in this ledger, the event it was folded from."""
        for seq, folded_hash in sorted({(c.seq, c.hash) for c in checkpoints if c.seq}):
            found = next(iter(self.book.events(after=seq - 1, limit=1)), None)
            if found is None or found.seq != seq:
                problem = f"this ledger has no seq {seq} (its head is {head})"
            elif found.hash != folded_hash:
                problem = f"this ledger holds another event at seq {seq}"
            else:
                continue
            raise ReadModelsStale(
                f"the read models were folded up to seq {seq}, but {problem}: they belong "
                "to another ledger, or to this one before it was cut short; rebuild them "
                "with Runner.rebuild()"
            )

    def _fold(self, projection: Projection, checkpoint: int, page: list[RecordedEvent]) -> None:
        last = page[-1]
        if checkpoint >= last.seq:
            return
        handles = projection.handles
        projection.apply_page(
            self.db, [r for r in page if r.seq > checkpoint and type(r.event) in handles]
        )
        self.db.execute(
            "UPDATE proj_checkpoints SET seq = ?, hash = ? WHERE name = ?",
            (last.seq, last.hash, projection.name),
        )

    def rebuild(
        self, names: Iterable[str] | None = None, *, progress: Progress | None = None
    ) -> int:
        """Drop the named projections (all if None) and fold them again from seq 1."""
        if isinstance(names, str):
            raise InvalidCommand(f"names is a list of projection names, not the string {names!r}")
        wanted = {p.name for p in self.projections} if names is None else set(names)
        unknown = wanted - {p.name for p in self.projections}
        if unknown:
            raise InvalidCommand(f"no projection named {sorted(unknown)}")
        with self._write():
            for p in self.projections:
                if p.name in wanted:
                    self._reset(p)
        return self.catch_up(progress=progress)

    def rebuild_into(
        self, db: str | os.PathLike[str] | Database, *, progress: Progress | None = None
    ) -> Runner:
        """A new runner over the same ledger, its projections folded from seq 1 into
        ``db`` (a fresh file or memory) up to this runner's checkpoint: what an audit
        compares against this one."""
        own = self._path()
        if isinstance(db, sqlite_utils.Database):
            rows = db.execute("PRAGMA database_list").fetchall()
            other_path = str(next((r[2] for r in rows if r[1] == "main"), ""))
        else:
            other_path = os.fspath(db) if isinstance(db, (str, os.PathLike)) else ""
        same = db is self.db or (
            bool(own)
            and bool(other_path)
            and os.path.exists(other_path)
            and os.path.samefile(other_path, own)
        )
        if same:
            raise InvalidCommand("rebuild_into needs another database than this runner's")
        other = Runner(
            self.book,
            db,
            projections=[type(p)() for p in self.projections],
            page_events=self._page,
            timezone=self._zone,
        )
        with other._write():
            for p in other.projections:
                other._reset(p)  # whatever the target held, it is folded from seq 1
        other.catch_up(until=self.seq, progress=progress)
        return other

    def _path(self) -> str:
        """The file of this runner's database ("" in memory)."""
        rows = self.db.execute("PRAGMA database_list").fetchall()
        return str(next((r[2] for r in rows if r[1] == "main"), ""))

    @contextmanager
    def consistent(self) -> Iterator[int]:
        """Catch up, then one read snapshot in which every projection of this runner
        stands at the same seq, which the block gets: what a report reads in, and the
        ``log_seq`` it records. If other runners (folding other projections, or pinned
        elsewhere) leave this runner's checkpoints apart, it catches up again, a few
        times, then gives up with :class:`StoreBusy`. Inside a ``reading()`` block
        already, it takes that snapshot as it is, if its checkpoints agree."""
        nested = self.db.conn.in_transaction
        for _ in range(CONSISTENT_TRIES):
            if not nested:
                self.catch_up()
            with self.reading():
                seqs = {c.seq for c in self.checkpoints().values()}
                (seq,) = seqs if len(seqs) == 1 else (None,)
                if seq is not None and (self.until is None or seq <= self.until):
                    yield seq
                    return
            if nested:
                break
        if self.until is not None and any(s > self.until for s in seqs):
            raise InvalidCommand(
                f"another runner folded these read models past this runner's seq "
                f"{self.until}: pin runners on a database of their own"
            )
        raise StoreBusy(
            f"the read models' checkpoints stand apart ({sorted(seqs)}), moved by other "
            "runners folding other projections; catch them up, or give this runner a "
            "database of its own"
        )

    def reading(self) -> AbstractContextManager[None]:
        """One consistent read of the read models for the block (what a report runs in,
        after catching up): pages other runners commit meanwhile are not seen."""
        return snapshot(self.db)

    @property
    def seq(self) -> int:
        """The log position every projection has folded up to (the lowest checkpoint)."""
        return min(c.seq for c in self.checkpoints().values())

    # --- comparing ----------------------------------------------------------------------

    def dump(self) -> bytes:
        """The canonical dump of every projection's rows (see :func:`canonical_dump`)."""
        return canonical_dump(self.db, self.projections)

    def digest(self) -> str:
        """SHA-256 of :meth:`dump`: two runners at one checkpoint agree iff it is equal."""
        return digest(self.db, self.projections)


class _WriteTx:
    """The file's write lock, ``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back if the block
    raises."""

    def __init__(self, conn: sqlite3.Connection, lock: WriteLock | None) -> None:
        self._conn = conn
        self._lock = lock

    def __enter__(self) -> None:
        if self._lock is not None:
            self._lock.acquire(BUSY_TIMEOUT_MS / 1000)
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            if self._lock is not None:
                self._lock.release()
            raise StoreError(f"cannot write the read models: {exc}") from exc

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is None:
                self._conn.execute("COMMIT")
            else:
                self._conn.execute("ROLLBACK")
        finally:
            if self._lock is not None:
                self._lock.release()
