"""A subject (the customer personal data belongs to) folded from the log: how many of its
accounts were opened and are still open, when the last one closed, whether it was
erased. ``EraseSubject`` decides on it; the store keeps it inline (``subjects``) and the
audit folds it again from the log to compare (docs/personal-data.md).

A subject is named by the ``AccountOpened`` of its first account. A subject's data key
may be made before that (a refused ``OpenAccount`` with personal metadata keys its
digest with it); such a subject has no accounts.
"""

from __future__ import annotations

import attrs

from ledger.errors import FoldError
from ledger.events import AccountClosed, AccountOpened, Event, SubjectErased

SUBJECT_EVENTS = (AccountOpened, AccountClosed, SubjectErased)
"""The event types that change a subject."""


@attrs.frozen
class Subject:
    """One subject as the log leaves it."""

    id: str
    accounts: int = 0
    """Accounts opened naming it."""
    open_accounts: int = 0
    """Those not closed (open or frozen)."""
    last_closed_us: int | None = None
    """When (``recorded_at``, UTC microseconds) the last of them closed."""
    erased_seq: int | None = None
    """The seq of its ``SubjectErased``, None while it is not erased."""

    @property
    def erased(self) -> bool:
        return self.erased_seq is not None


def subject_of(event: Event, account_subjects: dict[str, str | None]) -> str | None:
    """The subject ``event`` changes (one of :data:`SUBJECT_EVENTS`), None if none:
    ``account_subjects`` gives the subject of each account opened so far."""
    if isinstance(event, AccountOpened):
        return event.subject
    if isinstance(event, AccountClosed):
        return account_subjects.get(event.account)
    if isinstance(event, SubjectErased):
        return event.subject
    return None


def applied(subject: Subject, event: Event, seq: int, recorded_us: int) -> Subject:
    """``subject`` after ``event`` (one of :data:`SUBJECT_EVENTS`, naming it), recorded at
    ``recorded_us`` as ``seq``. :class:`~ledger.errors.FoldError` for a log the decide
    functions never write: an account opened for, or a second erasure of, an erased
    subject."""
    if isinstance(event, AccountOpened):
        if subject.erased:
            raise FoldError(f"seq {seq} opens an account for erased {subject.id!r}", seq=seq)
        return attrs.evolve(
            subject, accounts=subject.accounts + 1, open_accounts=subject.open_accounts + 1
        )
    if isinstance(event, AccountClosed):
        return attrs.evolve(
            subject, open_accounts=subject.open_accounts - 1, last_closed_us=recorded_us
        )
    if isinstance(event, SubjectErased):
        if subject.erased or subject.open_accounts:
            raise FoldError(f"seq {seq} erases {subject.id!r}, which it may not", seq=seq)
        return attrs.evolve(subject, erased_seq=seq)
    return subject


class SubjectsFold:
    """Every subject the log names, folded one event at a time in log order."""

    def __init__(self) -> None:
        self._subjects: dict[str, Subject] = {}
        self._accounts: dict[str, str | None] = {}

    def apply(self, event: Event, seq: int, recorded_us: int) -> None:
        if isinstance(event, AccountOpened):
            self._accounts[event.account] = event.subject
        elif not isinstance(event, AccountClosed | SubjectErased):
            return
        name = subject_of(event, self._accounts)
        if name is None:
            return
        found = self._subjects.get(name) or Subject(name)
        self._subjects[name] = applied(found, event, seq, recorded_us)

    def subjects(self) -> dict[str, Subject]:
        """Every subject named so far, by id."""
        return dict(sorted(self._subjects.items()))
