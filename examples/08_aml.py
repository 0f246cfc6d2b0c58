"""The AML report: transactions at or above the reporting thresholds, customer-days that
reach a threshold only in pieces below it, and every customer's daily totals.

On Monday Kan pays 2,100,000.00 in cash in at an agent and pays a 720,000.00 bill from
the wallet: each is over a threshold. Lek pays cash in at three shop counters, each
piece just under the 100,000.00 of "electronic transfers involving cash", together well
over it: a structuring candidate. Ploy's 150,000.00 arrives by bank transfer, not cash,
so no cash threshold applies. Nok pays 60,000.00 in at 23:30 and again at 00:30: two
business days in Bangkok, so the pieces are not added up.

Run from the repository root: ``python examples/08_aml.py`` (a temporary SQLite file, an
injected clock, so the output is the same on every run).
"""

import tempfile
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ledger import Accepted, Command, Ledger, PayBill, TopUp, parse_amount
from ledger.testing.wallet import ManualClock
from projections.reports.aml import StructuringRow, aml
from projections.runner import Runner

BANGKOK = ZoneInfo("Asia/Bangkok")
MONDAY, TUESDAY = date(2026, 11, 30), date(2026, 12, 1)


def thb(text: str) -> int:
    return parse_amount(text, "THB")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BANGKOK)


def cash(id: str, wallet: str, amount: str, agent: str, channel: str = "counter") -> TopUp:
    return TopUp(
        id=id,
        wallet=wallet,
        amount_minor=thb(amount),
        channel=channel,
        funding_account=f"agent:{agent}:receivable",
    )


with tempfile.TemporaryDirectory() as tmp:
    clock = ManualClock(at(MONDAY, 8))
    with Ledger.open(Path(tmp) / "wallet.db", clock=clock) as book, Runner(book) as runner:
        chart = book.chart
        book.open_chart()
        story: list[tuple[datetime, Command]] = [
            *((at(MONDAY, 8), chart.open_agent(a)) for a in ("7eleven-0042", "7eleven-0107")),
            (at(MONDAY, 8), chart.open_agent("somchai")),
            (at(MONDAY, 8), chart.open_biller("MEA")),
            *((at(MONDAY, 8), chart.open_wallet(f"wallet:{n}")) for n in ("kan", "lek", "nok")),
            (at(MONDAY, 8), chart.open_wallet("wallet:ploy")),
            (at(MONDAY, 9), cash("t1", "wallet:kan", "2,100,000", "somchai", channel="agent")),
            (
                at(MONDAY, 10),
                PayBill(
                    id="bill-1",
                    wallet="wallet:kan",
                    biller="MEA",
                    bill_reference="E-2611-9001",
                    amount_minor=thb("720,000"),
                ),
            ),
            (at(MONDAY, 11), cash("t2", "wallet:lek", "95,000", "7eleven-0042")),
            (at(MONDAY, 13), cash("t3", "wallet:lek", "98,000", "7eleven-0107")),
            (at(MONDAY, 16), cash("t4", "wallet:lek", "99,500", "7eleven-0042")),
            (
                at(MONDAY, 17),
                TopUp(id="t5", wallet="wallet:ploy", amount_minor=thb("150,000"), channel="bank"),
            ),
            (at(MONDAY, 23, 30), cash("t6", "wallet:nok", "60,000", "7eleven-0042")),
            (at(TUESDAY, 0, 30), cash("t7", "wallet:nok", "60,000", "7eleven-0042")),
        ]
        for when, command in story:
            clock.now = when
            assert isinstance(book.submit(command), Accepted), command

        report = aml(runner, MONDAY, TUESDAY)
        print(report.to_table(), end="")
        reported = [(r.rule, r.party, r.amount_minor) for r in report.rows("threshold")]
        assert reported == [
            ("cash_transaction", "wallet:kan", thb("2,100,000")),
            ("electronic_transfer_cash", "wallet:kan", thb("2,100,000")),
            ("cash_bill_payment", "wallet:kan", thb("720,000")),
        ]
        # 95,000 + 98,000 + 99,500; Nok's two 60,000s fall on two business days
        assert report.rows("structuring") == (
            StructuringRow(
                "electronic_transfer_cash", "wallet:lek", MONDAY, 3, thb("292,500"), thb("99,500")
            ),
        )
        assert len(report.rows("daily")) == 5  # kan, lek, nok (twice), ploy
