"""Accounts and their statements: every posting with the running balance after it, and
balances and the trial balance as of any seq, effective time or business day.

Tables (projection ``statements``):

* ``proj_accounts`` — each account as opened (type, currency, normal side, wallet type
  from its metadata), its status and KYC tier now, and its four counters now.
* ``proj_account_tiers`` — every tier assignment with its seq and effective time.

The postings themselves are not copied here: statement lines and balances as of a seq,
a time or a day are read from the ledger's one per-account history (the rows
``balance(as_of=...)`` reads, :meth:`ledger.book.Ledger.history_page`), bounded by this
projection's checkpoint, so they are exactly what folding the log up to the checkpoint
gives (history rows are append-only and keyed by seq). Version 1 kept its own copy,
``proj_postings``, which took 37% of the demo's file; opening version 1's read models
drops it.

A statement in effective-time order computes its running balance as it reads (a
backdated posting changes every later line's running balance in that order), opening
each page with the sum before it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta, tzinfo
from typing import Literal

import attrs
import msgspec

from ledger.accounts import Balance, Counters, Side, move
from ledger.errors import FoldError, InvalidCommand, UnknownAccount
from ledger.events import (
    AccountOpened,
    MoneyEvent,
)
from ledger.state.accounts import ACCOUNT_EVENTS, CHANGES, changes, opened, stored
from ledger.store.base import RecordedEvent
from ledger.times import from_us, is_aware, to_us
from projections.base import Database, Projection, Table, money_events, one, snapshot
from projections.runner import Runner

_metadata = msgspec.json.Encoder(order="sorted")

ACCOUNTS = Table(
    "proj_accounts",
    {
        "account": str,
        "type": str,
        "currency": str,
        "normal_side": str,
        "no_overdraft": int,
        "wallet_type": str,
        "metadata": str,
        "status": str,
        "tier": str,
        "opened_seq": int,
        "opened_at": int,
        "debits_posted": int,
        "credits_posted": int,
        "debits_pending": int,
        "credits_pending": int,
        "last_seq": int,
    },
    pk=("account",),
    nullable=frozenset({"tier", "wallet_type"}),
)
TIERS = Table(
    "proj_account_tiers",
    {"account": str, "seq": int, "effective_at": int, "tier": str},
    pk=("account", "seq"),
)


class Statements(Projection):
    name = "statements"
    version = 2
    handles = money_events() | ACCOUNT_EVENTS
    tables = (ACCOUNTS, TIERS)
    retired = ("proj_postings",)

    def apply(self, db: Database, record: RecordedEvent) -> None:
        self.apply_page(db, [record])

    def apply_page(self, db: Database, records: Sequence[RecordedEvent]) -> None:
        """Fold a page with one read and one write of each account it touches: the
        counters are carried in memory for the page only (the runner holds the write lock
        for it), so the rows are what folding event by event writes."""
        touched: dict[str, _Touched] = {}
        tiers: list[tuple[object, ...]] = []
        wanted = {
            p.account for r in records if isinstance(r.event, MoneyEvent) for p in r.event.postings
        }
        ordered = sorted(wanted)
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            for account, side, *values in db.execute(
                "SELECT account, normal_side, debits_posted, credits_posted, debits_pending,"
                f" credits_pending FROM proj_accounts WHERE account IN ({marks})",
                chunk,
            ):
                touched[account] = _Touched(side, list(values))
        opening: list[tuple[object, ...]] = []  # written before anything reads them
        for record in records:
            event = record.event
            if isinstance(event, MoneyEvent):
                self._post(record, event, touched)
            elif isinstance(event, AccountOpened):
                account = opened(event)
                side = account.normal_side
                opening.append(
                    (
                        event.account,
                        event.account_type,
                        event.currency,
                        side,
                        int(event.no_overdraft),
                        event.metadata.get("wallet_type"),
                        _metadata.encode(event.metadata).decode(),
                        account.status.value,
                        account.tier,
                        record.seq,
                        record.effective_at_us,
                        record.seq,
                    )
                )
                if event.account in wanted:
                    touched[event.account] = _Touched(side, [0, 0, 0, 0])
            elif type(event) in CHANGES:
                account_id, values = changes(event)
                columns = stored(values)
                db.conn.executemany(_OPEN, opening)
                opening.clear()
                db.execute(
                    f"UPDATE proj_accounts SET {''.join(f'{c} = ?, ' for c in columns)}"
                    "last_seq = ? WHERE account = ?",
                    (*columns.values(), record.seq, account_id),
                )
                if account_id in touched:
                    touched[account_id].last_seq = record.seq
                if "tier" in columns:
                    tiers.append((account_id, record.seq, record.effective_at_us, columns["tier"]))
        db.conn.executemany(_OPEN, opening)
        db.conn.executemany("INSERT INTO proj_account_tiers VALUES (?, ?, ?, ?)", tiers)
        db.conn.executemany(
            "UPDATE proj_accounts SET debits_posted = ?, credits_posted = ?,"
            " debits_pending = ?, credits_pending = ?, last_seq = ? WHERE account = ?",
            [
                (*t.counters, t.last_seq, account)
                for account, t in sorted(touched.items())
                if t.last_seq
            ],
        )

    def _post(self, record: RecordedEvent, event: MoneyEvent, touched: dict[str, _Touched]) -> None:
        seq = record.seq
        for p in event.postings:
            found = touched.get(p.account)
            if found is None:
                raise FoldError(f"seq {seq} posts to {p.account!r}, never opened", seq=seq)
            move(found.counters, p.side, p.amount_minor, p.phase)
            found.last_seq = seq


_OPEN = "INSERT INTO proj_accounts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0, 0, ?)"


class _Touched:
    """An account's counters while a page is folded, and the last seq that changed it."""

    __slots__ = ("counters", "last_seq", "side")

    def __init__(self, side: Side, counters: list[int]) -> None:
        self.side = side
        self.counters = counters
        """The four counters, in the order of :class:`~ledger.accounts.Counters`."""
        self.last_seq = 0


# --- reading ----------------------------------------------------------------------------

AsOf = int | datetime | date
"""A log position (seq), an effective time (aware datetime) or a business day (the
postings effective before the next day starts in the ledger's time zone)."""


def day_start_us(day: date, zone: tzinfo) -> int:
    """UTC microseconds at which business day ``day`` starts in ``zone``."""
    return to_us(datetime.combine(day, time(0), tzinfo=zone))


def day_end_us(day: date, zone: tzinfo) -> int:
    """The first microsecond after business day ``day`` in ``zone`` (its cut-off)."""
    return day_start_us(day + timedelta(days=1), zone)


def local_day(effective_us: int, zone: tzinfo) -> date:
    """The business day in ``zone`` an effective time falls on."""
    return from_us(effective_us).astimezone(zone).date()


def as_of_bounds(as_of: AsOf | None, zone: tzinfo) -> tuple[int | None, int | None]:
    """What counts by ``as_of``: (the last seq, the last effective microsecond), either
    None where it does not bound."""
    if as_of is None:
        return None, None
    if isinstance(as_of, datetime):
        if not is_aware(as_of):
            raise InvalidCommand("as_of needs a timezone-aware datetime")
        return None, to_us(as_of)
    if isinstance(as_of, date):
        return None, day_end_us(as_of, zone) - 1
    if type(as_of) is int and 0 <= as_of <= 2**63 - 1:
        return as_of, None
    raise InvalidCommand(f"as_of is a seq (int >= 0), an aware datetime or a date, not {as_of!r}")


def _runner(runner: object) -> Runner:
    if not isinstance(runner, Runner):
        raise InvalidCommand(
            f"the statements are read through a projections.runner.Runner (since the read"
            f" model's version 2, not its database), not {runner!r}"
        )
    return runner


def folded(db: Database) -> int:
    """The seq the statements projection in ``db`` has folded up to: the bound of every
    read of the ledger's history made for it."""
    found = one(db, "SELECT seq FROM proj_checkpoints WHERE name = ?", (Statements.name,))
    return 0 if found is None else int(found[0])


@attrs.frozen
class AccountRow:
    """One account as the statements read model keeps it, counters as of the fold."""

    account: str
    type: str
    currency: str
    normal_side: str
    no_overdraft: bool
    wallet_type: str | None
    status: str
    tier: str | None
    opened_seq: int
    opened_at: datetime


def accounts(db: Database) -> list[AccountRow]:
    """Every account the projection has seen, by id."""
    rows = db.execute(
        "SELECT account, type, currency, normal_side, no_overdraft, wallet_type, status,"
        " tier, opened_seq, opened_at FROM proj_accounts ORDER BY account"
    ).fetchall()
    return [
        AccountRow(
            account=r[0],
            type=r[1],
            currency=r[2],
            normal_side=r[3],
            no_overdraft=bool(r[4]),
            wallet_type=r[5],
            status=r[6],
            tier=r[7],
            opened_seq=r[8],
            opened_at=from_us(r[9]),
        )
        for r in rows
    ]


def balances_as_of(
    runner: Runner, as_of: AsOf | None, zone: tzinfo, accounts_: list[str] | None = None
) -> dict[str, Balance]:
    """Every account's balance (or those in ``accounts_``) as of ``as_of``, by id: the
    accounts opened by then (at zero if nothing was posted to them yet) and any other with
    a posting effective by then (a backdated entry to an account opened later). The
    accounts are the read model's; the sums are the ledger's history up to the read
    model's checkpoint."""
    if accounts_ is not None:
        if isinstance(accounts_, (str, bytes)) or not isinstance(accounts_, Iterable):
            raise InvalidCommand(f"accounts_ is a list of account ids or None, not {accounts_!r}")
        accounts_ = list(accounts_)  # read once: an iterator is checked, then used
        if not all(isinstance(a, str) for a in accounts_):
            raise InvalidCommand(f"accounts_ is a list of account ids (str), not {accounts_!r}")
    seq, effective = as_of_bounds(as_of, zone)
    db = _runner(runner).db
    bound: tuple[int, ...]
    if seq is not None:
        opened, bound = "opened_seq <= ?", (seq,)
    elif effective is not None:
        opened, bound = "opened_at <= ?", (effective,)
    else:
        opened, bound = "1", ()
    with snapshot(db):
        upto = folded(db)
        rows = db.execute(
            f"SELECT account, currency, normal_side, {opened} FROM proj_accounts ORDER BY account",
            bound,
        ).fetchall()
    sums = runner.book.history_sums(upto if seq is None else min(seq, upto), effective, accounts_)
    wanted = None if accounts_ is None else set(accounts_)
    return {
        account: Balance.from_counters(account, currency, normal_side, sums.get(account, _ZERO))
        for account, currency, normal_side, is_open in rows
        if (wanted is None or account in wanted) and (is_open or account in sums)
    }


_ZERO = Counters()


@attrs.frozen
class TrialBalanceRow:
    account: str
    type: str
    currency: str
    debit_minor: int
    """The net balance when it is on the debit side, else 0."""
    credit_minor: int


@attrs.frozen
class TrialBalance:
    rows: tuple[TrialBalanceRow, ...]
    totals: dict[str, tuple[int, int]]
    """Per currency: (debits, credits). Equal in a sound ledger."""

    @property
    def balanced(self) -> bool:
        return all(d == c for d, c in self.totals.values())


def trial_balance(runner: Runner, as_of: AsOf | None, zone: tzinfo) -> TrialBalance:
    """Every account's posted net balance as of ``as_of`` in a debit or a credit column,
    with the totals per currency."""
    with snapshot(_runner(runner).db):
        found = balances_as_of(runner, as_of, zone)
        types = dict(runner.db.execute("SELECT account, type FROM proj_accounts").fetchall())
    rows = []
    totals: dict[str, tuple[int, int]] = {}
    for account, b in found.items():
        net = b.debits_posted - b.credits_posted
        row = TrialBalanceRow(account, types[account], b.currency, max(net, 0), max(-net, 0))
        rows.append(row)
        debits, credits = totals.get(b.currency, (0, 0))
        totals[b.currency] = (debits + row.debit_minor, credits + row.credit_minor)
    return TrialBalance(tuple(rows), dict(sorted(totals.items())))


Order = Literal["recorded", "effective"]


@attrs.frozen
class StatementLine:
    seq: int
    leg: int
    effective_at: datetime
    recorded_at: datetime
    type: str
    command_id: str
    counterparties: tuple[str, ...]
    side: str
    phase: str
    amount_minor: int
    signed_minor: int
    """The change to the balance: + on the account's normal side, - against it, 0 for a
    hold's pending or released leg."""
    balance_minor: int
    """The posted balance after this line, in the statement's order."""


@attrs.frozen
class StatementPage:
    account: str
    currency: str
    order: Order
    opening_minor: int
    """The balance before the first line of this page."""
    lines: tuple[StatementLine, ...]
    next_after: tuple[int, int, int] | None
    """Pass as ``after`` for the next page; None on the last page."""


STATEMENT_PAGE_MAX = 10_000


def statement(
    runner: Runner,
    account: str,
    *,
    order: Order = "recorded",
    after: tuple[int, int, int] | None = None,
    limit: int = 100,
) -> StatementPage:
    """One page of ``account``'s statement: in log order (``recorded``: the running balance
    is what ``balance(as_of=seq)`` gives) or by effective time (``effective``: backdated
    postings in the place their value date puts them). ``after`` is the previous page's
    ``next_after``. The lines are the ledger's history up to the read model's checkpoint."""
    if not isinstance(account, str):
        raise InvalidCommand(f"account is an account id (str), not {account!r}")
    if order not in ("recorded", "effective"):
        raise InvalidCommand(f"order is 'recorded' or 'effective', not {order!r}")
    if type(limit) is not int or not 1 <= limit <= STATEMENT_PAGE_MAX:
        raise InvalidCommand(f"limit is an int in 1..{STATEMENT_PAGE_MAX}, not {limit!r}")
    if after is not None and not (
        isinstance(after, tuple)
        and len(after) == 3
        and all(type(v) is int and -(2**63) <= v <= 2**63 - 1 for v in after)
    ):
        raise InvalidCommand(f"after is a page's next_after (three ints), not {after!r}")
    db = _runner(runner).db
    with snapshot(db):
        found = one(
            db, "SELECT currency, normal_side FROM proj_accounts WHERE account = ?", (account,)
        )
        upto = folded(db)
    if found is None:
        raise UnknownAccount(f"no account {account!r} in the read models")
    currency, normal_side = found
    opening_counters, rows = runner.book.history_page(account, order, after, limit + 1, upto)
    opening = opening_counters.balance(normal_side)
    more = len(rows) > limit
    rows = rows[:limit]
    lines = []
    running = opening
    for row in rows:
        signed = 0
        if row.phase == "posted":
            signed = row.amount_minor if row.side == normal_side else -row.amount_minor
        running += signed
        lines.append(
            StatementLine(
                seq=row.seq,
                leg=row.leg,
                effective_at=from_us(row.effective_at_us),
                recorded_at=from_us(row.recorded_at_us),
                type=row.type,
                command_id=row.command_id,
                counterparties=tuple(a for a in row.accounts if a != account),
                side=row.side,
                phase=row.phase,
                amount_minor=row.amount_minor,
                signed_minor=signed,
                balance_minor=running,
            )
        )
    last = rows[-1] if more and rows else None
    next_after = None
    if last is not None:
        next_after = (last.effective_at_us if order == "effective" else 0, last.seq, last.leg)
    return StatementPage(
        account=account,
        currency=currency,
        order=order,
        opening_minor=opening,
        lines=tuple(lines),
        next_after=next_after,
    )
