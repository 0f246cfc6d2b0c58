"""The chart of system accounts: ``open_chart``, and a custom ``Chart`` honoured by every flow."""

from __future__ import annotations

from datetime import timedelta, tzinfo
from pathlib import Path

import pytest

from ledger import (
    Accepted,
    CaptureHold,
    Chart,
    Exchange,
    InvalidCommand,
    Ledger,
    OpenAccount,
    Pay,
    PayBill,
    PlaceHold,
    Refund,
    SettleAgent,
    TopUp,
    UnknownAccount,
    Withdraw,
)
from ledger.events import AccountOpened

from .conftest import T0, FakeClock, assert_accepted, counters, leg, only_event

CUSTOM = Chart(
    bank_trust="bank:scb:trust",
    fee_income="income:wallet-fees",
    agent_receivable="agents:{agent}:cash",
    merchant_payable="payable:merchant:{merchant}",
    biller_payable="payable:biller:{biller}",
    fx_position="treasury:fx:{currency}",
)


# --- open_chart -----------------------------------------------------------------------------


def test_open_chart_opens_the_system_accounts(book: Ledger) -> None:
    results = book.open_chart(["USD"])
    assert results == [
        Accepted("open:bank:trust", 1),
        Accepted("open:income:fees", 2),
        Accepted("open:fx:THB:position", 3),
        Accepted("open:fx:USD:position", 4),
    ]
    opened = [r.event for r in book.events()]
    assert opened == [
        AccountOpened(
            account="bank:trust", account_type="asset", currency="THB", no_overdraft=True
        ),
        AccountOpened(account="income:fees", account_type="income", currency="THB"),
        AccountOpened(account="fx:THB:position", account_type="asset", currency="THB"),
        AccountOpened(account="fx:USD:position", account_type="asset", currency="USD"),
    ]


def test_open_chart_without_fx_currencies_opens_no_fx_position(book: Ledger) -> None:
    assert [r.id for r in book.open_chart()] == ["open:bank:trust", "open:income:fees"]
    with pytest.raises(UnknownAccount):
        book.account("fx:THB:position")


def test_opening_the_chart_twice_writes_nothing_the_second_time(book: Ledger) -> None:
    first = book.open_chart(["USD"])
    head = book.head()
    again = book.open_chart(["USD"])
    assert book.head() == head
    assert again == [Accepted(r.id, r.seq, replayed=True) for r in first]  # type: ignore[union-attr]
    # a new FX currency opens just its position
    more = book.open_chart(["USD", "JPY"])
    assert [(r.id, r.replayed) for r in more] == [  # type: ignore[union-attr]
        ("open:bank:trust", True),
        ("open:income:fees", True),
        ("open:fx:THB:position", True),
        ("open:fx:USD:position", True),
        ("open:fx:JPY:position", False),
    ]
    assert book.head()[0] == head[0] + 1


def test_the_chart_opens_party_accounts_with_their_rules(book: Ledger) -> None:
    chart = book.chart
    assert chart == Chart()
    book.submit_many(
        [
            chart.open_wallet("wallet:U1", wallet_type="merchant"),
            chart.open_merchant("M1"),
            chart.open_biller("B1"),
            chart.open_agent("A1"),
        ]
    )
    wallet = book.account("wallet:U1")
    assert (wallet.type, wallet.no_overdraft, wallet.metadata) == (
        "liability",
        True,
        {"wallet_type": "merchant"},
    )
    merchant = book.account("merchant:M1:payable")
    assert (merchant.type, merchant.no_overdraft) == ("liability", False)
    assert book.account("biller:B1:payable").type == "liability"
    agent = book.account("agent:A1:receivable")
    assert (agent.type, agent.no_overdraft) == ("asset", True)


# --- a custom chart -------------------------------------------------------------------------


@pytest.fixture(params=["memory", "file"])
def custom(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Ledger:
    path: str | Path = ":memory:" if request.param == "memory" else tmp_path / "custom.db"
    book = Ledger.open(path, clock=clock, chart=CUSTOM)
    request.addfinalizer(book.close)
    assert book.chart is CUSTOM
    book.open_chart(["USD"])
    results = book.submit_many(
        [
            CUSTOM.open_wallet("wallet:U1"),
            CUSTOM.open_wallet("wallet:U2:usd", "USD"),
            CUSTOM.open_merchant("M1"),
            CUSTOM.open_biller("B1"),
            CUSTOM.open_agent("A1"),
        ]
    )
    assert all(isinstance(r, Accepted) for r in results)
    return book


def test_the_custom_chart_names_the_system_accounts(custom: Ledger) -> None:
    for account in ("bank:scb:trust", "income:wallet-fees", "treasury:fx:THB", "treasury:fx:USD"):
        custom.account(account)
    for account in ("bank:trust", "income:fees", "fx:THB:position", "merchant:M1:payable"):
        with pytest.raises(UnknownAccount):
            custom.account(account)


def test_every_flow_posts_to_the_custom_chart(custom: Ledger) -> None:
    bank, fees, agent = "bank:scb:trust", "income:wallet-fees", "agents:A1:cash"
    merchant, biller = "payable:merchant:M1", "payable:biller:B1"

    assert_accepted(
        custom,
        TopUp(id="t-1", wallet="wallet:U1", amount_minor=10_000, channel="card", fee_minor=100),
    )
    _, event = only_event(custom, "t-1")
    assert event.postings == (  # type: ignore[union-attr]
        leg(bank, "debit", 10_000),
        leg("wallet:U1", "credit", 9_900),
        leg(fees, "credit", 100),
    )
    assert_accepted(
        custom,
        TopUp(
            id="t-2", wallet="wallet:U1", amount_minor=2_000, channel="agent", funding_account=agent
        ),
    )
    assert_accepted(custom, SettleAgent(id="s-1", agent="A1", amount_minor=2_000))
    _, event = only_event(custom, "s-1")
    assert event.postings == (  # type: ignore[union-attr]
        leg(bank, "debit", 2_000),
        leg(agent, "credit", 2_000),
    )

    assert_accepted(
        custom, Pay(id="p-1", wallet="wallet:U1", merchant="M1", amount_minor=1_000, fee_minor=20)
    )
    _, event = only_event(custom, "p-1")
    assert event.postings == (  # type: ignore[union-attr]
        leg("wallet:U1", "debit", 1_000),
        leg(merchant, "credit", 980),
        leg(fees, "credit", 20),
    )
    assert_accepted(custom, Refund(id="rf-1", payment="p-1", amount_minor=500))
    _, event = only_event(custom, "rf-1")
    assert event.postings == (  # type: ignore[union-attr]
        leg(merchant, "debit", 490),
        leg(fees, "debit", 10),
        leg("wallet:U1", "credit", 500),
    )

    assert_accepted(
        custom,
        PayBill(
            id="b-1",
            wallet="wallet:U1",
            biller="B1",
            bill_reference="E-1",
            amount_minor=300,
            fee_minor=5,
        ),
    )
    _, event = only_event(custom, "b-1")
    assert event.postings == (  # type: ignore[union-attr]
        leg("wallet:U1", "debit", 300),
        leg(biller, "credit", 295),
        leg(fees, "credit", 5),
    )

    assert_accepted(custom, Withdraw(id="w-1", wallet="wallet:U1", amount_minor=700, fee_minor=7))
    _, event = only_event(custom, "w-1")
    assert event.postings == (  # type: ignore[union-attr]
        leg("wallet:U1", "debit", 707),
        leg(bank, "credit", 700),
        leg(fees, "credit", 7),
    )

    assert_accepted(
        custom,
        Exchange(
            id="fx-1",
            source="wallet:U1",
            destination="wallet:U2:usd",
            sell_amount_minor=3_550,
            buy_amount_minor=100,
        ),
    )
    _, event = only_event(custom, "fx-1")
    assert event.postings == (  # type: ignore[union-attr]
        leg("wallet:U1", "debit", 3_550),
        leg("treasury:fx:THB", "credit", 3_550),
        leg("treasury:fx:USD", "debit", 100, "USD"),
        leg("wallet:U2:usd", "credit", 100, "USD"),
    )

    assert_accepted(
        custom,
        PlaceHold(
            id="h-1",
            hold="H1",
            wallet="wallet:U1",
            destination=merchant,
            amount_minor=1_000,
            expires_at=T0 + timedelta(hours=1),
        ),
    )
    assert_accepted(custom, CaptureHold(id="c-1", hold="H1", amount_minor=400))

    wallet = 9_900 + 2_000 - 1_000 + 500 - 300 - 707 - 3_550 - 400
    assert counters(custom, "wallet:U1") == (wallet, wallet, 0, 0)
    assert counters(custom, bank) == (10_000 + 2_000 - 700,) * 2 + (0, 0)
    assert counters(custom, fees) == (100 + 20 - 10 + 5 + 7,) * 2 + (0, 0)
    assert counters(custom, merchant) == (980 - 490 + 400,) * 2 + (0, 0)
    assert counters(custom, agent) == (0, 0, 0, 0)


# --- configuration errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"bank_trust": ""},
        {"fee_income": 5},
        {"merchant_payable": "merchant:payable"},
        {"agent_receivable": "agent:{agent}:{agent}"},
        {"biller_payable": "biller:{merchant}"},
        {"fx_position": None},
        {"merchant_payable": "m:{merchant}:{oops}"},
        {"merchant_payable": "{}"},
        {"merchant_payable": "{"},
        {"merchant_payable": "merchant:{merchant!r}"},
        {"merchant_payable": "merchant:{merchant:>9}"},
        {"merchant_payable": "a{{b{merchant}"},
    ],
)
def test_a_malformed_chart_is_invalid_command(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidCommand):
        Chart(**kwargs)  # type: ignore[arg-type]


def test_ledger_open_refuses_a_bad_chart_or_time_zone() -> None:
    with pytest.raises(InvalidCommand):
        Ledger.open(":memory:", chart="bank:trust")  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand):
        Ledger.open(":memory:", timezone="Mars/Olympus_Mons")
    with pytest.raises(InvalidCommand):
        Ledger.open(":memory:", timezone=7)  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand, match="not a usable tzinfo"):
        Ledger.open(":memory:", timezone=tzinfo())  # the abstract base: no utcoffset


def test_the_chart_knows_an_agent_from_its_receivable() -> None:
    chart = Chart(agent_receivable="recv:{agent}")
    assert chart.agent_of("recv:7eleven-0042") == "7eleven-0042"
    assert chart.agent_of("recv:") is None
    assert chart.agent_of("bank:trust") is None
    assert Chart().agent_of("agent:A1:receivable") == "A1"
    assert Chart().agent_of("agent:A 1:receivable") is None
    assert Chart().fx_of("fx:USD:position") == "USD"
    assert Chart().fx_of("bank:trust") is None


def test_a_default_ledger_keeps_days_in_bangkok(book: Ledger) -> None:
    assert str(book.policy.timezone) == "Asia/Bangkok"
    with Ledger.open(":memory:", timezone="UTC") as utc:
        assert str(utc.policy.timezone) == "UTC"


def test_an_open_account_command_from_the_chart_is_a_plain_open_account() -> None:
    command = CUSTOM.open_agent("A9")
    assert command == OpenAccount(
        id="open:agents:A9:cash",
        account="agents:A9:cash",
        type="asset",
        currency="THB",
        no_overdraft=True,
    )
