"""Golden figures of the COD outstanding report, worked out by hand from the story in
tests/golden/cod_loans.py (every number below is a literal, its arithmetic beside it).

The orders (cash, commission, shipping, COD fee; the merchant's share N = cash -
commission - shipping), all times in Bangkok:

| order | delivered | courier | merchant | cash | N | remitted |
| --- | --- | --- | --- | --- | --- | --- |
| O1 | 5 Feb 10:00 | K2 | M3 | 30,000 | 25,500 | 11 Mar |
| O2 | 20 Feb 10:00 | K2 | M2 | 60,000 | 53,000 | 11 Mar |
| O3 | 1 Mar 10:00 | K1 | M1 | 100,000 | 91,000 | 1 Mar; paid out 9 Mar, returned 12 Mar |
| O4 | 1 Mar 11:00 | K1 | M2 | 50,000 | 43,500 | 11 Mar |
| O5 | 2 Mar 10:00 | K2 | M3 | 200,000 | 184,000 | 2 Mar, 10,000 short; released 9 Mar |
| O6 | 4 Mar 10:00 | K1 | M1 | 80,000 | 72,000 | 4 Mar; returned 6 Mar |
| O7 | 9 Mar 10:00 | K1 | M3 | 120,000 | 110,000 | 11 Mar |
| O8 | 10 Mar 14:00 | K2 | M1 | 40,000 | 34,000 | 11 Mar |
| O9 | 11 Mar 01:00 | K1 | M2 | 70,000 | 62,500 | 11 Mar |
| O10 | 20 Apr 10:30 | K2 | M2 | 30,000 | 25,500 | 20 Apr; released 28 Apr |
| O11 | 11 May 10:00 | K1 | M1 | 90,000 | 81,500 | not by 12 May |
"""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger import (
    Accepted,
    CodDelivered,
    CodRemitted,
    CodReturned,
    Credit,
    Debit,
    InvalidCommand,
    Ledger,
    PostEntry,
)
from ledger.testing import ManualClock
from projections.reports.base import Report
from projections.reports.cod import CourierRow, MerchantRow, OpenOrderRow, cod_outstanding
from projections.runner import Runner
from tests.golden.cod_loans import BANGKOK, DAY_A, DAY_B, END, build
from tests.reports.test_loan_portfolio import round_trips


@pytest.fixture(scope="module")
def golden(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("golden") / "golden.db"
    build(path)
    return path


@pytest.fixture
def ledger_file(golden: Path, tmp_path: Path) -> Path:
    """A copy of the golden log this test may append to."""
    path = tmp_path / "ledger.db"
    shutil.copy(golden, path)
    return path


def report(path: Path, day: date, timezone: str = "Asia/Bangkok") -> Report:
    with (
        Ledger.open(path, create=False) as book,
        Runner(book, ":memory:", timezone=timezone) as runner,
    ):
        return cod_outstanding(runner, day)


def submit(path: Path, when: datetime, *commands: Any) -> None:
    with Ledger.open(path, create=False, clock=ManualClock(when)) as book:
        for command in commands:
            result = book.submit(command)
            assert isinstance(result, Accepted), (command, result)


# --- day A: the end of 10 March 2026 in Bangkok ----------------------------------------


def test_day_a_couriers(golden: Path) -> None:
    made = report(golden, DAY_A)
    assert made.name == "cod"
    assert made.parameters == {"date": "2026-03-10", "timezone": "Asia/Bangkok"}
    assert made.ok, made.findings
    assert made.rows("couriers") == (
        # O4 (1 Mar, 9 days) 50,000 and O7 (9 Mar, 1 day) 120,000; K1 remitted O3 and O6.
        # Receivable: 100,000 + 50,000 + 80,000 + 120,000 delivered - 100,000 - 80,000.
        CourierRow("K1", 2, 170_000, 9, 120_000, 50_000, 0, 0, 170_000, 0, 0),
        # O1 (5 Feb, 33 days) 30,000, O2 (20 Feb, 18 days) 60,000, O8 (today) 40,000.
        # Receivable: 30,000 + 60,000 + 200,000 + 40,000 - O5's 200,000 (credited whole
        # though 10,000 short: the shortfall is in the dispute receivable, 192,000 due
        # = 200,000 - 6,000 - 2,000, 182,000 deposited).
        CourierRow("K2", 3, 130_000, 33, 40_000, 0, 60_000, 30_000, 130_000, 10_000, 0),
    )


def test_day_a_open_orders(golden: Path) -> None:
    # O9 was delivered at 01:00 on 11 March in Bangkok (18:00 on 10 March in UTC): it
    # belongs to the 11th, so it is not here.
    assert report(golden, DAY_A).rows("open_orders") == (
        OpenOrderRow("K1", "O4", "M2", date(2026, 3, 1), 9, 50_000, False),
        OpenOrderRow("K1", "O7", "M3", date(2026, 3, 9), 1, 120_000, False),
        OpenOrderRow("K2", "O1", "M3", date(2026, 2, 5), 33, 30_000, False),
        OpenOrderRow("K2", "O2", "M2", date(2026, 2, 20), 18, 60_000, False),
        OpenOrderRow("K2", "O8", "M1", date(2026, 3, 10), 0, 40_000, False),
    )


def test_day_a_merchants(golden: Path) -> None:
    assert report(golden, DAY_A).rows("merchants") == (
        # O3 released and paid out (91,000 in, 91,000 out); O6 returned before release
        # (72,000 in, 72,000 back); O8 pending: 40,000 - 2,000 - 4,000.
        MerchantRow("M1", 34_000, 0, 0, 0, 1, 0),
        # O2 (window over on 27 Feb, but K2 has not remitted it) 53,000 + O4 43,500
        MerchantRow("M2", 96_500, 0, 0, 0, 2, 0),
        # pending O1 25,500 + O7 110,000; O5 released on 9 Mar, not paid out: 184,000
        MerchantRow("M3", 135_500, 184_000, 0, 184_000, 2, 1),
    )


def test_day_b(golden: Path) -> None:
    made = report(golden, DAY_B)
    assert made.ok, made.findings
    assert made.rows("couriers") == (
        CourierRow("K1", 1, 90_000, 1, 90_000, 0, 0, 0, 90_000, 0, 0),  # O11, yesterday
        # every order remitted; the 10,000 shortfall: 6,000 recovered, 4,000 written off
        CourierRow("K2", 0, 0, None, 0, 0, 0, 0, 0, 0, 0),
    )
    assert made.rows("open_orders") == (
        OpenOrderRow("K1", "O11", "M1", date(2026, 5, 11), 1, 90_000, False),
    )
    assert made.rows("merchants") == (
        # O3 returned after payout: M1 owed 91,000; its 20 Mar payout of O8's 34,000
        # only netted, so it owes 57,000. O11 pending: 90,000 - 4,500 - 4,000 = 81,500.
        MerchantRow("M1", 81_500, 0, 57_000, -57_000, 1, 0),
        MerchantRow("M2", 0, 25_500, 0, 25_500, 0, 1),  # O10, released 28 Apr: 30,000 - 4,500
        MerchantRow("M3", 0, 0, 0, 0, 0, 0),  # paid out 184,000 on 11 Mar, 135,500 on 20 Mar
    )


def test_the_evening_of_a_short_remittance(golden: Path) -> None:
    made = report(golden, date(2026, 3, 2))
    assert made.rows("couriers") == (
        # O4 (yesterday); O3 was remitted at 18:00 on 1 Mar: 150,000 - 100,000
        CourierRow("K1", 1, 50_000, 1, 50_000, 0, 0, 0, 50_000, 0, 0),
        # O1 (25 days), O2 (10 days); O5 remitted short at 18:00
        CourierRow("K2", 2, 90_000, 25, 0, 60_000, 30_000, 0, 90_000, 10_000, 0),
    )
    assert [r.pending_minor for r in made.rows("merchants")] == [
        91_000,  # M1: O3
        96_500,  # M2: O2 53,000 + O4 43,500
        209_500,  # M3: O1 25,500 + O5 184,000
    ]


def test_the_cut_off_is_the_day_in_the_ledgers_zone(golden: Path) -> None:
    # In UTC, O9 (18:00 UTC on 10 March) is the 10th's, and still at the door.
    made = report(golden, DAY_A, timezone="UTC")
    assert made.parameters["timezone"] == "UTC"
    assert [(r.order, r.delivered_on, r.age_days) for r in made.rows("open_orders")] == [
        ("O4", date(2026, 3, 1), 9),
        ("O7", date(2026, 3, 9), 1),
        ("O9", date(2026, 3, 10), 0),
        ("O1", date(2026, 2, 5), 33),
        ("O2", date(2026, 2, 20), 18),
        ("O8", date(2026, 3, 10), 0),
    ]
    [k1, _] = made.rows("couriers")
    assert (k1.cash_minor, k1.receivable_minor, k1.difference_minor) == (240_000, 240_000, 0)
    assert made.ok


def test_a_day_before_any_account(golden: Path) -> None:
    made = report(golden, date(2026, 1, 4))
    assert made.ok
    assert made.rows("couriers") == made.rows("open_orders") == made.rows("merchants") == ()
    assert "(none)" in made.to_table()


# --- reproducible, backdating, exports ------------------------------------------------


def test_a_past_day_is_unchanged_by_later_events(ledger_file: Path) -> None:
    day_a, day_b = report(ledger_file, DAY_A).content(), report(ledger_file, DAY_B).content()
    next_day = END + timedelta(hours=13)  # 13 May, 10:00
    submit(
        ledger_file,
        next_day,
        CodRemitted(id="remit-K1-0513", remittance="K1-0513", courier="K1", orders=["O11"],
                    amount_minor=85_000),
        CodDelivered(id="deliver-O12", order="O12", courier="K2", merchant="M3",
                     amount_minor=50_000, commission_minor=2_500, shipping_minor=4_000,
                     courier_fee_minor=1_000),
        CodReturned(id="return-O12", order="O12"),  # the buyer refuses it, K2 has the cash
    )  # fmt: skip
    assert report(ledger_file, DAY_A).content() == day_a
    assert report(ledger_file, DAY_B).content() == day_b
    made = report(ledger_file, next_day.date())
    assert made.ok, made.findings
    assert made.rows("open_orders") == (
        OpenOrderRow("K2", "O12", "M3", date(2026, 5, 13), 0, 50_000, True),
    )
    assert made.rows("couriers") == (
        CourierRow("K1", 0, 0, None, 0, 0, 0, 0, 0, 0, 0),
        CourierRow("K2", 1, 50_000, 0, 50_000, 0, 0, 0, 50_000, 0, 0),
    )
    # O12 returned before release: its 43,500 went back out of M3's pending payable
    assert made.rows("merchants")[2] == MerchantRow("M3", 0, 0, 0, 0, 0, 0)


def test_a_backdated_entry_changes_the_day_it_belongs_to(ledger_file: Path) -> None:
    before = report(ledger_file, date(2026, 5, 11)).content()
    # Recorded after day B's end, effective at 09:00 on day B: a 50.00 keying error into
    # K1's COD receivable, and a 100.00 charge to M2 (which it now owes).
    effective = datetime(2026, 5, 12, 9, 0, tzinfo=BANGKOK)
    submit(
        ledger_file,
        END + timedelta(hours=2),
        PostEntry(id="keying-error", kind="adjustment", effective_at=effective,
                  backdated=True,
                  postings=[Debit("courier:K1:cod_receivable", 5_000),
                            Credit("equity:capital", 5_000)]),
        PostEntry(id="charge-M2", kind="adjustment", effective_at=effective,
                  backdated=True,
                  postings=[Debit("merchant:M2:receivable", 10_000),
                            Credit("income:rto_fees", 10_000)]),
    )  # fmt: skip
    assert report(ledger_file, date(2026, 5, 11)).content() == before
    made = report(ledger_file, DAY_B)
    assert made.rows("couriers")[0] == CourierRow(
        "K1", 1, 90_000, 1, 90_000, 0, 0, 0, 95_000, 0, 5_000
    )
    assert made.rows("merchants")[1] == MerchantRow("M2", 0, 25_500, 10_000, 15_500, 0, 1)
    assert made.findings == (
        "courier K1: courier:K1:cod_receivable holds 950.00 but its 1 open order(s) hold "
        "900.00 of cash",
    )
    assert made.sections == report(ledger_file, DAY_B).sections


def test_merchant_payables_are_checked_against_their_orders(ledger_file: Path) -> None:
    submit(
        ledger_file,
        END,
        PostEntry(id="stray", kind="adjustment",
                  postings=[Debit("equity:capital", 1_000),
                            Credit("merchant:M1:payable_pending", 1_000)]),
    )  # fmt: skip
    assert report(ledger_file, DAY_B).findings == (
        "merchant M1: merchant:M1:payable_pending holds 825.00 but its 1 order(s) there "
        "come to 815.00",
    )


def test_csv_and_json_round_trip(golden: Path) -> None:
    for day in (DAY_A, DAY_B):
        round_trips(report(golden, day))


def test_rebuilt_read_models_give_the_same_report(ledger_file: Path, tmp_path: Path) -> None:
    with Ledger.open(ledger_file, create=False) as book, Runner(book) as runner:
        here = [cod_outstanding(runner, d).content() for d in (DAY_A, DAY_B)]
        with runner.rebuild_into(tmp_path / "other.db") as other:
            assert [cod_outstanding(other, d).content() for d in (DAY_A, DAY_B)] == here


@pytest.mark.parametrize("day", [datetime(2026, 3, 10, tzinfo=UTC), "2026-03-10", None, 20260310])
def test_the_day_must_be_a_date(golden: Path, day: object) -> None:
    with (
        Ledger.open(golden, create=False) as book,
        Runner(book, ":memory:") as runner,
        pytest.raises(InvalidCommand, match=r"datetime\.date"),
    ):
        cod_outstanding(runner, day)  # type: ignore[arg-type]
