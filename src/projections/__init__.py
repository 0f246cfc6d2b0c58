"""The read side: read models and reports folded from the event log.

For now: the balances read model as a pure fold (:mod:`projections.balances`), which an
audit compares against the balances the store keeps inline.
"""

from projections.balances import rebuild, totals_by_currency

__all__ = ["rebuild", "totals_by_currency"]
