"""Write a frozen ledger: a small file of every event type, kept in the repo for ever.

Each ``tests/frozen/satang-VERSION.db`` was written by that version of the package and is
never rewritten; the ``.json`` beside it records what that code made of it (the store's
schema version, every event type with its schema, the head, and each read model's version
and digest). ``tests/test_frozen.py`` checks that today's code still opens, verifies and
rebuilds each one the same way. When an event's ``SCHEMA`` moves on, a new event type is
added, or a store migration is appended, write a new one (the old ones stay), named by
the version and, before that version is released, by what it added:

    python -m tests.frozen.build tests/frozen/satang-0.2.0.db

The file is the demo's story at a small size, then a few days more for the events the demo
does not write: an exchange into a US-dollar wallet, a freeze lifted, a wallet closed, an
entry reversed, a loan restructured, another written off and part of it recovered, an
entry backdated and a period closed.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ledger import (
    Accepted,
    CloseAccount,
    ClosePeriod,
    Command,
    Credit,
    Debit,
    EraseSubject,
    Exchange,
    Ledger,
    MasterKey,
    Pay,
    PostEntry,
    RecoverLoan,
    RestructureLoan,
    Reverse,
    TopUp,
    Transfer,
    UnfreezeAccount,
    Withdraw,
    WriteOffLoan,
)
from ledger.demo import DemoSize, months_before, run_demo
from ledger.events import EVENT_TYPES
from ledger.store.sqlite import SCHEMA_VERSION
from ledger.times import ManualClock
from projections.base import digest
from projections.runner import Runner

DAY = date(2026, 12, 1)
BANGKOK = ZoneInfo("Asia/Bangkok")
MASTER_KEY = MasterKey(bytes(range(32)))
"""The master key the frozen files' subjects' data keys are wrapped with (a test key)."""
SIZE = DemoSize(customers=40, merchants=3, agents=3, couriers=2, cod_orders_per_day=10, loans=20)


def _accept(book: Ledger, *commands: Command) -> None:
    for command, result in zip(commands, book.submit_many(commands), strict=True):
        assert isinstance(result, Accepted), (command, result)


def build(path: Path) -> dict[str, object]:
    """Write the frozen ledger at ``path`` and return its manifest."""
    run_demo(path, seed=1, size=SIZE, day=DAY)
    clock = ManualClock(datetime(2026, 12, 2, 9, tzinfo=BANGKOK))
    with Ledger.open(path, clock=clock, create=False, master_key=MASTER_KEY) as book:
        chart = book.chart
        opened = book.open_chart(["USD"], cod=True, loans=True)  # adds the USD position
        assert all(isinstance(r, Accepted) or r.code == "account_exists" for r in opened)
        stuck = [s for s in book.loans() if s.days_past_due > 60]
        late = [s for s in book.loans() if 0 < s.days_past_due <= 60]
        _accept(
            book,
            chart.open_wallet("wallet:C00001-usd", currency="USD"),
            TopUp(id="frozen-top-up", wallet="wallet:C00001", amount_minor=500_000, channel="bank"),
            Exchange(
                id="frozen-fx",
                source="wallet:C00001",
                destination="wallet:C00001-usd",
                sell_amount_minor=350_000,
                buy_amount_minor=10_000,
            ),
            UnfreezeAccount(id="frozen-unfreeze", account="wallet:C00003", reason="cleared"),
            PostEntry(
                id="frozen-adjustment",
                kind="adjustment",
                postings=[Debit(chart.bank_trust, 1_000), Credit("wallet:C00004", 1_000)],
                memo="booked to the wrong wallet",
            ),
            Reverse(id="frozen-reverse", entry_id="frozen-adjustment", memo="wrong wallet"),
            RestructureLoan(
                id="frozen-restructure",
                loan=late[0].loan,
                installments=3,
                first_due=months_before(date(2026, 12, 2), -1),
            ),
        )
        borrowers = {f"wallet:{s.borrower}" for s in book.loans()}
        wallet = next(
            w
            for w in (f"wallet:C{n:05}" for n in range(5, SIZE.customers + 1))
            if w not in borrowers and book.balance(w).balance == book.balance(w).available
        )
        left = book.balance(wallet).balance
        if left:
            _accept(book, Withdraw(id="frozen-empty", wallet=wallet, amount_minor=left))
        _accept(book, CloseAccount(id="frozen-close", account=wallet))
        # two customers named as subjects, their personal text sealed; one of them leaves
        _accept(
            book,
            chart.open_wallet("wallet:S1", subject="subject-1", metadata={"name": "Frozen One"}),
            chart.open_wallet("wallet:S2", subject="subject-2", metadata={"name": "Frozen Two"}),
            TopUp(id="frozen-s-top-up", wallet="wallet:S1", amount_minor=10_000, channel="bank"),
            Transfer(
                id="frozen-s-transfer",
                source="wallet:S1",
                destination="wallet:S2",
                amount_minor=4_000,
                memo="for the rice, Frozen Two",
            ),
            Pay(
                id="frozen-s-pay",
                wallet="wallet:S2",
                merchant="M001",
                amount_minor=1_000,
                reference="order of Frozen Two",
            ),
            Withdraw(id="frozen-s-empty", wallet="wallet:S2", amount_minor=3_000),
            CloseAccount(id="frozen-s-close", account="wallet:S2"),
        )
        clock.now = datetime(2027, 6, 1, 9, tzinfo=BANGKOK)
        _accept(book, WriteOffLoan(id="frozen-write-off", loan=stuck[0].loan))
        clock.now += timedelta(days=1)
        _accept(
            book,
            RecoverLoan(
                id="frozen-recover", loan=stuck[0].loan, amount_minor=10_000, from_bank=True
            ),
        )
        clock.now += timedelta(days=1)
        _accept(
            book,
            PostEntry(
                id="frozen-backdated",
                kind="adjustment",
                postings=[Debit(chart.bank_trust, 2_000), Credit("wallet:C00004", 2_000)],
                memo="a bank credit of two days ago, booked late",
                effective_at=clock.now - timedelta(days=2),
                backdated=True,
            ),
            ClosePeriod(
                id="frozen-close-period", through=clock.now - timedelta(hours=12), memo="May"
            ),
        )
        clock.now = datetime(2032, 6, 3, 9, tzinfo=BANGKOK)  # the five years kept have run
        _accept(book, EraseSubject(id="frozen-erase", subject="subject-2", reason="REQ-1"))
        with Runner(book) as runner:
            runner.catch_up()
            projections = {
                p.name: {"version": p.version, "digest": digest(runner.db, [p])}
                for p in runner.projections
            }
        seq, head = book.head()
    with sqlite3.connect(path) as conn:
        query = "SELECT DISTINCT type, schema FROM events ORDER BY type, schema"
        stored = [list(row) for row in conn.execute(query)]
    conn.close()
    sqlite3.connect(path, isolation_level=None).execute("VACUUM").connection.close()
    Path(f"{path}-lock").unlink(missing_ok=True)  # the ledger's lock file: none in the repo
    missing = set(EVENT_TYPES) - {type_ for type_, _ in stored}
    assert not missing, f"the frozen ledger lacks {sorted(missing)}"
    return {
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "store_schema": SCHEMA_VERSION,
        "event_schemas": stored,
        "head_seq": seq,
        "head_hash": head,
        "projections": projections,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    path = Path(argv[1])
    manifest = build(path)
    path.with_suffix(".json").write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"{path}: {manifest['head_seq']} events, head {manifest['head_hash']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
