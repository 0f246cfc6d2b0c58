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
"""

from ledger.testing.cod import CodMachine, CodModel
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
from ledger.testing.wallet import ManualClock, WalletMachine, WalletModel

__all__ = [
    "AuditedMachine",
    "CodMachine",
    "CodModel",
    "LedgerMachine",
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
