"""Benchmarks that print figures (``satang bench``); no test asserts a time.

The workload is a seeded wallet mix expressed as journal entries: top-ups from the
safeguarded bank account, merchant payments with a fee leg, P2P transfers and cash-outs,
over wallets with ``no_overdraft`` (overdrafts are rejected, not recorded). Every figure
is for a real file with the durability named, on the machine printed in the header.
"""

from __future__ import annotations

import os
import platform
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path

import attrs

from ledger.audit import verify
from ledger.book import Ledger
from ledger.commands import Command, Credit, Debit, OpenAccount, PostEntry
from ledger.results import Accepted
from ledger.store.sqlite import Durability
from projections import balances as balance_model


@attrs.frozen
class Figure:
    name: str
    value: float
    unit: str
    note: str = ""


def machine() -> list[str]:
    """What the figures were measured on: CPU, cores, Python, SQLite, packages."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = ", ".join(
        f"{name} {_version(name)}" for name in ("satang", "msgspec", "attrs", "sqlite-utils")
    )
    return [
        f"machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {versions}",
    ]


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


OPENING_BALANCE_MINOR = 2_000_000
"""Each wallet starts with 20,000.00 THB, topped up before the clock starts, so nearly
every command of the mix is accepted and written (a rejection writes nothing, so a mix
of rejections would flatter the figures)."""


def setup_commands(wallets: int, merchants: int) -> list[Command]:
    """The chart the workload posts to, and each wallet's opening top-up."""
    opens: list[Command] = [
        OpenAccount(id="open-bank", account="bank:trust", type="asset", currency="THB"),
        OpenAccount(id="open-fees", account="income:fees", type="income", currency="THB"),
    ]
    opens += [
        OpenAccount(
            id=f"open-w{i}",
            account=f"wallet:U{i}",
            type="liability",
            currency="THB",
            no_overdraft=True,
        )
        for i in range(wallets)
    ]
    opens += [
        OpenAccount(
            id=f"open-m{i}", account=f"merchant:M{i}:payable", type="liability", currency="THB"
        )
        for i in range(merchants)
    ]
    opens += [
        PostEntry(
            id=f"fund-w{i}",
            kind="top_up",
            postings=[
                Debit("bank:trust", OPENING_BALANCE_MINOR),
                Credit(f"wallet:U{i}", OPENING_BALANCE_MINOR),
            ],
        )
        for i in range(wallets)
    ]
    return opens


def wallet_mix(seed: int, wallets: int, merchants: int, prefix: str = "c") -> Iterator[Command]:
    """An endless seeded stream: 40% top-up, 35% payment with fee, 15% P2P, 10% cash-out."""
    rng = random.Random(seed)
    n = 0
    while True:
        n += 1
        cid = f"{prefix}{n}"
        roll = rng.random()
        u = f"wallet:U{rng.randrange(wallets)}"
        if roll < 0.40:
            amount = rng.randrange(10_000, 500_000)
            legs: list[Debit | Credit] = [Debit("bank:trust", amount), Credit(u, amount)]
            kind = "top_up"
        elif roll < 0.75:
            amount = rng.randrange(1_000, 200_000)
            fee = amount * 15 // 1000 or 1
            m = f"merchant:M{rng.randrange(merchants)}:payable"
            legs = [Debit(u, amount), Credit(m, amount - fee), Credit("income:fees", fee)]
            kind = "payment"
        elif roll < 0.90:
            amount = rng.randrange(100, 100_000)
            v = f"wallet:U{rng.randrange(wallets)}"
            if v == u:
                continue
            legs = [Debit(u, amount), Credit(v, amount)]
            kind = "p2p"
        else:
            amount = rng.randrange(10_000, 300_000)
            legs = [Debit(u, amount), Credit("bank:trust", amount)]
            kind = "withdrawal"
        yield PostEntry(id=cid, kind=kind, postings=legs)


def _throughput(
    path: Path,
    batch: int,
    total: int,
    durability: Durability,
    wallets: int,
    merchants: int,
) -> tuple[float, float]:
    """Commands/s submitted and accepted commands/s (each written, one entry apiece) for
    ``total`` commands in batches of ``batch``."""
    with Ledger.open(path, durability=durability) as book:
        opens = setup_commands(wallets, merchants)
        for i in range(0, len(opens), 1_000):
            book.submit_many(opens[i : i + 1_000])
        stream = wallet_mix(batch, wallets, merchants)
        commands = [next(stream) for _ in range(total)]
        accepted = 0
        start = time.perf_counter()
        for i in range(0, total, batch):
            results = book.submit_many(commands[i : i + batch])
            accepted += sum(isinstance(r, Accepted) for r in results)
        elapsed = time.perf_counter() - start
    return total / elapsed, accepted / elapsed


def _printed(out: Callable[[str], None], f: Figure) -> Figure:
    value = f"{f.value:>12,.2f}" if f.value < 100 else f"{f.value:>12,.0f}"
    out(f"{f.name:<45} {value} {f.unit}  ({f.note})")
    return f


def cod_orders(path: Path, orders: int, out: Callable[[str], None] = print) -> list[Figure]:
    """The COD flows over ``orders`` orders of one courier and one merchant: deliveries
    and remittances in batches of 1,000, releases (at most ``RELEASES_MAX`` a command),
    one payout of them all, and a release that finds nothing due, whose cost is the scan
    of every order stream (docs/flows/cod.md)."""
    from ledger.commands import CodDelivered, CodReleased, CodRemitted, PayoutMerchant
    from ledger.results import Rejected

    now = [datetime(2026, 3, 2, 2, 0, tzinfo=UTC)]
    figures: list[Figure] = []

    def report(name: str, value: float, unit: str, note: str) -> None:
        figures.append(_printed(out, Figure(name, value, unit, note)))

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


def loan_book(path: Path, loans: int, out: Callable[[str], None] = print) -> list[Figure]:
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
        figures.append(_printed(out, Figure(name, value, unit, note)))

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


def read_models(path: Path, commands: int, out: Callable[[str], None] = print) -> list[Figure]:
    """The read side over a wallet-mix log of ``commands`` entries (written with
    durability normal, batches of 1,000): every projection folded from seq 1 into the
    ledger's own file, a catch-up of 1,000 new entries, a safeguarding report, the trial
    balance as of a day, and every statement page (100 lines) of the busiest account."""
    from projections.reports.safeguarding import safeguarding
    from projections.runner import Runner
    from projections.statements import statement, trial_balance

    wallets, merchants = 10_000, 100
    figures: list[Figure] = []
    with Ledger.open(path, durability="normal") as book:
        opens = setup_commands(wallets, merchants)
        for i in range(0, len(opens), 1_000):
            book.submit_many(opens[i : i + 1_000])
        stream = wallet_mix(3, wallets, merchants, prefix="r")
        for _ in range(commands // 1_000):
            book.submit_many([next(stream) for _ in range(1_000)])
        events = book.head()[0]
        with Runner(book) as runner:
            start = time.perf_counter()
            runner.catch_up()
            fold_rate = events / (time.perf_counter() - start)
            figures.append(
                _printed(
                    out,
                    Figure(
                        "reads: fold every projection",
                        fold_rate,
                        "events/s",
                        f"{events:,} events from seq 1, into the ledger file",
                    ),
                )
            )
            book.submit_many([next(stream) for _ in range(1_000)])
            start = time.perf_counter()
            folded = runner.catch_up()
            rate = folded / (time.perf_counter() - start)
            figures.append(
                _printed(
                    out,
                    Figure(
                        "reads: catch up 1,000 new entries", rate, "events/s", f"{folded:,} events"
                    ),
                )
            )
            day = book.today()
            for name, call in (
                ("reads: safeguarding report", lambda: safeguarding(runner, day)),
                (
                    "reads: trial balance as of a day",
                    lambda: trial_balance(runner.db, day, runner.timezone),
                ),
            ):
                start = time.perf_counter()
                call()
                ms = (time.perf_counter() - start) * 1_000
                figures.append(
                    _printed(out, Figure(name, ms, "ms", f"{wallets + merchants + 2:,} accounts"))
                )
            (busiest, lines), *_ = runner.db.execute(
                "SELECT account, COUNT(*) n FROM proj_postings"
                " GROUP BY account ORDER BY n DESC LIMIT 1"
            ).fetchall()
            for order in ("recorded", "effective"):
                took = []
                after = None
                while True:
                    start = time.perf_counter()
                    page = statement(runner.db, busiest, order=order, after=after)
                    took.append((time.perf_counter() - start) * 1_000)
                    after = page.next_after
                    if after is None:
                        break
                took.sort()
                p99 = took[min(len(took) - 1, int(len(took) * 0.99))]
                figures.append(
                    _printed(
                        out,
                        Figure(
                            f"reads: statement page of 100, {order} order",
                            took[len(took) // 2],
                            "ms p50",
                            f"p99 {p99:.2f} ms, {busiest}: {lines:,} lines, {len(took)} pages",
                        ),
                    )
                )
    return figures


def run(
    out: Callable[[str], None] = print,
    *,
    quick: bool = False,
    directory: str | None = None,
    suites: tuple[str, ...] = ("wallet", "cod", "loans", "reads"),
) -> list[Figure]:
    """Run the benchmarks (the wallet mix, the COD and the loan flows, or those in
    ``suites``) and
    print each figure as it is measured."""
    for line in machine():
        out(line)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        if "wallet" in suites:
            figures += _wallet_suite(out, quick, Path(tmp))
        if "cod" in suites:
            orders = 2_000 if quick else 20_000
            out(f"workload: {orders:,} COD orders, one courier, one merchant")
            figures += cod_orders(Path(tmp) / "bench-cod.db", orders, out)
        if "loans" in suites:
            count = 500 if quick else 2_000
            out(f"workload: {count:,} loans of 10,000.00 THB over 6 months, one per borrower")
            figures += loan_book(Path(tmp) / "bench-loans.db", count, out)
        if "reads" in suites:
            commands = 20_000 if quick else 100_000
            out(f"workload: the read models over {commands:,} wallet-mix entries")
            figures += read_models(Path(tmp) / "bench-reads.db", commands, out)
    return figures


def _wallet_suite(out: Callable[[str], None], quick: bool, tmp: Path) -> list[Figure]:
    wallets, merchants = (1_000, 20) if quick else (10_000, 100)
    plan: list[tuple[int, int, Durability]] = [
        (1, 300 if quick else 2_000, "full"),
        (10, 2_000 if quick else 10_000, "full"),
        (100, 5_000 if quick else 50_000, "full"),
        (1_000, 10_000 if quick else 100_000, "full"),
        (8_190, 16_380 if quick else 163_800, "full"),
        (1_000, 10_000 if quick else 100_000, "normal"),
    ]
    out(f"workload: {wallets:,} wallets, {merchants} merchants, seeded wallet mix")
    figures: list[Figure] = []
    for batch, total, durability in plan:
        path = Path(tmp) / f"bench-{batch}-{durability}.db"
        rate, accepted = _throughput(path, batch, total, durability, wallets, merchants)
        f = Figure(
            f"submit_many batch={batch} durability={durability}",
            accepted,
            "accepted/s",
            f"{rate:,.0f} commands/s submitted, {total:,} commands, {accepted / rate:.0%} accepted",
        )
        figures.append(_printed(out, f))
    replay_path = Path(tmp) / "bench-8190-full.db"
    with Ledger.open(replay_path) as book:
        events = book.head()[0]
        start = time.perf_counter()
        balance_model.rebuild(book.events())
        rebuild_rate = events / (time.perf_counter() - start)
        start = time.perf_counter()
        report = verify(book)
        verify_rate = events / (time.perf_counter() - start)
    for name, rate in (("replay: rebuild balances", rebuild_rate), ("verify", verify_rate)):
        f = Figure(name, rate, "events/s", f"{events:,} events, findings: {len(report.findings)}")
        figures.append(_printed(out, f))
    with Ledger.open(replay_path) as book:
        figures += [
            _printed(out, f) for f in balance_latency(book, wallets, 500 if quick else 5_000)
        ]
    return figures


def _percentiles(took: list[float]) -> tuple[float, float, float]:
    took = sorted(took)
    return took[len(took) // 2], took[min(len(took) - 1, int(len(took) * 0.99))], took[-1]


def balance_latency(book: Ledger, wallets: int, samples: int, seed: int = 7) -> list[Figure]:
    """p50 (the value), p99 and max of ``balance()`` of a random wallet: now, after a
    random log position, and as of a random effective time, ``samples`` calls each."""
    rng = random.Random(seed)
    head = book.head()[0]
    first = next(book.events()).effective_at
    last = next(book.events(after=head - 1)).effective_at
    span = (last - first).total_seconds()
    kinds: dict[str, Callable[[str], object]] = {
        "balance()": book.balance,
        "balance(as_of=seq)": lambda a: book.balance(a, as_of=rng.randint(1, head)),
        "balance(as_of=time)": lambda a: book.balance(
            a, as_of=first + timedelta(seconds=rng.uniform(0, span))
        ),
    }
    figures = []
    for name, call in kinds.items():
        took = []
        for _ in range(samples):
            account = f"wallet:U{rng.randrange(wallets)}"
            start = time.perf_counter()
            call(account)
            took.append((time.perf_counter() - start) * 1_000_000)
        p50, p99, most = _percentiles(took)
        figures.append(
            Figure(
                f"latency: {name}",
                p50,
                "us p50",
                f"p99 {p99:,.0f} us, max {most:,.0f} us, {samples:,} calls, {head:,} events",
            )
        )
    return figures
