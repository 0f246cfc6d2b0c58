"""The public names callers rely on: pinned, so a rename is a deliberate act."""

from __future__ import annotations

import ledger
import projections
from ledger.errors import LedgerError, RejectCode

PUBLIC = {
    "AMOUNT_MAX_MINOR", "CURRENCIES", "SUBMIT_MANY_MAX", "Accepted", "Account",
    "AccountStatus", "AccountType", "AmountError", "Balance", "BatchTooLarge", "CloseAccount",
    "ClosePeriod", "Command", "Credit", "Currency", "Debit", "Event", "FreezeAccount",
    "InvalidCommand",
    "Ledger", "LedgerClosed", "LedgerError", "OpenAccount", "PostEntry", "Posting",
    "RecordedEvent", "RejectCategory", "RejectCode", "Rejected", "Result", "Reverse",
    "SchemaTooNew",
    "StoreBusy", "StoreCorrupt", "StoreError", "UnfreezeAccount", "UnknownAccount",
    "UnknownCurrency", "UnknownEventType", "__version__", "format_amount", "parse_amount",
    # wallet flows
    "AssignTier", "CaptureHold", "Chart", "DefineTier", "Exchange", "ExpireHolds", "Pay",
    "PayBill", "PlaceHold", "Refund", "ReleaseHold", "SettleAgent", "TopUp", "Transfer",
    "Withdraw",
    # cash on delivery
    "CodDelivered", "CodDeliveryFailed", "CodPolicy", "CodRefunded", "CodReleased",
    "CodRemitted", "CodReturned", "PayoutMerchant", "ResolveDispute",
    # micro-loans
    "AccrueInterest", "DisburseLoan", "LoanPolicy", "ProvisionLoans", "RecoverLoan",
    "RepayLoan", "RestructureLoan", "UnknownLoan", "WriteOffLoan",
}  # fmt: skip

# Codes are stable: never renamed, never reused. Add new ones at the end of a group.
CODES = {
    "IDEMPOTENCY_CONFLICT": "idempotency_conflict",
    "ID_INVALID": "id_invalid",
    "FIELD_INVALID": "field_invalid",
    "AMOUNT_INVALID": "amount_invalid",
    "EFFECTIVE_AT_INVALID": "effective_at_invalid",
    "PERIOD_CLOSED": "period_closed",
    "LINKED_COMMAND_FAILED": "linked_command_failed",
    "NOTHING_DUE": "nothing_due",
    "ACCOUNT_ID_INVALID": "account_id_invalid",
    "ACCOUNT_TYPE_INVALID": "account_type_invalid",
    "CURRENCY_INVALID": "currency_invalid",
    "ACCOUNT_EXISTS": "account_exists",
    "ACCOUNT_EXISTS_DIFFERENT": "account_exists_different",
    "ACCOUNT_NOT_FOUND": "account_not_found",
    "ACCOUNT_FROZEN": "account_frozen",
    "ACCOUNT_CLOSED": "account_closed",
    "ACCOUNT_NOT_FROZEN": "account_not_frozen",
    "BALANCE_NOT_ZERO": "balance_not_zero",
    "POSTINGS_INVALID": "postings_invalid",
    "CURRENCY_MISMATCH": "currency_mismatch",
    "UNBALANCED": "unbalanced",
    "INSUFFICIENT_FUNDS": "insufficient_funds",
    "LIMIT_EXCEEDED": "limit_exceeded",
    "OVERFLOW": "overflow",
    "ENTRY_NOT_FOUND": "entry_not_found",
    "ENTRY_ALREADY_REVERSED": "entry_already_reversed",
    "ENTRY_NOT_REVERSIBLE": "entry_not_reversible",
    "PAYMENT_NOT_FOUND": "payment_not_found",
    "REFUND_EXCEEDS_ORIGINAL": "refund_exceeds_original",
    "BILL_ALREADY_PAID": "bill_already_paid",
    "HOLD_EXISTS": "hold_exists",
    "HOLD_NOT_FOUND": "hold_not_found",
    "HOLD_NOT_PENDING": "hold_not_pending",
    "HOLD_EXPIRED": "hold_expired",
    "CAPTURE_EXCEEDS_HOLD": "capture_exceeds_hold",
    "TIER_NOT_FOUND": "tier_not_found",
    "ORDER_EXISTS": "order_exists",
    "ORDER_NOT_FOUND": "order_not_found",
    "ORDER_NOT_DELIVERED": "order_not_delivered",
    "ORDER_ALREADY_REMITTED": "order_already_remitted",
    "ORDER_ALREADY_RETURNED": "order_already_returned",
    "ORDER_NOT_RETURNED": "order_not_returned",
    "ORDER_ALREADY_REFUNDED": "order_already_refunded",
    "REMITTANCE_EXISTS": "remittance_exists",
    "REMITTANCE_EXCEEDS_DUE": "remittance_exceeds_due",
    "LOAN_EXISTS": "loan_exists",
    "LOAN_NOT_FOUND": "loan_not_found",
    "LOAN_NOT_ACTIVE": "loan_not_active",
    "LOAN_NOT_WRITTEN_OFF": "loan_not_written_off",
    "BORROWER_LIMIT_EXCEEDED": "borrower_limit_exceeded",
    "LOAN_COST_ABOVE_CAP": "loan_cost_above_cap",
    "RECOVERY_EXCEEDS_WRITTEN_OFF": "recovery_exceeds_written_off",
}


def test_all_is_pinned() -> None:
    assert set(ledger.__all__) == PUBLIC
    for name in ledger.__all__:
        assert hasattr(ledger, name), name


def test_projections_exports() -> None:
    assert set(projections.__all__) == {
        "Checkpoint",
        "Projection",
        "ReadModelsStale",
        "Runner",
        "Table",
        "balances_as_of",
        "canonical_dump",
        "default_projections",
        "rebuild",
        "statement",
        "totals_by_currency",
        "trial_balance",
    }


def test_reject_codes_are_pinned() -> None:
    assert {c.name: c.value for c in RejectCode} == CODES


def test_every_public_exception_is_a_ledger_error() -> None:
    exceptions = [
        obj
        for obj in (getattr(ledger, name) for name in PUBLIC)
        if isinstance(obj, type) and issubclass(obj, BaseException)
    ]
    assert len(exceptions) == 13
    assert all(issubclass(e, LedgerError) for e in exceptions)


def test_package_ships_type_information() -> None:
    from pathlib import Path

    assert (Path(ledger.__file__).parent / "py.typed").exists()
    assert (Path(projections.__file__).parent / "py.typed").exists()


def test_every_public_class_and_function_has_a_docstring_for_the_api_reference() -> None:
    """docs/api/ renders docstrings and leaves out what has none."""
    import inspect

    missing = [
        f"{module.__name__}.{name}"
        for module in (ledger, projections)
        for name in module.__all__
        if (inspect.isclass(obj := getattr(module, name)) or inspect.isfunction(obj))
        and not (obj.__doc__ or "").strip()
    ]
    assert missing == []


def test_every_package_directory_is_installed() -> None:
    """pyproject.toml lists the packages by hand (src/ and benchmarks/ side by side): a new
    package directory left out of it would be missing from an installed satang."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).parent.parent
    listed = set(
        tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    found = {
        ".".join(init.parent.relative_to(base).parts)
        for base in (root / "src", root)
        for top in (("ledger", "projections") if base.name == "src" else ("benchmarks",))
        for init in (base / top).rglob("__init__.py")
    }
    assert found == listed
