"""Commands of two-phase payments: a hold is placed, then captured, released or expired."""

from __future__ import annotations

from datetime import datetime

import attrs

from ledger.commands.base import (
    Command,
    amount_type,
    aware_datetime,
    in_utc,
    optional_amount_type,
    text,
)

_time = attrs.field(kw_only=True, converter=in_utc, validator=aware_datetime)


@attrs.frozen
class PlaceHold(Command):
    """Reserve ``amount_minor`` of ``wallet`` for ``destination`` until ``expires_at``.
    The wallet's ``available`` drops at once; nothing is posted until the hold is
    captured.

    Rejects: hold_exists, field_invalid (hold id, expiry not after now, destination the
    wallet itself), amount_invalid,
    limit_exceeded, insufficient_funds, and the entry's own rejections.
    """

    hold: str = attrs.field(kw_only=True, validator=text)
    wallet: str = attrs.field(kw_only=True, validator=text)
    destination: str = attrs.field(kw_only=True, validator=text)
    amount_minor: int = attrs.field(kw_only=True, validator=amount_type)
    expires_at: datetime = _time


@attrs.frozen
class CaptureHold(Command):
    """Post ``amount_minor`` of the hold (all of it if None) and release the rest.

    Rejects: hold_not_found, hold_not_pending (already captured or released),
    hold_expired (expired, or past its ``expires_at``), amount_invalid,
    capture_exceeds_hold.
    """

    hold: str = attrs.field(kw_only=True, validator=text)
    amount_minor: int | None = attrs.field(
        default=None, kw_only=True, validator=optional_amount_type
    )


@attrs.frozen
class ReleaseHold(Command):
    """Free the whole hold without posting. Rejects: hold_not_found, hold_not_pending."""

    hold: str = attrs.field(kw_only=True, validator=text)


@attrs.frozen
class ExpireHolds(Command):
    """Expire every pending hold whose ``expires_at`` is at or before ``as_of``.

    Rejects: field_invalid (``as_of`` later than the ledger's clock), nothing_due (no hold
    to expire).
    """

    as_of: datetime = _time
