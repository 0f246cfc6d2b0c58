"""Wallet commands refuse wrong types when they are built, before any ledger sees them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from ledger import (
    AmountError,
    AssignTier,
    CaptureHold,
    DefineTier,
    Exchange,
    ExpireHolds,
    InvalidCommand,
    Pay,
    PayBill,
    PlaceHold,
    Refund,
    ReleaseHold,
    SettleAgent,
    TopUp,
    Transfer,
    Withdraw,
)
from ledger.commands import TOP_UP_CHANNELS
from tests.conftest import T0

LATER = T0 + timedelta(hours=1)
NO_LIMITS: dict[str, Any] = {
    "max_balance_minor": None,
    "per_transaction_max_minor": None,
    "daily_outflow_max_minor": None,
    "monthly_outflow_max_minor": None,
}

# A good keyword set for each command; the tests below spoil one field at a time.
GOOD: dict[type, dict[str, Any]] = {
    TopUp: {"wallet": "wallet:U1", "amount_minor": 100, "channel": "bank", "fee_minor": 1},
    SettleAgent: {"agent": "A1", "amount_minor": 100},
    Pay: {"wallet": "wallet:U1", "merchant": "M1", "amount_minor": 100, "fee_minor": 1},
    PayBill: {
        "wallet": "wallet:U1",
        "biller": "B1",
        "bill_reference": "INV-1",
        "amount_minor": 100,
        "fee_minor": 1,
        "partial": True,
    },
    Transfer: {"source": "wallet:U1", "destination": "wallet:U2", "amount_minor": 100},
    Withdraw: {"wallet": "wallet:U1", "amount_minor": 100, "fee_minor": 1},
    Exchange: {
        "source": "wallet:U1",
        "destination": "wallet:U3:usd",
        "sell_amount_minor": 100,
        "buy_amount_minor": 3,
    },
    Refund: {"payment": "p-1", "amount_minor": 100},
    PlaceHold: {
        "hold": "H1",
        "wallet": "wallet:U1",
        "destination": "merchant:M1:payable",
        "amount_minor": 100,
        "expires_at": LATER,
    },
    CaptureHold: {"hold": "H1", "amount_minor": 100},
    ReleaseHold: {"hold": "H1"},
    ExpireHolds: {"as_of": T0},
    DefineTier: {"tier": "basic", **NO_LIMITS, "daily_outflow_max_minor": 100},
    AssignTier: {"wallet": "wallet:U1", "tier": "basic"},
}

AMOUNT_FIELDS = [
    (TopUp, "amount_minor"),
    (TopUp, "fee_minor"),
    (SettleAgent, "amount_minor"),
    (Pay, "amount_minor"),
    (Pay, "fee_minor"),
    (PayBill, "amount_minor"),
    (PayBill, "fee_minor"),
    (Transfer, "amount_minor"),
    (Withdraw, "amount_minor"),
    (Withdraw, "fee_minor"),
    (Exchange, "sell_amount_minor"),
    (Exchange, "buy_amount_minor"),
    (Refund, "amount_minor"),
    (PlaceHold, "amount_minor"),
    (CaptureHold, "amount_minor"),
    *((DefineTier, limit) for limit in NO_LIMITS),
]

TEXT_FIELDS = [
    (cls, name)
    for cls, fields in GOOD.items()
    for name, value in fields.items()
    if isinstance(value, str)
]


def build(cls: type, **changes: Any) -> Any:
    return cls(id="c-1", **{**GOOD[cls], **changes})


@pytest.mark.parametrize("cls", list(GOOD), ids=lambda c: c.__name__)
def test_the_good_field_sets_build(cls: type) -> None:
    command = build(cls)
    assert command.id == "c-1"


@pytest.mark.parametrize(("cls", "field"), AMOUNT_FIELDS, ids=lambda x: getattr(x, "__name__", x))
def test_an_amount_that_is_not_an_int_is_amount_error(cls: type, field: str) -> None:
    for bad in [1.0, 100.5, True, False, Decimal(100), "100", b"1"]:
        with pytest.raises(AmountError) as raised:
            build(cls, **{field: bad})
        assert isinstance(raised.value, InvalidCommand)
        assert isinstance(raised.value, ValueError)
        assert field in str(raised.value)


@pytest.mark.parametrize(("cls", "field"), AMOUNT_FIELDS, ids=lambda x: getattr(x, "__name__", x))
def test_an_out_of_range_int_amount_builds_and_is_judged_by_the_ledger(
    cls: type, field: str
) -> None:
    # zero, negative and huge ints are Rejected(amount_invalid) on submit, not exceptions
    for value in (0, -1, 2**63):
        assert getattr(build(cls, **{field: value}), field) == value


@pytest.mark.parametrize(("cls", "field"), TEXT_FIELDS, ids=lambda x: getattr(x, "__name__", x))
def test_a_text_field_of_another_type_is_invalid_command(cls: type, field: str) -> None:
    for bad in [123, None, b"wallet:U1", ["x"], "\ud800"]:
        with pytest.raises(InvalidCommand):
            build(cls, **{field: bad})


@pytest.mark.parametrize("cls", list(GOOD), ids=lambda c: c.__name__)
def test_a_non_str_command_id_is_invalid_command(cls: type) -> None:
    with pytest.raises(InvalidCommand):
        cls(id=1, **GOOD[cls])


@pytest.mark.parametrize(
    "make",
    [
        lambda when: build(PlaceHold, expires_at=when),
        lambda when: build(ExpireHolds, as_of=when),
    ],
    ids=["PlaceHold.expires_at", "ExpireHolds.as_of"],
)
@pytest.mark.parametrize(
    "bad",
    [datetime(2024, 6, 1, 13, 0), "2024-06-01T13:00:00Z", 1_717_246_800, None],
    ids=["naive", "str", "int", "None"],
)
def test_a_time_that_is_not_an_aware_datetime_is_invalid_command(
    make: Callable[[object], Any], bad: object
) -> None:
    with pytest.raises(InvalidCommand):
        make(bad)


def test_aware_times_are_kept_as_the_same_instant_in_utc() -> None:
    bangkok = timezone(timedelta(hours=7))
    hold = build(PlaceHold, expires_at=datetime(2024, 6, 1, 20, 0, tzinfo=bangkok))
    assert hold.expires_at == datetime(2024, 6, 1, 13, 0, tzinfo=UTC)
    assert hold.expires_at.tzinfo is UTC
    assert hold == build(PlaceHold, expires_at=datetime(2024, 6, 1, 13, 0, tzinfo=UTC))
    sweep = build(ExpireHolds, as_of=datetime(2024, 6, 1, 19, 0, tzinfo=bangkok))
    assert sweep.as_of == T0


@pytest.mark.parametrize("bad", [1, "yes", None, 0])
def test_partial_must_be_a_bool(bad: object) -> None:
    with pytest.raises(InvalidCommand):
        build(PayBill, partial=bad)


@pytest.mark.parametrize("bad", [{"k": 1}, {1: "v"}, ["k", "v"], "k=v", {"k": None}])
def test_top_up_metadata_must_map_str_to_str(bad: object) -> None:
    with pytest.raises(InvalidCommand):
        build(TopUp, metadata=bad)


def test_optional_fields_have_their_documented_defaults() -> None:
    top_up = TopUp(id="t", wallet="wallet:U1", amount_minor=1, channel="bank")
    assert (top_up.funding_account, top_up.fee_minor, top_up.metadata) == (None, 0, {})
    bill = PayBill(id="b", wallet="w", biller="B", bill_reference="r", amount_minor=1)
    assert (bill.fee_minor, bill.partial) == (0, False)
    assert Pay(id="p", wallet="w", merchant="M", amount_minor=1).reference == ""
    assert Refund(id="r", payment="p").amount_minor is None
    assert CaptureHold(id="c", hold="H").amount_minor is None
    assert Transfer(id="x", source="a", destination="b", amount_minor=1).memo == ""
    assert TOP_UP_CHANNELS == ("bank", "card", "promptpay", "counter", "agent")


def test_commands_are_frozen() -> None:
    command = build(Pay)
    with pytest.raises(AttributeError):
        command.amount_minor = 5
