"""Hypothesis strategies for Satang's public types, and stateful machines for the ledger.

Install with the ``testing`` extra (it needs hypothesis). Use the strategies to
property-test your own flows, and subclass :class:`LedgerMachine` to drive random command
sequences against your own store or configuration::

    from ledger.testing import LedgerMachine

    class FileLedger(LedgerMachine):
        def open_ledger(self):
            return Ledger.open(self.tmp_path / "machine.db")

    TestFileLedger = FileLedger.TestCase

The machine keeps a deliberately plain model — dicts of ints, rules written out again
from the documentation — and after every step checks that the ledger agrees with it and
that the invariants hold: every currency sums to zero, no ``no_overdraft`` account is
negative, the log is gapless and grows only by accepted commands.

:class:`WalletMachine` does the same for the wallet flows (top-ups, payments, bills,
refunds, P2P, withdrawals, exchange, holds, KYC tiers) on a :class:`ManualClock` it moves
itself, so holds expire and daily and monthly limits roll over; its model is
:class:`WalletModel`. Override ``open_ledger(clock)`` to run it on another store.

:class:`CodMachine` drives the cash-on-delivery flows (deliveries, failed deliveries,
remittances short and exact, disputes, releases, payouts, returns at every stage, buyer
refunds) against :class:`CodModel`, checking that each courier's receivables and each
merchant's payables follow its orders, that an order only moves forward and is never
paid out twice.

:class:`LoanMachine` drives the micro-loan flows (disbursements over the limit and above
the cost cap, accruals on any day, repayments of any size from any wallet, provisioning,
restructuring, write-offs, recoveries) against :class:`LoanModel`, an annuity schedule
and daily accrual worked out again with fractions, checking that repayments are
allocated oldest installment first and interest before principal, that the pooled loan
accounts are the sum of the loans, and that no loan costs more than the cap.
"""

from ledger.testing.cod import CodMachine, CodModel
from ledger.testing.loans import LoanMachine, LoanModel
from ledger.testing.machine import AuditedMachine, LedgerMachine, Model
from ledger.testing.strategies import (
    account_ids,
    account_types,
    amounts,
    balanced_entries,
    command_ids,
    currencies,
    not_amounts,
    open_accounts,
)
from ledger.testing.wallet import WalletMachine, WalletModel
from ledger.times import ManualClock

__all__ = [
    "AuditedMachine",
    "CodMachine",
    "CodModel",
    "LedgerMachine",
    "LoanMachine",
    "LoanModel",
    "ManualClock",
    "Model",
    "WalletMachine",
    "WalletModel",
    "account_ids",
    "account_types",
    "amounts",
    "balanced_entries",
    "command_ids",
    "currencies",
    "not_amounts",
    "open_accounts",
]
