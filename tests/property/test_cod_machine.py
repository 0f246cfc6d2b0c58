"""The COD machine: sequences of up to 50 random cash-on-delivery steps (deliveries,
failed deliveries, remittances short and exact, disputes, releases, payouts, returns at
every stage, refunds, retries) on a hand-moved clock, checked against the model after
every step."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

from ledger.testing import CodMachine


class MemoryCodMachine(CodMachine):
    pass


MemoryCodMachine.TestCase.settings = settings(
    max_examples=80,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestMemoryCodMachine = MemoryCodMachine.TestCase
