"""E-money safeguarding: what the issuer owes its wallet holders at a day's end, and the
cash that backs it.

Every satang in a wallet is owed to its holder and must be backed by cash in the
segregated trust account, or by cash on its way there (in transit): what an agent
collected and still owes, or what an account the chart declares in transit holds (a card
acquirer's settlement receivable), as ``Chart.in_transit`` has it. The report states the
e-money outstanding by wallet type, sets the trust and in-transit cash against it, and
makes a shortfall (and an equity ratio under the minimum, when equity is given) a
finding, so ``satang report safeguarding`` exits non-zero on it.
docs/reports/safeguarding.md defines every column.
"""

from __future__ import annotations

from datetime import date

import attrs

from ledger.errors import InvalidCommand
from ledger.money import AMOUNT_MAX_MINOR, format_amount
from ledger.times import from_us, to_us
from projections.reports.base import Report, Section, check_day, check_runner
from projections.runner import Runner
from projections.statements import AccountRow, accounts, balances_as_of, day_end_us

WALLET_TYPES = ("consumer", "merchant", "agent")
"""The wallet types ``Chart.open_wallet`` records, in the order reports list them."""
UNCLASSIFIED = "unclassified"
"""The wallet type of a wallet opened without ``wallet_type`` in its metadata."""
MIN_EQUITY_BPS = 800
"""Equity of at least 8% of e-money outstanding: the rule that existed before 2018
(Bangkok Post, 2017); a default, never a constant of the law."""


@attrs.frozen
class OutstandingRow:
    """E-money outstanding in wallets of one type (or ``total``) at the cut-off."""

    wallet_type: str
    wallets: int
    """Wallets of this type opened by the cut-off (or holding a backdated entry before)."""
    balance_minor: int
    """The sum of their posted balances: what the issuer owes their holders."""


@attrs.frozen
class OtherCurrencyRow:
    """E-money in wallets of a currency other than the chart's at the cut-off: owed to
    their holders too, but outside the check, whose trust account holds the chart's
    currency; each such float needs its own safeguarded account."""

    currency: str
    wallets: int
    balance_minor: int
    """In that currency's minor units."""


@attrs.frozen
class CheckRow:
    """Safeguarded cash against e-money outstanding at the cut-off."""

    trust_minor: int
    in_transit_minor: int
    safeguarded_minor: int
    emoney_minor: int
    surplus_minor: int
    shortfall_minor: int
    equity_minor: int | None
    equity_ratio_bps: int | None
    ok: bool


def is_wallet(runner: Runner, account: AccountRow) -> bool:
    """What the reports count as a customer wallet: a liability in the chart's currency
    that may not go below zero and is none of the COD or loan flows' own accounts."""
    chart = runner.chart
    return (
        account.type == "liability"
        and account.no_overdraft
        and account.currency == chart.currency
        and not chart.flow_account(account.account)
    )


def _foreign_wallet(runner: Runner, account: AccountRow) -> bool:
    """A wallet (as :func:`is_wallet` has it) in another currency than the chart's."""
    return (
        account.type == "liability"
        and account.no_overdraft
        and account.currency != runner.chart.currency
        and not runner.chart.flow_account(account.account)
    )


def wallet_type(account: AccountRow) -> str:
    """The wallet type an account was opened with (its metadata), or ``UNCLASSIFIED``."""
    return account.wallet_type if account.wallet_type is not None else UNCLASSIFIED


def type_order(types: set[str]) -> list[str]:
    """The three chart types always, then any other type found by name, unclassified last."""
    others = sorted(t for t in types if t not in WALLET_TYPES and t != UNCLASSIFIED)
    return [*WALLET_TYPES, *others, *([UNCLASSIFIED] if UNCLASSIFIED in types else [])]


def safeguarding(
    runner: Runner,
    day: date,
    *,
    equity_minor: int | None = None,
    min_equity_bps: int = MIN_EQUITY_BPS,
) -> Report:
    """E-money outstanding by wallet type at the end of ``day`` in the ledger's time zone
    (every posting effective before the next day starts), and the trust and in-transit
    cash against it. A shortfall, or equity under ``min_equity_bps`` of the e-money when
    ``equity_minor`` is given, is a finding."""
    check_runner(runner, ("statements",))
    check_day(day)
    if equity_minor is not None and (
        type(equity_minor) is not int or not 0 <= equity_minor <= AMOUNT_MAX_MINOR
    ):
        raise InvalidCommand(
            f"equity_minor is an int of minor units in 0..2**63-1 or None, not {equity_minor!r}"
        )
    if type(min_equity_bps) is not int or not 0 <= min_equity_bps <= 1_000_000:
        raise InvalidCommand(
            f"min_equity_bps is an int of basis points in 0..1000000, not {min_equity_bps!r}"
        )
    with runner.consistent() as log_seq:
        chart = runner.chart
        zone = runner.timezone
        currency = chart.currency
        cut_off_us = day_end_us(day, zone)
        balances = balances_as_of(runner, day, zone)

        counts: dict[str, int] = {}
        sums: dict[str, int] = {}
        in_transit_minor = 0

        def balance_minor(account: str) -> int:
            found = balances.get(account)  # an account not opened by the cut-off holds nothing
            return found.balance if found is not None else 0

        foreign: dict[str, tuple[int, int]] = {}
        for account in accounts(runner.db):
            if is_wallet(runner, account):
                found = balances.get(account.account)
                reached = found is not None and bool(found.debits_posted or found.credits_posted)
                if to_us(account.opened_at) >= cut_off_us and not reached:
                    continue  # opened later: not there yet (a backdated entry would count it)
                kind = wallet_type(account)
                counts[kind] = counts.get(kind, 0) + 1
                sums[kind] = sums.get(kind, 0) + balance_minor(account.account)
            elif chart.in_transit(account.account, account.type, account.currency):
                in_transit_minor += balance_minor(account.account)
            elif _foreign_wallet(runner, account) and account.account in balances:
                n, total = foreign.get(account.currency, (0, 0))
                foreign[account.currency] = (n + 1, total + balance_minor(account.account))
        trust = balances.get(chart.bank_trust)
        trust_minor = trust.balance if trust is not None and trust.currency == currency else 0

        outstanding = [
            OutstandingRow(kind, counts.get(kind, 0), sums.get(kind, 0))
            for kind in type_order(set(counts))
        ]
        emoney_minor = sum(r.balance_minor for r in outstanding)
        outstanding.append(
            OutstandingRow("total", sum(r.wallets for r in outstanding), emoney_minor)
        )

        safeguarded_minor = trust_minor + in_transit_minor
        shortfall_minor = max(0, emoney_minor - safeguarded_minor)
        ratio_bps = None
        if equity_minor is not None and emoney_minor > 0:
            ratio_bps = equity_minor * 10_000 // emoney_minor

        def money(amount_minor: int) -> str:
            return f"{format_amount(amount_minor, currency)} {currency}"

        findings = []
        if shortfall_minor:
            findings.append(
                f"SAFEGUARDING SHORTFALL on {day}: e-money outstanding {money(emoney_minor)}"
                f" exceeds safeguarded funds {money(safeguarded_minor)} (trust"
                f" {money(trust_minor)} + in transit {money(in_transit_minor)}) by"
                f" {money(shortfall_minor)}"
            )
        if ratio_bps is not None and equity_minor is not None and ratio_bps < min_equity_bps:
            findings.append(
                f"EQUITY BELOW MINIMUM on {day}: equity {money(equity_minor)} is {ratio_bps} bps"
                f" of e-money outstanding {money(emoney_minor)}; the minimum is"
                f" {min_equity_bps} bps"
            )
        check = CheckRow(
            trust_minor=trust_minor,
            in_transit_minor=in_transit_minor,
            safeguarded_minor=safeguarded_minor,
            emoney_minor=emoney_minor,
            surplus_minor=max(0, safeguarded_minor - emoney_minor),
            shortfall_minor=shortfall_minor,
            equity_minor=equity_minor,
            equity_ratio_bps=ratio_bps,
            ok=not findings,
        )
        parameters = {
            "date": day.isoformat(),
            "timezone": str(zone),
            "cut_off": from_us(cut_off_us).astimezone(zone).isoformat(),
            "equity_minor": "-" if equity_minor is None else str(equity_minor),
            "min_equity_bps": str(min_equity_bps),
        }
        return Report(
            log_seq=log_seq,
            name="safeguarding",
            title=f"E-money safeguarding at the end of {day} ({zone})",
            parameters=parameters,
            sections=(
                Section("outstanding", OutstandingRow, tuple(outstanding)),
                Section("check", CheckRow, (check,)),
                Section(
                    "other_currencies",
                    OtherCurrencyRow,
                    tuple(OtherCurrencyRow(c, *foreign[c]) for c in sorted(foreign)),
                ),
            ),
            currency=currency,
            findings=tuple(findings),
        )
