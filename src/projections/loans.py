"""Micro-loans: each loan's events, and its state after the latest of them.

Tables (projection ``loans``):

* ``proj_loan_events`` — every event of every ``loan:`` stream, with its day (``on``)
  and payload, so a loan can be folded as it stood on any day by
  :func:`ledger.state.loans.fold_loan`, the one reader of a loan's state machine.
* ``proj_loans`` — one row per loan: borrower, wallet, principal lent, the day it was
  disbursed, and the day and seq of its latest event.

What is outstanding, the status, days past due, the ageing bucket and the stage are
folded from the loan's events when asked (:func:`loan_rows`, :func:`loan_statuses`): one
pass over each loan's events per read, where keeping them in the table would refold the
whole stream at every daily accrual.
"""

from __future__ import annotations

from datetime import date

import attrs

from ledger.errors import StoreCorrupt
from ledger.events import (
    Event,
    LoanAccrued,
    LoanDisbursed,
    LoanProvisioned,
    LoanRecovered,
    LoanRepaid,
    LoanRestructured,
    LoanWrittenOff,
    decode_event,
)
from ledger.state.loans import LoanStatus, fold_loan, loan_status
from ledger.store.base import RecordedEvent
from projections.base import Database, Projection, Table, matching, snapshot

EVENTS = Table(
    "proj_loan_events",
    {
        "loan": str,
        "version": int,
        "seq": int,
        "day": str,
        "type": str,
        "schema": int,
        "payload": bytes,
    },
    pk=("loan", "version"),
)
LOANS = Table(
    "proj_loans",
    {
        "loan": str,
        "borrower": str,
        "wallet": str,
        "principal_minor": int,
        "disbursed_on": str,
        "last_day": str,
        "last_seq": int,
    },
    pk=("loan",),
    indexes=(("borrower",),),
)


class Loans(Projection):
    """The loans read model: every loan event with its day, and each loan's latest."""

    name = "loans"
    version = 2
    handles = frozenset(
        {
            LoanDisbursed,
            LoanAccrued,
            LoanRepaid,
            LoanProvisioned,
            LoanRestructured,
            LoanWrittenOff,
            LoanRecovered,
        }
    )
    tables = (EVENTS, LOANS)

    def apply(self, db: Database, record: RecordedEvent) -> None:
        event = record.event
        loan_id: str = event.loan  # type: ignore[union-attr]
        day: date = event.on  # type: ignore[union-attr]
        db.execute(
            "INSERT INTO proj_loan_events VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                loan_id,
                record.version,
                record.seq,
                day.isoformat(),
                record.type,
                record.schema,
                record.payload,
            ),
        )
        if isinstance(event, LoanDisbursed):
            db.execute(
                "INSERT INTO proj_loans VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    loan_id,
                    event.borrower,
                    event.wallet,
                    event.principal_minor,
                    event.on.isoformat(),
                    day.isoformat(),
                    record.seq,
                ),
            )
        else:
            db.execute(
                "UPDATE proj_loans SET last_day = ?, last_seq = ? WHERE loan = ?",
                (day.isoformat(), record.seq, loan_id),
            )


def _events(db: Database, loan: str) -> list[Event]:
    rows = db.execute(
        "SELECT type, schema, payload FROM proj_loan_events WHERE loan = ? ORDER BY version",
        (loan,),
    ).fetchall()
    return [decode_event(t, s, p) for t, s, p in rows]


def loan_statuses(db: Database, as_of: date) -> list[LoanStatus]:
    """Every loan disbursed by ``as_of`` as it stood on that day, by loan id: folded from
    its events of days up to ``as_of``, so a later event changes nothing and a backdated
    one lands on its day."""
    statuses = []
    with snapshot(db):
        for (loan_id,) in db.execute(
            "SELECT loan FROM proj_loans WHERE disbursed_on <= ? ORDER BY loan",
            (as_of.isoformat(),),
        ).fetchall():
            found = fold_loan(loan_id, _events(db, loan_id), as_of)
            if found is not None:
                statuses.append(loan_status(found, as_of))
    return statuses


@attrs.frozen
class LoanRow:
    """A loan after its latest event (``last_day``): what the loan list shows."""

    loan: str
    borrower: str
    wallet: str
    principal_minor: int
    disbursed_on: date
    status: str
    principal_outstanding_minor: int
    interest_outstanding_minor: int
    default_interest_outstanding_minor: int
    allowance_minor: int
    written_off_minor: int
    recovered_minor: int
    last_day: date


def loan_rows(
    db: Database, *, borrower: str | None = None, status: str | None = None
) -> list[LoanRow]:
    """Every loan (or one borrower's, or those in one status) after its latest event, by
    loan id."""
    where, params = matching(borrower=borrower)
    found = []
    with snapshot(db):
        for loan_id, last_day in db.execute(
            f"SELECT loan, last_day FROM proj_loans WHERE {where} ORDER BY loan", params
        ).fetchall():
            loan = fold_loan(loan_id, _events(db, loan_id))
            if loan is None:
                raise StoreCorrupt(f"loan {loan_id} is listed but has no events")
            if status is None or loan.status == status:
                found.append((loan, date.fromisoformat(last_day)))
    return [
        LoanRow(
            loan=loan.loan,
            borrower=loan.borrower,
            wallet=loan.disbursed.wallet,
            principal_minor=loan.disbursed.principal_minor,
            disbursed_on=loan.disbursed.on,
            status=loan.status,
            principal_outstanding_minor=loan.principal_outstanding_minor,
            interest_outstanding_minor=loan.interest_outstanding_minor,
            default_interest_outstanding_minor=loan.default_outstanding_minor,
            allowance_minor=loan.allowance_minor,
            written_off_minor=loan.written_off_minor,
            recovered_minor=loan.recovered_minor,
            last_day=last_day,
        )
        for loan, last_day in found
    ]
