"""Value across currencies (``Exchange``) through each currency's FX position account."""

from __future__ import annotations

import pytest

from ledger import Accepted, FreezeAccount, Ledger, OpenAccount, Reverse, TopUp, UnfreezeAccount
from ledger.commands import Exchange
from ledger.errors import RejectCode
from ledger.events import Exchanged
from tests.conftest import assert_accepted, assert_rejected, counters, fund, leg, only_event

USD = "wallet:U3:usd"


def exchange(id: str = "fx-1", **kwargs: object) -> Exchange:
    fields: dict[str, object] = {
        "source": "wallet:U1",
        "destination": USD,
        "sell_amount_minor": 35_500,
        "buy_amount_minor": 1_000,
    }
    fields.update(kwargs)
    return Exchange(id=id, **fields)  # type: ignore[arg-type]


@pytest.fixture
def funded(flows: Ledger) -> Ledger:
    """``flows`` with 100,000 satang in wallet:U1 and 5,000 cents in the USD wallet."""
    fund(flows, "wallet:U1", 100_000)
    assert_accepted(
        flows, OpenAccount(id="open-bank:usd", account="bank:usd", type="asset", currency="USD")
    )
    assert_accepted(
        flows,
        TopUp(
            id="t-usd",
            wallet=USD,
            amount_minor=5_000,
            channel="bank",
            funding_account="bank:usd",
        ),
    )
    return flows


def test_thb_to_usd_goes_through_both_fx_positions(funded: Ledger) -> None:
    assert_accepted(funded, exchange())
    record, event = only_event(funded, "fx-1")
    assert (record.type, record.stream, record.version) == ("exchanged", "entry:fx-1", 1)
    assert isinstance(event, Exchanged)
    assert (event.source, event.destination) == ("wallet:U1", USD)
    assert (event.sell_currency, event.sell_amount_minor) == ("THB", 35_500)
    assert (event.buy_currency, event.buy_amount_minor) == ("USD", 1_000)
    assert event.rate == "0.0281690140845"  # 10.00 / 355.00, 12 significant digits
    assert event.postings == (
        leg("wallet:U1", "debit", 35_500, "THB"),
        leg("fx:THB:position", "credit", 35_500, "THB"),
        leg("fx:USD:position", "debit", 1_000, "USD"),
        leg(USD, "credit", 1_000, "USD"),
    )
    assert counters(funded, "wallet:U1") == (64_500, 64_500, 0, 0)
    assert counters(funded, USD) == (6_000, 6_000, 0, 0)
    assert counters(funded, "fx:THB:position") == (-35_500, -35_500, 0, 0)
    assert counters(funded, "fx:USD:position") == (1_000, 1_000, 0, 0)


def test_usd_to_thb_records_the_rate_in_thb_per_usd(funded: Ledger) -> None:
    assert_accepted(
        funded,
        exchange(
            source=USD, destination="wallet:U2", sell_amount_minor=100, buy_amount_minor=3_550
        ),
    )
    _, event = only_event(funded, "fx-1")
    assert isinstance(event, Exchanged)
    assert (event.sell_currency, event.buy_currency, event.rate) == ("USD", "THB", "35.5")
    assert event.postings == (
        leg(USD, "debit", 100, "USD"),
        leg("fx:USD:position", "credit", 100, "USD"),
        leg("fx:THB:position", "debit", 3_550, "THB"),
        leg("wallet:U2", "credit", 3_550, "THB"),
    )
    assert counters(funded, USD) == (4_900, 4_900, 0, 0)
    assert counters(funded, "wallet:U2") == (3_550, 3_550, 0, 0)


def test_the_rate_uses_each_currencys_minor_unit_exponent(funded: Ledger) -> None:
    results = funded.open_chart(["JPY"])
    assert [r.replayed for r in results if isinstance(r, Accepted)] == [True, True, True, False]
    assert_accepted(funded, funded.chart.open_wallet("wallet:U1:jpy", "JPY"))
    # 100.00 THB buys 425 yen: 4.25 yen per baht
    assert_accepted(
        funded,
        exchange(destination="wallet:U1:jpy", sell_amount_minor=10_000, buy_amount_minor=425),
    )
    _, event = only_event(funded, "fx-1")
    assert isinstance(event, Exchanged)
    assert event.rate == "4.25"
    assert counters(funded, "fx:JPY:position") == (425, 425, 0, 0)
    assert counters(funded, "wallet:U1:jpy") == (425, 425, 0, 0)


def test_an_exchange_can_be_reversed(funded: Ledger) -> None:
    assert_accepted(funded, exchange())
    assert_accepted(funded, Reverse(id="r-1", entry_id="fx-1"))
    assert counters(funded, "wallet:U1") == (100_000, 100_000, 0, 0)
    assert counters(funded, "fx:THB:position") == (0, 0, 0, 0)
    assert counters(funded, "fx:USD:position") == (0, 0, 0, 0)


def test_bad_amounts_are_amount_invalid(funded: Ledger) -> None:
    for sell, buy in [(0, 1), (-1, 1), (2**63, 1), (1, 0), (1, -5), (1, 2**63)]:
        result = assert_rejected(
            funded,
            exchange(sell_amount_minor=sell, buy_amount_minor=buy),
            RejectCode.AMOUNT_INVALID,
        )
        assert ("sell" if sell != 1 else "buy") in result.detail


def test_unknown_accounts_are_account_not_found(funded: Ledger) -> None:
    assert_rejected(funded, exchange(source="wallet:nobody"), RejectCode.ACCOUNT_NOT_FOUND)
    assert_rejected(funded, exchange("fx-2", destination="bad id"), RejectCode.ACCOUNT_NOT_FOUND)


def test_both_sides_in_one_currency_is_field_invalid(funded: Ledger) -> None:
    result = assert_rejected(funded, exchange(destination="wallet:U2"), RejectCode.FIELD_INVALID)
    assert "THB" in result.detail
    assert_rejected(funded, exchange("fx-2", destination="wallet:U1"), RejectCode.FIELD_INVALID)


def test_an_fx_position_not_opened_is_account_not_found(funded: Ledger) -> None:
    assert_accepted(funded, funded.chart.open_wallet("wallet:U1:eur", "EUR"))
    result = assert_rejected(
        funded, exchange(destination="wallet:U1:eur"), RejectCode.ACCOUNT_NOT_FOUND
    )
    assert "fx:EUR:position" in result.detail


def test_selling_more_than_the_source_holds_is_insufficient_funds(funded: Ledger) -> None:
    assert_rejected(funded, exchange(sell_amount_minor=100_001), RejectCode.INSUFFICIENT_FUNDS)


def test_a_frozen_side_or_position_is_account_frozen(funded: Ledger) -> None:
    for i, account in enumerate(["wallet:U1", USD, "fx:THB:position", "fx:USD:position"]):
        assert_accepted(funded, FreezeAccount(id=f"f-{i}", account=account))
        result = assert_rejected(funded, exchange(f"fx-{i}"), RejectCode.ACCOUNT_FROZEN)
        assert account in result.detail
        assert_accepted(funded, UnfreezeAccount(id=f"u-{i}", account=account))
    assert_accepted(funded, exchange("fx-ok"))


def test_exchange_rejections_come_in_the_documented_order(funded: Ledger) -> None:
    assert_rejected(
        funded, exchange(sell_amount_minor=0, source="nobody"), RejectCode.AMOUNT_INVALID
    )
    assert_rejected(
        funded, exchange(source="nobody", destination="wallet:U2"), RejectCode.ACCOUNT_NOT_FOUND
    )
    assert_rejected(
        funded, exchange(destination="wallet:U2", sell_amount_minor=10**9), RejectCode.FIELD_INVALID
    )


def test_only_a_wallet_gives_and_only_a_liability_takes(funded: Ledger) -> None:
    """A merchant payable or the bank as the source would credit a wallet with value no
    customer gave; an FX position or a bank as the destination is no payee."""
    for source in ("merchant:M1:payable", "bank:trust", "fx:THB:position"):
        assert_rejected(funded, exchange(source=source), RejectCode.FIELD_INVALID)
    for destination in ("fx:USD:position", "bank:usd"):
        assert_rejected(funded, exchange(destination=destination), RejectCode.FIELD_INVALID)


def test_a_merchant_abroad_collects_from_a_thai_wallet(funded: Ledger) -> None:
    assert_accepted(
        funded,
        OpenAccount(
            id="open-shop", account="merchant:SHOP:payable", type="liability", currency="USD"
        ),
    )
    assert_accepted(funded, exchange(destination="merchant:SHOP:payable"))
    assert funded.balance("merchant:SHOP:payable").balance == 1_000


def test_the_figures_of_the_wallet_page(flows: Ledger) -> None:
    """docs/flows/wallet.md: 1,000.00 THB sold for 28.50 USD."""
    fund(flows, "wallet:U1", 100_000)
    assert_accepted(flows, exchange(sell_amount_minor=100_000, buy_amount_minor=2_850))
    _, event = only_event(flows, "fx-1")
    assert isinstance(event, Exchanged) and event.rate == "0.0285"
    assert flows.balance("fx:THB:position").balance == -100_000
    assert flows.balance("fx:USD:position").balance == 2_850


def test_a_frozen_destination_is_refused_before_its_tier(funded: Ledger) -> None:
    from ledger import AssignTier, DefineTier

    assert_accepted(
        funded,
        DefineTier(
            id="tier-tiny",
            tier="tiny",
            max_balance_minor=1,
            per_transaction_max_minor=None,
            daily_outflow_max_minor=None,
            monthly_outflow_max_minor=None,
        ),
    )
    assert_accepted(funded, AssignTier(id="a-usd", wallet=USD, tier="tiny"))
    assert_rejected(funded, exchange(), RejectCode.LIMIT_EXCEEDED)
    assert_accepted(funded, FreezeAccount(id="fz", account=USD))
    assert_rejected(funded, exchange(), RejectCode.ACCOUNT_FROZEN)
