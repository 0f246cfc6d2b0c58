"""What every decide function shares: the state it reads, what it returns, posting rules.

A decide function is pure: ``decide(command, state) -> list[NewEvent] | Rejected``. It
reads accounts, balances and streams through :class:`State` (the store answers from
inside its write transaction), writes nothing, and either proposes events or rejects.
:func:`post` is the one place where legs become balanced, policy-checked postings; every
flow that moves money goes through it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Protocol

import attrs

from ledger.accounts import Account, AccountStatus, Counters, is_valid_id
from ledger.commands import Credit, Debit
from ledger.errors import RejectCode
from ledger.events import Event, MoneyEvent, Posting
from ledger.money import amount_problem
from ledger.results import Rejected
from ledger.times import span_us, to_us

POSTINGS_MAX = 128
"""At most this many legs in one entry."""
TEXT_MAX_LENGTH = 1_000
"""Longest memo, reason or metadata value, in characters."""
METADATA_KEYS_MAX = 32
"""At most this many metadata keys on one command."""
_KIND = re.compile(r"^[a-z][a-z0-9_.\-]{0,63}$")
_METADATA_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


@attrs.frozen
class Policy:
    """Rules a ledger is opened with. Every figure is configuration, not a constant."""

    backdate_limit: timedelta = timedelta(days=31)
    """How far before now a caller may set ``effective_at``."""
    future_limit: timedelta = timedelta(minutes=5)
    """How far after now ``effective_at`` may be (clock skew between servers)."""


class State(Protocol):
    """What a decide function may read. Stores answer from inside the write transaction."""

    @property
    def now_us(self) -> int:
        """This transaction's ``recorded_at``, UTC microseconds."""
        ...

    @property
    def policy(self) -> Policy: ...

    def account(self, account_id: str) -> Account | None: ...

    def counters(self, account_id: str) -> Counters: ...

    def stream_version(self, stream: str) -> int:
        """The stream's last version, 0 if it has no events yet."""
        ...

    def command_events(self, command_id: str) -> list[Event]:
        """The events an accepted command wrote, in order (empty if none)."""
        ...

    def stream_events(self, stream: str) -> list[Event]:
        """Every event of ``stream`` in version order (empty if it has none)."""
        ...

    def latest_events(self, prefix: str) -> dict[str, Event]:
        """The last event of every stream whose name starts with ``prefix``, by stream."""
        ...

    def posted_debits_since(self, account_id: str, since_us: int) -> int:
        """The sum of posted debits to the account effective at or after ``since_us``."""
        ...


@attrs.frozen
class NewEvent:
    """An event a decide function proposes: its stream, version and business time."""

    stream: str
    version: int
    event: Event
    effective_at_us: int


def reject(code: RejectCode, detail: str) -> Rejected:
    return Rejected(code=code, detail=detail)


def check_text(name: str, value: str) -> Rejected | None:
    if len(value) > TEXT_MAX_LENGTH:
        return reject(RejectCode.FIELD_INVALID, f"{name} is longer than {TEXT_MAX_LENGTH}")
    return None


def check_kind(kind: str) -> Rejected | None:
    if _KIND.fullmatch(kind) is None:
        return reject(
            RejectCode.FIELD_INVALID,
            f"kind {kind!r} must be 1..64 of [a-z0-9_.-], starting with a letter",
        )
    return None


def check_metadata(metadata: dict[str, str]) -> Rejected | None:
    if len(metadata) > METADATA_KEYS_MAX:
        return reject(RejectCode.FIELD_INVALID, f"metadata has more than {METADATA_KEYS_MAX} keys")
    for key, value in metadata.items():
        if _METADATA_KEY.fullmatch(key) is None:
            return reject(
                RejectCode.FIELD_INVALID, f"metadata key {key!r} is not 1..64 of [A-Za-z0-9_.-]"
            )
        if len(value) > TEXT_MAX_LENGTH:
            return reject(
                RejectCode.FIELD_INVALID, f"metadata[{key!r}] is longer than {TEXT_MAX_LENGTH}"
            )
    return None


def first_problem(*checks: Rejected | None) -> Rejected | None:
    """The first rejection among already-computed checks, in the order given."""
    return next((c for c in checks if c is not None), None)


def effective_time(when: datetime | None, state: State) -> int | Rejected:
    """``effective_at`` in UTC microseconds (now if None), within the backdating policy."""
    if when is None:
        return state.now_us
    when_us = to_us(when)
    earliest = state.now_us - span_us(state.policy.backdate_limit)
    latest = state.now_us + span_us(state.policy.future_limit)
    if not earliest <= when_us <= latest:
        return reject(
            RejectCode.EFFECTIVE_AT_INVALID,
            f"effective_at {when.isoformat()} is outside the policy window "
            f"(at most {state.policy.backdate_limit} back, {state.policy.future_limit} ahead)",
        )
    return when_us


def post(legs: Sequence[Debit | Credit], state: State) -> tuple[Posting, ...] | Rejected:
    """Turn legs into postings, checking every rule an entry must keep.

    Rejects, in this order: postings_invalid (fewer than 2 or more than POSTINGS_MAX legs),
    amount_invalid (any leg); then leg by leg account_not_found, account_frozen,
    account_closed, currency_mismatch; then unbalanced (per currency), overflow,
    insufficient_funds (``no_overdraft``, counting pending), limit_exceeded
    (``max_balance_minor``, counting pending inflows).
    """
    if not 2 <= len(legs) <= POSTINGS_MAX:
        return reject(
            RejectCode.POSTINGS_INVALID,
            f"an entry has 2..{POSTINGS_MAX} postings, this one has {len(legs)}",
        )
    for leg in legs:
        problem = amount_problem(leg.amount_minor)
        if problem is not None:
            return reject(RejectCode.AMOUNT_INVALID, f"{leg.account}: {problem}")
    accounts: dict[str, Account] = {}
    for leg in legs:
        found = accounts.get(leg.account)
        if found is None:
            found = state.account(leg.account) if is_valid_id(leg.account) else None
            if found is None:
                return reject(RejectCode.ACCOUNT_NOT_FOUND, f"no account {leg.account!r}")
            accounts[leg.account] = found
        blocked = _status_rejection(found)
        if blocked is not None:
            return blocked
        if leg.currency is not None and leg.currency != found.currency:
            return reject(
                RejectCode.CURRENCY_MISMATCH,
                f"{leg.account} holds {found.currency}, the posting says {leg.currency}",
            )
    postings = tuple(
        Posting(
            account=leg.account,
            side=leg.side,
            amount_minor=leg.amount_minor,
            currency=accounts[leg.account].currency,
        )
        for leg in legs
    )
    return _check_effects(postings, accounts, state)


def _status_rejection(account: Account) -> Rejected | None:
    if account.status is AccountStatus.FROZEN:
        return reject(RejectCode.ACCOUNT_FROZEN, f"{account.id} is frozen")
    if account.status is AccountStatus.CLOSED:
        return reject(RejectCode.ACCOUNT_CLOSED, f"{account.id} is closed")
    return None


def _check_effects(
    postings: tuple[Posting, ...], accounts: dict[str, Account], state: State
) -> tuple[Posting, ...] | Rejected:
    net: dict[str, int] = {}
    for p in postings:
        net[p.currency] = net.get(p.currency, 0) + (
            p.amount_minor if p.side == "debit" else -p.amount_minor
        )
    for code, difference in sorted(net.items()):
        if difference:
            return reject(
                RejectCode.UNBALANCED,
                f"{code} debits and credits differ by {abs(difference)} minor units",
            )
    moved: dict[str, list[int]] = {account_id: [0, 0] for account_id in accounts}
    for p in postings:
        moved[p.account][0 if p.side == "debit" else 1] += p.amount_minor
    before = {account_id: state.counters(account_id) for account_id in accounts}
    after = {
        account_id: before[account_id].plus(debits, credits)
        for account_id, (debits, credits) in moved.items()
    }
    for account_id, counters in after.items():
        if not counters.in_range():
            return reject(RejectCode.OVERFLOW, f"{account_id} would pass 2**63-1 minor units")
    for account_id, counters in after.items():
        account = accounts[account_id]
        if not account.no_overdraft:
            continue
        side = account.normal_side
        was, now = before[account_id].available(side), counters.available(side)
        if now < min(0, was):
            return reject(
                RejectCode.INSUFFICIENT_FUNDS,
                f"{account_id} has {was} available, the entry needs {was - now}",
            )
    for account_id, counters in after.items():
        account = accounts[account_id]
        cap = account.max_balance_minor
        if cap is None:
            continue
        side = account.normal_side
        if counters.incoming(side) > max(cap, before[account_id].incoming(side)):
            return reject(
                RejectCode.LIMIT_EXCEEDED,
                f"{account_id} would hold {counters.incoming(side)}, above its cap of {cap}",
            )
    return postings


def mirror(postings: Iterable[Posting]) -> list[Debit | Credit]:
    """The legs that undo ``postings`` exactly: every debit a credit and back."""
    return [
        (Credit if p.side == "debit" else Debit)(p.account, p.amount_minor, p.currency)
        for p in postings
    ]


def money_events(events: Iterable[Event]) -> list[MoneyEvent]:
    return [e for e in events if isinstance(e, MoneyEvent)]
