"""The folds beneath flows, store and read models (ledger.state): one account fold that
the store, the statements read model and the audit all follow, and the rules each
hold and order stream keeps, named at the event that breaks them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from msgspec.structs import replace as struct_replace

from ledger import AssignTier, CloseAccount, DefineTier, FreezeAccount, Ledger, UnfreezeAccount
from ledger.accounts import AccountStatus
from ledger.errors import FoldError, StoreCorrupt
from ledger.events import (
    EVENT_TYPES,
    AccountOpened,
    CodBuyerRefunded,
    CodOrderDelivered,
    CodOrderFailed,
    CodOrderPaidOut,
    CodOrderReleased,
    CodOrderRemitted,
    HoldCaptured,
    HoldExpired,
    HoldPlaced,
    HoldReleased,
    MoneyEvent,
    Posting,
)
from ledger.state.accounts import ACCOUNT_EVENTS, CHANGES, AccountsFold
from ledger.state.cod import fold_order
from ledger.state.holds import fold_hold
from projections.runner import Runner
from tests.conftest import assert_accepted

_PLACED = HoldPlaced(
    postings=(),
    hold="H1",
    wallet="wallet:U1",
    destination="merchant:M1:payable",
    amount_minor=1_000,
    expires_at=datetime(2030, 1, 1, tzinfo=UTC),
)


def test_every_account_event_is_folded_by_the_account_fold() -> None:
    """An event about an account (not a posting) that the fold does not know would be
    missed by the store, the statements and the audit alike."""
    about_accounts = {
        t
        for t in EVENT_TYPES.values()
        if "account" in t.__struct_fields__ and not issubclass(t, MoneyEvent)
    }
    assert about_accounts == ACCOUNT_EVENTS
    assert set(CHANGES) == ACCOUNT_EVENTS - {AccountOpened}


def test_the_store_the_statements_and_the_fold_see_one_account(book: Ledger) -> None:
    """Every account event, then the account as the store keeps it inline, as the
    statements read model keeps it, and as the fold of the whole log makes it."""
    chart = book.chart
    book.open_chart()
    for command in (
        chart.open_wallet("wallet:A"),
        chart.open_wallet("wallet:B"),
        DefineTier(
            id="t",
            tier="gold",
            max_balance_minor=None,
            per_transaction_max_minor=None,
            daily_outflow_max_minor=None,
            monthly_outflow_max_minor=None,
        ),
        AssignTier(id="a", wallet="wallet:A", tier="gold"),
        FreezeAccount(id="f", account="wallet:A", reason="kyc"),
        FreezeAccount(id="f2", account="wallet:B", reason="kyc"),
        UnfreezeAccount(id="u", account="wallet:B", reason="cleared"),
        CloseAccount(id="c", account="wallet:B"),
    ):
        assert_accepted(book, command)
    fold = AccountsFold()
    for record in book.events():
        fold.apply(record.event, record.seq)
    folded = {a: account for a, (account, _) in fold.accounts().items()}
    assert folded["wallet:A"].status is AccountStatus.FROZEN and folded["wallet:A"].tier == "gold"
    assert folded["wallet:B"].status is AccountStatus.CLOSED and folded["wallet:B"].tier is None
    with Runner(book, ":memory:") as runner:
        runner.catch_up()
        rows = {
            account: (status, tier)
            for account, status, tier in runner.db.execute(
                "SELECT account, status, tier FROM proj_accounts"
            )
        }
    for account_id, account in folded.items():
        assert book.account(account_id) == account
        assert rows[account_id] == (account.status.value, account.tier)


def test_a_posting_to_an_account_never_opened_does_not_fold() -> None:
    fold = AccountsFold()
    leg = Posting(account="wallet:X", side="debit", amount_minor=1, currency="THB")
    with pytest.raises(FoldError, match="never opened") as caught:
        fold.apply(struct_replace(_PLACED, postings=(leg,)), seq=7)
    assert isinstance(caught.value, StoreCorrupt) and caught.value.seq == 7


def test_a_hold_folds_by_its_rules() -> None:
    assert fold_hold("H1", []) is None
    assert fold_hold("H1", [_PLACED]).pending  # type: ignore[union-attr]
    captured = HoldCaptured(postings=(), hold="H1", amount_minor=600, released_minor=400)
    hold = fold_hold("H1", [_PLACED, captured])
    assert hold is not None and hold.ended == "captured" and not hold.pending
    released = HoldReleased(postings=(), hold="H1", amount_minor=1_000)
    expired = HoldExpired(postings=(), hold="H1", amount_minor=1_000)
    short = HoldCaptured(postings=(), hold="H1", amount_minor=600, released_minor=300)
    for events, index in (
        ([released], 0),
        ([_PLACED, released, expired], 2),
        ([_PLACED, _PLACED], 1),
        ([_PLACED, short], 1),
    ):
        with pytest.raises(FoldError) as caught:
            fold_hold("H1", events)
        assert caught.value.index == index, events


def test_an_order_folds_by_its_rules() -> None:
    delivered = CodOrderDelivered(
        postings=(),
        order="O1",
        courier="C1",
        merchant="M1",
        amount_minor=10_000,
        commission_minor=500,
        vat_minor=33,
        shipping_minor=1_000,
        releasable_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    remitted = CodOrderRemitted(order="O1", remittance="R1")
    released = CodOrderReleased(postings=(), order="O1", merchant="M1", amount_minor=8_500)
    paid = CodOrderPaidOut(order="O1", payout="P1")
    refunded = CodBuyerRefunded(postings=(), order="O1", amount_minor=9_000)
    assert refunded.order == "O1"
    order = fold_order("O1", [delivered, remitted, released, paid])
    assert order is not None and order.stage == "paid_out" and order.remitted
    assert fold_order("O1", [CodOrderFailed(postings=(), order="O1")]).status == "failed"  # type: ignore[union-attr]
    for events, index in (
        ([remitted], 0),
        ([delivered, delivered], 1),
        ([delivered, released, released], 2),
        ([delivered, paid], 1),
        ([delivered, released, paid, released], 3),
        ([delivered, refunded, released, paid, paid], 4),
    ):
        with pytest.raises(FoldError) as caught:
            fold_order("O1", events)
        assert caught.value.index == index, events
