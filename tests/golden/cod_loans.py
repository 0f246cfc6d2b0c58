"""A fixed event log of COD orders and micro-loans over four months, for golden reports.

Amounts are chosen so every figure of the COD and loan-portfolio reports can be worked
out by hand (tests/reports/): loans at 12% a year (1% a month) in one installment, or
at 0% (default interest then runs at 3% a year), on principals that make the default
interest a whole number of satang a day (730,000 x 15% / 365 = 300).

Run: ``python -m tests.golden.cod_loans OUT.db`` (the file must not exist yet).

The story, in Bangkok time (the ledger's zone), all loans monthly:

* 5 Jan: L1 alice 10,000.00 at 12% (due 5 Feb: 10,100.00); L2 bob 7,300.00 at 12%
  (due 7,373.00); L3 chai 14,600.00 at 12% (due 14,746.00); L4 dao 21,900.00 at 0% in 3
  (7,300.00 due 5 Feb, 5 Mar, 5 Apr); L5 eve 3,650.00 at 0%. Month ends accrue, then
  provision (1% / 20% / 100% of exposure by stage).
* 5 Feb: alice pays L1 on time (paid off). Nobody else pays.
* 20 Feb: L4 restructured at 15 days past due: 3 x 7,300.00 due 20 Mar, 20 Apr, 20 May,
  the first carrying 9.00 of default interest (15 days x 0.60).
* COD: K2 delivers O1 (5 Feb) and O2 (20 Feb) and does not remit them until 11 Mar;
  K1 delivers O3 and O4 on 1 Mar and remits only O3 that evening; K2 delivers O5 on
  2 Mar and remits 100.00 short; O6 (4 Mar) is remitted and returned before release;
  O3 and O5 are released on 9 Mar, O3 paid out to M1 that evening; O7 (9 Mar) and O8
  (10 Mar, 14:00) are still at the door at the end of 10 Mar; O9 is delivered at 01:00
  on 11 Mar (still 10 Mar in UTC).
* 10 Mar 20:00: accrue and provision (report day A).
* 11-12 Mar: M3 paid out; both couriers remit the rest; K2's shortfall is 60.00
  recovered, 40.00 written off; O3 is returned after payout (M1 owes 910.00).
* 19-20 Mar: everything released; M1's payout only nets (it owes 570.00 after it); dao
  pays L4's first new installment (7,309.00).
* 25 Mar: bob pays L2 48 days late, in full (paid off). 1 Apr: L5 written off. 10 Apr:
  L6 fon 7,300.00 at 12%, due 10 May. 20 Apr: dao pays again; O10 delivered and remitted,
  released 28 Apr. 1 May: 500.00 recovered on L5. 11 May: O11 delivered, not remitted.
* 12 May 20:00: accrue and provision (report day B). The clock stops at END.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ledger import (
    Accepted,
    AccrueInterest,
    CodDelivered,
    CodRefunded,
    CodReleased,
    CodRemitted,
    CodReturned,
    Command,
    Credit,
    Debit,
    DisburseLoan,
    Ledger,
    OpenAccount,
    PayoutMerchant,
    PostEntry,
    ProvisionLoans,
    RecoverLoan,
    RejectCode,
    Rejected,
    RepayLoan,
    ResolveDispute,
    RestructureLoan,
    TopUp,
    WriteOffLoan,
)
from ledger.testing import ManualClock

BANGKOK = ZoneInfo("Asia/Bangkok")
DAY_A = date(2026, 3, 10)
DAY_B = date(2026, 5, 12)
END = datetime(2026, 5, 12, 21, 0, tzinfo=BANGKOK)
"""The clock after the last event: later commands are recorded from here on."""

BORROWERS = {"L1": "alice", "L2": "bob", "L3": "chai", "L4": "dao", "L5": "eve", "L6": "fon"}
COURIERS = ("K1", "K2")
MERCHANTS = ("M1", "M2", "M3")

Step = tuple[datetime, Callable[[Ledger], None]]


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BANGKOK)


def accept(*commands: Command) -> Callable[[Ledger], None]:
    def run(book: Ledger) -> None:
        for command in commands:
            result = book.submit(command)
            assert isinstance(result, Accepted), (command, result)

    return run


def month_end(day: date) -> Callable[[Ledger], None]:
    """Accrue through ``day``, then true the allowance up; either may find nothing due."""

    def run(book: Ledger) -> None:
        for command in (
            AccrueInterest(id=f"accrue-{day}", as_of=day),
            ProvisionLoans(id=f"provision-{day}", as_of=day),
        ):
            result = book.submit(command)
            ok = isinstance(result, Accepted) or (
                isinstance(result, Rejected) and result.code is RejectCode.NOTHING_DUE
            )
            assert ok, (command, result)

    return run


def setup(book: Ledger) -> None:
    chart = book.chart
    assert all(isinstance(r, Accepted) for r in book.open_chart(cod=True, loans=True))
    commands: list[Command] = [
        *(c for k in COURIERS for c in chart.open_courier(k)),
        *(c for m in MERCHANTS for c in chart.open_cod_merchant(m)),
        *(chart.open_wallet(f"wallet:{name}") for name in BORROWERS.values()),
        OpenAccount(id="open:equity", account="equity:capital", type="equity", currency="THB"),
        PostEntry(
            id="capital",
            kind="capital",
            postings=[
                Debit(chart.loan_bank, 10_000_000),
                Debit(chart.cod_bank, 1_000_000),
                Credit("equity:capital", 11_000_000),
            ],
        ),
    ]
    assert all(isinstance(r, Accepted) for r in book.submit_many(commands))


def disburse(
    loan: str, principal_minor: int, rate_bps: int, installments: int, first_due: date
) -> DisburseLoan:
    borrower = BORROWERS[loan]
    return DisburseLoan(
        id=f"disburse-{loan}",
        loan=loan,
        borrower=borrower,
        wallet=f"wallet:{borrower}",
        principal_minor=principal_minor,
        annual_rate_bps=rate_bps,
        installments=installments,
        first_due=first_due,
    )


def deliver(
    order: str, courier: str, merchant: str, cash: int, commission: int, shipping: int, fee: int
) -> CodDelivered:
    return CodDelivered(
        id=f"deliver-{order}",
        order=order,
        courier=courier,
        merchant=merchant,
        amount_minor=cash,
        commission_minor=commission,
        shipping_minor=shipping,
        courier_fee_minor=fee,
    )


def remit(remittance: str, courier: str, orders: Iterable[str], amount: int) -> CodRemitted:
    return CodRemitted(
        id=f"remit-{remittance}",
        remittance=remittance,
        courier=courier,
        orders=list(orders),
        amount_minor=amount,
    )


def release(when: datetime) -> Callable[[Ledger], None]:
    return accept(CodReleased(id=f"release-{when.date()}", as_of=when))


def top_up(name: str, amount: int) -> TopUp:
    return TopUp(
        id=f"top-up-{name}-{amount}", wallet=f"wallet:{name}", amount_minor=amount, channel="bank"
    )


def steps() -> list[Step]:
    """Every step of the story, in the order the clock runs."""
    feb5 = date(2026, 2, 5)
    # Merchant shares N = cash - commission - shipping; a courier owes cash - shipping - fee.
    return [
        (at(2026, 1, 5, 9), setup),
        (
            at(2026, 1, 5, 10),
            accept(
                disburse("L1", 1_000_000, 1_200, 1, feb5),
                disburse("L2", 730_000, 1_200, 1, feb5),
                disburse("L3", 1_460_000, 1_200, 1, feb5),
                disburse("L4", 2_190_000, 0, 3, feb5),
                disburse("L5", 365_000, 0, 1, feb5),
            ),
        ),
        (at(2026, 1, 31, 20), month_end(date(2026, 1, 31))),
        (at(2026, 2, 5, 10), accept(deliver("O1", "K2", "M3", 30_000, 1_500, 3_000, 500))),
        (
            at(2026, 2, 5, 12),
            accept(
                top_up("alice", 10_000), RepayLoan(id="repay-L1", loan="L1", amount_minor=1_010_000)
            ),
        ),
        (at(2026, 2, 20, 10), accept(deliver("O2", "K2", "M2", 60_000, 3_000, 4_000, 1_000))),
        (
            at(2026, 2, 20, 15),
            accept(
                RestructureLoan(
                    id="restructure-L4", loan="L4", installments=3, first_due=date(2026, 3, 20)
                )
            ),
        ),
        (at(2026, 2, 28, 20), month_end(date(2026, 2, 28))),
        (at(2026, 3, 1, 10), accept(deliver("O3", "K1", "M1", 100_000, 5_000, 4_000, 1_000))),
        (at(2026, 3, 1, 11), accept(deliver("O4", "K1", "M2", 50_000, 2_500, 4_000, 1_000))),
        (at(2026, 3, 1, 18), accept(remit("K1-0301", "K1", ["O3"], 95_000))),
        (at(2026, 3, 2, 10), accept(deliver("O5", "K2", "M3", 200_000, 10_000, 6_000, 2_000))),
        (at(2026, 3, 2, 18), accept(remit("K2-0302", "K2", ["O5"], 182_000))),  # 192,000 due
        (at(2026, 3, 4, 10), accept(deliver("O6", "K1", "M1", 80_000, 4_000, 4_000, 1_000))),
        (at(2026, 3, 4, 18), accept(remit("K1-0304", "K1", ["O6"], 75_000))),
        (
            at(2026, 3, 6, 11),
            accept(
                CodReturned(id="return-O6", order="O6"), CodRefunded(id="refund-O6", order="O6")
            ),
        ),
        (at(2026, 3, 9, 10), accept(deliver("O7", "K1", "M3", 120_000, 6_000, 4_000, 1_000))),
        (at(2026, 3, 9, 18), release(at(2026, 3, 9, 18))),  # O3 and O5
        (at(2026, 3, 9, 18, 30), accept(PayoutMerchant(id="payout-M1-1", merchant="M1"))),
        (at(2026, 3, 10, 14), accept(deliver("O8", "K2", "M1", 40_000, 2_000, 4_000, 1_000))),
        (at(2026, 3, 10, 20), month_end(DAY_A)),
        (at(2026, 3, 11, 1), accept(deliver("O9", "K1", "M2", 70_000, 3_500, 4_000, 1_000))),
        (at(2026, 3, 11, 10), accept(PayoutMerchant(id="payout-M3-1", merchant="M3"))),
        (
            at(2026, 3, 11, 18),
            accept(
                remit("K1-0311", "K1", ["O4", "O7", "O9"], 225_000),
                remit("K2-0311", "K2", ["O1", "O2", "O8"], 116_500),
            ),
        ),
        (
            at(2026, 3, 12, 10),
            accept(
                ResolveDispute(
                    id="dispute-K2-1", courier="K2", amount_minor=6_000, outcome="recovered"
                ),
                ResolveDispute(
                    id="dispute-K2-2", courier="K2", amount_minor=4_000, outcome="written_off"
                ),
            ),
        ),
        (
            at(2026, 3, 12, 11),
            accept(
                CodReturned(id="return-O3", order="O3"), CodRefunded(id="refund-O3", order="O3")
            ),
        ),
        (at(2026, 3, 19, 18), release(at(2026, 3, 19, 18))),  # O1, O2, O4, O7, O8, O9
        (at(2026, 3, 20, 10), accept(RepayLoan(id="repay-L4-4", loan="L4", amount_minor=730_900))),
        (
            at(2026, 3, 20, 11),
            accept(
                PayoutMerchant(id="payout-M1-2", merchant="M1"),
                PayoutMerchant(id="payout-M2-1", merchant="M2"),
                PayoutMerchant(id="payout-M3-2", merchant="M3"),
            ),
        ),
        (
            at(2026, 3, 25, 10),
            accept(
                top_up("bob", 21_700), RepayLoan(id="repay-L2", loan="L2", amount_minor=751_700)
            ),
        ),
        (at(2026, 3, 31, 20), month_end(date(2026, 3, 31))),
        (at(2026, 4, 1, 10), accept(WriteOffLoan(id="write-off-L5", loan="L5"))),
        (at(2026, 4, 10, 10), accept(disburse("L6", 730_000, 1_200, 1, date(2026, 5, 10)))),
        (at(2026, 4, 20, 10), accept(RepayLoan(id="repay-L4-5", loan="L4", amount_minor=730_000))),
        (at(2026, 4, 20, 10, 30), accept(deliver("O10", "K2", "M2", 30_000, 1_500, 3_000, 500))),
        (at(2026, 4, 20, 18), accept(remit("K2-0420", "K2", ["O10"], 26_500))),
        (at(2026, 4, 28, 18), release(at(2026, 4, 28, 18))),  # O10
        (at(2026, 4, 30, 20), month_end(date(2026, 4, 30))),
        (
            at(2026, 5, 1, 10),
            accept(RecoverLoan(id="recover-L5", loan="L5", amount_minor=50_000, from_bank=True)),
        ),
        (at(2026, 5, 11, 10), accept(deliver("O11", "K1", "M1", 90_000, 4_500, 4_000, 1_000))),
        (at(2026, 5, 12, 20), month_end(DAY_B)),
    ]


def build(path: str | os.PathLike[str]) -> None:
    """Write the story's event log into a new SQLite ledger at ``path``."""
    if Path(path).exists() and Path(path).stat().st_size:
        raise FileExistsError(f"{path} exists; the golden log is written into a new file")
    clock = ManualClock(at(2026, 1, 5, 9))
    with Ledger.open(path, clock=clock) as book:
        for when, run in steps():
            assert when >= clock.now, f"the story runs backwards at {when}"
            clock.now = when
            run(book)
        assert clock.now < END


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m tests.golden.cod_loans OUT.db", file=sys.stderr)
        return 2
    build(argv[0])
    print(f"wrote {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
