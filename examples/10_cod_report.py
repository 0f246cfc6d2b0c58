"""The COD outstanding report: cash still at the door by courier and age, and what the
platform owes (or is owed by) each merchant, as of the end of a business day.

Over three weeks of March 2026, couriers K1 and K2 deliver cash-on-delivery orders for
merchants M1, M2 and M3. K1 remits only part of its first day's orders; K2 remits 50.00
short. The first orders are released after the 7-day return window and paid out; then a
buyer returns an order already paid out, so M3 owes the platform its share. The report
for Friday 20 March is what the finance team reads before chasing couriers.

Run from the repository root: ``python examples/10_cod_report.py`` (a temporary SQLite
file, an injected clock, so the output is the same on every run).
"""

import tempfile
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ledger import (
    Accepted,
    CodDelivered,
    CodRefunded,
    CodReleased,
    CodRemitted,
    CodReturned,
    Command,
    Credit,
    Debit,
    Ledger,
    OpenAccount,
    PayoutMerchant,
    PostEntry,
    parse_amount,
)
from ledger.testing.wallet import ManualClock
from projections.reports.cod import cod_outstanding
from projections.runner import Runner

BANGKOK = ZoneInfo("Asia/Bangkok")
REPORT_DAY = date(2026, 3, 20)


def thb(text: str) -> int:
    return parse_amount(text, "THB")


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 3, day, hour, 0, tzinfo=BANGKOK)


def deliver(order: str, courier: str, merchant: str, cash: str, commission: str) -> CodDelivered:
    """An order with 40.00 shipping and a 10.00 COD fee, kept by the courier."""
    return CodDelivered(
        id=f"deliver-{order}",
        order=order,
        courier=courier,
        merchant=merchant,
        amount_minor=thb(cash),
        commission_minor=thb(commission),
        shipping_minor=thb("40.00"),
        courier_fee_minor=thb("10.00"),
    )


def remit(remittance: str, courier: str, orders: list[str], amount: str) -> CodRemitted:
    return CodRemitted(
        id=f"remit-{remittance}",
        remittance=remittance,
        courier=courier,
        orders=orders,
        amount_minor=thb(amount),
    )


# When each command happens (Bangkok time), in order.
story: list[tuple[datetime, Command]] = [
    (at(2, 10), deliver("O1", "K1", "M1", "1,000.00", "50.00")),
    (at(2, 11), deliver("O2", "K1", "M2", "640.00", "32.00")),
    (at(2, 12), deliver("O3", "K2", "M3", "2,400.00", "120.00")),
    (at(2, 18), remit("K1-0302", "K1", ["O1"], "950.00")),  # O2 stays out
    (at(2, 18), remit("K2-0302", "K2", ["O3"], "2,300.00")),  # 2,350.00 due: 50.00 short
    (at(10, 10), deliver("O4", "K2", "M1", "350.00", "17.50")),
    (at(10, 11), deliver("O5", "K1", "M3", "1,200.00", "60.00")),
    (at(10, 18), CodReleased(id="release-0310", as_of=at(10, 18))),  # O1 and O3
    (at(10, 19), PayoutMerchant(id="payout-M1-1", merchant="M1", to="wallet")),
    (at(10, 19), PayoutMerchant(id="payout-M3-1", merchant="M3")),
    (at(12, 14), CodReturned(id="return-O3", order="O3")),  # after payout: M3 owes
    (at(12, 15), CodRefunded(id="refund-O3", order="O3")),
    (at(16, 10), deliver("O6", "K2", "M2", "800.00", "40.00")),
    (at(16, 18), remit("K2-0316", "K2", ["O4"], "300.00")),
    (at(18, 18), CodReleased(id="release-0318", as_of=at(18, 18))),  # O4
    (at(20, 11), deliver("O7", "K1", "M1", "500.00", "25.00")),
]

clock = ManualClock(at(2, 9))
with (
    tempfile.TemporaryDirectory() as directory,
    Ledger.open(Path(directory) / "cod.db", clock=clock) as book,
):
    chart = book.chart
    book.open_chart(cod=True)
    setup: list[Command] = [
        *(c for courier in ("K1", "K2") for c in chart.open_courier(courier)),
        *(c for merchant in ("M1", "M2", "M3") for c in chart.open_cod_merchant(merchant)),
        OpenAccount(id="open:equity", account="equity:capital", type="equity", currency="THB"),
        PostEntry(  # the platform's own cash in the COD bank, for refunds and payouts
            id="capital",
            kind="capital",
            postings=[
                Debit(chart.cod_bank, thb("5,000.00")),
                Credit("equity:capital", thb("5,000.00")),
            ],
        ),
    ]
    assert all(isinstance(r, Accepted) for r in book.submit_many(setup))
    for when, command in story:
        clock.now = when
        result = book.submit(command)
        assert isinstance(result, Accepted), (command, result)

    clock.now = at(20, 17)
    with Runner(book) as runner:
        report = cod_outstanding(runner, REPORT_DAY)
    print(report.to_table(), end="")

    # The facts of the day, from the report and from the ledger.
    assert report.ok, report.findings
    couriers = {row.courier: row for row in report.rows("couriers")}
    for courier, row in couriers.items():
        # A courier's COD receivable is exactly the cash of its open orders; what it
        # remitted short is apart, in its dispute receivable.
        assert row.receivable_minor == row.cash_minor
        assert row.receivable_minor == book.balance(chart.cod_receivable(courier)).balance
    assert (couriers["K1"].orders, couriers["K1"].oldest_days) == (3, 18)  # O2, from 2 March
    assert couriers["K2"].dispute_minor == thb("50.00")
    merchants = {row.merchant: row for row in report.rows("merchants")}
    assert merchants["M3"].net_minor == -thb("2,240.00")  # O3: 2,400.00 - 120.00 - 40.00
    assert merchants["M1"].available_minor == thb("292.50")  # O4: 350.00 - 17.50 - 40.00
    assert sum(o.amount_minor for o in report.rows("open_orders")) == thb("3,140.00")
