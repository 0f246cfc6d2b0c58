"""The AML report on the golden log, every figure worked out by hand from the log in
tests/golden/wallet_day.py; the edges of a threshold and of a business day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger import Accepted, Command, Ledger, TopUp, Transfer
from ledger.errors import InvalidCommand
from ledger.testing.wallet import ManualClock
from projections.reports.aml import (
    DEFAULT_RULES,
    AmlRule,
    DailyRow,
    StructuringRow,
    ThresholdRow,
    aml,
)
from projections.runner import Runner
from tests.golden.wallet_day import BANGKOK, DAY_1, DAY_2, DAY_3, at, build, later, round_trips
from tests.reports.test_activity import refund_and_recovery


@pytest.fixture
def golden(tmp_path: Path) -> Path:
    path = tmp_path / "golden.db"
    build(path)
    return path


@pytest.fixture
def runner(golden: Path) -> Iterator[Runner]:
    with Ledger.open(golden, create=False) as book, Runner(book) as r:
        yield r


def test_the_default_rules_are_the_regulations_figures() -> None:
    cash, transfer, bill = DEFAULT_RULES
    assert cash == AmlRule("cash_transaction", 200_000_000, ("top_up",), cash_only=True)
    assert transfer == AmlRule("electronic_transfer_cash", 10_000_000, ("top_up",), cash_only=True)
    assert bill == AmlRule("cash_bill_payment", 70_000_000, ("bill_payment",), cash_only=False)


def test_two_business_days(runner: Runner) -> None:
    report = aml(runner, DAY_1, DAY_2)
    assert report.name == "aml"
    assert report.parameters == {
        "from": "2026-03-02",
        "to": "2026-03-03",
        "timezone": "Asia/Bangkok",
        "start": "2026-03-02T00:00:00+07:00",
        "cut_off": "2026-03-04T00:00:00+07:00",
        "rules": "cash_transaction: top_up cash >= 2,000,000.00; electronic_transfer_cash:"
        " top_up cash >= 100,000.00; cash_bill_payment: bill_payment >= 700,000.00",
    }
    # kan's 2,500,000.00 in cash at agent somchai (seq 37) is over both cash thresholds;
    # its bill of 750,000.00 (seq 38) over the bill threshold. Nothing else reaches one.
    top_up: dict[str, Any] = {
        "seq": 37,
        "effective_at": at(DAY_2, 9, 30),
        "day": DAY_2,
        "category": "top_up",
        "channel": "agent",
        "party": "wallet:kan",
        "counterparty": "agent:somchai:receivable",
        "agent": "agent:somchai:receivable",
        "amount_minor": 250_000_000,
    }
    assert report.rows("threshold") == (
        ThresholdRow(rule="cash_transaction", **top_up),
        ThresholdRow(rule="electronic_transfer_cash", **top_up),
        ThresholdRow(
            rule="cash_bill_payment",
            seq=38,
            effective_at=at(DAY_2, 10),
            day=DAY_2,
            category="bill_payment",
            channel=None,
            party="wallet:kan",
            counterparty="MEA",
            agent=None,
            amount_minor=75_000_000,
        ),
    )
    # lek's three counter pieces of 2 March: 9_900_000 + 9_950_000 + 9_990_000 = 29_840_000,
    # each below 10_000_000, together above it; below 200_000_000 of the other cash rule.
    # kan's day has one piece over the threshold and none below it: no candidate.
    assert report.rows("structuring") == (
        StructuringRow("electronic_transfer_cash", "wallet:lek", DAY_1, 3, 29_840_000, 9_990_000),
    )
    assert report.rows("daily") == (
        DailyRow("wallet:agent-somchai", DAY_2, 1, 1_000_000, 0),
        # t5 250_000_000 + bill 75_000_000 + p2p 2_000_000
        DailyRow("wallet:kan", DAY_2, 3, 327_000_000, 250_000_000),
        DailyRow("wallet:lek", DAY_1, 3, 29_840_000, 29_840_000),
        # t2 300_000 + t4 100_000 (agent, cash) + bill 125_000 + w1 50_000
        DailyRow("wallet:nok", DAY_1, 4, 575_000, 100_000),
        # t1 500_000 + pay 35_000 + p2p 20_000 + capture 42_000 + refund 10_000 + fx 100_000
        DailyRow("wallet:ploy", DAY_1, 6, 707_000, 0),
        DailyRow("wallet:shop-dao", DAY_2, 1, 500_000, 0),
    )
    assert report.ok


def test_the_day_after(runner: Runner) -> None:
    report = aml(runner, DAY_3, DAY_3)
    assert report.rows("threshold") == () and report.rows("structuring") == ()
    # the agent's settlement is no customer's transaction
    assert report.rows("daily") == (DailyRow("wallet:ploy", DAY_3, 1, 10_000, 0),)


@pytest.fixture
def counter(tmp_path: Path) -> Iterator[tuple[Ledger, Runner, ManualClock]]:
    clock = ManualClock(at(date(2026, 12, 1), 9))
    with Ledger.open(tmp_path / "counter.db", clock=clock) as book, Runner(book) as r:
        book.open_chart()
        for command in (
            book.chart.open_agent("shop-1"),
            book.chart.open_wallet("wallet:a"),
            book.chart.open_wallet("wallet:b"),
        ):
            assert isinstance(book.submit(command), Accepted)
        yield book, r, clock


def _cash(id: str, wallet: str, amount_minor: int) -> Command:
    return TopUp(
        id=id,
        wallet=wallet,
        amount_minor=amount_minor,
        channel="counter",
        funding_account="agent:shop-1:receivable",
    )


def test_at_the_threshold_is_reported_and_pieces_reaching_it_exactly(
    counter: tuple[Ledger, Runner, ManualClock],
) -> None:
    book, runner, clock = counter
    for command in (
        _cash("a-1", "wallet:a", 10_000_000),  # exactly 100,000.00
        _cash("b-1", "wallet:b", 9_999_999),  # 99,999.99
        _cash("b-2", "wallet:b", 1),  # together exactly 100,000.00
    ):
        assert isinstance(book.submit(command), Accepted)
        clock.now = clock.now.replace(minute=clock.now.minute + 1)
    report = aml(runner, date(2026, 12, 1), date(2026, 12, 1))
    assert [(r.rule, r.party, r.amount_minor) for r in report.rows("threshold")] == [
        ("electronic_transfer_cash", "wallet:a", 10_000_000)
    ]
    assert report.rows("structuring") == (
        StructuringRow(
            "electronic_transfer_cash", "wallet:b", date(2026, 12, 1), 2, 10_000_000, 9_999_999
        ),
    )


def test_pieces_on_two_business_days_are_not_added_up(
    counter: tuple[Ledger, Runner, ManualClock],
) -> None:
    book, runner, clock = counter
    # 23:59 and 00:01 in Bangkok: one UTC day (16:59 and 17:01), two business days
    clock.now = datetime(2026, 12, 1, 23, 59, tzinfo=BANGKOK)
    assert isinstance(book.submit(_cash("b-1", "wallet:b", 6_000_000)), Accepted)
    clock.now = datetime(2026, 12, 2, 0, 1, tzinfo=BANGKOK)
    assert isinstance(book.submit(_cash("b-2", "wallet:b", 6_000_000)), Accepted)
    report = aml(runner, date(2026, 12, 1), date(2026, 12, 2))
    assert report.rows("structuring") == ()
    assert report.rows("daily") == (
        DailyRow("wallet:b", date(2026, 12, 1), 1, 6_000_000, 6_000_000),
        DailyRow("wallet:b", date(2026, 12, 2), 1, 6_000_000, 6_000_000),
    )
    # one period of 2 December alone sees only the second piece
    assert aml(runner, date(2026, 12, 2), date(2026, 12, 2)).rows("daily") == (
        DailyRow("wallet:b", date(2026, 12, 2), 1, 6_000_000, 6_000_000),
    )


def test_rules_are_configuration(counter: tuple[Ledger, Runner, ManualClock]) -> None:
    book, runner, clock = counter
    assert isinstance(book.submit(_cash("a-1", "wallet:a", 500_000)), Accepted)
    for n, amount in enumerate((30_000, 40_000), start=1):
        clock.now = clock.now.replace(hour=10 + n)
        p2p = Transfer(id=f"p{n}", source="wallet:a", destination="wallet:b", amount_minor=amount)
        assert isinstance(book.submit(p2p), Accepted)
    rules = (
        AmlRule("p2p", 50_000, ("p2p",), cash_only=False),
        AmlRule("any_cash", 500_000, ("top_up", "p2p"), cash_only=True),
    )
    report = aml(runner, date(2026, 12, 1), date(2026, 12, 1), rules=rules)
    assert [(r.rule, r.seq) for r in report.rows("threshold")] == [("any_cash", 6)]
    assert report.rows("structuring") == (
        StructuringRow("p2p", "wallet:a", date(2026, 12, 1), 2, 70_000, 40_000),
    )
    assert report.parameters["rules"] == (
        "p2p: p2p >= 500.00; any_cash: top_up/p2p cash >= 5,000.00"
    )


def _json(golden: Path, start: date, end: date) -> str:
    with Ledger.open(golden, create=False) as book, Runner(book) as r:
        return aml(r, start, end).content()


def test_a_past_period_is_unchanged_by_later_events(golden: Path) -> None:
    before = _json(golden, DAY_1, DAY_2)
    with later(golden, at(date(2026, 3, 5), 9)) as book:
        for command in (
            TopUp(
                id="t8",
                wallet="wallet:lek",
                amount_minor=9_000_000,
                channel="counter",
                funding_account="agent:7eleven-0042:receivable",
            ),
            Transfer(id="p2p-3", source="wallet:kan", destination="wallet:lek", amount_minor=1),
        ):
            assert isinstance(book.submit(command), Accepted)
    assert _json(golden, DAY_1, DAY_2) == before
    with Ledger.open(golden, create=False) as book, Runner(book) as r:
        assert aml(r, date(2026, 3, 5), date(2026, 3, 5)).rows("daily") == (
            DailyRow("wallet:kan", date(2026, 3, 5), 1, 1, 0),
            DailyRow("wallet:lek", date(2026, 3, 5), 1, 9_000_000, 9_000_000),
        )


def test_rebuilt_read_models_give_the_same_report(runner: Runner, tmp_path: Path) -> None:
    here = aml(runner, DAY_1, DAY_3).content()
    with runner.rebuild_into(tmp_path / "other.db") as other:
        assert aml(other, DAY_1, DAY_3).content() == here


def test_csv_and_json_round_trip(runner: Runner) -> None:
    round_trips(aml(runner, DAY_1, DAY_2))
    round_trips(aml(runner, DAY_3, DAY_3))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"name": ""},
        {"name": "has space"},
        {"name": 7},
        {"threshold_minor": 0},
        {"threshold_minor": True},
        {"threshold_minor": 1.0},
        {"categories": ["top_up"]},
        {"categories": ()},
        {"categories": ("cash",)},
        {"cash_only": 1},
    ],
    ids=str,
)
def test_a_bad_rule_is_refused(kwargs: Any) -> None:
    fields = {"name": "r", "threshold_minor": 1, "categories": ("top_up",), "cash_only": True}
    with pytest.raises(InvalidCommand):
        AmlRule(**{**fields, **kwargs})


@pytest.mark.parametrize(
    "args,kwargs",
    [
        ((DAY_2, DAY_1), {}),
        ((datetime(2026, 3, 2, tzinfo=BANGKOK), DAY_2), {}),
        ((DAY_1, "2026-03-03"), {}),
        ((DAY_1, DAY_2), {"rules": ()}),
        ((DAY_1, DAY_2), {"rules": "cash_transaction"}),
        ((DAY_1, DAY_2), {"rules": ("cash_transaction",)}),
        ((DAY_1, DAY_2), {"rules": (DEFAULT_RULES[0], DEFAULT_RULES[0])}),
    ],
    ids=str,
)
def test_bad_inputs_raise_and_change_nothing(
    golden: Path, tmp_path: Path, args: Any, kwargs: Any
) -> None:
    with Ledger.open(golden, create=False) as book, Runner(book, tmp_path / "reads.db") as r:
        head, before = book.head(), r.checkpoints()
        with pytest.raises(InvalidCommand):
            aml(r, *args, **kwargs)
        assert r.checkpoints() == before and all(c.seq == 0 for c in before.values())
        assert book.head() == head


def test_pieces_below_a_threshold_count_on_a_day_that_also_reached_it(golden: Path) -> None:
    """On 5 March lek deposits 100,000.00 in cash (reportable) and then five pieces of
    99,000.00: the pieces, 495,000.00, are a structuring candidate all the same."""
    with later(golden, at(date(2026, 3, 5), 9)) as book:
        for n, amount in enumerate([10_000_000] + [9_900_000] * 5):
            top = TopUp(
                id=f"cash-{n}",
                wallet="wallet:lek",
                amount_minor=amount,
                channel="counter",
                funding_account="agent:7eleven-0042:receivable",
            )
            assert isinstance(book.submit(top), Accepted)
    day = date(2026, 3, 5)
    with Ledger.open(golden, create=False) as book, Runner(book) as r:
        report = aml(r, day, day)
    assert [(t.rule, t.amount_minor) for t in report.rows("threshold")] == [
        ("electronic_transfer_cash", 10_000_000)
    ]
    # 5 x 9_900_000 = 49_500_000 >= 10_000_000; largest piece 9_900_000
    assert report.rows("structuring") == (
        StructuringRow("electronic_transfer_cash", "wallet:lek", day, 5, 49_500_000, 9_900_000),
    )


def test_a_cod_refund_into_a_wallet_and_a_recovery_from_one_are_in_the_aggregates() -> None:
    """The log of ``refund_and_recovery`` (tests/reports/test_activity.py), and at 12:00 on
    3 March a 1,000.00 bank top-up into wallet:buyer."""
    with refund_and_recovery() as (book, runner, clock):
        clock.now = at(DAY_2, 12)
        top_up = TopUp(id="top-up", wallet="wallet:buyer", amount_minor=100_000, channel="bank")
        assert isinstance(book.submit(top_up), Accepted)
        report = aml(runner, DAY_1, DAY_2)
        # nothing is cash, no bill is paid: no default rule has anything to report
        assert report.rows("threshold") == () and report.rows("structuring") == ()
        assert report.rows("daily") == (
            DailyRow("wallet:borrower", DAY_1, 1, 100_000, 0),  # the loan paid in
            # 300.00 recovered from the wallet; the collector's 100.00 was not the wallet's
            DailyRow("wallet:borrower", DAY_2, 1, 30_000, 0),
            # O1's 450.00 refunded into the wallet + the 1,000.00 top-up = 1,450.00
            DailyRow("wallet:buyer", DAY_2, 2, 145_000, 0),
        )
        # a licence's rules may name the new categories
        seq = {r.command_id: r.seq for r in book.events()}
        rules = (
            AmlRule("cod_refund_review", 45_000, ("cod_refund",), cash_only=False),
            AmlRule("recovery_review", 30_000, ("loan_recovery",), cash_only=False),
        )
        review = aml(runner, DAY_2, DAY_2, rules=rules)
        assert review.rows("threshold") == (  # each at its rule's threshold
            ThresholdRow(
                rule="cod_refund_review",
                seq=seq["refund-O1"],
                effective_at=at(DAY_2, 10),
                day=DAY_2,
                category="cod_refund",
                channel=None,
                party="wallet:buyer",
                counterparty="O1",
                agent=None,
                amount_minor=45_000,
            ),
            ThresholdRow(
                rule="recovery_review",
                seq=seq["recover-wallet"],
                effective_at=at(DAY_2, 10),
                day=DAY_2,
                category="loan_recovery",
                channel=None,
                party="wallet:borrower",
                counterparty="L1",
                agent=None,
                amount_minor=30_000,
            ),
        )
        assert review.rows("structuring") == ()
        round_trips(report)
        round_trips(review)
