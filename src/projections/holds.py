"""Holds and where each stands: pending, captured, released or expired.

Table (projection ``holds``): ``proj_holds`` — one row per hold: the wallet, the
destination, the amount held, when it was placed (effective time) and expires, and once
it ends, how it ended, what was captured and released, and when.
"""

from __future__ import annotations

from datetime import datetime

import attrs

from ledger.events import HoldCaptured, HoldExpired, HoldPlaced, HoldReleased
from ledger.state.holds import FINAL
from ledger.store.base import RecordedEvent
from ledger.times import from_us, to_us
from projections.base import Database, Projection, Table, matching

HOLDS = Table(
    "proj_holds",
    {
        "hold": str,
        "wallet": str,
        "destination": str,
        "amount_minor": int,
        "status": str,
        "captured_minor": int,
        "released_minor": int,
        "placed_at": int,
        "expires_at": int,
        "ended_at": int,
        "placed_seq": int,
        "last_seq": int,
    },
    pk=("hold",),
    indexes=(("wallet", "status"), ("status", "expires_at")),
    nullable=frozenset({"ended_at"}),
)


class Holds(Projection):
    """The holds read model: each hold as placed and how it ended."""

    name = "holds"
    version = 1
    handles = frozenset({HoldPlaced, HoldCaptured, HoldReleased, HoldExpired})
    tables = (HOLDS,)

    def apply(self, db: Database, record: RecordedEvent) -> None:
        event = record.event
        effective_us = record.effective_at_us
        if isinstance(event, HoldPlaced):
            db.execute(
                "INSERT INTO proj_holds VALUES (?, ?, ?, ?, 'pending', 0, 0, ?, ?, NULL, ?, ?)",
                (
                    event.hold,
                    event.wallet,
                    event.destination,
                    event.amount_minor,
                    effective_us,
                    to_us(event.expires_at),
                    record.seq,
                    record.seq,
                ),
            )
        elif isinstance(event, HoldCaptured | HoldReleased | HoldExpired):
            captured = event.amount_minor if isinstance(event, HoldCaptured) else 0
            released = (
                event.released_minor if isinstance(event, HoldCaptured) else event.amount_minor
            )
            db.execute(
                "UPDATE proj_holds SET status = ?, captured_minor = ?, released_minor = ?,"
                " ended_at = ?, last_seq = ? WHERE hold = ?",
                (FINAL[type(event)], captured, released, effective_us, record.seq, event.hold),
            )


@attrs.frozen
class HoldView:
    """One hold as the read model keeps it."""

    hold: str
    wallet: str
    destination: str
    amount_minor: int
    status: str
    captured_minor: int
    released_minor: int
    placed_at: datetime
    expires_at: datetime
    ended_at: datetime | None


def holds(db: Database, *, wallet: str | None = None, status: str | None = None) -> list[HoldView]:
    """Holds by id, optionally only one wallet's or only those in one status."""
    where, params = matching(wallet=wallet, status=status)
    rows = db.execute(
        "SELECT hold, wallet, destination, amount_minor, status, captured_minor, released_minor,"
        f" placed_at, expires_at, ended_at FROM proj_holds WHERE {where} ORDER BY hold",
        params,
    ).fetchall()
    return [
        HoldView(
            hold=r[0],
            wallet=r[1],
            destination=r[2],
            amount_minor=r[3],
            status=r[4],
            captured_minor=r[5],
            released_minor=r[6],
            placed_at=from_us(r[7]),
            expires_at=from_us(r[8]),
            ended_at=None if r[9] is None else from_us(r[9]),
        )
        for r in rows
    ]
