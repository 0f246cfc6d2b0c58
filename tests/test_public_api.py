"""The public names callers rely on: pinned, so a rename is a deliberate act."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

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
    # personal data
    "CallbackKeys", "EraseSubject", "KeyStoreDamaged", "KeyWrapper", "MasterKey",
    "MasterKeyMissing", "MasterKeyWrong", "PersonalDataError", "PersonalDataPolicy",
    "UnknownSubject",
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
    "ID_PERSONAL": "id_personal",
    "SUBJECT_NOT_FOUND": "subject_not_found",
    "SUBJECT_ERASED": "subject_erased",
    "SUBJECT_HAS_OPEN_ACCOUNTS": "subject_has_open_accounts",
    "RETENTION_RUNNING": "retention_running",
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
    assert len(exceptions) == 18
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
    """pyproject.toml lists the packages by hand, all of them under src/ (the benchmarks are
    ``ledger.bench``): a new package directory left out of it would be missing from an
    installed satang, and no other folder is mapped into the distribution."""
    import tomllib
    from pathlib import Path

    root = Path(__file__).parent.parent
    setuptools = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert setuptools["package-dir"] == {"": "src"}
    listed = set(setuptools["packages"])
    src = root / "src"
    found = {
        ".".join(init.parent.relative_to(src).parts)
        for top in ("ledger", "projections")
        for init in (src / top).rglob("__init__.py")
    }
    assert found == listed
    assert {"ledger.bench", "ledger.bench.peers"} <= listed


# Run with -I from an empty folder: no repository on sys.path, only the unpacked wheel (if
# given) in front of the environment's site-packages.
_FROM_THE_WHEEL = """
import sys

import click

if sys.argv[1]:
    sys.path.insert(0, sys.argv[1])
try:
    import benchmarks
except ModuleNotFoundError as missing:
    assert missing.name == "benchmarks", missing
else:
    raise SystemExit(f"a top-level benchmarks package: {benchmarks.__file__}")
from ledger.cli import main

try:  # the verb imports the benchmarks first, then refuses the URL
    main(["bench", "--dsn", "mysql://x"], standalone_mode=False)
except click.BadParameter:
    pass
else:
    raise SystemExit("satang bench took a mysql:// DSN")
bench = sys.modules["ledger.bench"]
print(bench.__file__)
print(",".join(bench.SUITES))
"""


def test_the_wheel_installs_ledger_and_projections_only(tmp_path: Path) -> None:
    """The built wheel holds the two packages and nothing else at the top (the benchmarks
    are ``ledger.bench``): ``import benchmarks`` fails outside the repository, and
    ``satang bench`` finds its suites in the installed package."""
    import shutil
    import subprocess
    import sys
    import zipfile

    root = Path(__file__).parent.parent
    tree = tmp_path / "tree"  # a copy: building in place writes build/ and an egg-info
    tree.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(root / name, tree / name)
    shutil.copytree(
        root / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    out = tmp_path / "wheel"
    built = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation"),
            *("--no-input", "--quiet", "-w", str(out)),
        ],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = out.glob("satang-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (top_level,) = [n for n in names if n.endswith(".dist-info/top_level.txt")]
        assert archive.read(top_level).decode().split() == ["ledger", "projections"]
        archive.extractall(tmp_path / "site")
    tops = {name.split("/")[0] for name in names}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"ledger", "projections"}
    assert {"ledger/bench/__init__.py", "ledger/bench/peers/__init__.py"} <= set(names)
    assert not [name for name in names if "benchmarks" in name]

    empty = tmp_path / "elsewhere"
    empty.mkdir()
    for site in (tmp_path / "site", None):  # the wheel, then the environment's own install
        ran = subprocess.run(
            [sys.executable, "-I", "-c", _FROM_THE_WHEEL, "" if site is None else str(site)],
            cwd=empty,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert ran.returncode == 0, ran.stdout + ran.stderr
        where, suites = ran.stdout.splitlines()
        assert Path(where).parts[-3:] == ("ledger", "bench", "__init__.py")
        if site is not None:
            assert Path(where).is_relative_to(site)
        assert "wallet" in suites.split(",")


MOVED = [
    ("ledger.flows.chart", "Chart", "ledger.chart"),
    ("ledger.flows.chart", "party_of", "ledger.chart"),
    ("ledger.flows.base", "Policy", "ledger.policy"),
    ("ledger.flows.base", "CodPolicy", "ledger.policy"),
    ("ledger.flows.base", "LoanPolicy", "ledger.policy"),
    ("ledger.flows.base", "RETURN_WINDOW_MAX", "ledger.policy"),
    ("ledger.flows.base", "NewEvent", "ledger.state.port"),
    ("ledger.flows.base", "State", "ledger.state.port"),
    ("ledger.flows.holds", "FINAL", "ledger.state.holds"),
    ("ledger.flows.holds", "hold_stream", "ledger.state.holds"),
    ("ledger.flows.cod", "Order", "ledger.state.cod"),
    ("ledger.flows.cod", "Stage", "ledger.state.cod"),
    ("ledger.flows.cod", "fold_order", "ledger.state.cod"),
    ("ledger.flows.cod", "order_stream", "ledger.state.cod"),
    *[
        ("ledger.flows.loans", name, "ledger.state.loans")
        for name in (
            "AGEING_BUCKETS",
            "AgeingRow",
            "Loan",
            "LoanStatus",
            "Part",
            "Status",
            "ageing",
            "apply_event",
            "borrower_stream",
            "bucket_of",
            "due_minor",
            "fold_loan",
            "loan_status",
            "loan_stream",
        )
    ],
    *[
        ("ledger.flows.loans", name, "ledger.flows.loan_schedule")
        for name in (
            "ALL_IN_SEARCH_MAX",
            "PERIODS_PER_YEAR",
            "all_in_rate_bps",
            "build_schedule",
            "due_dates",
            "first_due_range",
            "half_up",
            "within_cap",
        )
    ],
    ("projections.balances", "FoldError", "ledger.errors"),
    ("projections.balances", "totals_by_currency", "ledger.state.accounts"),
]
"""Names that moved to the layer beneath (docs/architecture.md), and where they were."""


@pytest.mark.parametrize(("old", "name", "new"), MOVED)
def test_a_moved_name_is_still_importable_from_where_it_was(old: str, name: str, new: str) -> None:
    assert getattr(importlib.import_module(old), name) is getattr(
        importlib.import_module(new), name
    )


def test_the_old_balances_fold_still_folds_the_logs_rows() -> None:
    from ledger import Ledger
    from projections.balances import Fold

    with Ledger.open(":memory:") as book:
        book.open_chart()
        fold = Fold()
        for record in book.events():
            fold.apply(record)
        assert fold.balances() == {b.account: b for b in book.balances()}
