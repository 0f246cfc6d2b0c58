"""The safeguarding report on the golden log, every figure worked out by hand from the
log in tests/golden/wallet_day.py; a past day that later events leave alone; a shortfall
that fails loudly."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from ledger import Accepted, Chart, Credit, Debit, Ledger, OpenAccount, Pay, PostEntry, TopUp
from ledger.errors import InvalidCommand
from ledger.times import ManualClock
from projections.reports.safeguarding import CheckRow, OutstandingRow, safeguarding
from projections.runner import Runner
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


# --- the figures -------------------------------------------------------------------------
#
# At the end of 2 March (cut-off 2026-03-03 00:00 Bangkok), in satang:
#
# bank:trust   500_000 (t1) + 300_000 (t2, card) + 15_000_000 (settle-1) - 50_000 (w1)
#              + 100_000 (late-credit, recorded on 3 March, effective 2 March 20:00)
#            = 15_850_000
# agents       7eleven 9_900_000 + 9_950_000 + 9_990_000 - 15_000_000 = 14_840_000
#              somchai 100_000                                          =    100_000
# ploy         500_000 - 35_000 (pay) - 20_000 (p2p) - 42_000 (capture) + 10_000 (refund)
#              - 100_000 (exchange) = 313_000
# nok          297_000 (card, less its fee) + 100_000 + 20_000 - 125_000 (bill) - 51_000
#              (withdrawal and its fee) = 241_000
# lek          9_898_500 + 9_948_500 + 9_988_500 = 29_835_500 (each piece less 1_500)
# legacy-1     100_000 (no wallet_type in its metadata: unclassified)
# ploy-usd     2_850 USD: not the chart's currency, not counted
# kan, mai     opened on 3 March: not yet there


def test_end_of_day_1(runner: Runner) -> None:
    report = safeguarding(runner, DAY_1)
    assert report.name == "safeguarding"
    assert report.currency == "THB"
    assert report.parameters == {
        "date": "2026-03-02",
        "timezone": "Asia/Bangkok",
        "cut_off": "2026-03-03T00:00:00+07:00",
        "equity_minor": "-",
        "min_equity_bps": "800",
    }
    assert report.rows("outstanding") == (
        OutstandingRow("consumer", 3, 30_389_500),  # 313_000 + 241_000 + 29_835_500
        OutstandingRow("merchant", 1, 0),
        OutstandingRow("agent", 1, 0),
        OutstandingRow("unclassified", 1, 100_000),
        OutstandingRow("total", 6, 30_489_500),
    )
    assert report.rows("check") == (
        CheckRow(
            trust_minor=15_850_000,
            in_transit_minor=14_940_000,  # 14_840_000 + 100_000
            safeguarded_minor=30_790_000,
            emoney_minor=30_489_500,
            # the fees, payables and the THB FX position the trust also holds:
            # 9_875 + 24_625 (cafe) + 42_000 (hotel) + 124_000 (MEA) + 100_000 (fx:THB)
            surplus_minor=300_500,
            shortfall_minor=0,
            equity_minor=None,
            equity_ratio_bps=None,
            ok=True,
        ),
    )
    assert report.ok and report.findings == ()


# At the end of 3 March:
# bank:trust   15_850_000 + 1_000_000 (t6, promptpay) - 500_000 (w2) + 100_000_000
#              (settle-2) = 116_350_000
# agents       7eleven 14_840_000; somchai 100_000 + 250_000_000 - 100_000_000 = 150_100_000
# kan          250_000_000 - 75_000_000 (bill) - 2_000_000 (p2p) = 173_000_000; mai 0
# consumer     313_000 + 241_000 + 29_835_500 + 173_000_000 + 0 = 203_389_500
# shop-dao     2_000_000 - 500_000 = 1_500_000; agent-somchai 1_000_000
# e-money      203_389_500 + 1_500_000 + 1_000_000 + 100_000 = 205_989_500
# equity 15_000_000: 15_000_000 * 10_000 // 205_989_500 = 728
#   (205_989_500 * 728 = 149_960_356_000 <= 150_000_000_000 < 150_166_345_500 = * 729)


def test_end_of_day_2_with_equity_below_the_minimum(runner: Runner) -> None:
    report = safeguarding(runner, DAY_2, equity_minor=15_000_000)
    assert report.rows("outstanding") == (
        OutstandingRow("consumer", 5, 203_389_500),
        OutstandingRow("merchant", 1, 1_500_000),
        OutstandingRow("agent", 1, 1_000_000),
        OutstandingRow("unclassified", 1, 100_000),
        OutstandingRow("total", 8, 205_989_500),
    )
    assert report.rows("check") == (
        CheckRow(
            trust_minor=116_350_000,
            in_transit_minor=164_940_000,  # 14_840_000 + 150_100_000
            safeguarded_minor=281_290_000,
            emoney_minor=205_989_500,
            surplus_minor=75_300_500,  # day 1's 300_500 + MEA's 75_000_000
            shortfall_minor=0,
            equity_minor=15_000_000,
            equity_ratio_bps=728,
            ok=False,
        ),
    )
    assert report.findings == (
        "EQUITY BELOW MINIMUM on 2026-03-03: equity 150,000.00 THB is 728 bps of e-money"
        " outstanding 2,059,895.00 THB; the minimum is 800 bps",
    )
    assert not report.ok
    assert report.parameters["equity_minor"] == "15000000"


def test_equity_at_or_above_the_minimum_is_no_finding(runner: Runner) -> None:
    # 20_000_000 * 10_000 // 205_989_500 = 970 (205_989_500 * 971 = 200_015_804_500)
    enough = safeguarding(runner, DAY_2, equity_minor=20_000_000)
    assert enough.rows("check")[0].equity_ratio_bps == 970
    assert enough.ok
    # a minimum of 970 is met exactly, 971 is not
    assert safeguarding(runner, DAY_2, equity_minor=20_000_000, min_equity_bps=970).ok
    short = safeguarding(runner, DAY_2, equity_minor=20_000_000, min_equity_bps=971)
    assert short.findings == (
        "EQUITY BELOW MINIMUM on 2026-03-03: equity 200,000.00 THB is 970 bps of e-money"
        " outstanding 2,059,895.00 THB; the minimum is 971 bps",
    )


def test_day_3_and_a_day_before_anything(runner: Runner) -> None:
    day_3 = safeguarding(runner, DAY_3).rows("check")[0]
    # t7 +10_000 into ploy and the trust; settle-3 moves 14_840_000 from 7eleven to the trust
    assert (day_3.trust_minor, day_3.in_transit_minor) == (131_200_000, 150_100_000)
    assert day_3.emoney_minor == 205_999_500
    assert safeguarding(runner, DAY_3).rows("outstanding")[0] == OutstandingRow(
        "consumer", 6, 203_399_500
    )  # late opened on 4 March
    before = safeguarding(runner, date(2026, 3, 1), equity_minor=1_000)
    assert before.rows("outstanding") == (
        OutstandingRow("consumer", 0, 0),
        OutstandingRow("merchant", 0, 0),
        OutstandingRow("agent", 0, 0),
        OutstandingRow("total", 0, 0),
    )
    assert before.rows("check") == (CheckRow(0, 0, 0, 0, 0, 0, 1_000, None, True),)
    assert before.ok


# --- time: a past day stays as it was, except for what is backdated into it --------------


def _figures(golden: Path, day: date) -> str:
    with Ledger.open(golden, create=False) as book, Runner(book) as r:
        return safeguarding(r, day, equity_minor=15_000_000).content()


def test_a_past_day_is_unchanged_by_later_events(golden: Path) -> None:
    day_1, day_2 = _figures(golden, DAY_1), _figures(golden, DAY_2)
    with later(golden, at(date(2026, 3, 5), 9)) as book:
        chart = book.chart
        for command in (
            TopUp(id="t8", wallet="wallet:mai", amount_minor=70_000, channel="bank"),
            Pay(id="pay-2", wallet="wallet:mai", merchant="cafe-ari", amount_minor=20_000),
            chart.open_wallet("wallet:new-agent", wallet_type="agent"),
            chart.open_wallet("wallet:other", wallet_type="corporate"),
        ):
            assert isinstance(book.submit(command), Accepted)
    assert (_figures(golden, DAY_1), _figures(golden, DAY_2)) == (day_1, day_2)

    # A correction booked on 5 March for 3 March 21:00 changes 3 March, not 2 March.
    with later(golden, at(date(2026, 3, 5), 10)) as book:
        backdated = PostEntry(
            id="late-credit-2",
            kind="adjustment",
            postings=[Debit("bank:trust", 50_000), Credit("wallet:mai", 50_000)],
            effective_at=at(DAY_2, 21),
            backdated=True,
        )
        assert isinstance(book.submit(backdated), Accepted)
    assert _figures(golden, DAY_1) == day_1
    with Ledger.open(golden, create=False) as book, Runner(book) as r:
        report = safeguarding(r, DAY_2)
    assert report.rows("outstanding")[0] == OutstandingRow("consumer", 5, 203_439_500)
    check = report.rows("check")[0]
    assert (check.trust_minor, check.emoney_minor) == (116_400_000, 206_039_500)
    assert check.surplus_minor == 75_300_500  # both sides moved by 50_000


def test_rebuilt_read_models_give_the_same_report(runner: Runner, tmp_path: Path) -> None:
    for day in (DAY_1, DAY_2, DAY_3):
        here = safeguarding(runner, day, equity_minor=15_000_000).to_json()
        with runner.rebuild_into(tmp_path / f"other-{day}.db") as other:
            assert safeguarding(other, day, equity_minor=15_000_000).to_json() == here


# --- exports -----------------------------------------------------------------------------


def test_csv_and_json_round_trip(runner: Runner) -> None:
    for report in (
        safeguarding(runner, DAY_1),
        safeguarding(runner, DAY_2, equity_minor=15_000_000),
    ):
        round_trips(report)


# --- bad inputs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"day": datetime(2026, 3, 2, tzinfo=BANGKOK)},
        {"day": "2026-03-02"},
        {"day": date.max},
        {"equity_minor": -1},
        {"equity_minor": True},
        {"equity_minor": 1.5},
        {"equity_minor": "150000000"},
        {"equity_minor": 2**63},
        {"min_equity_bps": True},
        {"min_equity_bps": -1},
        {"min_equity_bps": 8.0},
    ],
    ids=str,
)
def test_bad_inputs_raise_and_change_nothing(golden: Path, tmp_path: Path, kwargs: Any) -> None:
    with Ledger.open(golden, create=False) as book, Runner(book, tmp_path / "reads.db") as r:
        head = book.head()
        before = r.checkpoints()
        with pytest.raises(InvalidCommand):
            safeguarding(r, **{"day": DAY_1, **kwargs})
        assert r.checkpoints() == before  # not even caught up
        assert all(c.seq == 0 for c in before.values())
        assert book.head() == head
    with pytest.raises(InvalidCommand):
        safeguarding(object(), DAY_1)  # type: ignore[arg-type]


# --- the check fails loudly when cash and liabilities disagree ---------------------------


@pytest.fixture
def small(tmp_path: Path) -> Iterator[tuple[Ledger, Runner]]:
    clock = ManualClock(at(date(2026, 12, 1), 9))
    with Ledger.open(tmp_path / "small.db", clock=clock) as book, Runner(book) as r:
        book.open_chart()
        for command in (
            book.chart.open_wallet("wallet:u1"),
            book.chart.open_agent("shop-1"),
            OpenAccount(id="o-promo", account="expense:promo", type="expense", currency="THB"),
            OpenAccount(id="o-charges", account="expense:bank", type="expense", currency="THB"),
            TopUp(id="t1", wallet="wallet:u1", amount_minor=100_000, channel="bank"),
            TopUp(
                id="t2",
                wallet="wallet:u1",
                amount_minor=30_000,
                channel="counter",
                funding_account=book.chart.agent("shop-1"),
            ),
        ):
            assert isinstance(book.submit(command), Accepted)
        yield book, r


def test_a_wallet_credited_from_an_expense_is_a_shortfall(small: tuple[Ledger, Runner]) -> None:
    book, runner = small
    assert safeguarding(runner, date(2026, 12, 1)).ok  # 100_000 + 30_000 against 130_000
    promo = PostEntry(
        id="promo-1",
        kind="adjustment",
        postings=[Debit("expense:promo", 5_000), Credit("wallet:u1", 5_000)],
    )
    assert isinstance(book.submit(promo), Accepted)
    report = safeguarding(runner, date(2026, 12, 1))
    assert not report.ok
    # e-money 100_000 + 30_000 + 5_000 = 135_000; safeguarded 100_000 + 30_000 = 130_000
    assert report.rows("check") == (
        CheckRow(100_000, 30_000, 130_000, 135_000, 0, 5_000, None, None, False),
    )
    assert report.findings == (
        "SAFEGUARDING SHORTFALL on 2026-12-01: e-money outstanding 1,350.00 THB exceeds"
        " safeguarded funds 1,300.00 THB (trust 1,000.00 THB + in transit 300.00 THB) by"
        " 50.00 THB",
    )
    assert "!! SAFEGUARDING SHORTFALL on 2026-12-01" in report.to_table()
    assert json.loads(report.to_json())["ok"] is False


def test_trust_debited_without_the_wallet_is_a_shortfall(small: tuple[Ledger, Runner]) -> None:
    book, runner = small
    charges = PostEntry(
        id="charges-1",
        kind="adjustment",
        postings=[Debit("expense:bank", 12_345), Credit("bank:trust", 12_345)],
    )
    assert isinstance(book.submit(charges), Accepted)
    check = safeguarding(runner, date(2026, 12, 1), equity_minor=100_000).rows("check")[0]
    # trust 100_000 - 12_345 = 87_655; + 30_000 in transit = 117_655 against 130_000
    assert (check.safeguarded_minor, check.emoney_minor) == (117_655, 130_000)
    assert check.shortfall_minor == 12_345 and check.surplus_minor == 0
    assert check.equity_ratio_bps == 7_692  # 100_000 * 10_000 // 130_000 = 7_692.3
    assert not check.ok


def test_a_report_as_filed_is_reproduced_by_a_runner_pinned_to_its_log_seq(golden: Path) -> None:
    """The report of 2 March as filed that evening (the log then ended at seq 34, before
    the late credit of 3 March was backdated into 2 March) comes back exactly from a
    runner pinned to seq 34, while today's report of 2 March includes the late credit."""
    with Ledger.open(golden, create=False) as book:
        with Runner(book, ":memory:", until=34) as pinned:
            as_filed = safeguarding(pinned, DAY_1)
        with Runner(book, ":memory:") as now:
            today = safeguarding(now, DAY_1)
        assert as_filed.log_seq == 34 and today.log_seq == 47
        # 15_850_000 today less the 100_000 late credit (seq 41) = 15_750_000 as filed
        assert as_filed.rows("check")[0].trust_minor == 15_750_000
        assert today.rows("check")[0].trust_minor == 15_850_000
        # legacy-1 held only the late credit: at zero as filed
        filed_types = {r.wallet_type: r.balance_minor for r in as_filed.rows("outstanding")}
        assert filed_types["unclassified"] == 0
        with Runner(book, ":memory:", until=as_filed.log_seq) as again:
            assert safeguarding(again, DAY_1).to_json() == as_filed.to_json()
        with Runner(book) as live:  # the ledger file's own read models, at the head
            live.catch_up()
        with pytest.raises(InvalidCommand, match="folded past seq 34"):
            Runner(book, until=34)


def test_e_money_in_another_currency_is_listed_apart(runner: Runner) -> None:
    """ploy-usd holds the 28.50 USD of the exchange at 19:30 on 2 March: owed to its holder,
    outside the THB check, listed in its own section in its own minor units."""
    from projections.reports.safeguarding import OtherCurrencyRow

    assert safeguarding(runner, DAY_1).rows("other_currencies") == (
        OtherCurrencyRow("USD", 1, 2_850),
    )
    table = safeguarding(runner, DAY_1).to_table()
    assert "  USD             1    28.50" in table
    assert safeguarding(runner, date(2026, 3, 1)).rows("other_currencies") == ()


# --- cash in transit the chart declares ------------------------------------------------------

ACQUIRER = "acquirer:kbank:settlement"


def _acquirer_ledger(path: Path) -> None:
    """On 1 December (Bangkok): a bank top-up of 100_000, a card top-up of 50_000 less a
    1_000 fee funded from the card acquirer's settlement receivable (as docs/flows/wallet.md
    has it), the acquirer settling 20_000 of it into the trust. On 2 December the acquirer
    settles the remaining 30_000."""
    clock = ManualClock(at(date(2026, 12, 1), 9))
    with Ledger.open(path, clock=clock) as book:
        book.open_chart()
        for command in (
            book.chart.open_wallet("wallet:u1"),
            OpenAccount(
                id="o-acq", account=ACQUIRER, type="asset", currency="THB", no_overdraft=True
            ),
            TopUp(id="t-bank", wallet="wallet:u1", amount_minor=100_000, channel="bank"),
            TopUp(
                id="t-card",
                wallet="wallet:u1",
                amount_minor=50_000,
                fee_minor=1_000,
                channel="card",
                funding_account=ACQUIRER,
            ),
            PostEntry(
                id="settle-1",
                kind="adjustment",
                postings=[Debit("bank:trust", 20_000), Credit(ACQUIRER, 20_000)],
            ),
        ):
            assert isinstance(book.submit(command), Accepted)
        clock.now = at(date(2026, 12, 2), 9)
        settle = PostEntry(
            id="settle-2",
            kind="adjustment",
            postings=[Debit("bank:trust", 30_000), Credit(ACQUIRER, 30_000)],
        )
        assert isinstance(book.submit(settle), Accepted)


# At the end of 1 December, in satang:
#   wallet:u1   100_000 (bank) + 49_000 (card, 50_000 less its 1_000 fee)  = 149_000
#   bank:trust  100_000 (bank) + 20_000 (settle-1)                         = 120_000
#   acquirer     50_000 (card) - 20_000 (settle-1)                         =  30_000
# At the end of 2 December the acquirer has settled the rest:
#   bank:trust  120_000 + 30_000 = 150_000; acquirer 30_000 - 30_000 = 0


@pytest.mark.parametrize("declared", ["acquirer:{acquirer}:settlement", ACQUIRER])
def test_a_declared_acquirer_receivable_is_cash_in_transit(tmp_path: Path, declared: str) -> None:
    path = tmp_path / "acquirer.db"
    _acquirer_ledger(path)
    chart = Chart(cash_in_transit=(declared,))
    with Ledger.open(path, create=False, chart=chart) as book, Runner(book, ":memory:") as r:
        report = safeguarding(r, date(2026, 12, 1))
        # 120_000 + 30_000 = 150_000 against 149_000: 1_000 over, the card fee
        assert report.rows("check") == (
            CheckRow(120_000, 30_000, 150_000, 149_000, 1_000, 0, None, None, True),
        )
        assert report.ok and report.findings == ()
        # once settled, the same cash is in the trust: the safeguarded total is unchanged
        next_day = safeguarding(r, date(2026, 12, 2)).rows("check")[0]
        assert (next_day.trust_minor, next_day.in_transit_minor) == (150_000, 0)
        assert next_day.safeguarded_minor == 150_000 and next_day.ok


def test_an_undeclared_acquirer_receivable_is_a_shortfall(tmp_path: Path) -> None:
    path = tmp_path / "acquirer.db"
    _acquirer_ledger(path)
    with Ledger.open(path, create=False) as book, Runner(book, ":memory:") as r:  # Chart()
        report = safeguarding(r, date(2026, 12, 1))
        # only the trust's 120_000 against 149_000: short by 29_000
        assert report.rows("check") == (
            CheckRow(120_000, 0, 120_000, 149_000, 0, 29_000, None, None, False),
        )
        assert report.findings == (
            "SAFEGUARDING SHORTFALL on 2026-12-01: e-money outstanding 1,490.00 THB exceeds"
            " safeguarded funds 1,200.00 THB (trust 1,200.00 THB + in transit 0.00 THB) by"
            " 290.00 THB",
        )
        # the next day the acquirer has paid the trust: 150_000 against 149_000, no finding
        assert safeguarding(r, date(2026, 12, 2)).ok


def test_a_declared_account_in_transit_counts_only_as_an_asset_in_the_charts_currency(
    tmp_path: Path,
) -> None:
    """An account the pattern names counts only if it is an asset in THB: a USD acquirer
    receivable, and a THB liability the pattern happens to name, are not cash in transit."""
    clock = ManualClock(at(date(2026, 12, 1), 9))
    chart = Chart(cash_in_transit=["acquirer:{acquirer}:settlement"])
    with (
        Ledger.open(tmp_path / "mixed.db", clock=clock, chart=chart) as book,
        Runner(book) as r,
    ):
        book.open_chart()
        for command in (
            book.chart.open_wallet("wallet:u1"),
            OpenAccount(
                id="o-usd", account="acquirer:visa:settlement", type="asset", currency="USD"
            ),
            OpenAccount(
                id="o-liab", account="acquirer:owed:settlement", type="liability", currency="THB"
            ),
            OpenAccount(id="o-usd-eq", account="equity:usd", type="equity", currency="USD"),
            TopUp(id="t-bank", wallet="wallet:u1", amount_minor=10_000, channel="bank"),
            PostEntry(
                id="usd-in",
                kind="adjustment",
                postings=[Debit("acquirer:visa:settlement", 700), Credit("equity:usd", 700)],
            ),
            PostEntry(
                id="liab",
                kind="adjustment",
                postings=[Debit("bank:trust", 2_500), Credit("acquirer:owed:settlement", 2_500)],
            ),
        ):
            assert isinstance(book.submit(command), Accepted), command
        check = safeguarding(r, date(2026, 12, 1)).rows("check")[0]
        # trust 10_000 + 2_500 = 12_500; in transit 0 (the USD asset's 700 and the THB
        # liability are neither counted); wallets 10_000
        assert (check.trust_minor, check.in_transit_minor, check.emoney_minor) == (
            12_500,
            0,
            10_000,
        )
