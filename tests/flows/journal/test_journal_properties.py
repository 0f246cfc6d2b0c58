"""Entries drawn by ``ledger.testing.balanced_entries``: accepted, stored balanced, refoldable."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import Accepted, Ledger, OpenAccount, PostEntry
from ledger.audit import verify
from ledger.events import MoneyEvent
from ledger.testing import balanced_entries
from projections import rebuild, totals_by_currency

ACCOUNTS = [
    ("asset:a", "THB"),
    ("asset:b", "THB"),
    ("liability:c", "THB"),
    ("asset:d", "USD"),
    ("income:e", "USD"),
    ("asset:f", "JPY"),
]


def _book() -> Ledger:
    book = Ledger.open(":memory:")
    book.submit_many(
        [
            OpenAccount(id=f"o{i}", account=name, type=name.split(":")[0], currency=code)
            for i, (name, code) in enumerate(ACCOUNTS)
        ]
    )
    return book


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(balanced_entries(ACCOUNTS), min_size=1, max_size=15, unique_by=lambda e: e.id))
def test_balanced_entries_are_accepted_and_stored_balanced(entries: list[PostEntry]) -> None:
    with _book() as book:
        results = book.submit_many(entries)
        assert all(isinstance(r, Accepted) for r in results), results
        for rec in book.events(after=len(ACCOUNTS)):
            assert isinstance(rec.event, MoneyEvent)
            net: dict[str, int] = {}
            for p in rec.event.postings:
                net[p.currency] = net.get(p.currency, 0) + (
                    p.amount_minor if p.side == "debit" else -p.amount_minor
                )
            assert set(net.values()) == {0}
        inline = {b.account: b for b in book.balances()}
        assert rebuild(book.events()) == inline
        assert set(totals_by_currency(inline.values()).values()) == {0}
        assert verify(book).ok


@settings(max_examples=25, deadline=None)
@given(st.lists(balanced_entries(ACCOUNTS), min_size=2, max_size=10, unique_by=lambda e: e.id))
def test_balance_as_of_every_seq_equals_a_refold_up_to_it(entries: list[PostEntry]) -> None:
    with _book() as book:
        book.submit_many(entries)
        head = book.head()[0]
        for seq in range(len(ACCOUNTS), head + 1):
            folded = rebuild(book.events(), until_seq=seq)
            for account, _ in ACCOUNTS:
                assert book.balance(account, as_of=seq) == folded[account]
