"""Closing November: a late bank credit booked into the month with ``backdated=True``, the
month closed with ``ClosePeriod``, and what the ledger then refuses — a late entry into
November, and a server whose clock has fallen behind the close.

Run from the repository root: ``python examples/11_closing_the_month.py`` (in memory).
"""

from datetime import UTC, datetime, timedelta

import attrs

from ledger import (
    Accepted,
    ClosePeriod,
    Credit,
    Debit,
    Ledger,
    OpenAccount,
    PostEntry,
    RejectCode,
    Rejected,
    format_amount,
)
from ledger.times import ManualClock

clock = ManualClock(datetime(2026, 12, 1, 2, 0, tzinfo=UTC))  # 09:00 in Bangkok
end_of_november = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)  # midnight in Bangkok

with Ledger.open(":memory:", clock=clock) as book:
    book.submit_many(
        [
            OpenAccount(id="o-bank", account="bank:trust", type="asset", currency="THB"),
            OpenAccount(
                id="o-u1", account="wallet:U1", type="liability", currency="THB", no_overdraft=True
            ),
        ]
    )
    legs = [Debit("bank:trust", 50_000), Credit("wallet:U1", 50_000)]
    late = PostEntry(
        id="bank-2026-11-30-17", kind="top_up", postings=legs,
        effective_at=end_of_november - timedelta(hours=1),
    )  # fmt: skip
    refused = book.submit(late)
    assert isinstance(refused, Rejected) and refused.code == RejectCode.EFFECTIVE_AT_INVALID
    print("unflagged:", refused.code)
    # said so, as a new command (the refused id keeps its answer): accepted
    booked = book.submit(attrs.evolve(late, id=f"{late.id}-backdated", backdated=True))
    assert isinstance(booked, Accepted)
    november = book.balance("wallet:U1", as_of=end_of_november).balance
    print("November's closing balance of wallet:U1:", format_amount(november, "THB"))

    close = book.submit(ClosePeriod(id="close-2026-11", through=end_of_november, memo="Nov"))
    assert isinstance(close, Accepted)
    print("closed through", end_of_november.isoformat())

    again = book.submit(
        PostEntry(
            id="bank-2026-11-30-18", kind="top_up", postings=legs, backdated=True,
            effective_at=end_of_november - timedelta(minutes=30),
        )
    )  # fmt: skip
    assert isinstance(again, Rejected) and again.code == RejectCode.PERIOD_CLOSED
    print("late for November:", again.code)

    clock.now = end_of_november - timedelta(hours=3)  # this server's clock fell behind
    behind = book.submit(PostEntry(id="t-behind", kind="top_up", postings=legs))
    assert isinstance(behind, Rejected) and behind.code == RejectCode.PERIOD_CLOSED
    print("a clock behind the close:", behind.code)

    clock.now = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)  # set right again
    assert isinstance(book.submit(PostEntry(id="t-dec", kind="top_up", postings=legs)), Accepted)
    assert book.balance("wallet:U1", as_of=end_of_november).balance == november  # for ever
    print("November still closes at", format_amount(november, "THB"))
