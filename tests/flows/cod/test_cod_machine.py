"""The COD machine: sequences of up to 50 random cash-on-delivery steps (deliveries,
failed deliveries, remittances short and exact, disputes, releases, payouts, returns at
every stage, refunds, retries) on a hand-moved clock, checked against the model after
every step (80 sequences in memory under the default policy, 30 under another, 10 on a
file that is reopened at the end)."""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from ledger import CodPolicy, Ledger
from ledger.testing import CodMachine, ManualClock

pytestmark = pytest.mark.slow  # long stateful searches: `make test` runs them


class MemoryCodMachine(CodMachine):
    pass


MemoryCodMachine.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestMemoryCodMachine = MemoryCodMachine.TestCase


class OtherPolicyCodMachine(CodMachine):
    """Orders released before their cash is in, a 3-day window, VAT at 10%: a return
    after release may come before the remittance, and a payout must still skip it."""

    policy = CodPolicy(
        return_window=timedelta(days=3), vat_rate_bps=1_000, release_after_remittance=False
    )


OtherPolicyCodMachine.TestCase.settings = settings(
    max_examples=30,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestOtherPolicyCodMachine = OtherPolicyCodMachine.TestCase


class FileCodMachine(CodMachine):
    """The same machine on a real file; reopened at the end, it reads back the same."""

    def open_ledger(self, clock: ManualClock) -> Ledger:
        self._dir = tempfile.TemporaryDirectory()
        self._path = Path(self._dir.name) / "cod.db"
        return Ledger.open(self._path, clock=clock, durability="normal", cod=self.policy)

    def teardown(self) -> None:
        before = {b.account: b for b in self.book.balances()}
        head = self.book.head()
        self.book.close()
        self.book = Ledger.open(self._path, clock=self.clock, cod=self.policy)
        assert {b.account: b for b in self.book.balances()} == before
        assert self.book.head() == head
        super().teardown()
        self._dir.cleanup()


FileCodMachine.TestCase.settings = settings(
    max_examples=10,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestFileCodMachine = FileCodMachine.TestCase
