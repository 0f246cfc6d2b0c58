"""The stateful machine: hundreds of random commands per run, checked against the model."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings

from ledger import Ledger
from ledger.testing import LedgerMachine


class MemoryLedgerMachine(LedgerMachine):
    pass


MemoryLedgerMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestMemoryLedger = MemoryLedgerMachine.TestCase


class FileLedgerMachine(LedgerMachine):
    """The same machine on a real file; the ledger is reopened once mid-run."""

    def open_ledger(self) -> Ledger:
        self._dir = tempfile.TemporaryDirectory()
        self._path = Path(self._dir.name) / "machine.db"
        return Ledger.open(self._path, durability="normal")

    def teardown(self) -> None:
        before = {b.account: b for b in self.book.balances()}
        head = self.book.head()
        self.book.close()
        self.book = Ledger.open(self._path)
        assert {b.account: b for b in self.book.balances()} == before
        assert self.book.head() == head
        super().teardown()
        self._dir.cleanup()


FileLedgerMachine.TestCase.settings = settings(
    max_examples=15,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFileLedger = FileLedgerMachine.TestCase
