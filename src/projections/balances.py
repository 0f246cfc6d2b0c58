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


def rebuild(events: Iterable[RecordedEvent], *, until_seq: int | None = None) -> dict[str, Balance]:
    """Fold events (in seq order) into every account's balance, optionally up to a seq."""
    opened: dict[str, AccountOpened] = {}
    counters: dict[str, Counters] = {}
    for record in events:
        if until_seq is not None and record.seq > until_seq:
            break
        event = record.event
        if isinstance(event, AccountOpened):
            opened[event.account] = event
            counters[event.account] = Counters()
        elif isinstance(event, MoneyEvent):
            for p in event.postings:
                counters[p.account] = counters[p.account].add(p.side, p.amount_minor)
    return {
        account: Balance.from_counters(
            account,
            opened[account].currency,
            AccountType(opened[account].account_type).normal_side,
            counters[account],
        )
        for account in sorted(opened)
    }


def totals_by_currency(balances: Iterable[Balance]) -> dict[str, int]:
    """Debits minus credits per currency over all accounts: zero in a sound ledger."""
    totals: dict[str, int] = {}
    for b in balances:
        net = b.debits_posted - b.credits_posted + b.debits_pending - b.credits_pending
        totals[b.currency] = totals.get(b.currency, 0) + net
    return totals
