"""What the books say now, folded from the log: one fold per aggregate, beneath the flows,
the store and the read models, which all call the same one.

* :mod:`ledger.state.port` — the port: :class:`State`, what a decide function may read
  (the store implements it inside its write transaction), and :class:`NewEvent`, what it
  proposes.
* :mod:`ledger.state.accounts` — an account's attributes and counters: the store's inline
  projection, the balances and statements read models and the audit fold accounts here.
* :mod:`ledger.state.holds`, :mod:`ledger.state.cod`, :mod:`ledger.state.loans` — a hold,
  a COD order, a loan: each stream's fold and the rules of its transitions (a stream that
  breaks them is a damaged log: :class:`ledger.errors.FoldError`), which the decide
  functions read and the audit checks with.

Nothing here imports a flow, the store or a read model.
"""

from ledger.state.port import NewEvent, State

__all__ = ["NewEvent", "State"]
