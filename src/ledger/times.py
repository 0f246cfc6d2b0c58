"""Times as the log stores them: integer UTC microseconds since the epoch, exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

US_MIN = -62_135_596_800_000_000
"""The first microsecond :func:`from_us` turns into a datetime (0001-01-01 00:00 UTC)."""
US_MAX = 253_402_300_799_999_999
"""The last (9999-12-31 23:59:59.999999 UTC)."""


def is_aware(value: object) -> bool:
    """A datetime that names one instant: its tzinfo gives a UTC offset. A datetime with
    no tzinfo, or with one that gives no offset (Python reads both in the machine's local
    time) or fails to (a bare ``tzinfo()``), is not."""
    if not isinstance(value, datetime) or value.tzinfo is None:
        return False
    try:
        return value.utcoffset() is not None
    except Exception:  # a tzinfo whose utcoffset raises: not an instant
        return False


def to_us(when: datetime) -> int:
    """An aware datetime as integer UTC microseconds since the epoch (exact)."""
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(value_us: int) -> datetime:
    """UTC microseconds since the epoch as an aware datetime (exact); ``ValueError`` or
    ``OverflowError`` outside years 1..9999."""
    return _EPOCH + timedelta(microseconds=value_us)


def span_us(span: timedelta) -> int:
    """A timedelta as integer microseconds (exact)."""
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


class ManualClock:
    """A clock for ``Ledger.open(clock=...)`` that moves only when told to: the demo,
    the golden logs and the stateful tests run their days on one.

    ``now`` is the time it gives; set it, or move it with :meth:`advance`. With a
    ``step``, every read first moves it on by that much, so no two reads (no two
    transactions) see the same time."""

    def __init__(self, start: datetime, *, step: timedelta = timedelta(0)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        """The time now, after moving on by ``step``."""
        self.now = self.now + self.step
        return self.now

    def advance(self, by: timedelta) -> None:
        """Move the clock on (or back, for a negative ``by``)."""
        self.now = self.now + by

    @property
    def now_us(self) -> int:
        """``now`` as integer UTC microseconds (reading it does not step the clock)."""
        return to_us(self.now)
