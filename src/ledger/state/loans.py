"""A loan folded from its stream, and the view of it a loan officer reads.

A loan is the stream ``loan:<loan>``: version 1 is ``LoanDisbursed`` (its schedule
inside), then ``LoanAccrued``, ``LoanRepaid``, ``LoanProvisioned``, ``LoanRestructured``,
``LoanWrittenOff`` and ``LoanRecovered`` as they happen. :func:`fold_loan` is the one
reader of a loan's state: the decide functions (``ledger.flows.loans``), the loan view
(:func:`loan_status`, what ``Ledger.loans()`` returns), the loans read model and the
audit all fold here. A stream it cannot fold is a damaged log
(:class:`~ledger.errors.FoldError`).

Every money figure is in minor units (``*_minor``); ``default_basis`` is the running sum
of principal (minor units) x the default rate (basis points) x days, whose floor over
3,650,000 is the default interest recognised.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Literal

import attrs

from ledger.errors import FoldError
from ledger.events import (
    Event,
    LoanAccrued,
    LoanDisbursed,
    LoanInstallment,
    LoanProvisioned,
    LoanRecovered,
    LoanRepaid,
    LoanRestructured,
    LoanWrittenOff,
)

Status = Literal["active", "paid_off", "written_off"]


AGEING_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("current", 0, 0),
    ("1-30", 1, 30),
    ("31-60", 31, 60),
    ("61-90", 61, 90),
    ("91-180", 91, 180),
    ("181-360", 181, 360),
    ("over 360", 361, None),
)
"""Ageing by days past due (name, first day, last day or None), as DOMAIN.md gives it."""


def loan_stream(loan: str) -> str:
    """The stream of a loan: its disbursement, then everything that happens to it."""
    return f"loan:{loan}"


def borrower_stream(borrower: str) -> str:
    """The stream of a borrower's loans."""
    return f"borrower:{borrower}"


@attrs.define
class Part:
    """One installment of a loan and what has happened to it."""

    number: int
    start: date
    """The day before its period's first day (the disbursement, or the previous due)."""
    due: date
    principal_minor: int
    interest_minor: int
    carried_interest_minor: int = 0
    carried_default_minor: int = 0
    interest_accrued_minor: int = 0
    """Of ``interest_minor``, recognised so far."""
    default_basis: int = 0
    default_accrued_minor: int = 0
    interest_paid_minor: int = 0
    """Of carried and scheduled interest."""
    default_paid_minor: int = 0
    """Of carried and accrued default interest."""
    principal_paid_minor: int = 0
    settled_on: date | None = None
    superseded: bool = False
    """Replaced by a restructure: what it still owed moved to the new schedule."""

    @property
    def interest_owed_minor(self) -> int:
        """Interest recognised (carried or accrued) and not paid."""
        return self.carried_interest_minor + self.interest_accrued_minor - self.interest_paid_minor

    @property
    def default_owed_minor(self) -> int:
        return self.carried_default_minor + self.default_accrued_minor - self.default_paid_minor

    @property
    def principal_owed_minor(self) -> int:
        return self.principal_minor - self.principal_paid_minor

    def settled_by(self, day: date) -> bool:
        """Settled, by a repayment on or before ``day``."""
        return self.settled and (self.settled_on is None or self.settled_on <= day)

    @property
    def settled(self) -> bool:
        """Everything it will ever owe is paid: principal, scheduled and carried interest,
        and the default interest accrued on it."""
        return (
            self.principal_paid_minor == self.principal_minor
            and self.interest_paid_minor == self.carried_interest_minor + self.interest_minor
            and self.default_owed_minor == 0
        )


@attrs.define
class Loan:
    """A loan's state, folded from its stream by :func:`fold_loan` (what the decide
    functions and the loan view read)."""

    loan: str
    version: int
    disbursed: LoanDisbursed
    parts: list[Part]
    accrued_through: date
    fee_recognised_minor: int = 0
    allowance_minor: int = 0
    status: Status = "active"
    written_off_minor: int = 0
    recovered_minor: int = 0
    restructured: LoanRestructured | None = None
    first_restructured_number: int = 0
    repayments: list[LoanRepaid] = attrs.field(factory=list)
    provisioned: LoanProvisioned | None = None
    written_off: LoanWrittenOff | None = None

    @property
    def borrower(self) -> str:
        return self.disbursed.borrower

    @property
    def live_parts(self) -> list[Part]:
        return [p for p in self.parts if not p.superseded]

    @property
    def principal_outstanding_minor(self) -> int:
        if self.status == "written_off":
            return 0
        return sum(p.principal_owed_minor for p in self.live_parts)

    @property
    def interest_outstanding_minor(self) -> int:
        """Interest recognised and unpaid (the loan's share of the interest receivable)."""
        if self.status == "written_off":
            return 0
        return sum(p.interest_owed_minor for p in self.live_parts)

    @property
    def default_outstanding_minor(self) -> int:
        if self.status == "written_off":
            return 0
        return sum(p.default_owed_minor for p in self.live_parts)

    @property
    def exposure_minor(self) -> int:
        """What the allowance covers: principal, interest and default interest owed."""
        return (
            self.principal_outstanding_minor
            + self.interest_outstanding_minor
            + self.default_outstanding_minor
        )

    @property
    def fee_unrecognised_minor(self) -> int:
        return self.disbursed.fee_minor - self.fee_recognised_minor

    def due_parts(self, day: date) -> list[Part]:
        """Installments due on or before ``day`` with something owed, oldest first."""
        return [p for p in self.live_parts if p.due <= day and not p.settled]

    def days_past_due(self, as_of: date) -> int:
        """Days since the oldest installment due before ``as_of`` that is still unpaid
        (0 if none): paying on the due date is on time."""
        late = [p.due for p in self.live_parts if p.due < as_of and not p.settled_by(as_of)]
        return (as_of - min(late)).days if late else 0

    def cured(self, as_of: date) -> bool:
        """True once ``cure_payments`` consecutive installments of the restructured
        schedule were paid in full by their due dates (True if never restructured)."""
        if self.restructured is None:
            return True
        run = 0
        for p in self.parts:
            if p.number < self.first_restructured_number or p.superseded:
                continue
            if p.settled_by(as_of) and (p.settled_on or p.due) <= p.due:
                run += 1
            elif p.due < as_of:
                run = 0
            else:
                break
            if run >= self.restructured.cure_payments:
                return True
        return False

    def stage(self, as_of: date) -> int:
        """1 (at most ``stage_2_after_days`` past due), 2, or 3 (non-performing, over
        ``stage_3_after_days``), by the thresholds recorded when the loan was disbursed; a
        written-off loan is 3, and a restructured loan stays at least at its stage when
        restructured until it is cured."""
        if self.status == "written_off":
            return 3
        dpd, d = self.days_past_due(as_of), self.disbursed
        by_days = 1 if dpd <= d.stage_2_after_days else 2 if dpd <= d.stage_3_after_days else 3
        if self.restructured is not None and not self.cured(as_of):
            return max(by_days, self.restructured.stage)
        return by_days


def _parts(schedule: Sequence[LoanInstallment], start: date) -> list[Part]:
    parts = []
    for item in schedule:
        parts.append(
            Part(
                number=item.number,
                start=start,
                due=item.due,
                principal_minor=item.principal_minor,
                interest_minor=item.interest_minor,
                carried_interest_minor=item.carried_interest_minor,
                carried_default_minor=item.carried_default_minor,
            )
        )
        start = item.due
    return parts


def fold_loan(loan: str, events: Sequence[Event], as_of: date | None = None) -> Loan | None:
    """The loan's state after ``events`` (its stream, in version order) — only those of
    days up to ``as_of`` if given; None if there are none. The only place a loan's
    state machine is read."""
    if not events:
        return None
    first = events[0]
    if not isinstance(first, LoanDisbursed):
        raise FoldError(
            f"loan:{loan} starts with {type(first).__name__}, not a disbursement", index=0
        )
    if as_of is not None and first.on > as_of:
        return None
    state = Loan(
        loan=loan,
        version=1,
        disbursed=first,
        parts=_parts(first.schedule, first.on),
        accrued_through=first.on,
    )
    for index, event in enumerate(events[1:], start=1):
        try:
            if as_of is not None and _day_of(event) > as_of:
                break
            apply_event(state, event)
        except FoldError as exc:
            raise FoldError(str(exc), index=index) from exc
    return state


def _part(loan: Loan, by_number: dict[int, Part], number: int) -> Part:
    found = by_number.get(number)
    if found is None:
        raise FoldError(f"loan:{loan.loan} has no installment {number}")
    return found


def _day_of(event: Event) -> date:
    day = getattr(event, "on", None)
    if not isinstance(day, date):
        raise FoldError(f"a loan stream holds {type(event).__name__}, which has no day")
    return day


def apply_event(loan: Loan, event: Event) -> None:
    """Fold one more event of the loan's stream into ``loan`` (in place);
    :class:`~ledger.errors.FoldError` if it does not belong there."""
    loan.version += 1
    by_number = {p.number: p for p in loan.parts}
    if isinstance(event, LoanAccrued):
        for line in event.lines:
            part = _part(loan, by_number, line.number)
            part.interest_accrued_minor += line.interest_minor
            part.default_accrued_minor += line.default_interest_minor
            part.default_basis = line.default_basis
        loan.fee_recognised_minor += event.fee_minor
        loan.accrued_through = event.through
    elif isinstance(event, LoanRepaid):
        for a in event.allocations:
            part = _part(loan, by_number, a.number)
            part.interest_paid_minor += a.interest_minor
            part.default_paid_minor += a.default_interest_minor
            part.principal_paid_minor += a.principal_minor
            if part.settled and part.settled_on is None:
                part.settled_on = event.on
        loan.fee_recognised_minor += event.fee_minor
        loan.repayments.append(event)
        if event.paid_off:
            loan.status = "paid_off"
            loan.allowance_minor -= event.allowance_released_minor
    elif isinstance(event, LoanProvisioned):
        loan.allowance_minor = event.allowance_minor
        loan.provisioned = event
    elif isinstance(event, LoanRestructured):
        if not event.schedule:
            raise FoldError(f"loan:{loan.loan} is restructured to an empty schedule")
        for part in loan.parts:
            if not part.settled:
                part.superseded = True
        loan.parts.extend(_parts(event.schedule, event.on))
        loan.restructured = event
        loan.first_restructured_number = event.schedule[0].number
    elif isinstance(event, LoanWrittenOff):
        loan.status = "written_off"
        loan.written_off = event
        loan.written_off_minor = (
            event.principal_minor + event.interest_minor + event.default_interest_minor
        )
        loan.allowance_minor = 0
        loan.fee_recognised_minor += event.fee_minor
    elif isinstance(event, LoanRecovered):
        loan.recovered_minor += event.amount_minor
    else:
        raise FoldError(f"loan:{loan.loan} holds {type(event).__name__}")


def due_minor(loan: Loan, day: date) -> int:
    """Everything due on ``day``: interest, default interest and principal of the
    installments due by then."""
    return sum(
        p.interest_owed_minor + p.default_owed_minor + p.principal_owed_minor
        for p in loan.due_parts(day)
    )


@attrs.frozen
class LoanStatus:
    """Where a loan stands on day ``as_of``: what a loan officer's screen shows."""

    loan: str
    borrower: str
    as_of: date
    status: Status
    days_past_due: int
    bucket: str
    stage: int
    principal_outstanding_minor: int
    interest_outstanding_minor: int
    default_interest_outstanding_minor: int
    due_minor: int
    """Due by ``as_of`` and unpaid (as accrued)."""
    allowance_minor: int
    restructured: bool
    cured: bool
    next_due: date | None


def bucket_of(days_past_due: int) -> str:
    """The ageing bucket of DOMAIN.md: current, 1-30, 31-60, 61-90, 91-180, 181-360, over
    360."""
    for name, first, last in AGEING_BUCKETS:
        if days_past_due >= first and (last is None or days_past_due <= last):
            return name
    raise ValueError(f"days past due cannot be negative: {days_past_due}")


def loan_status(loan: Loan, as_of: date) -> LoanStatus:
    """The view of ``loan`` (folded up to ``as_of``) on day ``as_of``."""
    dpd = loan.days_past_due(as_of) if loan.status == "active" else 0
    upcoming = [p.due for p in loan.live_parts if not p.settled and p.due >= as_of]
    return LoanStatus(
        loan=loan.loan,
        borrower=loan.borrower,
        as_of=as_of,
        status=loan.status,
        days_past_due=dpd,
        bucket=bucket_of(dpd),
        stage=loan.stage(as_of),
        principal_outstanding_minor=loan.principal_outstanding_minor,
        interest_outstanding_minor=loan.interest_outstanding_minor,
        default_interest_outstanding_minor=loan.default_outstanding_minor,
        due_minor=due_minor(loan, as_of) if loan.status == "active" else 0,
        allowance_minor=loan.allowance_minor,
        restructured=loan.restructured is not None,
        cured=loan.restructured is not None and loan.cured(as_of),
        next_due=min(upcoming) if upcoming and loan.status == "active" else None,
    )


@attrs.frozen
class AgeingRow:
    """One bucket of days past due: its active loans and what they owe."""

    bucket: str
    loans: int
    principal_minor: int
    interest_minor: int
    """Interest and default interest recognised and unpaid."""
    allowance_minor: int


def ageing(statuses: Sequence[LoanStatus]) -> list[AgeingRow]:
    """The ageing table of the active loans among ``statuses``: every bucket, in order,
    empty ones too."""
    rows = []
    for name, _, _ in AGEING_BUCKETS:
        within = [s for s in statuses if s.status == "active" and s.bucket == name]
        rows.append(
            AgeingRow(
                bucket=name,
                loans=len(within),
                principal_minor=sum(s.principal_outstanding_minor for s in within),
                interest_minor=sum(
                    s.interest_outstanding_minor + s.default_interest_outstanding_minor
                    for s in within
                ),
                allowance_minor=sum(s.allowance_minor for s in within),
            )
        )
    return rows
