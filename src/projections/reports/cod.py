"""COD outstanding as of a day: the cash each courier still holds, how old it is, and what
the platform owes each merchant.

Couriers remit the cash they collect within days (7 to 30, DOMAIN.md); cash that stays
out longer is the platform's largest operational risk in cash on delivery, so it is
aged by the day each order was delivered. Each courier's COD receivable must equal the
cash of its delivered, unremitted orders to the satang: a remittance credits the
receivable with every order's whole cash, and what it came short of sits apart in the
courier's dispute receivable (docs/flows/cod.md). A difference is a finding. Merchants'
pending and available payables are checked the same way against their orders' shares.

The cut-off is the end of the business day in the ledger's time zone: an order step
counts if its effective time is before the next day starts there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date

import attrs

from ledger.chart import party_of
from ledger.money import format_amount
from projections.cod import OrderRow, order_rows
from projections.reports.base import Report, Section, check_day, check_runner
from projections.runner import Runner
from projections.statements import balances_as_of, day_end_us, local_day

NAME = "cod"
AGE_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7),
    ("8-14", 8, 14),
    ("15-30", 15, 30),
    ("over 30", 31, None),
)
"""Ages of delivered, unremitted cash in days (the report day less the delivery day)."""


@attrs.frozen
class CourierRow:
    """One courier's cash at the door and its receivables at the day's end."""

    courier: str
    orders: int
    """Orders delivered by the day and not remitted by its end."""
    cash_minor: int
    oldest_days: int | None
    age_0_7_minor: int
    age_8_14_minor: int
    age_15_30_minor: int
    age_over_30_minor: int
    receivable_minor: int
    """The balance of the courier's COD receivable."""
    dispute_minor: int
    """The balance of its dispute receivable: remittances that came short, unresolved."""
    difference_minor: int
    """receivable - cash: 0 in a sound ledger; anything else is a finding."""


@attrs.frozen
class OpenOrderRow:
    """One order delivered and not remitted by the day's end."""

    courier: str
    order: str
    merchant: str
    delivered_on: date
    age_days: int
    amount_minor: int
    returned: bool
    """Returned by the buyer by then: the courier still owes the cash it collected."""


@attrs.frozen
class MerchantRow:
    """One merchant's COD payables and receivable at the day's end."""

    merchant: str
    pending_minor: int
    available_minor: int
    owed_minor: int
    net_minor: int
    """available - owed: what its next payout would pay (negative: it still owes)."""
    pending_orders: int
    available_orders: int


def cod_outstanding(runner: Runner, day: date) -> Report:
    """COD outstanding as of the end of business day ``day`` in the ledger's time zone:
    sections ``couriers``, ``open_orders`` and ``merchants`` (docs/reports/cod.md).
    Raises InvalidCommand unless ``day`` is a ``datetime.date``."""
    check_runner(runner, ("statements", "cod_orders"))
    check_day(day)
    with runner.consistent() as log_seq:
        chart, zone = runner.chart, runner.timezone
        cut_us = day_end_us(day, zone)

        def by_then(at_us: int | None) -> bool:
            return at_us is not None and at_us < cut_us

        delivered = [o for o in order_rows(runner.db) if by_then(o.delivered_at_us)]
        open_orders = sorted(
            (o for o in delivered if not by_then(o.remitted_at_us)),
            key=lambda o: (o.courier, o.delivered_at_us, o.order),
        )
        opened = [
            account
            for (account,) in runner.db.execute(
                "SELECT account FROM proj_accounts WHERE opened_at < ? ORDER BY account", (cut_us,)
            )
        ]
        balances = {a: b.balance for a, b in balances_as_of(runner, day, zone).items()}
        couriers = _parties(
            opened, chart.courier_cod_receivable, "courier", (o.courier for o in delivered)
        )
        merchants = _parties(
            opened, chart.merchant_pending_payable, "merchant", (o.merchant for o in delivered)
        )

        def age(o: OrderRow) -> int:
            assert o.delivered_at_us is not None
            return (day - local_day(o.delivered_at_us, zone)).days

        currency = chart.currency
        findings: list[str] = []
        open_by_courier = _group(open_orders, lambda o: o.courier)
        delivered_by_merchant = _group(delivered, lambda o: o.merchant)
        courier_rows = []
        for courier in couriers:
            mine = open_by_courier.get(courier, [])
            ages = [age(o) for o in mine]
            by_bucket = [
                sum(
                    o.amount_minor
                    for o, a in zip(mine, ages, strict=True)
                    if a >= first and (last is None or a <= last)
                )
                for _, first, last in AGE_BUCKETS
            ]
            cash = sum(o.amount_minor for o in mine)
            receivable = balances.get(chart.cod_receivable(courier), 0)
            row = CourierRow(
                courier=courier,
                orders=len(mine),
                cash_minor=cash,
                oldest_days=max(ages) if ages else None,
                age_0_7_minor=by_bucket[0],
                age_8_14_minor=by_bucket[1],
                age_15_30_minor=by_bucket[2],
                age_over_30_minor=by_bucket[3],
                receivable_minor=receivable,
                dispute_minor=balances.get(chart.dispute_receivable(courier), 0),
                difference_minor=receivable - cash,
            )
            courier_rows.append(row)
            if row.difference_minor:
                findings.append(
                    f"courier {courier}: {chart.cod_receivable(courier)} holds "
                    f"{format_amount(receivable, currency)} but its {len(mine)} open order(s) "
                    f"hold {format_amount(cash, currency)} of cash"
                )
        merchant_rows = []
        for merchant in merchants:
            mine = [
                o for o in delivered_by_merchant.get(merchant, []) if not by_then(o.returned_at_us)
            ]
            pending = [o for o in mine if not by_then(o.released_at_us)]
            available = [
                o for o in mine if by_then(o.released_at_us) and not by_then(o.paid_out_at_us)
            ]
            row_ = MerchantRow(
                merchant=merchant,
                pending_minor=balances.get(chart.pending_payable(merchant), 0),
                available_minor=balances.get(chart.available_payable(merchant), 0),
                owed_minor=balances.get(chart.owed_by(merchant), 0),
                net_minor=balances.get(chart.available_payable(merchant), 0)
                - balances.get(chart.owed_by(merchant), 0),
                pending_orders=len(pending),
                available_orders=len(available),
            )
            merchant_rows.append(row_)
            for what, booked, orders in (
                (chart.pending_payable(merchant), row_.pending_minor, pending),
                (chart.available_payable(merchant), row_.available_minor, available),
            ):
                shares = sum(o.merchant_share_minor for o in orders)
                if booked != shares:
                    findings.append(
                        f"merchant {merchant}: {what} holds {format_amount(booked, currency)}"
                        f" but its {len(orders)} order(s) there come to"
                        f" {format_amount(shares, currency)}"
                    )
        return Report(
            log_seq=log_seq,
            name=NAME,
            title=f"COD outstanding as of the end of {day.isoformat()}",
            parameters={
                "date": day.isoformat(),
                "timezone": str(zone),
            },
            sections=(
                Section("couriers", CourierRow, tuple(courier_rows)),
                Section(
                    "open_orders",
                    OpenOrderRow,
                    tuple(
                        OpenOrderRow(
                            courier=o.courier,
                            order=o.order,
                            merchant=o.merchant,
                            delivered_on=local_day(o.delivered_at_us, zone),
                            age_days=age(o),
                            amount_minor=o.amount_minor,
                            returned=by_then(o.returned_at_us),
                        )
                        for o in open_orders
                        if o.delivered_at_us is not None
                    ),
                ),
                Section("merchants", MerchantRow, tuple(merchant_rows)),
            ),
            currency=currency,
            findings=tuple(findings),
        )


def _group(orders: Iterable[OrderRow], key: Callable[[OrderRow], str]) -> dict[str, list[OrderRow]]:
    """``orders`` by ``key``, each list in the order given."""
    groups: dict[str, list[OrderRow]] = {}
    for o in orders:
        groups.setdefault(key(o), []).append(o)
    return groups


def _parties(
    accounts: Iterable[str], template: str, placeholder: str, named: Iterable[str]
) -> list[str]:
    """The parties with an account under ``template`` among ``accounts``, and those
    ``named`` by their orders, sorted."""
    found = {p for p in (party_of(template, placeholder, a) for a in accounts) if p is not None}
    return sorted(found | {p for p in named if p})
