"""The same workload on the peers Satang is measured against, in the same process
invocation as Satang's own figures so the ratios are fair:

* :mod:`ledger.bench.peers.raw`: the bare minimum this storage path can do in Python, plain
  ``sqlite3.executemany`` of one msgspec-encoded row per entry in durable transactions,
  with only an in-memory overdraft check;
* :mod:`ledger.bench.peers.es`: the ``eventsourcing`` library (the ``bench`` extra), an
  idiomatic application of wallet aggregates on its SQLite persistence.
"""
