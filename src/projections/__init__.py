"""The read side: projections folded from the event log, and the reports built on them.

* :mod:`projections.base` — what a projection is (name, version, handled event types,
  owned tables) and the canonical dump that compares two sets of read models.
* :mod:`projections.runner` — :class:`Runner`: catches every projection up from its
  checkpoint, rebuilds a changed one, rebuilds all into another database.
* Read models, one module each with the tables it owns: :mod:`~projections.statements`
  (accounts, postings with running balances, balances and trial balance as of a point),
  :mod:`~projections.transactions`, :mod:`~projections.holds`, :mod:`~projections.cod`,
  :mod:`~projections.loans`.
* :mod:`projections.reports` — the regulatory and operational reports.
* :mod:`projections.balances` — the accounts and balances as a pure in-memory fold, which
  ``satang verify`` compares with the balances the store keeps inline.
"""

from projections.balances import rebuild, totals_by_currency
from projections.base import Projection, Table, canonical_dump
from projections.runner import Checkpoint, ReadModelsStale, Runner, default_projections
from projections.statements import balances_as_of, statement, trial_balance

__all__ = [
    "Checkpoint",
    "Projection",
    "ReadModelsStale",
    "Runner",
    "Table",
    "balances_as_of",
    "canonical_dump",
    "default_projections",
    "rebuild",
    "statement",
    "totals_by_currency",
    "trial_balance",
]
