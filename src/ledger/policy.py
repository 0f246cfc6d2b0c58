"""The rules a ledger is opened with: :class:`Policy` and the flows' own sections of it,
:class:`CodPolicy` and :class:`LoanPolicy`. Every figure is configuration, not a constant;
the decide functions read it through ``State.policy``.
"""

from __future__ import annotations

from datetime import timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from ledger.chart import Chart
from ledger.commands.base import require
from ledger.errors import InvalidCommand, shown

RETURN_WINDOW_MAX = timedelta(days=3_650)
"""The longest COD return window a policy may set."""


def _window(instance: object, attribute: attrs.Attribute[timedelta], value: object) -> None:
    if not isinstance(value, timedelta) or not timedelta(0) <= value <= RETURN_WINDOW_MAX:
        raise InvalidCommand(
            f"CodPolicy.{attribute.name} is a timedelta of 0..{RETURN_WINDOW_MAX.days} days, "
            f"not {shown(value)}"
        )


def _rate_bps(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int or not 0 <= value <= 10_000:
        raise InvalidCommand(
            f"CodPolicy.{attribute.name} is an int of basis points in 0..10000, not {shown(value)}"
        )


@attrs.frozen
class CodPolicy:
    """The cash-on-delivery rules (docs/flows/cod.md). What applied to an order is
    recorded in its events (its VAT, the end of its return window), so a change here
    never rewrites an order already delivered."""

    return_window: timedelta = attrs.field(default=timedelta(days=7), validator=_window)
    """How long after delivery the buyer may still return the order before the merchant's
    money becomes available."""
    vat_rate_bps: int = attrs.field(default=700, validator=_rate_bps)
    """VAT on the platform's commission and return-to-origin fees, which include it:
    VAT = fee x rate / (10000 + rate), rounded half up to the minor unit."""
    release_after_remittance: bool = attrs.field(default=True, validator=require(bool, "a bool"))
    """Release an order only once its courier has remitted for it, so a merchant is never
    paid for cash still at the door. Where the remittance came short the merchant is paid
    all the same, out of the COD bank; the gap is the courier's debt to the platform (its
    dispute receivable), not the merchant's."""


def _bps(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int or not 0 <= value <= 10_000:
        raise InvalidCommand(
            f"LoanPolicy.{attribute.name} is an int of basis points in 0..10000, not {shown(value)}"
        )


def _positive(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int or not 1 <= value <= 2**63 - 1:
        raise InvalidCommand(f"LoanPolicy.{attribute.name} is an int >= 1, not {shown(value)}")


def _stage_rates(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if (
        not isinstance(value, tuple)
        or len(value) != 3
        or not all(type(v) is int and 0 <= v <= 10_000 for v in value)
    ):
        raise InvalidCommand(
            "LoanPolicy.provision_bps is a tuple of three ints of basis points in 0..10000 "
            f"(stages 1, 2, 3), not {shown(value)}"
        )


@attrs.frozen
class LoanPolicy:
    """The micro-loan rules (docs/flows/loans.md). Each figure that applied to a loan is
    recorded in its events (the cap, the borrower limit and the default rate in its
    disbursement, a stage's rate in each provisioning), so a later change here never
    rewrites a loan's history."""

    borrower_limit_minor: int = attrs.field(default=10_000_000, validator=_positive)
    """The most one borrower may owe in principal across its loans (active ones, and
    written-off ones until recovered): 100,000.00 THB."""
    annual_cap_bps: int = attrs.field(default=3_300, validator=_bps)
    """The all-in cap on a loan's annual cost (interest and fees): 33%."""
    default_margin_bps: int = attrs.field(default=300, validator=_bps)
    """Default interest on overdue principal: the contract rate plus this (3%), never
    above the cap."""
    stage_2_after_days: int = attrs.field(default=30, validator=_positive)
    """Days past due after which a loan is in stage 2 (31..90 by default)."""
    stage_3_after_days: int = attrs.field(default=90, validator=_positive)
    """Days past due after which a loan is in stage 3, non-performing (over 90)."""
    provision_bps: tuple[int, int, int] = attrs.field(
        default=(100, 2_000, 10_000), validator=_stage_rates
    )
    """The expected-loss allowance as basis points of exposure, stages 1, 2 and 3."""
    cure_payments: int = attrs.field(default=3, validator=_positive)
    """Consecutive on-time installments that cure a restructured loan."""

    @stage_3_after_days.validator
    def _after_stage_2(self, attribute: attrs.Attribute[int], value: int) -> None:
        if value <= self.stage_2_after_days:
            raise InvalidCommand(
                f"LoanPolicy.stage_3_after_days ({value}) must be more than "
                f"stage_2_after_days ({self.stage_2_after_days})"
            )


STRUCTURAL_METADATA: frozenset[str] = frozenset({"wallet_type", "tier", "kyc_level"})
"""The account metadata keys whose values are structural, not personal, unless a policy
says otherwise: what the reports read (a wallet's type) and what classifies an account
without naming anyone."""


def _years(instance: object, attribute: attrs.Attribute[int], value: object) -> None:
    if type(value) is not int or not 0 <= value <= 100:
        raise InvalidCommand(
            f"PersonalDataPolicy.{attribute.name} is an int of years in 0..100, not {shown(value)}"
        )


def _names(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, frozenset) or not all(type(v) is str for v in value):
        raise InvalidCommand(
            f"PersonalDataPolicy.{attribute.name} is a frozenset of str, not {shown(value)}"
        )


@attrs.frozen
class PersonalDataPolicy:
    """What is personal data and how long it is kept (docs/personal-data.md)."""

    retention_years: int = attrs.field(default=5, validator=_years)
    """Whole years after a subject's last account closed before ``EraseSubject`` is
    accepted: the records anti-money-laundering law keeps (five years after an account
    closes, in Thailand) are kept that long."""
    structural_metadata: frozenset[str] = attrs.field(default=STRUCTURAL_METADATA, validator=_names)
    """Account metadata keys whose values are not personal: stored in the clear, read by
    the reports, unchanged by an erasure. Every other key's value is personal."""
    allowed_ids: frozenset[str] = attrs.field(default=frozenset(), validator=_names)
    """Account ids, or ``:``-separated parts of one, that look like a Thai mobile number
    or national ID and are known not to be (an operator's allow-list)."""


@attrs.frozen
class Policy:
    """Rules a ledger is opened with. Every figure is configuration, not a constant."""

    backdate_limit: timedelta = timedelta(days=31)
    """How far before now a caller may set ``effective_at`` (with ``backdated=True``)."""
    backdate_grace: timedelta = timedelta(minutes=1)
    """How far before now ``effective_at`` may be without ``backdated=True``: the clock
    skew between the caller's server and the ledger's."""
    future_limit: timedelta = timedelta(minutes=5)
    """How far after now ``effective_at`` may be (clock skew between servers)."""
    chart: Chart = attrs.field(factory=Chart)
    """The system accounts the wallet flows post to."""
    timezone: tzinfo = attrs.field(factory=lambda: ZoneInfo("Asia/Bangkok"))
    """Where a business day starts and ends: daily and monthly limits, report cut-offs."""
    cod: CodPolicy = attrs.field(factory=CodPolicy)
    """The cash-on-delivery rules: return window, VAT on fees, release after remittance."""
    loans: LoanPolicy = attrs.field(factory=LoanPolicy)
    """The micro-loan rules: borrower limit, cost cap, default margin, stages, provisions."""
    personal: PersonalDataPolicy = attrs.field(factory=PersonalDataPolicy)
    """Personal data: the retention period, the structural metadata keys, the ids allowed."""
