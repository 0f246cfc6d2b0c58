"""The activity report on the golden log, every figure worked out by hand from the log in
tests/golden/wallet_day.py."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger import (
    Accepted,
    CodDelivered,
    CodRefunded,
    CodReturned,
    Command,
    Credit,
    Debit,
    DisburseLoan,
    Ledger,
    OpenAccount,
    PostEntry,
    RecoverLoan,
    TopUp,
    WriteOffLoan,
)
from ledger.errors import InvalidCommand
from ledger.times import ManualClock
from projections.base import canonical_dump
from projections.reports.activity import AccountsRow, TransactionsRow, activity
from projections.runner import Runner
from projections.transactions import CATEGORIES
from tests.golden.wallet_day import BANGKOK, DAY_1, DAY_2, DAY_3, at, build, later, round_trips


@pytest.fixture
def golden(tmp_path: Path) -> Path:
    path = tmp_path / "golden.db"
    build(path)
    return path


@pytest.fixture
def runner(golden: Path) -> Iterator[Runner]:
    with Ledger.open(golden, create=False) as book, Runner(book) as r:
        yield r


def T(category: str, count: int, amount: int, fee: int, channel: str | None = None) -> Any:
    return TransactionsRow(category, channel, count, amount, fee)


def test_two_business_days(runner: Runner) -> None:
    report = activity(runner, DAY_1, DAY_2)
    assert report.name == "activity"
    assert report.parameters == {
        "from": "2026-03-02",
        "to": "2026-03-03",
        "timezone": "Asia/Bangkok",
        "start": "2026-03-02T00:00:00+07:00",
        "cut_off": "2026-03-04T00:00:00+07:00",
    }
    assert report.rows("transactions") == (
        # t1 500_000 + t2 300_000 + lek 9_900_000 + 9_950_000 + 9_990_000 + t4 100_000
        # + t5 250_000_000 + t6 1_000_000 = 281_740_000; fees 3_000 + 3 * 1_500 = 7_500
        T("top_up", 8, 281_740_000, 7_500),
        T("top_up", 1, 500_000, 0, "bank"),
        T("top_up", 1, 300_000, 3_000, "card"),
        T("top_up", 1, 1_000_000, 0, "promptpay"),
        T("top_up", 3, 29_840_000, 4_500, "counter"),
        T("top_up", 2, 250_100_000, 0, "agent"),  # t4 100_000 + t5 250_000_000
        T("payment", 1, 35_000, 525),
        T("bill_payment", 2, 75_125_000, 1_000),  # 125_000 + 75_000_000
        T("p2p", 2, 2_020_000, 0),  # 20_000 + 2_000_000
        T("cash_out", 2, 550_000, 1_000),  # w1 50_000 (fee 1_000) + w2 500_000
        T("refund", 1, 10_000, 150),  # the fee part of 10_000 of 35_000 at 525: 150
        T("hold_capture", 1, 42_000, 0),
        T("exchange", 1, 100_000, 0),  # the THB sold
        T("loan_disbursement", 0, 0, 0),
        T("loan_repayment", 0, 0, 0),
        T("loan_recovery", 0, 0, 0),
        T("merchant_payout", 0, 0, 0),
        T("cod_refund", 0, 0, 0),
        T("agent_settlement", 2, 115_000_000, 0),  # 15_000_000 + 100_000_000
        T("reversal", 0, 0, 0),
    )
    # Opened by the end of 3 March: ploy, nok, lek, shop-dao, agent-somchai, legacy-1, kan,
    # mai (ploy-usd is a USD wallet). Parties: ploy, nok, lek, kan, agent-somchai (its
    # top-up), shop-dao (its withdrawal); legacy-1's credit is a journal entry and mai did
    # nothing. Tiers by then: ploy basic, nok plus.
    assert report.rows("accounts") == (
        AccountsRow("all", None, 8, 6),
        AccountsRow("tier", "basic", 1, 1),
        AccountsRow("tier", "plus", 1, 1),
        AccountsRow("tier", "none", 6, 4),  # lek, kan, shop-dao, agent-somchai active
        AccountsRow("wallet_type", "consumer", 5, 4),
        AccountsRow("wallet_type", "merchant", 1, 1),
        AccountsRow("wallet_type", "agent", 1, 1),
        AccountsRow("wallet_type", "unclassified", 1, 0),
    )
    assert report.ok


def test_the_first_day_alone(runner: Runner) -> None:
    report = activity(runner, DAY_1, DAY_1)
    rows = {(r.category, r.channel): r for r in report.rows("transactions")}
    assert rows["top_up", None] == T("top_up", 6, 30_740_000, 7_500)
    assert rows["top_up", "agent"] == T("top_up", 1, 100_000, 0, "agent")
    assert rows["top_up", "promptpay"] == T("top_up", 0, 0, 0, "promptpay")
    assert rows["bill_payment", None] == T("bill_payment", 1, 125_000, 1_000)
    assert rows["cash_out", None] == T("cash_out", 1, 50_000, 1_000)
    assert rows["agent_settlement", None] == T("agent_settlement", 1, 15_000_000, 0)
    # nok is put on plus only on 3 March: on 2 March it has no tier
    assert report.rows("accounts") == (
        AccountsRow("all", None, 6, 3),
        AccountsRow("tier", "basic", 1, 1),
        AccountsRow("tier", "none", 5, 2),
        AccountsRow("wallet_type", "consumer", 3, 3),
        AccountsRow("wallet_type", "merchant", 1, 0),
        AccountsRow("wallet_type", "agent", 1, 0),
        AccountsRow("wallet_type", "unclassified", 1, 0),
    )


def test_the_day_after(runner: Runner) -> None:
    report = activity(runner, DAY_3, DAY_3)
    nonzero = [r for r in report.rows("transactions") if r.count]
    assert nonzero == [
        T("top_up", 1, 10_000, 0),
        T("top_up", 1, 10_000, 0, "bank"),
        T("agent_settlement", 1, 14_840_000, 0),
    ]
    assert report.rows("accounts") == (
        AccountsRow("all", None, 9, 1),  # late opened; only ploy did anything
        AccountsRow("tier", "basic", 1, 1),
        AccountsRow("tier", "plus", 1, 0),
        AccountsRow("tier", "none", 7, 0),
        AccountsRow("wallet_type", "consumer", 6, 1),
        AccountsRow("wallet_type", "merchant", 1, 0),
        AccountsRow("wallet_type", "agent", 1, 0),
        AccountsRow("wallet_type", "unclassified", 1, 0),
    )


def test_a_period_before_anything_lists_every_category_at_zero(runner: Runner) -> None:
    report = activity(runner, date(2026, 2, 1), date(2026, 2, 28))
    rows = report.rows("transactions")
    assert len(rows) == 15 + 5  # every category, and every top-up channel
    assert all(r.count == r.amount_minor == r.fee_minor == 0 for r in rows)
    assert report.rows("accounts") == (
        AccountsRow("all", None, 0, 0),
        AccountsRow("tier", "none", 0, 0),
        AccountsRow("wallet_type", "consumer", 0, 0),
        AccountsRow("wallet_type", "merchant", 0, 0),
        AccountsRow("wallet_type", "agent", 0, 0),
    )


def _json(golden: Path, start: date, end: date) -> str:
    with Ledger.open(golden, create=False) as book, Runner(book) as r:
        return activity(r, start, end).content()


def test_a_past_period_is_unchanged_by_later_events(golden: Path) -> None:
    before = _json(golden, DAY_1, DAY_2)
    with later(golden, at(date(2026, 3, 5), 9)) as book:
        for command in (
            book.chart.open_wallet("wallet:other", wallet_type="corporate"),
            TopUp(id="t8", wallet="wallet:other", amount_minor=70_000, channel="card"),
            # a journal entry backdated into the period is no customer transaction
            PostEntry(
                id="late-credit-2",
                kind="adjustment",
                postings=[Debit("bank:trust", 50_000), Credit("wallet:mai", 50_000)],
                effective_at=at(DAY_2, 21),
                backdated=True,
            ),
        ):
            assert isinstance(book.submit(command), Accepted)
    assert _json(golden, DAY_1, DAY_2) == before


def test_rebuilt_read_models_give_the_same_report(runner: Runner, tmp_path: Path) -> None:
    here = activity(runner, DAY_1, DAY_3).content()
    with runner.rebuild_into(tmp_path / "other.db") as other:
        assert activity(other, DAY_1, DAY_3).content() == here


def test_csv_and_json_round_trip(runner: Runner) -> None:
    round_trips(activity(runner, DAY_1, DAY_2))
    round_trips(activity(runner, date(2026, 2, 1), date(2026, 2, 1)))


@pytest.mark.parametrize(
    "start,end",
    [
        (DAY_2, DAY_1),
        (datetime(2026, 3, 2, tzinfo=BANGKOK), DAY_2),
        (DAY_1, "2026-03-03"),
        (None, DAY_2),
        (DAY_1, date.max),
    ],
    ids=str,
)
def test_bad_inputs_raise_and_change_nothing(
    golden: Path, tmp_path: Path, start: Any, end: Any
) -> None:
    with Ledger.open(golden, create=False) as book, Runner(book, tmp_path / "reads.db") as r:
        head, before = book.head(), r.checkpoints()
        with pytest.raises(InvalidCommand):
            activity(r, start, end)
        assert r.checkpoints() == before and all(c.seq == 0 for c in before.values())
        assert book.head() == head
    with pytest.raises(InvalidCommand):
        activity("reads.db", DAY_1, DAY_2)  # type: ignore[arg-type]


# --- a COD refund into a wallet and a loan recovery taken from one ---------------------------


def _accept(book: Ledger, command: Command) -> None:
    result = book.submit(command)
    assert isinstance(result, Accepted), result


@contextmanager
def refund_and_recovery() -> Iterator[tuple[Ledger, Runner, ManualClock]]:
    """A ledger in memory, its read models caught up at the end of 2 March, then 3 March:

    2 March (Bangkok): the COD and loan accounts; courier K1, merchant M1 (its wallet
    ``merchant:M1:wallet``), wallets ``wallet:buyer`` and ``wallet:borrower``; capital of
    1,000.00 in the COD bank and 10,000.00 in the lender's bank. 10:00 loan L1 of 1,000.00
    paid into ``wallet:borrower``; orders O1 (500.00 cash, 50.00 shipping) and O2 (200.00,
    40.00 shipping) delivered; 11:00 both returned: 450.00 and 160.00 owed to the buyers.

    3 March: 10:00 O1's 450.00 refunded into ``wallet:buyer``; O2's 160.00 to the buyer's
    bank; L1 written off; 300.00 recovered from ``wallet:borrower``, 100.00 from a
    collector into the lender's bank.
    """
    clock = ManualClock(at(DAY_1, 8))
    with Ledger.open(":memory:", clock=clock) as book, Runner(book) as runner:
        chart = book.chart
        results = book.open_chart(cod=True, loans=True)
        results += book.submit_many(
            [
                *chart.open_courier("K1"),
                *chart.open_cod_merchant("M1"),
                chart.open_wallet("wallet:buyer"),
                chart.open_wallet("wallet:borrower"),
                OpenAccount(
                    id="open-equity", account="equity:capital", type="equity", currency="THB"
                ),
                PostEntry(
                    id="capital",
                    kind="capital",
                    postings=[
                        Debit(chart.cod_bank, 100_000),
                        Debit(chart.loan_bank, 1_000_000),
                        Credit("equity:capital", 1_100_000),
                    ],
                ),
            ]
        )
        assert all(isinstance(r, Accepted) for r in results), results
        clock.now = at(DAY_1, 10)
        _accept(
            book,
            DisburseLoan(
                id="lend",
                loan="L1",
                borrower="B1",
                wallet="wallet:borrower",
                principal_minor=100_000,
                annual_rate_bps=2_800,
                installments=3,
                first_due=date(2026, 4, 2),
            ),
        )
        for order, cash, shipping in (("O1", 50_000, 5_000), ("O2", 20_000, 4_000)):
            _accept(
                book,
                CodDelivered(
                    id=f"deliver-{order}",
                    order=order,
                    courier="K1",
                    merchant="M1",
                    amount_minor=cash,
                    commission_minor=cash // 20,
                    shipping_minor=shipping,
                ),
            )
        clock.now = at(DAY_1, 11)
        _accept(book, CodReturned(id="return-O1", order="O1"))
        _accept(book, CodReturned(id="return-O2", order="O2"))
        runner.catch_up()  # the read models are folded through 2 March, then go on
        clock.now = at(DAY_2, 10)
        for command in (
            CodRefunded(id="refund-O1", order="O1", wallet="wallet:buyer"),
            CodRefunded(id="refund-O2", order="O2"),  # to the buyer's bank: no e-money
            WriteOffLoan(id="write-off", loan="L1"),
            RecoverLoan(id="recover-wallet", loan="L1", amount_minor=30_000),
            RecoverLoan(id="recover-bank", loan="L1", amount_minor=10_000, from_bank=True),
        ):
            _accept(book, command)
        yield book, runner, clock


def test_a_cod_refund_into_a_wallet_and_a_recovery_from_one_are_counted() -> None:
    with refund_and_recovery() as (_, runner, _clock):
        report = activity(runner, DAY_2, DAY_2)
        # O1: 500.00 cash less 50.00 shipping = 450.00 refunded = 45_000 satang of new
        # e-money in wallet:buyer; O2's 160.00 went to a bank, no wallet. L1: 300.00 =
        # 30_000 taken from wallet:borrower; the collector's 100.00 never was e-money. The
        # write-off and its accrual are the lender's books, not customer transactions.
        assert [r for r in report.rows("transactions") if r.count] == [
            T("loan_recovery", 1, 30_000, 0),
            T("cod_refund", 1, 45_000, 0),
        ]
        assert [r.category for r in report.rows("transactions") if r.channel is None] == list(
            CATEGORIES
        )
        # wallets: buyer, borrower (consumer) and M1's (merchant); buyer and borrower did
        # something on 3 March, and only what is counted above
        assert report.rows("accounts") == (
            AccountsRow("all", None, 3, 2),
            AccountsRow("tier", "none", 3, 2),
            AccountsRow("wallet_type", "consumer", 2, 2),
            AccountsRow("wallet_type", "merchant", 1, 0),
            AccountsRow("wallet_type", "agent", 0, 0),
        )
        # on 2 March only the loan was a customer transaction: the borrower was active
        day_1 = activity(runner, DAY_1, DAY_1)
        assert [r for r in day_1.rows("transactions") if r.count] == [
            T("loan_disbursement", 1, 100_000, 0)
        ]
        assert day_1.rows("accounts")[0] == AccountsRow("all", None, 3, 1)
        round_trips(report)


def test_the_rebuilt_transactions_equal_the_incremental_ones(tmp_path: Path) -> None:
    """The recovery's wallet is the loan's, found in the read model's own rows: folded in
    two goes (2 March, then 3 March) or from seq 1 at once, the rows are the same."""
    with refund_and_recovery() as (_, runner, _clock):
        here = activity(runner, DAY_1, DAY_2).content()
        with runner.rebuild_into(tmp_path / "other.db") as other:
            assert activity(other, DAY_1, DAY_2).content() == here
            assert canonical_dump(other.db, other.projections) == canonical_dump(
                runner.db, runner.projections
            )
        rows = runner.db.execute(
            "SELECT command_id, category, party, counterparty, amount_minor, fee_minor"
            " FROM proj_transactions ORDER BY seq"
        ).fetchall()
        assert rows == [
            ("lend", "loan_disbursement", "wallet:borrower", "L1", 100_000, 0),
            ("refund-O1", "cod_refund", "wallet:buyer", "O1", 45_000, 0),
            ("recover-wallet", "loan_recovery", "wallet:borrower", "L1", 30_000, 0),
        ]
        # no channel, no agent, no cash handed over; all in the chart's currency
        assert runner.db.execute(
            "SELECT DISTINCT channel, agent, cash, currency FROM proj_transactions"
        ).fetchall() == [(None, None, 0, "THB")]
