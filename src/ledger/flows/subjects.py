"""Erasing a subject's personal data (docs/personal-data.md). A subject's erasure is the
stream ``subject:<id>``; its accounts keep their own streams."""

from __future__ import annotations

from datetime import datetime

from ledger.accounts import is_valid_id
from ledger.commands import EraseSubject
from ledger.errors import RejectCode, shown
from ledger.events import SubjectErased
from ledger.flows.base import check_text, id_subject, reject
from ledger.personal_ids import personal_id_part, personal_id_reason
from ledger.results import Rejected
from ledger.state import NewEvent, State
from ledger.times import from_us, to_us


def stream_of(subject: str) -> str:
    """The stream of a subject's erasure."""
    return f"subject:{subject}"


def years_after(when: datetime, years: int) -> datetime:
    """The same wall-clock time ``years`` calendar years after ``when`` (29 February
    becomes 28 February in a year without it)."""
    try:
        return when.replace(year=when.year + years)
    except ValueError:
        return when.replace(year=when.year + years, day=28)


def decide_erase_subject(command: EraseSubject, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (reason), id_personal (the subject id is a phone
    number or national ID: never recorded), subject_not_found, subject_erased,
    subject_has_open_accounts, retention_running (the retention period, counted in the
    ledger's time zone from when the last account closed, has not ended)."""
    problem = check_text("reason", command.reason)
    if problem is not None:
        return problem
    personal = personal_id_part(command.subject, state.policy.personal.allowed_ids)
    if personal is not None:  # no subject is named so: an operator's phone-number lookup
        return reject(
            RejectCode.ID_PERSONAL,
            f"a part of the subject id is {personal_id_reason(personal)}: a subject is named "
            "by an opaque id",
            "subject",
        )
    subject = state.subject(command.subject) if is_valid_id(command.subject) else None
    if subject is None:
        return reject(
            RejectCode.SUBJECT_NOT_FOUND,
            f"no subject {shown(command.subject)}",
            id_subject(command.subject, "subject"),
        )
    if subject.erased:
        return reject(
            RejectCode.SUBJECT_ERASED,
            f"{subject.id} was erased at seq {subject.erased_seq}",
            subject.id,
        )
    if subject.open_accounts:
        return reject(
            RejectCode.SUBJECT_HAS_OPEN_ACCOUNTS,
            f"{subject.id} has {subject.open_accounts} account(s) open or frozen; close them first",
            subject.id,
        )
    if subject.last_closed_us is not None:
        years = state.policy.personal.retention_years
        closed = from_us(subject.last_closed_us).astimezone(state.policy.timezone)
        ends = years_after(closed, years)
        if state.now_us < to_us(ends):
            return reject(
                RejectCode.RETENTION_RUNNING,
                f"{subject.id}'s last account closed {closed.date().isoformat()}; its records "
                f"are kept {years} years, until {ends.date().isoformat()}",
                subject.id,
            )
    stream = stream_of(subject.id)
    event = SubjectErased(subject=subject.id, reason=command.reason)
    return [NewEvent(stream, state.stream_version(stream) + 1, event, state.now_us)]
