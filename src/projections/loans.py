"""Micro-loans: each loan's events, and its state after the latest of them.

Tables (projection ``loans``):

* ``proj_loan_events`` — every event of every ``loan:`` stream, with its day (``on``)
  and payload, so a loan can be folded as it stood on any day by
  :func:`ledger.flows.loans.fold_loan`, the one reader of a loan's state machine.
* ``proj_loans`` — one row per loan: borrower, wallet, principal lent, the day it was
  disbursed, and after its latest event its status and what is outstanding (principal,
  interest, default interest), its allowance, what was written off and recovered.

Days past due, the ageing bucket and the stage depend on the day they are asked for, so
they are computed by :func:`loan_statuses` for a day, not stored.
"""

from __future__ import annotations

from datetime import date

import attrs

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
from ledger.flows.loans import LoanStatus, fold_loan, loan_status
from ledger.store.base import RecordedEvent
from projections.base import Database, Projection, Table, matching

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
        "status": str,
        "principal_outstanding_minor": int,
        "interest_outstanding_minor": int,
        "default_interest_outstanding_minor": int,
        "allowance_minor": int,
        "written_off_minor": int,
        "recovered_minor": int,
        "last_day": str,
        "last_seq": int,
    },
    pk=("loan",),
    indexes=(("borrower",), ("status",)),
)


class Loans(Projection):
    name = "loans"
    version = 1
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
        loan = fold_loan(loan_id, _events(db, loan_id))
        assert loan is not None, f"loan {loan_id} has events but folds to nothing"
        d = loan.disbursed
        db.execute(
            "INSERT OR REPLACE INTO proj_loans VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                loan_id,
                d.borrower,
                d.wallet,
                d.principal_minor,
                d.on.isoformat(),
                loan.status,
                loan.principal_outstanding,
                loan.interest_outstanding,
                loan.default_outstanding,
                loan.allowance_minor,
                loan.written_off_minor,
                loan.recovered_minor,
                day.isoformat(),
                record.seq,
            ),
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
    for (loan_id,) in db.execute(
        "SELECT loan FROM proj_loans WHERE disbursed_on <= ? ORDER BY loan", (as_of.isoformat(),)
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
    """Every loan (or one borrower's, or those in one status) by loan id."""
    where, params = matching(borrower=borrower, status=status)
    rows = db.execute(
        "SELECT loan, borrower, wallet, principal_minor, disbursed_on, status,"
        " principal_outstanding_minor, interest_outstanding_minor,"
        " default_interest_outstanding_minor, allowance_minor, written_off_minor,"
        f" recovered_minor, last_day FROM proj_loans WHERE {where}"
        " ORDER BY loan",
        params,
    ).fetchall()
    return [
        LoanRow(
            loan=r[0],
            borrower=r[1],
            wallet=r[2],
            principal_minor=r[3],
            disbursed_on=date.fromisoformat(r[4]),
            status=r[5],
            principal_outstanding_minor=r[6],
            interest_outstanding_minor=r[7],
            default_interest_outstanding_minor=r[8],
            allowance_minor=r[9],
            written_off_minor=r[10],
            recovered_minor=r[11],
            last_day=date.fromisoformat(r[12]),
        )
        for r in rows
    ]
