"""The stateful machine is only worth its green if it turns red on a broken ledger.

Each test breaks one rule on purpose (monkeypatching the ledger, not the machine) and
checks that the machine fails.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from ledger.errors import StoreError
from ledger.flows import journal
from ledger.store import sqlite
from ledger.testing import LedgerMachine

FAST = settings(
    phases=[Phase.explicit, Phase.generate],  # finding the bug is the point; no shrinking
    max_examples=300,
    stateful_step_count=40,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


class _ForgetfulState:
    """A state that hides every account's no_overdraft policy from the decide function."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def account(self, account_id: str) -> Any:
        found = self._inner.account(account_id)
        return None if found is None else attrs.evolve(found, no_overdraft=False)


def test_machine_catches_an_ignored_overdraft_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    original = journal.post
    monkeypatch.setattr(journal, "post", lambda legs, state: original(legs, _ForgetfulState(state)))
    with pytest.raises(AssertionError):
        run_state_machine_as_test(LedgerMachine, settings=FAST)


def test_machine_catches_a_broken_idempotency_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite._SqliteTransaction, "find_commands", lambda self, ids: {})
    # A retry is decided again: the machine sees a second acceptance, or the database
    # refuses the second row in the idempotency index.
    with pytest.raises((AssertionError, StoreError)):
        run_state_machine_as_test(LedgerMachine, settings=FAST)


def test_machine_catches_an_inline_balance_off_by_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = sqlite._SqliteTransaction._project

    def off_by_one(self: Any, seq: int, new: Any) -> None:
        original(self, seq, new)
        if hasattr(new.event, "postings") and len(new.event.postings) > 2:
            account = new.event.postings[-1].account
            found, c = self._store._accounts[account]
            self._store._accounts[account] = (
                found,
                attrs.evolve(c, credits_posted=c.credits_posted + 1),
            )

    monkeypatch.setattr(sqlite._SqliteTransaction, "_project", off_by_one)
    with pytest.raises(AssertionError):
        run_state_machine_as_test(LedgerMachine, settings=FAST)
