"""The safeguarding report: e-money owed to wallet holders against the cash that backs it.

On Monday customers top up by bank transfer and at a shop counter, an agent keeps a float
wallet, a customer pays a cafe and cashes out; the shop hands over part of the cash it
took. At the end of Monday the trust account and the cash still at the counter cover
every wallet, with the fees and the cafe's payable on top. On Tuesday the cafe is paid
out, and marketing credits a 1,000.00 promotion to a wallet from its expense budget
without moving cash into the trust: the wallets now exceed the cash, and the report says
so loudly.

Run from the repository root: ``python examples/06_safeguarding.py`` (a temporary SQLite
file, an injected clock, so the output is the same on every run).
"""

import tempfile
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ledger import (
    Accepted,
    Command,
    Credit,
    Debit,
    Ledger,
    OpenAccount,
    Pay,
    PostEntry,
    SettleAgent,
    TopUp,
    Transfer,
    Withdraw,
    parse_amount,
)
from ledger.testing.wallet import ManualClock
from projections.reports.safeguarding import safeguarding
from projections.runner import Runner

BANGKOK = ZoneInfo("Asia/Bangkok")
MONDAY, TUESDAY = date(2026, 11, 30), date(2026, 12, 1)


def thb(text: str) -> int:
    return parse_amount(text, "THB")


def at(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=BANGKOK)


with tempfile.TemporaryDirectory() as tmp:
    clock = ManualClock(at(MONDAY, 8))
    with Ledger.open(Path(tmp) / "wallet.db", clock=clock) as book, Runner(book) as runner:
        chart = book.chart
        book.open_chart()
        shop = chart.agent("7eleven-0042")
        story: list[tuple[datetime, Command]] = [
            (at(MONDAY, 8), chart.open_agent("7eleven-0042")),
            (at(MONDAY, 8), chart.open_merchant("cafe-ari")),
            (at(MONDAY, 8), chart.open_wallet("wallet:ploy")),
            (at(MONDAY, 8), chart.open_wallet("wallet:nok")),
            (at(MONDAY, 8), chart.open_wallet("wallet:cafe-ari", wallet_type="merchant")),
            (at(MONDAY, 8), chart.open_wallet("wallet:agent-somchai", wallet_type="agent")),
            (
                at(MONDAY, 8),
                OpenAccount(
                    id="o-mkt", account="expense:marketing", type="expense", currency="THB"
                ),
            ),
            (
                at(MONDAY, 9),
                TopUp(id="t1", wallet="wallet:ploy", amount_minor=thb("12,000"), channel="bank"),
            ),
            (
                at(MONDAY, 10),
                TopUp(
                    id="t2",
                    wallet="wallet:nok",
                    amount_minor=thb("3,000"),
                    fee_minor=thb("15"),
                    channel="counter",
                    funding_account=shop,
                ),
            ),
            (
                at(MONDAY, 11),
                TopUp(
                    id="t3",
                    wallet="wallet:agent-somchai",
                    amount_minor=thb("20,000"),
                    channel="promptpay",
                ),
            ),
            (
                at(MONDAY, 12),
                Pay(
                    id="pay-1",
                    wallet="wallet:ploy",
                    merchant="cafe-ari",
                    amount_minor=thb("450"),
                    fee_minor=thb("6.75"),
                ),
            ),
            (
                at(MONDAY, 13),
                Transfer(
                    id="qr-1",
                    source="wallet:ploy",
                    destination="wallet:cafe-ari",
                    amount_minor=thb("1,000"),
                ),
            ),
            (at(MONDAY, 18), SettleAgent(id="s1", agent="7eleven-0042", amount_minor=thb("2,000"))),
            (
                at(MONDAY, 20),
                Withdraw(
                    id="w1", wallet="wallet:nok", amount_minor=thb("500"), fee_minor=thb("10")
                ),
            ),
            # Tuesday: the cafe's payable (450.00 less its 6.75 fee) leaves the trust ...
            (
                at(TUESDAY, 10),
                PostEntry(
                    id="payout-cafe",
                    kind="payout",
                    postings=[
                        Debit(chart.merchant("cafe-ari"), thb("443.25")),
                        Credit(chart.bank_trust, thb("443.25")),
                    ],
                ),
            ),
            # ... and a promotion is credited with no cash behind it.
            (
                at(TUESDAY, 11),
                PostEntry(
                    id="promo-1",
                    kind="promotion",
                    postings=[
                        Debit("expense:marketing", thb("1,000")),
                        Credit("wallet:nok", thb("1,000")),
                    ],
                ),
            ),
        ]
        for when, command in story:
            clock.now = when
            assert isinstance(book.submit(command), Accepted), command

        monday = safeguarding(runner, MONDAY, equity_minor=thb("5,000"))
        print(monday.to_table())
        check = monday.rows("check")[0]
        # 12,000 + 20,000 - 500 in the trust, +2,000 settled; 1,000 still at the counter
        assert (check.trust_minor, check.in_transit_minor) == (thb("33,500"), thb("1,000"))
        # the fees (15 + 6.75 + 10) and the cafe's payable (443.25) are the surplus
        assert check.surplus_minor == thb("475")
        assert monday.ok

        tuesday = safeguarding(runner, TUESDAY)
        print(tuesday.to_table(), end="")
        # the payout used the cafe's part; the fees (31.75) cover only part of the promo
        assert tuesday.rows("check")[0].shortfall_minor == thb("1,000") - thb("31.75")
        assert not tuesday.ok and tuesday.findings[0].startswith("SAFEGUARDING SHORTFALL")
