"""Cash on delivery: two couriers, three merchants, a short remittance, a failed delivery,
the return window, payouts, and a return after payout netted from the next payout.

Couriers K1 and K2 collect cash at the door for merchants M1, M2 and M3 and remit it in
the evening, keeping their shipping and COD fees; K1 comes back 50.00 short. One parcel
cannot be delivered and the merchant is charged a return-to-origin fee. A week later the
return window has passed: the merchants' money becomes available and is paid out, one
merchant to its wallet, the others to their banks. Then a buyer returns an order already
paid out: the buyer is refunded to a wallet, and the merchant's next payout first pays
back what it owes. The platform is an agent: only its commission and fees are revenue.

Run from the repository root: ``python examples/03_cod.py`` (a temporary SQLite file,
an injected clock, so the output is the same on every run).
"""

import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from ledger import (
    Accepted,
    CodDelivered,
    CodDeliveryFailed,
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
    RejectCode,
    Rejected,
    ResolveDispute,
    format_amount,
    parse_amount,
)
from ledger.audit import verify
from ledger.events import (
    CodOrderDelivered,
    CodOrderFailed,
    CodOrderReturned,
    CodRemittanceReceived,
    Event,
    MerchantPaidOut,
)

BANGKOK = ZoneInfo("Asia/Bangkok")


class Clock:
    """An injected clock: the ledger reads ``now`` whenever it records an event."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def thb(text: str) -> int:
    return parse_amount(text, "THB")  # "1,000.00" -> 100_000 satang


def baht(amount_minor: int) -> str:
    return format_amount(amount_minor, "THB")


def accept(book: Ledger, command: Command) -> Accepted:
    result = book.submit(command)
    assert isinstance(result, Accepted), result
    return result


def written(book: Ledger, command_id: str) -> list[Event]:
    """The events the command ``command_id`` wrote, in order."""
    return [r.event for r in book.events() if r.command_id == command_id]


def summary(book: Ledger, title: str, couriers: list[str], merchants: list[str]) -> None:
    """Each courier's and merchant's COD accounts, one row each."""
    chart = book.chart

    def row(party: str, accounts: list[str]) -> str:
        return f"{party:<10}" + "".join(f"{baht(book.balance(a).balance):>12}" for a in accounts)

    print(f"\n{title}")
    print(f"{'courier':<10}{'COD cash':>12}{'shipping':>12}{'dispute':>12}")
    for k in couriers:
        cod, shipping = chart.cod_receivable(k), chart.shipping_payable(k)
        print(row(k, [cod, shipping, chart.dispute_receivable(k)]))
    print(f"{'merchant':<10}{'pending':>12}{'available':>12}{'owes':>12}{'wallet':>12}")
    for m in merchants:
        pending, available = chart.pending_payable(m), chart.available_payable(m)
        print(row(m, [pending, available, chart.owed_by(m), chart.wallet_of(m)]))
    print()


clock = Clock(datetime(2026, 3, 2, 9, 0, tzinfo=BANGKOK))  # a Monday morning in Bangkok
with (
    tempfile.TemporaryDirectory() as directory,
    Ledger.open(Path(directory) / "cod.db", clock=clock) as book,
):
    chart = book.chart  # courier:{courier}:cod_receivable, merchant:{merchant}:payable_pending, …
    assert all(isinstance(r, Accepted) for r in book.open_chart(cod=True))
    couriers, merchants = ["K1", "K2"], ["M1", "M2", "M3"]
    commands: list[Command] = [
        *(c for courier in couriers for c in chart.open_courier(courier)),
        *(c for merchant in merchants for c in chart.open_cod_merchant(merchant)),
        chart.open_wallet("wallet:ploy"),  # a buyer's wallet, for a refund
        # The platform's own operating cash in the COD bank account: refunds and payouts
        # may have to leave before a courier's cash is in.
        OpenAccount(id="open:equity", account="equity:capital", type="equity", currency="THB"),
        PostEntry(
            id="capital",
            kind="capital",
            postings=[
                Debit(chart.cod_bank, thb("5,000.00")),
                Credit("equity:capital", thb("5,000.00")),
            ],
        ),
    ]
    assert all(isinstance(r, Accepted) for r in book.submit_many(commands))

    # 09:00-15:00 Deliveries, one every two hours: (order, courier, merchant, cash,
    # commission, shipping, COD fee).
    # O1 is the order of DOMAIN.md: 1,000.00 with 50.00 commission (3.27 VAT inside),
    # 40.00 shipping and a 10.00 COD fee.
    orders = [
        ("O1", "K1", "M1", "1,000.00", "50.00", "40.00", "10.00"),
        ("O2", "K1", "M2", "640.00", "32.00", "40.00", "10.00"),
        ("O3", "K2", "M3", "2,400.00", "120.00", "60.00", "24.00"),
        ("O4", "K2", "M1", "350.00", "17.50", "40.00", "10.00"),
    ]
    delivered: dict[str, CodOrderDelivered] = {}
    for order, courier, merchant, cash, commission, shipping, fee in orders:
        accept(
            book,
            CodDelivered(
                id=f"deliver-{order}",
                order=order,
                courier=courier,
                merchant=merchant,
                amount_minor=thb(cash),
                commission_minor=thb(commission),
                shipping_minor=thb(shipping),
                courier_fee_minor=thb(fee),
            ),
        )
        [event] = written(book, f"deliver-{order}")
        assert isinstance(event, CodOrderDelivered)
        delivered[order] = event
        clock.now += timedelta(hours=2)
    o1 = delivered["O1"]
    assert o1.vat_minor == thb("3.27")  # 50.00 x 700 / 10,700 = 3.2710…, half up
    assert o1.releasable_at == datetime(2026, 3, 9, 9, 0, tzinfo=BANGKOK)  # 7 days on
    print(
        f"delivered:      {len(delivered)} orders, "
        f"{baht(sum(d.amount_minor for d in delivered.values()))} in cash at the door; "
        f"O1's 50.00 commission holds {baht(o1.vat_minor)} of VAT"
    )

    # 17:00 O5 cannot be delivered: no cash moves; M3 is charged a 30.00 return-to-origin
    # fee (VAT inside), which it owes until its next payout.
    accept(
        book,
        CodDeliveryFailed(
            id="fail-O5", order="O5", merchant="M3", courier="K1", rto_fee_minor=thb("30.00")
        ),
    )
    [failed] = written(book, "fail-O5")
    assert isinstance(failed, CodOrderFailed) and failed.vat_minor == thb("1.96")
    print(f"failed:         O5, M3 owes a {baht(failed.rto_fee_minor)} return-to-origin fee")

    # 18:00 The couriers remit. K1 first names O5 too, which brought no cash.
    clock.now = datetime(2026, 3, 2, 18, 0, tzinfo=BANGKOK)
    wrong = CodRemitted(
        id="remit-K1-0",
        remittance="K1-0302",
        courier="K1",
        orders=["O1", "O2", "O5"],
        amount_minor=thb("1,490.00"),
    )
    rejected = book.submit(wrong)
    assert isinstance(rejected, Rejected) and rejected.code is RejectCode.ORDER_NOT_DELIVERED
    # K1 owes 950.00 + 590.00 = 1,540.00 (cash less shipping and COD fees) and deposits
    # 1,490.00: the 50.00 short goes to its dispute receivable.
    accept(
        book,
        CodRemitted(
            id="remit-K1",
            remittance="K1-0302",
            courier="K1",
            orders=["O1", "O2"],
            amount_minor=thb("1,490.00"),
        ),
    )
    accept(
        book,
        CodRemitted(
            id="remit-K2",
            remittance="K2-0302",
            courier="K2",
            orders=["O3", "O4"],
            amount_minor=thb("2,616.00"),
        ),
    )
    for command_id in ("remit-K1", "remit-K2"):
        received = written(book, command_id)[0]
        assert isinstance(received, CodRemittanceReceived)
        print(
            f"remitted:       {received.courier} {baht(received.amount_minor)} of "
            f"{baht(received.due_minor)} due, short {baht(received.shortfall_minor)}"
        )
    assert book.balance(chart.dispute_receivable("K1")).balance == thb("50.00")
    assert book.balance(chart.pending_payable("M3")).balance == thb("2,220.00")  # 2,400 - 180
    summary(book, "Monday 18:00: the cash is in, the merchants' money pending", couriers, merchants)

    # Tuesday 10:00 K1 pays back 30.00 of it; the other 20.00 is written off.
    clock.now = datetime(2026, 3, 3, 10, 0, tzinfo=BANGKOK)
    accept(
        book,
        ResolveDispute(
            id="dispute-K1-1", courier="K1", amount_minor=thb("30.00"), outcome="recovered"
        ),
    )
    accept(
        book,
        ResolveDispute(
            id="dispute-K1-2", courier="K1", amount_minor=thb("20.00"), outcome="written_off"
        ),
    )
    print("dispute:        K1's 50.00: 30.00 recovered, 20.00 written off")

    # The buyers may still return their orders: nothing is released within the window.
    early = book.submit(CodReleased(id="release-early", as_of=clock.now))
    assert isinstance(early, Rejected) and early.code is RejectCode.NOTHING_DUE

    # Monday a week later, 18:00: every return window has ended, and every order's cash
    # is in. The merchants' money moves from pending to available.
    clock.now = datetime(2026, 3, 9, 18, 0, tzinfo=BANGKOK)
    accept(book, CodReleased(id="release-0309", as_of=clock.now))
    released = written(book, "release-0309")
    assert len(released) == 4
    print(f"released:       {len(released)} orders after the 7-day return window")

    # Payouts: M1 to its wallet (then it is e-money), M2 and M3 to their banks; M3's
    # payout first pays back the 30.00 fee it owes.
    payouts = [
        ("payout-M1-1", "M1", "wallet"),
        ("payout-M2-1", "M2", "bank"),
        ("payout-M3-1", "M3", "bank"),
    ]
    for command_id, merchant, to in payouts:
        accept(book, PayoutMerchant(id=command_id, merchant=merchant, to=to))
        paid = written(book, command_id)[0]
        assert isinstance(paid, MerchantPaidOut)
        print(
            f"payout:         {merchant} {baht(paid.paid_minor)} to its {to}"
            f" (netted {baht(paid.netted_minor)}; orders {', '.join(paid.orders)})"
        )
    assert book.balance(chart.wallet_of("M1")).balance == thb("910.00") + thb("292.50")
    assert book.balance(chart.owed_by("M3")).balance == 0

    # Tuesday 11:00, the window long past: the buyer returns O2, already paid out to M2.
    # The buyer gets back what it paid less shipping (the courier keeps that); the
    # platform gives its commission and the VAT in it back; M2 owes its 568.00 share
    # until its next payout.
    clock.now = datetime(2026, 3, 10, 11, 0, tzinfo=BANGKOK)
    accept(book, CodReturned(id="return-O2", order="O2"))
    [returned] = written(book, "return-O2")
    assert isinstance(returned, CodOrderReturned) and returned.stage == "paid_out"
    accept(book, CodRefunded(id="refund-O2", order="O2", wallet="wallet:ploy"))
    owes = book.balance(chart.owed_by("M2")).balance
    assert (returned.refund_minor, owes) == (thb("600.00"), thb("568.00"))
    print(
        f"return:         O2 after payout, {baht(returned.refund_minor)} to wallet:ploy, "
        f"M2 owes {baht(owes)}"
    )

    # 14:00 K2 delivers O6 for M2 and remits in the evening; a week later M2's next payout
    # first pays back the 568.00.
    clock.now += timedelta(hours=3)
    accept(
        book,
        CodDelivered(
            id="deliver-O6",
            order="O6",
            courier="K2",
            merchant="M2",
            amount_minor=thb("900.00"),
            commission_minor=thb("45.00"),
            shipping_minor=thb("40.00"),
            courier_fee_minor=thb("10.00"),
        ),
    )
    [event] = written(book, "deliver-O6")
    assert isinstance(event, CodOrderDelivered)
    delivered["O6"] = event
    clock.now = datetime(2026, 3, 10, 18, 0, tzinfo=BANGKOK)
    accept(
        book,
        CodRemitted(
            id="remit-K2-0310",
            remittance="K2-0310",
            courier="K2",
            orders=["O6"],
            amount_minor=thb("850.00"),
        ),
    )
    clock.now += timedelta(days=7)
    accept(book, CodReleased(id="release-0317", as_of=clock.now))
    accept(book, PayoutMerchant(id="payout-M2-2", merchant="M2"))
    paid = written(book, "payout-M2-2")[0]
    assert isinstance(paid, MerchantPaidOut)
    assert (paid.available_minor, paid.netted_minor, paid.paid_minor) == (
        thb("815.00"),
        thb("568.00"),
        thb("247.00"),
    )
    print(
        f"next payout:    M2 {baht(paid.available_minor)} available, "
        f"{baht(paid.netted_minor)} netted, {baht(paid.paid_minor)} to its bank"
    )

    summary(
        book, "the end: every courier has remitted, every merchant is paid", couriers, merchants
    )
    platform = [
        chart.commission_income,
        chart.rto_fee_income,
        chart.vat_output,
        chart.cod_fee_expense,
        chart.cod_loss_expense,
        chart.refunds_payable,
        chart.cod_bank,
        chart.bank_trust,
    ]
    for account in platform:
        b = book.balance(account)
        print(f"{b.account:<32} {baht(b.balance):>9} {b.currency}")

    # The facts of the day. Every courier has remitted and every dispute is closed; every
    # merchant is paid out and owes nothing.
    for courier in couriers:
        for account in (
            chart.cod_receivable(courier),
            chart.shipping_payable(courier),
            chart.dispute_receivable(courier),
        ):
            assert book.balance(account).balance == 0, account
    for merchant in merchants:
        for account in (
            chart.pending_payable(merchant),
            chart.available_payable(merchant),
            chart.owed_by(merchant),
        ):
            assert book.balance(account).balance == 0, account
    # Revenue is the commission net of VAT (O2's given back) and the fee net of VAT.
    kept = [d for order, d in delivered.items() if order != "O2"]
    commission = sum(d.commission_minor - d.vat_minor for d in kept)
    vat = sum(d.vat_minor for d in kept) + failed.vat_minor
    assert book.balance(chart.commission_income).balance == commission
    assert book.balance(chart.rto_fee_income).balance == thb("28.04")
    assert book.balance(chart.vat_output).balance == vat
    assert book.balance(chart.refunds_payable).balance == 0
    # The COD bank: capital + remittances + the dispute recovered - payouts and the
    # refund; what went into wallets moved on into the safeguarded bank trust, which holds
    # exactly the e-money the day created.
    bank = thb("5,000.00") + thb("1,490.00") + thb("2,616.00") + thb("850.00") + thb("30.00")
    bank -= thb("568.00") + thb("2,190.00") + thb("247.00") + thb("1,202.50") + thb("600.00")
    assert book.balance(chart.cod_bank).balance == bank
    e_money = book.balance(chart.wallet_of("M1")).balance + book.balance("wallet:ploy").balance
    assert book.balance(chart.bank_trust).balance == e_money == thb("1,802.50")
    print(
        f"\nrevenue: {baht(commission)} commission and {baht(thb('28.04'))} return-to-origin"
        f" fees, net of VAT; {baht(vat)} VAT owed"
    )

    report = verify(book)
    assert report.ok, report.findings
    print(f"\naudit: ok ({report.events_checked} events checked, head seq {report.head_seq})")
