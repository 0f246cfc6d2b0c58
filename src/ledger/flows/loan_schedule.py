"""The arithmetic of a loan's schedule, in exact integers: due dates, the annuity
installments on the reducing balance, and the all-in annual cost checked against the cap
(docs/flows/loans.md). Pure functions of numbers and dates; the loan flow's decide
functions call them, and an auditor can recompute a schedule with them.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date, timedelta
from fractions import Fraction

from ledger.events import LoanInstallment

PERIODS_PER_YEAR = {"monthly": 12, "biweekly": 26, "weekly": 52}
"""Installments a year for each frequency: the periodic rate is the annual rate over it."""


def half_up(value: Fraction) -> int:
    """``value`` rounded half up to an integer (exact)."""
    return (2 * value.numerator + value.denominator) // (2 * value.denominator)


def due_dates(first_due: date, count: int, frequency: str) -> list[date]:
    """``count`` due dates from ``first_due``: monthly on the same day of the month
    (the month's last day where it is shorter), else every 7 or 14 days."""
    if frequency == "monthly":
        return [_add_months(first_due, k) for k in range(count)]
    step = 7 if frequency == "weekly" else 14
    return [first_due + timedelta(days=step * k) for k in range(count)]


def _add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def first_due_range(start: date, frequency: str) -> tuple[date, date]:
    """The earliest and latest first due date a schedule starting on ``start`` may have:
    one period on at least and two at most. Every installment is charged a whole
    period's interest, so a first period shorter than one would cost the borrower more
    than the rate (a month's interest for a day), and a much longer one would carry
    interest the periodic rate does not price."""
    if frequency == "monthly":
        return _add_months(start, 1), _add_months(start, 2)
    days = 7 if frequency == "weekly" else 14
    return start + timedelta(days=days), start + timedelta(days=2 * days)


def build_schedule(
    principal_minor: int,
    annual_rate_bps: int,
    installments: int,
    first_due: date,
    frequency: str,
    first_number: int = 1,
) -> tuple[LoanInstallment, ...]:
    """Equal installments on the reducing balance (the annuity formula, periodic rate =
    annual rate / periods a year). Each installment's interest is the outstanding
    principal x the periodic rate rounded half up to the minor unit; its principal is
    the installment less that interest; the last takes whatever principal is left, so
    the principal sums exactly."""
    rate = Fraction(annual_rate_bps, 10_000 * PERIODS_PER_YEAR[frequency])
    if rate:
        growth = (1 + rate) ** installments
        payment = half_up(principal_minor * rate * growth / (growth - 1))
    else:
        payment = half_up(Fraction(principal_minor, installments))
    outstanding = principal_minor
    schedule = []
    for k, due in enumerate(due_dates(first_due, installments, frequency)):
        interest = half_up(outstanding * rate)
        last = k == installments - 1
        principal = outstanding if last else min(max(payment - interest, 0), outstanding)
        schedule.append(
            LoanInstallment(
                number=first_number + k,
                due=due,
                principal_minor=principal,
                interest_minor=interest,
            )
        )
        outstanding -= principal
    return tuple(schedule)


ALL_IN_SEARCH_MAX = 100_000_000
"""The all-in search bound in hundredths of a basis point a year (10,000%)."""


def all_in_rate_bps(net_minor: int, payments: Sequence[int], periods_per_year: int) -> int | None:
    """The annual rate on the reducing balance at which ``payments`` (one per period)
    are worth ``net_minor`` today — the all-in cost of a loan that paid the borrower
    ``net_minor`` (principal less fees) — to the nearest basis point; None if above
    10,000% a year. Exact integer arithmetic: a bisection in hundredths of a basis
    point, comparing present values without division."""

    def worth_at_most(k: int) -> bool:  # PV of payments at k/100 bps a year <= net?
        d = 1_000_000 * periods_per_year
        q, total, d_power = d + k, 0, 1
        for pay in payments:
            d_power *= d
            total = total * q + pay * d_power
        worth: int = net_minor * q ** len(payments)
        return total <= worth

    if not worth_at_most(ALL_IN_SEARCH_MAX):
        return None
    low, high = 0, ALL_IN_SEARCH_MAX
    while low < high:
        middle = (low + high) // 2
        if worth_at_most(middle):
            high = middle
        else:
            low = middle + 1
    return (low + 50) // 100


def within_cap(
    net_minor: int, payments: Sequence[int], periods_per_year: int, cap_bps: int
) -> bool:
    """True if ``payments`` are worth at most ``net_minor`` at the cap's periodic rate —
    the all-in rate is at most the cap — allowing half a minor unit per payment, the most
    the schedule's rounding of each interest half up can add (a loan at exactly the cap
    with no fee passes). Exact: no division, no rounding of the rate."""
    d = 10_000 * periods_per_year
    q, total, d_power = d + cap_bps, 0, 1
    for pay in payments:
        d_power *= d
        total = total * q + pay * d_power
    allowed: int = (2 * net_minor + len(payments)) * q ** len(payments)
    return 2 * total <= allowed
