"""The wallet machine: sequences of up to 40 random wallet-flow commands (top-ups,
payments, bills, refunds, transfers, withdrawals, exchange, holds, tiers, freezes,
retries, batches) on a hand-moved clock, checked against the model after every step."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings

from ledger.testing import WalletMachine

pytestmark = pytest.mark.slow  # long stateful searches: `make test` runs them


class MemoryWalletMachine(WalletMachine):
    pass


MemoryWalletMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestMemoryWalletMachine = MemoryWalletMachine.TestCase
