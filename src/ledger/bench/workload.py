"""The standard wallet mix, expressed with Satang's own flow commands.

10,000 wallets and 100 merchants by default. Before the clock starts, every wallet is
topped up with 10,000.00 THB, the lending and COD banks get their capital, and the
couriers and COD merchants are opened. Then an endless, seeded stream:

* 30% ``TopUp`` by bank transfer (``channel="bank"``);
* 45% ``Pay`` a merchant, with the merchant's 1.5% fee as a fee leg;
* 10% ``Transfer`` to another wallet (P2P);
* 10% COD settlements: a courier's ``CodDelivered`` (cash taken at the door) and, later,
  that order's ``CodRemitted`` (the cash settled to the platform), 5% each;
* 5% ``DisburseLoan`` into a wallet, one monthly installment.

Amounts are drawn so that some payments and transfers overdraw their wallet: those are
rejected (``insufficient_funds``) and nothing of them is recorded, as in production. A
seed gives the same stream on every machine.

With ``personal=True`` every wallet belongs to a customer (subject ``C<i>``) with a name
and a phone number in its metadata, and every payment carries a reference and every
transfer a memo naming the customer: the same mix with its personal data sealed
(docs/personal-data.md), for a ledger opened with :data:`BENCH_MASTER_KEY`.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator
from datetime import date

from ledger.book import Ledger
from ledger.chart import Chart
from ledger.commands import (
    CodDelivered,
    CodRemitted,
    Command,
    Credit,
    Debit,
    DisburseLoan,
    OpenAccount,
    Pay,
    PostEntry,
    TopUp,
    Transfer,
)
from ledger.demo import months_before
from ledger.keys import MasterKey
from ledger.results import Accepted

OPENING_BALANCE_MINOR = 1_000_000
"""Each wallet starts with 10,000.00 THB: payments of up to 4,000.00 and transfers of up to
3,000.00 then overdraw a wallet now and then, and the ledger refuses them."""
COURIERS = 10
COD_MERCHANTS = 10
MIX = (("top_up", 30), ("payment", 45), ("p2p", 10), ("cod", 10), ("loan", 5))
"""The share of each kind of command, in percent."""


BENCH_MASTER_KEY = MasterKey(bytes(range(32)))
"""The master key of the benchmarks' ledgers with personal data (a fixed one: the files
are thrown away)."""


def wallet(i: int) -> str:
    return f"wallet:U{i}"


def _open_wallet(chart: Chart, i: int, personal: bool) -> OpenAccount:
    if not personal:
        return chart.open_wallet(wallet(i))
    metadata = {"name": f"Customer {i} Jaidee", "phone": f"08{i:08d}"}
    return chart.open_wallet(wallet(i), subject=f"C{i}", metadata=metadata)


def setup_commands(
    wallets: int, merchants: int, chart: Chart | None = None, *, personal: bool = False
) -> list[Command]:
    """The accounts the mix posts to and each wallet's opening top-up; run after
    ``Ledger.open_chart(cod=True, loans=True)``."""
    chart = chart or Chart()
    commands: list[Command] = [_open_wallet(chart, i, personal) for i in range(wallets)]
    commands += [chart.open_merchant(f"M{i}") for i in range(merchants)]
    commands += [c for k in range(COURIERS) for c in chart.open_courier(f"K{k}")]
    commands += [c for m in range(COD_MERCHANTS) for c in chart.open_cod_merchant(f"S{m}")]
    commands.append(
        OpenAccount(id="open-capital", account="equity:capital", type="equity", currency="THB")
    )
    capital = 10**14
    commands.append(
        PostEntry(
            id="capital",
            kind="capital",
            postings=[
                Debit(chart.loan_bank, capital),
                Debit(chart.cod_bank, capital),
                Credit("equity:capital", 2 * capital),
            ],
        )
    )
    commands += [
        TopUp(id=f"fund-{i}", wallet=wallet(i), amount_minor=OPENING_BALANCE_MINOR, channel="bank")
        for i in range(wallets)
    ]
    return commands


def prepare(book: Ledger, wallets: int, merchants: int, *, personal: bool = False) -> None:
    """Open the chart with its COD and loan accounts and run :func:`setup_commands` in
    batches of 1,000."""
    book.open_chart(cod=True, loans=True)
    commands = setup_commands(wallets, merchants, book.chart, personal=personal)
    for i in range(0, len(commands), 1_000):
        results = book.submit_many(commands[i : i + 1_000])
        assert all(isinstance(r, Accepted) for r in results), "the set-up was rejected"


def wallet_mix(
    seed: int,
    wallets: int,
    merchants: int,
    today: date,
    prefix: str = "c",
    *,
    personal: bool = False,
) -> Iterator[Command]:
    """The endless seeded stream of the mix above, for a ledger whose business day is
    ``today`` (loans fall due a month later); with ``personal``, its payments carry a
    reference and its transfers a memo (the same amounts and accounts otherwise)."""
    rng = random.Random(seed)
    kinds = [kind for kind, share in MIX for _ in range(share)]
    delivered: deque[tuple[str, str, int]] = deque()
    first_due = months_before(today, -1)
    n = 0
    while True:
        n += 1
        cid = f"{prefix}{n}"
        kind = rng.choice(kinds)
        u = wallet(rng.randrange(wallets))
        if kind == "top_up":
            yield TopUp(
                id=cid, wallet=u, amount_minor=rng.randrange(10_000, 500_000), channel="bank"
            )
        elif kind == "payment":
            amount = rng.randrange(1_000, 400_000)
            yield Pay(
                id=cid,
                wallet=u,
                merchant=f"M{rng.randrange(merchants)}",
                amount_minor=amount,
                fee_minor=amount * 15 // 1000 or 1,
                reference=f"order {n} for customer {u[8:]}, tel 08{int(u[8:]):08d}"
                if personal
                else "",
            )
        elif kind == "p2p":
            v = wallet(rng.randrange(wallets))
            if v == u:
                v = wallet((rng.randrange(wallets - 1) + 1 + int(u[8:])) % wallets)
            yield Transfer(
                id=cid,
                source=u,
                destination=v,
                amount_minor=rng.randrange(100, 300_000),
                memo=f"from customer {u[8:]} to customer {v[8:]}" if personal else "",
            )
        elif kind == "cod":
            if delivered and rng.random() < 0.5:
                order, courier, owed = delivered.popleft()
                yield CodRemitted(
                    id=cid,
                    remittance=f"R-{order}",
                    courier=courier,
                    orders=[order],
                    amount_minor=owed,
                )
            else:
                cash = rng.randrange(15_000, 500_000)
                courier = f"K{rng.randrange(COURIERS)}"
                order = f"{prefix}-O{n}"
                delivered.append((order, courier, cash - 4_000 - 1_000))
                yield CodDelivered(
                    id=cid,
                    order=order,
                    courier=courier,
                    merchant=f"S{rng.randrange(COD_MERCHANTS)}",
                    amount_minor=cash,
                    commission_minor=cash * 5 // 100,
                    shipping_minor=4_000,
                    courier_fee_minor=1_000,
                )
        else:
            yield DisburseLoan(
                id=cid,
                loan=f"{prefix}-L{n}",
                borrower=u.removeprefix("wallet:"),
                wallet=u,
                principal_minor=rng.randrange(100_000, 1_000_000),
                annual_rate_bps=2_500,
                installments=1,
                first_due=first_due,
            )
