"""Read models: a wallet's statement in log order and by value date, the trial balance
as of a business day, and a rebuild in a second database that matches to the byte.

A customer tops up on Monday and pays a merchant on Tuesday. On Tuesday the back office
also books a 50.00 goodwill credit that belongs to Monday (backdated). The statement in
log order shows it last; by effective time it sits on Monday, and Monday's trial balance,
asked again after the correction, includes it.

Run from the repository root: ``python examples/05_projections.py`` (a temporary SQLite
file, an injected clock, so the output is the same on every run).
"""

import tempfile
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ledger import (
    Accepted,
    Credit,
    Debit,
    Ledger,
    OpenAccount,
    Pay,
    PostEntry,
    TopUp,
    format_amount,
)
from ledger.testing.wallet import ManualClock
from projections.runner import Runner
from projections.statements import StatementPage, statement, trial_balance

BANGKOK = ZoneInfo("Asia/Bangkok")
MONDAY, TUESDAY = date(2026, 11, 30), date(2026, 12, 1)


def show(page: StatementPage) -> None:
    print(f"statement of {page.account}, {page.order} order:")
    for line in page.lines:
        when = line.effective_at.astimezone(BANGKOK).strftime("%a %H:%M")
        change = format_amount(line.signed_minor, "THB")
        after = format_amount(line.balance_minor, "THB")
        print(f"  seq {line.seq:>2}  {when}  {line.type:<16} {change:>9}  -> {after:>8}")


with tempfile.TemporaryDirectory() as tmp:
    clock = ManualClock(datetime(2026, 11, 30, 9, 0, tzinfo=BANGKOK))
    with Ledger.open(Path(tmp) / "wallet.db", clock=clock) as book:
        chart = book.chart
        book.open_chart()
        book.submit_many(
            [
                chart.open_wallet("wallet:U1"),
                chart.open_merchant("M1"),
                OpenAccount(
                    id="open:goodwill", account="expense:goodwill", type="expense", currency="THB"
                ),
            ]
        )
        book.submit(
            TopUp(
                id="t1",
                wallet="wallet:U1",
                amount_minor=500_00,
                channel="bank",
                funding_account="bank:trust",
            )
        )
        clock.advance(timedelta(days=1))  # Tuesday 09:00
        book.submit(
            Pay(id="p1", wallet="wallet:U1", merchant="M1", amount_minor=120_00, fee_minor=2_40)
        )
        clock.advance(timedelta(hours=2))
        goodwill = PostEntry(
            id="gw1",
            kind="goodwill",
            memo="Monday's failed top-up, made good",
            effective_at=datetime(2026, 11, 30, 18, 0, tzinfo=BANGKOK),
            backdated=True,
            postings=[Debit("expense:goodwill", 50_00), Credit("wallet:U1", 50_00)],
        )
        assert isinstance(book.submit(goodwill), Accepted)

        with Runner(book) as runner:  # the read models live in the ledger's own file
            runner.catch_up()
            show(statement(runner, "wallet:U1"))
            show(statement(runner, "wallet:U1", order="effective"))

            monday = trial_balance(runner, MONDAY, runner.timezone)
            print(f"trial balance at the end of {MONDAY} (Asia/Bangkok):")
            for row in monday.rows:
                print(
                    f"  {row.account:<20} {format_amount(row.debit_minor, 'THB'):>9}"
                    f" {format_amount(row.credit_minor, 'THB'):>9}"
                )
            debits, credits = monday.totals["THB"]
            total_dr, total_cr = format_amount(debits, "THB"), format_amount(credits, "THB")
            print(f"  {'total':<20} {total_dr:>9} {total_cr:>9}")
            assert monday.balanced

            rebuilt = runner.rebuild_into(Path(tmp) / "rebuilt.db")
            print(f"incremental {runner.digest()[:16]}  rebuilt {rebuilt.digest()[:16]}")
            assert rebuilt.dump() == runner.dump()
            rebuilt.close()
