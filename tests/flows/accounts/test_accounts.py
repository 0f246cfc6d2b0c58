"""Account lifecycle through the public API: open, freeze, unfreeze, close."""

from __future__ import annotations

import pytest

from ledger import (
    Accepted,
    AccountStatus,
    AccountType,
    CloseAccount,
    Credit,
    Debit,
    FreezeAccount,
    Ledger,
    OpenAccount,
    UnfreezeAccount,
)
from ledger.errors import RejectCode
from tests.conftest import (
    assert_accepted,
    assert_rejected,
    balance_of,
    entry,
    open_account,
    post,
    top_up,
    unchanged,
)

TYPES = ["asset", "liability", "equity", "income", "expense"]
NORMAL_SIDE = {
    "asset": "debit",
    "expense": "debit",
    "liability": "credit",
    "equity": "credit",
    "income": "credit",
}


def _open(account: str = "wallet:U1", id: str = "o-1", **kwargs: object) -> OpenAccount:
    fields: dict[str, object] = {"type": "liability", "currency": "THB"}
    fields.update(kwargs)
    return OpenAccount(id=id, account=account, **fields)  # type: ignore[arg-type]


# --- open ----------------------------------------------------------------------------------


@pytest.mark.parametrize("type_", TYPES)
def test_open_each_account_type(book: Ledger, type_: str) -> None:
    result = assert_accepted(book, _open("acct:1", type=type_))
    assert result.seq == 1
    account = book.account("acct:1")
    assert account.type is AccountType(type_)
    assert account.normal_side == NORMAL_SIDE[type_]
    assert account.status is AccountStatus.OPEN
    assert account.currency == "THB"
    balance = book.balance("acct:1")
    assert (balance.balance, balance.available, balance.currency) == (0, 0, "THB")
    [record] = list(book.events())
    assert record.type == "account_opened"
    assert record.stream == "account:acct:1"
    assert record.command_id == "o-1"


def test_open_keeps_policies_and_metadata(book: Ledger) -> None:
    open_account(
        book,
        "wallet:U1",
        no_overdraft=True,
        max_balance_minor=5_000_000,
        metadata={"kyc": "tier1"},
        currency="USD",
    )
    account = book.account("wallet:U1")
    assert account.no_overdraft is True
    assert account.max_balance_minor == 5_000_000
    assert account.metadata == {"kyc": "tier1"}
    assert account.currency == "USD"


@pytest.mark.parametrize("type_", TYPES)
def test_balance_is_on_the_normal_side(book: Ledger, type_: str) -> None:
    open_account(book, "acct:x", type_)
    open_account(book, "acct:other", "asset" if NORMAL_SIDE[type_] == "credit" else "liability")
    if NORMAL_SIDE[type_] == "debit":
        post(book, "e-1", Debit("acct:x", 700), Credit("acct:other", 700))
    else:
        post(book, "e-1", Debit("acct:other", 700), Credit("acct:x", 700))
    assert balance_of(book, "acct:x") == 700
    assert balance_of(book, "acct:other") == 700


@pytest.mark.parametrize(
    "account",
    ["", "a b", "x" * 129, "wallet/U1", "wallet:U1\n", "wallet:ü", "wallet;U1", "wallet U1"],
    ids=["empty", "space", "129-chars", "slash", "newline", "non-ascii", "semicolon", "blank"],
)
def test_open_with_an_invalid_account_id(book: Ledger, account: str) -> None:
    assert_rejected(book, _open(account), RejectCode.ACCOUNT_ID_INVALID)


@pytest.mark.parametrize("account", ["x" * 128, "a", "merchant:M9:payable", "bank:scb:trust-1.2_3"])
def test_open_with_a_valid_account_id(book: Ledger, account: str) -> None:
    assert_accepted(book, OpenAccount(id="o-1", account=account, type="asset", currency="THB"))
    assert book.account(account).id == account


@pytest.mark.parametrize("type_", ["Asset", "ASSET", "assets", "", "debit", "cash"])
def test_open_with_a_bad_type(book: Ledger, type_: str) -> None:
    assert_rejected(book, _open(type=type_), RejectCode.ACCOUNT_TYPE_INVALID)


@pytest.mark.parametrize("code", ["XYZ", "thb", "", "BAHT", "BTC"])
def test_open_with_an_unknown_currency(book: Ledger, code: str) -> None:
    assert_rejected(book, _open(currency=code), RejectCode.CURRENCY_INVALID)


@pytest.mark.parametrize("cap", [0, -1, -(10**6), 2**63])
def test_open_with_a_bad_max_balance(book: Ledger, cap: int) -> None:
    assert_rejected(book, _open(max_balance_minor=cap), RejectCode.AMOUNT_INVALID)


@pytest.mark.parametrize(
    "metadata",
    [{"bad key": "v"}, {"": "v"}, {"k": "v" * 1001}, {f"k{i}": "v" for i in range(33)}],
    ids=["space-in-key", "empty-key", "long-value", "33-keys"],
)
def test_open_with_bad_metadata(book: Ledger, metadata: dict[str, str]) -> None:
    assert_rejected(book, _open(metadata=metadata), RejectCode.FIELD_INVALID)


def test_open_rejections_follow_the_documented_order(book: Ledger) -> None:
    assert_rejected(
        book, _open("bad id", type="nope", currency="XYZ"), RejectCode.ACCOUNT_ID_INVALID
    )
    assert_rejected(book, _open(type="nope", currency="XYZ"), RejectCode.ACCOUNT_TYPE_INVALID)
    assert_rejected(book, _open(currency="XYZ", max_balance_minor=0), RejectCode.CURRENCY_INVALID)


def test_open_with_a_bad_command_id(book: Ledger) -> None:
    command = OpenAccount(id="open U1", account="wallet:U1", type="liability", currency="THB")
    assert_rejected(book, command, RejectCode.ID_INVALID)


def test_identical_reopen_under_a_new_id_is_account_exists(book: Ledger) -> None:
    open_account(book, "wallet:U1", no_overdraft=True, metadata={"kyc": "t1"})
    open_account(book, "bank:trust", "asset")
    again = OpenAccount(
        id="open-again",
        account="wallet:U1",
        type="liability",
        currency="THB",
        no_overdraft=True,
        metadata={"kyc": "t1"},
    )
    assert_rejected(book, again, RejectCode.ACCOUNT_EXISTS)


def test_identical_reopen_under_the_same_id_returns_the_first_result(book: Ledger) -> None:
    first = open_account(book, "wallet:U1")
    open_account(book, "bank:trust", "asset")
    with unchanged(book):
        result = book.submit(_open("wallet:U1", id=first.id))
    assert result == Accepted(first.id, first.seq, replayed=True)


@pytest.mark.parametrize(
    "change",
    [
        {"type": "asset"},
        {"currency": "USD"},
        {"no_overdraft": True},
        {"max_balance_minor": 100},
        {"metadata": {"kyc": "t2"}},
    ],
)
def test_reopen_with_other_attributes_is_account_exists_different(
    book: Ledger, change: dict[str, object]
) -> None:
    open_account(book, "wallet:U1")
    command = OpenAccount(
        id="open-other",
        account="wallet:U1",
        **{"type": "liability", "currency": "THB", **change},  # type: ignore[arg-type]
    )
    assert_rejected(book, command, RejectCode.ACCOUNT_EXISTS_DIFFERENT)
    assert book.account("wallet:U1").type is AccountType.LIABILITY
    assert book.account("wallet:U1").currency == "THB"


# --- freeze and unfreeze -------------------------------------------------------------------


def test_freeze_stops_postings_both_ways(wallets: Ledger) -> None:
    book = wallets
    top_up(book, "t-1", "wallet:U1", 10_000)
    assert_accepted(book, FreezeAccount(id="f-1", account="wallet:U1", reason="AML review"))
    assert book.account("wallet:U1").status is AccountStatus.FROZEN
    # money in
    assert_rejected(
        book,
        entry("t-2", Debit("bank:trust", 100), Credit("wallet:U1", 100)),
        RejectCode.ACCOUNT_FROZEN,
    )
    # money out
    assert_rejected(
        book,
        entry("p-1", Debit("wallet:U1", 100), Credit("merchant:M1:payable", 100)),
        RejectCode.ACCOUNT_FROZEN,
    )
    assert balance_of(book, "wallet:U1") == 10_000


def test_unfreeze_lets_postings_through_again(wallets: Ledger) -> None:
    book = wallets
    assert_accepted(book, FreezeAccount(id="f-1", account="wallet:U1"))
    assert_accepted(book, UnfreezeAccount(id="u-1", account="wallet:U1", reason="cleared"))
    assert book.account("wallet:U1").status is AccountStatus.OPEN
    top_up(book, "t-1", "wallet:U1", 500)
    assert balance_of(book, "wallet:U1") == 500


def test_freeze_twice_is_account_frozen(wallets: Ledger) -> None:
    assert_accepted(wallets, FreezeAccount(id="f-1", account="wallet:U1"))
    assert_rejected(
        wallets, FreezeAccount(id="f-2", account="wallet:U1"), RejectCode.ACCOUNT_FROZEN
    )


def test_unfreeze_an_open_account_is_account_not_frozen(wallets: Ledger) -> None:
    assert_rejected(
        wallets, UnfreezeAccount(id="u-1", account="wallet:U1"), RejectCode.ACCOUNT_NOT_FROZEN
    )


def test_unfreeze_a_closed_account_is_account_closed(wallets: Ledger) -> None:
    assert_accepted(wallets, CloseAccount(id="c-1", account="wallet:U2"))
    assert_rejected(
        wallets, UnfreezeAccount(id="u-1", account="wallet:U2"), RejectCode.ACCOUNT_CLOSED
    )


def test_reopening_a_closed_account_is_account_closed(wallets: Ledger) -> None:
    assert_accepted(wallets, CloseAccount(id="c-1", account="wallet:U2"))
    again = OpenAccount(
        id="open-again", account="wallet:U2", type="liability", currency="THB", no_overdraft=True
    )
    rejected = assert_rejected(wallets, again, RejectCode.ACCOUNT_CLOSED)
    assert "stays closed" in rejected.detail


def test_an_identical_open_of_a_frozen_account_says_it_is_frozen(wallets: Ledger) -> None:
    assert_accepted(wallets, FreezeAccount(id="f-1", account="wallet:U2"))
    again = OpenAccount(
        id="open-again", account="wallet:U2", type="liability", currency="THB", no_overdraft=True
    )
    rejected = assert_rejected(wallets, again, RejectCode.ACCOUNT_EXISTS)
    assert "frozen" in rejected.detail


@pytest.mark.parametrize("account", ["wallet:nobody", "bad id", ""])
def test_lifecycle_commands_on_unknown_accounts(wallets: Ledger, account: str) -> None:
    for command in (
        FreezeAccount(id="f-1", account=account),
        UnfreezeAccount(id="u-1", account=account),
        CloseAccount(id="c-1", account=account),
    ):
        assert_rejected(wallets, command, RejectCode.ACCOUNT_NOT_FOUND)


def test_freeze_with_a_too_long_reason_is_field_invalid(wallets: Ledger) -> None:
    assert_rejected(
        wallets,
        FreezeAccount(id="f-1", account="wallet:U1", reason="x" * 1001),
        RejectCode.FIELD_INVALID,
    )
    assert wallets.account("wallet:U1").status is AccountStatus.OPEN


def test_freeze_a_closed_account_is_account_closed(wallets: Ledger) -> None:
    assert_accepted(wallets, CloseAccount(id="c-1", account="wallet:U2"))
    assert_rejected(
        wallets, FreezeAccount(id="f-1", account="wallet:U2"), RejectCode.ACCOUNT_CLOSED
    )


# --- close ---------------------------------------------------------------------------------


def test_close_at_zero(wallets: Ledger) -> None:
    result = assert_accepted(wallets, CloseAccount(id="c-1", account="wallet:U2"))
    assert wallets.account("wallet:U2").status is AccountStatus.CLOSED
    [record] = list(wallets.events(after=result.seq - 1))
    assert record.type == "account_closed"
    assert record.stream == "account:wallet:U2"


def test_close_with_a_balance_is_balance_not_zero(wallets: Ledger) -> None:
    top_up(wallets, "t-1", "wallet:U1", 100)
    assert_rejected(
        wallets, CloseAccount(id="c-1", account="wallet:U1"), RejectCode.BALANCE_NOT_ZERO
    )
    assert wallets.account("wallet:U1").status is AccountStatus.OPEN
    # a debit-normal account with a balance, too
    assert_rejected(
        wallets, CloseAccount(id="c-2", account="bank:trust"), RejectCode.BALANCE_NOT_ZERO
    )


def test_close_after_the_balance_returns_to_zero(wallets: Ledger) -> None:
    top_up(wallets, "t-1", "wallet:U1", 100)
    post(wallets, "w-1", Debit("wallet:U1", 100), Credit("bank:trust", 100), kind="withdraw")
    assert balance_of(wallets, "wallet:U1") == 0
    assert_accepted(wallets, CloseAccount(id="c-1", account="wallet:U1"))
    assert wallets.account("wallet:U1").status is AccountStatus.CLOSED


def test_postings_to_a_closed_account_are_account_closed(wallets: Ledger) -> None:
    assert_accepted(wallets, CloseAccount(id="c-1", account="wallet:U2"))
    assert_rejected(
        wallets,
        entry("t-1", Debit("bank:trust", 100), Credit("wallet:U2", 100)),
        RejectCode.ACCOUNT_CLOSED,
    )


def test_close_twice_is_account_closed(wallets: Ledger) -> None:
    assert_accepted(wallets, CloseAccount(id="c-1", account="wallet:U2"))
    assert_rejected(wallets, CloseAccount(id="c-2", account="wallet:U2"), RejectCode.ACCOUNT_CLOSED)


def test_lifecycle_events_use_the_account_stream_in_order(wallets: Ledger) -> None:
    assert_accepted(wallets, FreezeAccount(id="f-1", account="wallet:U2"))
    assert_accepted(wallets, UnfreezeAccount(id="u-1", account="wallet:U2"))
    assert_accepted(wallets, CloseAccount(id="c-1", account="wallet:U2"))
    records = [r for r in wallets.events() if r.stream == "account:wallet:U2"]
    assert [(r.type, r.version) for r in records] == [
        ("account_opened", 1),
        ("account_frozen", 2),
        ("account_unfrozen", 3),
        ("account_closed", 4),
    ]
