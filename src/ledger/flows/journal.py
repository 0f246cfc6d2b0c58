"""Journal entries of explicit legs (``PostEntry``), their reversal (``Reverse``), and
the close of a period (``ClosePeriod``).

An entry is the stream ``entry:<command id>``; its reversal is the stream
``reversal:<entry id>``, whose unique (stream, version 1) makes "reversed at most once" a
database fact, not only a check. Closed periods are the one stream ``periods``; what
they forbid (anything effective at or before the last ``through``) is checked for every
command by :func:`ledger.flows.decide`.
"""

from __future__ import annotations

from ledger.accounts import is_valid_id
from ledger.commands import ClosePeriod, PostEntry, Reverse
from ledger.errors import RejectCode, shown
from ledger.events import EntryPosted, EntryReversed, PeriodClosed
from ledger.flows.base import (
    check_kind,
    check_metadata,
    check_text,
    effective_time,
    first_problem,
    id_subject,
    mirror,
    money_events,
    post,
    reject,
)
from ledger.results import Rejected
from ledger.state import NewEvent, State
from ledger.times import from_us, span_us, to_us

PERIODS_STREAM = "periods"
"""The stream of ``PeriodClosed`` events, one version per close."""


def reversal_stream(entry_id: str) -> str:
    """The stream of the reversal of the entry command ``entry_id`` wrote."""
    return f"reversal:{entry_id}"


def decide_post_entry(command: PostEntry, state: State) -> list[NewEvent] | Rejected:
    """Post a balanced entry. Rejects: see :func:`ledger.flows.base.post`, plus
    field_invalid (kind, memo, metadata, backdated without effective_at) and
    effective_at_invalid (outside the window, or backdated without ``backdated=True``)."""
    problem = first_problem(
        check_kind(command.kind),
        check_text("memo", command.memo),
        check_metadata(command.metadata),
    )
    if problem is not None:
        return problem
    effective_at_us = effective_time(command.effective_at, state, backdated=command.backdated)
    if isinstance(effective_at_us, Rejected):
        return effective_at_us
    postings = post(command.postings, state)
    if isinstance(postings, Rejected):
        return postings
    event = EntryPosted(
        entry_id=command.id,
        kind=command.kind,
        postings=postings,
        memo=command.memo,
        metadata=command.metadata,
    )
    return [NewEvent(f"entry:{command.id}", 1, event, effective_at_us)]


def decide_reverse(command: Reverse, state: State) -> list[NewEvent] | Rejected:
    """Post the mirror of every posting the command ``entry_id`` wrote, effective now.

    Rejects: field_invalid, entry_not_found, entry_not_reversible (a payment, refund,
    hold or COD entry: their own flows undo them), entry_already_reversed, and whatever
    :func:`ledger.flows.base.post` rejects for the mirrored legs.
    """
    problem = check_text("memo", command.memo)
    if problem is not None:
        return problem
    originals = (
        money_events(state.command_events(command.entry_id))
        if is_valid_id(command.entry_id)
        else []
    )
    if not originals:
        return reject(
            RejectCode.ENTRY_NOT_FOUND,
            f"no entry written by command {shown(command.entry_id)}",
            id_subject(command.entry_id, "entry_id"),
        )
    fixed = next((e for e in originals if not e.REVERSIBLE), None)
    if fixed is not None:
        return reject(
            RejectCode.ENTRY_NOT_REVERSIBLE,
            f"{command.entry_id} wrote {type(fixed).__name__}, which its own flow undoes "
            "(Refund a payment, ReleaseHold a hold, CodReturned an order, the loan "
            "commands a loan); Reverse does not",
            command.entry_id,
        )
    stream = reversal_stream(command.entry_id)
    if state.stream_version(stream):
        return reject(
            RejectCode.ENTRY_ALREADY_REVERSED,
            f"{command.entry_id} is already reversed",
            command.entry_id,
        )
    postings = post(mirror(p for e in originals for p in e.postings), state)
    if isinstance(postings, Rejected):
        return postings
    event = EntryReversed(
        entry_id=command.id, reverses=command.entry_id, postings=postings, memo=command.memo
    )
    return [NewEvent(stream, 1, event, state.now_us)]


def decide_close_period(command: ClosePeriod, state: State) -> list[NewEvent] | Rejected:
    """Close the books through ``command.through``.

    Rejects: field_invalid (memo), effective_at_invalid (``through`` later than now
    less the policy's ``future_limit``, the clock skew allowed between servers),
    period_closed (not after the last closed ``through``).
    """
    problem = check_text("memo", command.memo)
    if problem is not None:
        return problem
    through_us = to_us(command.through)
    margin = state.policy.future_limit  # the clock skew another server may have
    if through_us > state.now_us - span_us(margin):
        return reject(
            RejectCode.EFFECTIVE_AT_INVALID,
            f"through {command.through.isoformat()} is not at least {margin} before now: "
            "only the past can be closed, and not what another server's clock may still "
            "call now",
            "through",
        )
    if through_us <= state.closed_through_us:
        return reject(
            RejectCode.PERIOD_CLOSED,
            f"the books are already closed through {from_us(state.closed_through_us).isoformat()}",
            "through",
        )
    event = PeriodClosed(through=command.through, memo=command.memo)
    version = state.stream_version(PERIODS_STREAM) + 1
    return [NewEvent(PERIODS_STREAM, version, event, state.now_us)]
