"""The accounts and balances read model as a pure fold of the log.

The store keeps accounts and balances inline (same transaction as the events); this
module folds the log from scratch with the same fold
(:class:`ledger.state.accounts.AccountsFold`), so an audit can compare the two: rebuilt
must equal inline, account for account, attribute for attribute.
"""

from __future__ import annotations

from collections.abc import Iterable

from ledger.accounts import Account, Balance, Counters
from ledger.errors import FoldError as FoldError
from ledger.state.accounts import AccountsFold, totals_by_currency
from ledger.store.base import RecordedEvent

__all__ = ["Fold", "FoldError", "rebuild", "totals_by_currency"]


class Fold:
    """Accounts and their counters folded from the log's rows, one at a time in seq order:
    :class:`~ledger.state.accounts.AccountsFold` fed with each row's event and seq."""

    def __init__(self) -> None:
        self._fold = AccountsFold()

    def apply(self, record: RecordedEvent) -> None:
        """Fold one row; :class:`~ledger.errors.FoldError` if the log is damaged at it."""
        self._fold.apply(record.event, record.seq)

    def accounts(self) -> dict[str, tuple[Account, Counters]]:
        """Every account opened so far with its counters, by id."""
        return self._fold.accounts()

    def balances(self) -> dict[str, Balance]:
        """Every account opened so far, by id."""
        return self._fold.balances()


def rebuild(events: Iterable[RecordedEvent], *, until_seq: int | None = None) -> dict[str, Balance]:
    """Fold events (in seq order) into every account's balance, optionally up to a seq;
    :class:`~ledger.errors.FoldError` if the log is damaged."""
    fold = Fold()
    for record in events:
        if until_seq is not None and record.seq > until_seq:
            break
        fold.apply(record)
    return fold.balances()
