"""Cash in: ``TopUp`` on every channel and ``SettleAgent``, their postings and rejections."""

from __future__ import annotations

import pytest

from ledger import (
    CloseAccount,
    FreezeAccount,
    Ledger,
    Reverse,
    SettleAgent,
    TopUp,
)
from ledger.errors import RejectCode
from ledger.events import AgentSettled, EntryReversed, TopUpReceived
from tests.conftest import (
    T0,
    assert_accepted,
    assert_rejected,
    counters,
    leg,
    only_event,
    open_account,
)

MAX = 2**63 - 1
AGENT = "agent:A1:receivable"


def top_up(id: str = "t-1", **kwargs: object) -> TopUp:
    fields: dict[str, object] = {
        "wallet": "wallet:U1",
        "amount_minor": 10_000,
        "channel": "bank",
    }
    fields.update(kwargs)
    return TopUp(id=id, **fields)  # type: ignore[arg-type]


# --- TopUp: accepted ------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["bank", "card", "promptpay"])
def test_a_bank_card_or_promptpay_top_up_debits_the_bank_trust(flows: Ledger, channel: str) -> None:
    assert_accepted(
        flows,
        top_up(channel=channel, fee_minor=150, metadata={"psp_ref": "TX-991"}),
    )
    record, event = only_event(flows, "t-1")
    assert (record.type, record.stream, record.version) == ("top_up_received", "entry:t-1", 1)
    assert (record.recorded_at, record.effective_at) == (T0, T0)
    assert isinstance(event, TopUpReceived)
    assert event.wallet == "wallet:U1"
    assert event.channel == channel
    assert event.funding_account == "bank:trust"
    assert (event.amount_minor, event.fee_minor) == (10_000, 150)
    assert event.metadata == {"psp_ref": "TX-991"}
    assert event.postings == (
        leg("bank:trust", "debit", 10_000),
        leg("wallet:U1", "credit", 9_850),
        leg("income:fees", "credit", 150),
    )
    assert counters(flows, "wallet:U1") == (9_850, 9_850, 0, 0)
    assert counters(flows, "bank:trust") == (10_000, 10_000, 0, 0)
    assert counters(flows, "income:fees") == (150, 150, 0, 0)


def test_a_top_up_without_fee_has_no_fee_posting(flows: Ledger) -> None:
    assert_accepted(flows, top_up(amount_minor=1))
    _, event = only_event(flows, "t-1")
    assert isinstance(event, TopUpReceived)
    assert event.fee_minor == 0
    assert event.postings == (
        leg("bank:trust", "debit", 1),
        leg("wallet:U1", "credit", 1),
    )
    assert counters(flows, "wallet:U1") == (1, 1, 0, 0)
    assert counters(flows, "income:fees") == (0, 0, 0, 0)


@pytest.mark.parametrize("channel", ["counter", "agent"])
def test_a_counter_or_agent_top_up_debits_the_agents_receivable(
    flows: Ledger, channel: str
) -> None:
    assert_accepted(
        flows, top_up(channel=channel, funding_account=AGENT, amount_minor=5_000, fee_minor=20)
    )
    record, event = only_event(flows, "t-1")
    assert record.type == "top_up_received"
    assert isinstance(event, TopUpReceived)
    assert (event.channel, event.funding_account) == (channel, AGENT)
    assert event.postings == (
        leg(AGENT, "debit", 5_000),
        leg("wallet:U1", "credit", 4_980),
        leg("income:fees", "credit", 20),
    )
    assert counters(flows, AGENT) == (5_000, 5_000, 0, 0)
    assert counters(flows, "bank:trust") == (0, 0, 0, 0)
    assert counters(flows, "wallet:U1") == (4_980, 4_980, 0, 0)


def test_a_bank_top_up_may_name_another_funding_account(flows: Ledger) -> None:
    open_account(flows, "bank:kbank", "asset")
    assert_accepted(flows, top_up(funding_account="bank:kbank", amount_minor=700))
    _, event = only_event(flows, "t-1")
    assert isinstance(event, TopUpReceived)
    assert event.funding_account == "bank:kbank"
    assert event.postings == (leg("bank:kbank", "debit", 700), leg("wallet:U1", "credit", 700))
    assert counters(flows, "bank:kbank") == (700, 700, 0, 0)
    assert counters(flows, "bank:trust") == (0, 0, 0, 0)


def test_a_usd_wallet_is_topped_up_in_usd_from_a_usd_account(flows: Ledger) -> None:
    open_account(flows, "bank:usd", "asset", "USD")
    assert_accepted(
        flows, top_up(wallet="wallet:U3:usd", funding_account="bank:usd", amount_minor=2_500)
    )
    _, event = only_event(flows, "t-1")
    assert isinstance(event, TopUpReceived)
    assert event.postings == (
        leg("bank:usd", "debit", 2_500, "USD"),
        leg("wallet:U3:usd", "credit", 2_500, "USD"),
    )
    assert counters(flows, "wallet:U3:usd") == (2_500, 2_500, 0, 0)


def test_the_largest_fee_leaves_one_minor_unit_in_the_wallet(flows: Ledger) -> None:
    assert_accepted(flows, top_up(amount_minor=100, fee_minor=99))
    assert counters(flows, "wallet:U1") == (1, 1, 0, 0)
    assert counters(flows, "income:fees") == (99, 99, 0, 0)


def test_the_largest_amount_is_accepted(flows: Ledger) -> None:
    assert_accepted(flows, top_up(amount_minor=MAX))
    assert counters(flows, "wallet:U1") == (MAX, MAX, 0, 0)
    # the bank trust is at its ceiling: one more satang overflows it
    assert_rejected(flows, top_up("t-2", amount_minor=1), RejectCode.OVERFLOW)


def test_a_top_up_can_be_reversed(flows: Ledger) -> None:
    assert_accepted(flows, top_up(fee_minor=100))
    assert_accepted(flows, Reverse(id="r-1", entry_id="t-1"))
    record, event = only_event(flows, "r-1")
    assert (record.type, record.stream) == ("entry_reversed", "reversal:t-1")
    assert isinstance(event, EntryReversed)
    assert event.reverses == "t-1"
    assert event.postings == (
        leg("bank:trust", "credit", 10_000),
        leg("wallet:U1", "debit", 9_900),
        leg("income:fees", "debit", 100),
    )
    for account in ("wallet:U1", "bank:trust", "income:fees"):
        assert counters(flows, account) == (0, 0, 0, 0)


# --- TopUp: rejected ------------------------------------------------------------------------


def test_an_unknown_channel_is_field_invalid(flows: Ledger) -> None:
    for channel in ["cash", "BANK", "", "bank ", "atm"]:
        result = assert_rejected(flows, top_up(channel=channel), RejectCode.FIELD_INVALID)
        assert "channel" in result.detail


def test_a_counter_or_agent_top_up_without_funding_account_is_field_invalid(
    flows: Ledger,
) -> None:
    for channel in ["counter", "agent"]:
        result = assert_rejected(flows, top_up(channel=channel), RejectCode.FIELD_INVALID)
        assert "funding_account" in result.detail


def test_bad_metadata_is_field_invalid(flows: Ledger) -> None:
    for metadata in [
        {"bad key": "x"},
        {"": "x"},
        {"k": "x" * 1_001},
        {f"k{i}": "v" for i in range(33)},
    ]:
        result = assert_rejected(flows, top_up(metadata=metadata), RejectCode.FIELD_INVALID)
        assert "metadata" in result.detail


def test_a_bad_amount_or_fee_is_amount_invalid(flows: Ledger) -> None:
    for amount, fee in [
        (0, 0),
        (-1, 0),
        (-10_000, 0),
        (2**63, 0),
        (2**64, 0),
        (100, -1),
        (100, 2**63),
        (100, 100),
        (100, 101),
        (1, 1),
    ]:
        assert_rejected(
            flows, top_up(amount_minor=amount, fee_minor=fee), RejectCode.AMOUNT_INVALID
        )


def test_an_unknown_wallet_is_account_not_found(flows: Ledger) -> None:
    for wallet in ["wallet:nobody", "not an id", "", "w" * 129]:
        assert_rejected(flows, top_up(wallet=wallet), RejectCode.ACCOUNT_NOT_FOUND)


def test_an_account_that_is_not_a_wallet_is_field_invalid(flows: Ledger) -> None:
    for account in ["bank:trust", "income:fees", AGENT, "fx:USD:position"]:
        result = assert_rejected(flows, top_up(wallet=account), RejectCode.FIELD_INVALID)
        assert "not a wallet" in result.detail


def test_an_unknown_funding_account_is_account_not_found(flows: Ledger) -> None:
    for channel in ["counter", "agent", "bank"]:
        result = assert_rejected(
            flows,
            top_up(channel=channel, funding_account="agent:ZZ:receivable"),
            RejectCode.ACCOUNT_NOT_FOUND,
        )
        assert "agent:ZZ:receivable" in result.detail


def test_a_top_up_to_a_frozen_wallet_is_account_frozen(flows: Ledger) -> None:
    assert_accepted(flows, FreezeAccount(id="f-1", account="wallet:U1"))
    assert_rejected(flows, top_up(), RejectCode.ACCOUNT_FROZEN)


def test_a_top_up_from_a_frozen_funding_account_is_account_frozen(flows: Ledger) -> None:
    assert_accepted(flows, FreezeAccount(id="f-1", account=AGENT))
    assert_rejected(
        flows, top_up(channel="agent", funding_account=AGENT), RejectCode.ACCOUNT_FROZEN
    )
    assert_accepted(flows, FreezeAccount(id="f-2", account="bank:trust"))
    assert_rejected(flows, top_up("t-2"), RejectCode.ACCOUNT_FROZEN)


def test_a_top_up_with_a_fee_to_a_frozen_fee_account_is_account_frozen(flows: Ledger) -> None:
    assert_accepted(flows, FreezeAccount(id="f-1", account="income:fees"))
    assert_rejected(flows, top_up(fee_minor=1), RejectCode.ACCOUNT_FROZEN)
    assert_accepted(flows, top_up("t-2"))  # no fee leg: the fee account is not touched


def test_a_top_up_to_a_closed_wallet_is_account_closed(flows: Ledger) -> None:
    assert_accepted(flows, flows.chart.open_wallet("wallet:U9"))
    assert_accepted(flows, CloseAccount(id="c-1", account="wallet:U9"))
    assert_rejected(flows, top_up(wallet="wallet:U9"), RejectCode.ACCOUNT_CLOSED)


def test_a_usd_wallet_funded_from_the_thb_bank_trust_is_currency_mismatch(flows: Ledger) -> None:
    assert_rejected(flows, top_up(wallet="wallet:U3:usd"), RejectCode.CURRENCY_MISMATCH)


def test_a_usd_top_up_with_a_fee_into_thb_fee_income_is_currency_mismatch(flows: Ledger) -> None:
    open_account(flows, "bank:usd", "asset", "USD")
    assert_rejected(
        flows,
        top_up(wallet="wallet:U3:usd", funding_account="bank:usd", fee_minor=5),
        RejectCode.CURRENCY_MISMATCH,
    )


def test_a_top_up_over_the_wallets_own_cap_is_limit_exceeded(flows: Ledger) -> None:
    open_account(flows, "wallet:capped", no_overdraft=True, max_balance_minor=5_000)
    assert_accepted(flows, top_up(wallet="wallet:capped", amount_minor=5_000))
    assert_rejected(
        flows, top_up("t-2", wallet="wallet:capped", amount_minor=1), RejectCode.LIMIT_EXCEEDED
    )


def test_rejections_come_in_the_documented_order(flows: Ledger) -> None:
    # channel before everything
    assert_rejected(
        flows, top_up(channel="cash", amount_minor=0, wallet="nobody"), RejectCode.FIELD_INVALID
    )
    # funding account before the amount
    assert_rejected(flows, top_up(channel="counter", amount_minor=0), RejectCode.FIELD_INVALID)
    # amount before the wallet
    assert_rejected(flows, top_up(amount_minor=0, wallet="nobody"), RejectCode.AMOUNT_INVALID)
    # the funding account before the wallet
    assert_rejected(
        flows,
        top_up(wallet="nobody", channel="agent", funding_account="agent:ZZ:receivable"),
        RejectCode.ACCOUNT_NOT_FOUND,
    )
    assert_rejected(
        flows,
        top_up(wallet="nobody", channel="agent", funding_account="wallet:U2"),
        RejectCode.FIELD_INVALID,
    )
    assert_rejected(flows, top_up(wallet="nobody"), RejectCode.ACCOUNT_NOT_FOUND)
    assert_rejected(flows, top_up(wallet="bank:trust"), RejectCode.FIELD_INVALID)


def test_a_top_up_is_funded_only_from_an_asset(flows: Ledger) -> None:
    """A counter top-up naming a wallet as its "agent" would move that wallet's money
    without any of its checks; the funding account must be an asset."""
    for funding in ("wallet:U2", "merchant:M1:payable", "income:fees"):
        assert_rejected(
            flows,
            top_up(channel="counter", funding_account=funding),
            RejectCode.FIELD_INVALID,
        )


# --- SettleAgent ----------------------------------------------------------------------------


def test_an_agent_settles_the_cash_it_collected(flows: Ledger) -> None:
    assert_accepted(flows, top_up(channel="counter", funding_account=AGENT, amount_minor=5_000))
    assert_accepted(flows, SettleAgent(id="s-1", agent="A1", amount_minor=3_000))
    record, event = only_event(flows, "s-1")
    assert (record.type, record.stream, record.version) == ("agent_settled", "entry:s-1", 1)
    assert isinstance(event, AgentSettled)
    assert (event.agent, event.amount_minor) == ("A1", 3_000)
    assert event.postings == (
        leg("bank:trust", "debit", 3_000),
        leg(AGENT, "credit", 3_000),
    )
    assert counters(flows, AGENT) == (2_000, 2_000, 0, 0)
    assert counters(flows, "bank:trust") == (3_000, 3_000, 0, 0)
    assert counters(flows, "wallet:U1") == (5_000, 5_000, 0, 0)
    # the rest, exactly
    assert_accepted(flows, SettleAgent(id="s-2", agent="A1", amount_minor=2_000))
    assert counters(flows, AGENT) == (0, 0, 0, 0)
    assert counters(flows, "bank:trust") == (5_000, 5_000, 0, 0)


def test_settling_more_than_the_agent_owes_is_insufficient_funds(flows: Ledger) -> None:
    assert_rejected(
        flows, SettleAgent(id="s-0", agent="A1", amount_minor=1), RejectCode.INSUFFICIENT_FUNDS
    )
    assert_accepted(flows, top_up(channel="agent", funding_account=AGENT, amount_minor=5_000))
    assert_rejected(
        flows, SettleAgent(id="s-1", agent="A1", amount_minor=5_001), RejectCode.INSUFFICIENT_FUNDS
    )


def test_a_bad_agent_id_is_field_invalid(flows: Ledger) -> None:
    for agent in ["A 1", "", "a/b", "x" * 129]:
        assert_rejected(
            flows, SettleAgent(id="s-1", agent=agent, amount_minor=1), RejectCode.FIELD_INVALID
        )


def test_a_bad_settlement_amount_is_amount_invalid(flows: Ledger) -> None:
    for amount in [0, -1, 2**63]:
        assert_rejected(
            flows,
            SettleAgent(id="s-1", agent="A1", amount_minor=amount),
            RejectCode.AMOUNT_INVALID,
        )


def test_an_agent_without_a_receivable_is_account_not_found(flows: Ledger) -> None:
    assert_rejected(
        flows, SettleAgent(id="s-1", agent="A2", amount_minor=1), RejectCode.ACCOUNT_NOT_FOUND
    )


def test_a_frozen_agent_receivable_is_account_frozen(flows: Ledger) -> None:
    assert_accepted(flows, top_up(channel="agent", funding_account=AGENT, amount_minor=5_000))
    assert_accepted(flows, FreezeAccount(id="f-1", account=AGENT))
    assert_rejected(
        flows, SettleAgent(id="s-1", agent="A1", amount_minor=1), RejectCode.ACCOUNT_FROZEN
    )


def test_a_settlement_can_be_reversed(flows: Ledger) -> None:
    assert_accepted(flows, top_up(channel="agent", funding_account=AGENT, amount_minor=5_000))
    assert_accepted(flows, SettleAgent(id="s-1", agent="A1", amount_minor=5_000))
    assert_accepted(flows, Reverse(id="r-1", entry_id="s-1"))
    assert counters(flows, AGENT) == (5_000, 5_000, 0, 0)
    assert counters(flows, "bank:trust") == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("channel", "funding"),
    [
        ("counter", "bank:trust"),  # a counter's cash is owed by an agent
        ("agent", "bank:trust"),
        ("bank", "agent:A1:receivable"),  # a bank top-up lands in a bank account
        ("card", "agent:A1:receivable"),
        ("promptpay", "fx:THB:position"),  # an FX position backs no wallet
    ],
)
def test_the_channel_decides_which_asset_funds_the_top_up(
    flows: Ledger, channel: str, funding: str
) -> None:
    assert_rejected(
        flows, top_up(channel=channel, funding_account=funding), RejectCode.FIELD_INVALID
    )
