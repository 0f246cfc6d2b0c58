"""The same ledger on PostgreSQL: a wallet day written through ``Ledger.open(DSN)``, a
SQLite ledger migrated next to it with ``satang migrate`` (same chain, same head hash),
and the read models folded from PostgreSQL into a local SQLite file.

Run from the repository root: ``python examples/12_postgres.py``. It uses the server in
``$SATANG_DSN`` (a new schema in it), or starts a throwaway cluster of its own from the
distribution's PostgreSQL binaries (``apt-get install postgresql``).
"""

import contextlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ledger import Accepted, Ledger, Pay, TopUp, Transfer, format_amount
from ledger.audit import verify
from ledger.bench import pgcluster
from projections.runner import Runner


def day(book: Ledger) -> None:
    chart = book.chart
    book.open_chart()
    book.submit_many([chart.open_wallet("wallet:U1"), chart.open_wallet("wallet:U2"),
                      chart.open_merchant("M1")])  # fmt: skip
    results = book.submit_many(
        [
            TopUp(id="t1", wallet="wallet:U1", amount_minor=100_000, channel="promptpay"),
            Pay(id="p1", wallet="wallet:U1", merchant="M1", amount_minor=25_000, fee_minor=375),
            Transfer(id="x1", source="wallet:U1", destination="wallet:U2", amount_minor=10_000),
        ]
    )
    assert all(isinstance(r, Accepted) for r in results), results


with contextlib.ExitStack() as stack:
    server = os.environ.get("SATANG_DSN") or stack.enter_context(pgcluster.cluster(port=5442))
    work = Path(stack.enter_context(tempfile.TemporaryDirectory()))

    with Ledger.open(pgcluster.fresh_schema(server)) as book:  # written on PostgreSQL
        day(book)
        print(
            "on PostgreSQL: wallet:U1 holds",
            format_amount(book.balance("wallet:U1").balance, "THB"),
        )
        with Runner(book, work / "reads.db") as reads:  # the read models stay in SQLite
            print("read models folded from PostgreSQL:", reads.catch_up(), "events")
        assert verify(book).ok

    lite = work / "wallet.db"  # the same day in SQLite, then migrated
    with Ledger.open(lite) as book:
        day(book)
        sqlite_head = book.head()
    target = pgcluster.fresh_schema(server)
    migrated = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ledger.cli import main; main()",
            "migrate",
            "--from",
            str(lite),
            "--to",
            target,
        ],
        capture_output=True,
        text=True,
    )
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    with Ledger.open(target) as book:
        assert book.head() == sqlite_head
    print("migrated: same head on both,", f"{sqlite_head[0]}:{sqlite_head[1][:12]}…")
