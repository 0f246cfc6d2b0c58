"""The chart of system accounts: ``open_chart``, and a custom ``Chart`` honoured by every flow."""

from __future__ import annotations

from datetime import timedelta, tzinfo
from pathlib import Path

import pytest

from ledger import (
    Accepted,
    CaptureHold,
    Chart,
    Credit,
    Debit,
    Exchange,
    InvalidCommand,
    Ledger,
    OpenAccount,
    Pay,
    PayBill,
    PlaceHold,
    PostEntry,
    Refund,
    SettleAgent,
    TopUp,
    UnknownAccount,
    Withdraw,
)
from ledger.accounts import AccountType
from ledger.audit import verify
from ledger.events import AccountOpened
from tests.conftest import T0, FakeClock, assert_accepted, counters, leg, only_event

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


# --- cash in transit --------------------------------------------------------------------------

ACQUIRERS = Chart(cash_in_transit=["acquirer:{acquirer}:settlement", "psp:omise:clearing"])
"""Every acquirer's settlement receivable by pattern, and one account by its id."""


def test_by_default_only_agents_receivables_are_in_transit() -> None:
    chart = Chart()
    assert chart.cash_in_transit == ()
    assert chart.in_transit("agent:A1:receivable", "asset", "THB")
    assert chart.in_transit("agent:A1:receivable", AccountType.ASSET, "THB")  # as audit asks
    assert not chart.in_transit("agent:A1:receivable", "asset", "USD")  # not the chart's
    assert not chart.in_transit("agent:A1:receivable", "liability", "THB")  # not cash
    for account in ("bank:trust", "fx:THB:position", "acquirer:kbank:settlement", "bank:cod"):
        assert not chart.in_transit(account, "asset", "THB"), account
    # a custom agent template is followed
    assert CUSTOM.in_transit("agents:A1:cash", "asset", "THB")
    assert not CUSTOM.in_transit("agent:A1:receivable", "asset", "THB")


def test_declared_accounts_and_patterns_are_in_transit() -> None:
    assert ACQUIRERS.cash_in_transit == ("acquirer:{acquirer}:settlement", "psp:omise:clearing")
    assert hash(ACQUIRERS) == hash(Chart(cash_in_transit=tuple(ACQUIRERS.cash_in_transit)))
    for account in (
        "acquirer:kbank:settlement",
        "acquirer:scb-2:settlement",
        "acquirer:a:b:settlement",  # a party id may hold colons, as in the party templates
        "psp:omise:clearing",
        "agent:A1:receivable",  # agents' receivables still count
    ):
        assert ACQUIRERS.in_transit(account, "asset", "THB"), account
        assert not ACQUIRERS.in_transit(account, "asset", "USD"), account
        assert not ACQUIRERS.in_transit(account, "liability", "THB"), account
    for account in (
        "acquirer::settlement",  # no party
        "acquirer:settlement",
        "acquirer:kbank:settlement:old",
        "psp:omise:clearing2",
        "psp:omise",
        "bank:trust",
    ):
        assert not ACQUIRERS.in_transit(account, "asset", "THB"), account


def test_the_trust_fx_and_flow_accounts_never_count_whatever_a_pattern_matches() -> None:
    """A pattern wider than meant (``{x}:settlement``) is accepted when no account it names
    by itself is one of these, yet it never takes in an FX position or a COD account that
    the chart's templates name alike: those are never cash in transit."""
    chart = Chart(
        fx_position="fx:{currency}:settlement",
        courier_cod_receivable="courier:{courier}:settlement",
        cash_in_transit=["{x}:settlement"],
    )
    assert chart.in_transit("acquirer:kbank:settlement", "asset", "THB")
    assert chart.fx_of("fx:THB:settlement") == "THB"
    assert not chart.in_transit("fx:THB:settlement", "asset", "THB")
    assert chart.cod_account("courier:C1:settlement")
    assert not chart.in_transit("courier:C1:settlement", "asset", "THB")
    assert not chart.in_transit("bank:trust", "asset", "THB")


@pytest.mark.parametrize(
    "declared",
    [
        "acquirer:kbank:settlement",  # a str, not a tuple of them
        ("acquirer:kbank:settlement", 7),
        ("",),
        ("acquirer kbank",),
        ("acquirer:{}:settlement",),
        ("acquirer:{a}:{b}",),
        ("acquirer:{a!r}:settlement",),
        ("acquirer:{a:>9}:settlement",),
        ("acquirer:{1a}:settlement",),
        ("acquirer:{{a}}:settlement",),
        ("acquirer:{a",),
        ("a" * 129,),
        ("acquirer:{a}:" + "s" * 127,),  # no id it names fits 128 characters
        ("psp:omise", "psp:omise"),
        ("bank:trust",),  # would count twice
        ("{x}",),  # takes in the trust account
        ("bank:{x}",),
        ("fx:THB:position",),
        ("fx:{c}:position",),
        ("bank:cod",),
        ("courier:{c}:cod_receivable",),
        ("merchant:{m}:receivable",),
        ("loans:principal",),
        ("bank:lending",),
        None,
    ],
)
def test_a_bad_cash_in_transit_declaration_is_invalid_command(declared: object) -> None:
    with pytest.raises(InvalidCommand, match="cash_in_transit"):
        Chart(cash_in_transit=declared)  # type: ignore[arg-type]


def test_a_declaration_is_checked_against_the_charts_own_names() -> None:
    with pytest.raises(InvalidCommand, match="'bank:scb:trust'"):
        Chart(bank_trust="bank:scb:trust", cash_in_transit=["bank:{bank}:trust"])
    assert Chart(cash_in_transit=["bank:{bank}:trust"]).in_transit("bank:scb:trust", "asset", "THB")


def test_a_long_declaration_is_cut_in_the_message() -> None:
    with pytest.raises(InvalidCommand) as caught:
        Chart(cash_in_transit=["x y" * 10_000])
    assert "(30002 chars)" in str(caught.value) and len(str(caught.value)) < 300


def _card_top_up_from_an_acquirer(path: Path, clock: FakeClock) -> None:
    """Seq 1-2 the chart, 3 wallet:U1, 4 the acquirer's settlement receivable (asset), then a
    bank top-up of 100_000, a card top-up of 50_000 less a 1_000 fee funded from the
    acquirer's receivable, and the acquirer settling 20_000 of it into the trust."""
    with Ledger.open(path, clock=clock) as book:
        book.open_chart()
        results = book.submit_many(
            [
                book.chart.open_wallet("wallet:U1"),
                OpenAccount(
                    id="o-acq",
                    account="acquirer:kbank:settlement",
                    type="asset",
                    currency="THB",
                    no_overdraft=True,
                ),
                TopUp(id="t-bank", wallet="wallet:U1", amount_minor=100_000, channel="bank"),
                TopUp(
                    id="t-card",
                    wallet="wallet:U1",
                    amount_minor=50_000,
                    fee_minor=1_000,
                    channel="card",
                    funding_account="acquirer:kbank:settlement",
                ),
                PostEntry(
                    id="settle-kbank",
                    kind="adjustment",
                    postings=[
                        Debit("bank:trust", 20_000),
                        Credit("acquirer:kbank:settlement", 20_000),
                    ],
                ),
            ]
        )
        assert all(isinstance(r, Accepted) for r in results), results


@pytest.mark.parametrize(
    "declared", [("acquirer:{acquirer}:settlement",), ("acquirer:kbank:settlement",)]
)
def test_verify_counts_a_declared_acquirer_receivable_as_safeguarded(
    tmp_path: Path, clock: FakeClock, declared: tuple[str, ...]
) -> None:
    path = tmp_path / "acquirer.db"
    _card_top_up_from_an_acquirer(path, clock)
    # wallet:U1   100_000 (bank) + 49_000 (card, less its 1_000 fee)   = 149_000
    # bank:trust  100_000 (bank) + 20_000 (the acquirer settled)        = 120_000
    # acquirer    50_000 (card) - 20_000 (settled)                      =  30_000
    with Ledger.open(path, create=False) as book:  # the default chart: agents only
        assert book.balance("wallet:U1").balance == 149_000
        report = verify(book)
    [finding] = report.findings
    assert finding.check == "safeguarded"
    # 149_000 owed against the trust's 120_000 alone: short by 29_000
    assert "owe 149000" in finding.detail and "hold 120000: short by 29000" in finding.detail
    assert report.exit_code == 3
    with Ledger.open(path, create=False, chart=Chart(cash_in_transit=declared)) as book:
        report = verify(book)
    # 120_000 + 30_000 = 150_000 covers 149_000 (the 1_000 over is the card fee)
    assert report.findings == () and report.exit_code == 0


def test_verify_still_finds_a_shortfall_the_declared_receivable_does_not_cover(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "acquirer.db"
    _card_top_up_from_an_acquirer(path, clock)
    chart = Chart(cash_in_transit=["acquirer:{acquirer}:settlement"])
    with Ledger.open(path, create=False, clock=clock, chart=chart) as book:
        book.submit(OpenAccount(id="o-eq", account="equity:owner", type="equity", currency="THB"))
        promo = PostEntry(
            id="promo",
            kind="adjustment",
            postings=[Debit("equity:owner", 3_000), Credit("wallet:U1", 3_000)],
        )
        assert isinstance(book.submit(promo), Accepted)
        report = verify(book)
    # wallet 149_000 + 3_000 = 152_000 against 120_000 + 30_000 = 150_000: short by 2_000
    [finding] = report.findings
    assert finding.check == "safeguarded" and "hold 150000: short by 2000" in finding.detail
