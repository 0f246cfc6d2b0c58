"""E-money activity for a period: the count and value of transactions by type (top-ups by
channel), and the wallets — total, active, by KYC tier and by wallet type.

These are the figures an e-money issuer's periodic return asks for. The period is whole
business days in the ledger's time zone, both ends included; a transaction counts in
the period its effective time falls in, a wallet counts if it was opened by the period's
end. docs/reports/activity.md defines every column.
"""

from __future__ import annotations

from datetime import date

import attrs

from ledger.commands import TOP_UP_CHANNELS
from ledger.times import from_us
from projections.reports.base import Report, Section, check_period, check_runner
from projections.reports.safeguarding import (
    is_wallet,
    type_order,
    wallet_type,
)
from projections.runner import Runner
from projections.statements import accounts, day_end_us, day_start_us
from projections.transactions import CATEGORIES

NO_TIER = "none"
"""The tier of a wallet with no tier assigned by the period's end."""


@attrs.frozen
class TransactionsRow:
    """Transactions of one category (for top-ups also: of one channel) in the period."""

    category: str
    channel: str | None
    """None on a category's own row (all its channels); a top-up channel on the rows
    below the top-up row."""
    count: int
    amount_minor: int
    fee_minor: int


@attrs.frozen
class AccountsRow:
    """Wallets opened by the period's end, of all of them or of one tier or wallet type."""

    dimension: str
    """``all``, ``tier`` or ``wallet_type``."""
    value: str | None
    """The tier or wallet type; None on the ``all`` row."""
    wallets: int
    active: int
    """Of those, wallets that were the party of at least one transaction in the period."""


def activity(runner: Runner, start: date, end: date) -> Report:
    """Transactions by category and top-up channel, and wallets total, active, by tier
    and by wallet type, for the business days ``start`` to ``end`` inclusive."""
    check_runner(runner, ("statements", "transactions"))
    check_period(start, end)
    with runner.consistent() as log_seq:
        db = runner.db
        zone = runner.timezone
        currency = runner.chart.currency
        start_us, cut_off_us = day_start_us(start, zone), day_end_us(end, zone)

        found: dict[tuple[str, str | None], tuple[int, int, int]] = {}
        for category, channel, count, amount, fee in db.execute(
            "SELECT category, channel, COUNT(*), SUM(amount_minor), SUM(fee_minor)"
            " FROM proj_transactions WHERE effective_at >= ? AND effective_at < ? AND currency = ?"
            " GROUP BY category, channel",
            (start_us, cut_off_us, currency),
        ):
            keys_ = [(category, None)]
            if category == "top_up":
                keys_.append((category, channel))  # a top-up counts in its channel's row too
            for key in keys_:
                n, total, fees = found.get(key, (0, 0, 0))
                found[key] = (n + count, total + amount, fees + fee)
        categories = [*CATEGORIES, *sorted({c for c, _ in found} - set(CATEGORIES))]
        channels = [*TOP_UP_CHANNELS, *sorted({ch for _, ch in found if ch} - set(TOP_UP_CHANNELS))]
        keys: list[tuple[str, str | None]] = []
        for category in categories:
            keys.append((category, None))
            if category == "top_up":
                keys += [(category, channel) for channel in channels]
        transactions = tuple(TransactionsRow(k[0], k[1], *found.get(k, (0, 0, 0))) for k in keys)

        parties = {
            party
            for (party,) in db.execute(
                "SELECT DISTINCT party FROM proj_transactions"
                " WHERE effective_at >= ? AND effective_at < ? AND currency = ?",
                (start_us, cut_off_us, currency),
            )
        }
        tiers: dict[str, str] = {}
        for account, tier in db.execute(
            "SELECT account, tier FROM proj_account_tiers WHERE effective_at < ? ORDER BY seq",
            (cut_off_us,),
        ):
            tiers[account] = tier
        cut_off = from_us(cut_off_us)
        wallets = [a for a in accounts(db) if is_wallet(runner, a) and a.opened_at < cut_off]

        def row(dimension: str, value: str | None, of: list[str]) -> AccountsRow:
            return AccountsRow(dimension, value, len(of), sum(1 for w in of if w in parties))

        by_tier: dict[str, list[str]] = {}
        by_type: dict[str, list[str]] = {}
        for a in wallets:
            by_tier.setdefault(tiers.get(a.account, NO_TIER), []).append(a.account)
            by_type.setdefault(wallet_type(a), []).append(a.account)
        tier_names = [*sorted(set(by_tier) - {NO_TIER}), NO_TIER]
        account_rows = (
            row("all", None, [a.account for a in wallets]),
            *(row("tier", t, by_tier.get(t, [])) for t in tier_names),
            *(row("wallet_type", t, by_type.get(t, [])) for t in type_order(set(by_type))),
        )
        parameters = {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "timezone": str(zone),
            "start": from_us(start_us).astimezone(zone).isoformat(),
            "cut_off": from_us(cut_off_us).astimezone(zone).isoformat(),
        }
        return Report(
            log_seq=log_seq,
            name="activity",
            title=f"E-money activity from {start} to {end} ({zone})",
            parameters=parameters,
            sections=(
                Section("transactions", TransactionsRow, transactions),
                Section("accounts", AccountsRow, account_rows),
            ),
            currency=currency,
        )
