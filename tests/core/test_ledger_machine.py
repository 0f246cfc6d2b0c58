"""The stateful machine: sequences of up to 250 random commands, checked against the model
after every step (30 sequences in memory, 15 of 40 on a file that is reopened at the end)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from ledger import Ledger
from ledger.testing import LedgerMachine

pytestmark = pytest.mark.slow  # long stateful searches: `make test` runs them


class MemoryLedgerMachine(LedgerMachine):
    pass


MemoryLedgerMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=250,
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
