"""Wallet basics: accounts, entries, a rejection, a retry, a reversal, history, the log.

Run from the repository root: ``python examples/01_basics.py`` (a temporary SQLite file).
"""

import tempfile
from pathlib import Path

from ledger import (
    Accepted,
    Credit,
    Debit,
    Ledger,
    OpenAccount,
    PostEntry,
    RejectCode,
    Rejected,
    Reverse,
    format_amount,
    parse_amount,
)


def thb(text: str) -> int:
    return parse_amount(text, "THB")  # "1,000.00" -> 100_000 satang, exactly or not at all


def wallet(account: str) -> OpenAccount:  # what the issuer owes a customer; never below zero
    return OpenAccount(
        id=f"open-{account}", account=account, type="liability", currency="THB", no_overdraft=True
    )


with tempfile.TemporaryDirectory() as directory:
    path = Path(directory) / "wallet.db"
    with Ledger.open(path) as book:
        for command in [
            OpenAccount(id="open-bank", account="bank:trust", type="asset", currency="THB"),
            OpenAccount(id="open-fees", account="income:fees", type="income", currency="THB"),
            wallet("wallet:alice"),
            wallet("wallet:bob"),
        ]:
            assert isinstance(book.submit(command), Accepted)

        # Alice tops up 500.00 by bank transfer: cash at the bank up, what we owe her up.
        top_up = PostEntry(
            id="topup-1",
            kind="topup",
            postings=[Debit("bank:trust", thb("500.00")), Credit("wallet:alice", thb("500.00"))],
        )
        first = book.submit(top_up)
        assert isinstance(first, Accepted)

        # Alice sends Bob 120.00 and pays a 2.00 fee: one entry, three legs.
        legs = [Debit("wallet:alice", thb("122.00")), Credit("wallet:bob", thb("120.00"))]
        legs.append(Credit("income:fees", thb("2.00")))
        p2p = book.submit(PostEntry(id="p2p-1", kind="p2p", postings=legs))
        assert isinstance(p2p, Accepted)

        # Bob tries to send 1,000.00 he does not have: a value comes back, nothing is written.
        legs = [Debit("wallet:bob", thb("1,000.00")), Credit("wallet:alice", thb("1,000.00"))]
        over = book.submit(PostEntry(id="p2p-2", kind="p2p", postings=legs))
        assert isinstance(over, Rejected) and over.code is RejectCode.INSUFFICIENT_FUNDS
        assert book.head()[0] == p2p.seq
        print("rejected:", over.code, "-", over.detail)

        # The client retries the top-up after a timeout: the first result, no second posting.
        assert book.submit(top_up) == Accepted("topup-1", first.seq, replayed=True)

        # Support reverses the transfer; history as of the transfer's seq still shows it.
        assert isinstance(book.submit(Reverse(id="rev-1", entry_id="p2p-1")), Accepted)
        assert book.balance("wallet:bob", as_of=p2p.seq).balance == thb("120.00")
        assert book.balance("wallet:bob").balance == 0
        assert book.balance("wallet:alice").balance == thb("500.00")
        for b in book.balances():
            print(f"{b.account:<13} {format_amount(b.balance, b.currency):>8} {b.currency}")
        before, head = book.balances(), book.head()

    with Ledger.open(path) as book:  # reopened from the file: the same balances, the same head
        assert book.balances() == before and book.head() == head
        for rec in book.events():
            print(f"{rec.seq:>2} {rec.type:<15} {rec.stream:<22} {rec.hash[:16]}")
