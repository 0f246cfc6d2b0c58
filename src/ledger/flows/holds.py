"""Two-phase payments: a hold reserves funds, then is captured, released or expires.

A hold is the stream ``hold:<hold id>``: ``HoldPlaced`` is version 1 and its one final
event (captured, released or expired) version 2, so "every hold ends in exactly one
final state" is the unique (stream, version) of the log, not only a check here; the
hold's fold and its rules are :mod:`ledger.state.holds` (``FINAL`` is still importable
from here).

Postings (docs/flows/wallet.md); ``pending`` legs move the pending counters, so the
wallet's ``available`` drops while its posted balance does not:

* ``PlaceHold``: pending Dr wallet, pending Cr destination (amount).
* ``CaptureHold``: released Dr wallet, released Cr destination (the whole hold);
  Dr wallet, Cr destination (the captured amount).
* ``ReleaseHold`` / ``ExpireHolds``: released Dr wallet, released Cr destination (the
  whole hold).
"""

from __future__ import annotations

from ledger.accounts import Phase, is_valid_id
from ledger.commands import CaptureHold, Credit, Debit, ExpireHolds, PlaceHold, ReleaseHold
from ledger.errors import RejectCode, shown
from ledger.events import HoldCaptured, HoldExpired, HoldPlaced, HoldReleased
from ledger.flows.base import (
    check_amount,
    check_as_of,
    first_problem,
    not_found,
    post,
    reject,
    status_rejection,
    wallet,
)
from ledger.flows.tiers import check_inflow, check_outflow
from ledger.results import Rejected
from ledger.state import NewEvent, State
from ledger.state.holds import FINAL as FINAL
from ledger.state.holds import fold_hold, hold_stream
from ledger.times import to_us


def decide_place_hold(command: PlaceHold, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (hold id, expiry not after now), amount_invalid,
    field_invalid (the destination is the wallet itself), hold_exists, account_not_found /
    field_invalid / account_frozen / account_closed (the wallet), limit_exceeded (the
    wallet's outflow), account_frozen / account_closed (the destination), limit_exceeded
    (a tiered destination's balance counting pending inflows, so the capture cannot break
    it either), then the entry's own rejections (insufficient_funds counting other holds,
    …)."""
    if not is_valid_id(command.hold):
        return reject(
            RejectCode.FIELD_INVALID,
            f"hold {shown(command.hold)} must be 1..128 of [A-Za-z0-9:_.-]",
            "hold",
        )
    if to_us(command.expires_at) <= state.now_us:
        return reject(
            RejectCode.FIELD_INVALID,
            f"expires_at {command.expires_at.isoformat()} is not after now",
            "expires_at",
        )
    problem = check_amount("amount_minor", command.amount_minor)
    if problem is not None:
        return problem
    if command.destination == command.wallet:
        return reject(
            RejectCode.FIELD_INVALID, "a hold's destination is not its own wallet", "destination"
        )
    stream = hold_stream(command.hold)
    if state.stream_version(stream):
        return reject(
            RejectCode.HOLD_EXISTS, f"hold {command.hold} exists; use a new hold id", command.hold
        )
    account = wallet(state, command.wallet)
    if isinstance(account, Rejected):
        return account
    destination = state.account(command.destination) if is_valid_id(command.destination) else None
    problem = first_problem(
        check_outflow(state, account, command.amount_minor),
        not_found(command.destination, "destination") if destination is None else None,
        status_rejection(destination) if destination else None,
        check_inflow(state, destination, command.amount_minor) if destination else None,
    )
    if problem is not None:
        return problem
    n = command.amount_minor
    postings = post(
        [Debit(account.id, n), Credit(command.destination, n, account.currency)],
        state,
        ["pending", "pending"],
    )
    if isinstance(postings, Rejected):
        return postings
    event = HoldPlaced(
        postings=postings,
        hold=command.hold,
        wallet=account.id,
        destination=command.destination,
        amount_minor=n,
        expires_at=command.expires_at,
    )
    return [NewEvent(stream, 1, event, state.now_us)]


def decide_capture_hold(command: CaptureHold, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: hold_not_found, hold_not_pending (captured or released
    already), hold_expired (expired, or past its ``expires_at``), amount_invalid,
    capture_exceeds_hold, then the entry's own rejections (a frozen account, …)."""
    placed = _pending(state, command.hold, if_expired=RejectCode.HOLD_EXPIRED)
    if isinstance(placed, Rejected):
        return placed
    if state.now_us >= to_us(placed.expires_at):
        return reject(
            RejectCode.HOLD_EXPIRED,
            f"hold {command.hold} expired at {placed.expires_at.isoformat()}; "
            "it can only be released",
            command.hold,
        )
    amount = placed.amount_minor if command.amount_minor is None else command.amount_minor
    problem = check_amount("amount_minor", amount)
    if problem is not None:
        return problem
    if amount > placed.amount_minor:
        return reject(
            RejectCode.CAPTURE_EXCEEDS_HOLD,
            f"hold {command.hold} is for {placed.amount_minor}, the capture asks {amount}",
            "amount_minor",
        )
    postings = post(
        [*_release(placed), Debit(placed.wallet, amount), Credit(placed.destination, amount)],
        state,
        ["released", "released", "posted", "posted"],
    )
    if isinstance(postings, Rejected):
        return postings
    event = HoldCaptured(
        postings=postings,
        hold=command.hold,
        amount_minor=amount,
        released_minor=placed.amount_minor - amount,
    )
    return [NewEvent(hold_stream(command.hold), 2, event, state.now_us)]


def decide_release_hold(command: ReleaseHold, state: State) -> list[NewEvent] | Rejected:
    """Rejects: hold_not_found, hold_not_pending. A hold past its expiry but not yet
    swept by ``ExpireHolds`` may still be released."""
    placed = _pending(state, command.hold)
    if isinstance(placed, Rejected):
        return placed
    postings = post(_release(placed), state, _RELEASED)
    if isinstance(postings, Rejected):
        return postings
    event = HoldReleased(postings=postings, hold=command.hold, amount_minor=placed.amount_minor)
    return [NewEvent(hold_stream(command.hold), 2, event, state.now_us)]


def decide_expire_holds(command: ExpireHolds, state: State) -> list[NewEvent] | Rejected:
    """Expire every pending hold with ``expires_at <= as_of``, each in its own stream.

    Rejects: field_invalid (``as_of`` later than the ledger's clock), nothing_due (no
    pending hold has expired by ``as_of``).
    """
    as_of_us = check_as_of(
        command.as_of,
        state,
        "a hold expires when its time has come, not before (a capture would still succeed "
        "until then)",
    )
    if isinstance(as_of_us, Rejected):
        return as_of_us
    new: list[NewEvent] = []
    for stream, last in state.latest_events("hold:").items():
        if not isinstance(last, HoldPlaced) or to_us(last.expires_at) > as_of_us:
            continue
        postings = post(_release(last), state, _RELEASED)
        if isinstance(postings, Rejected):  # only a damaged store gets here
            return postings
        event = HoldExpired(postings=postings, hold=last.hold, amount_minor=last.amount_minor)
        new.append(NewEvent(stream, 2, event, state.now_us))
    if not new:
        return reject(
            RejectCode.NOTHING_DUE, f"no pending hold expires at or before {command.as_of}"
        )
    return new


_RELEASED: list[Phase] = ["released", "released"]


def _pending(
    state: State, hold: str, if_expired: RejectCode = RejectCode.HOLD_NOT_PENDING
) -> HoldPlaced | Rejected:
    """The hold's placement if it is still pending; else hold_not_found, or
    hold_not_pending (``if_expired`` for a hold that expired)."""
    found = fold_hold(hold, state.stream_events(hold_stream(hold))) if is_valid_id(hold) else None
    if found is None:
        return reject(
            RejectCode.HOLD_NOT_FOUND,
            f"no hold {shown(hold)}",
            hold if is_valid_id(hold) else "hold",
        )
    if not found.pending:
        code = if_expired if isinstance(found.final, HoldExpired) else RejectCode.HOLD_NOT_PENDING
        return reject(code, f"hold {hold} was {found.ended} already", hold)
    return found.placed


def _release(placed: HoldPlaced) -> list[Debit | Credit]:
    """The legs that take the hold's whole reservation off both accounts."""
    return [
        Debit(placed.wallet, placed.amount_minor),
        Credit(placed.destination, placed.amount_minor),
    ]
