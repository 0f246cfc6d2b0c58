"""The accounts and balances read model as a pure fold of the log.

The store keeps accounts and balances inline (same transaction as the events); this
module folds the log from scratch with the same fold
(:class:`ledger.state.accounts.AccountsFold`), so an audit can compare the two: rebuilt
must equal inline, account for account, attribute for attribute.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.accounts import Balance
from ledger.state.accounts import AccountsFold, totals_by_currency
from ledger.store.base import RecordedEvent

__all__ = ["rebuild", "totals_by_currency"]


def rebuild(events: Iterable[RecordedEvent], *, until_seq: int | None = None) -> dict[str, Balance]:
    """Fold events (in seq order) into every account's balance, optionally up to a seq;
    :class:`~ledger.errors.FoldError` if the log is damaged."""
    fold = AccountsFold()
    for record in events:
        if until_seq is not None and record.seq > until_seq:
            break
        fold.apply(record.event, record.seq)
    return fold.balances()
