"""``Ledger``: the one object callers hold. Submit commands, read balances and the log.

Every backend is driven the same way: one write transaction per ``submit_many`` (group
commit); for each command, the idempotency index is consulted, the pure decide function
reads state inside the transaction, and what it proposes is appended together with the
inline balance projection. A rejected command writes nothing.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta, tzinfo
from types import TracebackType
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import msgspec

from ledger.accounts import Account, Balance, is_valid_id
from ledger.commands import Command, canonical_bytes
from ledger.errors import (
    BatchTooLarge,
    InvalidCommand,
    LedgerClosed,
    LedgerError,
    RejectCode,
    UnknownAccount,
    UnknownLoan,
)
from ledger.flows import decide
from ledger.flows.base import CodPolicy, LoanPolicy, Policy
from ledger.flows.chart import Chart
from ledger.flows.loans import Loan, LoanStatus, fold_loan, loan_status, loan_stream
from ledger.results import Accepted, Rejected, Result
from ledger.store.base import RecordedEvent, Store, StoredCommand, Transaction
from ledger.store.postgres import PostgresStore, is_dsn
from ledger.store.sqlite import Durability, SqliteStore
from ledger.times import is_aware, to_us

SUBMIT_MANY_MAX = 8_190
"""Most commands one ``submit_many`` call (one transaction) may carry."""
EVENTS_PAGE = 1_000
"""Events read per page by ``Ledger.events``."""
SEQ_MAX = 2**63 - 1

Clock = Callable[[], datetime]


CLOCK_MIN = datetime(1971, 1, 1, tzinfo=UTC)
CLOCK_MAX = datetime(9998, 1, 1, tzinfo=UTC)
"""The instants a ledger's clock may give: far enough inside the calendar for a month's
limits, a loan's schedule and the policy windows around them."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _zone(timezone: str | tzinfo) -> tzinfo:
    if isinstance(timezone, tzinfo):
        try:
            if datetime(2000, 1, 1, tzinfo=timezone).utcoffset() is None:
                raise ValueError("it gives no UTC offset")
        except (NotImplementedError, ValueError, TypeError, OverflowError) as exc:
            raise InvalidCommand(
                f"timezone {timezone!r} is not a usable tzinfo ({exc}); give an IANA name "
                "such as 'Asia/Bangkok'"
            ) from exc
        return timezone
    if not isinstance(timezone, str):
        raise InvalidCommand(f"timezone is an IANA name or a tzinfo, not {timezone!r}")
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: "America", a dir
        raise InvalidCommand(
            f"unknown time zone {timezone!r}; give an IANA name such as 'Asia/Bangkok'"
        ) from exc


class Ledger:
    """An open ledger. Use ``Ledger.open(...)`` as a context manager.

    One ``Ledger`` may be shared by threads (calls are serialised); several processes
    may open the same SQLite file and write to it at once.
    """

    def __init__(self, store: Store, *, clock: Clock | None = None, policy: Policy | None = None):
        self._store = store
        self._clock = clock or _utc_now
        self._policy = policy or Policy()
        self._lock = threading.RLock()
        self._closed = False

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        clock: Clock | None = None,
        durability: Durability = "full",
        busy_timeout_ms: int = 5_000,
        backdate_limit: timedelta | None = None,
        create: bool = True,
        chart: Chart | None = None,
        timezone: str | tzinfo = "Asia/Bangkok",
        cod: CodPolicy | None = None,
        loans: LoanPolicy | None = None,
    ) -> Ledger:
        """Open the ledger at ``path`` (a new one if the file is missing or empty, unless
        ``create=False``); ``":memory:"`` for tests; a ``postgresql://`` connection string
        for PostgreSQL (the ``postgres`` extra; the ledger lives in the connection's
        ``search_path``: docs/scaling.md).

        ``clock`` returns an aware datetime for ``recorded_at``; ``durability="normal"``
        trades power-loss safety for speed (docs/durability.md). ``chart`` names the
        system accounts the wallet flows post to; ``timezone`` (an IANA name or a tzinfo)
        is where business days start, for daily and monthly limits; ``cod`` holds the
        cash-on-delivery rules (return window, VAT on fees), ``loans`` the micro-loan
        rules (borrower limit, cost cap, default margin, stages, provisioning rates).
        """
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidCommand(f"Ledger.open takes a path or ':memory:', not {path!r}")
        if clock is not None and not callable(clock):
            raise InvalidCommand(f"clock is a function returning an aware datetime, not {clock!r}")
        if backdate_limit is not None and not isinstance(backdate_limit, timedelta):
            raise InvalidCommand(f"backdate_limit is a timedelta, not {backdate_limit!r}")
        if chart is not None and not isinstance(chart, Chart):
            raise InvalidCommand(f"chart is a ledger.flows.Chart, not {chart!r}")
        if cod is not None and not isinstance(cod, CodPolicy):
            raise InvalidCommand(f"cod is a ledger.CodPolicy, not {cod!r}")
        if loans is not None and not isinstance(loans, LoanPolicy):
            raise InvalidCommand(f"loans is a ledger.LoanPolicy, not {loans!r}")
        zone = _zone(timezone)
        policy = Policy(
            backdate_limit=Policy().backdate_limit if backdate_limit is None else backdate_limit,
            chart=chart or Chart(),
            timezone=zone,
            cod=cod or CodPolicy(),
            loans=loans or LoanPolicy(),
        )
        store: Store
        if is_dsn(path):
            store = PostgresStore(
                str(path), durability=durability, busy_timeout_ms=busy_timeout_ms, create=create
            )
        else:
            store = SqliteStore(
                path, durability=durability, busy_timeout_ms=busy_timeout_ms, create=create
            )
        return cls(store, clock=clock, policy=policy)

    # --- context manager ----------------------------------------------------------------

    def __enter__(self) -> Ledger:
        self._check_open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the store; later calls raise :class:`LedgerClosed`. Closing twice is fine."""
        with self._lock:
            if not self._closed:
                self._closed = True
                self._store.close()

    @property
    def policy(self) -> Policy:
        """The rules this ledger was opened with: backdating window, chart, time zone."""
        return self._policy

    @property
    def chart(self) -> Chart:
        """The system accounts the wallet flows post to."""
        return self._policy.chart

    def open_chart(
        self, fx_currencies: Iterable[str] = (), *, cod: bool = False, loans: bool = False
    ) -> list[Result]:
        """Open the chart's system accounts (bank trust, fee income, FX positions for
        ``fx_currencies``, with ``cod`` the cash-on-delivery accounts and with ``loans``
        the micro-loan ones) in one transaction. Safe to call on every start: an account
        already open with these attributes is answered ``account_exists`` or, for the
        same command, an idempotent replay; nothing is written twice."""
        return self.submit_many(
            self._policy.chart.system_accounts(fx_currencies, cod=cod, loans=loans)
        )

    @property
    def store(self) -> Store:
        self._check_open()
        return self._store

    def _check_open(self) -> None:
        if self._closed:
            raise LedgerClosed("this Ledger is closed; open it again with Ledger.open(path)")

    # --- writing ------------------------------------------------------------------------

    def submit(self, command: Command) -> Result:
        """Decide and, if accepted, durably append one command."""
        return self.submit_many([command])[0]

    def submit_many(self, commands: Iterable[Command], *, linked: bool = False) -> list[Result]:
        """Submit commands in one transaction (group commit); one result per command.

        With ``linked=True`` the batch is all-or-nothing: if any command is rejected,
        nothing is appended and every other new command gets ``linked_command_failed``.
        """
        self._check_open()
        try:
            batch = list(itertools.islice(commands, SUBMIT_MANY_MAX + 1))
        except TypeError as exc:
            raise InvalidCommand(f"submit_many takes an iterable of commands: {exc}") from exc
        if len(batch) > SUBMIT_MANY_MAX:
            raise BatchTooLarge(
                f"more than {SUBMIT_MANY_MAX} commands in one batch; split it into batches "
                f"of at most {SUBMIT_MANY_MAX}"
            )
        for command in batch:
            if not isinstance(command, Command):
                raise InvalidCommand(f"submit takes ledger commands, not {command!r}")
        if not batch:
            return []
        with self._lock:
            self._check_open()
            now_us = self._now_us()
            with self._store.transaction(now_us, self._policy) as tx:
                known = tx.find_commands([c.id for c in batch if is_valid_id(c.id)])
                if linked:
                    return self._submit_linked(tx, batch, known)
                return [self._submit_one(tx, command, known) for command in batch]

    def _submit_linked(
        self, tx: Transaction, batch: list[Command], known: dict[str, StoredCommand]
    ) -> list[Result]:
        """All or nothing: on the first rejection, roll back and fail every other command.

        A retry of a command committed before this batch stays ``Accepted`` (it is in the
        log whatever happens here); one of a command appended earlier in this same batch
        is rolled back with it.
        """
        results: list[Result] = []
        written: set[str] = set()
        for command in batch:
            result = self._submit_one(tx, command, known)
            results.append(result)
            if isinstance(result, Accepted) and not result.replayed:
                written.add(result.id)
            if isinstance(result, Rejected):
                tx.abort()
                failed = f"{command.id!r} in the linked batch was rejected ({result.code})"
                return [
                    r
                    if isinstance(r, Rejected) or (r.replayed and r.id not in written)
                    else Rejected(RejectCode.LINKED_COMMAND_FAILED, failed, r.id)
                    for r in results
                ] + [
                    Rejected(RejectCode.LINKED_COMMAND_FAILED, failed, later.id)
                    for later in batch[len(results) :]
                ]
        return results

    def _submit_one(
        self, tx: Transaction, command: Command, known: dict[str, StoredCommand]
    ) -> Result:
        """Decide one command inside the batch's transaction. ``known`` is the
        idempotency index for the batch's ids, kept up to date as commands are appended."""
        if not is_valid_id(command.id):
            return Rejected(
                RejectCode.ID_INVALID,
                f"command id {command.id!r} must be 1..128 of [A-Za-z0-9:_.-]",
                command.id if isinstance(command.id, str) else "",
            )
        try:
            digest = hashlib.sha256(canonical_bytes(command)).digest()
        except (TypeError, msgspec.EncodeError) as exc:  # e.g. a str subclass in a field
            raise InvalidCommand(
                f"{type(command).__name__} {command.id!r} holds a value that is not plain "
                f"data (use str, int, dict, datetime): {exc}"
            ) from exc
        prior = known.get(command.id)
        if prior is not None:
            if prior.digest == digest:
                return Accepted(command.id, prior.last_seq, replayed=True)
            return Rejected(
                RejectCode.IDEMPOTENCY_CONFLICT,
                f"id {command.id!r} was already used by a different command",
                command.id,
            )
        outcome = decide(command, tx)
        if isinstance(outcome, Rejected):
            return attrs.evolve(outcome, id=command.id)
        assert outcome, f"{type(command).__name__} was accepted with no events to append"
        first_seq = tx.head_seq + 1
        last_seq = tx.append(command.id, digest, outcome)
        known[command.id] = StoredCommand(digest, first_seq, last_seq)
        return Accepted(command.id, last_seq)

    def _now_us(self) -> int:
        now = self._clock()
        if not is_aware(now):
            raise LedgerError(f"the clock must return an aware datetime, it returned {now!r}")
        assert isinstance(now, datetime)
        if not CLOCK_MIN <= now <= CLOCK_MAX:
            raise LedgerError(
                f"the clock returned {now.isoformat()}, outside {CLOCK_MIN.year}..."
                f"{CLOCK_MAX.year}: the calendar arithmetic of limits and loans needs room"
            )
        return to_us(now)

    # --- reading ------------------------------------------------------------------------

    def account(self, account_id: str) -> Account:
        """The account's attributes and status; :class:`UnknownAccount` if never opened."""
        with self._lock:
            self._check_open()
            found = self._store.account(account_id) if is_valid_id(account_id) else None
        if found is None:
            raise UnknownAccount(f"no account {account_id!r}; open it with OpenAccount first")
        return found

    def balance(self, account_id: str, as_of: int | datetime | None = None) -> Balance:
        """The account's balance now, after log position ``as_of`` (an int seq), or as of
        effective time ``as_of`` (an aware datetime: postings effective at or before it)."""
        account = self.account(account_id)
        with self._lock:
            if as_of is None:
                counters = self._store.counters(account_id)
            elif isinstance(as_of, datetime):
                if not is_aware(as_of):
                    raise InvalidCommand("balance(as_of=datetime) needs a timezone-aware datetime")
                counters = self._store.counters_at_time(account_id, to_us(as_of))
            elif type(as_of) is int and 0 <= as_of <= SEQ_MAX:
                counters = self._store.counters_at_seq(account_id, as_of)
            else:
                raise InvalidCommand(
                    f"as_of is a seq (int in 0..2**63-1) or an aware datetime, not {as_of!r}"
                )
        return Balance.from_counters(account_id, account.currency, account.normal_side, counters)

    def balances(self) -> list[Balance]:
        """Every account's balance now, by account id."""
        with self._lock:
            self._check_open()
            return [
                Balance.from_counters(a.id, a.currency, a.normal_side, c)
                for a, c in self._store.accounts()
            ]

    def events(self, after: int = 0, limit: int | None = None) -> Iterator[RecordedEvent]:
        """Events with ``seq > after`` in log order, committed ones only.

        Read in pages of ``EVENTS_PAGE``, each under the ledger's lock, so a long read
        neither holds a snapshot for its whole length nor sees another thread's
        uncommitted batch.
        """
        self._check_open()
        if type(after) is not int or not 0 <= after <= SEQ_MAX:
            raise InvalidCommand(f"after is a seq (int in 0..2**63-1), not {after!r}")
        if limit is not None and (type(limit) is not int or limit < 0):
            raise InvalidCommand(f"limit is an int >= 0 or None, not {limit!r}")
        return self._pages(after, limit)

    def _pages(self, after: int, limit: int | None) -> Iterator[RecordedEvent]:
        remaining = limit
        while remaining is None or remaining > 0:
            size = EVENTS_PAGE if remaining is None else min(EVENTS_PAGE, remaining)
            with self._lock:
                self._check_open()
                page = self._store.read_events(after, size)
            yield from page
            if len(page) < size:
                return
            after = page[-1].seq
            if remaining is not None:
                remaining -= len(page)

    # --- loans ----------------------------------------------------------------------

    def today(self) -> date:
        """The business day now, in the ledger's time zone."""
        return (
            datetime.fromtimestamp(self._now_us() / 1_000_000, UTC)
            .astimezone(self._policy.timezone)
            .date()
        )

    def loan(self, loan: str, as_of: date | None = None) -> Loan:
        """Loan ``loan``'s state (schedule, what each installment has accrued and been
        paid, repayments with their allocations), folded from its stream — up to day
        ``as_of`` if given. :class:`UnknownLoan` if it was never disbursed (by then)."""
        if as_of is not None and type(as_of) is not date:
            raise InvalidCommand(f"as_of is a datetime.date or None, not {as_of!r}")
        with self._lock:
            self._check_open()
            stream = loan_stream(loan) if is_valid_id(loan) else ""
            rows = self._store.read_streams(stream).get(stream, []) if stream else []
        found = fold_loan(loan, [r.event for r in rows], as_of)
        if found is None:
            when = "" if as_of is None else f" by {as_of}"
            raise UnknownLoan(f"no loan {loan!r}{when}; disburse it with DisburseLoan")
        return found

    def loans(self, as_of: date | None = None) -> list[LoanStatus]:
        """Every loan disbursed by ``as_of`` (today if None) as it stood on that day:
        days past due, ageing bucket, stage, what is outstanding and due, by loan id.
        ``ledger.flows.loans.ageing`` turns them into the ageing table."""
        if as_of is not None and type(as_of) is not date:
            raise InvalidCommand(f"as_of is a datetime.date or None, not {as_of!r}")
        day = self.today() if as_of is None else as_of
        with self._lock:
            self._check_open()
            streams = self._store.read_streams("loan:")
        statuses = []
        for stream, rows in streams.items():
            found = fold_loan(stream.removeprefix("loan:"), [r.event for r in rows], day)
            if found is not None:
                statuses.append(loan_status(found, day))
        return statuses

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Every read in the block sees one state of the ledger: the last commit before
        it began. Other processes go on writing; this ``Ledger``'s own writers (other
        threads) wait until the block ends. What an audit's walk runs in."""
        with self._lock:
            self._check_open()
            with self._store.snapshot():
                yield

    def head(self) -> tuple[int, str]:
        """The last seq and its hash in hex: an anchor to write down for later audits."""
        with self._lock:
            self._check_open()
            seq, digest = self._store.head()
        return seq, digest.hex()
