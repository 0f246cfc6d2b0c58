"""Times are stored as integer UTC microseconds; converting back and forth is exact."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from ledger.times import from_us, to_us

MIN_US = to_us(datetime(1, 1, 2, tzinfo=UTC))
MAX_US = to_us(datetime(9999, 12, 30, tzinfo=UTC))


@given(st.integers(MIN_US, MAX_US))
def test_microseconds_round_trip(value_us: int) -> None:
    when = from_us(value_us)
    assert when.tzinfo is UTC
    assert to_us(when) == value_us
    assert when == datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=value_us)


@given(
    st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2200, 1, 1),
        timezones=st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m))),
    )
)
def test_an_instant_has_one_value_in_every_zone(when: datetime) -> None:
    assert to_us(when) == to_us(when.astimezone(UTC))
    assert from_us(to_us(when)) == when
