"""KYC tiers: ``DefineTier``, ``AssignTier`` and the four limits every wallet flow checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from ledger import (
    Accepted,
    AssignTier,
    CaptureHold,
    CloseAccount,
    Command,
    DefineTier,
    Exchange,
    FreezeAccount,
    Ledger,
    Pay,
    PayBill,
    PlaceHold,
    Refund,
    Rejected,
    ReleaseHold,
    TopUp,
    Transfer,
    Withdraw,
)
from ledger.errors import RejectCode
from ledger.events import TierAssigned, TierDefined
from tests.conftest import (
    T0,
    FakeClock,
    assert_accepted,
    assert_rejected,
    counters,
    fund,
    only_event,
    open_wallet_accounts,
    written,
)

LIMITS = (
    "max_balance_minor",
    "per_transaction_max_minor",
    "daily_outflow_max_minor",
    "monthly_outflow_max_minor",
)
MERCHANT = "merchant:M1:payable"


def define(id: str = "d-1", tier: str = "basic", **limits: int | None) -> DefineTier:
    fields: dict[str, int | None] = dict.fromkeys(LIMITS)
    fields.update(limits)
    return DefineTier(id=id, tier=tier, **fields)


def tiered(book: Ledger, wallet: str = "wallet:U1", **limits: int | None) -> None:
    """Define tier ``t-<wallet>`` with ``limits`` and assign it to ``wallet``."""
    tier = f"t-{wallet}"
    assert_accepted(book, define(f"define-{tier}", tier, **limits))
    assert_accepted(book, AssignTier(id=f"assign-{tier}", wallet=wallet, tier=tier))


_pays = iter(range(10**9))


def pay(amount_minor: int, wallet: str = "wallet:U1") -> Pay:
    return Pay(id=f"pay-{next(_pays)}", wallet=wallet, merchant="M1", amount_minor=amount_minor)


def assert_limit(book: Ledger, command: Command, limit: str) -> Rejected:
    result = assert_rejected(book, command, RejectCode.LIMIT_EXCEEDED)
    assert result.detail.startswith(f"{limit}:"), result.detail
    return result


# --- DefineTier -----------------------------------------------------------------------------


def test_a_tier_is_defined_in_its_own_stream_and_redefined_by_version(flows: Ledger) -> None:
    assert_accepted(
        flows,
        define(
            max_balance_minor=100_000,
            per_transaction_max_minor=50_000,
            daily_outflow_max_minor=200_000,
            monthly_outflow_max_minor=5_000_000,
        ),
    )
    record, event = only_event(flows, "d-1")
    assert (record.type, record.stream, record.version) == ("tier_defined", "tier:basic", 1)
    assert event == TierDefined(
        tier="basic",
        max_balance_minor=100_000,
        per_transaction_max_minor=50_000,
        daily_outflow_max_minor=200_000,
        monthly_outflow_max_minor=5_000_000,
    )
    assert_accepted(flows, define("d-2"))
    record, event = only_event(flows, "d-2")
    assert (record.stream, record.version) == ("tier:basic", 2)
    assert event == TierDefined(
        tier="basic",
        max_balance_minor=None,
        per_transaction_max_minor=None,
        daily_outflow_max_minor=None,
        monthly_outflow_max_minor=None,
    )


def test_a_bad_tier_name_is_field_invalid(flows: Ledger) -> None:
    for tier in ["bad tier", "", "x" * 129, "t/1"]:
        result = assert_rejected(flows, define(tier=tier), RejectCode.FIELD_INVALID)
        assert "tier" in result.detail


def test_a_bad_limit_is_amount_invalid(flows: Ledger) -> None:
    for i, (limit, value) in enumerate((n, v) for n in LIMITS for v in [0, -1, 2**63]):
        result = assert_rejected(
            flows, define(f"d-{i}", "basic", **{limit: value}), RejectCode.AMOUNT_INVALID
        )
        assert limit in result.detail


# --- AssignTier -----------------------------------------------------------------------------


def test_a_tier_is_assigned_on_the_wallets_stream(flows: Ledger) -> None:
    assert_accepted(flows, define())
    assert flows.account("wallet:U1").tier is None
    assert_accepted(flows, AssignTier(id="a-1", wallet="wallet:U1", tier="basic"))
    record, event = only_event(flows, "a-1")
    assert (record.type, record.stream, record.version) == (
        "tier_assigned",
        "account:wallet:U1",
        2,
    )
    assert event == TierAssigned(account="wallet:U1", tier="basic")
    assert flows.account("wallet:U1").tier == "basic"
    assert flows.account("wallet:U2").tier is None
    # moving it to another tier
    assert_accepted(flows, define("d-2", "premium"))
    assert_accepted(flows, AssignTier(id="a-2", wallet="wallet:U1", tier="premium"))
    record, _ = only_event(flows, "a-2")
    assert record.version == 3
    assert flows.account("wallet:U1").tier == "premium"


def test_a_frozen_wallet_may_be_assigned_a_tier(flows: Ledger) -> None:
    assert_accepted(flows, define())
    assert_accepted(flows, FreezeAccount(id="f-1", account="wallet:U1"))
    assert_accepted(flows, AssignTier(id="a-1", wallet="wallet:U1", tier="basic"))
    assert flows.account("wallet:U1").tier == "basic"


def test_assigning_to_an_unknown_account_is_account_not_found(flows: Ledger) -> None:
    assert_accepted(flows, define())
    for i, wallet in enumerate(["wallet:nobody", "bad id"]):
        assert_rejected(
            flows,
            AssignTier(id=f"a-{i}", wallet=wallet, tier="basic"),
            RejectCode.ACCOUNT_NOT_FOUND,
        )


def test_assigning_to_an_account_that_is_not_a_wallet_is_field_invalid(flows: Ledger) -> None:
    assert_accepted(flows, define())
    assert_rejected(
        flows, AssignTier(id="a-1", wallet="bank:trust", tier="basic"), RejectCode.FIELD_INVALID
    )


def test_assigning_to_a_closed_wallet_is_account_closed(flows: Ledger) -> None:
    assert_accepted(flows, define())
    assert_accepted(flows, CloseAccount(id="c-1", account="wallet:U2"))
    assert_rejected(
        flows, AssignTier(id="a-1", wallet="wallet:U2", tier="basic"), RejectCode.ACCOUNT_CLOSED
    )


def test_assigning_an_undefined_tier_is_tier_not_found(flows: Ledger) -> None:
    assert_rejected(
        flows, AssignTier(id="a-1", wallet="wallet:U1", tier="basic"), RejectCode.TIER_NOT_FOUND
    )
    assert_accepted(flows, define())
    assert_rejected(
        flows, AssignTier(id="a-2", wallet="wallet:U1", tier="Basic"), RejectCode.TIER_NOT_FOUND
    )


def test_assigning_a_tier_name_that_cannot_exist_is_tier_not_found(flows: Ledger) -> None:
    # such a tier can never be defined (DefineTier refuses the name), so it is not found
    for tier in ["bad tier", "", "x" * 129]:
        assert_rejected(
            flows, AssignTier(id="a-1", wallet="wallet:U1", tier=tier), RejectCode.TIER_NOT_FOUND
        )


# --- max_balance_minor ----------------------------------------------------------------------


def test_a_top_up_above_max_balance_is_limit_exceeded(flows: Ledger) -> None:
    tiered(flows, max_balance_minor=5_000)
    assert_accepted(flows, TopUp(id="t-1", wallet="wallet:U1", amount_minor=3_000, channel="bank"))
    result = assert_limit(
        flows,
        TopUp(id="t-2", wallet="wallet:U1", amount_minor=2_001, channel="bank"),
        "max_balance_minor",
    )
    assert "5000" in result.detail
    assert "5001" in result.detail
    # what counts is what the wallet is credited: the amount less the fee
    assert_accepted(
        flows,
        TopUp(id="t-3", wallet="wallet:U1", amount_minor=2_010, fee_minor=10, channel="bank"),
    )
    assert counters(flows, "wallet:U1") == (5_000, 5_000, 0, 0)


def test_a_transfer_or_exchange_into_a_full_wallet_is_limit_exceeded(flows: Ledger) -> None:
    fund(flows, "wallet:U2", 10_000)
    fund(flows, "wallet:U1", 900)
    tiered(flows, max_balance_minor=1_000)
    assert_limit(
        flows,
        Transfer(id="x-1", source="wallet:U2", destination="wallet:U1", amount_minor=101),
        "max_balance_minor",
    )
    assert_accepted(
        flows, Transfer(id="x-2", source="wallet:U2", destination="wallet:U1", amount_minor=100)
    )
    tiered(flows, "wallet:U3:usd", max_balance_minor=50)
    assert_limit(
        flows,
        Exchange(
            id="fx-1",
            source="wallet:U2",
            destination="wallet:U3:usd",
            sell_amount_minor=3_550,
            buy_amount_minor=51,
        ),
        "max_balance_minor",
    )


def test_pending_inflows_count_towards_max_balance(flows: Ledger, clock: FakeClock) -> None:
    fund(flows, "wallet:U2", 10_000)
    tiered(flows, max_balance_minor=1_000)
    assert_accepted(
        flows,
        PlaceHold(
            id="h-1",
            hold="H1",
            wallet="wallet:U2",
            destination="wallet:U1",
            amount_minor=800,
            expires_at=T0 + timedelta(hours=1),
        ),
    )
    assert counters(flows, "wallet:U1") == (0, 0, 0, 800)
    assert_limit(
        flows,
        TopUp(id="t-1", wallet="wallet:U1", amount_minor=201, channel="bank"),
        "max_balance_minor",
    )
    assert_accepted(flows, TopUp(id="t-2", wallet="wallet:U1", amount_minor=200, channel="bank"))


# --- per_transaction_max_minor --------------------------------------------------------------


def test_a_payment_above_the_per_transaction_cap_is_limit_exceeded(flows: Ledger) -> None:
    fund(flows, "wallet:U1", 100_000)
    tiered(flows, per_transaction_max_minor=5_000)
    result = assert_limit(flows, pay(5_001), "per_transaction_max_minor")
    assert "t-wallet:U1" in result.detail
    assert_accepted(flows, pay(5_000))
    assert_accepted(flows, pay(5_000))  # a cap per transaction, not per day
    assert counters(flows, "wallet:U1") == (90_000, 90_000, 0, 0)


def test_the_per_transaction_cap_counts_the_withdrawal_fee(flows: Ledger) -> None:
    fund(flows, "wallet:U1", 100_000)
    tiered(flows, per_transaction_max_minor=5_000)
    assert_limit(
        flows,
        Withdraw(id="w-1", wallet="wallet:U1", amount_minor=4_990, fee_minor=11),
        "per_transaction_max_minor",
    )
    assert_accepted(flows, Withdraw(id="w-2", wallet="wallet:U1", amount_minor=4_990, fee_minor=10))


def test_every_outflow_flow_checks_the_tier(flows: Ledger) -> None:
    fund(flows, "wallet:U1", 100_000)
    tiered(flows, per_transaction_max_minor=1_000)
    expires_at = T0 + timedelta(hours=1)
    for command in [
        pay(1_001),
        PayBill(
            id="b-1", wallet="wallet:U1", biller="B1", bill_reference="INV-1", amount_minor=1_001
        ),
        Transfer(id="x-1", source="wallet:U1", destination="wallet:U2", amount_minor=1_001),
        Withdraw(id="w-1", wallet="wallet:U1", amount_minor=1_001),
        Exchange(
            id="fx-1",
            source="wallet:U1",
            destination="wallet:U3:usd",
            sell_amount_minor=1_001,
            buy_amount_minor=28,
        ),
        PlaceHold(
            id="h-1",
            hold="H1",
            wallet="wallet:U1",
            destination=MERCHANT,
            amount_minor=1_001,
            expires_at=expires_at,
        ),
    ]:
        assert_limit(flows, command, "per_transaction_max_minor")


def test_a_limit_is_checked_before_the_funds(flows: Ledger) -> None:
    tiered(flows, per_transaction_max_minor=1_000)
    assert_limit(flows, pay(1_001), "per_transaction_max_minor")
    assert_rejected(flows, pay(1_000), RejectCode.INSUFFICIENT_FUNDS)


def test_an_untiered_wallet_has_no_tier_limits(flows: Ledger) -> None:
    tiered(flows, "wallet:U2", per_transaction_max_minor=1, max_balance_minor=1)
    fund(flows, "wallet:U1", 1_000_000)
    assert_accepted(flows, pay(1_000_000))


def test_a_redefined_tier_applies_at_once(flows: Ledger) -> None:
    fund(flows, "wallet:U1", 100_000)
    tiered(flows, per_transaction_max_minor=1_000)
    assert_limit(flows, pay(2_000), "per_transaction_max_minor")
    assert_accepted(flows, define("d-again", "t-wallet:U1", per_transaction_max_minor=2_000))
    assert_accepted(flows, pay(2_000))
    assert_accepted(flows, define("d-none", "t-wallet:U1"))
    assert_accepted(flows, pay(50_000))


# --- daily and monthly outflow --------------------------------------------------------------


def test_daily_outflow_adds_up_the_days_debits(flows: Ledger) -> None:
    fund(flows, "wallet:U1", 100_000)
    tiered(flows, daily_outflow_max_minor=10_000)
    assert_accepted(flows, pay(4_000))
    assert_accepted(
        flows, Transfer(id="x-1", source="wallet:U1", destination="wallet:U2", amount_minor=3_000)
    )
    assert_accepted(flows, Withdraw(id="w-1", wallet="wallet:U1", amount_minor=1_990, fee_minor=10))
    result = assert_limit(flows, pay(1_001), "daily_outflow_max_minor")
    assert "10001" in result.detail
    assert_accepted(flows, pay(1_000))
    assert_limit(flows, pay(1), "daily_outflow_max_minor")


def test_top_ups_and_refunds_do_not_make_room_in_the_daily_outflow(flows: Ledger) -> None:
    fund(flows, "wallet:U1", 100_000)
    tiered(flows, daily_outflow_max_minor=10_000)
    first = pay(10_000)
    assert_accepted(flows, first)
    assert_accepted(flows, Refund(id="rf-1", payment=first.id))
    fund(flows, "wallet:U1", 5_000)
    assert_limit(flows, pay(1), "daily_outflow_max_minor")


def test_pending_holds_count_against_daily_outflow(flows: Ledger) -> None:
    fund(flows, "wallet:U1", 100_000)
    tiered(flows, daily_outflow_max_minor=10_000)
    hold = PlaceHold(
        id="h-1",
        hold="H1",
        wallet="wallet:U1",
        destination=MERCHANT,
        amount_minor=7_000,
        expires_at=T0 + timedelta(hours=1),
    )
    assert_accepted(flows, hold)
    assert_limit(flows, pay(3_001), "daily_outflow_max_minor")
    assert_limit(
        flows,
        PlaceHold(
            id="h-2",
            hold="H2",
            wallet="wallet:U1",
            destination=MERCHANT,
            amount_minor=3_001,
            expires_at=T0 + timedelta(hours=1),
        ),
        "daily_outflow_max_minor",
    )
    assert_accepted(flows, ReleaseHold(id="rel-1", hold="H1"))
    assert_accepted(flows, pay(3_001))


def test_a_captured_hold_counts_once(flows: Ledger) -> None:
    fund(flows, "wallet:U1", 100_000)
    tiered(flows, daily_outflow_max_minor=10_000)
    assert_accepted(
        flows,
        PlaceHold(
            id="h-1",
            hold="H1",
            wallet="wallet:U1",
            destination=MERCHANT,
            amount_minor=6_000,
            expires_at=T0 + timedelta(hours=1),
        ),
    )
    assert_accepted(flows, CaptureHold(id="cap-1", hold="H1", amount_minor=5_000))
    assert_limit(flows, pay(5_001), "daily_outflow_max_minor")
    assert_accepted(flows, pay(5_000))


def test_the_daily_limit_resets_at_midnight_in_bangkok(flows: Ledger, clock: FakeClock) -> None:
    fund(flows, "wallet:U1", 100_000)
    tiered(flows, daily_outflow_max_minor=1_000)
    assert_accepted(flows, pay(600))  # 19:00 in Bangkok
    clock.now = datetime(2024, 6, 1, 16, 59, 59, 999_999, tzinfo=UTC)  # 23:59:59.999999
    assert_limit(flows, pay(500), "daily_outflow_max_minor")
    clock.now = datetime(2024, 6, 1, 17, 0, tzinfo=UTC)  # midnight, 2 June in Bangkok
    assert_accepted(flows, pay(500))
    assert_limit(flows, pay(501), "daily_outflow_max_minor")
    assert_accepted(flows, pay(500))


def test_the_monthly_limit_resets_at_the_start_of_the_month_in_bangkok(
    tmp_path: Path,
) -> None:
    clock = FakeClock(datetime(2024, 5, 31, 16, 0, tzinfo=UTC))  # 23:00, 31 May in Bangkok
    with Ledger.open(tmp_path / "m.db", clock=clock) as book:
        open_wallet_accounts(book)
        fund(book, "wallet:U1", 100_000)
        tiered(book, monthly_outflow_max_minor=1_000, daily_outflow_max_minor=900)
        assert_accepted(book, pay(900))  # May: does not count in June
        clock.now = datetime(2024, 5, 31, 17, 0, tzinfo=UTC)  # 00:00, 1 June
        assert_accepted(book, pay(400))
        clock.now = datetime(2024, 6, 15, 5, 0, tzinfo=UTC)
        assert_accepted(book, pay(400))
        clock.now = datetime(2024, 6, 30, 16, 59, 59, 999_999, tzinfo=UTC)  # still June
        result = assert_limit(book, pay(201), "monthly_outflow_max_minor")
        assert "1001" in result.detail
        assert_accepted(book, pay(200))
        assert_limit(book, pay(1), "monthly_outflow_max_minor")
        clock.now = datetime(2024, 6, 30, 17, 0, tzinfo=UTC)  # 00:00, 1 July
        assert_accepted(book, pay(900))
        assert_limit(book, pay(1), "daily_outflow_max_minor")
        clock.now = datetime(2024, 7, 1, 17, 0, tzinfo=UTC)  # 2 July
        assert_limit(book, pay(101), "monthly_outflow_max_minor")


def test_a_utc_ledger_cuts_days_at_utc_midnight(tmp_path: Path) -> None:
    clock = FakeClock(datetime(2024, 6, 1, 16, 0, tzinfo=UTC))
    with Ledger.open(tmp_path / "utc.db", clock=clock, timezone="UTC") as book:
        open_wallet_accounts(book)
        fund(book, "wallet:U1", 100_000)
        tiered(book, daily_outflow_max_minor=1_000)
        assert_accepted(book, pay(600))
        clock.now = datetime(2024, 6, 1, 17, 0, tzinfo=UTC)  # Bangkok's midnight: not here
        assert_limit(book, pay(500), "daily_outflow_max_minor")
        clock.now = datetime(2024, 6, 1, 23, 59, 59, 999_999, tzinfo=UTC)
        assert_limit(book, pay(500), "daily_outflow_max_minor")
        clock.now = datetime(2024, 6, 2, 0, 0, tzinfo=UTC)
        assert_accepted(book, pay(1_000))


def test_a_batch_sees_its_own_earlier_payments(flows: Ledger) -> None:
    fund(flows, "wallet:U1", 100_000)
    tiered(flows, daily_outflow_max_minor=1_000)
    batch = [pay(400), pay(400), pay(400), pay(200)]
    results = flows.submit_many(batch)
    assert isinstance(results[0], Accepted)
    assert isinstance(results[1], Accepted)
    assert isinstance(results[2], Rejected)
    assert results[2].code is RejectCode.LIMIT_EXCEEDED
    assert results[2].detail.startswith("daily_outflow_max_minor:")
    assert isinstance(results[3], Accepted)
    assert written(flows, batch[2].id) == []
    assert counters(flows, "wallet:U1") == (99_000, 99_000, 0, 0)
    assert_limit(flows, pay(1), "daily_outflow_max_minor")


def test_a_batch_counts_its_own_holds(flows: Ledger) -> None:
    fund(flows, "wallet:U1", 100_000)
    tiered(flows, daily_outflow_max_minor=1_000)
    hold = PlaceHold(
        id="h-1",
        hold="H1",
        wallet="wallet:U1",
        destination=MERCHANT,
        amount_minor=700,
        expires_at=T0 + timedelta(hours=1),
    )
    results = flows.submit_many([hold, pay(301), pay(300)])
    assert isinstance(results[0], Accepted)
    assert isinstance(results[1], Rejected)
    assert results[1].code is RejectCode.LIMIT_EXCEEDED
    assert results[1].detail.startswith("daily_outflow_max_minor:")
    assert isinstance(results[2], Accepted)
    assert counters(flows, "wallet:U1") == (99_700, 99_000, 700, 0)


def test_a_rolled_back_linked_batch_leaves_no_tier_and_no_outflow(flows: Ledger) -> None:
    fund(flows, "wallet:U1", 100_000)
    assert_accepted(flows, define(daily_outflow_max_minor=1_000))
    hold = PlaceHold(
        id="h-1",
        hold="H1",
        wallet="wallet:U1",
        destination=MERCHANT,
        amount_minor=100,
        expires_at=T0 + timedelta(hours=1),
    )
    doomed = Pay(id="p-404", wallet="wallet:U1", merchant="M404", amount_minor=1)
    batch = [AssignTier(id="a-1", wallet="wallet:U1", tier="basic"), pay(800), hold, doomed]
    results = flows.submit_many(batch, linked=True)
    assert [r.code for r in results] == [  # type: ignore[union-attr]
        RejectCode.LINKED_COMMAND_FAILED,
        RejectCode.LINKED_COMMAND_FAILED,
        RejectCode.LINKED_COMMAND_FAILED,
        RejectCode.ACCOUNT_NOT_FOUND,
    ]
    assert flows.account("wallet:U1").tier is None
    assert counters(flows, "wallet:U1") == (100_000, 100_000, 0, 0)
    # nothing of the batch counts: the whole daily limit is still there
    assert_accepted(flows, AssignTier(id="a-2", wallet="wallet:U1", tier="basic"))
    assert_accepted(flows, pay(1_000))
    assert_limit(flows, pay(1), "daily_outflow_max_minor")


def test_a_hold_into_a_tiered_wallet_is_checked_against_its_cap(flows: Ledger) -> None:
    fund(flows, "wallet:U2", 10_000)
    fund(flows, "wallet:U1", 600)
    tiered(flows, max_balance_minor=1_000)

    def hold(id: str, amount_minor: int) -> PlaceHold:
        return PlaceHold(
            id=f"place-{id}",
            hold=id,
            wallet="wallet:U2",
            destination="wallet:U1",
            amount_minor=amount_minor,
            expires_at=T0 + timedelta(hours=1),
        )

    assert_limit(flows, hold("H1", 401), "max_balance_minor")
    assert_accepted(flows, hold("H1", 300))
    # the pending inflow counts: a second hold must fit with it
    assert_limit(flows, hold("H2", 101), "max_balance_minor")
    assert_accepted(flows, hold("H2", 100))
    assert counters(flows, "wallet:U1") == (600, 600, 0, 400)
    # so the captures cannot break the cap
    assert_accepted(flows, CaptureHold(id="cap-1", hold="H1"))
    assert_accepted(flows, CaptureHold(id="cap-2", hold="H2"))
    assert counters(flows, "wallet:U1") == (1_000, 1_000, 0, 0)


def test_a_frozen_or_closed_wallet_is_refused_before_any_tier_limit(flows: Ledger) -> None:
    fund(flows, "wallet:U1", 5_000)
    tiered(flows, per_transaction_max_minor=1, max_balance_minor=5_000)
    assert_accepted(flows, FreezeAccount(id="f-1", account="wallet:U1"))
    assert_rejected(flows, pay(1_000), RejectCode.ACCOUNT_FROZEN)
    assert_rejected(
        flows,
        TopUp(id="t-1", wallet="wallet:U1", amount_minor=1_000, channel="bank"),
        RejectCode.ACCOUNT_FROZEN,
    )
    tiered(flows, "wallet:U2", max_balance_minor=1)
    assert_accepted(flows, CloseAccount(id="c-1", account="wallet:U2"))
    assert_rejected(
        flows,
        TopUp(id="t-2", wallet="wallet:U2", amount_minor=1_000, channel="bank"),
        RejectCode.ACCOUNT_CLOSED,
    )
