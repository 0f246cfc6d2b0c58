"""The event store: the :class:`~ledger.store.base.Store` protocol every backend
implements, and its SQLite backend (:mod:`ledger.store.sqlite`)."""
