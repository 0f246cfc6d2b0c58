"""Commands of micro-loans (nano-finance): a loan is disbursed into the borrower's wallet,
accrues interest daily, is repaid from the wallet, provisioned, restructured or written
off (docs/flows/loans.md).

Each loan is the stream ``loan:<loan>``; loans and borrowers are named by id (``L7``,
``U1``), the wallet by account id. Days (``first_due``, ``as_of``) are calendar days in
the ledger's time zone.
"""

from __future__ import annotations

from datetime import date

import attrs

from ledger.commands.base import (
    Command,
    amount_type,
    calendar_date,
    count_type,
    require,
    text,
)

LOAN_FREQUENCIES = ("monthly", "biweekly", "weekly")
"""How often a loan's installments fall due."""

_optional_text = attrs.validators.optional(text)


@attrs.frozen
class DisburseLoan(Command):
    """Lend ``principal_minor`` to ``borrower`` into ``wallet``, repaid in
    ``installments`` equal installments (annuity on the reducing balance at
    ``annual_rate_bps``), the first due on ``first_due``, then every ``frequency``. An
    upfront ``fee_minor`` is taken from the wallet at once and earned over the term.

    Rejects: field_invalid (ids, rate, installments, frequency, first_due),
    amount_invalid, loan_exists, the wallet's own rejections (account_not_found,
    field_invalid, account_frozen, account_closed, limit_exceeded),
    borrower_limit_exceeded, loan_cost_above_cap, and the entry's own rejections
    (insufficient_funds: the lender's bank holds less than the loan).
    """

    loan: str = attrs.field(kw_only=True, validator=text)
    borrower: str = attrs.field(kw_only=True, validator=text)
    wallet: str = attrs.field(kw_only=True, validator=text)
    principal_minor: int = attrs.field(kw_only=True, validator=amount_type)
    annual_rate_bps: int = attrs.field(kw_only=True, validator=count_type)
    installments: int = attrs.field(kw_only=True, validator=count_type)
    first_due: date = attrs.field(kw_only=True, validator=calendar_date)
    frequency: str = attrs.field(default="monthly", kw_only=True, validator=text)
    fee_minor: int = attrs.field(default=0, kw_only=True, validator=amount_type)


@attrs.frozen
class AccrueInterest(Command):
    """Recognise every active loan's interest (and default interest on overdue
    principal, and the upfront fee) for each day up to and including ``as_of``: at most
    ``ledger.flows.loans.LOANS_PER_RUN_MAX`` loans, those accrued least far first; run
    it again until nothing_due.

    Rejects: field_invalid (``as_of`` after today), nothing_due.
    """

    as_of: date = attrs.field(kw_only=True, validator=calendar_date)


@attrs.frozen
class RepayLoan(Command):
    """Pay up to ``amount_minor`` of what loan ``loan`` has due, from ``wallet`` (the
    loan's own wallet if None): oldest installment first, in each its interest, default
    interest, then principal. The loan is accrued to today first; the excess stays in
    the wallet.

    Rejects: field_invalid (ids), amount_invalid, loan_not_found, loan_not_active,
    nothing_due, the wallet's own rejections, and the entry's own
    (insufficient_funds: the wallet holds less than it would pay).
    """

    loan: str = attrs.field(kw_only=True, validator=text)
    amount_minor: int = attrs.field(kw_only=True, validator=amount_type)
    wallet: str | None = attrs.field(default=None, kw_only=True, validator=_optional_text)


@attrs.frozen
class ProvisionLoans(Command):
    """True up every active loan's expected-loss allowance to its exposure as of
    ``as_of`` times the provisioning rate of its stage: at most
    ``ledger.flows.loans.LOANS_PER_RUN_MAX`` loans changed per run.

    Rejects: field_invalid (``as_of`` after today), nothing_due.
    """

    as_of: date = attrs.field(kw_only=True, validator=calendar_date)


@attrs.frozen
class WriteOffLoan(Command):
    """Write loan ``loan`` off: accrued to today, its allowance trued up to the whole
    exposure and used against principal and interest receivable.

    Rejects: field_invalid (id), loan_not_found, loan_not_active, and the entry's own
    rejections (only a damaged store gets there).
    """

    loan: str = attrs.field(kw_only=True, validator=text)


@attrs.frozen
class RecoverLoan(Command):
    """Record ``amount_minor`` recovered on written-off loan ``loan``: from the loan's
    wallet, or (``from_bank``) paid to the lender's bank by a collector.

    Rejects: field_invalid (id), amount_invalid, loan_not_found, loan_not_written_off,
    recovery_exceeds_written_off, and the entry's own rejections.
    """

    loan: str = attrs.field(kw_only=True, validator=text)
    amount_minor: int = attrs.field(kw_only=True, validator=amount_type)
    from_bank: bool = attrs.field(default=False, kw_only=True, validator=require(bool, "a bool"))


@attrs.frozen
class RestructureLoan(Command):
    """Give loan ``loan`` a new schedule: its outstanding principal in ``installments``
    installments at the contract rate, the first due on ``first_due``; interest and
    default interest accrued and unpaid fall due with the first new installment. A loan
    non-performing when restructured stays so until ``LoanPolicy.cure_payments``
    consecutive installments are paid on time.

    Rejects: field_invalid (id, installments), loan_not_found, loan_not_active,
    field_invalid (first_due), amount_invalid (more installments than the principal left
    can fill).
    """

    loan: str = attrs.field(kw_only=True, validator=text)
    installments: int = attrs.field(kw_only=True, validator=count_type)
    first_due: date = attrs.field(kw_only=True, validator=calendar_date)
