"""The balances read model as a pure fold of the log.

The store keeps balances inline (same transaction as the events); this module folds the
log from scratch with the same arithmetic (:meth:`ledger.accounts.Counters.add`), so an
audit can compare the two: rebuilt must equal inline, account for account.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.accounts import AccountType, Balance, Counters
from ledger.events import AccountOpened, MoneyEvent
from ledger.store.base import RecordedEvent

NAME = "balances"
VERSION = 1


class Fold:
    """Balances folded one event at a time, in seq order."""

    def __init__(self) -> None:
        self._opened: dict[str, AccountOpened] = {}
        self._counters: dict[str, Counters] = {}

    def apply(self, record: RecordedEvent) -> None:
        event = record.event
        if isinstance(event, AccountOpened):
            self._opened[event.account] = event
            self._counters[event.account] = Counters()
        elif isinstance(event, MoneyEvent):
            for p in event.postings:
                self._counters[p.account] = self._counters[p.account].add(p.side, p.amount_minor)

    def balances(self) -> dict[str, Balance]:
        """Every account opened so far, by id."""
        return {
            account: Balance.from_counters(
                account,
                opened.currency,
                AccountType(opened.account_type).normal_side,
                self._counters[account],
            )
            for account, opened in sorted(self._opened.items())
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
