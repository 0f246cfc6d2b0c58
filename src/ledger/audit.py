"""Audit checks over a whole ledger: the hash chain, everything refolded, invariants.

Each check returns findings (values) and never stops at the first one: an auditor wants
the full list. The walk runs in one read snapshot, so a ledger that is being written to
meanwhile is audited as of the moment the walk began. ``satang verify`` prints the report.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pickle
import re
import secrets
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence

import attrs

from ledger.accounts import Account, AccountType, Balance, Counters, move
from ledger.book import Ledger
from ledger.errors import (
    FoldError,
    InvalidCommand,
    RejectCode,
    StoreCorrupt,
    StoreError,
    shown,
)
from ledger.events import AccountOpened, BillPaid, Event, MoneyEvent, PeriodClosed, Posting
from ledger.keys import NAMES
from ledger.policy import Policy
from ledger.state.accounts import AccountsFold, totals_by_currency
from ledger.state.cod import fold_order
from ledger.state.holds import fold_hold
from ledger.state.loans import Loan, fold_loan
from ledger.state.subjects import SUBJECT_EVENTS, Subject, SubjectsFold
from ledger.store.base import (
    GENESIS_HASH,
    ROW_DIGESTS_KEYED,
    PostingRow,
    RecordedEvent,
    chain_hash,
    refusal_hash,
    row_digest,
)
from ledger.store.postgres import PostgresStore
from ledger.store.sqlite import MIGRATIONS, SqliteStore, migrate
from ledger.times import from_us, to_us
from projections.base import Projection, Table
from projections.runner import Runner, default_projections

CHECKS = (
    "integrity",
    "schema",
    "readable",
    "gapless",
    "hash_chain",
    "recorded_order",
    "periods",
    "entry_balances",
    "refold",
    "balance_history",
    "commands_index",
    "refusals",
    "accounts_rebuild",
    "subjects",
    "zero_sum",
    "no_overdraft",
    "safeguarded",
    "anchor",
    "states",
    "projections",
)
"""Every check, in the order the walk makes them."""

BUSINESS_CHECKS = ("safeguarded",)
"""The checks whose findings are about the business, not the file or its log: the wallets
not covered by safeguarded cash. The books are whole and say so truthfully; the money is
short. Every other check's finding is an integrity finding: the file is damaged, the log
was tampered with, or what is kept beside it disagrees with it."""

EXIT_OK = 0
"""``satang verify``'s exit status when there is no finding."""
EXIT_INTEGRITY = 1
"""``satang verify``'s exit status when any finding is an integrity finding (whatever else
there is): the file or its log cannot be trusted, which outranks any business finding."""
EXIT_BUSINESS = 3
"""``satang verify``'s exit status when every finding is a business finding (2 is taken:
a usage error, as the command line reports a bad option)."""


@attrs.frozen
class Finding:
    """One thing wrong, with the first log position where it shows (0 if none)."""

    check: str
    seq: int
    detail: str

    @property
    def business(self) -> bool:
        """True if the finding's check is one of :data:`BUSINESS_CHECKS`; any other
        finding (an unknown check too) is an integrity finding."""
        return self.check in BUSINESS_CHECKS


@attrs.frozen
class Report:
    """What one walk of the log found, and the head it walked to."""

    events_checked: int
    head_seq: int
    head_hash: str
    findings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """No finding at all."""
        return not self.findings

    @property
    def integrity_findings(self) -> tuple[Finding, ...]:
        """The findings that say the file or its log is damaged or was tampered with (every
        check but :data:`BUSINESS_CHECKS`), in the order they were found."""
        return tuple(f for f in self.findings if not f.business)

    @property
    def business_findings(self) -> tuple[Finding, ...]:
        """The findings of :data:`BUSINESS_CHECKS`: sound books that show money short."""
        return tuple(f for f in self.findings if f.business)

    @property
    def exit_code(self) -> int:
        """:data:`EXIT_OK` (0) without findings, :data:`EXIT_INTEGRITY` (1) with any
        integrity finding, :data:`EXIT_BUSINESS` (3) when all are business findings: so an
        operator's alerting tells a damaged or tampered file from a shortfall."""
        if self.integrity_findings:
            return EXIT_INTEGRITY
        return EXIT_BUSINESS if self.findings else EXIT_OK


def parse_anchor(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` as ``satang head`` prints it; ValueError if it is not one."""
    seq_text, _, digest = text.partition(":")
    if not (seq_text.isascii() and seq_text.isdigit() and int(seq_text) >= 1):
        raise ValueError(f"an anchor is SEQ:HASH with SEQ >= 1, not {text!r}")
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"an anchor's hash is 64 lowercase hex digits, not {digest!r}")
    return int(seq_text), digest


PROGRESS_EVERY = 1_000
"""Events between two calls of ``verify``'s progress callback."""
PARALLEL_FROM = 20_000
"""Events from which ``verify`` (``processes=None``) runs its side checks in a second
process. Starting one costs about 0.2 s (a Python that imports ``ledger.audit``); at
42,074 events two processes verified in 0.9 to 1.0 s where one took 1.5 to 1.6, and the
side checks are about two fifths of the work."""


def verify(
    book: Ledger,
    *,
    anchor: tuple[int, str] | None = None,
    refusals_anchor: tuple[int, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    processes: int | None = None,
) -> Report:
    """Walk the log once and check everything the store keeps against it.

    In a SQLite file first ``integrity`` (SQLite's own ``PRAGMA integrity_check``: every
    b-tree whole, every index holding exactly its table's rows) and ``schema`` (the
    tables, indexes and triggers are the ones this code creates, the migrations recorded
    as they ran); then ``readable`` (every row decodes), ``gapless`` seq,
    ``hash_chain``, ``recorded_order`` (``recorded_at`` never goes back), ``periods``
    (nothing effective inside a period closed before it was recorded; periods close
    forward only), ``entry_balances`` (per currency), ``refold`` (the log folds: no
    posting to an account never opened), ``balance_history`` (the stored running
    counters that ``balance(as_of=seq)`` reads), ``commands_index`` (the idempotency
    index names exactly the commands of the log, with their seqs), ``refusals`` (the
    record of refusals is numbered 1, 2, 3 … without gaps, each row hashed over the one
    before, each a known code, no id both refused and accepted, times and log heads
    never going back; with ``refusals_anchor``, an ``(n, hex hash)`` from
    ``Ledger.refusals_head()`` recorded earlier, it still holds that row: none removed
    from its end), ``accounts_rebuild`` (attributes, status, counters and the seq of its
    opening inline == refolded), ``zero_sum`` per currency, ``no_overdraft`` (from the
    refolded policy), ``safeguarded`` (the chart's wallets covered by its trust account,
    its cash in transit, ``Chart.in_transit``, and its FX position, when the trust
    account is open: the one business check, :data:`BUSINESS_CHECKS`), ``anchor`` (the
    log still holds the event ``anchor`` names, a ``(seq, hex hash)`` recorded earlier:
    not cut short, not rewritten up to it), ``states`` (holds, COD orders and loans in
    states their flows can reach) and ``projections`` (every read model folds from the
    log, and the ones kept in the ledger's file equal a rebuild to their checkpoint,
    table by table). The last two are made only when every check before them but
    ``integrity`` and ``schema`` is clean.
    ``progress(events walked, events in the log)`` is called every ``PROGRESS_EVERY``
    events and at the end of the walk.

    ``processes=2`` runs ``integrity`` (over the whole file), ``states`` and
    ``projections`` (up to the head the walk began at) in a second Python process beside
    the walk of a SQLite file, on its own read of the file, and the report is the same as
    with ``processes=1`` (all in this one); ``None`` (the default) uses two for a SQLite
    file of :data:`PARALLEL_FROM` events or more where ``os.cpu_count()`` is two or more,
    and one if the second cannot start. Elsewhere (in memory, PostgreSQL) it is one.
    """
    if anchor is not None:
        seq_, digest_ = anchor
        if type(seq_) is not int or seq_ < 1 or not isinstance(digest_, str):
            raise InvalidCommand(f"anchor is (seq >= 1, hex hash), not {anchor!r}")
    if processes is not None and (type(processes) is not int or processes not in (1, 2)):
        raise InvalidCommand(f"processes is 1, 2 or None, not {shown(processes)}")
    with book.snapshot():
        walk = _Walk()
        walk.anchor_seq = 0 if anchor is None else anchor[0]
        walk.refusals_anchor = refusals_anchor
        total, head_hash = book.head()
        sqlite_store = _sqlite_store(book)
        side = _start_side(book, sqlite_store, processes, total, head_hash)
        try:
            if sqlite_store is not None:
                if side is None:
                    walk.findings += _integrity(sqlite_store)
                try:
                    walk.findings += _schema(sqlite_store)
                except StoreCorrupt as exc:  # the schema itself does not read
                    walk.findings.append(Finding("schema", 0, str(exc)))
            elif isinstance(book.store, PostgresStore):
                walk.findings += [Finding("schema", 0, p) for p in book.store.schema_problems()]
            walk.walk_start = len(walk.findings)
            events = book.events()
            complete = True
            while True:
                rec = None
                try:
                    rec = next(events, None)
                    if rec is None:
                        break
                    walk.step(rec)
                    if progress is not None and walk.count % PROGRESS_EVERY == 0:
                        progress(walk.count, total)
                except StoreCorrupt as exc:  # the event that did not read
                    at = exc.seq or (walk.seq + 1 if rec is None else rec.seq)
                    walk.findings.append(Finding("readable", at, str(exc)))
                    complete = False
                    break
            walk.check_history(book, complete=complete)
            if not any(f.check in _FOLD_BROKEN for f in walk.findings):
                try:
                    walk.finish(book)
                except StoreCorrupt as exc:
                    walk.findings.append(Finding("readable", exc.seq or 0, str(exc)))
            if progress is not None:
                progress(walk.count, total)
            if anchor is not None:
                walk.check_anchor(*anchor)
            needed = not walk.log_findings()
            if side is None:
                if needed:
                    walk.findings += _after_walk(
                        lambda: _states(book, total), lambda: _projections(book, total)
                    )
            else:
                integrity, after_walk = side.result(needed=needed)
                walk.findings[:0] = integrity
                walk.findings += after_walk
        finally:
            if side is not None:
                side.close()
        seq, digest = book.head()
    return Report(walk.count, seq, digest, tuple(walk.findings))


def _after_walk(
    states: Callable[[], list[Finding]], projections: Callable[[], list[Finding]]
) -> list[Finding]:
    """``states``, then ``projections`` only if ``states`` found nothing (a stream its
    flow cannot reach makes the read models' fold meaningless): in one process or two."""
    return states() or projections()


def _start_side(
    book: Ledger,
    store: SqliteStore | None,
    processes: int | None,
    head: int,
    head_hash: str,
) -> _Side | None:
    """The second process ``processes`` asks for (see :func:`verify`), started, or None.
    By default one that cannot start leaves every check to this process; asked for
    (``processes=2``), that is a :class:`~ledger.errors.StoreError`."""
    if processes == 1 or store is None or store.path == ":memory:":
        return None
    if processes is None and (head < PARALLEL_FROM or (os.cpu_count() or 1) < 2):
        return None
    try:
        return _Side(store.absolute_path, book.policy, head, head_hash)
    except StoreError:
        if processes == 2:
            raise
        return None


class _Side:
    """``integrity``, ``states`` and ``projections`` in a second Python process, on its
    own read-only connection to the file: ``integrity`` over the whole file, the other
    two up to the head the walk began at (the log only grows, so what it reads up to there
    is what the walk's snapshot holds; it checks that the event at that head has the
    walk's hash first). It runs beside the walk and is asked for its findings after it;
    ``states`` and ``projections`` are only kept if the walk found nothing wrong with the
    log, as when they run after it in one process."""

    def __init__(self, path: str, policy: Policy, head: int, head_hash: str) -> None:
        if not sys.executable or getattr(sys, "frozen", False):
            raise StoreError(
                "verify has no Python to start a second process with (sys.executable is "
                f"{sys.executable!r}); processes=1 runs every check in this one"
            )
        try:
            request = pickle.dumps((path, policy, head, head_hash))
        except Exception as exc:  # a policy holding what cannot be pickled
            raise StoreError(
                f"verify cannot hand this ledger's policy to a second process ({exc!r}); "
                "processes=1 runs every check in this one"
            ) from exc
        # the same packages as this process (its sys.path, not the folder it runs in: -P)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
        self.errors = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close())
        """What the second process says on stderr: a file, so it never blocks on a pipe."""
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-P", "-c", "from ledger.audit import side_main; side_main()"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self.errors,
                env=env,
            )
        except (OSError, ValueError) as exc:
            self.errors.close()
            raise StoreError(
                f"verify cannot start its second process ({exc}); processes=1 runs every"
                " check in this one"
            ) from exc
        assert self.process.stdin is not None
        try:
            with self.process.stdin as pipe:
                pipe.write(request)
        except BrokenPipeError:  # it ended before reading: result() says how
            pass

    def result(self, *, needed: bool) -> tuple[list[Finding], list[Finding]]:
        """The ``integrity`` findings, and (if ``needed``) those of ``states`` then
        ``projections`` as :func:`_after_walk` keeps them; an error the second process met
        in a check that is needed is raised here, as that check would raise it in one
        process. It answers each check as it is done, in that order: what is not needed
        is not waited for (:meth:`close` ends the process)."""
        integrity = self._next()
        if not needed:
            return integrity, []
        return integrity, _after_walk(self._next, self._next)

    def _next(self) -> list[Finding]:
        """The next check's answer: its findings, or what it raised, raised here."""
        assert self.process.stdout is not None
        try:
            blob: bytes = pickle.load(self.process.stdout)
        except Exception as exc:  # it died, or wrote something else: its last words
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()
            self.errors.seek(0)
            said = self.errors.read().decode(errors="replace").strip().splitlines()
            said = said or [repr(exc)]
            raise StoreError(
                f"verify's second process failed (exit {self.process.returncode}): {said[-1]}"
            ) from None
        return _unpacked(blob)

    def close(self) -> None:
        if self.process.poll() is None:  # the walk's process is leaving early: an error
            self.process.kill()
            self.process.wait()
        for pipe in (self.process.stdout, self.process.stdin):
            if pipe is not None:
                pipe.close()
        self.errors.close()


def _unpacked(blob: bytes) -> list[Finding]:
    """One check's answer from the second process: its findings, or what it raised."""
    found: list[Finding] | BaseException = pickle.loads(blob)
    if isinstance(found, BaseException):
        raise found
    return found


def _packed(check: Callable[[], list[Finding]]) -> bytes:
    """One check's findings pickled, or what it raised (if it does not unpickle as it
    is, as a StoreError naming it): the walk's process raises it if it needs the check."""
    try:
        return pickle.dumps(check())
    except Exception as exc:
        try:
            blob = pickle.dumps(exc)
            pickle.loads(blob)
        except Exception:
            blob = pickle.dumps(StoreError(f"{type(exc).__name__}: {exc}"))
        return blob


def side_main() -> None:
    """The second process of :class:`_Side`: reads (path, policy, head, head hash)
    pickled from stdin and writes each check's answer (:func:`_packed`) to stdout, one
    pickle each, as soon as it has it: ``integrity``, ``states``, ``projections``."""
    path, policy, head, head_hash = pickle.load(sys.stdin.buffer)
    with Ledger(SqliteStore(path, readonly=True, create=False), policy=policy) as book:
        store = _sqlite_store(book)
        assert store is not None
        at_head = book.store.read_events(head - 1, 1) if head else []
        if head and (not at_head or at_head[0].hash != head_hash):

            def another_log() -> list[Finding]:
                raise StoreError(
                    f"{path}: verify's second process does not find the walk's head "
                    f"(seq {head}, {head_hash}): another file, or a log rewritten meanwhile"
                )

            checks: tuple[Callable[[], list[Finding]], ...] = (another_log,) * 3
        else:
            checks = (
                lambda: _integrity(store),
                lambda: _states(book, head),
                lambda: _projections(book, head),
            )
        for check in checks:
            pickle.dump(_packed(check), sys.stdout.buffer)
            sys.stdout.buffer.flush()


_CODES = frozenset(code.value for code in RejectCode)
INTEGRITY_LINES = 10
"""Lines of SQLite's ``integrity_check`` an ``integrity`` finding quotes, at most."""
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
"""``datetime('now')``, as ``schema_migrations.applied_at`` records when each ran."""
_MASTER = "SELECT type, name, tbl_name, sql FROM sqlite_master"
SchemaObject = tuple[str, str, str | None]
"""A row of ``sqlite_master`` without its name and page: (type, table, SQL)."""


def _sqlite_store(book: Ledger) -> SqliteStore | None:
    store = book.store
    return store if isinstance(store, SqliteStore) else None


def _integrity(store: SqliteStore) -> list[Finding]:
    """SQLite's own check of the file: a damaged page, a b-tree out of order, an index
    entry its table does not hold (which every read through that index would get wrong,
    ``balance(as_of=time)`` for one) or a table row its indexes miss. On a connection of
    its own, read-only: a page too damaged for the check to walk fails the transaction it
    runs in, and the walk's snapshot must go on to report the rest."""
    if store.path == ":memory:":
        return []
    try:
        conn = sqlite3.connect(store.read_uri, uri=True)
        try:
            lines = [str(r[0]) for r in conn.execute(f"PRAGMA integrity_check({INTEGRITY_LINES})")]
        finally:
            conn.close()
    except (sqlite3.Error, UnicodeDecodeError) as exc:  # the latter: a message quoting damage
        return [Finding("integrity", 0, f"SQLite cannot check the file: {exc}")]
    if lines == ["ok"]:
        return []
    return [Finding("integrity", 0, "SQLite's integrity_check: " + "; ".join(lines))]


@functools.cache
def _expected_schema(
    version: int,
) -> tuple[dict[str, SchemaObject], dict[str, dict[str, SchemaObject]]]:
    """What this code creates: the store's objects by name, as its migrations up to
    ``version`` make them (a read-only file is read at the schema it has), and the read
    models' objects by table and name (made once, in memory)."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        migrate(conn, [m for m in MIGRATIONS if m[0] <= version])
        store = {name: (kind, table, sql) for kind, name, table, sql in conn.execute(_MASTER)}
    finally:
        conn.close()
    with Ledger.open(":memory:") as blank, Runner(blank) as fresh:
        fresh.catch_up()  # a caught-up runner's tables have their indexes
        models: dict[str, dict[str, SchemaObject]] = {}
        for kind, name, table, sql in fresh.db.execute(_MASTER):
            models.setdefault(table, {})[name] = (kind, table, sql)
    return store, models


def _schema(store: SqliteStore) -> list[Finding]:
    """The file's tables, indexes and triggers are exactly those this code creates, SQL
    text and all (a changed trigger no longer refuses an UPDATE of the log; a changed
    column type stores the next rows otherwise): the store's own, and those of each read
    model kept in the file at this code's version (another version is rebuilt when a
    Runner opens the file). Each migration is recorded once, in order, with its name and
    the time it ran."""
    findings: list[Finding] = []
    mine, models = _expected_schema(store.schema_version)
    live = {name: (kind, table, sql) for kind, name, table, sql in store.execute(_MASTER)}
    expected = dict(mine)
    optional: set[str] = set()
    """Indexes of a read model whose first fold has not finished: built at its end."""
    if "proj_checkpoints" in live:
        expected.update(models.get("proj_checkpoints", {}))
        versions = dict(store.execute("SELECT name, version FROM proj_checkpoints"))
        pending: set[object] = set()
        if "proj_unindexed" in live:  # made by a runner of this code (older ones had none)
            expected.update(models.get("proj_unindexed", {}))
            pending = {row[0] for row in store.execute("SELECT name FROM proj_unindexed")}
        for p in default_projections():
            if versions.get(p.name) == p.version:
                for table in p.tables:
                    made = models.get(table.name, {})
                    expected.update(made)
                    if p.name in pending:
                        optional |= {n for n, o in made.items() if o[0] == "index" and o[2]}
    tables = {table for _, table, _ in expected.values()}
    for name, want in sorted(expected.items(), key=repr):
        got = live.get(name)
        if name in optional and got is None:
            continue
        if got != want:
            found = "missing" if got is None else f"{got}, not {want}"
            findings.append(Finding("schema", 0, f"{want[0]} {name}: {found}"))
    for name, got in sorted(live.items(), key=repr):
        if name not in expected and got[1] in tables:
            findings.append(
                Finding("schema", 0, f"{got[0]} {name!r} on {got[1]!r}: not made by this code")
            )
    recorded = store.execute("SELECT version, name, applied_at FROM schema_migrations ORDER BY 1")
    ran = [(v, n) for v, n, _ in MIGRATIONS if v <= store.schema_version]
    well_formed = all(
        type(v) is int and type(n) is str and type(at) is str and _TIMESTAMP.fullmatch(at)
        for v, n, at in recorded
    )
    if not well_formed or [(v, n) for v, n, _ in recorded] != ran:
        findings.append(Finding("schema", 0, f"schema_migrations holds {recorded}, not {ran}"))
    return findings


def _states(book: Ledger, head: int) -> list[Finding]:
    """Every hold, COD order and loan stream folds by its own rules
    (:mod:`ledger.state`): it starts with its first event, a hold ends at most once and
    captures no more than it held, an order is delivered (or fails) once and moves on
    only from where it stands, a loan folds and owes nothing below zero. A stream that
    breaks a rule is named by the seq of the event at fault."""
    findings: list[Finding] = []
    folds: tuple[tuple[str, Callable[[str, list[Event]], object]], ...] = (
        ("hold:", fold_hold),
        ("order:", fold_order),
        ("loan:", fold_loan),
    )
    for prefix, fold in folds:
        for stream, read in book.store.read_streams(prefix).items():
            rows = [r for r in read if r.seq <= head]  # the walk's snapshot: up to its head
            if not rows:
                continue
            try:
                state = fold(stream.removeprefix(prefix), [r.event for r in rows])
            except FoldError as exc:
                findings.append(Finding("states", rows[exc.index].seq, str(exc)))
                continue
            if isinstance(state, Loan) and (
                min(
                    state.principal_outstanding_minor,
                    state.interest_outstanding_minor,
                    state.default_outstanding_minor,
                )
                < 0
            ):
                findings.append(Finding("states", rows[-1].seq, f"{stream} owes less than nothing"))
    return findings


def _projections(book: Ledger, head: int) -> list[Finding]:
    """Every read model folds from the log; those kept in the ledger's own file equal a
    rebuild up to their checkpoint, table by table (the first differing row is named,
    with its seq). Read only: the file's read models are opened read-only, and the
    rebuild is made in memory."""
    findings: list[Finding] = []
    live = _live_read_models(book)
    try:
        if live is None:
            with Runner(book, ":memory:", indexes=False) as fresh:
                fresh.catch_up(until=head)
            return findings
        checkpoints = {
            name: (version, seq, digest)
            for name, version, seq, digest in live.execute(
                "SELECT name, version, seq, hash FROM proj_checkpoints"
            )
        }
        # read after the checkpoints: a checkpoint is only ever at a committed seq, and
        # the log only grows, so none is past this head unless the log was cut or the
        # checkpoint damaged
        live_head = live.execute("SELECT MAX(seq) FROM events").fetchone()[0] or 0
        by_seq: dict[int, list[Projection]] = {}
        for p in default_projections():
            found = checkpoints.get(p.name)
            if found is None or found[0] != p.version:
                continue  # not there, or another version (rebuilt on opening)
            if type(found[1]) is not int or not 0 <= found[1] <= live_head:
                findings.append(
                    Finding(
                        "projections",
                        0,
                        f"{p.name}: its checkpoint is at seq {found[1]!r}, not in the log"
                        f" (its head is {live_head})",
                    )
                )
            elif found[1] <= head:  # past it: folded after the walk's snapshot began
                by_seq.setdefault(found[1], []).append(p)
        for seq, group in sorted(by_seq.items()):
            with Runner(book, ":memory:", projections=group, until=seq, indexes=False) as fresh:
                fresh.catch_up()
                for p in group:
                    if checkpoints[p.name][2] != (fresh.checkpoints()[p.name].hash if seq else ""):
                        findings.append(
                            Finding(
                                "projections",
                                seq,
                                f"{p.name}: its checkpoint names"
                                " another event at its seq: folded from another log",
                            )
                        )
                        continue
                    for table in p.tables:
                        first = _first_difference(live, fresh.db.conn, table)
                        if first is not None:
                            findings.append(
                                Finding("projections", first[0], f"{table.name}: {first[1]}")
                            )
    except StoreError as exc:  # ReadModelsStale, a damaged log the fold meets
        findings.append(Finding("projections", getattr(exc, "seq", 0) or 0, str(exc)))
    except sqlite3.Error as exc:  # the file's read models are damaged beyond a row
        findings.append(Finding("projections", 0, f"the read models cannot be read: {exc}"))
    finally:
        if live is not None:
            live.close()
    return findings


def _live_read_models(book: Ledger) -> sqlite3.Connection | None:
    """The ledger file's read models, opened read-only, or None if it keeps none."""
    store = book.store
    if not isinstance(store, SqliteStore) or store.path == ":memory:":
        return None
    conn = sqlite3.connect(store.read_uri, uri=True)
    kept = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'proj_checkpoints'"
    ).fetchone()
    if kept is None:
        conn.close()
        return None
    return conn


Row = tuple[object, ...]
"""A row of a read model's table, as SQLite returns it."""


def _first_difference(
    live: sqlite3.Connection, fresh: sqlite3.Connection, table: Table
) -> tuple[int, str] | None:
    """The first row (in primary-key order) where a live table and its rebuild differ, as
    (the seq it names, what differs); None if they are equal."""
    columns = list(table.columns)
    order = ", ".join(f"[{c}]" for c in table.pk)
    select = f"SELECT {', '.join(f'[{c}]' for c in columns)} FROM [{table.name}] ORDER BY {order}"
    try:
        mine = iter(live.execute(select))
        for expected in fresh.execute(select):
            got = next(mine, None)
            if got != expected:
                seqs = [_seq_of(columns, row) for row in (got, expected) if row is not None]
                return min(seqs), f"stored {got}, rebuilt {expected}"
        extra = next(mine, None)
    except sqlite3.Error as exc:  # a dropped or altered table, a damaged page
        return 0, f"unreadable ({exc})"
    if extra is not None:
        return _seq_of(columns, extra), f"a row the log does not give: {extra}"
    return None


def _seq_of(columns: list[str], row: Row) -> int:
    for name in ("seq", "last_seq", "placed_seq", "opened_seq"):
        value = row[columns.index(name)] if name in columns else None
        if isinstance(value, int):
            return value
    return 0


_FILE_CHECKS = {"integrity", "schema"}
"""Findings about the SQLite file rather than the log it holds."""
_FOLD_BROKEN = {"readable", "refold"}
"""Findings after which the refold is partial, so comparing the store with it means nothing."""


def _history_rows(
    postings: Sequence[Posting], seq: int, effective_us: int, running: dict[str, list[int]]
) -> Iterator[tuple[object, ...]]:
    """The rows the balance history must hold for one entry's legs, as
    :class:`~ledger.store.base.PostingRow` holds them, moving ``running`` (each account's
    four counters) as it goes."""
    for leg, p in enumerate(postings):
        counters = running.get(p.account)
        if counters is None:
            counters = running[p.account] = [0, 0, 0, 0]
        move(counters, p.side, p.amount_minor, p.phase)
        yield (
            p.account,
            seq,
            leg,
            p.side,
            p.amount_minor,
            effective_us,
            counters[0],
            counters[1],
            counters[2],
            counters[3],
            p.phase,
        )


class _Walk:
    """One pass over the log: the chain, each entry, the fold and the balance history."""

    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.previous = GENESIS_HASH
        self.seq = 0
        self.recorded_us = 0
        self.count = 0
        self.running: dict[str, list[int]] = {}
        """Each account's four counters as the history must hold them after each leg."""
        self.salt = secrets.randbits(64)
        """Mixed into every row digest (:func:`~ledger.store.base.row_digest`) of the
        multiset checks: new on every walk."""
        self.history_rows = 0
        self.history_sum = 0
        """How many rows the balance history must hold, and the sum of their hashes."""
        self.run: tuple[str, int, int] | None = None
        """The command whose events the walk is in: (id, first seq, last seq so far)."""
        self.commands = 0
        self.commands_sum = 0
        """The runs of one command's events, and the sum of their digests."""
        self.log_firsts: dict[str, int] | None = None
        """Each command's first seq in the log, where the index was compared command by
        command (else the index holds exactly the log's)."""
        self.walk_start = 0
        """Where the findings of the walk begin (after those about the file)."""
        self.fold = AccountsFold()
        self.subjects = SubjectsFold()
        self.keyed_bill = 0
        """The seq of the first bill named by a keyed name (the names key must be kept)."""
        self.hashes_at: dict[int, str] = {}
        self.anchor_seq = 0
        self.refusals_anchor: tuple[int, str] | None = None
        self.refusals_anchored: str | None = None
        self.opened_at: dict[str, int] = {}
        self.closed_us = 0

    def check_anchor(self, seq: int, digest: str) -> None:
        """The anchor's event is still in the log, with its hash."""
        found = self.hashes_at.get(seq)
        if seq > self.seq:
            self._found(
                "anchor",
                self.seq + 1,
                f"the log ends at seq {self.seq}, before the anchor's seq {seq}: cut short",
            )
        elif found != digest:
            self._found(
                "anchor",
                seq,
                f"seq {seq} hashes to {found}, not the anchor's {digest}: the log was rewritten"
                " at or before it",
            )

    def step(self, rec: RecordedEvent) -> None:
        self.count += 1
        if rec.seq != self.seq + 1:  # named by the first seq missing (or out of place)
            self._found("gapless", self.seq + 1, f"expected seq {self.seq + 1}, found {rec.seq}")
        self.seq = rec.seq
        recorded_us, effective_us = rec.recorded_at_us, rec.effective_at_us
        recomputed = chain_hash(
            self.previous,
            rec.seq,
            rec.stream,
            rec.version,
            rec.command_id,
            rec.type,
            rec.schema,
            recorded_us,
            effective_us,
            rec.payload,
        )
        if recomputed != rec.hash_bytes:
            self._found("hash_chain", rec.seq, "the hash does not match the row")
        self.previous = rec.hash_bytes
        if rec.seq == self.anchor_seq:
            self.hashes_at[rec.seq] = rec.hash
        if recorded_us < self.recorded_us:
            self._found("recorded_order", rec.seq, "recorded_at is before the previous event's")
        self.recorded_us = recorded_us
        if isinstance(rec.event, PeriodClosed):
            if to_us(rec.event.through) <= self.closed_us:
                self._found("periods", rec.seq, "a period closed again, or back in time")
            self.closed_us = max(self.closed_us, to_us(rec.event.through))
        elif effective_us <= self.closed_us:
            self._found(
                "periods",
                rec.seq,
                f"effective {from_us(effective_us).isoformat()}, inside the period closed "
                f"through {from_us(self.closed_us).isoformat()} before it was recorded",
            )
        run = self.run
        if run is not None and run[0] == rec.command_id:
            self.run = (run[0], run[1], rec.seq)
        else:
            self._end_run()
            self.run = (rec.command_id, rec.seq, rec.seq)
        try:
            self.fold.apply(rec.event, rec.seq)
            if isinstance(rec.event, SUBJECT_EVENTS):
                self.subjects.apply(rec.event, rec.seq, recorded_us)
            elif isinstance(rec.event, BillPaid) and not self.keyed_bill and "/#" in rec.stream:
                self.keyed_bill = rec.seq
        except FoldError as exc:
            self._found("refold", rec.seq, str(exc))
        if isinstance(rec.event, AccountOpened):
            self.opened_at.setdefault(rec.event.account, rec.seq)
        if isinstance(rec.event, MoneyEvent):
            self._entry(rec)

    def _entry(self, rec: RecordedEvent) -> None:
        assert isinstance(rec.event, MoneyEvent)
        net: dict[tuple[str, str], int] = {}
        for p in rec.event.postings:
            key = (p.currency, p.phase)
            net[key] = net.get(key, 0) + (p.amount_minor if p.side == "debit" else -p.amount_minor)
        if any(net.values()):
            self._found("entry_balances", rec.seq, f"per currency and phase {net}")
        salt, total = self.salt, 0
        for row in _history_rows(rec.event.postings, rec.seq, rec.effective_at_us, self.running):
            total += row_digest(salt, row)
        self.history_rows += len(rec.event.postings)
        self.history_sum += total

    def _end_run(self) -> None:
        if self.run is not None:
            self.commands += 1
            self.commands_sum += row_digest(self.salt, self.run)

    def check_history(self, book: Ledger, *, complete: bool) -> None:
        """The balance history holds exactly the rows the log gives up to the last event
        walked: the same number of rows and the same sum of their keyed digests
        (:func:`~ledger.store.base.row_digest`), read in the table's own order (a sort of
        every posting by seq is what made the audit slow down as the log grew). Where they
        differ, a row does not read, or this process's hash key is not secret, the history
        is read again in seq order beside the log, row by row, to name the first row that
        differs at its seq. ``complete``: the walk read the log to its head, so every row
        of the history is read (one past it, or with a seq of another type, is a row
        without a posting); else only those up to the last event walked."""
        stored = None
        if ROW_DIGESTS_KEYED:  # else anyone could know each row's hash: compare them all
            with contextlib.suppress(StoreCorrupt):  # a row that does not read: see below
                through = None if complete else self.seq
                stored = book.store.history_digest(self.salt, through)
        if stored != (self.history_rows, self.history_sum):
            self._history_exact(book, complete)

    def _history_exact(self, book: Ledger, complete: bool) -> None:
        """The history read in seq order beside the log, row by row: the first row that
        differs from the one the log gives, or does not read, is named at its seq."""
        stored = book.store.posting_rows()
        try:
            self._compare_history(book, stored, complete)
        finally:
            stored.close()

    def _compare_history(self, book: Ledger, stored: Iterator[PostingRow], complete: bool) -> None:
        running: dict[str, list[int]] = {}
        seq = 0
        try:
            for rec in book.events():
                seq = rec.seq
                if seq > self.seq:
                    break
                if not isinstance(rec.event, MoneyEvent):
                    continue
                rows = _history_rows(rec.event.postings, seq, rec.effective_at_us, running)
                for leg, expected in enumerate(rows):
                    try:
                        got = next(stored, None)
                    except StoreCorrupt as exc:  # a row of the history that does not read
                        self._place(Finding("readable", exc.seq or seq, str(exc)))
                        return
                    # column for column: a value of another type (text, a blob, NULL, a
                    # fraction) is not equal to the integer it should be; SQLite's INTEGER
                    # affinity stores '5' and 5.0 as the integer 5 itself
                    if got is None or got != expected:
                        found = Finding("balance_history", seq, f"leg {leg}: stored row {got}")
                        self._place(found)
                        return
        except StoreCorrupt:  # an event the walk could not read, and said so: stop there
            return
        try:
            extra = next(stored, None)
        except StoreCorrupt as exc:  # a row past the last posting that does not read
            self._place(Finding("readable", exc.seq or self.seq, str(exc)))
            return
        if extra is not None and (
            complete or not (type(extra.seq) is int and extra.seq > self.seq)
        ):
            # (not complete: the rows past the last event walked are the log's unread ones)
            at = extra.seq if type(extra.seq) is int else self.seq
            self._place(Finding("balance_history", at, f"a row without a posting: {extra}"))

    def _place(self, finding: Finding) -> None:
        """Put a finding of the history among the walk's at its seq, where comparing each
        entry's rows as the walk went would have found it."""
        at = len(self.findings)
        while at > self.walk_start and self.findings[at - 1].seq > finding.seq:
            at -= 1
        self.findings.insert(at, finding)

    def finish(self, book: Ledger) -> None:
        """The comparisons that need the whole fold: index, refusals, accounts."""
        try:
            refusals = self._refusals(book)
        except StoreCorrupt:  # a refusal that does not read: the index is checked first
            self._commands(book, set())
            raise
        asked = {item[0] for item in refusals if isinstance(item, tuple)}
        accepted = self._commands(book, asked)
        for item in refusals:
            if isinstance(item, Finding):
                self.findings.append(item)
            elif item[0] in accepted:
                self._found("refusals", item[2], f"{item[1]}: the id was accepted too")
        refolded = self.fold.accounts()
        inline: dict[str, tuple[Account, Counters]] = {
            a.id: (a, c) for a, c in book.store.accounts()
        }
        for account in sorted(set(refolded) | set(inline)):
            if refolded.get(account) != inline.get(account):
                self._found(
                    "accounts_rebuild",
                    0,
                    f"{account}: inline {inline.get(account)} != refolded {refolded.get(account)}",
                )
        self._subjects(book)
        sqlite_store = _sqlite_store(book)
        if sqlite_store is not None:
            self._sqlite_rows(sqlite_store)
        balances = self.fold.balances()
        for currency, total in sorted(totals_by_currency(balances.values()).items()):
            if total:
                self._found("zero_sum", 0, f"{currency} accounts sum to {total}")
        for account_id, (opened, _) in refolded.items():
            if opened.no_overdraft and balances[account_id].available < 0:
                self._found(
                    "no_overdraft", 0, f"{account_id} available {balances[account_id].available}"
                )
        self._safeguarded(book, refolded, balances)

    def _subjects(self, book: Ledger) -> None:
        """The store's subjects are the log's, and its key store holds a data key for
        every subject not erased and none for an erased one. A subject the log does not
        name is one a refused command's digest made a key for: it has no accounts, and
        its key."""
        folded = self.subjects.subjects()
        stored = {s.id: s for s in book.store.subjects()}
        key_rows = book.store.key_rows()
        masters = sorted({key_id for _, key_id, _ in key_rows})
        if len(masters) > 1:
            self._found(
                "subjects",
                0,
                f"the key store holds keys wrapped by {len(masters)} master keys "
                f"({', '.join(masters)}): no one master key opens them all",
            )
        rows = {subject for subject, _, _ in key_rows}
        if self.keyed_bill and NAMES not in rows:
            self._found(
                "subjects",
                self.keyed_bill,
                "a bill is named by a keyed name, and the names key is gone from the key store",
            )
        keyed = rows - {NAMES}
        for name in sorted(set(folded) | set(stored)):
            mine, theirs = folded.get(name), stored.get(name)
            if mine is None and theirs is not None:
                if theirs != Subject(name) or name not in keyed:
                    self._found("subjects", 0, f"{name}: stored {theirs}, the log names none")
                continue
            if mine != theirs:
                self._found("subjects", 0, f"{name}: stored {theirs} != refolded {mine}")
            if mine is not None and mine.erased and name in keyed:
                self._found(
                    "subjects", mine.erased_seq or 0, f"{name} was erased, its data key was not"
                )
            elif mine is not None and not mine.erased and name not in keyed:
                self._found("subjects", 0, f"{name} has no data key in the key store")
        for name in sorted(keyed - set(stored)):
            self._found("subjects", 0, f"the key store holds a key of {name}, no subject")

    def _commands(self, book: Ledger, asked: set[str]) -> set[str]:
        """The idempotency index names exactly the commands of the log, each with the seqs
        of its first and last event: the same number of rows and the same sum of keyed
        digests as the runs of one command's events the walk saw, read in the index's own
        order. Where they differ (or the hash key is not secret), both are read again and
        compared command by command, to name each that differs. The ids of ``asked`` (the
        refused ones) that the index or the log holds: they were accepted too."""
        self._end_run()
        self.run = None
        accepted: set[str] = set()
        rows = total = 0
        for cid, first, last in book.store.command_rows():
            rows += 1
            total += row_digest(self.salt, (cid, first, last))
            if cid in asked:
                accepted.add(cid)
        if not ROW_DIGESTS_KEYED or (rows, total) != (self.commands, self.commands_sum):
            log: dict[str, tuple[int, int]] = {}
            for rec in book.events():
                if rec.seq > self.seq:
                    break
                first, _ = log.get(rec.command_id, (rec.seq, rec.seq))
                log[rec.command_id] = (first, rec.seq)
            indexed = {cid: (first, last) for cid, first, last in book.store.command_rows()}
            for cid in sorted(set(indexed) | set(log), key=repr):
                if indexed.get(cid) != log.get(cid):
                    self._found(
                        "commands_index",
                        (log.get(cid) or indexed.get(cid) or (0, 0))[0],
                        f"{cid!r}: index says {indexed.get(cid)}, log says {log.get(cid)}",
                    )
            accepted = asked & (set(indexed) | set(log))
            self.log_firsts = {cid: first for cid, (first, _) in log.items()}
        return accepted

    def _refusals(self, book: Ledger) -> list[Finding | tuple[str, str, int]]:
        """The record of refusals: its chain, its numbering, its codes, digests and times
        (see ``verify``). Its findings in order, with a (command id, where, head seq) slot
        where each refusal's "accepted too" finding stands if :meth:`_commands` finds its
        id in the index or the log."""
        out: list[Finding | tuple[str, str, int]] = []

        def found(check: str, seq: int, detail: str) -> None:
            out.append(Finding(check, seq, detail))

        previous, n, recorded_at, head_seq = GENESIS_HASH, 0, 0, 0
        for row in book.store.refusal_rows():
            where = f"refusal n {row.n} ({row.command_id!r})"
            if row.n != n + 1:
                found("refusals", row.head_seq, f"{where} follows n {n}: a gap")
            expected = refusal_hash(
                previous,
                row.n,
                row.command_id,
                row.digest,
                row.code,
                row.subject,
                row.detail,
                row.recorded_at_us,
                row.head_seq,
            )
            if row.hash != expected:
                found(
                    "refusals",
                    row.head_seq,
                    f"{where} does not chain to the one before: it, or a row before it, was "
                    "changed, removed or inserted",
                )
            if row.code not in _CODES:
                found("refusals", row.head_seq, f"{where} has no reject code {row.code!r}")
            out.append((row.command_id, where, row.head_seq))
            if len(row.digest) != 32:
                found("refusals", row.head_seq, f"{where}: its digest is not 32 bytes")
            if row.recorded_at_us < recorded_at or not head_seq <= row.head_seq <= self.seq:
                found(
                    "refusals",
                    row.head_seq,
                    f"{where} was recorded at {row.recorded_at_us} after head {row.head_seq}, "
                    f"out of order (the one before: {recorded_at}, head {head_seq}; the log "
                    f"ends at {self.seq})",
                )
            previous, n = row.hash, row.n
            recorded_at, head_seq = row.recorded_at_us, row.head_seq
            if self.refusals_anchor is not None and row.n == self.refusals_anchor[0]:
                self.refusals_anchored = row.hash.hex()
        if self.refusals_anchor is not None:
            anchor_n, anchor_hash = self.refusals_anchor
            if self.refusals_anchored is None:
                found(
                    "refusals",
                    0,
                    f"the record of refusals ends at n {n}, before the anchor's n {anchor_n}: "
                    "refusals were removed from its end",
                )
            elif self.refusals_anchored != anchor_hash:
                found(
                    "refusals",
                    0,
                    f"refusal n {anchor_n} hashes to {self.refusals_anchored}, not the "
                    f"anchor's {anchor_hash}: the record was rewritten at or before it",
                )
        return out

    def _sqlite_rows(self, store: SqliteStore) -> None:
        """What the SQLite store keeps beside the rows the store interface reads: each
        account's ``opened_seq`` (the seq of its opening) and metadata as text, and each
        command's digest, 32 bytes (its value is a hash of the command, which the log does
        not hold, so only its form can be checked)."""
        for account, opened_seq, metadata_type in store.execute(
            "SELECT id, opened_seq, typeof(metadata) FROM accounts ORDER BY id"
        ):
            if opened_seq != self.opened_at.get(account) or metadata_type != "text":
                self._found(
                    "accounts_rebuild",
                    0,
                    f"{account!r}: opened_seq {opened_seq!r} (the log opens it at"
                    f" {self.opened_at.get(account)}), metadata stored as {metadata_type}",
                )
        for command_id, first in store.execute(
            "SELECT command_id, first_seq FROM commands WHERE typeof(digest) != 'blob'"
            " OR length(digest) != 32 ORDER BY command_id"
        ):
            at = first if self.log_firsts is None else self.log_firsts.get(command_id, 0)
            at = at if type(at) is int else 0
            self._found("commands_index", at, f"{command_id!r}: its digest is not 32 bytes")

    def _safeguarded(
        self,
        book: Ledger,
        refolded: dict[str, tuple[Account, Counters]],
        balances: dict[str, Balance],
    ) -> None:
        """The chart's wallets (liabilities with no_overdraft in its currency that are no
        COD or loan account) are covered by its trust account, its cash in transit (agents'
        receivables and the accounts the chart declares, :meth:`Chart.in_transit`, as the
        safeguarding report counts them) and its FX position in that currency: the identity
        DOMAIN.md asks to check. Only a ledger with the trust account open."""
        chart = book.chart
        if chart.bank_trust not in refolded:
            return
        wallets = in_transit = 0
        for account_id, (opened, _) in refolded.items():
            if opened.currency != chart.currency:
                continue
            if (
                opened.type is AccountType.LIABILITY
                and opened.no_overdraft
                and not chart.flow_account(account_id)
            ):
                wallets += balances[account_id].balance
            elif (
                chart.in_transit(account_id, opened.type, opened.currency)
                or chart.fx_of(account_id) is not None
            ):
                # cash on its way to the trust; the FX position in this currency, what
                # exchanges moved between this currency's wallets and another's
                in_transit += balances[account_id].balance
        covered = balances[chart.bank_trust].balance + in_transit
        if wallets > covered:
            self._found(
                "safeguarded",
                0,
                f"wallets owe {wallets} {chart.currency} minor units but the trust account, "
                f"cash in transit and the FX position hold {covered}: short by "
                f"{wallets - covered}",
            )

    def log_findings(self) -> list[Finding]:
        """The findings so far but those about the file (``integrity``, ``schema``): a
        damaged index or a dropped trigger leaves the log itself fit to fold."""
        return [f for f in self.findings if f.check not in _FILE_CHECKS]

    def _found(self, check: str, seq: int, detail: str) -> None:
        self.findings.append(Finding(check, seq, detail))
