"""The store interface every backend implements, and the hash chain they all share.

A store owns the log (``events``), the idempotency index (``commands``) and the inline
balance projection (``accounts`` with its four counters, ``account_postings`` with the
running counters after each posting). :class:`~ledger.book.Ledger` drives it the same way
on every backend: open a write transaction, let pure decide functions read state through
it, append what they propose, commit. The contract suite in ``tests/backends`` is the
definition of "implements"; a new backend passes it unchanged.
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Generator, Iterator, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Literal, NamedTuple, Protocol

import attrs
import msgspec

from ledger.accounts import Account, Balance, Counters
from ledger.events import Event
from ledger.keys import KeyWrapper
from ledger.policy import Policy
from ledger.results import Rejected
from ledger.state import NewEvent, State
from ledger.state.subjects import Subject
from ledger.times import from_us

GENESIS_HASH = bytes(32)
"""The ``previous hash`` of the first event: 32 zero bytes."""

_row_encoder = msgspec.json.Encoder()


def chain_hash(
    previous: bytes,
    seq: int,
    stream: str,
    version: int,
    command_id: str,
    type_: str,
    schema: int,
    recorded_at_us: int,
    effective_at_us: int,
    payload: bytes,
) -> bytes:
    """SHA-256 over the previous hash and this row's canonical fields, payload last.

    Every column that carries meaning is covered, so changing any of them, or the order
    of rows, breaks every later link.
    """
    header = _row_encoder.encode(
        [seq, stream, version, command_id, type_, schema, recorded_at_us, effective_at_us]
    )
    return hashlib.sha256(previous + header + b"\n" + payload).digest()


_msgpack = msgspec.msgpack.Encoder().encode


def row_digest(salt: int, row: tuple[object, ...]) -> int:
    """A keyed 64-bit hash of one stored row for the audit's multiset checks: Python's
    hash (SipHash, under the key each process draws at random) of the row's msgpack
    encoding, which tells every value and type apart (an int's own hash does not: it is
    the value modulo 2**61 - 1), mixed with ``salt``. It compares only within one
    process; :data:`ROW_DIGESTS_KEYED` says whether that key is secret."""
    return hash((salt, _msgpack(row)))


ROW_DIGESTS_KEYED = bool(sys.flags.ignore_environment) or (
    os.environ.get("PYTHONHASHSEED", "random") == "random"
)
"""Whether this process drew its hash key at random (``PYTHONHASHSEED`` unset or
``random`` when it started, or ignored with ``-E``/``-I``): only then can no one who
changes a stored row know ahead of the audit what its :func:`row_digest` will be.
Otherwise the audit compares rows one by one (the cost: the log read a second time)."""


def refusal_hash(
    previous: bytes,
    n: int,
    command_id: str,
    digest: bytes,
    code: str,
    subject: str,
    detail: str,
    recorded_at_us: int,
    head_seq: int,
) -> bytes:
    """SHA-256 over the previous refusal's hash and every column of this one: the record
    of refusals is a chain of its own, so a row changed, removed or inserted breaks it."""
    fields = _row_encoder.encode(
        [n, command_id, digest.hex(), code, subject, detail, recorded_at_us, head_seq]
    )
    return hashlib.sha256(previous + fields).digest()


class RecordedEvent(NamedTuple):
    """One row of the log as a reader sees it: the row as stored, its event decoded.

    A plain tuple, since a replay or an audit reads millions: the times are kept as stored
    (UTC microseconds, ``recorded_at_us`` and ``effective_at_us``) and the hash as bytes
    (``hash_bytes``), and made into an aware datetime or a hex string only when read
    (``recorded_at``, ``effective_at``, ``hash``)."""

    seq: int
    stream: str
    version: int
    command_id: str
    type: str
    schema: int
    recorded_at_us: int
    effective_at_us: int
    payload: bytes
    """The payload exactly as stored (what the hash covers): canonical JSON at schema 1,
    the compact encoding from schema 2 (:func:`ledger.events.encode_event`)."""
    hash_bytes: bytes
    """SHA-256 of this row chained to the previous one."""
    event: Event

    @property
    def recorded_at(self) -> datetime:
        """When the ledger recorded it (UTC)."""
        return from_us(self.recorded_at_us)

    @property
    def effective_at(self) -> datetime:
        """When it takes effect (UTC)."""
        return from_us(self.effective_at_us)

    @property
    def hash(self) -> str:
        """Hex SHA-256 of this row chained to the previous one."""
        return self.hash_bytes.hex()

    def __repr__(self) -> str:
        return (
            f"RecordedEvent(seq={self.seq}, stream={self.stream!r}, version={self.version},"
            f" command_id={self.command_id!r}, type={self.type!r}, schema={self.schema},"
            f" recorded_at={self.recorded_at.isoformat()},"
            f" effective_at={self.effective_at.isoformat()}, event={self.event!r})"
        )


class PostingRow(NamedTuple):
    """One row of the balance history: a leg and the account's four counters after it (a
    plain tuple, column for column: the audit compares every row of the history)."""

    account: str
    seq: int
    leg: int
    side: str
    amount_minor: int
    effective_at_us: int
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    phase: str


class HistoryLine(NamedTuple):
    """One line of an account's history as a statement shows it: a leg and the event it
    belongs to (a plain tuple: a statement page reads thousands)."""

    seq: int
    leg: int
    effective_at_us: int
    recorded_at_us: int
    type: str
    command_id: str
    accounts: tuple[str, ...]
    """Every account the entry posts to, in leg order, each once."""
    side: str
    phase: str
    amount_minor: int


HistoryOrder = Literal["recorded", "effective"]
"""``recorded``: by (seq, leg); ``effective``: by (effective_at, seq, leg)."""


@attrs.frozen
class StoredCommand:
    """What the idempotency index keeps of an accepted command."""

    digest: bytes
    first_seq: int
    last_seq: int
    balances: tuple[Balance, ...] = attrs.field(default=(), eq=False)
    """For a command appended in the batch under way: the balances it was answered with
    (its rows are not in the balance history until the commit)."""


@attrs.frozen
class StoredRefusal:
    """What the record of refusals keeps of a refused command: its digest and answer."""

    digest: bytes
    rejected: Rejected


@attrs.frozen
class RefusalRow:
    """One row of the record of refusals, as ``verify`` walks it."""

    n: int
    command_id: str
    digest: bytes
    code: str
    subject: str
    detail: str
    recorded_at_us: int
    head_seq: int
    """The log's head when the refusal was committed."""
    hash: bytes


class Transaction(State, Protocol):
    """A write transaction: the state decide functions read, plus appending."""

    @property
    def head_seq(self) -> int: ...

    def find_commands(self, command_ids: Sequence[str]) -> dict[str, StoredCommand | StoredRefusal]:
        """What was committed before for those ids: an index entry if accepted, the
        recorded refusal if refused."""
        ...

    def refuse(self, command_id: str, digest: bytes, rejected: Rejected) -> None:
        """Record a refusal ``decide`` reached, durably with the transaction's commit
        (also when a failed linked batch aborts it)."""
        ...

    def balances(self, command_events: Sequence[NewEvent]) -> tuple[Balance, ...]:
        """The balances now, in this transaction, of the accounts those events post to."""
        ...

    def append(self, command_id: str, digest: bytes, events: Sequence[NewEvent]) -> int:
        """Append the events of one accepted command and fold them into the inline
        projection; return the last seq written."""
        ...

    def abort(self) -> None:
        """Roll the whole transaction back when the block ends (a failed linked batch)."""
        ...

    def data_key(self, subject_id: str, *, create: bool = False) -> bytes:
        """The subject's data key, unwrapped with the store's master key (``keys``); a
        new one, written with the transaction, if it has none and ``create``."""
        ...


class Store(Protocol):
    """A backend: the log, the idempotency index and the inline balances."""

    def transaction(self, now_us: int, policy: Policy) -> AbstractContextManager[Transaction]:
        """A serialised write transaction: commits when the block ends, unless aborted or
        an exception escapes, in which case nothing of it remains."""
        ...

    concurrent_reads: bool
    """Reads run beside a write in flight without seeing it: the ``Ledger`` takes no
    lock to read."""
    readonly: bool
    keys: KeyWrapper | None
    """What wraps the subjects' data keys (the master key), None if not given."""

    def subject(self, subject_id: str) -> Subject | None:
        """The subject as the store keeps it (``subjects``), None if nothing names it."""
        ...

    def subjects(self) -> Iterator[Subject]:
        """Every subject the store keeps, by id."""
        ...

    def key_rows(self) -> list[tuple[str, str, bytes]]:
        """The key store: (subject, master key id, wrapped data key) by subject."""
        ...

    def data_key(self, subject_id: str) -> bytes | None:
        """The subject's data key, None if the key store holds none (erased)."""
        ...

    def rewrap(self, new: KeyWrapper) -> int:
        """Wrap every data key with ``new`` in one transaction, and use it from then on."""
        ...

    def setting(self, key: str) -> str | None:
        """A ledger-wide setting (``timezone``), or None if none is recorded."""
        ...

    def record_setting(self, key: str, value: str) -> str:
        """Record a setting once; return the value recorded (an earlier one wins)."""
        ...

    def find_result(self, command_id: str) -> StoredCommand | StoredRefusal | None:
        """The index entry or the recorded refusal of one id (an index lookup)."""
        ...

    def refusals_head(self) -> tuple[int, bytes]:
        """The last refusal's ``n`` and hash (0 and :data:`GENESIS_HASH` if none)."""
        ...

    def refusal_rows(self) -> Iterator[RefusalRow]:
        """The record of refusals in ``n`` order."""
        ...

    def read_events(self, after: int, limit: int) -> list[RecordedEvent]:
        """One page: events with ``seq > after`` in seq order, at most ``limit`` of them."""
        ...

    def snapshot(self) -> AbstractContextManager[None]:
        """One consistent read of the whole store for the block (an audit's walk)."""
        ...

    def holds_snapshot(self) -> bool:
        """Whether the calling thread is inside a :meth:`snapshot` of this store (a write
        it asked for would wait on its own read)."""
        ...

    def read_streams(self, prefix: str) -> dict[str, list[RecordedEvent]]:
        """Every committed event of each stream whose name starts with ``prefix`` (not
        empty), by stream name, each in version order."""
        ...

    def command_rows(self) -> Iterator[tuple[str, int, int]]:
        """The idempotency index as (command_id, first_seq, last_seq), by command id."""
        ...

    def account(self, account_id: str) -> Account | None: ...

    def counters(self, account_id: str) -> Counters:
        """The account's counters now (zeros for an account with no postings)."""
        ...

    def counters_at_seq(self, account_id: str, seq: int) -> Counters:
        """The counters after every posting with ``seq <= seq``."""
        ...

    def counters_at_time(self, account_id: str, effective_at_us: int) -> Counters:
        """The counters after every posting whose ``effective_at <= effective_at_us``."""
        ...

    def accounts(self) -> Iterator[tuple[Account, Counters]]:
        """Every account with its counters, by id."""
        ...

    def posting_rows(self) -> Generator[PostingRow, None, None]:
        """The balance history ``balance(as_of=seq)`` reads: (account, seq, leg, counters
        after that posting), in seq and leg order."""
        ...

    def history_digest(self, salt: int, through: int | None) -> tuple[int, int]:
        """The rows of the balance history (those with ``seq <= through``; with None,
        every row, whatever its seq holds) read in whatever order the store keeps them
        (no sort), as (how many, the sum of :func:`row_digest` of ``salt`` and each row
        as the plain tuple :class:`PostingRow` holds): the audit's multiset check of the
        history. The sum compares only with one made in this process with this ``salt``."""
        ...

    def history_page(
        self,
        account_id: str,
        order: HistoryOrder,
        after: tuple[int, int, int] | None,
        limit: int,
        upto_seq: int,
    ) -> tuple[Counters, list[HistoryLine]]:
        """Up to ``limit`` lines of the account's history with ``seq <= upto_seq``, past
        ``after`` ((effective_at, seq, leg) of the last line of the page before; the
        effective time is ignored in ``recorded`` order), in ``order``; and the posted
        counters of every line up to and including ``after`` in that order (the page's
        opening)."""
        ...

    def history_sums(
        self, upto_seq: int, effective_upto_us: int | None, accounts: Sequence[str] | None
    ) -> dict[str, Counters]:
        """Per account (or per one of ``accounts``), the counters of every posting with
        ``seq <= upto_seq`` and, if given, ``effective_at <= effective_upto_us``; accounts
        with no such posting are left out."""
        ...

    def head(self) -> tuple[int, bytes]:
        """The last ``seq`` and its hash (0 and :data:`GENESIS_HASH` for an empty log)."""
        ...

    def close(self) -> None: ...
