"""The activity report: what an e-money issuer's periodic return counts.

Over Monday and Tuesday customers top up through four channels, pay a cafe and a bill,
send money to each other, get a refund and cash out; compliance moves one wallet to a
higher KYC tier. The report counts and sums the transactions of the two business days
(Bangkok) by type and top-up channel, and the wallets opened by Tuesday's end: all of
them, those that made a transaction, by tier as it stood then, and by wallet type.
What happens on Wednesday is in no figure.

Run from the repository root: ``python examples/07_activity.py`` (a temporary SQLite
file, an injected clock, so the output is the same on every run).
"""

import tempfile
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ledger import (
    Accepted,
    AssignTier,
    Command,
    DefineTier,
    Ledger,
    Pay,
    PayBill,
    Refund,
    SettleAgent,
    TopUp,
    Transfer,
    Withdraw,
    parse_amount,
)
from ledger.testing.wallet import ManualClock
from projections.reports.activity import AccountsRow, activity
from projections.runner import Runner

BANGKOK = ZoneInfo("Asia/Bangkok")
MONDAY, TUESDAY, WEDNESDAY = date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)


def thb(text: str) -> int:
    return parse_amount(text, "THB")


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BANGKOK)


def tier(name: str, cap: str) -> DefineTier:
    return DefineTier(
        id=f"tier-{name}",
        tier=name,
        max_balance_minor=thb(cap),
        per_transaction_max_minor=None,
        daily_outflow_max_minor=thb(cap),
        monthly_outflow_max_minor=None,
    )


with tempfile.TemporaryDirectory() as tmp:
    clock = ManualClock(at(MONDAY, 8))
    with Ledger.open(Path(tmp) / "wallet.db", clock=clock) as book, Runner(book) as runner:
        chart = book.chart
        book.open_chart()
        shop = chart.agent("7eleven-0042")
        story: list[tuple[datetime, Command]] = [
            (at(MONDAY, 8), chart.open_agent("7eleven-0042")),
            (at(MONDAY, 8), chart.open_merchant("cafe-ari")),
            (at(MONDAY, 8), chart.open_biller("MEA")),
            (at(MONDAY, 8), chart.open_wallet("wallet:ploy")),
            (at(MONDAY, 8), chart.open_wallet("wallet:nok")),
            (at(MONDAY, 8), chart.open_wallet("wallet:cafe-ari", wallet_type="merchant")),
            (at(MONDAY, 8), chart.open_wallet("wallet:agent-somchai", wallet_type="agent")),
            (at(MONDAY, 8), tier("basic", "50,000")),
            (at(MONDAY, 8), tier("plus", "200,000")),
            (at(MONDAY, 8), AssignTier(id="tier-ploy", wallet="wallet:ploy", tier="basic")),
            (
                at(MONDAY, 9),
                TopUp(id="t1", wallet="wallet:ploy", amount_minor=thb("5,000"), channel="bank"),
            ),
            (
                at(MONDAY, 10),
                TopUp(
                    id="t2",
                    wallet="wallet:nok",
                    amount_minor=thb("2,000"),
                    fee_minor=thb("20"),
                    channel="card",
                ),
            ),
            (
                at(MONDAY, 11),
                TopUp(
                    id="t3",
                    wallet="wallet:nok",
                    amount_minor=thb("1,500"),
                    fee_minor=thb("10"),
                    channel="counter",
                    funding_account=shop,
                ),
            ),
            (
                at(MONDAY, 12),
                TopUp(
                    id="t4",
                    wallet="wallet:agent-somchai",
                    amount_minor=thb("10,000"),
                    channel="promptpay",
                ),
            ),
            (
                at(MONDAY, 13),
                Pay(
                    id="pay-1",
                    wallet="wallet:ploy",
                    merchant="cafe-ari",
                    amount_minor=thb("320"),
                    fee_minor=thb("4.80"),
                ),
            ),
            (
                at(MONDAY, 14),
                Transfer(
                    id="p2p-1",
                    source="wallet:ploy",
                    destination="wallet:nok",
                    amount_minor=thb("250"),
                ),
            ),
            (
                at(MONDAY, 15),
                PayBill(
                    id="bill-1",
                    wallet="wallet:nok",
                    biller="MEA",
                    bill_reference="E-2611-0042",
                    amount_minor=thb("890"),
                ),
            ),
            (at(TUESDAY, 8), chart.open_wallet("wallet:mai")),
            (
                at(TUESDAY, 9),
                TopUp(id="t5", wallet="wallet:mai", amount_minor=thb("800"), channel="promptpay"),
            ),
            (
                at(TUESDAY, 10),
                Pay(
                    id="pay-2",
                    wallet="wallet:mai",
                    merchant="cafe-ari",
                    amount_minor=thb("120"),
                    fee_minor=thb("1.80"),
                ),
            ),
            (at(TUESDAY, 11), Refund(id="refund-1", payment="pay-1", amount_minor=thb("20"))),
            (
                at(TUESDAY, 12),
                Withdraw(
                    id="w1", wallet="wallet:nok", amount_minor=thb("1,000"), fee_minor=thb("10")
                ),
            ),
            (at(TUESDAY, 13), AssignTier(id="tier-nok", wallet="wallet:nok", tier="plus")),
            (
                at(TUESDAY, 18),
                SettleAgent(id="s1", agent="7eleven-0042", amount_minor=thb("1,500")),
            ),
            # Wednesday: after the period
            (
                at(WEDNESDAY, 9),
                TopUp(id="t6", wallet="wallet:ploy", amount_minor=thb("100"), channel="bank"),
            ),
            (at(WEDNESDAY, 9), chart.open_wallet("wallet:late")),
        ]
        for when, command in story:
            clock.now = when
            assert isinstance(book.submit(command), Accepted), command

        report = activity(runner, MONDAY, TUESDAY)
        print(report.to_table(), end="")
        by_type = {(r.category, r.channel): r for r in report.rows("transactions")}
        # 5,000 + 2,000 + 1,500 + 10,000 + 800; the fees 20 + 10
        top_ups = by_type["top_up", None]
        assert (top_ups.count, top_ups.amount_minor) == (5, thb("19,300"))
        assert top_ups.fee_minor == thb("30")
        assert by_type["refund", None].fee_minor == thb("0.30")  # 4.80 x 20 / 320
        # five wallets by Tuesday's end (late opened on Wednesday); the cafe's did nothing
        assert report.rows("accounts")[0] == AccountsRow("all", None, 5, 4)
