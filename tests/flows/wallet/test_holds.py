"""Two-phase payments: ``PlaceHold``, ``CaptureHold``, ``ReleaseHold``, ``ExpireHolds``."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from ledger import (
    CaptureHold,
    ExpireHolds,
    FreezeAccount,
    Ledger,
    Pay,
    PlaceHold,
    Rejected,
    ReleaseHold,
    Reverse,
    UnfreezeAccount,
)
from ledger.errors import RejectCode
from ledger.events import HoldCaptured, HoldExpired, HoldPlaced, HoldReleased
from tests.conftest import (
    T0,
    FakeClock,
    assert_accepted,
    assert_rejected,
    counters,
    fund,
    leg,
    only_event,
    written,
)

MERCHANT = "merchant:M1:payable"
HOUR = timedelta(hours=1)
US = timedelta(microseconds=1)


def place(hold: str = "H1", id: str | None = None, **kwargs: object) -> PlaceHold:
    fields: dict[str, object] = {
        "wallet": "wallet:U1",
        "destination": MERCHANT,
        "amount_minor": 4_000,
        "expires_at": T0 + HOUR,
    }
    fields.update(kwargs)
    return PlaceHold(id=id or f"place-{hold}", hold=hold, **fields)  # type: ignore[arg-type]


@pytest.fixture
def funded(flows: Ledger) -> Ledger:
    """``flows`` with 10,000 in wallet:U1."""
    fund(flows, "wallet:U1", 10_000)
    return flows


@pytest.fixture
def held(funded: Ledger) -> Ledger:
    """``funded`` with hold H1: 4,000 of wallet:U1 for merchant M1, expiring at T0+1h."""
    assert_accepted(funded, place())
    return funded


# --- PlaceHold ------------------------------------------------------------------------------


def test_a_hold_reserves_funds_without_posting(funded: Ledger) -> None:
    assert_accepted(funded, place())
    record, event = only_event(funded, "place-H1")
    assert (record.type, record.stream, record.version) == ("hold_placed", "hold:H1", 1)
    assert isinstance(event, HoldPlaced)
    assert (event.hold, event.wallet, event.destination) == ("H1", "wallet:U1", MERCHANT)
    assert event.amount_minor == 4_000
    assert event.expires_at == T0 + HOUR
    assert event.postings == (
        leg("wallet:U1", "debit", 4_000, phase="pending"),
        leg(MERCHANT, "credit", 4_000, phase="pending"),
    )
    # the balance stays, what can be spent drops
    assert counters(funded, "wallet:U1") == (10_000, 6_000, 4_000, 0)
    assert counters(funded, MERCHANT) == (0, 0, 0, 4_000)


def test_expires_at_in_another_zone_is_stored_as_the_same_instant(funded: Ledger) -> None:
    bangkok = timezone(timedelta(hours=7))
    assert_accepted(funded, place(expires_at=(T0 + HOUR).astimezone(bangkok)))
    _, event = only_event(funded, "place-H1")
    assert isinstance(event, HoldPlaced)
    assert event.expires_at == T0 + HOUR
    assert event.expires_at.utcoffset() == timedelta(0)


def test_holds_count_against_each_other_and_against_payments(held: Ledger) -> None:
    assert_rejected(held, place("H2", amount_minor=6_001), RejectCode.INSUFFICIENT_FUNDS)
    assert_rejected(
        held,
        Pay(id="p-1", wallet="wallet:U1", merchant="M1", amount_minor=6_001),
        RejectCode.INSUFFICIENT_FUNDS,
    )
    assert_accepted(held, place("H2", amount_minor=6_000))
    assert counters(held, "wallet:U1") == (10_000, 0, 10_000, 0)


def test_a_bad_hold_id_is_field_invalid(funded: Ledger) -> None:
    for i, hold in enumerate(["H 1", "", "x" * 129]):
        result = assert_rejected(funded, place(hold, id=f"p-{i}"), RejectCode.FIELD_INVALID)
        assert "hold" in result.detail


def test_an_expiry_not_after_now_is_field_invalid(funded: Ledger) -> None:
    for i, expires_at in enumerate([T0, T0 - US, T0 - timedelta(days=400)]):
        result = assert_rejected(
            funded, place(id=f"p-{i}", expires_at=expires_at), RejectCode.FIELD_INVALID
        )
        assert "expires_at" in result.detail
    assert_accepted(funded, place(expires_at=T0 + US))


def test_a_bad_hold_amount_is_amount_invalid(funded: Ledger) -> None:
    for amount in [0, -1, 2**63]:
        assert_rejected(funded, place(amount_minor=amount), RejectCode.AMOUNT_INVALID)


def test_a_hold_id_is_used_once(held: Ledger) -> None:
    assert_rejected(held, place(id="place-H1-again", amount_minor=1), RejectCode.HOLD_EXISTS)
    assert_accepted(held, ReleaseHold(id="rel-1", hold="H1"))
    # still taken after the hold ended, and before the wallet is even looked at
    assert_rejected(held, place(id="place-H1-3", wallet="wallet:nobody"), RejectCode.HOLD_EXISTS)


def test_a_hold_on_its_own_wallet_is_field_invalid(funded: Ledger) -> None:
    assert_rejected(funded, place(destination="wallet:U1"), RejectCode.FIELD_INVALID)


def test_hold_wallet_and_destination_rejections(funded: Ledger) -> None:
    assert_rejected(funded, place(wallet="wallet:nobody"), RejectCode.ACCOUNT_NOT_FOUND)
    assert_rejected(funded, place(wallet="bank:trust"), RejectCode.FIELD_INVALID)
    assert_rejected(
        funded, place(destination="merchant:M404:payable"), RejectCode.ACCOUNT_NOT_FOUND
    )
    assert_rejected(funded, place(destination="wallet:U3:usd"), RejectCode.CURRENCY_MISMATCH)
    assert_rejected(funded, place(amount_minor=10_001), RejectCode.INSUFFICIENT_FUNDS)


def test_a_hold_on_or_for_a_frozen_account_is_account_frozen(funded: Ledger) -> None:
    assert_accepted(funded, FreezeAccount(id="f-1", account="wallet:U1"))
    assert_rejected(funded, place(), RejectCode.ACCOUNT_FROZEN)
    assert_accepted(funded, UnfreezeAccount(id="u-1", account="wallet:U1"))
    assert_accepted(funded, FreezeAccount(id="f-2", account=MERCHANT))
    assert_rejected(funded, place(), RejectCode.ACCOUNT_FROZEN)


def test_place_rejections_come_in_the_documented_order(held: Ledger) -> None:
    assert_rejected(
        held, place("H 1", id="p-1", expires_at=T0, amount_minor=0), RejectCode.FIELD_INVALID
    )
    assert_rejected(held, place("H2", expires_at=T0, amount_minor=0), RejectCode.FIELD_INVALID)
    assert_rejected(held, place("H1", id="again", amount_minor=0), RejectCode.AMOUNT_INVALID)
    assert_rejected(held, place("H1", id="again", wallet="nobody"), RejectCode.HOLD_EXISTS)


def test_one_batch_places_and_ends_a_hold_exactly_once(funded: Ledger) -> None:
    results = funded.submit_many(
        [
            place("H1", amount_minor=3_000),
            place("H1", id="place-H1-again", amount_minor=1),
            CaptureHold(id="cap-1", hold="H1", amount_minor=1_000),
            ReleaseHold(id="rel-1", hold="H1"),
            CaptureHold(id="cap-2", hold="H1"),
        ]
    )
    codes = [r.code if isinstance(r, Rejected) else "ok" for r in results]
    assert codes == [
        "ok",
        RejectCode.HOLD_EXISTS,
        "ok",
        RejectCode.HOLD_NOT_PENDING,
        RejectCode.HOLD_NOT_PENDING,
    ]
    assert [(r.stream, r.version) for c in ("place-H1", "cap-1") for r in written(funded, c)] == [
        ("hold:H1", 1),
        ("hold:H1", 2),
    ]
    assert counters(funded, "wallet:U1") == (9_000, 9_000, 0, 0)


def test_a_hold_cannot_be_reversed(held: Ledger) -> None:
    result = assert_rejected(
        held, Reverse(id="r-1", entry_id="place-H1"), RejectCode.ENTRY_NOT_REVERSIBLE
    )
    assert "HoldPlaced" in result.detail


# --- CaptureHold ----------------------------------------------------------------------------


def test_a_full_capture_posts_the_whole_hold(held: Ledger) -> None:
    assert_accepted(held, CaptureHold(id="cap-1", hold="H1"))
    record, event = only_event(held, "cap-1")
    assert (record.type, record.stream, record.version) == ("hold_captured", "hold:H1", 2)
    assert isinstance(event, HoldCaptured)
    assert (event.hold, event.amount_minor, event.released_minor) == ("H1", 4_000, 0)
    assert event.postings == (
        leg("wallet:U1", "debit", 4_000, phase="released"),
        leg(MERCHANT, "credit", 4_000, phase="released"),
        leg("wallet:U1", "debit", 4_000),
        leg(MERCHANT, "credit", 4_000),
    )
    assert counters(held, "wallet:U1") == (6_000, 6_000, 0, 0)
    assert counters(held, MERCHANT) == (4_000, 4_000, 0, 0)


def test_a_partial_capture_posts_part_and_releases_the_rest(held: Ledger) -> None:
    assert_accepted(held, CaptureHold(id="cap-1", hold="H1", amount_minor=2_500))
    record, event = only_event(held, "cap-1")
    assert (record.type, record.stream, record.version) == ("hold_captured", "hold:H1", 2)
    assert isinstance(event, HoldCaptured)
    assert (event.amount_minor, event.released_minor) == (2_500, 1_500)
    assert event.postings == (
        leg("wallet:U1", "debit", 4_000, phase="released"),
        leg(MERCHANT, "credit", 4_000, phase="released"),
        leg("wallet:U1", "debit", 2_500),
        leg(MERCHANT, "credit", 2_500),
    )
    assert counters(held, "wallet:U1") == (7_500, 7_500, 0, 0)
    assert counters(held, MERCHANT) == (2_500, 2_500, 0, 0)


def test_a_capture_just_before_expiry_is_accepted(held: Ledger, clock: FakeClock) -> None:
    clock.now = T0 + HOUR - US
    assert_accepted(held, CaptureHold(id="cap-1", hold="H1", amount_minor=1))
    assert counters(held, "wallet:U1") == (9_999, 9_999, 0, 0)


def test_capturing_an_unknown_hold_is_hold_not_found(held: Ledger) -> None:
    for i, hold in enumerate(["H404", "bad id", "", "place-H1"]):
        assert_rejected(held, CaptureHold(id=f"cap-{i}", hold=hold), RejectCode.HOLD_NOT_FOUND)


def test_capturing_twice_is_hold_not_pending(held: Ledger) -> None:
    assert_accepted(held, CaptureHold(id="cap-1", hold="H1", amount_minor=1_000))
    result = assert_rejected(
        held, CaptureHold(id="cap-2", hold="H1", amount_minor=1), RejectCode.HOLD_NOT_PENDING
    )
    assert "captured" in result.detail


def test_capturing_a_released_hold_is_hold_not_pending(held: Ledger) -> None:
    assert_accepted(held, ReleaseHold(id="rel-1", hold="H1"))
    result = assert_rejected(held, CaptureHold(id="cap-1", hold="H1"), RejectCode.HOLD_NOT_PENDING)
    assert "released" in result.detail


def test_capturing_after_expires_at_is_hold_expired(held: Ledger, clock: FakeClock) -> None:
    clock.now = T0 + HOUR  # exactly at expires_at: too late
    assert_rejected(held, CaptureHold(id="cap-1", hold="H1"), RejectCode.HOLD_EXPIRED)
    clock.now = T0 + 2 * HOUR
    assert_rejected(
        held, CaptureHold(id="cap-2", hold="H1", amount_minor=1), RejectCode.HOLD_EXPIRED
    )


def test_capturing_a_swept_hold_is_hold_expired(held: Ledger, clock: FakeClock) -> None:
    clock.now = T0 + 2 * HOUR
    assert_accepted(held, ExpireHolds(id="exp-1", as_of=T0 + HOUR))
    result = assert_rejected(held, CaptureHold(id="cap-1", hold="H1"), RejectCode.HOLD_EXPIRED)
    assert "expired" in result.detail


def test_a_bad_capture_amount_is_amount_invalid(held: Ledger) -> None:
    for amount in [0, -1, 2**63]:
        assert_rejected(
            held,
            CaptureHold(id="cap-1", hold="H1", amount_minor=amount),
            RejectCode.AMOUNT_INVALID,
        )


def test_capturing_more_than_the_hold_is_capture_exceeds_hold(held: Ledger) -> None:
    assert_rejected(
        held,
        CaptureHold(id="cap-1", hold="H1", amount_minor=4_001),
        RejectCode.CAPTURE_EXCEEDS_HOLD,
    )


def test_a_hold_on_a_frozen_wallet_cannot_be_captured_but_can_be_released(
    held: Ledger,
) -> None:
    assert_accepted(held, FreezeAccount(id="f-1", account="wallet:U1"))
    assert_rejected(held, CaptureHold(id="cap-1", hold="H1"), RejectCode.ACCOUNT_FROZEN)
    assert_rejected(
        held, CaptureHold(id="cap-2", hold="H1", amount_minor=1), RejectCode.ACCOUNT_FROZEN
    )
    assert_accepted(held, ReleaseHold(id="rel-1", hold="H1"))
    assert counters(held, "wallet:U1") == (10_000, 10_000, 0, 0)
    assert counters(held, MERCHANT) == (0, 0, 0, 0)


def test_a_hold_for_a_frozen_destination_cannot_be_captured(held: Ledger) -> None:
    assert_accepted(held, FreezeAccount(id="f-1", account=MERCHANT))
    assert_rejected(held, CaptureHold(id="cap-1", hold="H1"), RejectCode.ACCOUNT_FROZEN)
    assert_accepted(held, ReleaseHold(id="rel-1", hold="H1"))
    assert counters(held, MERCHANT) == (0, 0, 0, 0)


def test_capture_rejections_come_in_the_documented_order(held: Ledger, clock: FakeClock) -> None:
    assert_rejected(
        held, CaptureHold(id="cap-1", hold="H404", amount_minor=0), RejectCode.HOLD_NOT_FOUND
    )
    assert_accepted(held, place("H2", amount_minor=100))
    assert_accepted(held, ReleaseHold(id="rel-2", hold="H2"))
    assert_rejected(
        held, CaptureHold(id="cap-2", hold="H2", amount_minor=0), RejectCode.HOLD_NOT_PENDING
    )
    assert_rejected(
        held, CaptureHold(id="cap-3", hold="H1", amount_minor=0), RejectCode.AMOUNT_INVALID
    )
    clock.now = T0 + HOUR
    assert_rejected(
        held, CaptureHold(id="cap-4", hold="H1", amount_minor=0), RejectCode.HOLD_EXPIRED
    )


def test_a_capture_cannot_be_reversed(held: Ledger) -> None:
    assert_accepted(held, CaptureHold(id="cap-1", hold="H1"))
    assert_rejected(held, Reverse(id="r-1", entry_id="cap-1"), RejectCode.ENTRY_NOT_REVERSIBLE)


# --- ReleaseHold ----------------------------------------------------------------------------


def test_a_release_frees_the_whole_hold(held: Ledger) -> None:
    assert_accepted(held, ReleaseHold(id="rel-1", hold="H1"))
    record, event = only_event(held, "rel-1")
    assert (record.type, record.stream, record.version) == ("hold_released", "hold:H1", 2)
    assert isinstance(event, HoldReleased)
    assert (event.hold, event.amount_minor) == ("H1", 4_000)
    assert event.postings == (
        leg("wallet:U1", "debit", 4_000, phase="released"),
        leg(MERCHANT, "credit", 4_000, phase="released"),
    )
    assert counters(held, "wallet:U1") == (10_000, 10_000, 0, 0)
    assert counters(held, MERCHANT) == (0, 0, 0, 0)


def test_a_hold_past_its_expiry_not_yet_swept_may_be_released(
    held: Ledger, clock: FakeClock
) -> None:
    clock.now = T0 + 2 * HOUR
    assert_accepted(held, ReleaseHold(id="rel-1", hold="H1"))
    assert counters(held, "wallet:U1") == (10_000, 10_000, 0, 0)
    # and then there is nothing left to expire
    assert_rejected(held, ExpireHolds(id="exp-1", as_of=clock.now), RejectCode.NOTHING_DUE)


def test_releasing_an_unknown_hold_is_hold_not_found(held: Ledger) -> None:
    for i, hold in enumerate(["H404", "bad id", ""]):
        assert_rejected(held, ReleaseHold(id=f"rel-{i}", hold=hold), RejectCode.HOLD_NOT_FOUND)


def test_releasing_an_ended_hold_is_hold_not_pending(held: Ledger, clock: FakeClock) -> None:
    assert_accepted(held, ReleaseHold(id="rel-1", hold="H1"))
    assert_rejected(held, ReleaseHold(id="rel-2", hold="H1"), RejectCode.HOLD_NOT_PENDING)
    assert_accepted(held, place("H2", amount_minor=100))
    assert_accepted(held, CaptureHold(id="cap-2", hold="H2"))
    result = assert_rejected(held, ReleaseHold(id="rel-3", hold="H2"), RejectCode.HOLD_NOT_PENDING)
    assert "captured" in result.detail
    assert_accepted(held, place("H3", amount_minor=100))
    clock.now = T0 + 2 * HOUR
    assert_accepted(held, ExpireHolds(id="exp-1", as_of=clock.now))
    result = assert_rejected(held, ReleaseHold(id="rel-4", hold="H3"), RejectCode.HOLD_NOT_PENDING)
    assert "expired" in result.detail


def test_a_release_cannot_be_reversed(held: Ledger) -> None:
    assert_accepted(held, ReleaseHold(id="rel-1", hold="H1"))
    assert_rejected(held, Reverse(id="r-1", entry_id="rel-1"), RejectCode.ENTRY_NOT_REVERSIBLE)


# --- ExpireHolds ----------------------------------------------------------------------------


def test_expire_holds_expires_only_the_due_holds_one_event_each(
    funded: Ledger, clock: FakeClock
) -> None:
    assert_accepted(funded, place("H1", amount_minor=1_000, expires_at=T0 + HOUR))
    assert_accepted(funded, place("H2", amount_minor=2_000, expires_at=T0 + 2 * HOUR))
    assert_accepted(funded, place("H3", amount_minor=3_000, expires_at=T0 + 2 * HOUR + US))
    assert_accepted(funded, place("H4", amount_minor=500, expires_at=T0 + HOUR))
    assert_accepted(funded, CaptureHold(id="cap-4", hold="H4"))
    assert counters(funded, "wallet:U1") == (9_500, 3_500, 6_000, 0)
    clock.now = T0 + 3 * HOUR
    assert_accepted(funded, ExpireHolds(id="exp-1", as_of=T0 + 2 * HOUR))
    records = written(funded, "exp-1")
    assert [(r.type, r.stream, r.version) for r in records] == [
        ("hold_expired", "hold:H1", 2),
        ("hold_expired", "hold:H2", 2),
    ]
    assert all(r.effective_at == T0 + 3 * HOUR for r in records)
    first, second = (r.event for r in records)
    assert isinstance(first, HoldExpired)
    assert isinstance(second, HoldExpired)
    assert (first.hold, first.amount_minor) == ("H1", 1_000)
    assert (second.hold, second.amount_minor) == ("H2", 2_000)
    assert first.postings == (
        leg("wallet:U1", "debit", 1_000, phase="released"),
        leg(MERCHANT, "credit", 1_000, phase="released"),
    )
    assert second.postings == (
        leg("wallet:U1", "debit", 2_000, phase="released"),
        leg(MERCHANT, "credit", 2_000, phase="released"),
    )
    # H3 (due 1µs later) is still pending
    assert counters(funded, "wallet:U1") == (9_500, 6_500, 3_000, 0)
    assert counters(funded, MERCHANT) == (500, 500, 0, 3_000)
    assert_rejected(funded, ExpireHolds(id="exp-2", as_of=T0 + 2 * HOUR), RejectCode.NOTHING_DUE)
    assert_accepted(funded, ExpireHolds(id="exp-3", as_of=T0 + 3 * HOUR))
    assert [(r.stream, r.version) for r in written(funded, "exp-3")] == [("hold:H3", 2)]
    assert counters(funded, "wallet:U1") == (9_500, 9_500, 0, 0)


def test_holds_on_a_frozen_wallet_still_expire(held: Ledger, clock: FakeClock) -> None:
    assert_accepted(held, FreezeAccount(id="f-1", account="wallet:U1"))
    assert_accepted(held, FreezeAccount(id="f-2", account=MERCHANT))
    clock.now = T0 + HOUR
    assert_accepted(held, ExpireHolds(id="exp-1", as_of=clock.now))
    assert counters(held, "wallet:U1") == (10_000, 10_000, 0, 0)
    assert counters(held, MERCHANT) == (0, 0, 0, 0)


def test_as_of_in_the_future_is_field_invalid(held: Ledger) -> None:
    result = assert_rejected(
        held,
        ExpireHolds(id="exp-1", as_of=T0 + timedelta(minutes=5) + US),
        RejectCode.FIELD_INVALID,
    )
    assert "as_of" in result.detail
    assert_rejected(held, ExpireHolds(id="exp-2", as_of=T0 + HOUR), RejectCode.FIELD_INVALID)


def test_a_hold_never_expires_before_its_time(funded: Ledger, clock: FakeClock) -> None:
    """``as_of`` may not run ahead of the clock, even by the skew ``effective_at`` is
    allowed: until ``expires_at`` the hold can still be captured."""
    assert_accepted(funded, place(expires_at=T0 + timedelta(minutes=2)))
    early = ExpireHolds(id="exp-1", as_of=T0 + timedelta(minutes=2))
    assert_rejected(funded, early, RejectCode.FIELD_INVALID)
    clock.now = T0 + timedelta(minutes=2)
    assert_accepted(funded, ExpireHolds(id="exp-2", as_of=clock.now))
    assert [r.stream for r in written(funded, "exp-2")] == ["hold:H1"]


def test_with_no_hold_due_expire_holds_is_nothing_due(funded: Ledger, clock: FakeClock) -> None:
    assert_rejected(funded, ExpireHolds(id="exp-1", as_of=T0), RejectCode.NOTHING_DUE)
    assert_accepted(funded, place())
    assert_rejected(funded, ExpireHolds(id="exp-2", as_of=T0), RejectCode.NOTHING_DUE)
    assert_accepted(funded, CaptureHold(id="cap-1", hold="H1"))
    clock.now = T0 + 2 * HOUR
    assert_rejected(funded, ExpireHolds(id="exp-3", as_of=clock.now), RejectCode.NOTHING_DUE)


def test_an_expiry_cannot_be_reversed(held: Ledger, clock: FakeClock) -> None:
    clock.now = T0 + HOUR
    assert_accepted(held, ExpireHolds(id="exp-1", as_of=clock.now))
    assert_rejected(held, Reverse(id="r-1", entry_id="exp-1"), RejectCode.ENTRY_NOT_REVERSIBLE)
