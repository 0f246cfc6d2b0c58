"""The COD and the loan flows at volume: ``satang bench --suite cod|loans``."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ledger.bench.report import Figure, Out, printed
from ledger.book import Ledger
from ledger.commands import Credit, Debit, OpenAccount, PostEntry
from ledger.results import Accepted


def cod_orders(path: Path, orders: int, out: Out = print) -> list[Figure]:
    """The COD flows over ``orders`` orders of one courier and one merchant: deliveries
    and remittances in batches of 1,000, releases (at most ``RELEASES_MAX`` a command),
    one payout of them all, and a release that finds nothing due, whose cost is the scan
    of every order stream (docs/flows/cod.md)."""
    from ledger.commands import CodDelivered, CodReleased, CodRemitted, PayoutMerchant
    from ledger.results import Rejected

    now = [datetime(2026, 3, 2, 2, 0, tzinfo=UTC)]
    figures: list[Figure] = []

    def report(name: str, value: float, unit: str, note: str) -> None:
        figures.append(printed(out, Figure(name, value, unit, note)))

    with Ledger.open(path, clock=lambda: now[0]) as book:
        chart = book.chart
        book.open_chart(cod=True)
        book.submit_many([*chart.open_courier("K1"), *chart.open_cod_merchant("M1")])
        batches = [range(i, min(orders, i + 1_000)) for i in range(0, orders, 1_000)]
        start = time.perf_counter()
        for batch in batches:
            results = book.submit_many(
                CodDelivered(
                    id=f"d{i}",
                    order=f"O{i}",
                    courier="K1",
                    merchant="M1",
                    amount_minor=100_000,
                    commission_minor=5_000,
                    shipping_minor=4_000,
                    courier_fee_minor=1_000,
                )
                for i in batch
            )
            assert all(isinstance(r, Accepted) for r in results)
        elapsed = time.perf_counter() - start
        report(
            "cod: CodDelivered, batches of 1,000",
            orders / elapsed,
            "orders/s",
            f"{orders:,} orders",
        )
        start = time.perf_counter()
        for batch in batches:
            remitted = book.submit(
                CodRemitted(
                    id=f"r{batch.start}",
                    remittance=f"R{batch.start}",
                    courier="K1",
                    orders=[f"O{i}" for i in batch],
                    amount_minor=95_000 * len(batch),
                )
            )
            assert isinstance(remitted, Accepted)
        elapsed = time.perf_counter() - start
        report(
            "cod: CodRemitted, 1,000 orders each",
            orders / elapsed,
            "orders/s",
            f"{len(batches)} remittances",
        )
        now[0] += timedelta(days=7)
        start = time.perf_counter()
        releases = 0
        while isinstance(book.submit(CodReleased(id=f"rel{releases}", as_of=now[0])), Accepted):
            releases += 1
        elapsed = time.perf_counter() - start
        report(
            "cod: CodReleased, per command",
            elapsed / (releases + 1) * 1_000,
            "ms",
            f"{releases} releases of up to 1,000 orders, then one nothing_due",
        )
        start = time.perf_counter()
        assert isinstance(book.submit(PayoutMerchant(id="payout", merchant="M1")), Accepted)
        report(
            "cod: PayoutMerchant of every order",
            (time.perf_counter() - start) * 1_000,
            "ms",
            f"{orders:,} orders paid out in one command",
        )
        start = time.perf_counter()
        assert isinstance(book.submit(CodReleased(id="rel-none", as_of=now[0])), Rejected)
        report(
            "cod: CodReleased with nothing due",
            (time.perf_counter() - start) * 1_000,
            "ms",
            f"a scan of {orders:,} order streams",
        )
    return figures


def loan_book(path: Path, loans: int, out: Out = print) -> list[Figure]:
    """The loan flows over ``loans`` 6-month loans, one per borrower: disbursements in
    batches of 1,000, a month of daily accrual runs (each ``AccrueInterest`` folds every
    active loan's stream, which grows by a day's event per loan), then every first
    installment repaid on its due date in batches of 1,000 (docs/flows/loans.md)."""
    from datetime import date

    from ledger.commands import AccrueInterest, DisburseLoan, RepayLoan
    from ledger.results import Rejected

    now = [datetime(2026, 1, 15, 5, 0, tzinfo=UTC)]  # noon in Bangkok
    figures: list[Figure] = []

    def report(name: str, value: float, unit: str, note: str) -> None:
        figures.append(printed(out, Figure(name, value, unit, note)))

    batches = [range(i, min(loans, i + 1_000)) for i in range(0, loans, 1_000)]
    with Ledger.open(path, clock=lambda: now[0]) as book:
        chart = book.chart
        book.open_chart(loans=True)
        book.submit_many(
            [
                OpenAccount(id="eq", account="equity:capital", type="equity", currency="THB"),
                PostEntry(
                    id="capital",
                    kind="capital",
                    postings=[Debit(chart.loan_bank, 10**15), Credit("equity:capital", 10**15)],
                ),
            ]
        )
        for batch in batches:
            book.submit_many(chart.open_wallet(f"wallet:U{i}") for i in batch)
        start = time.perf_counter()
        for batch in batches:
            results = book.submit_many(
                DisburseLoan(
                    id=f"d{i}",
                    loan=f"L{i}",
                    borrower=f"U{i}",
                    wallet=f"wallet:U{i}",
                    principal_minor=1_000_000,
                    annual_rate_bps=2_800,
                    installments=6,
                    first_due=date(2026, 2, 15),
                    fee_minor=10_000,
                )
                for i in batch
            )
            assert all(isinstance(r, Accepted) for r in results)
        elapsed = time.perf_counter() - start
        report(
            "loans: DisburseLoan, batches of 1,000", loans / elapsed, "loans/s", f"{loans:,} loans"
        )
        runs, start = 0, time.perf_counter()
        for day in range(1, 32):
            now[0] += timedelta(days=1)
            as_of = date(2026, 1, 15) + timedelta(days=day)
            while isinstance(
                book.submit(AccrueInterest(id=f"a{day}-{runs}", as_of=as_of)), Accepted
            ):
                runs += 1
        elapsed = time.perf_counter() - start
        report(
            "loans: AccrueInterest, a day's run",
            elapsed / 31 * 1_000,
            "ms",
            f"{loans:,} loans a day for 31 days, {runs} commands of up to 1,000 loans",
        )
        start = time.perf_counter()
        for batch in batches:
            results = book.submit_many(
                RepayLoan(id=f"r{i}", loan=f"L{i}", amount_minor=180_539) for i in batch
            )
            assert all(isinstance(r, Accepted) for r in results)
        elapsed = time.perf_counter() - start
        report(
            "loans: RepayLoan, batches of 1,000",
            loans / elapsed,
            "repayments/s",
            f"{loans:,} first installments, after 31 days of accrual",
        )
        start = time.perf_counter()
        statuses = book.loans()
        report(
            "loans: Ledger.loans(), the portfolio view",
            (time.perf_counter() - start) * 1_000,
            "ms",
            f"{len(statuses):,} loans folded from their streams",
        )
        start = time.perf_counter()
        assert isinstance(book.submit(AccrueInterest(id="none", as_of=date(2026, 2, 15))), Rejected)
        report(
            "loans: AccrueInterest with nothing due",
            (time.perf_counter() - start) * 1_000,
            "ms",
            f"a fold of {loans:,} loan streams",
        )
    return figures
