"""A hold folded from its stream, and the rules its stream keeps.

A hold is the stream ``hold:<hold id>``: ``HoldPlaced`` is version 1 and its one final
event (captured, released or expired) version 2, never more; a capture takes part of the
hold and releases the rest, so the two add up to what was held. :func:`fold_hold` reads a
hold for the decide functions and checks those rules for the audit.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from ledger.errors import FoldError
from ledger.events import Event, HoldCaptured, HoldExpired, HoldPlaced, HoldReleased

FINAL: dict[type[Event], str] = {
    HoldCaptured: "captured",
    HoldReleased: "released",
    HoldExpired: "expired",
}
"""The events that end a hold, and the word for each."""

Final = HoldCaptured | HoldReleased | HoldExpired


def hold_stream(hold: str) -> str:
    """The stream of a hold: its placement, then its one final event."""
    return f"hold:{hold}"


@attrs.frozen
class Hold:
    """A hold's state: its placement and, once it has ended, how."""

    placed: HoldPlaced
    final: Final | None = None

    @property
    def pending(self) -> bool:
        """Still reserving funds: neither captured, released nor expired."""
        return self.final is None

    @property
    def ended(self) -> str | None:
        """``captured``, ``released`` or ``expired``; None while pending."""
        return None if self.final is None else FINAL[type(self.final)]


def fold_hold(hold: str, events: Sequence[Event]) -> Hold | None:
    """The hold's state after ``events`` (its stream, in version order); None if there
    are none. :class:`~ledger.errors.FoldError` (``index``: the event at fault) if the
    stream breaks the rules: it starts with anything but ``HoldPlaced``, ends twice or
    with anything but a final event, or captures and releases other than it held."""
    if not events:
        return None
    placed, *rest = events
    if not isinstance(placed, HoldPlaced):
        raise FoldError(f"hold:{hold} starts with {type(placed).__name__}", index=0)
    if len(rest) > 1:
        raise FoldError(f"hold:{hold} ends twice", index=len(events) - 1)
    if not rest:
        return Hold(placed)
    final = rest[0]
    if not isinstance(final, HoldCaptured | HoldReleased | HoldExpired):
        raise FoldError(f"hold:{hold} ends with {type(final).__name__}", index=1)
    if isinstance(final, HoldCaptured) and (
        final.amount_minor + final.released_minor != placed.amount_minor
    ):
        raise FoldError(f"hold:{hold} captured and released != held", index=1)
    return Hold(placed, final)
