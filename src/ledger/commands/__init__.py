"""Commands: frozen values naming what a caller wants the ledger to do, one module per flow
(the same modules as :mod:`ledger.flows`, where their decide functions live).

Wallets and other accounts are named by account id (``wallet:U1``); merchants, billers
and agents by party id (``M9``), whose accounts the ledger's chart names
(:class:`ledger.chart.Chart`).

Every command carries ``id``, chosen by the caller and used as its idempotency key.
Building a command checks only *types* (a float amount or an int id raises
:class:`~ledger.errors.InvalidCommand` at once); *values* — a negative amount, an unknown
account, a malformed id — are judged by the decide functions in :mod:`ledger.flows` and
come back as ``Rejected`` with a code, so a wallet backend can pass user input straight
through.
"""

from ledger.commands.accounts import CloseAccount, FreezeAccount, OpenAccount, UnfreezeAccount
from ledger.commands.base import Command, canonical_bytes
from ledger.commands.cod import (
    DISPUTE_OUTCOMES,
    PAYOUT_DESTINATIONS,
    CodDelivered,
    CodDeliveryFailed,
    CodRefunded,
    CodReleased,
    CodRemitted,
    CodReturned,
    PayoutMerchant,
    ResolveDispute,
)
from ledger.commands.exchange import Exchange
from ledger.commands.holds import CaptureHold, ExpireHolds, PlaceHold, ReleaseHold
from ledger.commands.journal import ClosePeriod, Credit, Debit, Leg, PostEntry, Reverse
from ledger.commands.loans import (
    LOAN_FREQUENCIES,
    AccrueInterest,
    DisburseLoan,
    ProvisionLoans,
    RecoverLoan,
    RepayLoan,
    RestructureLoan,
    WriteOffLoan,
)
from ledger.commands.payments import Pay, PayBill, Refund
from ledger.commands.subjects import EraseSubject
from ledger.commands.tiers import AssignTier, DefineTier
from ledger.commands.topups import TOP_UP_CHANNELS, SettleAgent, TopUp
from ledger.commands.transfers import Transfer, Withdraw

__all__ = [
    "DISPUTE_OUTCOMES",
    "LOAN_FREQUENCIES",
    "PAYOUT_DESTINATIONS",
    "TOP_UP_CHANNELS",
    "AccrueInterest",
    "AssignTier",
    "CaptureHold",
    "CloseAccount",
    "ClosePeriod",
    "CodDelivered",
    "CodDeliveryFailed",
    "CodRefunded",
    "CodReleased",
    "CodRemitted",
    "CodReturned",
    "Command",
    "Credit",
    "Debit",
    "DefineTier",
    "DisburseLoan",
    "EraseSubject",
    "Exchange",
    "ExpireHolds",
    "FreezeAccount",
    "Leg",
    "OpenAccount",
    "Pay",
    "PayBill",
    "PayoutMerchant",
    "PlaceHold",
    "PostEntry",
    "ProvisionLoans",
    "RecoverLoan",
    "Refund",
    "ReleaseHold",
    "RepayLoan",
    "ResolveDispute",
    "RestructureLoan",
    "Reverse",
    "SettleAgent",
    "TopUp",
    "Transfer",
    "UnfreezeAccount",
    "Withdraw",
    "WriteOffLoan",
    "canonical_bytes",
]
