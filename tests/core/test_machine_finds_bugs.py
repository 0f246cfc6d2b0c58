"""The stateful machine is only worth its green if it turns red on a broken ledger.

Each test breaks one rule on purpose (monkeypatching the ledger, not the machine) and
checks that the machine fails.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import attrs
import msgspec
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import run_state_machine_as_test

from ledger import CodPolicy
from ledger.commands import CaptureHold, DisburseLoan
from ledger.errors import StoreError
from ledger.events import Allocation, CodOrderDelivered, CodOrderReleased, HoldPlaced
from ledger.flows import DECIDERS, cod, holds, journal, loans, payments
from ledger.results import Rejected
from ledger.store import sqlite
from ledger.testing import (
    CodMachine,
    LedgerMachine,
    LoanMachine,
    WalletMachine,
)
from ledger.testing.machine import AuditedMachine

# Each test runs a machine until it finds the planted bug: a search of random length.
pytestmark = pytest.mark.slow

FAST = settings(
    phases=[Phase.explicit, Phase.generate],  # finding the bug is the point; no shrinking
    max_examples=300,
    stateful_step_count=40,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(autouse=True)
def _flows_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests show the machines catch planted bugs in the flows; the read models are
    checked by the machines' own runs (tests/core/test_ledger_machine.py and
    tests/flows/*/test_*_machine.py)."""
    monkeypatch.setattr(AuditedMachine, "check_projections", False)


class _ForgetfulState:
    """A state that hides every account's no_overdraft policy from the decide function."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def account(self, account_id: str) -> Any:
        found = self._inner.account(account_id)
        return None if found is None else attrs.evolve(found, no_overdraft=False)

    def holding(self, account_id: str) -> Any:
        found = self._inner.holding(account_id)
        return None if found is None else (attrs.evolve(found[0], no_overdraft=False), found[1])


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

    def off_by_one(self: Any, seq: int, effective_us: int, event: Any) -> None:
        original(self, seq, effective_us, event)
        if hasattr(event, "postings") and len(event.postings) > 2:
            account = event.postings[-1].account
            found, c = self._store._accounts[account]
            self._store._accounts[account] = (
                found,
                attrs.evolve(c, credits_posted=c.credits_posted + 1),
            )

    monkeypatch.setattr(sqlite._SqliteTransaction, "_project", off_by_one)
    with pytest.raises(AssertionError):
        run_state_machine_as_test(LedgerMachine, settings=FAST)


# --- the wallet machine -----------------------------------------------------------------

WALLET_FAST = settings(FAST, max_examples=1_000)
"""Each planted bug below is typically found within a hundred examples;
the run stops at the first failure, so the high ceiling costs nothing but keeps the
test from ever passing by luck."""


def test_wallet_machine_catches_refund_fees_rounded_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fee share of a refund truncated instead of rounded half up: fee income and the
    merchant's payable drift from the model after a partial refund."""
    monkeypatch.setattr(
        payments, "fee_share", lambda fee, refunded, amount: fee * refunded // amount
    )
    with pytest.raises(AssertionError):
        run_state_machine_as_test(WalletMachine, settings=WALLET_FAST)


class _LenientExpiry:
    """A state that shows every hold expiring ten minutes later than it does, so a
    capture's expiry check lets holds be captured for ten minutes after they expired."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def stream_events(self, stream: str) -> list[Any]:
        return [
            msgspec.structs.replace(e, expires_at=e.expires_at + timedelta(minutes=10))
            if isinstance(e, HoldPlaced)
            else e
            for e in self._inner.stream_events(stream)
        ]


def test_wallet_machine_catches_a_capture_after_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    original = holds.decide_capture_hold
    monkeypatch.setitem(
        DECIDERS, CaptureHold, lambda command, state: original(command, _LenientExpiry(state))
    )
    with pytest.raises(AssertionError):
        run_state_machine_as_test(WalletMachine, settings=WALLET_FAST)


# --- the COD machine --------------------------------------------------------------------


def test_cod_machine_catches_vat_rounded_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """VAT inside a commission truncated instead of rounded half up: commission income
    and VAT output drift from the model (27.50 at 7% holds 1.799..., so 1.80, not 1.79)."""
    monkeypatch.setattr(cod, "vat_inside", lambda fee, rate: fee * rate // (10_000 + rate))
    with pytest.raises(AssertionError):
        run_state_machine_as_test(CodMachine, settings=WALLET_FAST)


def test_cod_machine_catches_a_payout_that_forgets_its_orders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A payout that pays the money but marks no order paid out: a later return takes the
    order's share from the available payable a second time, or the log's payouts disagree
    with the orders the model paid."""
    original = cod._open_orders

    def forgetful(state: Any, last_types: tuple[type, ...]) -> list[Any]:
        if CodOrderReleased in last_types and CodOrderDelivered not in last_types:
            return []
        return original(state, last_types)

    monkeypatch.setattr(cod, "_open_orders", forgetful)
    with pytest.raises(AssertionError):
        run_state_machine_as_test(CodMachine, settings=WALLET_FAST)


class _ReleasedBeforeCash(CodMachine):
    policy = CodPolicy(release_after_remittance=False)


def test_cod_machine_catches_a_payout_of_a_returned_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Orders released before their cash: a payout that forgets an order was returned
    after release (and remitted after that) pays the merchant for it all the same."""
    original = cod._open_orders

    def forgets_returns(state: Any, last_types: tuple[type, ...]) -> list[Any]:
        found = original(state, last_types)
        if CodOrderReleased in last_types and CodOrderDelivered not in last_types:
            return [attrs.evolve(o, returned=None) for o in found]
        return found

    monkeypatch.setattr(cod, "_open_orders", forgets_returns)
    with pytest.raises(AssertionError):
        run_state_machine_as_test(_ReleasedBeforeCash, settings=WALLET_FAST)


# --- the loan machine -------------------------------------------------------------------


class _LoanMachine(LoanMachine):
    """The machine as the suite runs it: only the planted bug can turn it red."""


def test_loan_machine_catches_principal_taken_before_interest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A waterfall that pays each installment's principal before its interest: a partial
    repayment leaves interest owed behind principal paid."""

    def principal_first(loan: Any, day: Any, amount_minor: int) -> tuple[Allocation, ...]:
        left, found = amount_minor, []
        for p in loan.due_parts(day):
            principal = min(left, p.principal_owed_minor)
            interest = min(left - principal, p.interest_owed_minor)
            default = min(left - principal - interest, p.default_owed_minor)
            left -= principal + interest + default
            if principal or interest or default:
                found.append(
                    Allocation(
                        number=p.number,
                        interest_minor=interest,
                        default_interest_minor=default,
                        principal_minor=principal,
                    )
                )
        return tuple(found)

    monkeypatch.setattr(loans, "allocate", principal_first)
    with pytest.raises(AssertionError):
        run_state_machine_as_test(_LoanMachine, settings=WALLET_FAST)


def test_loan_machine_catches_an_accrual_that_floors_each_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each accrual run recognising its own days' share rounded down, instead of the
    running total's: the fractions of a satang are lost between runs, so the interest
    and default interest recognised fall short of the model's."""
    original = loans.accrual

    def floors_each_run(loan: Any, through: Any, on: Any) -> Any:
        found = original(loan, through, on)
        if found is None:
            return None
        parts = {p.number: p for p in loan.parts}
        lines = []
        for line in found.lines:
            p = parts[line.number]
            period = (p.due - p.start).days

            def elapsed(day: Any, p: Any = p, period: int = period) -> int:
                return int(min(max((day - p.start).days, 0), period))

            days = elapsed(through) - elapsed(loan.accrued_through)
            added = line.default_basis - p.default_basis
            lines.append(
                msgspec.structs.replace(
                    line,
                    interest_minor=p.interest_minor * days // period,
                    default_interest_minor=added // loans.DEFAULT_DIVISOR,
                )
            )
        return msgspec.structs.replace(found, lines=tuple(lines))

    monkeypatch.setattr(loans, "accrual", floors_each_run)
    with pytest.raises(AssertionError):
        run_state_machine_as_test(_LoanMachine, settings=WALLET_FAST)


def test_loan_machine_catches_a_default_rate_above_the_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Default interest at the contract rate + the margin with no ceiling: a loan at 33%
    charges 36% on its overdue principal."""
    original = loans.decide_disburse_loan

    def uncapped(command: DisburseLoan, state: Any) -> Any:
        found = original(command, state)
        if isinstance(found, Rejected):
            return found
        first, *rest = found
        rate = first.event.annual_rate_bps + state.policy.loans.default_margin_bps
        event = msgspec.structs.replace(first.event, default_rate_bps=rate)
        return [attrs.evolve(first, event=event), *rest]

    monkeypatch.setitem(DECIDERS, DisburseLoan, uncapped)
    with pytest.raises(AssertionError):
        run_state_machine_as_test(_LoanMachine, settings=WALLET_FAST)


def test_loan_machine_catches_a_limit_that_forgets_open_loans(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The borrower limit checked against the new principal alone: a borrower can owe
    any multiple of it across loans."""
    monkeypatch.setattr(loans, "_borrower_owed", lambda state, borrower: 0)
    with pytest.raises(AssertionError):
        run_state_machine_as_test(_LoanMachine, settings=WALLET_FAST)


def test_loan_machine_catches_a_cap_checked_on_the_rounded_rate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The cap compared with the all-in rate rounded to the basis point (a bug the
    machine found in the flow): a fee just above what the cap allows gets through."""

    def rounded(net_minor: int, payments: Any, periods_per_year: int, cap_bps: int) -> bool:
        rate = loans.all_in_rate_bps(net_minor, payments, periods_per_year)
        return rate is not None and rate <= cap_bps

    monkeypatch.setattr(loans, "within_cap", rounded)
    with pytest.raises(AssertionError):
        run_state_machine_as_test(_LoanMachine, settings=WALLET_FAST)


def test_loan_machine_catches_a_first_period_shorter_than_a_period(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A first due date allowed from tomorrow (a bug the machine found in the flow): a
    whole period's interest charged for a day or two."""
    original = loans.first_due_range
    monkeypatch.setattr(
        loans,
        "first_due_range",
        lambda start, frequency: (start + timedelta(days=1), original(start, frequency)[1]),
    )
    with pytest.raises(AssertionError):
        run_state_machine_as_test(_LoanMachine, settings=WALLET_FAST)
