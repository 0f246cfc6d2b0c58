"""Satang: an embeddable, event-sourced, double-entry ledger for e-wallet backends.

    from ledger import Ledger, OpenAccount, PostEntry, Debit, Credit, Accepted

    with Ledger.open("wallet.db") as book:
        book.submit(OpenAccount(id="open-u1", account="wallet:U1", type="liability",
                                currency="THB", no_overdraft=True))

The write side lives here; read models and reports in the ``projections`` package.
"""

from ledger.accounts import Account, AccountStatus, AccountType, Balance
from ledger.book import SUBMIT_MANY_MAX, Ledger
from ledger.commands import (
    AssignTier,
    CaptureHold,
    CloseAccount,
    CodDelivered,
    CodDeliveryFailed,
    CodRefunded,
    CodReleased,
    CodRemitted,
    CodReturned,
    Command,
    Credit,
    Debit,
    DefineTier,
    Exchange,
    ExpireHolds,
    FreezeAccount,
    OpenAccount,
    Pay,
    PayBill,
    PayoutMerchant,
    PlaceHold,
    PostEntry,
    Refund,
    ReleaseHold,
    ResolveDispute,
    Reverse,
    SettleAgent,
    TopUp,
    Transfer,
    UnfreezeAccount,
    Withdraw,
)
from ledger.errors import (
    AmountError,
    BatchTooLarge,
    InvalidCommand,
    LedgerClosed,
    LedgerError,
    RejectCode,
    SchemaTooNew,
    StoreBusy,
    StoreCorrupt,
    StoreError,
    UnknownAccount,
    UnknownCurrency,
)
from ledger.events import Event, Posting
from ledger.flows.base import CodPolicy
from ledger.flows.chart import Chart
from ledger.money import (
    AMOUNT_MAX_MINOR,
    CURRENCIES,
    Currency,
    format_amount,
    parse_amount,
)
from ledger.results import Accepted, Rejected, Result
from ledger.store.base import RecordedEvent

__version__ = "0.1.0"

__all__ = [
    "AMOUNT_MAX_MINOR",
    "CURRENCIES",
    "SUBMIT_MANY_MAX",
    "Accepted",
    "Account",
    "AccountStatus",
    "AccountType",
    "AmountError",
    "AssignTier",
    "Balance",
    "BatchTooLarge",
    "CaptureHold",
    "Chart",
    "CloseAccount",
    "CodDelivered",
    "CodDeliveryFailed",
    "CodPolicy",
    "CodRefunded",
    "CodReleased",
    "CodRemitted",
    "CodReturned",
    "Command",
    "Credit",
    "Currency",
    "Debit",
    "DefineTier",
    "Event",
    "Exchange",
    "ExpireHolds",
    "FreezeAccount",
    "InvalidCommand",
    "Ledger",
    "LedgerClosed",
    "LedgerError",
    "OpenAccount",
    "Pay",
    "PayBill",
    "PayoutMerchant",
    "PlaceHold",
    "PostEntry",
    "Posting",
    "RecordedEvent",
    "Refund",
    "RejectCode",
    "Rejected",
    "ReleaseHold",
    "ResolveDispute",
    "Result",
    "Reverse",
    "SchemaTooNew",
    "SettleAgent",
    "StoreBusy",
    "StoreCorrupt",
    "StoreError",
    "TopUp",
    "Transfer",
    "UnfreezeAccount",
    "UnknownAccount",
    "UnknownCurrency",
    "Withdraw",
    "__version__",
    "format_amount",
    "parse_amount",
]
