"""Satang: an embeddable, event-sourced, double-entry ledger for e-wallet backends.

    from ledger import Ledger, OpenAccount, PostEntry, Debit, Credit, Accepted

    with Ledger.open("wallet.db") as book:
        book.submit(OpenAccount(id="open-u1", account="wallet:U1", type="liability",
                                currency="THB", no_overdraft=True))

The write side lives here; read models and reports in the ``projections`` package.
``Ledger``, ``SUBMIT_MANY_MAX`` and ``RecordedEvent`` load the book (and with it every
flow) or the store when first used: importing one module of the package (the store, a
fold) loads only what it needs.
"""

import importlib
from typing import TYPE_CHECKING

from ledger.accounts import Account, AccountStatus, AccountType, Balance
from ledger.chart import Chart
from ledger.commands import (
    AccrueInterest,
    AssignTier,
    CaptureHold,
    CloseAccount,
    ClosePeriod,
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
    DisburseLoan,
    EraseSubject,
    Exchange,
    ExpireHolds,
    FreezeAccount,
    OpenAccount,
    Pay,
    PayBill,
    PayoutMerchant,
    PlaceHold,
    PostEntry,
    ProvisionLoans,
    RecoverLoan,
    Refund,
    ReleaseHold,
    RepayLoan,
    ResolveDispute,
    RestructureLoan,
    Reverse,
    SettleAgent,
    TopUp,
    Transfer,
    UnfreezeAccount,
    Withdraw,
    WriteOffLoan,
)
from ledger.errors import (
    AmountError,
    BatchTooLarge,
    InvalidCommand,
    KeyStoreDamaged,
    LedgerClosed,
    LedgerError,
    MasterKeyMissing,
    MasterKeyWrong,
    PersonalDataError,
    RejectCategory,
    RejectCode,
    SchemaTooNew,
    StoreBusy,
    StoreCorrupt,
    StoreError,
    UnknownAccount,
    UnknownCurrency,
    UnknownEventType,
    UnknownLoan,
    UnknownSubject,
)
from ledger.events import Event, Posting
from ledger.keys import CallbackKeys, KeyWrapper, MasterKey
from ledger.money import (
    AMOUNT_MAX_MINOR,
    CURRENCIES,
    Currency,
    format_amount,
    parse_amount,
)
from ledger.policy import CodPolicy, LoanPolicy, PersonalDataPolicy
from ledger.results import Accepted, Rejected, Result

if TYPE_CHECKING:
    from ledger.book import SUBMIT_MANY_MAX, Ledger
    from ledger.store.base import RecordedEvent

__version__ = "0.1.0"
_ABOVE = {"Ledger": "ledger.book", "SUBMIT_MANY_MAX": "ledger.book"}
_ABOVE["RecordedEvent"] = "ledger.store.base"


if not TYPE_CHECKING:  # the type checker sees the imports above, and no fallback

    def __getattr__(name: str) -> object:
        """The public names of the layers above the ground floor, imported on first use."""
        module = _ABOVE.get(name)
        if module is None:
            raise AttributeError(f"module 'ledger' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_ABOVE})


__all__ = [
    "AMOUNT_MAX_MINOR",
    "CURRENCIES",
    "SUBMIT_MANY_MAX",
    "Accepted",
    "Account",
    "AccountStatus",
    "AccountType",
    "AccrueInterest",
    "AmountError",
    "AssignTier",
    "Balance",
    "BatchTooLarge",
    "CallbackKeys",
    "CaptureHold",
    "Chart",
    "CloseAccount",
    "ClosePeriod",
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
    "DisburseLoan",
    "EraseSubject",
    "Event",
    "Exchange",
    "ExpireHolds",
    "FreezeAccount",
    "InvalidCommand",
    "KeyStoreDamaged",
    "KeyWrapper",
    "Ledger",
    "LedgerClosed",
    "LedgerError",
    "LoanPolicy",
    "MasterKey",
    "MasterKeyMissing",
    "MasterKeyWrong",
    "OpenAccount",
    "Pay",
    "PayBill",
    "PayoutMerchant",
    "PersonalDataError",
    "PersonalDataPolicy",
    "PlaceHold",
    "PostEntry",
    "Posting",
    "ProvisionLoans",
    "RecordedEvent",
    "RecoverLoan",
    "Refund",
    "RejectCategory",
    "RejectCode",
    "Rejected",
    "ReleaseHold",
    "RepayLoan",
    "ResolveDispute",
    "RestructureLoan",
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
    "UnknownEventType",
    "UnknownLoan",
    "UnknownSubject",
    "Withdraw",
    "WriteOffLoan",
    "__version__",
    "format_amount",
    "parse_amount",
]
