"""Journal entries, reversals, idempotency, batches and reads through ``Ledger``."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest

from ledger import (
    SUBMIT_MANY_MAX,
    Accepted,
    BatchTooLarge,
    CloseAccount,
    Command,
    Credit,
    Debit,
    FreezeAccount,
    InvalidCommand,
    Ledger,
    LedgerClosed,
    LedgerError,
    OpenAccount,
    PostEntry,
    Rejected,
    Reverse,
    UnknownAccount,
)
from ledger.commands import canonical_bytes
from ledger.errors import RejectCode
from ledger.events import EntryPosted, EntryReversed, Posting
from tests.conftest import (
    T0,
    FakeClock,
    assert_accepted,
    assert_rejected,
    balance_of,
    entry,
    open_account,
    post,
    snapshot,
    top_up,
    unchanged,
)

MAX = 2**63 - 1


# --- a good entry ---------------------------------------------------------------------------


def test_an_accepted_entry_moves_balances_and_records_explicit_postings(wallets: Ledger) -> None:
    book = wallets
    result = post(
        book,
        "e-1",
        Debit("bank:trust", 50_000),
        Credit("wallet:U1", 50_000),
        kind="top_up",
        memo="first top-up",
        metadata={"channel": "promptpay"},
    )
    u1 = book.balance("wallet:U1")
    assert (u1.credits_posted, u1.debits_posted, u1.balance, u1.available) == (
        50_000,
        0,
        50_000,
        50_000,
    )
    bank = book.balance("bank:trust")
    assert (bank.debits_posted, bank.credits_posted, bank.balance) == (50_000, 0, 50_000)
    [record] = list(book.events(after=result.seq - 1))
    assert record.seq == result.seq
    assert record.stream == "entry:e-1"
    assert record.version == 1
    assert record.command_id == "e-1"
    assert record.type == "entry_posted"
    assert record.recorded_at == T0
    assert record.effective_at == T0
    assert isinstance(record.event, EntryPosted)
    assert record.event.kind == "top_up"
    assert record.event.memo == "first top-up"
    assert record.event.metadata == {"channel": "promptpay"}
    assert record.event.postings == (
        Posting(account="bank:trust", side="debit", amount_minor=50_000, currency="THB"),
        Posting(account="wallet:U1", side="credit", amount_minor=50_000, currency="THB"),
    )


def test_an_entry_with_many_legs_and_a_repeated_account(wallets: Ledger) -> None:
    top_up(wallets, "t-1", "wallet:U1", 1_000)
    post(
        wallets,
        "pay-1",
        Debit("wallet:U1", 600),
        Debit("wallet:U1", 400),
        Credit("merchant:M1:payable", 970),
        Credit("income:fees", 30),
        kind="payment",
    )
    assert balance_of(wallets, "wallet:U1") == 0
    assert balance_of(wallets, "merchant:M1:payable") == 970
    assert balance_of(wallets, "income:fees") == 30


def test_a_matching_currency_assertion_is_accepted(wallets: Ledger) -> None:
    post(wallets, "e-1", Debit("bank:trust", 100, currency="THB"), Credit("wallet:U1", 100, "THB"))
    assert balance_of(wallets, "wallet:U1") == 100


def test_128_postings_are_accepted(wallets: Ledger) -> None:
    legs = [Debit("bank:trust", 1) for _ in range(64)] + [Credit("wallet:U1", 1) for _ in range(64)]
    post(wallets, "e-128", *legs)
    assert balance_of(wallets, "wallet:U1") == 64


# --- rejections -----------------------------------------------------------------------------


@pytest.mark.parametrize("count", [0, 1, 129])
def test_wrong_number_of_postings_is_postings_invalid(wallets: Ledger, count: int) -> None:
    legs: list[Debit | Credit] = [Debit("bank:trust", 1), Credit("wallet:U1", 1)] * 65
    assert_rejected(wallets, entry("e-1", *legs[:count]), RejectCode.POSTINGS_INVALID)


@pytest.mark.parametrize("amount", [0, -1, -100, 2**63, 2**64])
def test_a_bad_amount_is_amount_invalid(wallets: Ledger, amount: int) -> None:
    assert_rejected(
        wallets,
        entry("e-1", Debit("bank:trust", amount), Credit("wallet:U1", amount)),
        RejectCode.AMOUNT_INVALID,
    )


def test_a_bad_amount_on_one_leg_only_is_amount_invalid(wallets: Ledger) -> None:
    assert_rejected(
        wallets,
        entry("e-1", Debit("bank:trust", 100), Credit("wallet:U1", 0), Credit("wallet:U2", 100)),
        RejectCode.AMOUNT_INVALID,
    )


@pytest.mark.parametrize("account", ["wallet:nobody", "bad id", "", "x" * 129])
def test_an_unknown_account_is_account_not_found(wallets: Ledger, account: str) -> None:
    assert_rejected(
        wallets,
        entry("e-1", Debit("bank:trust", 100), Credit(account, 100)),
        RejectCode.ACCOUNT_NOT_FOUND,
    )


def test_a_leg_in_another_currency_than_its_account_is_currency_mismatch(wallets: Ledger) -> None:
    assert_rejected(
        wallets,
        entry("e-1", Debit("bank:trust", 100, currency="USD"), Credit("wallet:U1", 100)),
        RejectCode.CURRENCY_MISMATCH,
    )
    assert_rejected(
        wallets,
        entry("e-2", Debit("bank:trust", 100), Credit("wallet:U1", 100, currency="thb")),
        RejectCode.CURRENCY_MISMATCH,
    )


def test_thb_and_usd_legs_are_unbalanced(wallets: Ledger) -> None:
    # 100 THB against 100 USD: equal numbers, different currencies.
    assert_rejected(
        wallets,
        entry("e-1", Debit("bank:trust", 100), Credit("wallet:U1:usd", 100)),
        RejectCode.UNBALANCED,
    )
    # balanced in total, but not per currency
    assert_rejected(
        wallets,
        entry(
            "e-2",
            Debit("bank:trust", 100),
            Debit("bank:usd", 50),
            Credit("wallet:U1", 50),
            Credit("wallet:U1:usd", 100),
        ),
        RejectCode.UNBALANCED,
    )


def test_unequal_debits_and_credits_are_unbalanced(wallets: Ledger) -> None:
    assert_rejected(
        wallets,
        entry("e-1", Debit("bank:trust", 100), Credit("wallet:U1", 99)),
        RejectCode.UNBALANCED,
    )
    assert_rejected(
        wallets,
        entry("e-2", Debit("bank:trust", 100), Debit("wallet:U1", 100)),
        RejectCode.UNBALANCED,
    )


def test_balanced_in_each_currency_is_accepted(wallets: Ledger) -> None:
    post(
        wallets,
        "e-1",
        Debit("bank:trust", 100),
        Credit("wallet:U1", 100),
        Debit("bank:usd", 3),
        Credit("wallet:U1:usd", 3),
    )
    assert balance_of(wallets, "wallet:U1") == 100
    assert balance_of(wallets, "wallet:U1:usd") == 3


def test_counters_past_2_63_minus_1_are_overflow(book: Ledger) -> None:
    open_account(book, "asset:a", "asset")
    open_account(book, "equity:b", "equity")
    post(book, "e-1", Debit("asset:a", MAX), Credit("equity:b", MAX))
    assert balance_of(book, "asset:a") == MAX
    assert_rejected(
        book, entry("e-2", Debit("asset:a", 1), Credit("equity:b", 1)), RejectCode.OVERFLOW
    )
    # moving the other way is fine: the debit counter of equity:b starts at zero
    post(book, "e-3", Debit("equity:b", 1), Credit("asset:a", 1))
    assert balance_of(book, "asset:a") == MAX - 1


def test_overflow_within_one_entry(book: Ledger) -> None:
    open_account(book, "asset:a", "asset")
    open_account(book, "equity:b", "equity")
    assert_rejected(
        book,
        entry(
            "e-1",
            Debit("asset:a", MAX),
            Debit("asset:a", 1),
            Credit("equity:b", MAX),
            Credit("equity:b", 1),
        ),
        RejectCode.OVERFLOW,
    )


def test_spending_more_than_a_no_overdraft_wallet_holds_is_insufficient_funds(
    wallets: Ledger,
) -> None:
    book = wallets
    pay = [Debit("wallet:U1", 1), Credit("merchant:M1:payable", 1)]
    assert_rejected(book, entry("p-0", *pay), RejectCode.INSUFFICIENT_FUNDS)
    top_up(book, "t-1", "wallet:U1", 10_000)
    post(book, "p-1", Debit("wallet:U1", 10_000), Credit("merchant:M1:payable", 10_000))
    assert balance_of(book, "wallet:U1") == 0
    assert_rejected(book, entry("p-2", *pay), RejectCode.INSUFFICIENT_FUNDS)


def test_no_overdraft_on_a_debit_normal_account(book: Ledger) -> None:
    open_account(book, "bank:ops", "asset", no_overdraft=True)
    open_account(book, "equity:capital", "equity")
    post(book, "e-1", Debit("bank:ops", 500), Credit("equity:capital", 500))
    assert_rejected(
        book,
        entry("e-2", Debit("equity:capital", 501), Credit("bank:ops", 501)),
        RejectCode.INSUFFICIENT_FUNDS,
    )
    post(book, "e-3", Debit("equity:capital", 500), Credit("bank:ops", 500))
    assert balance_of(book, "bank:ops") == 0


def test_an_account_without_no_overdraft_may_go_negative(wallets: Ledger) -> None:
    post(wallets, "e-1", Debit("merchant:M1:payable", 100), Credit("bank:trust", 100))
    assert balance_of(wallets, "merchant:M1:payable") == -100
    assert balance_of(wallets, "bank:trust") == -100


def test_passing_max_balance_is_limit_exceeded(book: Ledger) -> None:
    open_account(book, "bank:trust", "asset")
    open_account(book, "wallet:U1", "liability", no_overdraft=True, max_balance_minor=1_000)
    assert_rejected(
        book,
        entry("t-0", Debit("bank:trust", 1_001), Credit("wallet:U1", 1_001)),
        RejectCode.LIMIT_EXCEEDED,
    )
    top_up(book, "t-1", "wallet:U1", 1_000)
    assert balance_of(book, "wallet:U1") == 1_000
    assert_rejected(
        book,
        entry("t-2", Debit("bank:trust", 1), Credit("wallet:U1", 1)),
        RejectCode.LIMIT_EXCEEDED,
    )


@pytest.mark.parametrize(
    "kind",
    ["", "Top_up", "top up", "1st", "_x", "a" * 65, "top-up!", "ท็อปอัพ"],
)
def test_a_bad_kind_is_field_invalid(wallets: Ledger, kind: str) -> None:
    assert_rejected(
        wallets,
        entry("e-1", Debit("bank:trust", 1), Credit("wallet:U1", 1), kind=kind),
        RejectCode.FIELD_INVALID,
    )


def test_a_kind_of_64_characters_is_fine(wallets: Ledger) -> None:
    post(wallets, "e-1", Debit("bank:trust", 1), Credit("wallet:U1", 1), kind="a" * 64)


def test_a_memo_over_1000_characters_is_field_invalid(wallets: Ledger) -> None:
    assert_rejected(
        wallets,
        entry("e-1", Debit("bank:trust", 1), Credit("wallet:U1", 1), memo="m" * 1001),
        RejectCode.FIELD_INVALID,
    )
    post(wallets, "e-2", Debit("bank:trust", 1), Credit("wallet:U1", 1), memo="m" * 1000)


@pytest.mark.parametrize(
    "metadata",
    [
        {"bad key": "v"},
        {"": "v"},
        {"k" * 65: "v"},
        {"k": "v" * 1001},
        {f"k{i}": "v" for i in range(33)},
    ],
    ids=["space-in-key", "empty-key", "long-key", "long-value", "33-keys"],
)
def test_bad_metadata_is_field_invalid(wallets: Ledger, metadata: dict[str, str]) -> None:
    assert_rejected(
        wallets,
        entry("e-1", Debit("bank:trust", 1), Credit("wallet:U1", 1), metadata=metadata),
        RejectCode.FIELD_INVALID,
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", "adjustment\n"), ("metadata", {"order\n": "O1"})],
)
def test_a_trailing_newline_is_not_a_valid_kind_or_metadata_key(
    wallets: Ledger, field: str, value: object
) -> None:
    command = entry("e-1", Debit("bank:trust", 1), Credit("wallet:U1", 1), **{field: value})
    assert_rejected(wallets, command, RejectCode.FIELD_INVALID)


def test_rejections_follow_the_documented_order(wallets: Ledger) -> None:
    book = wallets
    assert_accepted(book, FreezeAccount(id="f-1", account="wallet:U2"))
    # field_invalid before postings_invalid
    assert_rejected(
        book, entry("e-1", Debit("bank:trust", 1), kind="BAD"), RejectCode.FIELD_INVALID
    )
    # postings_invalid before amount_invalid
    assert_rejected(book, entry("e-2", Debit("bank:trust", 0)), RejectCode.POSTINGS_INVALID)
    # amount_invalid before account_not_found
    assert_rejected(
        book, entry("e-3", Debit("nobody", 1), Credit("wallet:U1", 0)), RejectCode.AMOUNT_INVALID
    )
    # account_frozen before unbalanced
    assert_rejected(
        book,
        entry("e-4", Debit("wallet:U2", 5), Credit("bank:trust", 1)),
        RejectCode.ACCOUNT_FROZEN,
    )
    # unbalanced before insufficient_funds
    assert_rejected(
        book,
        entry("e-5", Debit("wallet:U1", 5), Credit("merchant:M1:payable", 4)),
        RejectCode.UNBALANCED,
    )


# --- effective time -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "offset",
    [
        -timedelta(days=31, microseconds=1),
        -timedelta(days=365),
        timedelta(minutes=5, microseconds=1),
        timedelta(days=1),
    ],
    ids=["31-days-and-1us-back", "a-year-back", "5-min-and-1us-ahead", "a-day-ahead"],
)
def test_effective_at_outside_the_window_is_effective_at_invalid(
    wallets: Ledger, offset: timedelta
) -> None:
    assert_rejected(
        wallets,
        entry(
            "e-1",
            Debit("bank:trust", 1),
            Credit("wallet:U1", 1),
            effective_at=T0 + offset,
            backdated=offset < timedelta(0),
        ),
        RejectCode.EFFECTIVE_AT_INVALID,
    )


@pytest.mark.parametrize(
    "offset",
    [-timedelta(days=31), -timedelta(days=3), timedelta(0), timedelta(minutes=5)],
    ids=["exactly-31-days-back", "3-days-back", "now", "exactly-5-min-ahead"],
)
def test_effective_at_inside_the_window_is_kept(wallets: Ledger, offset: timedelta) -> None:
    result = post(
        wallets,
        "e-1",
        Debit("bank:trust", 1),
        Credit("wallet:U1", 1),
        effective_at=T0 + offset,
        backdated=offset < timedelta(0),
    )
    [record] = list(wallets.events(after=result.seq - 1))
    assert record.effective_at == T0 + offset
    assert record.recorded_at == T0


def test_effective_at_in_another_zone_is_the_same_instant(wallets: Ledger) -> None:
    bangkok = T0.astimezone(timezone(timedelta(hours=7))) - timedelta(hours=1)
    result = post(
        wallets,
        "e-1",
        Debit("bank:trust", 1),
        Credit("wallet:U1", 1),
        effective_at=bangkok,
        backdated=True,
    )
    [record] = list(wallets.events(after=result.seq - 1))
    assert record.effective_at == T0 - timedelta(hours=1)
    assert record.effective_at.tzinfo is UTC


def test_the_window_follows_the_injected_clock(wallets: Ledger, clock: FakeClock) -> None:
    when = T0 - timedelta(days=10)
    clock.advance(timedelta(days=30))  # now T0 + 30 days: when is 40 days back
    assert_rejected(
        wallets,
        entry(
            "e-1", Debit("bank:trust", 1), Credit("wallet:U1", 1), effective_at=when, backdated=True
        ),
        RejectCode.EFFECTIVE_AT_INVALID,
    )


def test_backdate_limit_is_configurable(tmp_path: Path, clock: FakeClock) -> None:
    with Ledger.open(tmp_path / "x.db", clock=clock, backdate_limit=timedelta(days=1)) as book:
        open_account(book, "bank:trust", "asset")
        open_account(book, "wallet:U1")
        assert_rejected(
            book,
            entry(
                "e-1",
                Debit("bank:trust", 1),
                Credit("wallet:U1", 1),
                effective_at=T0 - timedelta(days=2),
                backdated=True,
            ),
            RejectCode.EFFECTIVE_AT_INVALID,
        )
        post(
            book,
            "e-2",
            Debit("bank:trust", 1),
            Credit("wallet:U1", 1),
            effective_at=T0 - timedelta(hours=23),
            backdated=True,
        )


# --- reverse --------------------------------------------------------------------------------


def test_reverse_posts_the_exact_mirror(wallets: Ledger, clock: FakeClock) -> None:
    book = wallets
    top_up(book, "t-1", "wallet:U1", 5_000)
    post(
        book,
        "p-1",
        Debit("wallet:U1", 1_000),
        Credit("merchant:M1:payable", 970),
        Credit("income:fees", 30),
        kind="payment",
        effective_at=T0 - timedelta(days=1),
        backdated=True,
    )
    clock.advance(timedelta(hours=1))
    result = assert_accepted(book, Reverse(id="r-1", entry_id="p-1", memo="customer dispute"))
    [record] = list(book.events(after=result.seq - 1))
    assert record.stream == "reversal:p-1"
    assert record.type == "entry_reversed"
    assert record.effective_at == T0 + timedelta(hours=1)
    assert isinstance(record.event, EntryReversed)
    assert record.event.reverses == "p-1"
    assert record.event.entry_id == "r-1"
    assert record.event.memo == "customer dispute"
    assert record.event.postings == (
        Posting(account="wallet:U1", side="credit", amount_minor=1_000, currency="THB"),
        Posting(account="merchant:M1:payable", side="debit", amount_minor=970, currency="THB"),
        Posting(account="income:fees", side="debit", amount_minor=30, currency="THB"),
    )
    assert balance_of(book, "wallet:U1") == 5_000
    assert balance_of(book, "merchant:M1:payable") == 0
    assert balance_of(book, "income:fees") == 0
    u1 = book.balance("wallet:U1")
    assert (u1.debits_posted, u1.credits_posted) == (1_000, 6_000)


@pytest.mark.parametrize("entry_id", ["nope", "open-wallet:U1", "bad id", ""])
def test_reverse_of_no_entry_is_entry_not_found(wallets: Ledger, entry_id: str) -> None:
    assert_rejected(wallets, Reverse(id="r-1", entry_id=entry_id), RejectCode.ENTRY_NOT_FOUND)


def test_reverse_twice_is_entry_already_reversed(wallets: Ledger) -> None:
    top_up(wallets, "t-1", "wallet:U1", 100)
    assert_accepted(wallets, Reverse(id="r-1", entry_id="t-1"))
    assert_rejected(wallets, Reverse(id="r-2", entry_id="t-1"), RejectCode.ENTRY_ALREADY_REVERSED)
    assert balance_of(wallets, "wallet:U1") == 0


def test_reversing_a_top_up_after_the_money_was_spent_is_insufficient_funds(
    wallets: Ledger,
) -> None:
    top_up(wallets, "t-1", "wallet:U1", 1_000)
    post(wallets, "p-1", Debit("wallet:U1", 800), Credit("merchant:M1:payable", 800))
    assert_rejected(wallets, Reverse(id="r-1", entry_id="t-1"), RejectCode.INSUFFICIENT_FUNDS)
    # once the payment is reversed, the top-up can be too
    assert_accepted(wallets, Reverse(id="r-2", entry_id="p-1"))
    assert_accepted(wallets, Reverse(id="r-3", entry_id="t-1"))
    assert balance_of(wallets, "wallet:U1") == 0


def test_reverse_touching_a_frozen_account_is_account_frozen(wallets: Ledger) -> None:
    top_up(wallets, "t-1", "wallet:U1", 100)
    assert_accepted(wallets, FreezeAccount(id="f-1", account="wallet:U1"))
    assert_rejected(wallets, Reverse(id="r-1", entry_id="t-1"), RejectCode.ACCOUNT_FROZEN)


def test_reverse_with_a_long_memo_is_field_invalid(wallets: Ledger) -> None:
    top_up(wallets, "t-1", "wallet:U1", 100)
    assert_rejected(
        wallets, Reverse(id="r-1", entry_id="t-1", memo="m" * 1001), RejectCode.FIELD_INVALID
    )


# --- idempotency ----------------------------------------------------------------------------


def test_the_same_id_with_the_same_content_returns_the_first_result(wallets: Ledger) -> None:
    book = wallets
    command = entry("t-1", Debit("bank:trust", 100), Credit("wallet:U1", 100))
    first = assert_accepted(book, command)
    top_up(book, "t-2", "wallet:U2", 5)
    retry = entry("t-1", Debit("bank:trust", 100), Credit("wallet:U1", 100))
    with unchanged(book):
        again = book.submit(retry)
    assert again == Accepted("t-1", first.seq, replayed=True)
    assert balance_of(book, "wallet:U1") == 100
    assert [r.command_id for r in book.events()].count("t-1") == 1


def test_a_retry_after_reopening_the_file_is_still_a_replay(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "x.db"
    command = OpenAccount(id="o-1", account="bank:trust", type="asset", currency="THB")
    with Ledger.open(path, clock=clock) as book:
        first = assert_accepted(book, command)
    with Ledger.open(path, clock=clock) as book, unchanged(book):
        assert book.submit(command) == Accepted("o-1", first.seq, replayed=True)


@pytest.mark.parametrize(
    "other",
    [
        entry("t-1", Debit("bank:trust", 101), Credit("wallet:U1", 101)),
        entry("t-1", Debit("bank:trust", 100), Credit("wallet:U2", 100)),
        entry("t-1", Debit("bank:trust", 100), Credit("wallet:U1", 100), memo="x"),
        entry("t-1", Debit("bank:trust", 100), Credit("wallet:U1", 100), kind="top_up"),
        OpenAccount(id="t-1", account="wallet:U9", type="liability", currency="THB"),
        Reverse(id="t-1", entry_id="t-1"),
    ],
    ids=["amount", "account", "memo", "kind", "other-command-type", "reverse"],
)
def test_the_same_id_with_other_content_is_idempotency_conflict(
    wallets: Ledger, other: PostEntry
) -> None:
    assert_accepted(wallets, entry("t-1", Debit("bank:trust", 100), Credit("wallet:U1", 100)))
    assert_rejected(wallets, other, RejectCode.IDEMPOTENCY_CONFLICT)


@pytest.mark.parametrize(
    "bad_id",
    ["", "a b", "x" * 129, "e/1", "e-1\n", "é"],
    ids=["empty", "space", "129-chars", "slash", "trailing-newline", "non-ascii"],
)
def test_a_bad_command_id_is_id_invalid(wallets: Ledger, bad_id: str) -> None:
    assert_rejected(
        wallets,
        entry(bad_id, Debit("bank:trust", 1), Credit("wallet:U1", 1)),
        RejectCode.ID_INVALID,
    )


def test_a_retry_naming_the_same_effective_instant_in_another_zone_is_a_replay(
    wallets: Ledger,
) -> None:
    # The same command, retried by a client that renders the same instant in Bangkok time
    # instead of UTC: equal commands, so the retry must return the first result.
    legs = [Debit("bank:trust", 100), Credit("wallet:U1", 100)]
    when_utc = T0 - timedelta(hours=2)
    first = post(wallets, "t-1", *legs, effective_at=when_utc, backdated=True)
    bangkok = when_utc.astimezone(timezone(timedelta(hours=7)))
    retry = entry("t-1", *legs, effective_at=bangkok, backdated=True)
    assert retry == entry("t-1", *legs, effective_at=when_utc, backdated=True)
    with unchanged(wallets):
        assert wallets.submit(retry) == Accepted("t-1", first.seq, replayed=True)


def test_an_identical_reopen_is_rejected_so_its_id_holds_no_promise(
    wallets: Ledger,
) -> None:
    # Nothing is accepted without being recorded: an identical re-open under a new id is
    # account_exists, so the caller holds no Accepted that a later command could contradict.
    twice = OpenAccount(id="open-twice", account="bank:trust", type="asset", currency="THB")
    assert_rejected(wallets, twice, RejectCode.ACCOUNT_EXISTS)
    assert_accepted(
        wallets, entry("open-twice", Debit("bank:trust", 100), Credit("wallet:U1", 100))
    )


def test_the_id_of_a_rejected_command_can_be_used_again(wallets: Ledger) -> None:
    assert_rejected(
        wallets,
        entry("p-1", Debit("wallet:U1", 1), Credit("merchant:M1:payable", 1)),
        RejectCode.INSUFFICIENT_FUNDS,
    )
    top_up(wallets, "p-1", "wallet:U1", 1)
    assert balance_of(wallets, "wallet:U1") == 1


# --- submit_many ----------------------------------------------------------------------------


def test_submit_many_returns_one_result_per_command_in_order(wallets: Ledger) -> None:
    book = wallets
    head = book.head()[0]
    results = book.submit_many(
        [
            entry("t-1", Debit("bank:trust", 100), Credit("wallet:U1", 100)),
            entry("p-1", Debit("wallet:U2", 1), Credit("merchant:M1:payable", 1)),
            entry("p-2", Debit("wallet:U1", 60), Credit("merchant:M1:payable", 60)),
            entry("p-3", Debit("wallet:U1", 60), Credit("merchant:M1:payable", 60)),
        ]
    )
    assert [type(r) for r in results] == [Accepted, Rejected, Accepted, Rejected]
    assert [r.id for r in results] == ["t-1", "p-1", "p-2", "p-3"]
    assert results[0] == Accepted("t-1", head + 1)
    assert results[2] == Accepted("p-2", head + 2)
    assert isinstance(results[1], Rejected)
    assert results[1].code is RejectCode.INSUFFICIENT_FUNDS
    assert isinstance(results[3], Rejected)
    assert results[3].code is RejectCode.INSUFFICIENT_FUNDS
    assert book.head()[0] == head + 2
    assert balance_of(book, "wallet:U1") == 40


def test_submit_many_of_nothing_is_nothing(wallets: Ledger) -> None:
    with unchanged(wallets):
        assert wallets.submit_many([]) == []


def test_a_linked_batch_that_succeeds_commits_everything(book: Ledger) -> None:
    results = book.submit_many(
        [
            OpenAccount(id="o-1", account="bank:trust", type="asset", currency="THB"),
            OpenAccount(id="o-2", account="wallet:U1", type="liability", currency="THB"),
            entry("t-1", Debit("bank:trust", 100), Credit("wallet:U1", 100)),
        ],
        linked=True,
    )
    assert results == [Accepted("o-1", 1), Accepted("o-2", 2), Accepted("t-1", 3)]
    assert balance_of(book, "wallet:U1") == 100


def test_a_linked_batch_is_all_or_nothing(wallets: Ledger) -> None:
    book = wallets
    batch = [
        entry("t-1", Debit("bank:trust", 100), Credit("wallet:U1", 100)),
        OpenAccount(id="o-9", account="wallet:U9", type="liability", currency="THB"),
        entry("p-1", Debit("wallet:U1", 500), Credit("merchant:M1:payable", 500)),
        entry("t-2", Debit("bank:trust", 7), Credit("wallet:U2", 7)),
    ]
    with unchanged(book):
        results = book.submit_many(batch, linked=True)
    assert [r.id for r in results] == ["t-1", "o-9", "p-1", "t-2"]
    assert all(isinstance(r, Rejected) for r in results)
    codes = [r.code for r in results if isinstance(r, Rejected)]
    assert codes == [
        RejectCode.LINKED_COMMAND_FAILED,
        RejectCode.LINKED_COMMAND_FAILED,
        RejectCode.INSUFFICIENT_FUNDS,
        RejectCode.LINKED_COMMAND_FAILED,
    ]
    with pytest.raises(UnknownAccount):
        book.balance("wallet:U9")
    # nothing of the failed batch was kept: its ids are free again
    head = book.head()[0]
    assert book.submit(batch[0]) == Accepted("t-1", head + 1)


def test_a_linked_batch_with_a_retry_inside_it_reports_nothing_as_accepted(
    wallets: Ledger,
) -> None:
    # "t-1" is new; its retry in the same batch finds it in the uncommitted transaction.
    # When the batch fails, neither copy is in the log, so neither may say Accepted.
    book = wallets
    top_up_cmd = entry("t-1", Debit("bank:trust", 100), Credit("wallet:U1", 100))
    with unchanged(book):
        results = book.submit_many(
            [
                top_up_cmd,
                top_up_cmd,
                entry("p-1", Debit("wallet:U1", 500), Credit("merchant:M1:payable", 500)),
            ],
            linked=True,
        )
    assert not any(isinstance(r, Accepted) for r in results), results


def test_a_linked_batch_keeps_earlier_replays_accepted(wallets: Ledger) -> None:
    first = top_up(wallets, "t-1", "wallet:U1", 100)
    with unchanged(wallets):
        results = wallets.submit_many(
            [
                entry("t-1", Debit("bank:trust", 100), Credit("wallet:U1", 100), kind="top_up"),
                entry("p-1", Debit("wallet:U1", 500), Credit("merchant:M1:payable", 500)),
            ],
            linked=True,
        )
    assert results[0] == Accepted("t-1", first.seq, replayed=True)
    assert isinstance(results[1], Rejected)
    assert results[1].code is RejectCode.INSUFFICIENT_FUNDS


def test_a_batch_over_the_limit_raises_batch_too_large(wallets: Ledger) -> None:
    command = entry("t-1", Debit("bank:trust", 1), Credit("wallet:U1", 1))
    with unchanged(wallets), pytest.raises(BatchTooLarge, match=str(SUBMIT_MANY_MAX)):
        wallets.submit_many([command] * (SUBMIT_MANY_MAX + 1))


@pytest.mark.parametrize("bad", ["t-1", None, 42, {"id": "t-1"}, Debit("bank:trust", 1)], ids=repr)
def test_a_non_command_in_a_batch_raises_invalid_command(wallets: Ledger, bad: object) -> None:
    good = entry("t-1", Debit("bank:trust", 1), Credit("wallet:U1", 1))
    with unchanged(wallets), pytest.raises(InvalidCommand):
        wallets.submit_many([good, bad])  # type: ignore[list-item]
    with unchanged(wallets), pytest.raises(InvalidCommand):
        wallets.submit(bad)  # type: ignore[arg-type]


def test_a_command_without_a_decider_raises_and_rolls_back_the_batch(wallets: Ledger) -> None:
    good = entry("t-1", Debit("bank:trust", 1), Credit("wallet:U1", 1))
    with unchanged(wallets), pytest.raises(InvalidCommand, match="not a ledger command"):
        wallets.submit_many([good, Command(id="c-1")])
    assert wallets.submit(good) == Accepted("t-1", wallets.head()[0])


def test_a_clock_that_returns_a_naive_datetime_is_refused(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "x.db", clock=lambda: datetime(2024, 6, 1)) as book:
        with pytest.raises(LedgerError, match="aware"):
            book.submit(OpenAccount(id="o-1", account="a", type="asset", currency="THB"))
        assert book.head()[0] == 0


@pytest.mark.parametrize("path", [None, 42, b"x.db"])
def test_open_takes_a_path(path: object) -> None:
    with pytest.raises(InvalidCommand):
        Ledger.open(path)  # type: ignore[arg-type]


# --- a closed ledger, unknown accounts --------------------------------------------------------


def test_a_closed_ledger_raises_ledger_closed(wallets: Ledger) -> None:
    book = wallets
    book.close()
    book.close()  # closing twice is fine
    command = entry("t-1", Debit("bank:trust", 1), Credit("wallet:U1", 1))
    with pytest.raises(LedgerClosed):
        book.submit(command)
    with pytest.raises(LedgerClosed):
        book.submit_many([command], linked=True)
    with pytest.raises(LedgerClosed):
        book.balance("wallet:U1")
    with pytest.raises(LedgerClosed):
        book.balances()
    with pytest.raises(LedgerClosed):
        book.account("wallet:U1")
    with pytest.raises(LedgerClosed):
        book.head()
    with pytest.raises(LedgerClosed):
        book.events()
    with pytest.raises(LedgerClosed):
        _ = book.store


def test_an_empty_batch_on_a_closed_ledger_raises_ledger_closed(wallets: Ledger) -> None:
    wallets.close()
    with pytest.raises(LedgerClosed):
        wallets.submit_many([])


def test_the_context_manager_closes_the_ledger(clock: FakeClock) -> None:
    with Ledger.open(":memory:", clock=clock) as book:
        open_account(book, "bank:trust", "asset")
    with pytest.raises(LedgerClosed):
        book.head()


@pytest.mark.parametrize("account", ["wallet:nobody", "bad id", ""])
def test_the_balance_of_an_unknown_account_raises_unknown_account(
    wallets: Ledger, account: str
) -> None:
    with pytest.raises(UnknownAccount):
        wallets.balance(account)
    with pytest.raises(UnknownAccount):
        wallets.account(account)
    with pytest.raises(LookupError):
        wallets.balance(account, as_of=1)


# --- balance as of a seq or a time ------------------------------------------------------------


def test_balance_as_of_a_seq(wallets: Ledger) -> None:
    book = wallets
    opened = book.head()[0]
    first = top_up(book, "t-1", "wallet:U1", 1_000)
    second = top_up(book, "t-2", "wallet:U1", 250)
    post(book, "p-1", Debit("wallet:U1", 100), Credit("merchant:M1:payable", 100))
    assert book.balance("wallet:U1", as_of=0).balance == 0
    assert book.balance("wallet:U1", as_of=opened).balance == 0
    assert book.balance("wallet:U1", as_of=first.seq).balance == 1_000
    assert book.balance("wallet:U1", as_of=second.seq).balance == 1_250
    assert book.balance("wallet:U1", as_of=10_000) == book.balance("wallet:U1")
    at_first = book.balance("wallet:U1", as_of=first.seq)
    assert (at_first.credits_posted, at_first.debits_posted, at_first.currency) == (1_000, 0, "THB")
    assert book.balance("wallet:U1").balance == 1_150


def test_balance_as_of_a_time_counts_backdated_postings(wallets: Ledger) -> None:
    book = wallets
    # recorded now, effective ten days ago
    late = post(
        book,
        "t-late",
        Debit("bank:trust", 1_000),
        Credit("wallet:U1", 1_000),
        effective_at=T0 - timedelta(days=10),
        backdated=True,
    )
    # later in the log, but later in business time too
    now_entry = top_up(book, "t-now", "wallet:U1", 50)
    earlier_seq = late.seq - 1
    # as of a seq: log order
    assert book.balance("wallet:U1", as_of=earlier_seq).balance == 0
    assert book.balance("wallet:U1", as_of=late.seq).balance == 1_000
    assert book.balance("wallet:U1", as_of=now_entry.seq).balance == 1_050
    # as of a time: business order, postings effective at or before it
    assert book.balance("wallet:U1", as_of=T0 - timedelta(days=11)).balance == 0
    assert book.balance("wallet:U1", as_of=T0 - timedelta(days=10)).balance == 1_000
    assert book.balance("wallet:U1", as_of=T0 - timedelta(days=5)).balance == 1_000
    assert book.balance("wallet:U1", as_of=T0).balance == 1_050
    assert book.balance("bank:trust", as_of=T0 - timedelta(days=5)).balance == 1_000


def test_a_backdated_entry_shows_before_an_earlier_recorded_one_as_of_time(
    wallets: Ledger, clock: FakeClock
) -> None:
    book = wallets
    first = top_up(book, "t-1", "wallet:U1", 10)  # effective T0
    clock.advance(timedelta(days=2))
    post(
        book,
        "t-2",
        Debit("bank:trust", 5),
        Credit("wallet:U1", 5),
        effective_at=T0 - timedelta(days=1),
        backdated=True,
    )
    assert book.balance("wallet:U1", as_of=first.seq).balance == 10
    assert book.balance("wallet:U1", as_of=T0 - timedelta(hours=1)).balance == 5
    assert book.balance("wallet:U1", as_of=T0).balance == 15


def test_balance_as_of_takes_an_aware_datetime_or_an_int(wallets: Ledger) -> None:
    with pytest.raises(InvalidCommand):
        wallets.balance("wallet:U1", as_of=datetime(2024, 6, 1))
    for bad in ("1", 1.0, True):
        with pytest.raises(InvalidCommand):
            wallets.balance("wallet:U1", as_of=bad)  # type: ignore[arg-type]


# --- misc reads -------------------------------------------------------------------------------


def test_head_starts_at_zero_and_follows_the_log(book: Ledger) -> None:
    assert book.head() == (0, "00" * 32)
    open_account(book, "bank:trust", "asset")
    seq, digest = book.head()
    assert seq == 1
    assert len(digest) == 64 and digest != "00" * 32
    [record] = list(book.events())
    assert record.hash == digest


def test_events_after_and_limit(wallets: Ledger) -> None:
    seqs = [r.seq for r in wallets.events()]
    assert seqs == list(range(1, len(seqs) + 1))
    assert [r.seq for r in wallets.events(after=2, limit=3)] == [3, 4, 5]
    assert list(wallets.events(after=len(seqs))) == []
    with pytest.raises(InvalidCommand):
        wallets.events(after=-1)


def test_a_rejected_command_writes_nothing_even_to_the_idempotency_index(wallets: Ledger) -> None:
    before = snapshot(wallets)
    result = wallets.submit(CloseAccount(id="c-1", account="wallet:nobody"))
    assert isinstance(result, Rejected)
    assert snapshot(wallets) == before


def test_backdated_joined_the_digest_only_when_true() -> None:
    # PostEntry.backdated came after PostEntry itself: at its default it is left out of
    # the digest, so an entry stored before it existed is the same command after it (this
    # is the digest that entry had then), and its retry stays a replay.
    old = PostEntry(
        id="pin-1",
        kind="adjustment",
        postings=[Debit("bank:trust", 1_500), Credit("wallet:U1", 1_500, currency="THB")],
        memo="m",
        metadata={"b": "2", "a": "1"},
        effective_at=datetime(2026, 11, 30, 18, tzinfo=UTC),
    )
    digest = hashlib.sha256(canonical_bytes(old)).hexdigest()
    assert digest == "631285f706b710d857150eadd000aa4f5345223d8df8bfee45923fef70cbf804"
    flagged = attrs.evolve(old, backdated=True)
    assert canonical_bytes(flagged) != canonical_bytes(old)
