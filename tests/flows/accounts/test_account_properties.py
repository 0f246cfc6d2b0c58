"""Accounts drawn by ``ledger.testing.open_accounts`` open and read back exactly."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import Accepted, Ledger, OpenAccount, RejectCode, Rejected
from ledger.accounts import Balance, Counters, Side
from ledger.testing import open_accounts


@settings(max_examples=150, deadline=None)
@given(open_accounts())
def test_an_account_opens_and_reads_back(command: OpenAccount) -> None:
    with Ledger.open(":memory:") as book:
        assert isinstance(book.submit(command), Accepted)
        account = book.account(command.account)
        assert (account.type, account.currency, account.no_overdraft) == (
            command.type,
            command.currency,
            command.no_overdraft,
        )
        assert account.max_balance_minor == command.max_balance_minor
        balance = book.balance(command.account)
        assert (balance.balance, balance.available, balance.currency) == (0, 0, command.currency)
        again = book.submit(command)
        assert again == Accepted(command.id, 1, replayed=True)


@settings(max_examples=100, deadline=None)
@given(open_accounts(), st.data())
def test_a_second_open_of_the_same_account_is_refused(
    first: OpenAccount, data: st.DataObject
) -> None:
    second = data.draw(open_accounts(account=st.just(first.account)))
    with Ledger.open(":memory:") as book:
        book.submit(first)
        result = book.submit(second)
    if second.id == first.id:  # the idempotency index answers before the account rules
        if second == first:
            assert result == Accepted(first.id, 1, replayed=True)
        else:
            assert isinstance(result, Rejected)
            assert result.code is RejectCode.IDEMPOTENCY_CONFLICT
        return
    same = (first.type, first.currency, first.no_overdraft, first.max_balance_minor) == (
        second.type,
        second.currency,
        second.no_overdraft,
        second.max_balance_minor,
    )
    assert isinstance(result, Rejected)
    assert result.code is (
        RejectCode.ACCOUNT_EXISTS if same else RejectCode.ACCOUNT_EXISTS_DIFFERENT
    )


@given(
    st.integers(0, 2**63 - 1),
    st.integers(0, 2**63 - 1),
    st.integers(0, 2**63 - 1),
    st.integers(0, 2**63 - 1),
    st.sampled_from(["debit", "credit"]),
)
def test_a_balance_says_what_its_counters_say(
    dp: int, cp: int, dq: int, cq: int, side: Side
) -> None:
    counters = Counters(dp, cp, dq, cq)
    found = Balance.from_counters("wallet:U1", "THB", side, counters)
    assert (found.debits_posted, found.credits_posted) == (dp, cp)
    assert (found.debits_pending, found.credits_pending) == (dq, cq)
    assert found.balance == counters.balance(side)
    assert found.available == counters.available(side)
