"""A fixed event log of two business days of an e-wallet, and the morning after, for the
report golden tests: every figure the reports give on it is worked out by hand in
tests/reports/.

Run ``python -m tests.golden.wallet_day OUT.db`` to write it to a file; tests call
:func:`build`. Times are Bangkok (UTC+7). The log, seq by seq:

====  ==========================  ===========================================================
seq   when (Bangkok)              what
====  ==========================  ===========================================================
1-4   2026-03-02 08:00            open_chart(fx_currencies=["USD"]): bank:trust, income:fees,
                                  fx:THB:position, fx:USD:position
5-6                               agents 7eleven-0042, somchai (receivables)
7-9                               merchants cafe-ari, riverside-hotel; biller MEA
10-16                             wallets ploy, nok, lek (consumer), shop-dao (merchant),
                                  agent-somchai (agent), legacy-1 (no wallet_type), ploy-usd
                                  (consumer, USD)
17-19                             tiers basic and plus; ploy on basic
20    2026-03-02 09:00            top-up ploy 5,000.00 bank
21    09:10                       top-up nok 3,000.00 card, fee 30.00
22-24 09:20, 09:40, 10:00         top-ups lek 99,000.00, 99,500.00, 99,900.00 at counter
                                  7eleven-0042, fee 15.00 each
25    10:15                       top-up nok 1,000.00 at agent somchai
26    10:30                       ploy pays cafe-ari 350.00, fee 5.25
27    11:00                       P2P ploy -> nok 200.00
28    12:00                       nok pays bill MEA/INV-0301 1,250.00, fee 10.00
29-30 13:00, 16:00                ploy: hotel hold 500.00, captured 420.00
31    17:00                       refund 100.00 of the cafe payment (fee part 1.50)
32    18:00                       nok withdraws 500.00, fee 10.00
33    19:00                       7eleven-0042 settles 150,000.00
34    19:30                       ploy exchanges 1,000.00 THB for 28.50 USD into ploy-usd
35-36 2026-03-03 09:00            wallets kan, mai (consumer)
37    09:30                       top-up kan 2,500,000.00 at agent somchai
38    10:00                       kan pays bill MEA/INV-0302 750,000.00
39    11:00                       P2P kan -> shop-dao 20,000.00
40    11:30                       top-up agent-somchai 10,000.00 promptpay
41    12:00, effective            PostEntry Dr bank:trust / Cr legacy-1 1,000.00: a bank
      2026-03-02 20:00            transfer of day 1 booked late (backdated)
42    13:00                       nok on plus
43    14:00                       shop-dao withdraws 5,000.00
44    15:00                       somchai settles 1,000,000.00
45    2026-03-04 09:00            top-up ploy 100.00 bank
46    09:30                       7eleven-0042 settles the other 148,400.00
47    10:00                       wallet late (consumer)
====  ==========================  ===========================================================
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import typing
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ledger import (
    Accepted,
    AssignTier,
    CaptureHold,
    Command,
    Credit,
    Debit,
    DefineTier,
    Exchange,
    Ledger,
    OpenAccount,
    Pay,
    PayBill,
    PlaceHold,
    PostEntry,
    Refund,
    SettleAgent,
    TopUp,
    Transfer,
    Withdraw,
)
from ledger.times import ManualClock
from projections.reports.base import Report

BANGKOK = ZoneInfo("Asia/Bangkok")
DAY_1 = date(2026, 3, 2)
DAY_2 = date(2026, 3, 3)
DAY_3 = date(2026, 3, 4)
HEAD_SEQ = 47
COUNTER = "7eleven-0042"
AGENT = "somchai"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BANGKOK)


def accept(book: Ledger, command: Command) -> None:
    result = book.submit(command)
    assert isinstance(result, Accepted), result


def build(path: str | os.PathLike[str]) -> None:
    """Write the log above to a new ledger at ``path``."""
    clock = ManualClock(at(DAY_1, 8))
    with Ledger.open(path, clock=clock) as book:
        chart = book.chart
        assert all(isinstance(r, Accepted) for r in book.open_chart(fx_currencies=["USD"]))
        opening: list[Command] = [
            chart.open_agent(COUNTER),
            chart.open_agent(AGENT),
            chart.open_merchant("cafe-ari"),
            chart.open_merchant("riverside-hotel"),
            chart.open_biller("MEA"),
            chart.open_wallet("wallet:ploy"),
            chart.open_wallet("wallet:nok"),
            chart.open_wallet("wallet:lek"),
            chart.open_wallet("wallet:shop-dao", wallet_type="merchant"),
            chart.open_wallet("wallet:agent-somchai", wallet_type="agent"),
            OpenAccount(
                id="open:wallet:legacy-1",
                account="wallet:legacy-1",
                type="liability",
                currency="THB",
                no_overdraft=True,
            ),
            chart.open_wallet("wallet:ploy-usd", currency="USD"),
        ]
        for tier, cap in (("basic", 10_000_000), ("plus", 100_000_000)):
            opening.append(
                DefineTier(
                    id=f"tier-{tier}",
                    tier=tier,
                    max_balance_minor=cap,
                    per_transaction_max_minor=None,
                    daily_outflow_max_minor=cap,
                    monthly_outflow_max_minor=None,
                )
            )
        opening.append(AssignTier(id="tier-ploy", wallet="wallet:ploy", tier="basic"))
        for command in opening:
            accept(book, command)

        day_1: list[tuple[int, int, Command]] = [
            (9, 0, TopUp(id="t1", wallet="wallet:ploy", amount_minor=500_000, channel="bank")),
            (
                9,
                10,
                TopUp(
                    id="t2",
                    wallet="wallet:nok",
                    amount_minor=300_000,
                    fee_minor=3_000,
                    channel="card",
                ),
            ),
            *(
                (
                    hour,
                    minute,
                    TopUp(
                        id=f"t3-{n}",
                        wallet="wallet:lek",
                        amount_minor=amount,
                        fee_minor=1_500,
                        channel="counter",
                        funding_account=chart.agent(COUNTER),
                    ),
                )
                for n, (hour, minute, amount) in enumerate(
                    [(9, 20, 9_900_000), (9, 40, 9_950_000), (10, 0, 9_990_000)], start=1
                )
            ),
            (
                10,
                15,
                TopUp(
                    id="t4",
                    wallet="wallet:nok",
                    amount_minor=100_000,
                    channel="agent",
                    funding_account=chart.agent(AGENT),
                ),
            ),
            (
                10,
                30,
                Pay(
                    id="pay-1",
                    wallet="wallet:ploy",
                    merchant="cafe-ari",
                    amount_minor=35_000,
                    fee_minor=525,
                ),
            ),
            (
                11,
                0,
                Transfer(
                    id="p2p-1",
                    source="wallet:ploy",
                    destination="wallet:nok",
                    amount_minor=20_000,
                ),
            ),
            (
                12,
                0,
                PayBill(
                    id="bill-1",
                    wallet="wallet:nok",
                    biller="MEA",
                    bill_reference="INV-0301",
                    amount_minor=125_000,
                    fee_minor=1_000,
                ),
            ),
            (
                13,
                0,
                PlaceHold(
                    id="hold-1",
                    hold="stay-1",
                    wallet="wallet:ploy",
                    destination=chart.merchant("riverside-hotel"),
                    amount_minor=50_000,
                    expires_at=at(DAY_3, 13),
                ),
            ),
            (16, 0, CaptureHold(id="capture-1", hold="stay-1", amount_minor=42_000)),
            (17, 0, Refund(id="refund-1", payment="pay-1", amount_minor=10_000)),
            (18, 0, Withdraw(id="w1", wallet="wallet:nok", amount_minor=50_000, fee_minor=1_000)),
            (19, 0, SettleAgent(id="settle-1", agent=COUNTER, amount_minor=15_000_000)),
            (
                19,
                30,
                Exchange(
                    id="fx-1",
                    source="wallet:ploy",
                    destination="wallet:ploy-usd",
                    sell_amount_minor=100_000,
                    buy_amount_minor=2_850,
                ),
            ),
        ]
        day_2: list[tuple[int, int, Command]] = [
            (9, 0, chart.open_wallet("wallet:kan")),
            (9, 0, chart.open_wallet("wallet:mai")),
            (
                9,
                30,
                TopUp(
                    id="t5",
                    wallet="wallet:kan",
                    amount_minor=250_000_000,
                    channel="agent",
                    funding_account=chart.agent(AGENT),
                ),
            ),
            (
                10,
                0,
                PayBill(
                    id="bill-2",
                    wallet="wallet:kan",
                    biller="MEA",
                    bill_reference="INV-0302",
                    amount_minor=75_000_000,
                ),
            ),
            (
                11,
                0,
                Transfer(
                    id="p2p-2",
                    source="wallet:kan",
                    destination="wallet:shop-dao",
                    amount_minor=2_000_000,
                ),
            ),
            (
                11,
                30,
                TopUp(
                    id="t6",
                    wallet="wallet:agent-somchai",
                    amount_minor=1_000_000,
                    channel="promptpay",
                ),
            ),
            (
                12,
                0,
                PostEntry(
                    id="late-credit",
                    kind="adjustment",
                    postings=[Debit("bank:trust", 100_000), Credit("wallet:legacy-1", 100_000)],
                    memo="a bank transfer received on 2 March, booked late",
                    effective_at=at(DAY_1, 20),
                    backdated=True,
                ),
            ),
            (13, 0, AssignTier(id="tier-nok", wallet="wallet:nok", tier="plus")),
            (14, 0, Withdraw(id="w2", wallet="wallet:shop-dao", amount_minor=500_000)),
            (15, 0, SettleAgent(id="settle-2", agent=AGENT, amount_minor=100_000_000)),
        ]
        day_3: list[tuple[int, int, Command]] = [
            (9, 0, TopUp(id="t7", wallet="wallet:ploy", amount_minor=10_000, channel="bank")),
            (9, 30, SettleAgent(id="settle-3", agent=COUNTER, amount_minor=14_840_000)),
            (10, 0, chart.open_wallet("wallet:late")),
        ]
        for day, commands in ((DAY_1, day_1), (DAY_2, day_2), (DAY_3, day_3)):
            for hour, minute, command in commands:
                clock.now = max(clock.now, at(day, hour, minute))
                accept(book, command)
        assert book.head()[0] == HEAD_SEQ


def later(path: str | os.PathLike[str], when: datetime) -> Ledger:
    """The ledger at ``path`` reopened on a clock set to ``when``, to append to it."""
    return Ledger.open(path, clock=ManualClock(when), create=False)


# --- checks the golden tests share ---------------------------------------------------------


def typed(row_type: type, record: dict[str, Any], *, text: bool) -> Any:
    """A row rebuilt from its exported values (CSV: all text, None as empty)."""
    hints = typing.get_type_hints(row_type)
    values: dict[str, Any] = {}
    for name, value in record.items():
        args = typing.get_args(hints[name]) or (hints[name],)
        base = next(a for a in args if a is not type(None))
        if value in ("", None) and type(None) in args:
            values[name] = None
        elif base is bool:
            values[name] = value == "True" if text else value
        elif base is int:
            values[name] = int(value)
        elif base is datetime:
            values[name] = datetime.fromisoformat(value)
        elif base is date:
            values[name] = date.fromisoformat(value)
        else:
            values[name] = value
    return row_type(**values)


def round_trips(report: Report) -> None:
    """The JSON and the CSV of ``report`` parse back to its rows, section by section."""
    doc = json.loads(report.to_json())
    assert doc["report"] == report.name and doc["ok"] is report.ok
    assert doc["findings"] == list(report.findings)
    assert doc["parameters"] == report.parameters
    assert list(doc["sections"]) == [s.name for s in report.sections]
    blocks = report.to_csv().split("\n\n")
    assert len(blocks) == len(report.sections)
    for section, block in zip(report.sections, blocks, strict=True):
        assert doc["sections"][section.name] == section.records()
        parsed = [typed(section.row_type, r, text=False) for r in doc["sections"][section.name]]
        assert tuple(parsed) == section.rows
        head, _, body = block.partition("\n")
        assert head == f"# section: {section.name}"
        reader = csv.DictReader(io.StringIO(body))
        assert tuple(reader.fieldnames or ()) == section.columns
        assert tuple(typed(section.row_type, r, text=True) for r in reader) == section.rows
        assert report.to_csv(section.name).rstrip("\n") == body.rstrip("\n")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.golden.wallet_day OUT.db")
    if os.path.exists(sys.argv[1]):
        sys.exit(f"{sys.argv[1]} exists; give a new file")
    build(sys.argv[1])
    print(f"{sys.argv[1]}: {HEAD_SEQ} events, {DAY_1} to {DAY_3}")
