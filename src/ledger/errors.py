"""What can go wrong: business rejections (values) and misuse (exceptions).

A business outcome that a caller must handle — not enough money, a frozen account — is
returned as ``Rejected(code, detail, id, subject)`` with a :class:`RejectCode`; nothing is
appended. Each code has one :class:`RejectCategory` (``code.category``): what a caller does
with it (docs/errors.md).
Misuse raises, from one small tree::

    LedgerError
     ├── InvalidCommand (also TypeError)       a command built from wrong types
     │    └── AmountError (also ValueError)     not an int amount (float, bool, Decimal, str);
     │                                          an int out of range in a command is a
     │                                          Rejected(amount_invalid) instead; the money
     │                                          helpers (check_amount, parse_amount) raise
     ├── UnknownCurrency (also ValueError)      a currency code not in ledger.CURRENCIES
     ├── BatchTooLarge (also ValueError)        more commands than SUBMIT_MANY_MAX
     ├── UnknownAccount (also LookupError)      a read of an account that was never opened
     ├── UnknownLoan (also LookupError)         a read of a loan that was never disbursed
     ├── LedgerClosed                           use of a Ledger after close()
     └── StoreError                             the database itself
          ├── StoreCorrupt                      not a Satang database, or its contents are broken
          ├── SchemaTooNew                      written by a newer Satang than this one
          └── StoreBusy                         another writer held the lock past busy_timeout
"""

from __future__ import annotations

import enum

SHOWN_MAX = 64
"""Characters of a caller's value that a message echoes; the rest is cut (:func:`shown`)."""


def shown(value: object) -> str:
    """``repr(value)`` for a message, cut to :data:`SHOWN_MAX` characters with the
    whole length said, so a megabyte of input never comes back in a detail or error."""
    try:
        text = repr(value)
    except Exception:  # a hostile __repr__
        text = f"<{type(value).__name__}>"
    if len(text) <= SHOWN_MAX:
        return text
    return f"{text[:SHOWN_MAX]}… ({len(text)} chars)"


class LedgerError(Exception):
    """Root of every exception Satang raises on purpose."""


class InvalidCommand(LedgerError, TypeError):
    """A command or value was built from the wrong types (a float amount, an int id, …)."""


class AmountError(InvalidCommand, ValueError):
    """A value is not an amount: only ``int`` minor units in 1..2**63-1 are."""


class UnknownCurrency(LedgerError, ValueError):
    """A currency code that is not in the currency table."""


class BatchTooLarge(LedgerError, ValueError):
    """``submit_many`` was given more commands than one transaction may hold."""


class UnknownAccount(LedgerError, LookupError):
    """A read named an account that has never been opened."""


class UnknownSubject(LedgerError, LookupError):
    """A read named a subject no account or key names."""


class UnknownLoan(LedgerError, LookupError):
    """A loan was read that was never disbursed."""


class LedgerClosed(LedgerError):
    """The ledger was closed; open it again with ``Ledger.open``."""


class StoreError(LedgerError):
    """The database failed in a way the caller cannot fix by changing a command."""


class StoreCorrupt(StoreError):
    """The file is not a Satang database, or rows in it fail their checks.

    ``seq`` names the event row that failed, when one did.
    """

    def __init__(self, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class FoldError(StoreCorrupt):
    """Events that cannot be folded: a posting to an account never opened, a hold that
    ends twice, an order released twice, a loan repaid on an installment it does not
    have. The decide functions only ever append what folds, so only a damaged log does
    this; the audit reports it as a finding (``states``, ``refold``).

    ``index`` is the position, in the events given to the fold, of the one that broke
    the rule; ``seq`` names its row when the fold was given recorded events.
    """

    def __init__(self, message: str, index: int = 0, seq: int | None = None) -> None:
        super().__init__(message, seq)
        self.index = index


class UnknownEventType(StoreCorrupt):
    """A stored event this code cannot read: its type is not in the event union, or its
    schema is newer than the code's (or has no upcaster). Never skipped: upgrade the
    package, or register the missing upcaster.

    ``event_type`` and ``schema`` are the row's; ``seq`` is set when a stored row failed.
    """

    def __init__(self, message: str, event_type: str, schema: int, seq: int | None = None) -> None:
        super().__init__(message, seq)
        self.event_type = event_type
        self.schema = schema


class SchemaTooNew(StoreError):
    """The database was written by a newer version of Satang; upgrade the package."""


class StoreBusy(StoreError):
    """Another process held the write lock for longer than ``busy_timeout_ms``."""


class PersonalDataError(LedgerError):
    """Personal data could not be sealed or opened (docs/personal-data.md). Nothing was
    written when a write raised it."""


class MasterKeyMissing(PersonalDataError):
    """The ledger was opened without a master key, and a write or read needs a subject's
    data key: a command with personal text of a subject, a subject's first account, a
    subject's data revealed."""


class MasterKeyWrong(PersonalDataError):
    """The master key does not open a subject's data key: another master key than the one
    that wrapped it (``key_id`` names both), or a wrapped key that was changed."""


class KeyStoreDamaged(PersonalDataError, StoreCorrupt):
    """The key store is not what the log says it must be: a sealed value or wrapped key
    that does not read, a key of an erased subject still there, a living subject's key
    gone."""


class RejectCode(enum.StrEnum):
    """Why a command was rejected. Values are stable: never renamed, never reused.

    The docs list them with their meaning (docs/errors.md); a test pins this table.
    """

    # the command itself
    IDEMPOTENCY_CONFLICT = "idempotency_conflict"
    ID_INVALID = "id_invalid"
    FIELD_INVALID = "field_invalid"
    AMOUNT_INVALID = "amount_invalid"
    EFFECTIVE_AT_INVALID = "effective_at_invalid"
    PERIOD_CLOSED = "period_closed"
    LINKED_COMMAND_FAILED = "linked_command_failed"
    NOTHING_DUE = "nothing_due"
    # accounts
    ACCOUNT_ID_INVALID = "account_id_invalid"
    ACCOUNT_TYPE_INVALID = "account_type_invalid"
    CURRENCY_INVALID = "currency_invalid"
    ACCOUNT_EXISTS = "account_exists"
    ACCOUNT_EXISTS_DIFFERENT = "account_exists_different"
    ACCOUNT_NOT_FOUND = "account_not_found"
    ACCOUNT_FROZEN = "account_frozen"
    ACCOUNT_CLOSED = "account_closed"
    ACCOUNT_NOT_FROZEN = "account_not_frozen"
    BALANCE_NOT_ZERO = "balance_not_zero"
    # entries
    POSTINGS_INVALID = "postings_invalid"
    CURRENCY_MISMATCH = "currency_mismatch"
    UNBALANCED = "unbalanced"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    LIMIT_EXCEEDED = "limit_exceeded"
    OVERFLOW = "overflow"
    ENTRY_NOT_FOUND = "entry_not_found"
    ENTRY_ALREADY_REVERSED = "entry_already_reversed"
    ENTRY_NOT_REVERSIBLE = "entry_not_reversible"
    # wallet flows
    PAYMENT_NOT_FOUND = "payment_not_found"
    REFUND_EXCEEDS_ORIGINAL = "refund_exceeds_original"
    BILL_ALREADY_PAID = "bill_already_paid"
    HOLD_EXISTS = "hold_exists"
    HOLD_NOT_FOUND = "hold_not_found"
    HOLD_NOT_PENDING = "hold_not_pending"
    HOLD_EXPIRED = "hold_expired"
    CAPTURE_EXCEEDS_HOLD = "capture_exceeds_hold"
    TIER_NOT_FOUND = "tier_not_found"
    # cash on delivery
    ORDER_EXISTS = "order_exists"
    ORDER_NOT_FOUND = "order_not_found"
    ORDER_NOT_DELIVERED = "order_not_delivered"
    ORDER_ALREADY_REMITTED = "order_already_remitted"
    ORDER_ALREADY_RETURNED = "order_already_returned"
    ORDER_NOT_RETURNED = "order_not_returned"
    ORDER_ALREADY_REFUNDED = "order_already_refunded"
    REMITTANCE_EXISTS = "remittance_exists"
    REMITTANCE_EXCEEDS_DUE = "remittance_exceeds_due"
    # micro-loans
    LOAN_EXISTS = "loan_exists"
    LOAN_NOT_FOUND = "loan_not_found"
    LOAN_NOT_ACTIVE = "loan_not_active"
    LOAN_NOT_WRITTEN_OFF = "loan_not_written_off"
    BORROWER_LIMIT_EXCEEDED = "borrower_limit_exceeded"
    LOAN_COST_ABOVE_CAP = "loan_cost_above_cap"
    RECOVERY_EXCEEDS_WRITTEN_OFF = "recovery_exceeds_written_off"
    # personal data
    ID_PERSONAL = "id_personal"
    SUBJECT_NOT_FOUND = "subject_not_found"
    SUBJECT_ERASED = "subject_erased"
    SUBJECT_HAS_OPEN_ACCOUNTS = "subject_has_open_accounts"
    RETENTION_RUNNING = "retention_running"

    @property
    def category(self) -> RejectCategory:
        """What kind of refusal this is, and so what a caller does with it
        (:class:`RejectCategory`, docs/errors.md)."""
        return REJECT_CATEGORIES[self]


class RejectCategory(enum.StrEnum):
    """The five kinds of refusal, by what a caller does next (docs/errors.md).

    Whatever its category, a refusal ``decide`` reached is recorded against the command's
    id, so a retry of the same command gets the same answer back.
    """

    MALFORMED = "malformed"
    """The request is wrong: a field out of its limits or of the wrong kind, a bad amount,
    legs that do not balance. Fix it, and send it as a new command."""
    NOT_FOUND = "not_found"
    """Something the command names does not exist (an account, a hold, an order, ...)."""
    CONFLICT = "conflict"
    """An id or identity the command takes is taken already (a command id, an account,
    a hold, an order, a loan, a bill)."""
    STATE = "state"
    """Refused on the state of the books (funds, limits reached by balances, an account's
    status, the phase of a hold, order or loan); it may pass later, with a new id."""
    POLICY = "policy"
    """Refused by policy, the clock or the calendar, or the command does not fit the books
    as configured; change the request, or talk to an operator."""


_C = RejectCategory
REJECT_CATEGORIES: dict[RejectCode, RejectCategory] = {
    # the command itself
    RejectCode.IDEMPOTENCY_CONFLICT: _C.CONFLICT,
    RejectCode.ID_INVALID: _C.MALFORMED,
    RejectCode.FIELD_INVALID: _C.MALFORMED,
    RejectCode.AMOUNT_INVALID: _C.MALFORMED,
    RejectCode.EFFECTIVE_AT_INVALID: _C.POLICY,
    RejectCode.PERIOD_CLOSED: _C.POLICY,
    RejectCode.LINKED_COMMAND_FAILED: _C.STATE,
    RejectCode.NOTHING_DUE: _C.STATE,
    # accounts
    RejectCode.ACCOUNT_ID_INVALID: _C.MALFORMED,
    RejectCode.ACCOUNT_TYPE_INVALID: _C.MALFORMED,
    RejectCode.CURRENCY_INVALID: _C.MALFORMED,
    RejectCode.ACCOUNT_EXISTS: _C.CONFLICT,
    RejectCode.ACCOUNT_EXISTS_DIFFERENT: _C.CONFLICT,
    RejectCode.ACCOUNT_NOT_FOUND: _C.NOT_FOUND,
    RejectCode.ACCOUNT_FROZEN: _C.STATE,
    RejectCode.ACCOUNT_CLOSED: _C.STATE,
    RejectCode.ACCOUNT_NOT_FROZEN: _C.STATE,
    RejectCode.BALANCE_NOT_ZERO: _C.STATE,
    # entries
    RejectCode.POSTINGS_INVALID: _C.MALFORMED,
    RejectCode.CURRENCY_MISMATCH: _C.STATE,
    RejectCode.UNBALANCED: _C.MALFORMED,
    RejectCode.INSUFFICIENT_FUNDS: _C.STATE,
    RejectCode.LIMIT_EXCEEDED: _C.STATE,
    RejectCode.OVERFLOW: _C.STATE,
    RejectCode.ENTRY_NOT_FOUND: _C.NOT_FOUND,
    RejectCode.ENTRY_ALREADY_REVERSED: _C.STATE,
    RejectCode.ENTRY_NOT_REVERSIBLE: _C.POLICY,
    # wallet flows
    RejectCode.PAYMENT_NOT_FOUND: _C.NOT_FOUND,
    RejectCode.REFUND_EXCEEDS_ORIGINAL: _C.STATE,
    RejectCode.BILL_ALREADY_PAID: _C.CONFLICT,
    RejectCode.HOLD_EXISTS: _C.CONFLICT,
    RejectCode.HOLD_NOT_FOUND: _C.NOT_FOUND,
    RejectCode.HOLD_NOT_PENDING: _C.STATE,
    RejectCode.HOLD_EXPIRED: _C.STATE,
    RejectCode.CAPTURE_EXCEEDS_HOLD: _C.STATE,
    RejectCode.TIER_NOT_FOUND: _C.NOT_FOUND,
    # cash on delivery
    RejectCode.ORDER_EXISTS: _C.CONFLICT,
    RejectCode.ORDER_NOT_FOUND: _C.NOT_FOUND,
    RejectCode.ORDER_NOT_DELIVERED: _C.STATE,
    RejectCode.ORDER_ALREADY_REMITTED: _C.STATE,
    RejectCode.ORDER_ALREADY_RETURNED: _C.STATE,
    RejectCode.ORDER_NOT_RETURNED: _C.STATE,
    RejectCode.ORDER_ALREADY_REFUNDED: _C.STATE,
    RejectCode.REMITTANCE_EXISTS: _C.CONFLICT,
    RejectCode.REMITTANCE_EXCEEDS_DUE: _C.STATE,
    # micro-loans
    RejectCode.LOAN_EXISTS: _C.CONFLICT,
    RejectCode.LOAN_NOT_FOUND: _C.NOT_FOUND,
    RejectCode.LOAN_NOT_ACTIVE: _C.STATE,
    RejectCode.LOAN_NOT_WRITTEN_OFF: _C.STATE,
    RejectCode.BORROWER_LIMIT_EXCEEDED: _C.STATE,
    RejectCode.LOAN_COST_ABOVE_CAP: _C.POLICY,
    RejectCode.RECOVERY_EXCEEDS_WRITTEN_OFF: _C.STATE,
    # personal data
    RejectCode.ID_PERSONAL: _C.POLICY,
    RejectCode.SUBJECT_NOT_FOUND: _C.NOT_FOUND,
    RejectCode.SUBJECT_ERASED: _C.STATE,
    RejectCode.SUBJECT_HAS_OPEN_ACCOUNTS: _C.STATE,
    RejectCode.RETENTION_RUNNING: _C.POLICY,
}
"""The category of every reject code: exactly one each (a test checks none is missing)."""
del _C
