"""Wallet flows: a counter top-up, a merchant payment, a hotel hold, a refund, a KYC limit.

A customer tops up with cash at a convenience-store counter, pays a coffee shop, checks
into a hotel that pre-authorises the stay, gets part of the coffee refunded, and then hits
the daily outflow limit of her KYC tier. Every command is the flow's own (``TopUp``,
``Pay``, ``PlaceHold``, …); the postings come from the ledger's chart of accounts.

Run from the repository root: ``python examples/02_wallet.py`` (a temporary SQLite file,
an injected clock, so the output is the same on every run).
"""

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs

from ledger import (
    Accepted,
    AssignTier,
    CaptureHold,
    Command,
    DefineTier,
    Ledger,
    Pay,
    PlaceHold,
    Refund,
    RejectCode,
    Rejected,
    SettleAgent,
    TopUp,
    Transfer,
    format_amount,
    parse_amount,
)
from ledger.audit import verify
from ledger.events import HoldCaptured, Refunded

BANGKOK = ZoneInfo("Asia/Bangkok")


class Clock:
    """An injected clock: the ledger reads ``now`` whenever it records an event."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def thb(text: str) -> int:
    return parse_amount(text, "THB")  # "2,015.00" -> 201_500 satang


def baht(amount_minor: int) -> str:
    return format_amount(amount_minor, "THB")


def accept(book: Ledger, command: Command) -> Accepted:
    result = book.submit(command)
    assert isinstance(result, Accepted), result
    return result


clock = Clock(datetime(2026, 3, 2, 9, 0, tzinfo=BANGKOK))  # a Monday morning in Bangkok
with (
    tempfile.TemporaryDirectory() as directory,
    Ledger.open(Path(directory) / "wallet.db", clock=clock) as book,
):
    chart = book.chart  # bank:trust, income:fees, agent:{agent}:receivable, …
    assert all(isinstance(r, Accepted) for r in book.open_chart())
    counter, hotel, cafe = "7eleven-0042", "riverside-hotel", "cafe-ari"
    for command in [
        chart.open_agent(counter),
        chart.open_merchant(hotel),
        chart.open_merchant(cafe),
        chart.open_wallet("wallet:ploy"),
        chart.open_wallet("wallet:nok"),
    ]:
        accept(book, command)

    # 09:00 Ploy hands 2,015.00 in cash over a shop counter: 15.00 is the counter fee.
    # The shop holds the cash, so the agent's receivable (an asset) carries it.
    accept(
        book,
        TopUp(
            id="topup-1",
            wallet="wallet:ploy",
            amount_minor=thb("2,015.00"),
            fee_minor=thb("15.00"),
            channel="counter",
            funding_account=chart.agent(counter),
        ),
    )
    owed = book.balance(chart.agent(counter)).balance
    print(f"counter top-up: wallet +{baht(thb('2,000.00'))}, {counter} owes {baht(owed)}")

    # 09:05 The shop cannot settle more than it owes; then it settles all of it.
    over = book.submit(SettleAgent(id="settle-0", agent=counter, amount_minor=owed + 1))
    assert isinstance(over, Rejected) and over.code is RejectCode.INSUFFICIENT_FUNDS
    clock.now += timedelta(minutes=5)
    accept(book, SettleAgent(id="settle-1", agent=counter, amount_minor=owed))
    print(f"agent settled:  {baht(owed)} moved to {chart.bank_trust}")

    # 10:00 A 350.00 coffee-beans order; the shop pays a 1.5% merchant discount fee.
    clock.now += timedelta(minutes=55)
    accept(
        book,
        Pay(
            id="pay-1",
            wallet="wallet:ploy",
            merchant=cafe,
            amount_minor=thb("350.00"),
            fee_minor=thb("5.25"),
            reference="order-8812",
        ),
    )

    # 14:00 The hotel pre-authorises 500.00 for one night, for 3 days at most.
    clock.now += timedelta(hours=4)
    accept(
        book,
        PlaceHold(
            id="hold-1",
            hold="stay-5531",
            wallet="wallet:ploy",
            destination=chart.merchant(hotel),
            amount_minor=thb("500.00"),
            expires_at=clock.now + timedelta(days=3),
        ),
    )
    held = book.balance("wallet:ploy")
    print(
        f"hotel hold:     balance {baht(held.balance)}, available {baht(held.available)}"
        f" ({baht(held.debits_pending)} pending)"
    )

    # 16:00 Checkout: the hotel captures 420.00; the other 80.00 is free again.
    clock.now += timedelta(hours=2)
    accept(book, CaptureHold(id="capture-1", hold="stay-5531", amount_minor=thb("420.00")))
    captured = next(r.event for r in book.events() if r.command_id == "capture-1")
    assert isinstance(captured, HoldCaptured)
    print(
        f"capture:        {baht(captured.amount_minor)} posted to the hotel, "
        f"{baht(captured.released_minor)} released"
    )

    # 17:00 Part of the beans was out of stock: 100.00 back. The fee comes back in
    # proportion (5.25 x 100 / 350 = 1.50): the cafe gives 98.50, fee income 1.50.
    clock.now += timedelta(hours=1)
    refund_1 = Refund(id="refund-1", payment="pay-1", amount_minor=thb("100.00"))
    refund_seq = accept(book, refund_1).seq
    refund = next(r.event for r in book.events() if r.command_id == "refund-1")
    assert isinstance(refund, Refunded) and refund.fee_minor == thb("1.50")
    print(
        f"refund:         {baht(refund.amount_minor)} to the wallet, of which "
        f"{baht(refund.amount_minor - refund.fee_minor)} from {cafe}, "
        f"{baht(refund.fee_minor)} of fee"
    )
    # The app retries after a timeout: the same id posts nothing a second time.
    assert book.submit(refund_1) == Accepted("refund-1", refund_seq, replayed=True)

    # 18:00 Compliance puts the wallet on the basic KYC tier: 1,000.00 out a day.
    # Today's outflow so far is the posted debits since midnight, Bangkok time:
    # 350.00 (coffee) + 420.00 (hotel) = 770.00; a refund does not bring it down.
    clock.now += timedelta(hours=1)
    accept(
        book,
        DefineTier(
            id="tier-basic-v1",
            tier="basic",
            max_balance_minor=thb("50,000.00"),
            per_transaction_max_minor=thb("5,000.00"),
            daily_outflow_max_minor=thb("1,000.00"),
            monthly_outflow_max_minor=thb("20,000.00"),
        ),
    )
    accept(book, AssignTier(id="tier-ploy", wallet="wallet:ploy", tier="basic"))

    # 20:00 Ploy sends Nok 300.00: 770.00 + 300.00 passes the daily 1,000.00.
    clock.now += timedelta(hours=2)
    p2p = Transfer(
        id="p2p-1", source="wallet:ploy", destination="wallet:nok", amount_minor=thb("300.00")
    )
    limited = book.submit(p2p)
    assert isinstance(limited, Rejected) and limited.code is RejectCode.LIMIT_EXCEEDED
    assert book.head()[0] == refund_seq + 2  # the tier's two events; nothing else
    print(f"rejected:       {limited.code} - {limited.detail}")

    # 200.00 still fits today; the 300.00 fits after midnight in Bangkok.
    accept(book, attrs.evolve(p2p, id="p2p-2", amount_minor=thb("200.00")))
    clock.now = datetime(2026, 3, 3, 0, 1, tzinfo=BANGKOK)
    retried = book.submit(p2p)  # the same command again: the first answer, as a replay
    assert retried == attrs.evolve(limited, replayed=True)
    print(f"retried:        {retried.code} again (replayed={retried.replayed})")
    again = attrs.evolve(p2p, id="p2p-3")  # a new attempt is a new command: a new id
    accept(book, again)
    print(f"next day:       {again.id} accepted at {clock.now:%Y-%m-%d %H:%M} Bangkok")

    print()
    for b in book.balances():
        print(f"{b.account:<32} {baht(b.balance):>9} {b.currency}")
    ploy = book.balance("wallet:ploy")
    spent = thb("350.00") + thb("420.00") - thb("100.00") + thb("200.00") + thb("300.00")
    assert ploy.balance == ploy.available == thb("2,000.00") - spent
    assert book.balance(chart.agent(counter)).balance == 0
    assert book.balance(chart.merchant(cafe)).balance == thb("350.00") - thb("5.25") - (
        thb("100.00") - thb("1.50")
    )

    report = verify(book)
    assert report.ok, report.findings
    print(f"\naudit: ok ({report.events_checked} events checked, head seq {report.head_seq})")
