"""Micro-loans (nano-finance): disbursed into the borrower's wallet, accrued daily, repaid
from the wallet fees-interest-principal and oldest installment first, provisioned by
stage, restructured, written off and recovered (docs/flows/loans.md).

Streams. A loan is the stream ``loan:<loan>``: version 1 is ``LoanDisbursed`` (its
schedule inside), then ``LoanAccrued``, ``LoanRepaid``, ``LoanProvisioned``,
``LoanRestructured``, ``LoanWrittenOff`` and ``LoanRecovered`` as they happen. A
borrower's loans are listed in ``borrower:<borrower>`` (``BorrowerLoanAdded``), which
the per-borrower limit reads and two disbursements to one borrower collide on.
:func:`ledger.state.loans.fold_loan` is the one reader of a loan's state (the loan, its
fold and the view of it live in :mod:`ledger.state.loans`); the schedule's arithmetic is
:mod:`ledger.flows.loan_schedule`. The names that moved there are still importable from
here (``LoanStatus``, ``ageing``, ``due_dates``, ...).

Days are calendar days in the ledger's time zone. Installment *k*'s period is the days
(due of *k*-1, due of *k*] — the first starts the day after disbursement — and its
scheduled interest is recognised evenly over them: through day *d*, ``interest x
elapsed // days`` in all, so the fraction of a satang is carried, never lost, and
accruing day by day posts exactly what accruing once for the span does. Default
interest accrues actual/365 on each installment's unpaid principal for every day after
its due date, at the loan's default rate; the running sum of principal x rate is kept
(``AccrualLine.default_basis``) and what has been recognised is its floor over
3,650,000, so it carries the same way. A day's default interest counts the principal
unpaid at its start: a repayment lowers it from the next day on, and every command that
changes the principal (repay, restructure, write off) first accrues the loan to today.

Postings (docs/flows/loans.md; the lender's bank is not the safeguarded trust, so every
movement of e-money also moves its cash between the two):

* ``DisburseLoan``: Dr principal P / Cr wallet P; Dr wallet F / Cr deferred fees F;
  Dr bank trust P - F / Cr lender's bank P - F.
* ``AccrueInterest``: Dr interest receivable / Cr interest income; Dr default interest
  receivable / Cr default interest income; Dr deferred fees / Cr fee income.
* ``RepayLoan``: Dr wallet T / Cr interest receivable, Cr default interest receivable,
  Cr principal (the allocation); Dr lender's bank T / Cr bank trust T; when it pays the
  loan off, the rest of the fee: Dr deferred fees / Cr fee income, and its whole
  allowance released: Dr allowance / Cr ECL expense.
* ``ProvisionLoans``: Dr ECL expense / Cr allowance (or back, when it falls).
* ``WriteOffLoan``: Dr allowance (all it holds for the loan) and Dr ECL expense (what the
  exposure is beyond it; Cr ECL expense for what it holds beyond the exposure) / Cr
  principal, interest and default interest receivable; the rest of the fee to income.
* ``RecoverLoan``: Dr wallet / Cr recoveries and Dr lender's bank / Cr bank trust, or
  Dr lender's bank / Cr recoveries.
* ``RestructureLoan`` moves no money: the receivables stay, only when they fall due
  changes.
"""

from __future__ import annotations

from datetime import date
from fractions import Fraction

import attrs
from msgspec.structs import replace

from ledger.accounts import is_valid_id
from ledger.commands import Credit, Debit
from ledger.commands.loans import (
    LOAN_FREQUENCIES,
    AccrueInterest,
    DisburseLoan,
    ProvisionLoans,
    RecoverLoan,
    RepayLoan,
    RestructureLoan,
    WriteOffLoan,
)
from ledger.errors import RejectCode, shown
from ledger.events import (
    AccrualLine,
    Allocation,
    BorrowerLoanAdded,
    Event,
    LoanAccrued,
    LoanDisbursed,
    LoanProvisioned,
    LoanRecovered,
    LoanRepaid,
    LoanRestructured,
    LoanWrittenOff,
    Posting,
)
from ledger.flows.base import (
    check_amount,
    check_choice,
    check_party,
    check_zero_or_amount,
    first_problem,
    id_subject,
    legs,
    post,
    reject,
    wallet,
)
from ledger.flows.loan_schedule import ALL_IN_SEARCH_MAX as ALL_IN_SEARCH_MAX
from ledger.flows.loan_schedule import (
    PERIODS_PER_YEAR,
    all_in_rate_bps,
    build_schedule,
    first_due_range,
    half_up,
    within_cap,
)
from ledger.flows.loan_schedule import due_dates as due_dates
from ledger.flows.tiers import receiving_wallet
from ledger.results import Rejected
from ledger.state import NewEvent, State
from ledger.state.loans import AGEING_BUCKETS as AGEING_BUCKETS
from ledger.state.loans import AgeingRow as AgeingRow
from ledger.state.loans import (
    Loan,
    apply_event,
    borrower_stream,
    due_minor,
    fold_loan,
    loan_stream,
)
from ledger.state.loans import LoanStatus as LoanStatus
from ledger.state.loans import Part as Part
from ledger.state.loans import Status as Status
from ledger.state.loans import ageing as ageing
from ledger.state.loans import bucket_of as bucket_of
from ledger.state.loans import loan_status as loan_status
from ledger.times import from_us

LOANS_PER_RUN_MAX = 1_000
"""At most this many loans changed by one ``AccrueInterest`` or ``ProvisionLoans``; the
rest wait for the next run."""
INSTALLMENTS_MAX = 120
"""The most installments a schedule may have."""
DEFAULT_DIVISOR = 10_000 * 365
"""Default interest for a day is principal x rate (bps) / 10,000 / 365: actual/365."""


def today(state: State) -> date:
    """The ledger's business day now, in its time zone."""
    return from_us(state.now_us).astimezone(state.policy.timezone).date()


def read_loan(state: State, loan: str) -> Loan | None:
    """The loan's state, or None if it was never disbursed (or its id is malformed)."""
    if not is_valid_id(loan):
        return None
    return fold_loan(loan, state.stream_events(loan_stream(loan)))


def _open_loans(state: State) -> list[tuple[Loan, list[Event]]]:
    """Every active loan, folded, with the stream it was folded from (one range scan of
    the loan streams' last events, then one read per active loan), by id."""
    found = []
    for stream, last in state.latest_events("loan:").items():
        if isinstance(last, (LoanWrittenOff, LoanRecovered)) or (
            isinstance(last, LoanRepaid) and last.paid_off
        ):
            continue
        events = state.stream_events(stream)
        loan = fold_loan(stream.removeprefix("loan:"), events)
        assert loan is not None
        found.append((loan, events))
    return found


def _loan_event(loan: Loan, event: Event, state: State) -> NewEvent:
    """The loan's next event; folds it into ``loan`` too, so a command that writes two
    (an accrual, then a repayment) decides the second on the state after the first."""
    new = NewEvent(loan_stream(loan.loan), loan.version + 1, event, state.now_us)
    apply_event(loan, event)
    return new


def _active(state: State, loan_id: str) -> Loan | Rejected:
    """The loan if it exists and is active: loan_not_found, loan_not_active."""
    loan = read_loan(state, loan_id)
    if loan is None:
        return reject(
            RejectCode.LOAN_NOT_FOUND, f"no loan {shown(loan_id)}", id_subject(loan_id, "loan")
        )
    if loan.status != "active":
        return reject(RejectCode.LOAN_NOT_ACTIVE, f"loan {loan_id} is {loan.status}", loan_id)
    return loan


# --- accrual --------------------------------------------------------------------------


def accrual(loan: Loan, through: date, on: date) -> LoanAccrued | None:
    """What accruing ``loan`` from the day after ``accrued_through`` to ``through``
    recognises (postings left empty), None if nothing at all changes."""
    if loan.status != "active" or through <= loan.accrued_through:
        return None
    rate = loan.disbursed.default_rate_bps
    after = loan.accrued_through
    lines = []
    for p in loan.live_parts:
        period = (p.due - p.start).days
        elapsed = min(max((through - p.start).days, 0), period)
        interest = p.interest_minor * elapsed // period - p.interest_accrued_minor
        overdue_days = max(0, (through - max(after, p.due)).days)
        basis = p.default_basis + p.principal_owed_minor * rate * overdue_days
        default = basis // DEFAULT_DIVISOR - p.default_accrued_minor
        if interest or default or basis != p.default_basis:
            lines.append(
                AccrualLine(
                    number=p.number,
                    interest_minor=interest,
                    default_interest_minor=default,
                    default_basis=basis,
                )
            )
    fee = _fee_target(loan, through) - loan.fee_recognised_minor
    if not lines and not fee:
        return None
    return LoanAccrued(
        postings=(), loan=loan.loan, on=on, through=through, lines=tuple(lines), fee_minor=fee
    )


def _fee_target(loan: Loan, through: date) -> int:
    """The upfront fee earned by the end of ``through``: evenly over the days of the
    original term."""
    d = loan.disbursed
    term = (d.schedule[-1].due - d.on).days
    elapsed = min(max((through - d.on).days, 0), term)
    return d.fee_minor * elapsed // term


def _accrual_legs(event: LoanAccrued, state: State) -> list[Debit | Credit]:
    chart = state.policy.chart
    interest = sum(line.interest_minor for line in event.lines)
    default = sum(line.default_interest_minor for line in event.lines)
    return legs(
        (Debit, chart.loan_interest_receivable, interest, chart.currency),
        (Credit, chart.loan_interest_income, interest, chart.currency),
        (Debit, chart.loan_default_receivable, default, chart.currency),
        (Credit, chart.loan_default_income, default, chart.currency),
        (Debit, chart.loan_deferred_fees, event.fee_minor, chart.currency),
        (Credit, chart.loan_fee_income, event.fee_minor, chart.currency),
    )


@attrs.define
class _CatchUp:
    """The accrual that brings a loan to today before a command changes it, and the
    posting of it together with the command's own legs."""

    events: list[NewEvent]
    """The accrual's event (none if nothing changed); its postings come with :meth:`post`."""
    accrued: LoanAccrued | None
    legs: list[Debit | Credit]

    def post(self, own: list[Debit | Credit], state: State) -> tuple[Posting, ...] | Rejected:
        """Post the accrual's legs and ``own`` as one entry (so each is checked against
        the balances the other leaves), give the accrual event its share, and return the
        rest: the command's own postings. Each group balances by itself."""
        flat = [*self.legs, *own]
        postings = post(flat, state) if flat else ()
        if isinstance(postings, Rejected):
            return postings
        if self.accrued is not None:
            mine = replace(self.accrued, postings=postings[: len(self.legs)])
            self.events[0] = attrs.evolve(self.events[0], event=mine)
        return postings[len(self.legs) :]


def _catch_up(loan: Loan, state: State) -> _CatchUp:
    """Accrue ``loan`` to today (folded into ``loan`` at once) before a command changes
    it; its postings wait for :meth:`_CatchUp.post`."""
    day = today(state)
    event = accrual(loan, day, day)
    if event is None:
        return _CatchUp([], None, [])
    return _CatchUp([_loan_event(loan, event, state)], event, _accrual_legs(event, state))


def decide_accrue_interest(command: AccrueInterest, state: State) -> list[NewEvent] | Rejected:
    """Accrue every active loan through ``as_of``: at most LOANS_PER_RUN_MAX loans, those
    accrued least far first. Rejects: field_invalid (``as_of`` after today in the
    ledger's time zone), nothing_due (no loan has anything to recognise)."""
    day = today(state)
    if command.as_of > day:
        return reject(
            RejectCode.FIELD_INVALID,
            f"as_of {command.as_of} is after today ({day}); interest accrues for days begun",
            "as_of",
        )
    loans = sorted(
        (loan for loan, _ in _open_loans(state)),
        key=lambda loan: (loan.accrued_through, loan.loan),
    )
    new: list[NewEvent] = []
    for loan in loans:
        if len(new) == LOANS_PER_RUN_MAX:
            break
        event = accrual(loan, command.as_of, day)
        if event is None:
            continue
        group = _accrual_legs(event, state)
        postings = post(group, state) if group else ()
        if isinstance(postings, Rejected):  # only a damaged store gets here
            return postings
        new.append(_loan_event(loan, replace(event, postings=postings), state))
    if not new:
        return reject(
            RejectCode.NOTHING_DUE, f"no loan has anything to accrue through {command.as_of}"
        )
    return new


# --- disbursement ---------------------------------------------------------------------


def decide_disburse_loan(command: DisburseLoan, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (loan or borrower id, rate not 0..10000 bps,
    installments not 1..INSTALLMENTS_MAX, frequency, first_due less than one period or
    more than two after today), amount_invalid (principal; fee not 0 or an amount below the
    principal; a principal too small to give every installment some), loan_exists, the
    wallet (account_not_found, field_invalid, account_frozen, account_closed,
    limit_exceeded), borrower_limit_exceeded, loan_cost_above_cap (its all-in rate
    above the cap to the basis point, or its payments worth more at the cap than the
    borrower received beyond half a satang each of rounding),
    then the entry's own rejections (insufficient_funds: the lender's bank is short)."""
    c = command
    day = today(state)
    problem = first_problem(
        check_party("loan", c.loan),
        check_party("borrower", c.borrower),
        _rate_problem(c.annual_rate_bps),
        _installments_problem(c.installments),
        check_choice("frequency", c.frequency, LOAN_FREQUENCIES),
    )
    if problem is not None:
        return problem
    problem = first_problem(
        _first_due_problem(c.first_due, day, c.frequency),
        check_amount("principal_minor", c.principal_minor),
        check_zero_or_amount("fee_minor", c.fee_minor),
    )
    if problem is not None:
        return problem
    if c.fee_minor >= c.principal_minor:
        return reject(
            RejectCode.AMOUNT_INVALID,
            f"fee_minor {c.fee_minor} must be less than principal_minor {c.principal_minor}",
            "fee_minor",
        )
    stream = loan_stream(c.loan)
    if state.stream_version(stream):
        return reject(RejectCode.LOAN_EXISTS, f"loan {c.loan} was disbursed already", c.loan)
    schedule = build_schedule(
        c.principal_minor, c.annual_rate_bps, c.installments, c.first_due, c.frequency
    )
    if any(item.principal_minor == 0 for item in schedule):
        return reject(
            RejectCode.AMOUNT_INVALID,
            f"principal_minor {c.principal_minor} is too small to repay in "
            f"{c.installments} installments",
            "principal_minor",
        )
    account = receiving_wallet(state, c.wallet, c.principal_minor - c.fee_minor)
    if isinstance(account, Rejected):
        return account
    policy = state.policy.loans
    owed = _borrower_owed(state, c.borrower)
    if owed + c.principal_minor > policy.borrower_limit_minor:
        return reject(
            RejectCode.BORROWER_LIMIT_EXCEEDED,
            f"borrower {c.borrower} owes {owed} in principal; with {c.principal_minor} more "
            f"it would pass the limit of {policy.borrower_limit_minor}",
            c.borrower,
        )
    payments = [item.principal_minor + item.interest_minor for item in schedule]
    periods = PERIODS_PER_YEAR[c.frequency]
    net = c.principal_minor - c.fee_minor
    all_in = all_in_rate_bps(net, payments, periods)
    cap = policy.annual_cap_bps
    if all_in is None or all_in > cap or not within_cap(net, payments, periods, cap):
        cost = "above 10,000%" if all_in is None else f"{all_in / 100:.2f}%"
        return reject(
            RejectCode.LOAN_COST_ABOVE_CAP,
            f"the loan's all-in cost is {cost} a year (interest and fees), above the cap "
            f"of {policy.annual_cap_bps / 100:.2f}%",
            c.loan,
        )
    if c.annual_rate_bps > cap:  # its periods charge above the cap, if only by a hair
        return reject(
            RejectCode.LOAN_COST_ABOVE_CAP,
            f"the contract rate {c.annual_rate_bps / 100:.2f}% is above the cap of "
            f"{cap / 100:.2f}%, though the all-in cost rounds to it",
            c.loan,
        )
    chart = state.policy.chart
    currency = chart.currency
    postings = post(
        legs(
            (Debit, chart.loan_principal, c.principal_minor, currency),
            (Credit, account.id, c.principal_minor, currency),
            (Debit, account.id, c.fee_minor, currency),
            (Credit, chart.loan_deferred_fees, c.fee_minor, currency),
            (Debit, chart.bank_trust, net, currency),
            (Credit, chart.loan_bank, net, currency),
        ),
        state,
    )
    if isinstance(postings, Rejected):
        return postings
    event = LoanDisbursed(
        postings=postings,
        loan=c.loan,
        borrower=c.borrower,
        wallet=account.id,
        principal_minor=c.principal_minor,
        fee_minor=c.fee_minor,
        annual_rate_bps=c.annual_rate_bps,
        default_rate_bps=min(c.annual_rate_bps + policy.default_margin_bps, policy.annual_cap_bps),
        frequency=c.frequency,
        on=day,
        schedule=schedule,
        all_in_rate_bps=all_in,
        cap_bps=policy.annual_cap_bps,
        borrower_limit_minor=policy.borrower_limit_minor,
        borrower_owed_minor=owed,
        stage_2_after_days=policy.stage_2_after_days,
        stage_3_after_days=policy.stage_3_after_days,
    )
    borrower = borrower_stream(c.borrower)
    added = BorrowerLoanAdded(borrower=c.borrower, loan=c.loan, principal_minor=c.principal_minor)
    return [
        NewEvent(stream, 1, event, state.now_us),
        NewEvent(borrower, state.stream_version(borrower) + 1, added, state.now_us),
    ]


def _rate_problem(annual_rate_bps: int) -> Rejected | None:
    if 0 <= annual_rate_bps <= 10_000:
        return None
    return reject(
        RejectCode.FIELD_INVALID,
        f"annual_rate_bps {annual_rate_bps} is not 0..10000 basis points a year",
        "annual_rate_bps",
    )


def _installments_problem(installments: int) -> Rejected | None:
    if 1 <= installments <= INSTALLMENTS_MAX:
        return None
    return reject(
        RejectCode.FIELD_INVALID,
        f"installments {installments} is not 1..{INSTALLMENTS_MAX}",
        "installments",
    )


def _first_due_problem(first_due: date, day: date, frequency: str) -> Rejected | None:
    earliest, latest = first_due_range(day, frequency)
    if earliest <= first_due <= latest:
        return None
    return reject(
        RejectCode.FIELD_INVALID,
        f"first_due {first_due} must be one to two {frequency} periods after today ({day}): "
        f"{earliest} to {latest}",
        "first_due",
    )


def _borrower_owed(state: State, borrower: str) -> int:
    """Principal the borrower still owes: on its active loans, and on its written-off
    loans what recoveries have not covered."""
    owed = 0
    for event in state.stream_events(borrower_stream(borrower)):
        if isinstance(event, BorrowerLoanAdded):
            loan = read_loan(state, event.loan)
            if loan is None:
                continue
            if loan.status == "active":
                owed += loan.principal_outstanding_minor
            elif loan.status == "written_off" and loan.written_off is not None:
                # still owed: what recoveries have not yet covered of its principal
                owed += max(0, loan.written_off.principal_minor - loan.recovered_minor)
    return owed


# --- repayment ------------------------------------------------------------------------


def allocate(loan: Loan, day: date, amount_minor: int) -> tuple[Allocation, ...]:
    """Split ``amount_minor`` over what is due on ``day``: oldest installment first, and
    in each its interest, then default interest, then principal."""
    left = amount_minor
    allocations = []
    for p in loan.due_parts(day):
        interest = min(left, p.interest_owed_minor)
        left -= interest
        default = min(left, p.default_owed_minor)
        left -= default
        principal = min(left, p.principal_owed_minor)
        left -= principal
        if interest or default or principal:
            allocations.append(
                Allocation(
                    number=p.number,
                    interest_minor=interest,
                    default_interest_minor=default,
                    principal_minor=principal,
                )
            )
        if not left:
            break
    return tuple(allocations)


def decide_repay_loan(command: RepayLoan, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (loan id), amount_invalid, loan_not_found,
    loan_not_active, nothing_due (nothing due today, after accruing), the wallet
    (account_not_found for one never opened or malformed, field_invalid, account_frozen,
    account_closed), then the entry's own rejections (insufficient_funds: the wallet
    holds less than it would pay)."""
    c = command
    problem = first_problem(
        check_party("loan", c.loan), check_amount("amount_minor", c.amount_minor)
    )
    if problem is not None:
        return problem
    loan = _active(state, c.loan)
    if isinstance(loan, Rejected):
        return loan
    day = today(state)
    catch_up = _catch_up(loan, state)
    owed = due_minor(loan, day)
    if not owed:
        upcoming = [p.due for p in loan.live_parts if not p.settled]
        return reject(
            RejectCode.NOTHING_DUE,
            f"loan {c.loan} has nothing due today ({day})"
            + (f"; its next installment is due on {min(upcoming)}" if upcoming else ""),
            c.loan,
        )
    account = wallet(state, c.wallet if c.wallet is not None else loan.disbursed.wallet)
    if isinstance(account, Rejected):
        return account
    taken = min(c.amount_minor, owed)
    allocations = allocate(loan, day, taken)
    # an installment due by today has all its interest accrued: paying all that is due
    # pays the loan off once no installment is left to fall due
    paid_off = taken == owed and all(p.due <= day for p in loan.live_parts if not p.settled)
    fee = loan.fee_unrecognised_minor if paid_off else 0
    released = loan.allowance_minor if paid_off else 0  # nothing left to lose on it
    interest = sum(a.interest_minor for a in allocations)
    default = sum(a.default_interest_minor for a in allocations)
    principal = sum(a.principal_minor for a in allocations)
    chart = state.policy.chart
    currency = chart.currency
    repay_legs = legs(
        (Debit, account.id, taken, currency),
        (Credit, chart.loan_interest_receivable, interest, currency),
        (Credit, chart.loan_default_receivable, default, currency),
        (Credit, chart.loan_principal, principal, currency),
        (Debit, chart.loan_bank, taken, currency),
        (Credit, chart.bank_trust, taken, currency),
        (Debit, chart.loan_deferred_fees, fee, currency),
        (Credit, chart.loan_fee_income, fee, currency),
        (Debit, chart.loan_allowance, released, currency),
        (Credit, chart.ecl_expense, released, currency),
    )
    postings = catch_up.post(repay_legs, state)
    if isinstance(postings, Rejected):
        return postings
    event = LoanRepaid(
        postings=postings,
        loan=c.loan,
        wallet=account.id,
        on=day,
        requested_minor=c.amount_minor,
        amount_minor=taken,
        allocations=allocations,
        paid_off=paid_off,
        fee_minor=fee,
        allowance_released_minor=released,
    )
    return [*catch_up.events, _loan_event(loan, event, state)]


# --- provisioning ---------------------------------------------------------------------


def decide_provision_loans(command: ProvisionLoans, state: State) -> list[NewEvent] | Rejected:
    """True up each active loan disbursed by ``as_of``: allowance = its exposure as of
    ``as_of`` (principal, interest and default interest owed, as accrued) x its stage's
    rate, rounded half up; at most LOANS_PER_RUN_MAX loans changed, by id. Rejects:
    field_invalid (``as_of`` after today), nothing_due (every allowance is right)."""
    day = today(state)
    if command.as_of > day:
        return reject(
            RejectCode.FIELD_INVALID,
            f"as_of {command.as_of} is after today ({day}); provisions look at the past",
            "as_of",
        )
    policy = state.policy.loans
    chart = state.policy.chart
    new: list[NewEvent] = []
    for loan, events in _open_loans(state):
        if len(new) == LOANS_PER_RUN_MAX:
            break
        then = loan
        if command.as_of < day:
            folded = fold_loan(loan.loan, events, command.as_of)
            if folded is None:
                continue  # disbursed after as_of
            then = folded
        stage = then.stage(command.as_of)
        rate = policy.provision_bps[stage - 1]
        exposure = then.exposure_minor
        allowance = half_up(Fraction(exposure * rate, 10_000))
        change = allowance - loan.allowance_minor
        if not change:
            continue
        side_up, side_down = (Debit, Credit) if change > 0 else (Credit, Debit)
        postings = post(
            [
                side_up(chart.ecl_expense, abs(change), chart.currency),
                side_down(chart.loan_allowance, abs(change), chart.currency),
            ],
            state,
        )
        if isinstance(postings, Rejected):  # only a damaged store gets here
            return postings
        event = LoanProvisioned(
            postings=postings,
            loan=loan.loan,
            on=day,
            as_of=command.as_of,
            days_past_due=then.days_past_due(command.as_of),
            stage=stage,
            exposure_minor=exposure,
            rate_bps=rate,
            allowance_minor=allowance,
        )
        new.append(_loan_event(loan, event, state))
    if not new:
        return reject(
            RejectCode.NOTHING_DUE, f"every loan's allowance is right as of {command.as_of}"
        )
    return new


# --- write-off and recovery -----------------------------------------------------------


def decide_write_off_loan(command: WriteOffLoan, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (loan id), loan_not_found, loan_not_active."""
    problem = check_party("loan", command.loan)
    if problem is not None:
        return problem
    loan = _active(state, command.loan)
    if isinstance(loan, Rejected):
        return loan
    day = today(state)
    catch_up = _catch_up(loan, state)
    chart = state.policy.chart
    currency = chart.currency
    principal, interest = loan.principal_outstanding_minor, loan.interest_outstanding_minor
    default = loan.default_outstanding_minor
    exposure = principal + interest + default
    top_up = exposure - loan.allowance_minor
    fee = loan.fee_unrecognised_minor
    off_legs = legs(
        (Debit if top_up > 0 else Credit, chart.ecl_expense, abs(top_up), currency),
        (Debit, chart.loan_allowance, loan.allowance_minor, currency),
        (Credit, chart.loan_principal, principal, currency),
        (Credit, chart.loan_interest_receivable, interest, currency),
        (Credit, chart.loan_default_receivable, default, currency),
        (Debit, chart.loan_deferred_fees, fee, currency),
        (Credit, chart.loan_fee_income, fee, currency),
    )
    postings = catch_up.post(off_legs, state)
    if isinstance(postings, Rejected):
        return postings
    event = LoanWrittenOff(
        postings=postings,
        loan=loan.loan,
        on=day,
        principal_minor=principal,
        interest_minor=interest,
        default_interest_minor=default,
        allowance_used_minor=exposure,
        fee_minor=fee,
    )
    return [*catch_up.events, _loan_event(loan, event, state)]


def decide_recover_loan(command: RecoverLoan, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (loan id), amount_invalid, loan_not_found,
    loan_not_written_off, recovery_exceeds_written_off, the loan's wallet (when not
    ``from_bank``: account_frozen, account_closed, …), then the entry's own rejections
    (insufficient_funds: the wallet holds less)."""
    c = command
    problem = first_problem(
        check_party("loan", c.loan), check_amount("amount_minor", c.amount_minor)
    )
    if problem is not None:
        return problem
    loan = read_loan(state, c.loan)
    if loan is None:
        return reject(RejectCode.LOAN_NOT_FOUND, f"no loan {shown(c.loan)}", c.loan)
    if loan.status != "written_off":
        return reject(RejectCode.LOAN_NOT_WRITTEN_OFF, f"loan {c.loan} is {loan.status}", c.loan)
    left = loan.written_off_minor - loan.recovered_minor
    if c.amount_minor > left:
        return reject(
            RejectCode.RECOVERY_EXCEEDS_WRITTEN_OFF,
            f"loan {c.loan} has {left} written off and not yet recovered, not {c.amount_minor}",
            "amount_minor",
        )
    chart = state.policy.chart
    currency = chart.currency
    source: list[Debit | Credit]
    if c.from_bank:
        source = [Debit(chart.loan_bank, c.amount_minor, currency)]
    else:
        account = wallet(state, loan.disbursed.wallet)
        if isinstance(account, Rejected):
            return account
        source = [
            Debit(account.id, c.amount_minor, currency),
            Debit(chart.loan_bank, c.amount_minor, currency),
            Credit(chart.bank_trust, c.amount_minor, currency),
        ]
    postings = post([*source, Credit(chart.loan_recoveries, c.amount_minor, currency)], state)
    if isinstance(postings, Rejected):
        return postings
    event = LoanRecovered(
        postings=postings,
        loan=c.loan,
        on=today(state),
        amount_minor=c.amount_minor,
        from_bank=c.from_bank,
    )
    return [_loan_event(loan, event, state)]


# --- restructuring --------------------------------------------------------------------


def decide_restructure_loan(command: RestructureLoan, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (loan id, installments not 1..INSTALLMENTS_MAX),
    loan_not_found, loan_not_active, field_invalid (first_due less than one period or
    more than two after today), amount_invalid (too many installments for the principal
    left)."""
    c = command
    problem = first_problem(check_party("loan", c.loan), _installments_problem(c.installments))
    if problem is not None:
        return problem
    loan = _active(state, c.loan)
    if isinstance(loan, Rejected):
        return loan
    day = today(state)
    d = loan.disbursed
    problem = _first_due_problem(c.first_due, day, d.frequency)
    if problem is not None:
        return problem
    catch_up = _catch_up(loan, state)
    posted = catch_up.post([], state)
    if isinstance(posted, Rejected):  # only a damaged store gets here
        return posted
    unsettled = [p for p in loan.live_parts if not p.settled]
    principal = sum(p.principal_owed_minor for p in unsettled)
    schedule = build_schedule(
        principal,
        d.annual_rate_bps,
        c.installments,
        c.first_due,
        d.frequency,
        first_number=max(p.number for p in loan.parts) + 1,
    )
    if any(item.principal_minor == 0 for item in schedule):
        return reject(
            RejectCode.AMOUNT_INVALID,
            f"loan {c.loan} has {principal} of principal left: too little for "
            f"{c.installments} installments",
            "installments",
        )
    first = replace(
        schedule[0],
        carried_interest_minor=sum(p.interest_owed_minor for p in unsettled),
        carried_default_minor=sum(p.default_owed_minor for p in unsettled),
    )
    event = LoanRestructured(
        loan=loan.loan,
        on=day,
        stage=loan.stage(day),
        cure_payments=state.policy.loans.cure_payments,
        schedule=(first, *schedule[1:]),
    )
    return [*catch_up.events, _loan_event(loan, event, state)]
