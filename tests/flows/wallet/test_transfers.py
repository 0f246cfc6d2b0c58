"""Wallet to wallet (``Transfer``) and cash-out to the user's bank (``Withdraw``)."""

from __future__ import annotations

import pytest

from ledger import CloseAccount, FreezeAccount, Ledger, Reverse, TopUp, Transfer, Withdraw
from ledger.errors import RejectCode
from ledger.events import EntryReversed, Transferred, Withdrawn
from tests.conftest import assert_accepted, assert_rejected, counters, fund, leg, only_event

MAX = 2**63 - 1


def transfer(id: str = "x-1", **kwargs: object) -> Transfer:
    fields: dict[str, object] = {
        "source": "wallet:U1",
        "destination": "wallet:U2",
        "amount_minor": 1_200,
    }
    fields.update(kwargs)
    return Transfer(id=id, **fields)  # type: ignore[arg-type]


def withdraw(id: str = "w-1", **kwargs: object) -> Withdraw:
    fields: dict[str, object] = {"wallet": "wallet:U1", "amount_minor": 3_000}
    fields.update(kwargs)
    return Withdraw(id=id, **fields)  # type: ignore[arg-type]


@pytest.fixture
def funded(flows: Ledger) -> Ledger:
    """``flows`` with 10,000 in wallet:U1 (and so in the bank trust)."""
    fund(flows, "wallet:U1", 10_000)
    return flows


# --- Transfer -------------------------------------------------------------------------------


def test_a_transfer_moves_money_between_two_wallets(funded: Ledger) -> None:
    assert_accepted(funded, transfer(memo="lunch 🍜"))
    record, event = only_event(funded, "x-1")
    assert (record.type, record.stream, record.version) == ("transferred", "entry:x-1", 1)
    assert isinstance(event, Transferred)
    assert (event.source, event.destination, event.amount_minor, event.memo) == (
        "wallet:U1",
        "wallet:U2",
        1_200,
        "lunch 🍜",
    )
    assert event.postings == (leg("wallet:U1", "debit", 1_200), leg("wallet:U2", "credit", 1_200))
    assert counters(funded, "wallet:U1") == (8_800, 8_800, 0, 0)
    assert counters(funded, "wallet:U2") == (1_200, 1_200, 0, 0)
    assert counters(funded, "bank:trust") == (10_000, 10_000, 0, 0)


def test_a_transfer_of_everything_empties_the_wallet(funded: Ledger) -> None:
    assert_accepted(funded, transfer(amount_minor=10_000))
    assert counters(funded, "wallet:U1") == (0, 0, 0, 0)
    assert counters(funded, "wallet:U2") == (10_000, 10_000, 0, 0)


def test_a_transfer_can_be_reversed(funded: Ledger) -> None:
    assert_accepted(funded, transfer())
    assert_accepted(funded, Reverse(id="r-1", entry_id="x-1"))
    _, event = only_event(funded, "r-1")
    assert isinstance(event, EntryReversed)
    assert event.postings == (leg("wallet:U1", "credit", 1_200), leg("wallet:U2", "debit", 1_200))
    assert counters(funded, "wallet:U1") == (10_000, 10_000, 0, 0)
    assert counters(funded, "wallet:U2") == (0, 0, 0, 0)


def test_a_transfer_to_the_same_wallet_is_field_invalid(funded: Ledger) -> None:
    result = assert_rejected(funded, transfer(destination="wallet:U1"), RejectCode.FIELD_INVALID)
    assert "same wallet" in result.detail


def test_a_memo_longer_than_1000_is_field_invalid(funded: Ledger) -> None:
    assert_rejected(funded, transfer(memo="m" * 1_001), RejectCode.FIELD_INVALID)


def test_a_bad_transfer_amount_is_amount_invalid(funded: Ledger) -> None:
    for amount in [0, -1, 2**63]:
        assert_rejected(funded, transfer(amount_minor=amount), RejectCode.AMOUNT_INVALID)


def test_unknown_wallets_are_account_not_found(funded: Ledger) -> None:
    assert_rejected(funded, transfer(source="wallet:nobody"), RejectCode.ACCOUNT_NOT_FOUND)
    assert_rejected(
        funded, transfer("x-2", destination="nobody here"), RejectCode.ACCOUNT_NOT_FOUND
    )


def test_accounts_that_are_not_wallets_are_field_invalid(funded: Ledger) -> None:
    result = assert_rejected(funded, transfer(source="bank:trust"), RejectCode.FIELD_INVALID)
    assert "source" in result.detail
    result = assert_rejected(
        funded, transfer("x-2", destination="income:fees"), RejectCode.FIELD_INVALID
    )
    assert "destination" in result.detail


def test_a_transfer_between_currencies_is_currency_mismatch(funded: Ledger) -> None:
    result = assert_rejected(
        funded, transfer(destination="wallet:U3:usd"), RejectCode.CURRENCY_MISMATCH
    )
    assert "Exchange" in result.detail


def test_transferring_more_than_the_wallet_holds_is_insufficient_funds(funded: Ledger) -> None:
    assert_rejected(funded, transfer(amount_minor=10_001), RejectCode.INSUFFICIENT_FUNDS)
    assert_rejected(
        funded,
        transfer("x-2", source="wallet:U2", destination="wallet:U1", amount_minor=1),
        RejectCode.INSUFFICIENT_FUNDS,
    )


def test_a_frozen_wallet_on_either_side_is_account_frozen(funded: Ledger) -> None:
    assert_accepted(funded, FreezeAccount(id="f-1", account="wallet:U2"))
    assert_rejected(funded, transfer(), RejectCode.ACCOUNT_FROZEN)
    assert_accepted(funded, funded.chart.open_wallet("wallet:U4"))
    assert_accepted(funded, FreezeAccount(id="f-2", account="wallet:U1"))
    assert_rejected(funded, transfer("x-2", destination="wallet:U4"), RejectCode.ACCOUNT_FROZEN)


def test_a_closed_destination_is_account_closed(funded: Ledger) -> None:
    assert_accepted(funded, CloseAccount(id="c-1", account="wallet:U2"))
    assert_rejected(funded, transfer(), RejectCode.ACCOUNT_CLOSED)


def test_transfer_rejections_come_in_the_documented_order(funded: Ledger) -> None:
    assert_rejected(
        funded, transfer(memo="m" * 1_001, destination="wallet:U1"), RejectCode.FIELD_INVALID
    )
    assert_rejected(
        funded, transfer(destination="wallet:U1", amount_minor=0), RejectCode.FIELD_INVALID
    )
    assert_rejected(funded, transfer(source="nobody", amount_minor=0), RejectCode.AMOUNT_INVALID)
    assert_rejected(
        funded, transfer(source="nobody", destination="bank:trust"), RejectCode.ACCOUNT_NOT_FOUND
    )
    assert_rejected(
        funded,
        transfer(destination="wallet:U3:usd", amount_minor=MAX),
        RejectCode.CURRENCY_MISMATCH,
    )


# --- Withdraw -------------------------------------------------------------------------------


def test_a_withdrawal_debits_the_amount_and_the_fee(funded: Ledger) -> None:
    assert_accepted(funded, withdraw(fee_minor=25))
    record, event = only_event(funded, "w-1")
    assert (record.type, record.stream, record.version) == ("withdrawn", "entry:w-1", 1)
    assert isinstance(event, Withdrawn)
    assert (event.wallet, event.amount_minor, event.fee_minor) == ("wallet:U1", 3_000, 25)
    assert event.postings == (
        leg("wallet:U1", "debit", 3_025),
        leg("bank:trust", "credit", 3_000),
        leg("income:fees", "credit", 25),
    )
    assert counters(funded, "wallet:U1") == (6_975, 6_975, 0, 0)
    assert counters(funded, "bank:trust") == (7_000, 7_000, 0, 0)
    assert counters(funded, "income:fees") == (25, 25, 0, 0)


def test_a_withdrawal_without_fee_has_two_postings(funded: Ledger) -> None:
    assert_accepted(funded, withdraw(amount_minor=10_000))
    _, event = only_event(funded, "w-1")
    assert isinstance(event, Withdrawn)
    assert event.postings == (
        leg("wallet:U1", "debit", 10_000),
        leg("bank:trust", "credit", 10_000),
    )
    assert counters(funded, "wallet:U1") == (0, 0, 0, 0)
    assert counters(funded, "bank:trust") == (0, 0, 0, 0)


def test_a_withdrawal_fee_is_on_top_so_it_may_exceed_the_amount(funded: Ledger) -> None:
    assert_accepted(funded, withdraw(amount_minor=10, fee_minor=10))
    assert_accepted(funded, withdraw("w-2", amount_minor=10, fee_minor=50))
    assert counters(funded, "wallet:U1") == (10_000 - 80, 10_000 - 80, 0, 0)
    assert counters(funded, "income:fees") == (60, 60, 0, 0)


def test_the_fee_counts_against_the_wallet(funded: Ledger) -> None:
    assert_rejected(
        funded, withdraw(amount_minor=9_990, fee_minor=11), RejectCode.INSUFFICIENT_FUNDS
    )
    assert_accepted(funded, withdraw("w-2", amount_minor=9_990, fee_minor=10))
    assert counters(funded, "wallet:U1") == (0, 0, 0, 0)


def test_a_withdrawal_the_bank_trust_cannot_cover_is_insufficient_funds(flows: Ledger) -> None:
    # cash collected by an agent is in the wallet, not yet in the bank
    assert_accepted(
        flows,
        TopUp(
            id="t-1",
            wallet="wallet:U1",
            amount_minor=5_000,
            channel="counter",
            funding_account="agent:A1:receivable",
        ),
    )
    result = assert_rejected(flows, withdraw(amount_minor=1), RejectCode.INSUFFICIENT_FUNDS)
    assert "bank:trust" in result.detail


def test_bad_amounts_are_amount_invalid(funded: Ledger) -> None:
    for amount, fee in [
        (0, 0),
        (-1, 0),
        (2**63, 0),
        (100, -1),
        (100, 2**63),
        (MAX, 1),  # the sum passes 2**63-1
        (2**62, 2**62),
    ]:
        assert_rejected(
            funded, withdraw(amount_minor=amount, fee_minor=fee), RejectCode.AMOUNT_INVALID
        )


def test_withdrawal_wallet_rejections(funded: Ledger) -> None:
    assert_rejected(funded, withdraw(wallet="wallet:nobody"), RejectCode.ACCOUNT_NOT_FOUND)
    assert_rejected(funded, withdraw("w-2", wallet="bank:trust"), RejectCode.FIELD_INVALID)
    assert_rejected(funded, withdraw("w-3", amount_minor=10_001), RejectCode.INSUFFICIENT_FUNDS)
    assert_rejected(funded, withdraw("w-5", wallet="wallet:U3:usd"), RejectCode.CURRENCY_MISMATCH)
    assert_accepted(funded, FreezeAccount(id="f-1", account="wallet:U1"))
    assert_rejected(funded, withdraw("w-4"), RejectCode.ACCOUNT_FROZEN)


def test_withdrawal_rejections_come_in_the_documented_order(funded: Ledger) -> None:
    assert_rejected(funded, withdraw(amount_minor=0, wallet="nobody"), RejectCode.AMOUNT_INVALID)
    assert_rejected(
        funded, withdraw(amount_minor=MAX, fee_minor=1, wallet="nobody"), RejectCode.AMOUNT_INVALID
    )


def test_a_withdrawal_can_be_reversed(funded: Ledger) -> None:
    assert_accepted(funded, withdraw(fee_minor=25))
    assert_accepted(funded, Reverse(id="r-1", entry_id="w-1"))
    assert counters(funded, "wallet:U1") == (10_000, 10_000, 0, 0)
    assert counters(funded, "bank:trust") == (10_000, 10_000, 0, 0)
    assert counters(funded, "income:fees") == (0, 0, 0, 0)
