"""``Ledger``: the one object callers hold. Submit commands, read balances and the log.

Every backend is driven the same way: one write transaction per ``submit_many`` (group
commit); for each command, the idempotency index and the record of refusals are
consulted, the pure decide function reads state inside the transaction, and what it
proposes is appended together with the inline balance projection. A refused command
appends no event; a refusal ``decide`` reached is recorded against the command's id, so a
retry gets it back (docs/concepts.md).

Locks, outermost first (docs/durability.md, the lock hierarchy): this ``Ledger``'s write
lock (its threads' writes, one at a time), then the store's (for SQLite, the file's fair
write lock, then ``BEGIN IMMEDIATE``). Reads of a SQLite file take none of them.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, date, datetime, timedelta, tzinfo
from types import TracebackType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs
import msgspec

from ledger.accounts import Account, Balance, Counters, is_valid_id
from ledger.chart import Chart
from ledger.commands import Command, OpenAccount, Reverse, canonical_bytes
from ledger.errors import (
    BatchTooLarge,
    InvalidCommand,
    KeyStoreDamaged,
    LedgerClosed,
    LedgerError,
    MasterKeyMissing,
    MasterKeyWrong,
    RejectCode,
    StoreCorrupt,
    StoreError,
    UnknownAccount,
    UnknownLoan,
    UnknownSubject,
    shown,
)
from ledger.events import MoneyEvent, event_json
from ledger.flows import decide
from ledger.groups import Groups, Waiter
from ledger.keys import (
    ERASED,
    NAMES,
    SEALED,
    KeyWrapper,
    keyed_digest,
    opaque_name,
    token_subject,
    unseal,
)
from ledger.personal import (
    SEALED_FROM,
    TEXT_EVENTS,
    blanked,
    command_accounts,
    command_has_text,
    command_subject,
    event_has_text,
    event_subject,
    opened_event,
)
from ledger.personal_ids import (
    mask_personal_numbers,
    personal_id_part,
    personal_id_reason,
    personal_numbers,
)
from ledger.policy import CodPolicy, LoanPolicy, PersonalDataPolicy, Policy
from ledger.results import Accepted, Rejected, Result
from ledger.state.loans import Loan, LoanStatus, fold_loan, loan_status, loan_stream
from ledger.state.subjects import Subject
from ledger.store.base import (
    HistoryLine,
    HistoryOrder,
    RecordedEvent,
    Store,
    StoredCommand,
    StoredRefusal,
    Transaction,
)
from ledger.store.postgres import PostgresStore, is_dsn
from ledger.store.sqlite import Durability, SqliteStore
from ledger.times import from_us, is_aware, to_us

SUBMIT_MANY_MAX = 8_190
"""Most commands one ``submit_many`` call (one transaction) may carry."""
EVENTS_PAGE = 1_000
"""Events read per page by ``Ledger.events``."""
SEQ_MAX = 2**63 - 1
HISTORY_PAGE_MAX = 100_001
"""The most lines one ``history_page`` reads (a statement page of up to 10,000, and one to
tell whether another page follows, with room to spare)."""


def _check_seq(name: str, value: object) -> None:
    if type(value) is not int or not 0 <= value <= SEQ_MAX:
        raise InvalidCommand(f"{name} is a seq (int in 0..2**63-1), not {shown(value)}")


DEFAULT_TIMEZONE = "Asia/Bangkok"
"""The zone a new ledger records when ``Ledger.open`` is given none."""

Clock = Callable[[], datetime]
Known = StoredCommand | StoredRefusal
"""What a batch knows of an id before deciding it: accepted, or refused, before."""


CLOCK_MIN = datetime(1971, 1, 1, tzinfo=UTC)
CLOCK_MAX = datetime(9998, 1, 1, tzinfo=UTC)
"""The instants a ledger's clock may give: far enough inside the calendar for a month's
limits, a loan's schedule and the policy windows around them."""


def _utc_now() -> datetime:
    return datetime.now(UTC)


def parse_zone(timezone: str | tzinfo) -> tzinfo:
    """A zone from an IANA name or a tzinfo; :class:`InvalidCommand` if it is no usable zone."""
    if isinstance(timezone, tzinfo):
        try:
            if datetime(2000, 1, 1, tzinfo=timezone).utcoffset() is None:
                raise ValueError("it gives no UTC offset")
        except (NotImplementedError, ValueError, TypeError, OverflowError) as exc:
            raise InvalidCommand(
                f"timezone {shown(timezone)} is not a usable tzinfo ({exc}); give an IANA "
                "name such as 'Asia/Bangkok'"
            ) from exc
        return timezone
    if not isinstance(timezone, str):
        raise InvalidCommand(f"timezone is an IANA name or a tzinfo, not {shown(timezone)}")
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:  # OSError: "America", a dir
        raise InvalidCommand(
            f"unknown time zone {shown(timezone)}; give an IANA name such as 'Asia/Bangkok'"
        ) from exc


def _ledger_zone(store: Store, asked: tzinfo | None) -> tzinfo:
    """The zone the ledger runs on: the recorded one (``asked`` must agree with it); for
    a new ledger, ``asked`` or the default, recorded now; for a file written before zones
    were recorded, ``asked`` or the default, recorded by nobody but ``record_timezone``."""
    recorded = store.setting("timezone")
    if recorded is not None:
        zone = parse_zone(recorded)
        if asked is not None and not _same_zone(asked, zone):
            raise InvalidCommand(
                f"this ledger's time zone is {recorded}, not {shown(asked)}: a ledger's "
                "zone is recorded when it is made (open it without timezone=, or with its own)"
            )
        return zone
    zone = asked or parse_zone(DEFAULT_TIMEZONE)
    if getattr(store, "created", False) and not store.readonly:
        if not isinstance(zone, ZoneInfo):
            raise InvalidCommand(
                f"a new ledger records its zone by IANA name: give one, not {shown(zone)}"
            )
        recorded = store.record_setting("timezone", zone.key)
        if recorded != zone.key:  # another process made the same file first
            return _ledger_zone(store, asked)
    return zone


def _same_zone(a: tzinfo, b: tzinfo) -> bool:
    if isinstance(a, ZoneInfo) and isinstance(b, ZoneInfo):
        return a.key == b.key
    return a is b


class Ledger:
    """An open ledger. Use ``Ledger.open(...)`` as a context manager.

    One ``Ledger`` may be shared by threads: writes are serialised, and reads of a SQLite
    file run beside them. Several processes may open the same SQLite file and write to it
    at once; they take turns fairly (docs/durability.md, the lock hierarchy).
    """

    def __init__(
        self,
        store: Store,
        *,
        clock: Clock | None = None,
        policy: Policy | None = None,
        master_key: KeyWrapper | None = None,
    ):
        if master_key is not None and not isinstance(master_key, KeyWrapper):
            raise InvalidCommand(
                "master_key is a ledger.MasterKey or another ledger.keys.KeyWrapper, "
                f"not {type(master_key).__name__}"
            )
        self._store = store
        if master_key is not None:
            store.keys = master_key
        self._clock = clock or _utc_now
        self._policy = policy or Policy()
        self._lock = threading.RLock()
        self._closed = False
        self._groups = Groups(self._decide_group)

    def _reading(self) -> AbstractContextManager[object]:
        """What a read holds: nothing where the store reads beside its writer, else the
        write lock (one connection serves both)."""
        return nullcontext() if self._store.concurrent_reads else self._lock

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
        readonly: bool = False,
        chart: Chart | None = None,
        timezone: str | tzinfo | None = None,
        cod: CodPolicy | None = None,
        loans: LoanPolicy | None = None,
        personal: PersonalDataPolicy | None = None,
        master_key: KeyWrapper | None = None,
    ) -> Ledger:
        """Open the ledger at ``path`` (a new one if the file is missing or empty, unless
        ``create=False``); ``":memory:"`` for tests; a ``postgresql://`` connection string
        for PostgreSQL (the ``postgres`` extra; the ledger lives in the connection's
        ``search_path``: docs/scaling.md).

        ``clock`` returns an aware datetime for ``recorded_at``; ``durability="normal"``
        trades power-loss safety for speed (docs/durability.md). ``readonly=True`` writes
        nothing to the ledger (no migration; a read-only copy opens as immutable, and
        nothing appears beside it); every write then raises
        :class:`~ledger.errors.StoreError`. ``chart`` names the system
        accounts the wallet flows post to; ``timezone`` (an IANA name or a tzinfo) is
        where business days start, for daily and monthly limits and the reports' days:
        the ledger records it when it is created (``Asia/Bangkok`` if none is given) and
        uses the recorded one after; another zone than the recorded one is
        :class:`~ledger.errors.InvalidCommand`. ``cod`` holds the cash-on-delivery rules
        (return window, VAT on fees), ``loans`` the micro-loan rules (borrower limit,
        cost cap, default margin, stages, provisioning rates), ``personal`` the personal
        data rules (retention, structural metadata keys, allowed ids). ``master_key``
        wraps the subjects' data keys (:class:`~ledger.keys.MasterKey` from a file or
        the environment, or an operator's :class:`~ledger.keys.KeyWrapper`); without it,
        a command with a subject's personal text raises
        :class:`~ledger.errors.MasterKeyMissing` and writes nothing
        (docs/personal-data.md).
        """
        if not isinstance(path, (str, os.PathLike)):
            raise InvalidCommand(f"Ledger.open takes a path or ':memory:', not {shown(path)}")
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
        if personal is not None and not isinstance(personal, PersonalDataPolicy):
            raise InvalidCommand(f"personal is a ledger.PersonalDataPolicy, not {personal!r}")
        if master_key is not None and not isinstance(master_key, KeyWrapper):
            raise InvalidCommand(
                "master_key is a ledger.MasterKey or another ledger.keys.KeyWrapper, "
                f"not {type(master_key).__name__}"
            )
        if type(readonly) is not bool:
            raise InvalidCommand(f"readonly is True or False, not {shown(readonly)}")
        asked = None if timezone is None else parse_zone(timezone)
        store: Store
        if is_dsn(path):
            store = PostgresStore(
                str(path),
                durability=durability,
                busy_timeout_ms=busy_timeout_ms,
                create=create,
                readonly=readonly,
            )
        else:
            store = SqliteStore(
                path,
                durability=durability,
                busy_timeout_ms=busy_timeout_ms,
                create=create,
                readonly=readonly,
            )
        try:
            zone = _ledger_zone(store, asked)
        except BaseException:
            store.close()
            raise
        policy = Policy(
            backdate_limit=Policy().backdate_limit if backdate_limit is None else backdate_limit,
            chart=chart or Chart(),
            timezone=zone,
            cod=cod or CodPolicy(),
            loans=loans or LoanPolicy(),
            personal=personal or PersonalDataPolicy(),
        )
        return cls(store, clock=clock, policy=policy, master_key=master_key)

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
    def recorded_timezone(self) -> str | None:
        """The IANA name of the zone recorded in the ledger, or None for a file written
        before zones were recorded (:meth:`record_timezone` records one)."""
        with self._reading():
            self._check_open()
            return self._store.setting("timezone")

    def record_timezone(self, zone: str) -> None:
        """Record the ledger's zone, once, in a file that has none (the same zone again is
        nothing to do; another is :class:`~ledger.errors.InvalidCommand`). Reopen the
        ledger to run on it."""
        if not isinstance(zone, str):
            raise InvalidCommand(f"zone is an IANA name, not {shown(zone)}")
        parse_zone(zone)
        with self._lock:
            self._check_open()
            recorded = self._store.record_setting("timezone", zone)
        if recorded != zone:
            raise InvalidCommand(
                f"this ledger's zone is {recorded} already; a ledger's zone is recorded once"
            )

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
        """Decide and, if accepted, durably append one command; its result once it is
        durable. Threads calling this at once share one commit (group commit,
        :mod:`ledger.groups`); each gets its own result, as if it had called alone."""
        self._check_open()
        if not isinstance(command, Command):
            raise InvalidCommand(f"submit takes ledger commands, not {shown(command)}")
        if self._store.holds_snapshot():
            # asked here, on the caller's thread: the group's leader may be another thread
            raise LedgerError(
                "a write cannot start inside a snapshot() of the same Ledger; leave the "
                "snapshot block first, or write through another Ledger"
            )
        # the digest on the caller's thread, before it queues: a command that is not plain
        # data is refused to its caller alone, and no group pays for it
        digest = self._digest(command) if is_valid_id(command.id, remember=False) else None
        return self._groups.submit(command, digest)

    def _decide_group(self, group: list[Waiter]) -> None:
        """Decide a group of single commands in one transaction and answer each waiter.
        A command whose deciding raises is answered with its error and taken out, and the
        others are decided again in a new transaction (nothing of the first remains);
        an error of the whole transaction (the lock, BEGIN, the flush, COMMIT, the store
        failing under a read) answers every waiter left with it."""
        pending = list(group)
        while pending:
            commands = [w.command for w in pending]
            deciding: int | None = None
            try:
                with self._lock:
                    self._check_open()
                    with self._store.transaction(self._now_us(), self._policy) as tx:
                        known = tx.find_commands(
                            [c.id for c in commands if is_valid_id(c.id, remember=False)]
                        )
                        results: list[Result] = []
                        for waiter in pending:
                            deciding = len(results)
                            results.append(
                                self._submit_one(tx, waiter.command, known, digest=waiter.digest)
                            )
                        deciding = None
            except Exception as exc:
                # the group's own failure (the lock, BEGIN, the flush, COMMIT, or the store
                # failing under a read while deciding; a damaged row is one command's):
                # nothing of it was committed
                shared = isinstance(exc, StoreError | LedgerClosed) and not isinstance(
                    exc, StoreCorrupt
                )
                if deciding is None or shared:
                    for waiter in pending:
                        waiter.fail(exc, shared=True)
                    return
                pending.pop(deciding).fail(exc, shared=False)  # this command's own
                continue
            for waiter, result in zip(pending, results, strict=True):
                waiter.result = result
            return

    def submit_many(self, commands: Iterable[Command], *, linked: bool = False) -> list[Result]:
        """Submit commands in one transaction (one commit for all); one result per command.

        With ``linked=True`` the batch is all-or-nothing: if any command is rejected,
        nothing is appended and every other new command gets ``linked_command_failed``.
        """
        self._check_open()
        try:
            batch = list(itertools.islice(commands, SUBMIT_MANY_MAX + 1))
        except TypeError as exc:
            raise InvalidCommand(
                f"submit_many takes an iterable of commands: {shown(str(exc))}"
            ) from exc
        if len(batch) > SUBMIT_MANY_MAX:
            raise BatchTooLarge(
                f"more than {SUBMIT_MANY_MAX} commands in one batch; split it into batches "
                f"of at most {SUBMIT_MANY_MAX}"
            )
        for command in batch:
            if not isinstance(command, Command):
                raise InvalidCommand(f"submit takes ledger commands, not {shown(command)}")
        if not batch:
            return []
        with self._lock:
            self._check_open()
            now_us = self._now_us()
            with self._store.transaction(now_us, self._policy) as tx:
                known = tx.find_commands([c.id for c in batch if is_valid_id(c.id, remember=False)])
                if linked:
                    return self._submit_linked(tx, batch, known)
                return [self._submit_one(tx, command, known) for command in batch]

    def _submit_linked(
        self, tx: Transaction, batch: list[Command], known: dict[str, Known]
    ) -> list[Result]:
        """All or nothing: on the first rejection, roll back and fail every other command.

        A retry of a command committed before this batch stays ``Accepted`` (it is in the
        log whatever happens here); one of a command appended earlier in this same batch
        is rolled back with it. The refusal that failed the batch is recorded against its
        id when it was decided on the committed books, that is when no command of the
        batch had appended anything before it (a retry of the batch then fails the same
        way). One decided on the batch's own appends, which are rolled back, is not: on
        the books as they are it was never refused. The others' ``linked_command_failed``
        is not recorded either: they were never decided on their own.
        """
        results: list[Result] = []
        written: set[str] = set()
        for command in batch:
            result = self._submit_one(tx, command, known, record=not written)
            results.append(result)
            if isinstance(result, Accepted) and not result.replayed:
                written.add(result.id)
            if isinstance(result, Rejected):
                tx.abort()
                failed = f"{shown(command.id)} in the linked batch was rejected ({result.code})"
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
        self,
        tx: Transaction,
        command: Command,
        known: dict[str, Known],
        *,
        record: bool = True,
        digest: bytes | None = None,
    ) -> Result:
        """Decide one command inside the batch's transaction. ``known`` is the
        idempotency index and the record of refusals for the batch's ids, kept up to date
        as commands are appended or refused; a refusal is recorded unless ``record`` is
        False. ``digest``: the command's, if its caller computed it already."""
        if not is_valid_id(command.id, remember=False):
            return Rejected(
                RejectCode.ID_INVALID,
                f"command id {shown(command.id)} must be 1..128 of [A-Za-z0-9:_.-]",
                command.id if isinstance(command.id, str) else "",
                "id",
            )
        personal = (
            None
            if command.id in known  # a retry: the id is in the file already
            else personal_id_part(command.id, self._policy.personal.allowed_ids)
        )
        if personal is not None:  # not recorded: the id would be, in the clear
            return Rejected(
                RejectCode.ID_PERSONAL,
                f"a part of the command id is {personal_id_reason(personal)}: an id stays in "
                "the log in the clear, so it must not be personal data",
                command.id,
                "id",
            )
        plain = self._digest(command) if digest is None else digest
        digest, erased = self._personal_digest(tx, command, plain)
        prior = known.get(command.id)
        if prior is not None:
            if prior.digest != digest and not (
                self._same_command(tx, prior, command, plain)
                or (erased is not None and self._erased_retry(tx, prior, command, erased))
            ):
                return Rejected(
                    RejectCode.IDEMPOTENCY_CONFLICT,
                    f"id {command.id!r} was already used by a different command",
                    command.id,
                    "id",
                )
            if isinstance(prior, StoredRefusal):
                return prior.rejected
            if prior.balances:  # appended earlier in this batch: not readable as history
                return Accepted(command.id, prior.last_seq, replayed=True, balances=prior.balances)
            return self._accepted(tx, command.id, prior.last_seq, replayed=True)
        outcome = decide(command, tx)
        if isinstance(outcome, Rejected):
            rejected = self._masked(tx, attrs.evolve(outcome, id=command.id))
            if record and self._recordable(tx, command, rejected):
                tx.refuse(command.id, digest, rejected)
                known[command.id] = StoredRefusal(digest, attrs.evolve(rejected, replayed=True))
            return rejected
        assert outcome, f"{type(command).__name__} was accepted with no events to append"
        first_seq = tx.head_seq + 1
        last_seq = tx.append(command.id, digest, outcome)
        balances = tx.balances(outcome)
        known[command.id] = StoredCommand(digest, first_seq, last_seq, balances)
        return Accepted(command.id, last_seq, balances=balances)

    def _personal_digest(
        self, tx: Transaction, command: Command, digest: bytes
    ) -> tuple[bytes, str | None]:
        """The digest the index keeps for ``command``, and its subject if it is erased.
        A command with a subject's personal text is keyed with that subject's data key (a
        new subject's first account makes the key), so the digest confirms nothing
        without it. One whose text no key can cover has its personal text taken out
        (:func:`~ledger.personal.blanked`): its subject is erased, or its owner's account
        is not open (it will be refused), or it opens an account for a subject id that
        will be refused. Any other command's (no personal text, or a system account's,
        stored as written) is ``digest``."""
        structural = self._policy.personal.structural_metadata
        if not command_has_text(command, structural):
            return digest, None  # most commands: nothing personal to key
        missing: list[str] = []

        def subject_of(account_id: str) -> str | None:
            found = tx.account(account_id)
            if found is None:
                missing.append(account_id)
                return None
            return found.subject

        subject_id = command_subject(
            command,
            subject_of,
            lambda entry: [
                p.account
                for e in tx.command_events(entry)
                if isinstance(e, MoneyEvent)
                for p in e.postings
            ],
            structural,
        )
        unknown = isinstance(command, Reverse) and not tx.command_events(command.entry_id)
        if missing or unknown:
            # an owner not open (or, of legs, any leg not open): whose text it is, is not
            # known yet
            return self._blanked_digest(command), None
        if subject_id is None:
            return digest, None
        found = tx.subject(subject_id)
        if found is not None and found.erased:
            return self._blanked_digest(command), subject_id
        if isinstance(command, OpenAccount) and (  # a new subject's id, not yet checked
            not is_valid_id(subject_id)
            or personal_id_part(subject_id, self._policy.personal.allowed_ids) is not None
        ):
            return self._blanked_digest(command), None
        key = tx.data_key(subject_id, create=isinstance(command, OpenAccount))
        return keyed_digest(key, digest), None

    def _same_command(self, tx: Transaction, prior: Known, command: Command, plain: bytes) -> bool:
        """Whether ``prior``, whose digest is not the one ``command`` gets now, is still
        this command's: recorded with its personal text taken out (its owner was not open
        then), or carried over by a sealed copy (``ledger.seal``) from a file whose
        personal data was plain: a refusal's digest keyed under the names key, an opened
        account's keyed with the subject the copy gave it. Or recorded plain, before
        personal data was sealed."""
        if prior.digest in (plain, self._blanked_digest(command)):
            return True
        if self._store.setting(SEALED_FROM) is None:
            return False
        try:
            if isinstance(prior, StoredRefusal):
                return prior.digest == keyed_digest(tx.data_key(NAMES), plain)
            if isinstance(command, OpenAccount) and command.subject is None:
                opened = tx.account(command.account)
                if opened is not None and opened.subject is not None:
                    return prior.digest == keyed_digest(tx.data_key(opened.subject), plain)
        except (KeyStoreDamaged, MasterKeyMissing, MasterKeyWrong):
            return False  # no key to compare with: not shown the same
        return False

    def _erased_retry(
        self, tx: Transaction, prior: Known, command: Command, subject_id: str
    ) -> bool:
        """Whether ``prior`` is this command of an erased subject, which can no longer be
        compared by content: an accepted command whose personal text was the subject's,
        on an account the command names. A refusal cannot be told apart: no."""
        if not isinstance(prior, StoredCommand):
            return False
        named = set(command_accounts(command))
        structural = self._policy.personal.structural_metadata

        def subject_of(account_id: str) -> str | None:
            found = tx.account(account_id)
            return None if found is None else found.subject

        events = tx.command_events(command.id)
        carrier = TEXT_EVENTS.get(type(command))
        owned = [
            event_subject(e, subject_of)
            for e in events
            if type(e) is carrier and event_has_text(e, structural)
        ]
        touched = {p.account for e in events if isinstance(e, MoneyEvent) for p in e.postings}
        touched |= {a for e in events if isinstance(a := getattr(e, "account", None), str)}
        return bool(owned) and set(owned) == {subject_id} and bool(named & touched)

    def _masked(self, tx: Transaction, rejected: Rejected) -> Rejected:
        """``rejected`` with every phone number or national ID in its detail written
        ``[number]``, and in its subject unless the subject is an account that exists (an
        old file's id, in the log already)."""
        detail = mask_personal_numbers(rejected.detail)
        subject = rejected.subject
        if personal_numbers(subject) and tx.account(subject) is None:
            subject = mask_personal_numbers(subject)
        if (detail, subject) == (rejected.detail, rejected.subject):
            return rejected
        return attrs.evolve(rejected, detail=detail, subject=subject)

    def _recordable(self, tx: Transaction, command: Command, rejected: Rejected) -> bool:
        """Whether a refusal may be recorded: not if its digest would confirm a phone
        number or national ID outside the command's personal fields (in an id that names
        no account, refused ``id_personal`` or not found): a retry is decided again."""
        if rejected.code is RejectCode.ID_PERSONAL:
            return False
        structural = self._policy.personal.structural_metadata
        text = canonical_bytes(blanked(command, structural)).decode()
        numbers = personal_numbers(text)
        if not numbers:
            return True
        for account_id in command_accounts(command):  # an old file's account: in the log
            if tx.account(account_id) is not None:
                numbers -= personal_numbers(account_id)
        return not numbers

    def _blanked_digest(self, command: Command) -> bytes:
        """The digest of ``command`` with its personal text taken out, in a domain of its
        own: it never equals the plain digest of a command that had no text."""
        blank = blanked(command, self._policy.personal.structural_metadata)
        return hashlib.sha256(b"satang/blanked/1\x00" + canonical_bytes(blank)).digest()

    @staticmethod
    def _digest(command: Command) -> bytes:
        """The command's idempotency digest: SHA-256 of its canonical bytes;
        :class:`InvalidCommand` if a field holds a value that is not plain data."""
        try:
            return hashlib.sha256(canonical_bytes(command)).digest()
        except (TypeError, msgspec.EncodeError) as exc:  # e.g. a str subclass in a field
            raise InvalidCommand(
                f"{type(command).__name__} {command.id!r} holds a value that is not plain "
                f"data (use str, int, dict, datetime): {shown(str(exc))}"
            ) from exc

    def _accepted(
        self, tx: Transaction | None, command_id: str, seq: int, *, replayed: bool
    ) -> Accepted:
        """The answer an accepted command got, with its accounts' balances as of its last
        event (read from the balance history, or from ``tx`` where it wrote them)."""
        balances = []
        accounts = sorted(
            {
                p.account
                for rec in self._command_records(command_id, seq)
                if isinstance(rec.event, MoneyEvent)
                for p in rec.event.postings
            }
        )
        for account_id in accounts:
            found = self._store.account(account_id) if tx is None else tx.account(account_id)
            if found is None:
                raise StoreCorrupt(f"command {command_id!r} posted to {account_id!r}, not open")
            counters = self._store.counters_at_seq(account_id, seq)
            balances.append(
                Balance.from_counters(account_id, found.currency, found.normal_side, counters)
            )
        return Accepted(command_id, seq, replayed=replayed, balances=tuple(balances))

    def _command_records(self, command_id: str, last_seq: int) -> list[RecordedEvent]:
        """The events of one accepted command, ending at ``last_seq``."""
        found = self._store.find_result(command_id)
        first = found.first_seq if isinstance(found, StoredCommand) else last_seq
        return [r for r in self._store.read_events(first - 1, last_seq - first + 1)]

    def result(self, command_id: str) -> Result | None:
        """The answer ``command_id`` got: its ``Accepted`` (with the balances as of it) or
        its recorded ``Rejected``, both with ``replayed=True``; None if no command with
        this id was decided (an invalid id, or a command refused when it was built, never
        reaches ``decide`` and is not recorded). An index lookup, not a scan of the log."""
        if not is_valid_id(command_id, remember=False):
            return None
        with self._reading():
            self._check_open()
            found = self._store.find_result(command_id)
            if isinstance(found, StoredRefusal):
                return found.rejected
            if found is None:
                return None
            return self._accepted(None, command_id, found.last_seq, replayed=True)

    # --- personal data ------------------------------------------------------------------

    def reveal(self, value: str) -> str:
        """A text field as read from the ledger (an event, an account's metadata, a read
        model's row), as its writer wrote it: a sealed value opened with its subject's
        data key, :data:`~ledger.keys.ERASED` if the subject was erased, any other text as it is.
        :class:`~ledger.errors.MasterKeyMissing` if a sealed value needs the master key
        and the ledger was opened without one."""
        self._check_open()
        if not isinstance(value, str):
            raise InvalidCommand(f"reveal takes a str, not {shown(value)}")
        subject_id = token_subject(value)
        if subject_id is None:
            return value
        with self._reading():
            key = self._store.data_key(subject_id)
        return ERASED if key is None else unseal(key, value)

    def subject(self, subject_id: str) -> Subject:
        """The subject: its accounts opened and open, when the last closed, whether it
        was erased. :class:`~ledger.errors.UnknownSubject` if nothing names it."""
        self._check_open()
        with self._reading():
            found = self._store.subject(subject_id) if isinstance(subject_id, str) else None
        if found is None:
            raise UnknownSubject(f"no subject {shown(subject_id)}")
        return found

    def subject_data(self, subject_id: str) -> dict[str, Any]:
        """Everything the ledger holds about a subject, its personal data opened (the
        right of access, PDPA section 30): the subject as the log leaves it, each of its
        accounts with its metadata, and every event of the log that names one of its
        accounts or the subject, with its personal text opened (``[erased]`` once
        erased; another subject's text on a shared event, such as a transfer's memo
        written by its sender, stays ``[sealed]``). Plain data, ready for JSON. It reads
        the whole log, under one snapshot.
        :class:`~ledger.errors.UnknownSubject` if nothing names the subject,
        :class:`~ledger.errors.MasterKeyMissing` without the master key."""
        found = self.subject(subject_id)
        with self.snapshot():
            key = self._store.data_key(subject_id)

            def opened(value: str) -> str:
                owner = token_subject(value)
                if owner is None:
                    return value
                if owner != subject_id:
                    return SEALED  # another customer's, on an event both are part of
                return ERASED if key is None else unseal(key, value)

            accounts = sorted(
                (a for a, _ in self._store.accounts() if a.subject == subject_id),
                key=lambda a: a.id,
            )
            ids = {a.id for a in accounts}
            streams = {f"account:{a}" for a in ids} | {f"subject:{subject_id}"}
            events = []
            for rec in self.events():
                event = rec.event
                touches = rec.stream in streams or (
                    isinstance(event, MoneyEvent) and any(p.account in ids for p in event.postings)
                )
                if not touches:
                    continue
                shown_event = opened_event(event, opened, self._policy.personal.structural_metadata)
                events.append(
                    {
                        "seq": rec.seq,
                        "recorded_at": rec.recorded_at.isoformat(),
                        "effective_at": rec.effective_at.isoformat(),
                        "command_id": rec.command_id,
                        "type": rec.type,
                        "event": msgspec.json.decode(event_json(shown_event)),
                    }
                )
        return {
            "subject": found.id,
            "erased": found.erased,
            "accounts_opened": found.accounts,
            "accounts_open": found.open_accounts,
            "last_closed_at": None
            if found.last_closed_us is None
            else from_us(found.last_closed_us).isoformat(),
            "accounts": [
                {
                    "id": a.id,
                    "type": a.type.value,
                    "currency": a.currency,
                    "status": a.status.value,
                    "tier": a.tier,
                    "metadata": {k: opened(v) for k, v in sorted(a.metadata.items())},
                }
                for a in accounts
            ],
            "events": events,
        }

    def opaque_id(self, subject_id: str, external_id: str) -> str:
        """An opaque id for ``external_id`` (a phone number, a national ID, an e-mail: an
        identifier an operator must not put in an account id), keyed with the subject's
        data key: 26 lowercase letters and digits, the same for the same pair while the
        subject lives, linked to nothing once it is erased. Use it in an account id
        (``f"wallet:{book.opaque_id(customer, phone)}"``). It makes the subject's key
        if it has none yet (a write to the key store, none to the log).
        :class:`~ledger.errors.InvalidCommand` for a subject id that is not an opaque id
        (not an id, or a phone number or national ID itself), or an erased subject."""
        self._check_open()
        if not isinstance(external_id, str) or not external_id:
            raise InvalidCommand(f"external_id is a non-empty str, not {shown(external_id)}")
        if (
            not is_valid_id(subject_id)
            or personal_id_part(subject_id, self._policy.personal.allowed_ids) is not None
        ):
            raise InvalidCommand(
                "the subject is not an opaque id (1..128 of [A-Za-z0-9:_.-], no phone number "
                "or national ID)"
            )
        with self._lock:
            self._check_open()
            with self._store.transaction(self._now_us(), self._policy) as tx:
                found = tx.subject(subject_id)
                if found is not None and found.erased:
                    raise InvalidCommand(f"subject {subject_id} was erased")
                key = tx.data_key(subject_id, create=True)
        return opaque_name(key, external_id)

    def rotate_master_key(self, new: KeyWrapper) -> int:
        """Wrap every subject's data key with ``new`` in place of the master key this
        ledger was opened with, in one transaction, and use ``new`` from then on; the
        number of keys rewrapped. The log is not touched. Nothing is written if a key
        does not open with the current master key."""
        self._check_open()
        if not isinstance(new, KeyWrapper):
            raise InvalidCommand(f"rotate_master_key takes a KeyWrapper, not {shown(new)}")
        with self._lock:
            return self._store.rewrap(new)

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
        with self._reading():
            self._check_open()
            found = self._store.account(account_id) if is_valid_id(account_id) else None
        if found is None:
            raise UnknownAccount(f"no account {shown(account_id)}; open it with OpenAccount first")
        return found

    def balance(self, account_id: str, as_of: int | datetime | None = None) -> Balance:
        """The account's balance now, after log position ``as_of`` (an int seq), or as of
        effective time ``as_of`` (an aware datetime: postings effective at or before it)."""
        account = self.account(account_id)
        with self._reading():
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
                    f"as_of is a seq (int in 0..2**63-1) or an aware datetime, not {shown(as_of)}"
                )
        return Balance.from_counters(account_id, account.currency, account.normal_side, counters)

    def balances(self) -> list[Balance]:
        """Every account's balance now, by account id."""
        with self._reading():
            self._check_open()
            return [
                Balance.from_counters(a.id, a.currency, a.normal_side, c)
                for a, c in self._store.accounts()
            ]

    def history_page(
        self,
        account_id: str,
        order: HistoryOrder,
        after: tuple[int, int, int] | None,
        limit: int,
        upto_seq: int,
    ) -> tuple[Counters, list[HistoryLine]]:
        """One page of the account's history, the store's one per-account history (what
        ``balance(as_of=...)`` reads): see :meth:`ledger.store.base.Store.history_page`.
        The statements read model serves its pages from it, bounded by its checkpoint."""
        if not isinstance(account_id, str):
            raise InvalidCommand(f"account_id is an account id (str), not {shown(account_id)}")
        if order not in ("recorded", "effective"):
            raise InvalidCommand(f"order is 'recorded' or 'effective', not {shown(order)}")
        if after is not None and not (
            isinstance(after, tuple)
            and len(after) == 3
            and all(type(v) is int and -(2**63) <= v <= SEQ_MAX for v in after)
        ):
            raise InvalidCommand(f"after is (effective_at_us, seq, leg), ints, not {shown(after)}")
        if type(limit) is not int or not 1 <= limit <= HISTORY_PAGE_MAX:
            raise InvalidCommand(f"limit is an int in 1..{HISTORY_PAGE_MAX}, not {shown(limit)}")
        _check_seq("upto_seq", upto_seq)
        with self._reading():
            self._check_open()
            return self._store.history_page(account_id, order, after, limit, upto_seq)

    def history_sums(
        self, upto_seq: int, effective_upto_us: int | None, accounts: Sequence[str] | None
    ) -> dict[str, Counters]:
        """Each account's counters from the history up to a seq and an effective time:
        see :meth:`ledger.store.base.Store.history_sums`."""
        _check_seq("upto_seq", upto_seq)
        if effective_upto_us is not None and not (
            type(effective_upto_us) is int and -(2**63) <= effective_upto_us <= SEQ_MAX
        ):
            raise InvalidCommand(
                "effective_upto_us is UTC microseconds (int) or None, not "
                + shown(effective_upto_us)
            )
        if accounts is not None:
            if isinstance(accounts, (str, bytes)) or not isinstance(accounts, Iterable):
                raise InvalidCommand(
                    f"accounts is a list of account ids or None, not {shown(accounts)}"
                )
            accounts = list(accounts)  # read once: an iterator is checked, then used
            if not all(isinstance(a, str) for a in accounts):
                raise InvalidCommand(f"accounts holds account ids (str), not {shown(accounts)}")
        with self._reading():
            self._check_open()
            return self._store.history_sums(upto_seq, effective_upto_us, accounts)

    def events(self, after: int = 0, limit: int | None = None) -> Iterator[RecordedEvent]:
        """Events with ``seq > after`` in log order, committed ones only.

        Read in pages of ``EVENTS_PAGE``, each one read of its own, so a long read
        neither holds a snapshot for its whole length nor sees another thread's
        uncommitted batch.
        """
        self._check_open()
        if type(after) is not int or not 0 <= after <= SEQ_MAX:
            raise InvalidCommand(f"after is a seq (int in 0..2**63-1), not {shown(after)}")
        if limit is not None and (type(limit) is not int or limit < 0):
            raise InvalidCommand(f"limit is an int >= 0 or None, not {shown(limit)}")
        return self._pages(after, limit)

    def _pages(self, after: int, limit: int | None) -> Iterator[RecordedEvent]:
        remaining = limit
        while remaining is None or remaining > 0:
            size = EVENTS_PAGE if remaining is None else min(EVENTS_PAGE, remaining)
            with self._reading():
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
            raise InvalidCommand(f"as_of is a datetime.date or None, not {shown(as_of)}")
        with self._reading():
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
        ``ledger.state.loans.ageing`` turns them into the ageing table."""
        if as_of is not None and type(as_of) is not date:
            raise InvalidCommand(f"as_of is a datetime.date or None, not {shown(as_of)}")
        day = self.today() if as_of is None else as_of
        with self._reading():
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
        """Every read in the block, on this thread, sees one state of the ledger: the last
        commit before it began. Writers go on (for SQLite; on PostgreSQL this ``Ledger``'s
        own writers wait until the block ends). What an audit's walk runs in."""
        with self._reading():
            self._check_open()
            with self._store.snapshot():
                yield

    def refusals_head(self) -> tuple[int, str]:
        """The number of the last recorded refusal and its hash in hex (0 and 64 zeros
        when none is recorded): the record of refusals' anchor, beside :meth:`head`'s."""
        with self._reading():
            self._check_open()
            n, digest = self._store.refusals_head()
        return n, digest.hex()

    def head(self) -> tuple[int, str]:
        """The last seq and its hash in hex: an anchor to write down for later audits."""
        with self._reading():
            self._check_open()
            seq, digest = self._store.head()
        return seq, digest.hex()
