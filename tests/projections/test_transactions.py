"""The customer transactions read model (projections.transactions): one row per customer
transaction, with its category, channel, parties, amount and fee, none for journal
entries, and a reversal row for a reversed customer transaction, on real SQLite files."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from ledger import (
    Accepted,
    AccrueInterest,
    CaptureHold,
    CodDelivered,
    CodReleased,
    CodRemitted,
    Command,
    Credit,
    Debit,
    DisburseLoan,
    Exchange,
    Ledger,
    OpenAccount,
    Pay,
    PayBill,
    PayoutMerchant,
    PlaceHold,
    PostEntry,
    Refund,
    ReleaseHold,
    RepayLoan,
    Reverse,
    SettleAgent,
    TopUp,
    Transfer,
    Withdraw,
)
from ledger.events import MoneyEvent
from ledger.times import ManualClock, to_us
from projections.runner import Runner
from tests.conftest import written
from tests.projections.conftest import STEP, T0, all_accepted, check_as_of, ok, reads

TX_COLUMNS = (
    "seq, effective_at, command_id, category, channel, party, counterparty, agent, cash,"
    " amount_minor, fee_minor, currency"
)


def test_one_transaction_row_per_customer_transaction(
    book: Ledger, clock: ManualClock, tmp_path: Path
) -> None:
    chart = book.chart
    agent = chart.agent("A1")
    all_accepted(book.open_chart(["USD"], cod=True, loans=True))
    all_accepted(
        book.submit_many(
            [
                *(chart.open_wallet(f"wallet:U{n}") for n in (1, 2, 4)),
                chart.open_wallet("wallet:U3:usd", "USD"),
                chart.open_merchant("M1"),
                chart.open_biller("B1"),
                chart.open_agent("A1"),
                *chart.open_courier("K1"),
                *chart.open_cod_merchant("M8"),
                *chart.open_cod_merchant("M9"),
                OpenAccount(
                    id="open:equity", account="equity:capital", type="equity", currency="THB"
                ),
                PostEntry(
                    id="capital",
                    kind="capital",
                    postings=[
                        Debit(chart.loan_bank, 10_000_000),
                        Credit("equity:capital", 10_000_000),
                    ],
                ),
            ]
        )
    )
    expected: dict[str, tuple[Any, ...]] = {}

    def tx(command: Command, *row: Any) -> None:
        ok(book, command)
        expected[command.id] = row

    # (category, channel, party, counterparty, agent, cash, amount, fee, currency)
    tx(
        TopUp(id="tb", wallet="wallet:U1", amount_minor=100_000, channel="bank", fee_minor=1_000),
        *("top_up", "bank", "wallet:U1", "bank:trust", None, 0, 100_000, 1_000, "THB"),
    )
    tx(
        TopUp(id="tp", wallet="wallet:U4", amount_minor=30_000, channel="promptpay"),
        *("top_up", "promptpay", "wallet:U4", "bank:trust", None, 0, 30_000, 0, "THB"),
    )
    tx(
        TopUp(
            id="tc",
            wallet="wallet:U2",
            amount_minor=20_000,
            channel="counter",
            funding_account=agent,
        ),
        *("top_up", "counter", "wallet:U2", agent, agent, 1, 20_000, 0, "THB"),
    )
    tx(
        TopUp(
            id="ta",
            wallet="wallet:U2",
            amount_minor=5_000,
            channel="agent",
            funding_account=agent,
            fee_minor=25,
        ),
        *("top_up", "agent", "wallet:U2", agent, agent, 1, 5_000, 25, "THB"),
    )
    tx(
        SettleAgent(id="settle", agent="A1", amount_minor=12_000),
        *("agent_settlement", None, agent, "bank:trust", agent, 0, 12_000, 0, "THB"),
    )
    tx(
        Pay(id="pay", wallet="wallet:U1", merchant="M1", amount_minor=10_000, fee_minor=200),
        *("payment", None, "wallet:U1", "M1", None, 0, 10_000, 200, "THB"),
    )
    tx(
        PayBill(
            id="bill",
            wallet="wallet:U1",
            biller="B1",
            bill_reference="INV-1",
            amount_minor=3_000,
            fee_minor=10,
        ),
        *("bill_payment", None, "wallet:U1", "B1", None, 0, 3_000, 10, "THB"),
    )
    tx(
        Transfer(id="p2p", source="wallet:U1", destination="wallet:U2", amount_minor=2_500),
        *("p2p", None, "wallet:U1", "wallet:U2", None, 0, 2_500, 0, "THB"),
    )
    tx(
        Withdraw(id="wd", wallet="wallet:U1", amount_minor=4_000, fee_minor=50),
        *("cash_out", None, "wallet:U1", "", None, 0, 4_000, 50, "THB"),
    )
    tx(
        Refund(id="rf", payment="pay", amount_minor=5_000),
        *("refund", None, "wallet:U1", "M1", None, 0, 5_000, 100, "THB"),
    )
    payable = chart.merchant("M1")
    expires = clock.now + timedelta(hours=1)
    ok(
        book,
        PlaceHold(
            id="hp",
            hold="H1",
            wallet="wallet:U1",
            destination=payable,
            amount_minor=6_000,
            expires_at=expires,
        ),
    )
    ok(
        book,
        PlaceHold(
            id="hp2",
            hold="H2",
            wallet="wallet:U2",
            destination=payable,
            amount_minor=1_000,
            expires_at=expires,
        ),
    )
    ok(book, ReleaseHold(id="hr2", hold="H2"))
    tx(
        CaptureHold(id="hc", hold="H1", amount_minor=4_000),
        *("hold_capture", None, "wallet:U1", payable, None, 0, 4_000, 0, "THB"),
    )
    tx(
        Exchange(
            id="fx",
            source="wallet:U1",
            destination="wallet:U3:usd",
            sell_amount_minor=3_500,
            buy_amount_minor=100,
        ),
        *("exchange", None, "wallet:U1", "wallet:U3:usd", None, 0, 3_500, 0, "THB"),
    )
    today = book.today()
    tx(
        DisburseLoan(
            id="loan",
            loan="L1",
            borrower="U4",
            wallet="wallet:U4",
            principal_minor=100_000,
            annual_rate_bps=2_800,
            installments=4,
            first_due=today + timedelta(days=7),
            frequency="weekly",
            fee_minor=100,
        ),
        *("loan_disbursement", None, "wallet:U4", "L1", None, 0, 100_000, 100, "THB"),
    )
    # journal entries, even of a customer-looking kind, and their reversals are not
    ok(
        book,
        PostEntry(
            id="journal",
            kind="top_up",
            postings=[Debit("bank:trust", 700), Credit("wallet:U2", 700)],
        ),
    )
    ok(book, Reverse(id="journal-back", entry_id="journal"))
    for order, merchant in (("O1", "M8"), ("O2", "M9")):
        ok(
            book,
            CodDelivered(
                id=f"deliver-{order}",
                order=order,
                courier="K1",
                merchant=merchant,
                amount_minor=50_000,
                commission_minor=2_000,
                shipping_minor=3_000,
            ),
        )
    ok(
        book,
        CodRemitted(
            id="remit", remittance="R1", courier="K1", orders=["O1", "O2"], amount_minor=94_000
        ),
    )
    clock.advance(timedelta(days=8))
    ok(book, CodReleased(id="release", as_of=clock.now))
    ok(book, AccrueInterest(id="accrue", as_of=book.today()))
    tx(
        RepayLoan(id="repay", loan="L1", amount_minor=10_000),
        *("loan_repayment", None, "wallet:U4", "L1", None, 0, 10_000, 0, "THB"),
    )
    tx(
        PayoutMerchant(id="payout-bank", merchant="M8"),
        *("merchant_payout", "bank", "M8", "bank", None, 0, 45_000, 0, "THB"),
    )
    tx(
        PayoutMerchant(id="payout-wallet", merchant="M9", to="wallet"),
        *("merchant_payout", "wallet", "M9", "wallet", None, 0, 45_000, 0, "THB"),
    )
    runner = reads(book, tmp_path)

    rows = runner.db.execute(f"SELECT {TX_COLUMNS} FROM proj_transactions ORDER BY seq").fetchall()
    ids = [r[2] for r in rows]
    assert sorted(ids) == sorted(expected), "one row per customer transaction, no other"
    for seq, effective_at, command_id, *row in rows:
        assert tuple(row) == expected[command_id], command_id
        records = [r for r in written(book, command_id) if isinstance(r.event, MoneyEvent)]
        # the row is the command's own money event (a repayment accrues first)
        assert seq == records[-1].seq
        assert effective_at == to_us(records[-1].effective_at)
    categories = {r[3] for r in rows}
    assert categories == {
        "top_up",
        "agent_settlement",
        "payment",
        "bill_payment",
        "p2p",
        "cash_out",
        "refund",
        "hold_capture",
        "exchange",
        "loan_disbursement",
        "loan_repayment",
        "merchant_payout",
    }
    check_as_of(book)


def test_a_reversed_customer_transaction_is_a_reversal_row(tmp_path: Path) -> None:
    """A ``Reverse`` of a top-up writes a ``reversal`` row carrying the original's customer,
    counterparty, amount and fee, with its category as the channel and no cash; the
    reversal of a plain journal entry writes nothing."""
    from ledger import Reverse

    with Ledger.open(tmp_path / "rev.db", clock=ManualClock(T0, step=STEP)) as book:
        chart = book.chart
        book.open_chart()
        book.submit_many([chart.open_wallet("wallet:U1"), chart.open_agent("A1")])
        agent = chart.agent("A1")
        top = TopUp(
            id="cash-in",
            wallet="wallet:U1",
            amount_minor=40_000,
            channel="counter",
            funding_account=agent,
            fee_minor=100,
        )
        journal = PostEntry(
            id="j1",
            kind="adjustment",
            postings=[Debit("bank:trust", 500), Credit("wallet:U1", 500)],
        )
        assert isinstance(book.submit(top), Accepted)
        assert isinstance(book.submit(journal), Accepted)
        undo = book.submit(Reverse(id="undo", entry_id="cash-in"))
        assert isinstance(undo, Accepted)
        assert isinstance(book.submit(Reverse(id="undo-j", entry_id="j1")), Accepted)
        with Runner(book, ":memory:") as runner:
            runner.catch_up()
            rows = runner.db.execute(
                "SELECT seq, command_id, category, channel, party, counterparty, agent, cash,"
                " amount_minor, fee_minor FROM proj_transactions ORDER BY seq"
            ).fetchall()
    assert [r[1:] for r in rows] == [
        ("cash-in", "top_up", "counter", "wallet:U1", agent, agent, 1, 40_000, 100),
        ("undo", "reversal", "top_up", "wallet:U1", agent, agent, 0, 40_000, 100),
    ]
    assert rows[1][0] == undo.seq
