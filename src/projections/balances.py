"""The accounts and balances read model as a pure fold of the log.

The store keeps accounts and balances inline (same transaction as the events); this
module folds the log from scratch with the same arithmetic
(:meth:`ledger.accounts.Counters.add`), so an audit can compare the two: rebuilt must
equal inline, account for account, attribute for attribute.
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from ledger.accounts import Account, AccountStatus, AccountType, Balance, Counters
from ledger.errors import StoreCorrupt
from ledger.events import (
    AccountClosed,
    AccountFrozen,
    AccountOpened,
    AccountUnfrozen,
    MoneyEvent,
    TierAssigned,
)
from ledger.store.base import RecordedEvent

_STATUS_AFTER = {
    AccountFrozen: AccountStatus.FROZEN,
    AccountUnfrozen: AccountStatus.OPEN,
    AccountClosed: AccountStatus.CLOSED,
}


class FoldError(StoreCorrupt, ValueError):
    """The log cannot be folded: an event names an account that was never opened, or an
    account's attributes are not valid. Only a damaged log does this, so it is a
    :class:`~ledger.errors.StoreCorrupt` (in the ``LedgerError`` tree)."""


class Fold:
    """Accounts and their counters, folded one event at a time in seq order."""

    def __init__(self) -> None:
        self._accounts: dict[str, Account] = {}
        self._counters: dict[str, Counters] = {}

    def apply(self, record: RecordedEvent) -> None:
        """Fold one event; :class:`FoldError` if the log is damaged at this event."""
        event = record.event
        if isinstance(event, AccountOpened):
            try:
                account_type = AccountType(event.account_type)
            except ValueError as exc:
                raise FoldError(f"seq {record.seq}: {exc}") from exc
            self._accounts[event.account] = Account(
                id=event.account,
                type=account_type,
                currency=event.currency,
                no_overdraft=event.no_overdraft,
                max_balance_minor=event.max_balance_minor,
                status=AccountStatus.OPEN,
                metadata=dict(event.metadata),
            )
            self._counters[event.account] = Counters()
        elif isinstance(event, MoneyEvent):
            for p in event.postings:
                if p.account not in self._counters:
                    raise FoldError(f"seq {record.seq} posts to {p.account!r}, never opened")
                self._counters[p.account] = self._counters[p.account].add(
                    p.side, p.amount_minor, p.phase
                )
        elif isinstance(event, AccountFrozen | AccountUnfrozen | AccountClosed):
            found = self._accounts.get(event.account)
            if found is None:
                raise FoldError(f"seq {record.seq} names {event.account!r}, never opened")
            self._accounts[event.account] = attrs.evolve(found, status=_STATUS_AFTER[type(event)])
        elif isinstance(event, TierAssigned):
            found = self._accounts.get(event.account)
            if found is None:
                raise FoldError(f"seq {record.seq} names {event.account!r}, never opened")
            self._accounts[event.account] = attrs.evolve(found, tier=event.tier)

    def accounts(self) -> dict[str, tuple[Account, Counters]]:
        """Every account opened so far with its counters, by id."""
        return {a: (self._accounts[a], self._counters[a]) for a in sorted(self._accounts)}

    def balances(self) -> dict[str, Balance]:
        """Every account opened so far, by id."""
        return {
            a: Balance.from_counters(a, account.currency, account.normal_side, counters)
            for a, (account, counters) in self.accounts().items()
        }


def rebuild(events: Iterable[RecordedEvent], *, until_seq: int | None = None) -> dict[str, Balance]:
    """Fold events (in seq order) into every account's balance, optionally up to a seq."""
    fold = Fold()
    for record in events:
        if until_seq is not None and record.seq > until_seq:
            break
        fold.apply(record)
    return fold.balances()


def totals_by_currency(balances: Iterable[Balance]) -> dict[str, int]:
    """Debits minus credits per currency over all accounts: zero in a sound ledger."""
    totals: dict[str, int] = {}
    for b in balances:
        net = b.debits_posted - b.credits_posted + b.debits_pending - b.credits_pending
        totals[b.currency] = totals.get(b.currency, 0) + net
    return totals
