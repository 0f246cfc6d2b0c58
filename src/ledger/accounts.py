"""Accounts: types and normal sides, policies, and the balance arithmetic every store shares.

Balances keep TigerBeetle's four counters — ``debits_posted``, ``credits_posted``,
``debits_pending``, ``credits_pending`` — each a non-negative int. The posted counters
only grow, so a posted balance at any point is a difference of counters; the pending ones
rise when a hold reserves funds and fall when it is captured, released or expired.
``balance`` (posted, on the account's normal side) and ``available`` (balance less pending
outflows) are derived from them.
"""

from __future__ import annotations

import enum
import functools
import re
from typing import Literal

import attrs

from ledger.money import AMOUNT_MAX_MINOR

ID_MAX_LENGTH = 128
"""The longest id, in characters."""
_ID = re.compile(rf"^[A-Za-z0-9:_.\-]{{1,{ID_MAX_LENGTH}}}$")

Side = Literal["debit", "credit"]
Phase = Literal["posted", "pending", "released"]
"""What a posting does to the counters: ``posted`` adds to the posted counter of its side,
``pending`` to the pending one (a hold reserves), ``released`` takes that reservation off
the pending one again (the hold was captured, released or expired)."""


class AccountType(enum.StrEnum):
    """The five account types of double entry."""

    ASSET = "asset"
    LIABILITY = "liability"
    EQUITY = "equity"
    INCOME = "income"
    EXPENSE = "expense"

    @property
    def normal_side(self) -> Side:
        """Debit for assets and expenses, credit for liabilities, equity and income."""
        return _NORMAL_SIDES[self]


_NORMAL_SIDES: dict[AccountType, Side] = {
    t: "debit" if t in (AccountType.ASSET, AccountType.EXPENSE) else "credit" for t in AccountType
}


class AccountStatus(enum.StrEnum):
    """An open account takes postings; a frozen one takes none; a closed one is at zero."""

    OPEN = "open"
    FROZEN = "frozen"
    CLOSED = "closed"


def is_valid_id(value: object, *, remember: bool = True) -> bool:
    """True for an id of 1..128 characters from ``[A-Za-z0-9:_.-]`` (accounts, commands).
    The answers for the ids a ledger meets again and again (its accounts) are remembered;
    ``remember=False`` for one it meets once (a command's id)."""
    if type(value) is str and remember:
        return len(value) <= ID_MAX_LENGTH and _valid_id(value)
    return isinstance(value, str) and _ID.fullmatch(value) is not None


@functools.lru_cache(maxsize=65_536)
def _valid_id(value: str) -> bool:
    # the ids of a busy ledger repeat (its wallets, the chart's accounts): each is matched
    # once. Only plain str of at most ID_MAX_LENGTH characters are cached (a str subclass
    # has a hash and equality of its own; a long one is never an id).
    return _ID.fullmatch(value) is not None


@attrs.frozen
class Account:
    """An account as the write side sees it when deciding."""

    id: str
    type: AccountType
    currency: str
    no_overdraft: bool
    max_balance_minor: int | None
    status: AccountStatus
    metadata: dict[str, str] = attrs.field(factory=dict)
    tier: str | None = None
    """The KYC tier assigned to the account (``AssignTier``), if any."""
    subject: str | None = None
    """The customer the account belongs to (docs/personal-data.md); None for a system
    account."""

    @property
    def normal_side(self) -> Side:
        return self.type.normal_side


@attrs.frozen
class Counters:
    """The four balance counters of one account."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    def add(self, side: Side, amount_minor: int, phase: Phase = "posted") -> Counters:
        """Return the counters after one leg of ``phase`` (posted by default)."""
        if phase == "posted":
            if side == "debit":
                return self.plus(amount_minor, 0)
            return self.plus(0, amount_minor)
        change = amount_minor if phase == "pending" else -amount_minor
        if side == "debit":
            return Counters(
                self.debits_posted,
                self.credits_posted,
                self.debits_pending + change,
                self.credits_pending,
            )
        return Counters(
            self.debits_posted,
            self.credits_posted,
            self.debits_pending,
            self.credits_pending + change,
        )

    def plus(self, debits_minor: int, credits_minor: int) -> Counters:
        """The counters after posted debits and credits of these totals."""
        return Counters(
            self.debits_posted + debits_minor,
            self.credits_posted + credits_minor,
            self.debits_pending,
            self.credits_pending,
        )

    def in_range(self) -> bool:
        """True while every counter fits in 0..2**63-1 (SQLite's INTEGER)."""
        return (
            0 <= self.debits_posted <= AMOUNT_MAX_MINOR
            and 0 <= self.credits_posted <= AMOUNT_MAX_MINOR
            and 0 <= self.debits_pending <= AMOUNT_MAX_MINOR
            and 0 <= self.credits_pending <= AMOUNT_MAX_MINOR
        )

    def balance(self, normal_side: Side) -> int:
        """Posted balance on the normal side (may be negative for an account without policy)."""
        if normal_side == "debit":
            return self.debits_posted - self.credits_posted
        return self.credits_posted - self.debits_posted

    def available(self, normal_side: Side) -> int:
        """Posted balance less pending outflows: what the owner may still spend."""
        if normal_side == "debit":
            return self.balance(normal_side) - self.credits_pending
        return self.balance(normal_side) - self.debits_pending

    def incoming(self, normal_side: Side) -> int:
        """Posted balance plus pending inflows: what counts against ``max_balance_minor``."""
        if normal_side == "debit":
            return self.balance(normal_side) + self.debits_pending
        return self.balance(normal_side) + self.credits_pending


def move(counters: list[int], side: Side, amount_minor: int, phase: Phase = "posted") -> None:
    """:meth:`Counters.add` in place, on the four counters as a list in the order of
    :class:`Counters`: what a fold of every posting of the log calls, without a
    ``Counters`` made for each."""
    if phase == "posted":
        counters[0 if side == "debit" else 1] += amount_minor
    else:
        change = amount_minor if phase == "pending" else -amount_minor
        counters[2 if side == "debit" else 3] += change


@attrs.frozen
class Balance:
    """An account's balance as callers read it (``Ledger.balance``)."""

    account: str
    currency: str
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    balance: int
    available: int

    @classmethod
    def from_counters(
        cls, account: str, currency: str, normal_side: Side, counters: Counters
    ) -> Balance:
        dp, cp = counters.debits_posted, counters.credits_posted
        dq, cq = counters.debits_pending, counters.credits_pending
        # Counters.balance and Counters.available, inline: every answer builds a few
        if normal_side == "debit":
            balance, available = dp - cp, dp - cp - cq
        else:
            balance, available = cp - dp, cp - dp - dq
        return cls(account, currency, dp, cp, dq, cq, balance, available)
