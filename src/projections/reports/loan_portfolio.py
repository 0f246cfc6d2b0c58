"""The loan portfolio as of a day: what is owed, how late, in which stage, against what
allowance.

A lender's board and its supervisor read the same few figures at every month end: the
principal and interest outstanding, how it ages by days past due, the non-performing
(stage 3) share of it, and how far the expected-loss allowance covers that share. Each
loan is folded as it stood on the day (:func:`projections.loans.loan_statuses`: its
events of days up to and including ``day``), so a report for a past day is reproduced
exactly however much has happened since. The pooled ledger accounts are read as of the
end of the same business day, and each must equal the sum of the loans: a difference is a
finding, never a silent line (a manual entry into a loan account, a damaged log).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import attrs

from ledger.events import EventBase, LoanRecovered, LoanWrittenOff, decode_event
from ledger.money import format_amount
from ledger.state.loans import AgeingRow, LoanStatus, ageing
from projections.base import Database
from projections.loans import loan_statuses
from projections.reports.base import Report, Section, check_day, check_runner
from projections.runner import Runner
from projections.statements import balances_as_of

NAME = "loan-portfolio"
STAGES = (1, 2, 3)
NPL_STAGE = 3
"""Non-performing: more than ``stage_3_after_days`` past due (90 by default)."""


@attrs.frozen
class SummaryRow:
    """The portfolio in one line: the active loans and the loans written off by the day."""

    loans: int
    """Active loans (disbursed by the day, not paid off, not written off)."""
    principal_outstanding_minor: int
    interest_outstanding_minor: int
    default_interest_outstanding_minor: int
    allowance_minor: int
    """The balance of the allowance account at the day's end, on its credit side."""
    npl_loans: int
    npl_principal_minor: int
    npl_ratio_bps: int | None
    """NPL principal x 10,000 // principal; None when no principal is outstanding."""
    coverage_bps: int | None
    """Allowance x 10,000 // NPL principal; None when nothing is non-performing."""
    written_off_loans: int
    written_off_minor: int
    """Principal, interest and default interest taken off the books by write-offs."""
    recovered_minor: int
    """What came back on written-off loans."""


@attrs.frozen
class StageRow:
    """One stage: its active loans, their principal and allowance."""

    stage: int
    loans: int
    principal_minor: int
    allowance_minor: int


@attrs.frozen
class LoanRow:
    """One loan as it stood on the day (paid off and written off ones too)."""

    loan: str
    borrower: str
    status: str
    days_past_due: int
    bucket: str | None
    """None for a loan that is not active: it is outside the ageing table."""
    stage: int
    principal_outstanding_minor: int
    interest_outstanding_minor: int
    default_interest_outstanding_minor: int
    due_minor: int
    allowance_minor: int
    restructured: bool
    next_due: date | None


def loan_portfolio(runner: Runner, day: date) -> Report:
    """The loan portfolio as of the end of business day ``day`` in the ledger's time zone:
    sections ``summary``, ``ageing``, ``stages`` and ``loans`` (docs/reports/
    loan-portfolio.md). Raises InvalidCommand unless ``day`` is a ``datetime.date``."""
    check_runner(runner, ("statements", "loans"))
    check_day(day)
    with runner.consistent() as log_seq:
        statuses = loan_statuses(runner.db, day)
        active = [s for s in statuses if s.status == "active"]
        chart, zone = runner.chart, runner.timezone
        accounts = [
            chart.loan_principal,
            chart.loan_interest_receivable,
            chart.loan_default_receivable,
            chart.loan_allowance,
        ]
        found = balances_as_of(runner, day, zone, accounts)
        booked = {a: found[a].balance if a in found else 0 for a in accounts}
        allowance_booked = -booked[chart.loan_allowance]  # a contra-asset: its credit side
        written_off, recovered = _written_off(runner.db, day)
        principal = sum(s.principal_outstanding_minor for s in active)
        npl = [s for s in active if s.stage == NPL_STAGE]
        npl_principal = sum(s.principal_outstanding_minor for s in npl)
        summary = SummaryRow(
            loans=len(active),
            principal_outstanding_minor=principal,
            interest_outstanding_minor=sum(s.interest_outstanding_minor for s in active),
            default_interest_outstanding_minor=sum(
                s.default_interest_outstanding_minor for s in active
            ),
            allowance_minor=allowance_booked,
            npl_loans=len(npl),
            npl_principal_minor=npl_principal,
            npl_ratio_bps=npl_principal * 10_000 // principal if principal else None,
            coverage_bps=allowance_booked * 10_000 // npl_principal if npl_principal else None,
            written_off_loans=len(written_off),
            written_off_minor=sum(written_off.values()),
            recovered_minor=recovered,
        )
        currency = chart.currency
        findings = _reconcile(
            currency,
            [
                (chart.loan_principal, booked[chart.loan_principal], principal, "principal"),
                (
                    chart.loan_interest_receivable,
                    booked[chart.loan_interest_receivable],
                    summary.interest_outstanding_minor,
                    "interest",
                ),
                (
                    chart.loan_default_receivable,
                    booked[chart.loan_default_receivable],
                    summary.default_interest_outstanding_minor,
                    "default interest",
                ),
                (
                    chart.loan_allowance,
                    allowance_booked,
                    sum(s.allowance_minor for s in statuses),
                    "allowances",
                ),
            ],
        )
        return Report(
            log_seq=log_seq,
            name=NAME,
            title=f"Loan portfolio as of the end of {day.isoformat()}",
            parameters={
                "date": day.isoformat(),
                "timezone": str(zone),
            },
            sections=(
                Section("summary", SummaryRow, (summary,)),
                Section("ageing", AgeingRow, tuple(ageing(active))),
                Section("stages", StageRow, tuple(_stages(active))),
                Section("loans", LoanRow, tuple(_loan_row(s) for s in statuses)),
            ),
            currency=currency,
            findings=tuple(findings),
        )


def _written_off(db: Database, day: date) -> tuple[dict[str, int], int]:
    """Per loan written off by ``day``, the exposure it took off the books; and what was
    recovered on written-off loans by then."""
    written_off: dict[str, int] = {}
    recovered = 0
    for loan, type_, schema, payload in db.execute(
        "SELECT loan, type, schema, payload FROM proj_loan_events"
        " WHERE type IN (?, ?) AND day <= ? ORDER BY loan, version",
        (_tag(LoanWrittenOff), _tag(LoanRecovered), day.isoformat()),
    ):
        event = decode_event(type_, schema, payload)
        if isinstance(event, LoanWrittenOff):
            written_off[loan] = (
                event.principal_minor + event.interest_minor + event.default_interest_minor
            )
        elif isinstance(event, LoanRecovered):
            recovered += event.amount_minor
    return written_off, recovered


def _tag(cls: type[EventBase]) -> str:
    """The ``type`` the log stores for events of ``cls``."""
    return str(cls.__struct_config__.tag)


def _reconcile(currency: str, checks: Sequence[tuple[str, int, int, str]]) -> list[str]:
    """A finding for each pooled account whose balance is not the loans' sum."""
    findings = []
    for account, booked, loans, what in checks:
        if booked != loans:
            findings.append(
                f"{account} holds {format_amount(booked, currency)} but the loans' {what} "
                f"sum to {format_amount(loans, currency)}: a difference of "
                f"{format_amount(booked - loans, currency)}"
            )
    return findings


def _stages(active: Sequence[LoanStatus]) -> list[StageRow]:
    rows = []
    for stage in STAGES:
        within = [s for s in active if s.stage == stage]
        rows.append(
            StageRow(
                stage=stage,
                loans=len(within),
                principal_minor=sum(s.principal_outstanding_minor for s in within),
                allowance_minor=sum(s.allowance_minor for s in within),
            )
        )
    return rows


def _loan_row(s: LoanStatus) -> LoanRow:
    return LoanRow(
        loan=s.loan,
        borrower=s.borrower,
        status=s.status,
        days_past_due=s.days_past_due,
        bucket=s.bucket if s.status == "active" else None,
        stage=s.stage,
        principal_outstanding_minor=s.principal_outstanding_minor,
        interest_outstanding_minor=s.interest_outstanding_minor,
        default_interest_outstanding_minor=s.default_interest_outstanding_minor,
        due_minor=s.due_minor,
        allowance_minor=s.allowance_minor,
        restructured=s.restructured,
        next_due=s.next_due,
    )
