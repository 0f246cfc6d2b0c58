"""The micro-loans stateful machine: disbursements (over the borrower limit, above the
cost cap, with fees, every frequency), accruals on any day, repayments of any size from
any wallet, provisioning, restructuring, write-offs and recoveries against a plain model
(:class:`LoanModel`), on a clock the machine moves itself, days and months at a time.

The model is written again from the rules (DOMAIN.md, the loans flow's module
docstring), never by calling the flow: the schedule is an annuity worked out with
fractions, interest is recognised evenly over each period, default interest is summed
day by day on the principal unpaid at each day's start, the cap is a present value at
the capped rate. Where the rules leave room (a cost above the cap by no more than the
rounding of the payments), the model says so and takes either answer.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import TYPE_CHECKING, ClassVar, Literal
from zoneinfo import ZoneInfo

import attrs
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, rule

from ledger.accounts import Balance
from ledger.book import Ledger
from ledger.chart import Chart
from ledger.commands import (
    AccrueInterest,
    Command,
    Credit,
    Debit,
    DisburseLoan,
    FreezeAccount,
    OpenAccount,
    PostEntry,
    ProvisionLoans,
    RecoverLoan,
    RepayLoan,
    RestructureLoan,
    TopUp,
    UnfreezeAccount,
    WriteOffLoan,
)
from ledger.errors import RejectCode
from ledger.events import (
    LoanAccrued,
    LoanDisbursed,
    LoanProvisioned,
    LoanRepaid,
    LoanRestructured,
)
from ledger.policy import LoanPolicy
from ledger.results import Accepted, Rejected, Result
from ledger.testing.machine import RetryingMachine
from ledger.testing.models import Refused, refuse_if
from ledger.times import ManualClock

if TYPE_CHECKING:
    from ledger.state.loans import LoanStatus

DAY = timedelta(days=1)
PERIODS_A_YEAR = {"monthly": 12, "biweekly": 26, "weekly": 52}
"""The periodic rate is the annual rate over these (DOMAIN.md: equal installments)."""
DAYS_A_YEAR = 365
"""Default interest is actual/365."""
INSTALLMENTS_MOST = 120
BPS = 10_000
_BANGKOK = ZoneInfo("Asia/Bangkok")
_CHART = Chart()


def half_up(value: Fraction) -> int:
    return math.floor(value + Fraction(1, 2))


def _add_months(day: date, months: int) -> date:
    """The same day ``months`` on, or that month's last day where it is shorter."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + months, 12)
    first_of_next = date(year + (month0 == 11), (month0 + 1) % 12 + 1, 1)
    return date(year, month0 + 1, min(day.day, (first_of_next - DAY).day))


def due_days(first_due: date, count: int, frequency: str) -> list[date]:
    if frequency == "monthly":
        return [_add_months(first_due, k) for k in range(count)]
    step = {"weekly": 7, "biweekly": 14}[frequency]
    return [first_due + timedelta(days=step * k) for k in range(count)]


def first_due_range(today: date, frequency: str) -> tuple[date, date]:
    """The first due date of a schedule made today: one period on at the earliest (a
    period is charged a whole period's interest), two at the latest."""
    if frequency == "monthly":
        return _add_months(today, 1), _add_months(today, 2)
    days = {"weekly": 7, "biweekly": 14}[frequency]
    return today + timedelta(days=days), today + timedelta(days=2 * days)


def annuity(
    principal: int, rate_bps: int, count: int, first_due: date, frequency: str
) -> list[tuple[date, int, int]]:
    """(due, principal, interest) of each installment: equal payments on the reducing
    balance, each installment's interest the balance x the periodic rate rounded half
    up, its principal the payment less that (never below nothing nor above what is
    left), the last one whatever principal is left."""
    rate = Fraction(rate_bps, BPS * PERIODS_A_YEAR[frequency])
    if rate == 0:
        payment = half_up(Fraction(principal, count))
    else:
        discount = sum((1 / (1 + rate) ** k for k in range(1, count + 1)), Fraction(0))
        payment = half_up(principal / discount)
    left = principal
    rows = []
    for k, due in enumerate(due_days(first_due, count, frequency)):
        interest = half_up(left * rate)
        part = left if k == count - 1 else max(0, min(payment - interest, left))
        rows.append((due, part, interest))
        left -= part
    return rows


def present_value(payments: list[int], annual: Fraction, frequency: str) -> Fraction:
    """What ``payments`` (one a period, the first one period from now) are worth now,
    discounted at ``annual`` (a fraction a year)."""
    factor = 1 + annual / PERIODS_A_YEAR[frequency]
    return sum((Fraction(p) / factor ** (k + 1) for k, p in enumerate(payments)), Fraction(0))


# --- the model ------------------------------------------------------------------------


@attrs.define
class ModelInstallment:
    number: int
    start: date
    """The day before its period's first day."""
    due: date
    principal: int
    interest: int
    carried_interest: int = 0
    carried_default: int = 0
    interest_accrued: int = 0
    default_sum: int = 0
    """Sum over its overdue days of the principal unpaid at the day's start x the
    default rate in basis points."""
    interest_paid: int = 0
    default_paid: int = 0
    principal_paid: int = 0
    settled_on: date | None = None
    superseded: bool = False

    @property
    def default_accrued(self) -> int:
        return self.default_sum // (BPS * DAYS_A_YEAR)

    def owed(self) -> list[int]:
        """Interest, default interest, principal: recognised and unpaid, in the order a
        repayment takes them."""
        return [
            self.carried_interest + self.interest_accrued - self.interest_paid,
            self.carried_default + self.default_accrued - self.default_paid,
            self.principal - self.principal_paid,
        ]

    @property
    def settled(self) -> bool:
        return (
            self.principal_paid == self.principal
            and self.interest_paid == self.carried_interest + self.interest
            and self.default_paid == self.carried_default + self.default_accrued
        )


Status = Literal["active", "paid_off", "written_off"]


@attrs.define
class ModelLoan:
    loan: str
    borrower: str
    wallet: str
    principal: int
    fee: int
    rate_bps: int
    default_rate_bps: int
    frequency: str
    on: date
    last_due: date
    """Of the original schedule: the fee is earned over the original term."""
    installments: list[ModelInstallment]
    accrued_through: date
    fee_recognised: int = 0
    allowance: int = 0
    status: Status = "active"
    written_off: int = 0
    written_off_principal: int = 0
    recovered: int = 0
    restructure_stage: int | None = None
    restructure_first: int = 0
    default_cap_bound: Fraction = Fraction(0)
    """Sum over overdue days of unpaid principal x the cap / 365: the most default
    interest the cap allows."""
    cure_payments: int = 3
    """On-time installments of a restructured schedule that cure the loan."""

    @property
    def live(self) -> list[ModelInstallment]:
        return sorted(
            (i for i in self.installments if not i.superseded), key=lambda i: (i.due, i.number)
        )

    def outstanding(self, bucket: int) -> int:
        if self.status == "written_off":
            return 0
        return sum(i.owed()[bucket] for i in self.live)

    @property
    def counted_against_limit(self) -> int:
        """Principal the borrower limit counts: what an active loan owes, what recoveries
        have not covered of a written-off one's principal."""
        if self.status == "active":
            return self.outstanding(2)
        if self.status == "written_off":
            return max(0, self.written_off_principal - self.recovered)
        return 0

    @property
    def exposure(self) -> int:
        return sum(self.outstanding(b) for b in range(3))

    def due(self, day: date) -> list[ModelInstallment]:
        return [i for i in self.live if i.due <= day and not i.settled]

    def accrue(self, through: date, cap_bps: int) -> tuple[int, int, int, bool]:
        """Recognise everything through day ``through``: (interest, default interest,
        fee, whether anything changed at all)."""
        if self.status != "active" or through <= self.accrued_through:
            return 0, 0, 0, False
        sums = {i.number: i.default_sum for i in self.live}
        bound = self.default_cap_bound
        day = self.accrued_through + DAY
        while day <= through:
            for i in self.live:
                unpaid = i.principal - i.principal_paid
                if day > i.due and unpaid:
                    sums[i.number] += unpaid * self.default_rate_bps
                    bound += Fraction(unpaid * cap_bps, BPS * DAYS_A_YEAR)
            day += DAY
        earned = {}
        for i in self.live:
            period = (i.due - i.start).days
            elapsed = min(max((through - i.start).days, 0), period)
            earned[i.number] = i.interest * elapsed // period
        term = (self.last_due - self.on).days
        fee_earned = self.fee * min(max((through - self.on).days, 0), term) // term
        changed = fee_earned != self.fee_recognised or any(
            (earned[i.number], sums[i.number]) != (i.interest_accrued, i.default_sum)
            for i in self.live
        )
        if not changed:
            return 0, 0, 0, False  # the ledger writes nothing, not even the day
        interest = default = 0
        for i in self.live:
            interest += earned[i.number] - i.interest_accrued
            default -= i.default_accrued
            i.interest_accrued, i.default_sum = earned[i.number], sums[i.number]
            default += i.default_accrued
        fee, self.fee_recognised = fee_earned - self.fee_recognised, fee_earned
        self.accrued_through, self.default_cap_bound = through, bound
        return interest, default, fee, True

    def days_past_due(self, day: date) -> int:
        late = [i.due for i in self.live if i.due < day and not i.settled]
        return (day - min(late)).days if late else 0

    def cured(self, day: date) -> bool:
        if self.restructure_stage is None:
            return True
        run = 0
        for i in self.live:
            if i.number < self.restructure_first:
                continue
            on_time = i.settled_on is not None and i.settled_on <= i.due
            if on_time:
                run += 1
            elif i.due < day:
                run = 0
            else:
                return False
            if run >= self.cure_payments:
                return True
        return False

    def stage(self, day: date, policy: LoanPolicy) -> int:
        if self.status == "written_off":
            return 3
        dpd = self.days_past_due(day)
        by_days = 1 if dpd <= policy.stage_2_after_days else 2
        if dpd > policy.stage_3_after_days:
            by_days = 3
        if self.restructure_stage is not None and not self.cured(day):
            return max(by_days, self.restructure_stage)
        return by_days


@attrs.frozen
class Outcome:
    """What the model expects: a rejection code or the number of events written, and
    another rejection the rules allow as well (``alternative``)."""

    expected: RejectCode | int
    alternative: RejectCode | None = None


@attrs.frozen
class Owed:
    """What each installment due had owed (interest, default interest, principal) just
    before a repayment was taken, oldest first: what its allocation is checked against."""

    loan: str
    requested: int
    rows: tuple[tuple[int, int, int, int], ...]


SHORTEST_PERIOD_DAYS = {"monthly": 28, "biweekly": 14, "weekly": 7}
"""A period this long is a whole period (February is a month); a shorter one may be
charged only its share of a period's interest."""


def period_overcharges(
    rows: list[tuple[date, date, int, int]], frequency: str, cap_bps: int
) -> list[tuple[int, Fraction]]:
    """Installments (index, the most the cap allows) of ``rows`` (start, due, principal,
    interest) whose scheduled interest is more than the balance x the cap's periodic
    rate — pro rata for a period shorter than a whole one — and half a satang."""
    balance = sum(principal for _, _, principal, _ in rows)
    found = []
    for k, (start, due, principal, interest) in enumerate(rows):
        share = Fraction(min((due - start).days, SHORTEST_PERIOD_DAYS[frequency]))
        share /= SHORTEST_PERIOD_DAYS[frequency]
        most = balance * Fraction(cap_bps, BPS * PERIODS_A_YEAR[frequency]) * share
        if interest > most + Fraction(1, 2):
            found.append((k, most))
        balance -= principal
    return found


_LIABILITIES = ("wallet:", "liability:", "equity:", "income:")


@attrs.define
class LoanModel:
    """A plain re-statement of the micro-loan rules: each account's net debit (debits -
    credits), each loan's schedule and what it has accrued and been paid."""

    policy: LoanPolicy = attrs.field(factory=LoanPolicy)
    net: Counter[str] = attrs.field(factory=Counter)
    opened: set[str] = attrs.field(factory=set)
    no_overdraft: set[str] = attrs.field(factory=set)
    frozen: set[str] = attrs.field(factory=set)
    loans: dict[str, ModelLoan] = attrs.field(factory=dict)
    history: dict[str, list[tuple[date, ModelLoan]]] = attrs.field(factory=dict)
    events: int = 0
    owed_before: list[Owed] = attrs.field(factory=list)
    """What the repayments of the last command were allocated against."""
    provisioned: list[tuple[str, date, int, int, int, int, int]] = attrs.field(factory=list)
    """What the provisions of the last command must record: loan, as_of, days past due,
    stage, exposure, rate, allowance."""
    _touched: set[str] = attrs.field(factory=set, init=False)
    _saved: tuple[object, ...] = attrs.field(default=(), init=False)
    _alternative: RejectCode | None = attrs.field(default=None, init=False)

    def balance(self, account: str) -> int:
        """Normal-side balance."""
        credit_normal = account.startswith(_LIABILITIES)
        return -self.net[account] if credit_normal else self.net[account]

    # --- bookkeeping of one command ----------------------------------------------------

    def _loan(self, loan_id: str) -> ModelLoan:
        """The loan, copied on first write in this command (so a refusal leaves the
        saved state and every history snapshot as they were)."""
        if loan_id not in self._touched:
            self.loans[loan_id] = copy.deepcopy(self.loans[loan_id])
            self._touched.add(loan_id)
        return self.loans[loan_id]

    def _post(self, legs: list[tuple[str, int]]) -> None:
        """Check legs (+ debit, - credit; zeros dropped) as an entry is checked, apply."""
        legs = [(a, n) for a, n in legs if n]
        for account, _ in legs:
            refuse_if(account not in self.opened, RejectCode.ACCOUNT_NOT_FOUND)
            refuse_if(account in self.frozen, RejectCode.ACCOUNT_FROZEN)
        before = {a: self.balance(a) for a, _ in legs}
        for account, n in legs:
            self.net[account] += n
        for account, was in before.items():
            now = self.balance(account)
            if account in self.no_overdraft and now < min(0, was):
                raise Refused(RejectCode.INSUFFICIENT_FUNDS)

    def _wallet(self, account: str) -> None:
        refuse_if(account not in self.opened, RejectCode.ACCOUNT_NOT_FOUND)
        refuse_if(not account.startswith("wallet:"), RejectCode.FIELD_INVALID)
        refuse_if(account in self.frozen, RejectCode.ACCOUNT_FROZEN)

    def submit(self, command: Command, today: date) -> Outcome:
        """Apply ``command`` if the ledger must (or may) accept it; the state before
        stays for :meth:`rollback` until the next command."""
        self._saved = (
            Counter(self.net),
            dict(self.loans),
            {k: list(v) for k, v in self.history.items()},
            set(self.frozen),
            self.events,
        )
        self._touched = set()
        self.owed_before, self.provisioned = [], []
        self._alternative = None
        try:
            written = self._decide(command, today)
        except Refused as refused:
            self.rollback()
            return Outcome(refused.code, self._alternative)
        for loan_id in sorted(self._touched):
            self.history.setdefault(loan_id, []).append((today, self.loans[loan_id]))
        self.events += written
        return Outcome(written, self._alternative)

    def rollback(self) -> None:
        """Undo the last :meth:`submit` (the ledger took the other answer it may)."""
        net, loans, history, frozen, events = self._saved
        assert isinstance(net, Counter) and isinstance(loans, dict)
        assert isinstance(history, dict) and isinstance(frozen, set) and isinstance(events, int)
        self.net, self.loans, self.history, self.frozen, self.events = (
            net,
            loans,
            history,
            frozen,
            events,
        )
        self.owed_before, self.provisioned = [], []

    def _catch_up(self, loan: ModelLoan, today: date) -> int:
        """Accrue the loan to today: the events that writes (0 or 1)."""
        interest, default, fee, changed = loan.accrue(today, self.policy.annual_cap_bps)
        ch = _CHART
        self._post(
            [
                (ch.loan_interest_receivable, interest),
                (ch.loan_interest_income, -interest),
                (ch.loan_default_receivable, default),
                (ch.loan_default_income, -default),
                (ch.loan_deferred_fees, fee),
                (ch.loan_fee_income, -fee),
            ]
        )
        return int(changed)

    def _active(self, loan_id: str) -> ModelLoan:
        refuse_if(loan_id not in self.loans, RejectCode.LOAN_NOT_FOUND)
        refuse_if(self.loans[loan_id].status != "active", RejectCode.LOAN_NOT_ACTIVE)
        return self._loan(loan_id)

    # --- the rules ---------------------------------------------------------------------

    def _decide(self, c: Command, today: date) -> int:
        ch = _CHART
        if isinstance(c, DisburseLoan):
            return self._disburse(c, today)
        if isinstance(c, AccrueInterest):
            refuse_if(c.as_of > today, RejectCode.FIELD_INVALID)
            written = 0
            for loan_id in sorted(self.loans):
                if self.loans[loan_id].status != "active":
                    continue
                loan = self.loans[loan_id]
                trial = copy.deepcopy(loan)
                if not trial.accrue(c.as_of, self.policy.annual_cap_bps)[3]:
                    continue
                loan = self._loan(loan_id)
                interest, default, fee, _ = loan.accrue(c.as_of, self.policy.annual_cap_bps)
                self._post(
                    [
                        (ch.loan_interest_receivable, interest),
                        (ch.loan_interest_income, -interest),
                        (ch.loan_default_receivable, default),
                        (ch.loan_default_income, -default),
                        (ch.loan_deferred_fees, fee),
                        (ch.loan_fee_income, -fee),
                    ]
                )
                written += 1
            refuse_if(not written, RejectCode.NOTHING_DUE)
            return written
        if isinstance(c, RepayLoan | WriteOffLoan | RecoverLoan | RestructureLoan):
            refuse_if(not _valid_id(c.loan), RejectCode.FIELD_INVALID)
        if isinstance(c, RepayLoan):
            refuse_if(c.amount_minor <= 0, RejectCode.AMOUNT_INVALID)
            loan = self._active(c.loan)
            written = self._catch_up(loan, today)
            due = loan.due(today)
            owed = sum(sum(i.owed()) for i in due)
            refuse_if(not owed, RejectCode.NOTHING_DUE)
            wallet = c.wallet if c.wallet is not None else loan.wallet
            self._wallet(wallet)
            rows = tuple((i.number, o[0], o[1], o[2]) for i in due for o in [i.owed()])
            self.owed_before.append(Owed(c.loan, c.amount_minor, rows))
            left = taken = min(c.amount_minor, owed)
            paid = [0, 0, 0]
            for i in due:
                owes = i.owed()
                take = [0, 0, 0]
                for bucket in range(3):
                    take[bucket] = min(left, owes[bucket])
                    left -= take[bucket]
                    paid[bucket] += take[bucket]
                i.interest_paid += take[0]
                i.default_paid += take[1]
                i.principal_paid += take[2]
                if i.settled and i.settled_on is None:
                    i.settled_on = today
            assert left == 0
            fee = released = 0
            if all(i.settled for i in loan.live):  # nothing owed, nothing left to fall due
                loan.status = "paid_off"
                fee, released = loan.fee - loan.fee_recognised, loan.allowance
                loan.fee_recognised, loan.allowance = loan.fee, 0
            self._post(
                [
                    (wallet, taken),
                    (ch.loan_interest_receivable, -paid[0]),
                    (ch.loan_default_receivable, -paid[1]),
                    (ch.loan_principal, -paid[2]),
                    (ch.loan_bank, taken),
                    (ch.bank_trust, -taken),
                    (ch.loan_deferred_fees, fee),
                    (ch.loan_fee_income, -fee),
                    (ch.loan_allowance, released),
                    (ch.ecl_expense, -released),
                ]
            )
            return written + 1
        if isinstance(c, ProvisionLoans):
            refuse_if(c.as_of > today, RejectCode.FIELD_INVALID)
            written = 0
            for loan_id in sorted(self.loans):
                now = self.loans[loan_id]
                then = self.as_of(loan_id, c.as_of)
                if now.status != "active" or then is None:
                    continue
                stage = then.stage(c.as_of, self.policy)
                rate = self.policy.provision_bps[stage - 1]
                target = half_up(Fraction(then.exposure * rate, BPS))
                if target == now.allowance:
                    continue
                dpd = then.days_past_due(c.as_of)
                self.provisioned.append((loan_id, c.as_of, dpd, stage, then.exposure, rate, target))
                change = target - now.allowance
                self._loan(loan_id).allowance = target
                self._post([(ch.ecl_expense, change), (ch.loan_allowance, -change)])
                written += 1
            refuse_if(not written, RejectCode.NOTHING_DUE)
            return written
        if isinstance(c, WriteOffLoan):
            loan = self._active(c.loan)
            written = self._catch_up(loan, today)
            principal, interest, default = (loan.outstanding(b) for b in (2, 0, 1))
            exposure = principal + interest + default
            fee = loan.fee - loan.fee_recognised
            self._post(
                [
                    (ch.ecl_expense, exposure - loan.allowance),
                    (ch.loan_allowance, loan.allowance),
                    (ch.loan_principal, -principal),
                    (ch.loan_interest_receivable, -interest),
                    (ch.loan_default_receivable, -default),
                    (ch.loan_deferred_fees, fee),
                    (ch.loan_fee_income, -fee),
                ]
            )
            loan.status, loan.written_off, loan.allowance = "written_off", exposure, 0
            loan.written_off_principal = principal
            loan.fee_recognised = loan.fee
            return written + 1
        if isinstance(c, RecoverLoan):
            refuse_if(c.amount_minor <= 0, RejectCode.AMOUNT_INVALID)
            refuse_if(c.loan not in self.loans, RejectCode.LOAN_NOT_FOUND)
            loan = self._loan(c.loan)
            refuse_if(loan.status != "written_off", RejectCode.LOAN_NOT_WRITTEN_OFF)
            left = loan.written_off - loan.recovered
            refuse_if(c.amount_minor > left, RejectCode.RECOVERY_EXCEEDS_WRITTEN_OFF)
            n = c.amount_minor
            if c.from_bank:
                self._post([(ch.loan_bank, n), (ch.loan_recoveries, -n)])
            else:
                self._wallet(loan.wallet)
                self._post(
                    [
                        (loan.wallet, n),
                        (ch.loan_bank, n),
                        (ch.bank_trust, -n),
                        (ch.loan_recoveries, -n),
                    ]
                )
            loan.recovered += n
            return 1
        if isinstance(c, RestructureLoan):
            refuse_if(not 1 <= c.installments <= INSTALLMENTS_MOST, RejectCode.FIELD_INVALID)
            loan = self._active(c.loan)
            earliest, latest = first_due_range(today, loan.frequency)
            refuse_if(not earliest <= c.first_due <= latest, RejectCode.FIELD_INVALID)
            written = self._catch_up(loan, today)
            old = [i for i in loan.live if not i.settled]
            principal = sum(i.principal - i.principal_paid for i in old)
            schedule = annuity(
                principal, loan.rate_bps, c.installments, c.first_due, loan.frequency
            )
            refuse_if(any(p == 0 for _, p, _ in schedule), RejectCode.AMOUNT_INVALID)
            stage = loan.stage(today, self.policy)
            carried = [sum(i.owed()[b] for i in old) for b in (0, 1)]
            for i in old:
                i.superseded = True
            number = max(i.number for i in loan.installments) + 1
            start = today
            for k, (due_day, part, interest) in enumerate(schedule):
                loan.installments.append(
                    ModelInstallment(
                        number=number + k,
                        start=start,
                        due=due_day,
                        principal=part,
                        interest=interest,
                        carried_interest=carried[0] if k == 0 else 0,
                        carried_default=carried[1] if k == 0 else 0,
                    )
                )
                start = due_day
            loan.restructure_stage, loan.restructure_first = stage, number
            loan.cure_payments = self.policy.cure_payments
            return written + 1
        if isinstance(c, TopUp):
            self._wallet(c.wallet)
            self._post([(ch.bank_trust, c.amount_minor), (c.wallet, -c.amount_minor)])
            return 1
        if isinstance(c, FreezeAccount):
            refuse_if(c.account in self.frozen, RejectCode.ACCOUNT_FROZEN)
            self.frozen.add(c.account)
            return 1
        if isinstance(c, UnfreezeAccount):
            refuse_if(c.account not in self.frozen, RejectCode.ACCOUNT_NOT_FROZEN)
            self.frozen.discard(c.account)
            return 1
        raise AssertionError(f"the loan model does not know {c!r}")

    def as_of(self, loan_id: str, day: date) -> ModelLoan | None:
        """The loan as it stood at the end of ``day`` (None if not yet disbursed)."""
        found = None
        for on, snapshot in self.history.get(loan_id, []):
            if on > day:
                break
            found = snapshot
        return found

    def _disburse(self, c: DisburseLoan, today: date) -> int:
        valid = [c.loan, c.borrower]
        refuse_if(not all(_valid_id(v) for v in valid), RejectCode.FIELD_INVALID)
        refuse_if(not 0 <= c.annual_rate_bps <= BPS, RejectCode.FIELD_INVALID)
        refuse_if(not 1 <= c.installments <= INSTALLMENTS_MOST, RejectCode.FIELD_INVALID)
        refuse_if(c.frequency not in PERIODS_A_YEAR, RejectCode.FIELD_INVALID)
        earliest, latest = first_due_range(today, c.frequency)
        refuse_if(not earliest <= c.first_due <= latest, RejectCode.FIELD_INVALID)
        refuse_if(c.principal_minor <= 0, RejectCode.AMOUNT_INVALID)
        refuse_if(c.fee_minor < 0, RejectCode.AMOUNT_INVALID)
        refuse_if(c.fee_minor >= c.principal_minor, RejectCode.AMOUNT_INVALID)
        refuse_if(c.loan in self.loans, RejectCode.LOAN_EXISTS)
        rows = annuity(
            c.principal_minor, c.annual_rate_bps, c.installments, c.first_due, c.frequency
        )
        refuse_if(any(p == 0 for _, p, _ in rows), RejectCode.AMOUNT_INVALID)
        self._wallet(c.wallet)
        owed = sum(
            loan.counted_against_limit
            for loan in self.loans.values()
            if loan.borrower == c.borrower
        )
        refuse_if(
            owed + c.principal_minor > self.policy.borrower_limit_minor,
            RejectCode.BORROWER_LIMIT_EXCEEDED,
        )
        net = c.principal_minor - c.fee_minor
        payments = [p + i for _, p, i in rows]
        slack = Fraction(len(rows), 2)  # each payment rounded by at most half a satang
        cap = Fraction(self.policy.annual_cap_bps, BPS)
        worth = present_value(payments, cap, c.frequency)
        refuse_if(worth > net + slack, RejectCode.LOAN_COST_ABOVE_CAP)
        if worth > net or c.annual_rate_bps > self.policy.annual_cap_bps:
            # above the cap by no more than the rounding of the payments, or at a
            # contract rate above it that the rounding hides: refusing it is as right as
            # taking it
            self._alternative = RejectCode.LOAN_COST_ABOVE_CAP
        ch = _CHART
        self._post(
            [
                (ch.loan_principal, c.principal_minor),
                (c.wallet, -c.principal_minor),
                (c.wallet, c.fee_minor),
                (ch.loan_deferred_fees, -c.fee_minor),
                (ch.bank_trust, net),
                (ch.loan_bank, -net),
            ]
        )
        installments = []
        start = today
        for k, (due, part, interest) in enumerate(rows):
            installments.append(ModelInstallment(k + 1, start, due, part, interest))
            start = due
        self.loans[c.loan] = ModelLoan(
            loan=c.loan,
            borrower=c.borrower,
            wallet=c.wallet,
            principal=c.principal_minor,
            fee=c.fee_minor,
            rate_bps=c.annual_rate_bps,
            default_rate_bps=min(
                c.annual_rate_bps + self.policy.default_margin_bps, self.policy.annual_cap_bps
            ),
            frequency=c.frequency,
            on=today,
            last_due=rows[-1][0],
            installments=installments,
            accrued_through=today,
        )
        self._touched.add(c.loan)
        return 2


def _valid_id(value: str) -> bool:
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.-")
    return 1 <= len(value) <= 128 and set(value) <= allowed


# --- the machine ----------------------------------------------------------------------

START = datetime(2026, 1, 29, 2, 0, tzinfo=UTC)
"""09:00 in Bangkok, late in a month, so monthly schedules meet short months."""
BORROWERS = ["U1", "U2", "U3"]
WALLETS = [f"wallet:{b}" for b in BORROWERS]
NEVER_OPENED = "wallet:U9"
LOANS = [f"L{i}" for i in range(12)]
EQUITY = "equity:capital"

_principal = st.one_of(
    st.integers(1_000, 2_000_000),
    st.integers(1_000, 2_000_000),
    st.integers(2_000_000, 12_000_000),
    st.sampled_from([1, 5, 119, 10_000_000, "to_limit", "over_limit", "over_limit"]),
)
_rate = st.sampled_from(
    [0, 900, 1_500, 2_500, 2_800, 3_000, 3_000, 3_200, 3_300, 3_300, 3_301, 3_600]
)
_installments = st.sampled_from([1, 2, 3, 3, 4, 6, 6, 12, 24])
_frequency = st.sampled_from(["monthly", "monthly", "biweekly", "weekly"])
_fee = st.sampled_from(["none", "none", "small", "near_cap", "near_cap", "near_cap", "large"])
_defect = st.sampled_from(
    [None] * 30
    + ["rate", "rate_negative", "installments", "installments_over", "frequency", "borrower"]
)
_near = st.sampled_from([-300, -1, 0, 0, 1, 2, 40, "above", "above", "above"])
"""Fees around the most the cap allows: that, a satang more or less, ..., or one that
costs a quarter of a basis point more than the cap ("above": refused, though a rate
rounded to the basis point would pass it)."""
_first_due = st.sampled_from(
    ["early"] * 3 + ["mid"] * 4 + ["latest"] * 3 + ["tomorrow", "short", "after"]
)


class LoanMachine(RetryingMachine):
    """Random loan lifecycles against :class:`LoanModel`, every invariant of the loans
    flow checked after each step. Set ``policy`` in a subclass to run it under other
    rules."""

    policy: ClassVar[LoanPolicy] = LoanPolicy()

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(START)
        self.book = self.open_ledger(self.clock)
        self.model = LoanModel(policy=self.policy)
        self._seen = 0
        self._accrued_interest: Counter[tuple[str, int]] = Counter()
        self._accrued_default: Counter[str] = Counter()
        self._scheduled: dict[tuple[str, int], int] = {}
        self._balances: tuple[tuple[int, str], dict[str, Balance]] = ((-1, ""), {})

    def open_ledger(self, clock: ManualClock) -> Ledger:
        """The ledger under test; override to run the machine on another store (opened
        with ``self.policy``)."""
        return Ledger.open(":memory:", clock=clock, loans=self.policy)

    @property
    def today(self) -> date:
        return self.clock.now.astimezone(_BANGKOK).date()

    def _submit(self, command: Command) -> Result:
        before = self.book.head()[0]
        outcome = self.model.submit(command, self.today)
        result = self.book.submit(command)
        event(f"{type(command).__name__}: {getattr(result, 'code', 'accepted')}")
        if isinstance(result, Rejected) and result.code is outcome.alternative:
            self.model.rollback()
            assert self.book.head()[0] == before, "a rejected command appended"
            self._refused(command, result)
            return result
        if isinstance(outcome.expected, RejectCode):
            assert isinstance(result, Rejected), (command, result, outcome)
            assert result.code is outcome.expected, (command, result, outcome)
            assert self.book.head()[0] == before, "a rejected command appended"
            self._refused(command, result)
        else:
            assert isinstance(result, Accepted) and not result.replayed, (command, result)
            assert result.seq == before + outcome.expected, (command, result, outcome)
            self.accepted.append((command, result.seq))
            self._read_new_events()
        return result

    # --- setting up -------------------------------------------------------------------

    @initialize(
        capital=st.sampled_from([3_000_000, 15_000_000, 60_000_000, 400_000_000]),
        top_ups=st.lists(st.integers(0, 3_000_000), min_size=3, max_size=3),
        first=st.lists(
            st.tuples(st.sampled_from(BORROWERS), st.integers(50_000, 3_000_000), _rate),
            min_size=1,
            max_size=3,
        ),
    )
    def open_books(
        self, capital: int, top_ups: list[int], first: list[tuple[str, int, int]]
    ) -> None:
        """The chart, the borrowers' wallets, the lender's bank funded with ``capital``,
        some top-ups and a few loans from the start, so every run has material."""
        ch = _CHART
        commands: list[Command] = [
            *ch.system_accounts(loans=True),
            *(ch.open_wallet(w) for w in WALLETS),
            OpenAccount(id="open:equity", account=EQUITY, type="equity", currency="THB"),
        ]
        results = self.book.submit_many(commands)
        assert all(isinstance(r, Accepted) for r in results), results
        opened = [c for c in commands if isinstance(c, OpenAccount)]
        self.model.opened = {c.account for c in opened}
        self.model.no_overdraft = {c.account for c in opened if c.no_overdraft}
        self.model.events = len(commands)
        funding = PostEntry(
            id="capital",
            kind="capital",
            postings=[Debit(ch.loan_bank, capital), Credit(EQUITY, capital)],
        )
        assert isinstance(self.book.submit(funding), Accepted)
        self.model.net[ch.loan_bank] += capital
        self.model.net[EQUITY] -= capital
        self.model.events += 1
        self._seen = self.book.head()[0]
        for wallet, amount in zip(WALLETS, top_ups, strict=True):
            if amount:
                self.top_up(wallet, amount)
        for k, (borrower, principal, rate) in enumerate(first):
            self._submit(
                DisburseLoan(
                    id=self._next_id("disburse"),
                    loan=LOANS[k],
                    borrower=borrower,
                    wallet=f"wallet:{borrower}",
                    principal_minor=principal,
                    annual_rate_bps=min(rate, self.policy.annual_cap_bps),
                    installments=3 + k,
                    first_due=_first_due_on(self.today, "monthly", "early"),
                )
            )

    # --- rules --------------------------------------------------------------------------

    @rule(
        by=st.sampled_from(
            [
                timedelta(hours=5),
                timedelta(hours=17),
                DAY,
                DAY,
                timedelta(days=3),
                timedelta(days=13),
                timedelta(days=30),
                timedelta(days=45),
                timedelta(days=100),
                timedelta(days=200),
            ]
        )
    )
    def advance_clock(self, by: timedelta) -> None:
        self.clock.advance(by)

    @rule(wallet=st.sampled_from(WALLETS), amount=st.integers(1, 2_000_000))
    def top_up(self, wallet: str, amount: int) -> None:
        self._submit(
            TopUp(id=self._next_id("topup"), wallet=wallet, amount_minor=amount, channel="bank")
        )

    @rule(
        data=st.data(),
        loan=st.sampled_from(LOANS),
        borrower=st.sampled_from(BORROWERS),
        principal=_principal,
        rate=_rate,
        installments=_installments,
        frequency=_frequency,
        fee=_fee,
        first_due=_first_due,
        defect=_defect,
    )
    def disburse(
        self, data: st.DataObject, loan: str, borrower: str, principal: int | str, rate: int,
        installments: int, frequency: str, fee: str, first_due: str, defect: str | None,
    ) -> None:  # fmt: skip
        """Any loan: over the borrower limit, above the cap (a rate above it, or a fee
        just over the most the cap allows), too small to split, first due on a day out
        of bounds, into another's wallet or one never opened; now and then one field
        out of range."""
        today = self.today
        if not isinstance(principal, int):
            owed = sum(
                v.counted_against_limit for v in self.model.loans.values() if v.borrower == borrower
            )
            room = self.policy.borrower_limit_minor - owed
            principal = max(1, room + (principal == "over_limit"))
        due = _first_due_on(today, frequency, first_due)
        if fee == "near_cap":
            near = data.draw(_near, "over the most")
            above = Fraction(1, 4 * BPS) if near == "above" else Fraction(0)
            fee_minor = self._fee_at_cap(principal, rate, installments, due, frequency, above)
            fee_minor = max(0, fee_minor + (near if isinstance(near, int) else 0))
        else:
            fee_minor = {"none": 0, "small": principal // 200, "large": principal // 10}[fee]
        wallets = [f"wallet:{borrower}"] * 6 + WALLETS + [NEVER_OPENED, _CHART.loan_deferred_fees]
        wallet = data.draw(st.sampled_from(wallets), "wallet")
        broken = defect or ""
        self._submit(
            DisburseLoan(
                id=self._next_id("disburse"),
                loan=loan,
                borrower="U 4" if broken == "borrower" else borrower,
                wallet=wallet,
                principal_minor=principal,
                annual_rate_bps={"rate": BPS + 1, "rate_negative": -1}.get(broken, rate),
                installments={"installments": 0, "installments_over": INSTALLMENTS_MOST + 1}.get(
                    broken, installments
                ),
                first_due=due,
                frequency="daily" if broken == "frequency" else frequency,
                fee_minor=fee_minor,
            )
        )

    def _fee_at_cap(
        self,
        principal: int,
        rate: int,
        installments: int,
        first_due: date,
        frequency: str,
        above: Fraction = Fraction(0),
    ) -> int:
        """The largest fee the cap (raised by ``above``, a fraction a year) allows, by
        the model's reckoning: the installments worth at most the principal less the fee,
        and half a satang each, at the cap; or 0."""
        if not 0 <= rate <= BPS or principal <= 0:
            return 0
        rows = annuity(principal, rate, installments, first_due, frequency)
        cap = Fraction(self.policy.annual_cap_bps, BPS) + above
        worth = present_value([p + i for _, p, i in rows], cap, frequency)
        return max(0, math.floor(principal + Fraction(len(rows), 2) - worth))

    @rule(back=st.sampled_from([0, 0, 0, 1, 6, 40, -1]))
    def accrue(self, back: int) -> None:
        """Accrue as of today, some day back, or tomorrow (refused)."""
        as_of = self.today - timedelta(days=back)
        self._submit(AccrueInterest(id=self._next_id("accrue"), as_of=as_of))

    def _pick_loan(self, data: st.DataObject, status: str) -> str:
        wanted = sorted(k for k, v in self.model.loans.items() if v.status == status)
        if wanted and data.draw(st.integers(0, 5), "a loan that fits") > 0:
            return data.draw(st.sampled_from(wanted), "loan")
        return data.draw(st.sampled_from([*LOANS, "L 1"]), "loan")

    @rule(
        data=st.data(),
        how=st.sampled_from(["due", "due", "part", "part", "over", "one", "zero", "all"]),
        source=st.sampled_from(["own", "own", "own", "own", "other", "unknown", "loan_account"]),
        wait=st.booleans(),
    )
    def repay(self, data: st.DataObject, how: str, source: str, wait: bool) -> None:
        """Repay what is due, part of it, more than the loan owes in all, one satang or
        none, from the loan's wallet, another, one never opened or a loan account; when
        nothing is due, after waiting for the next due date, sometimes."""
        loan_id = self._pick_loan(data, "active")
        loan = self.model.loans.get(loan_id)
        due = 0
        if loan is not None:
            due = self._due_today(loan)
            upcoming = [i.due for i in loan.live if not i.settled and i.due > self.today]
            if not due and wait and upcoming and loan.status == "active":
                self.clock.advance(timedelta(days=(min(upcoming) - self.today).days))
                due = self._due_today(loan)
        amount = {
            "due": due,
            "part": due // 3,
            "over": (loan.principal * 2 if loan else 0) + due + 1,
            "one": 1,
            "zero": 0,
            "all": due + 1,
        }[how]
        amount = amount or 1 if how != "zero" else 0
        wallet: str | None = None
        if source == "other":
            wallet = data.draw(st.sampled_from(WALLETS), "other wallet")
        elif source == "unknown":
            wallet = NEVER_OPENED
        elif source == "loan_account":
            wallet = _CHART.loan_deferred_fees
        if wallet is None and loan is not None and how not in ("over", "zero"):
            # make most repayments affordable: top the wallet up first, sometimes
            short = min(amount, due) - self.model.balance(loan.wallet)
            if (
                short > 0
                and data.draw(st.integers(0, 3), "top up first") > 0
                and loan.wallet not in self.model.frozen
            ):
                self.top_up(loan.wallet, short)
        self._submit(
            RepayLoan(id=self._next_id("repay"), loan=loan_id, amount_minor=amount, wallet=wallet)
        )

    def _due_today(self, loan: ModelLoan) -> int:
        """What ``loan`` has due today, accrued to today (on a copy)."""
        trial = copy.deepcopy(loan)
        trial.accrue(self.today, self.policy.annual_cap_bps)
        return sum(sum(i.owed()) for i in trial.due(self.today))

    @rule(data=st.data())
    def repay_on_time(self, data: st.DataObject) -> None:
        """Move to the next due date of an active loan and pay what is due on the day,
        topping the wallet up."""
        active = sorted(k for k, v in self.model.loans.items() if v.status == "active")
        if active:
            self._pay_next_due(data.draw(st.sampled_from(active), "loan"))

    @rule(
        data=st.data(),
        installments=st.sampled_from([2, 3, 4, 6]),
        late=st.sampled_from([None, None, 0, 1]),
    )
    def restructure_and_cure(
        self, data: st.DataObject, installments: int, late: int | None
    ) -> None:
        """Restructure a loan, then pay the new installments on their due dates — one of
        them a day late, sometimes — as a borrower who means to cure it would."""
        active = sorted(k for k, v in self.model.loans.items() if v.status == "active")
        if not active:
            return
        loan_id = data.draw(st.sampled_from(active), "loan")
        frequency = self.model.loans[loan_id].frequency
        first_due = _first_due_on(self.today, frequency, "mid")
        result = self._submit(
            RestructureLoan(
                id=self._next_id("restructure"),
                loan=loan_id,
                installments=installments,
                first_due=first_due,
            )
        )
        if isinstance(result, Rejected):
            return
        for k in range(self.policy.cure_payments + 1):
            self._pay_next_due(loan_id, late=late == k)

    def _pay_next_due(self, loan_id: str, late: bool = False) -> None:
        loan = self.model.loans[loan_id]
        upcoming = [i.due for i in loan.live if not i.settled and i.due >= self.today]
        if loan.status != "active" or not upcoming:
            return
        self.clock.advance(timedelta(days=(min(upcoming) - self.today).days + int(late)))
        due = self._due_today(loan)
        short = due - self.model.balance(loan.wallet)
        if short > 0 and loan.wallet not in self.model.frozen:
            self.top_up(loan.wallet, short)
        self._submit(RepayLoan(id=self._next_id("repay"), loan=loan_id, amount_minor=due or 1))

    @rule(back=st.sampled_from([0, 0, 0, 1, 20, -1]))
    def provision(self, back: int) -> None:
        as_of = self.today - timedelta(days=back)
        self._submit(ProvisionLoans(id=self._next_id("provision"), as_of=as_of))

    @rule(
        data=st.data(),
        installments=st.sampled_from([1, 2, 3, 6, 12, 0, 121]),
        first_due=_first_due,
    )
    def restructure(self, data: st.DataObject, installments: int, first_due: str) -> None:
        loan_id = self._pick_loan(data, "active")
        loan = self.model.loans.get(loan_id)
        frequency = loan.frequency if loan is not None else "monthly"
        due = _first_due_on(self.today, frequency, first_due)
        self._submit(
            RestructureLoan(
                id=self._next_id("restructure"),
                loan=loan_id,
                installments=installments,
                first_due=due,
            )
        )

    @rule(data=st.data())
    def write_off(self, data: st.DataObject) -> None:
        self._submit(
            WriteOffLoan(id=self._next_id("write-off"), loan=self._pick_loan(data, "active"))
        )

    @rule(
        data=st.data(),
        how=st.sampled_from(["part", "part", "all", "over", "zero"]),
        from_bank=st.booleans(),
    )
    def recover(self, data: st.DataObject, how: str, from_bank: bool) -> None:
        loan_id = self._pick_loan(data, "written_off")
        loan = self.model.loans.get(loan_id)
        left = loan.written_off - loan.recovered if loan is not None else 100
        amount = {"part": left // 2 or 1, "all": left or 1, "over": left + 1, "zero": 0}[how]
        self._submit(
            RecoverLoan(
                id=self._next_id("recover"), loan=loan_id, amount_minor=amount, from_bank=from_bank
            )
        )

    @rule(wallet=st.sampled_from(WALLETS), freeze=st.booleans())
    def freeze_wallet(self, wallet: str, freeze: bool) -> None:
        command = (FreezeAccount if freeze else UnfreezeAccount)(
            id=self._next_id("status"), account=wallet
        )
        self._submit(command)

    # --- what the log says, read once ------------------------------------------------

    def _read_new_events(self) -> None:
        """Check each new loan event against the model: the schedule and the cap of a
        disbursement, the order of a repayment's allocations; tally what accruals
        recognised."""
        owed = list(self.model.owed_before)
        provisioned = list(self.model.provisioned)
        for rec in self.book.events(after=self._seen):
            e = rec.event
            if isinstance(e, LoanDisbursed):
                self._check_disbursement(e)
            elif isinstance(e, LoanAccrued):
                for line in e.lines:
                    self._accrued_interest[e.loan, line.number] += line.interest_minor
                    self._accrued_default[e.loan] += line.default_interest_minor
            elif isinstance(e, LoanRestructured):
                self._check_restructure(e)
            elif isinstance(e, LoanProvisioned):
                assert provisioned, e
                got = (e.loan, e.as_of, e.days_past_due, e.stage, e.exposure_minor, e.rate_bps)
                assert (*got, e.allowance_minor) == provisioned.pop(0), e
            elif isinstance(e, LoanRepaid):
                assert owed and owed[0].loan == e.loan, (e, owed)
                _check_allocation_order(e, owed.pop(0))
        assert not owed and not provisioned, (owed, provisioned)
        self._seen = self.book.head()[0]
        for loan in self.model.loans.values():
            for i in loan.installments:
                self._scheduled[loan.loan, i.number] = i.interest

    def _check_disbursement(self, e: LoanDisbursed) -> None:
        loan = self.model.loans[e.loan]
        schedule = [(i.due, i.principal_minor, i.interest_minor) for i in e.schedule]
        assert schedule == [(i.due, i.principal, i.interest) for i in loan.installments], e
        assert e.cap_bps == self.policy.annual_cap_bps
        assert e.all_in_rate_bps <= e.cap_bps, ("an all-in rate above the cap", e)
        assert e.default_rate_bps == loan.default_rate_bps <= e.cap_bps, e
        cap = Fraction(e.cap_bps, BPS)
        payments = [i.principal_minor + i.interest_minor for i in e.schedule]
        worth = present_value(payments, cap, e.frequency)
        slack = Fraction(len(payments), 2)
        assert worth <= e.principal_minor - e.fee_minor + slack, (
            "the loan costs more than the cap",
            e,
            float(worth - e.principal_minor + e.fee_minor),
        )
        starts = [e.on, *(i.due for i in e.schedule[:-1])]
        rows = [
            (start, i.due, i.principal_minor, i.interest_minor)
            for start, i in zip(starts, e.schedule, strict=True)
        ]
        over = period_overcharges(rows, e.frequency, e.cap_bps)
        assert not over, ("a period is charged more than the cap", e, over)
        assert e.borrower_limit_minor == self.policy.borrower_limit_minor
        assert e.borrower_owed_minor + e.principal_minor <= e.borrower_limit_minor, e

    def _check_restructure(self, e: LoanRestructured) -> None:
        loan = self.model.loans[e.loan]
        new = [i for i in loan.installments if i.number >= e.schedule[0].number]
        got = [(i.number, i.due, i.principal_minor, i.interest_minor) for i in e.schedule]
        assert got == [(i.number, i.due, i.principal, i.interest) for i in new], e
        assert e.schedule[0].carried_interest_minor == new[0].carried_interest, e
        assert e.schedule[0].carried_default_minor == new[0].carried_default, e
        assert (e.cure_payments, e.stage) == (self.policy.cure_payments, loan.restructure_stage)
        rows = [(i.start, i.due, i.principal, i.interest) for i in new]
        cap = self.policy.annual_cap_bps
        over = period_overcharges(rows, loan.frequency, cap)
        assert not over, ("a period is charged more than the cap", e, over)

    # --- invariants -------------------------------------------------------------------

    def _balance(self, account: str) -> Balance:
        """The account's balance, read once per step for all the invariants."""
        head = self.book.head()
        if self._balances[0] != head:
            self._balances = (head, {b.account: b for b in self.book.balances()})
        return self._balances[1][account]

    @invariant()
    def balances_match_model(self) -> None:
        for account in sorted(self.model.opened):
            b = self._balance(account)
            assert b.debits_posted - b.credits_posted == self.model.net[account], account
            assert (b.debits_pending, b.credits_pending) == (0, 0), account

    @invariant()
    def pooled_accounts_are_the_sum_of_the_loans(self) -> None:
        """The loan accounts are pools: each is the sum of every loan's share of it."""
        ch = _CHART
        loans = list(self.model.loans.values())
        principal = sum(v.outstanding(2) for v in loans)
        assert self._balance(ch.loan_principal).balance == principal >= 0
        interest = sum(v.outstanding(0) for v in loans)
        assert self._balance(ch.loan_interest_receivable).balance == interest >= 0
        default = sum(v.outstanding(1) for v in loans)
        assert self._balance(ch.loan_default_receivable).balance == default >= 0
        allowance = sum(v.allowance for v in loans)
        assert -self._balance(ch.loan_allowance).balance == allowance >= 0
        deferred = sum(v.fee - v.fee_recognised for v in loans)
        assert self._balance(ch.loan_deferred_fees).balance == deferred >= 0

    @invariant()
    def each_loan_reads_as_the_model_says(self) -> None:
        """The loan fold and view agree with the model, installment by installment."""
        today = self.today
        statuses = {s.loan: s for s in self.book.loans()}
        assert set(statuses) == set(self.model.loans)
        for loan_id, m in sorted(self.model.loans.items()):
            found = self.book.loan(loan_id)
            assert found.status == m.status, loan_id
            assert found.accrued_through == m.accrued_through, loan_id
            assert found.fee_recognised_minor == m.fee_recognised, loan_id
            assert found.allowance_minor == m.allowance, loan_id
            parts = {p.number: p for p in found.parts}
            assert set(parts) == {i.number for i in m.installments}, loan_id
            for i in m.installments:
                p = parts[i.number]
                got = (p.start, p.due, p.principal_minor, p.interest_minor, p.superseded)
                assert got == (i.start, i.due, i.principal, i.interest, i.superseded), i
                owed_now = (p.interest_owed_minor, p.default_owed_minor, p.principal_owed_minor)
                assert owed_now == tuple(i.owed()), i
                assert p.interest_accrued_minor <= p.interest_minor, p
                assert min(i.owed()) >= 0, i
                assert p.settled_on == i.settled_on, (p, i)
            s = statuses[loan_id]
            assert _status_of(s) == self._expected_status(m, today), loan_id
            event(f"a loan {m.status} in stage {s.stage}")
            if s.cured:
                event("a restructured loan cured")
            if m.restructure_stage is not None and m.restructure_stage > 1:
                event("a loan restructured past stage 1")
            if any(i.default_accrued for i in m.installments):
                event("default interest accrued")

    @invariant()
    def the_view_of_a_past_day_is_as_it_stood(self) -> None:
        """``book.loans(as_of=...)`` a week back shows each loan as it stood then."""
        day = self.today - timedelta(days=7)
        statuses = {s.loan: s for s in self.book.loans(as_of=day)}
        then = {k: self.model.as_of(k, day) for k in self.model.loans}
        assert set(statuses) == {k for k, v in then.items() if v is not None}
        for loan_id, s in statuses.items():
            m = then[loan_id]
            assert m is not None
            assert _status_of(s) == self._expected_status(m, day), (loan_id, day)

    def _expected_status(self, m: ModelLoan, day: date) -> tuple[object, ...]:
        active = m.status == "active"
        dpd = m.days_past_due(day) if active else 0
        upcoming = [i.due for i in m.live if not i.settled and i.due >= day]
        return (
            m.status,
            dpd,
            _bucket(dpd),
            m.stage(day, self.policy),
            m.outstanding(2),
            m.outstanding(0),
            m.outstanding(1),
            sum(sum(i.owed()) for i in m.due(day)) if active else 0,
            m.allowance,
            m.restructure_stage is not None,
            m.restructure_stage is not None and m.cured(day),
            min(upcoming) if upcoming and active else None,
        )

    @invariant()
    def interest_never_exceeds_its_schedule_nor_the_cap(self) -> None:
        """Read from the log alone: the interest each installment accrued is at most
        what its schedule priced; a loan's default interest is at most the cap on the
        principal overdue, day by day."""
        for key, accrued in self._accrued_interest.items():
            assert 0 <= accrued <= self._scheduled[key], (key, accrued, self._scheduled[key])
        for loan_id, default in self._accrued_default.items():
            bound = self.model.loans[loan_id].default_cap_bound
            assert 0 <= default <= bound, (loan_id, default, float(bound))

    @invariant()
    def borrowers_stay_within_their_limit(self) -> None:
        owed: Counter[str] = Counter()
        for loan in self.model.loans.values():
            if loan.status == "active":
                owed[loan.borrower] += self.book.loan(loan.loan).principal_outstanding_minor
            else:
                owed[loan.borrower] += loan.counted_against_limit
        assert all(v <= self.policy.borrower_limit_minor for v in owed.values()), owed

    @invariant()
    def wallets_are_safeguarded(self) -> None:
        """E-money moves only with its cash: the trust holds exactly what the wallets do."""
        trust = self._balance(_CHART.bank_trust).balance
        assert trust == sum(self._balance(w).balance for w in WALLETS) >= 0

    @invariant()
    def every_currency_sums_to_zero(self) -> None:
        assert sum(self.model.net.values()) == 0
        assert sum(b.debits_posted - b.credits_posted for b in self.book.balances()) == 0

    @invariant()
    def no_overdraft_holds(self) -> None:
        for account in sorted(self.model.no_overdraft):
            assert self._balance(account).available >= 0, account

    @invariant()
    def log_grows_only_by_accepted_commands(self) -> None:
        assert self.book.head()[0] == self.model.events


def _first_due_on(today: date, frequency: str, which: str) -> date:
    """A first due date: the earliest allowed, one midway, the latest, or one just out
    of bounds (tomorrow, the day before the earliest, the day after the latest)."""
    earliest, latest = first_due_range(today, frequency)
    return {
        "early": earliest,
        "mid": earliest + (latest - earliest) // 2,
        "latest": latest,
        "tomorrow": today + DAY,
        "short": earliest - DAY,
        "after": latest + DAY,
    }[which]


def _status_of(s: LoanStatus) -> tuple[object, ...]:
    return (
        s.status,
        s.days_past_due,
        s.bucket,
        s.stage,
        s.principal_outstanding_minor,
        s.interest_outstanding_minor,
        s.default_interest_outstanding_minor,
        s.due_minor,
        s.allowance_minor,
        s.restructured,
        s.cured,
        s.next_due,
    )


def _bucket(days_past_due: int) -> str:
    for name, last in (
        ("current", 0),
        ("1-30", 30),
        ("31-60", 60),
        ("61-90", 90),
        ("91-180", 180),
        ("181-360", 360),
    ):
        if days_past_due <= last:
            return name
    return "over 360"


def _check_allocation_order(repaid: LoanRepaid, owed: Owed) -> None:
    """The repayment took the oldest installment due first, and in each its interest,
    then default interest, then principal; nothing later while anything earlier was
    still owed; and all it could, up to what was asked."""
    order = [row[0] for row in owed.rows]
    numbers = [a.number for a in repaid.allocations]
    assert all(n in order for n in numbers), (repaid, owed)
    assert numbers == sorted(numbers, key=order.index), ("installments out of order", repaid)
    assert len(set(numbers)) == len(numbers), repaid
    paid = {
        a.number: (a.interest_minor, a.default_interest_minor, a.principal_minor)
        for a in repaid.allocations
    }
    buckets = [
        (number, b, want, paid.get(number, (0, 0, 0))[b])
        for number, *wants in owed.rows
        for b, want in enumerate(wants)
    ]
    short = False
    for number, b, want, got in buckets:
        assert 0 <= got <= want, ("paid more than owed", number, b, repaid, owed)
        assert not (short and got), ("paid a later bucket first", number, b, repaid, owed)
        short = short or got < want
    total = sum(got for *_, got in buckets)
    assert total == repaid.amount_minor == min(owed.requested, sum(w for *_, w, _ in buckets))
