"""An account folded from its events: the one place an account event's meaning is written.

``AccountOpened`` makes the account (:func:`opened`); every later account event changes
attributes of it (:data:`CHANGES`, :func:`changes`, :func:`changed`); every posting moves
its four counters (:meth:`ledger.accounts.Counters.add`). The store's inline projection
(``accounts``), the statements read model (``proj_accounts``), the balances fold
(:class:`AccountsFold`, which ``projections.balances`` and the audit run over the whole
log) all fold accounts here, so a new account event is one entry in :data:`CHANGES` and
each of them follows.

The attributes :func:`changes` returns are named as :class:`~ledger.accounts.Account`
and both accounts tables spell them (``status``, ``tier``); :func:`stored` gives their
column values.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from typing import Any

import attrs

from ledger.accounts import Account, AccountStatus, AccountType, Balance, Counters
from ledger.errors import FoldError
from ledger.events import (
    AccountClosed,
    AccountFrozen,
    AccountOpened,
    AccountUnfrozen,
    Event,
    MoneyEvent,
    TierAssigned,
)

CHANGES: dict[type[Event], Callable[[Any], tuple[str, dict[str, Any]]]] = {
    AccountFrozen: lambda e: (e.account, {"status": AccountStatus.FROZEN}),
    AccountUnfrozen: lambda e: (e.account, {"status": AccountStatus.OPEN}),
    AccountClosed: lambda e: (e.account, {"status": AccountStatus.CLOSED}),
    TierAssigned: lambda e: (e.account, {"tier": e.tier}),
}
"""For each event that changes an account: the account and the attributes the event
sets on it (by ``Account``'s names). A new account event type is one entry here."""

ACCOUNT_EVENTS: frozenset[type[Event]] = frozenset({AccountOpened, *CHANGES})
"""Every event type that opens or changes an account (postings aside)."""


def opened(event: AccountOpened) -> Account:
    """The account ``event`` opens: open, no tier, its attributes as recorded.
    :class:`~ledger.errors.FoldError` if the recorded type is not one this code knows."""
    try:
        account_type = AccountType(event.account_type)
    except ValueError as exc:
        raise FoldError(f"{event.account!r} is opened with {exc}") from exc
    return Account(
        id=event.account,
        type=account_type,
        currency=event.currency,
        no_overdraft=event.no_overdraft,
        max_balance_minor=event.max_balance_minor,
        status=AccountStatus.OPEN,
        metadata=dict(event.metadata),
        subject=event.subject,
    )


def changes(event: Event) -> tuple[str, dict[str, Any]]:
    """The account ``event`` (one of :data:`CHANGES`) changes, and the attributes it sets
    on it, by name."""
    return CHANGES[type(event)](event)


def changed(account: Account, event: Event) -> Account:
    """``account`` after ``event`` (one of :data:`CHANGES`)."""
    return attrs.evolve(account, **changes(event)[1])


def stored(values: dict[str, Any]) -> dict[str, Any]:
    """Attribute values as the accounts tables store them (a status as its text)."""
    return {k: v.value if isinstance(v, enum.Enum) else v for k, v in values.items()}


class AccountsFold:
    """Accounts and their counters, folded one event at a time in log order: what the
    store keeps inline, rebuilt from nothing (the audit compares the two)."""

    def __init__(self) -> None:
        self._accounts: dict[str, Account] = {}
        self._counters: dict[str, list[int]] = {}
        """Each account's four counters as plain ints (debits posted, credits posted,
        debits pending, credits pending), moved in place: a replay folds every posting."""

    def apply(self, event: Event, seq: int | None = None) -> None:
        """Fold one event; :class:`~ledger.errors.FoldError` (naming ``seq``) if the log
        is damaged at it: an account opened with an unknown type, or an event naming an
        account never opened."""
        if isinstance(event, MoneyEvent):
            all_counters = self._counters
            for p in event.postings:
                counters = all_counters.get(p.account)
                if counters is None:
                    raise FoldError(f"seq {seq} posts to {p.account!r}, never opened", seq=seq)
                # ledger.accounts.move, inline: a replay folds every posting of the log, and
                # the call costs it a tenth to a fifth of its rate (satang bench, replay)
                if p.phase == "posted":
                    counters[0 if p.side == "debit" else 1] += p.amount_minor
                else:
                    change = p.amount_minor if p.phase == "pending" else -p.amount_minor
                    counters[2 if p.side == "debit" else 3] += change
        elif isinstance(event, AccountOpened):
            try:
                self._accounts[event.account] = opened(event)
            except FoldError as exc:
                raise FoldError(f"seq {seq}: {exc}", seq=seq) from exc
            self._counters[event.account] = [0, 0, 0, 0]
        elif type(event) in CHANGES:
            account_id, _ = changes(event)
            found = self._accounts.get(account_id)
            if found is None:
                raise FoldError(f"seq {seq} names {account_id!r}, never opened", seq=seq)
            self._accounts[account_id] = changed(found, event)

    def accounts(self) -> dict[str, tuple[Account, Counters]]:
        """Every account opened so far with its counters, by id."""
        return {
            a: (self._accounts[a], Counters(*self._counters[a])) for a in sorted(self._accounts)
        }

    def balances(self) -> dict[str, Balance]:
        """Every account opened so far, by id."""
        return {
            a: Balance.from_counters(a, account.currency, account.normal_side, counters)
            for a, (account, counters) in self.accounts().items()
        }


def totals_by_currency(balances: Iterable[Balance]) -> dict[str, int]:
    """Debits minus credits per currency over all accounts: zero in a sound ledger."""
    totals: dict[str, int] = {}
    for b in balances:
        net = b.debits_posted - b.credits_posted + b.debits_pending - b.credits_pending
        totals[b.currency] = totals.get(b.currency, 0) + net
    return totals
