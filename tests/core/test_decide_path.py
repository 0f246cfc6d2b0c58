"""The lean decide path gives the answers the checked one gives: a leg a flow builds
without re-running the validators equals the leg a caller builds, and the id check that
remembers its answers answers as the pattern does."""

from __future__ import annotations

import enum
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ledger import (
    Accepted,
    Credit,
    Debit,
    FreezeAccount,
    Ledger,
    OpenAccount,
    PostEntry,
    RejectCode,
    Rejected,
)
from ledger.accounts import ID_MAX_LENGTH, AccountStatus, Counters, is_valid_id, move
from ledger.audit import verify
from ledger.events import Posting
from ledger.flows.base import built, legs, mirror

_PATTERN = re.compile(r"[A-Za-z0-9:_.\-]{1,128}")
ids = st.text(alphabet="ab:_.-Z9 \n\x00é", min_size=0, max_size=ID_MAX_LENGTH + 2)


@given(
    side=st.sampled_from([Debit, Credit]),
    account=ids,
    amount=st.integers(min_value=-(2**64), max_value=2**64),
    currency=st.none() | st.sampled_from(["THB", "USD"]),
)
def test_a_built_leg_is_the_leg_a_caller_builds(
    side: type[Debit] | type[Credit], account: str, amount: int, currency: str | None
) -> None:
    leg = built(side, account, amount, currency)
    same = side(account, amount, currency)
    assert leg == same and hash(leg) == hash(same) and repr(leg) == repr(same)
    assert type(leg) is side and leg.side == same.side


def test_legs_drop_nothing_but_zero_amounts_and_mirror_undoes() -> None:
    made = legs((Debit, "a", 5, "THB"), (Credit, "b", 0, "THB"), (Credit, "c", 5, "THB"))
    assert made == [Debit("a", 5, "THB"), Credit("c", 5, "THB")]
    postings = [Posting(account="a", side="debit", amount_minor=5, currency="THB")]
    assert mirror(postings) == [Credit("a", 5, "THB")]


@given(ids)
def test_the_id_check_answers_as_the_pattern_does_every_time(value: str) -> None:
    expected = _PATTERN.fullmatch(value) is not None
    assert is_valid_id(value) is expected
    assert is_valid_id(value) is expected  # answered again, from what it remembered
    assert is_valid_id(value, remember=False) is expected


def test_the_id_check_on_what_is_not_a_plain_str() -> None:
    class Id(str):
        pass

    assert is_valid_id(Id("wallet:U1")) and not is_valid_id(Id("no spaces"))
    assert not is_valid_id(None) and not is_valid_id(7) and not is_valid_id(b"wallet:U1")
    assert not is_valid_id("a" * (ID_MAX_LENGTH + 1)) and is_valid_id("a" * ID_MAX_LENGTH)


class _Wallet(enum.StrEnum):
    """Account ids a caller keeps as a StrEnum: str subclasses equal to the plain ids."""

    ALICE = "wallet:alice"


def test_an_id_given_as_a_str_subclass_reads_the_state_this_batch_left() -> None:
    """The write-through cache answers a str subclass as it answers the plain id, so a
    later command of the batch sees what an earlier one did to the account (no
    overdraft, no counters lost), and the ledger verifies."""
    with Ledger.open(":memory:") as book:
        book.submit_many(
            [
                OpenAccount(id="o1", account="bank:trust", type="asset", currency="THB"),
                OpenAccount(
                    id="o2",
                    account="wallet:alice",
                    type="liability",
                    currency="THB",
                    no_overdraft=True,
                ),
                PostEntry(
                    id="fund",
                    kind="k",
                    postings=[Debit("bank:trust", 100), Credit("wallet:alice", 100)],
                ),
            ]
        )
        spend = [
            PostEntry(
                id=f"spend-{n}",
                kind="k",
                postings=[Debit(account, 100), Credit("bank:trust", 100)],
            )
            for n, account in enumerate(["wallet:alice", _Wallet.ALICE])
        ]
        first, second = book.submit_many(spend)
        assert isinstance(first, Accepted)
        assert isinstance(second, Rejected) and second.code is RejectCode.INSUFFICIENT_FUNDS
        results = book.submit_many(
            [
                PostEntry(
                    id="top-up",
                    kind="k",
                    postings=[Debit("bank:trust", 50), Credit("wallet:alice", 50)],
                ),
                FreezeAccount(id="freeze", account=_Wallet.ALICE),
            ]
        )
        assert all(isinstance(r, Accepted) for r in results), results
        assert book.balance("wallet:alice").balance == 50
        assert book.account("wallet:alice").status is AccountStatus.FROZEN
        report = verify(book)
        assert report.ok, report.findings


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["debit", "credit"]),
            st.integers(1, 10**12),
            st.sampled_from(["posted", "pending", "released"]),
        ),
        max_size=20,
    )
)
def test_moving_counters_in_place_is_adding_them_leg_by_leg(
    legs_: list[tuple[Any, int, Any]],
) -> None:
    """``move`` (what every fold of the log and the inline projection call) is
    ``Counters.add``, leg by leg."""
    counters, in_place = Counters(), [0, 0, 0, 0]
    for side, amount, phase in legs_:
        counters = counters.add(side, amount, phase)
        move(in_place, side, amount, phase)
        assert Counters(*in_place) == counters
