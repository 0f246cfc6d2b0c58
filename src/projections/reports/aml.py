"""Anti-money-laundering feeds for a period: the transactions at or above each reporting
threshold, the customer-days that reach a threshold only in pieces below it
(structuring candidates), and every customer's daily aggregates.

The thresholds are rules, not constants: :data:`DEFAULT_RULES` holds the figures of the
2011 ministerial regulation (summaries of it disagree; a licence may set others), and
``aml(rules=...)`` takes any other set. docs/reports/aml.md says which
transactions each default rule covers and why, and defines every column.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

import attrs

from ledger.errors import InvalidCommand
from ledger.money import AMOUNT_MAX_MINOR, format_amount
from ledger.times import from_us
from projections.reports.base import Report, Section, check_period, check_runner
from projections.reports.safeguarding import is_wallet
from projections.runner import Runner
from projections.statements import accounts, day_end_us, day_start_us, local_day
from projections.transactions import CATEGORIES


@attrs.frozen
class AmlRule:
    """A reporting threshold: transactions of ``categories`` (only cash ones if
    ``cash_only``) of ``threshold_minor`` or more are reported."""

    name: str
    threshold_minor: int
    categories: tuple[str, ...]
    cash_only: bool

    def __attrs_post_init__(self) -> None:
        if type(self.name) is not str or not 1 <= len(self.name) <= 64 or " " in self.name:
            raise InvalidCommand(f"a rule's name is 1..64 characters without spaces: {self.name!r}")
        if type(self.threshold_minor) is not int or not (
            1 <= self.threshold_minor <= AMOUNT_MAX_MINOR
        ):
            raise InvalidCommand(
                f"rule {self.name}: threshold_minor is an int in 1..2**63-1,"
                f" not {self.threshold_minor!r}"
            )
        if (
            type(self.categories) is not tuple
            or not self.categories
            or any(c not in CATEGORIES for c in self.categories)
        ):
            raise InvalidCommand(
                f"rule {self.name}: categories is a non-empty tuple of {CATEGORIES},"
                f" not {self.categories!r}"
            )
        if type(self.cash_only) is not bool:
            raise InvalidCommand(f"rule {self.name}: cash_only is a bool, not {self.cash_only!r}")

    def covers(self, category: str, cash: bool) -> bool:
        return category in self.categories and (cash or not self.cash_only)

    def describe(self, currency: str) -> str:
        cash = " cash" if self.cash_only else ""
        kinds = "/".join(self.categories)
        return f"{self.name}: {kinds}{cash} >= {format_amount(self.threshold_minor, currency)}"


DEFAULT_RULES: tuple[AmlRule, ...] = (
    # Cash transactions of 2,000,000.00 or more: cash handed over at a counter or agent.
    AmlRule("cash_transaction", 200_000_000, ("top_up",), cash_only=True),
    # Electronic transfers involving cash, 100,000.00 or more: cash paid in at a counter or
    # agent becomes e-money there; no other wallet transaction has cash in it.
    AmlRule("electronic_transfer_cash", 10_000_000, ("top_up",), cash_only=True),
    # Bill payments of 700,000.00 or more, each: a bill paid from a wallet is the
    # e-wallet's bill paid over the counter (a wallet's money is not traced to its source).
    AmlRule("cash_bill_payment", 70_000_000, ("bill_payment",), cash_only=False),
)
"""The thresholds of the 2011 ministerial regulation, as configuration; docs/reports/aml.md
says which transactions each covers, and why."""


@attrs.frozen
class ThresholdRow:
    """A transaction at or above a rule's threshold."""

    rule: str
    seq: int
    effective_at: datetime
    """When it took effect, in the ledger's time zone."""
    day: date
    category: str
    channel: str | None
    party: str
    counterparty: str | None
    agent: str | None
    amount_minor: int


@attrs.frozen
class StructuringRow:
    """A customer-day on which a rule's transactions each stay below its threshold but
    together reach it."""

    rule: str
    customer: str
    day: date
    pieces: int
    total_minor: int
    largest_minor: int


@attrs.frozen
class DailyRow:
    """One customer's transactions on one business day."""

    customer: str
    day: date
    count: int
    total_minor: int
    cash_minor: int


def _check_rules(rules: object) -> tuple[AmlRule, ...]:
    if isinstance(rules, str | bytes) or not isinstance(rules, Sequence):
        raise InvalidCommand(f"rules is a sequence of AmlRule, not {rules!r}")
    chosen = tuple(rules)
    if not chosen or not all(isinstance(r, AmlRule) for r in chosen):
        raise InvalidCommand(f"rules is a non-empty sequence of AmlRule, not {rules!r}")
    names = [r.name for r in chosen]
    if len(set(names)) != len(names):
        raise InvalidCommand(f"two rules share a name: {names}")
    return chosen


def aml(
    runner: Runner, start: date, end: date, *, rules: Sequence[AmlRule] = DEFAULT_RULES
) -> Report:
    """Threshold transactions, structuring candidates and per-customer daily aggregates
    for the business days ``start`` to ``end`` inclusive, in the ledger's time zone."""
    check_runner(runner, ("statements", "transactions"))
    check_period(start, end)
    chosen = _check_rules(rules)
    with runner.consistent() as log_seq:
        db = runner.db
        zone = runner.timezone
        currency = runner.chart.currency
        start_us, cut_off_us = day_start_us(start, zone), day_end_us(end, zone)
        rows = db.execute(
            "SELECT seq, effective_at, category, channel, party, counterparty, agent, cash,"
            " amount_minor FROM proj_transactions"
            " WHERE effective_at >= ? AND effective_at < ? AND currency = ?"
            " ORDER BY effective_at, seq",
            (start_us, cut_off_us, currency),
        ).fetchall()

        threshold: list[ThresholdRow] = []
        structuring: list[StructuringRow] = []
        for rule in chosen:
            pieces: dict[tuple[date, str], list[int]] = {}
            for seq, eff, category, channel, party, counterparty, agent, cash, amount in rows:
                if not rule.covers(category, bool(cash)):
                    continue
                day = local_day(eff, zone)
                if amount >= rule.threshold_minor:
                    threshold.append(
                        ThresholdRow(
                            rule=rule.name,
                            seq=seq,
                            effective_at=from_us(eff).astimezone(zone),
                            day=day,
                            category=category,
                            channel=channel,
                            party=party,
                            counterparty=counterparty or None,
                            agent=agent,
                            amount_minor=amount,
                        )
                    )
                else:
                    pieces.setdefault((day, party), []).append(amount)
            for (day, party), amounts in sorted(pieces.items()):
                if sum(amounts) >= rule.threshold_minor:
                    structuring.append(
                        StructuringRow(
                            rule.name, party, day, len(amounts), sum(amounts), max(amounts)
                        )
                    )

        wallets = {a.account for a in accounts(db) if is_wallet(runner, a)}
        daily: dict[tuple[str, date], tuple[int, int, int]] = {}
        for _seq, eff, _category, _channel, party, _cp, _agent, cash, amount in rows:
            if party in wallets:
                key = (party, local_day(eff, zone))
                count, total, cash_total = daily.get(key, (0, 0, 0))
                daily[key] = (count + 1, total + amount, cash_total + (amount if cash else 0))

        parameters = {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "timezone": str(zone),
            "start": from_us(start_us).astimezone(zone).isoformat(),
            "cut_off": from_us(cut_off_us).astimezone(zone).isoformat(),
            "rules": "; ".join(r.describe(currency) for r in chosen),
        }
        return Report(
            log_seq=log_seq,
            name="aml",
            title=f"AML thresholds and daily aggregates from {start} to {end} ({zone})",
            parameters=parameters,
            sections=(
                Section("threshold", ThresholdRow, tuple(threshold)),
                Section("structuring", StructuringRow, tuple(structuring)),
                Section(
                    "daily",
                    DailyRow,
                    tuple(DailyRow(c, d, *v) for (c, d), v in sorted(daily.items())),
                ),
            ),
            currency=currency,
        )
