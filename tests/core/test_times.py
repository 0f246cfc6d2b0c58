"""The injected clock, ``ledger.times.ManualClock``: it stands still unless it is given a step
or moved; the conversions to and from UTC microseconds are pinned as properties in
test_time_properties.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ledger.times import ManualClock, to_us

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
STEP = timedelta(seconds=2)


def test_the_injected_clock_moves_on_every_read() -> None:
    """Each read of a stepping clock moves it on first; ``now``, ``now_us`` and
    ``advance`` do not step it, and a clock with no step stands still."""
    clock = ManualClock(T0, step=STEP)
    assert (clock.now, clock.now_us) == (T0, to_us(T0))
    assert [clock(), clock()] == [T0 + STEP, T0 + 2 * STEP]
    clock.advance(timedelta(hours=1))
    assert clock.now == T0 + 2 * STEP + timedelta(hours=1)
    assert clock() == T0 + 3 * STEP + timedelta(hours=1)
    still = ManualClock(T0)
    assert [still(), still(), still.now] == [T0, T0, T0]
