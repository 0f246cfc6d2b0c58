"""Micro-loans: four borrowers through one year, from disbursement to write-off and recovery.

The lender funds its bank account from capital and lends four borrowers on 5 January
2026; each loan is paid into the borrower's wallet and cashed out to the borrower's bank.
Ploy repays every month on the due date; Nok pays one installment 20 days late, so
default interest shows in the allocation; Somchai falls behind, is restructured, and stays
non-performing until three installments of the new schedule are paid on time; Dao never
pays: provisioned stage by stage, written off at 180 days past due, then partly
recovered. Interest accrues at every month end, and the allowance is trued up after it.

Run from the repository root: ``python examples/04_loans.py`` (a temporary SQLite file,
an injected clock, so the output is the same on every run).
"""

import calendar
import tempfile
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs

from ledger import (
    Accepted,
    AccrueInterest,
    Command,
    Credit,
    Debit,
    DisburseLoan,
    Ledger,
    OpenAccount,
    PostEntry,
    ProvisionLoans,
    RecoverLoan,
    RejectCode,
    Rejected,
    RepayLoan,
    RestructureLoan,
    TopUp,
    Withdraw,
    WriteOffLoan,
    format_amount,
    parse_amount,
)
from ledger.audit import verify
from ledger.events import Event, LoanAccrued, LoanRepaid, LoanWrittenOff
from ledger.state.loans import Loan, LoanStatus, ageing

BANGKOK = ZoneInfo("Asia/Bangkok")


class Clock:
    """An injected clock: the ledger reads ``now`` whenever it records an event."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def thb(text: str) -> int:
    return parse_amount(text, "THB")  # "10,000.00" -> 1_000_000 satang


def baht(amount_minor: int) -> str:
    return format_amount(amount_minor, "THB")


def accept(book: Ledger, command: Command) -> Accepted:
    result = book.submit(command)
    assert isinstance(result, Accepted), result
    return result


def written(book: Ledger, command_id: str) -> list[Event]:
    """The events the command ``command_id`` wrote, in order."""
    return [r.event for r in book.events() if r.command_id == command_id]


def status(book: Ledger, loan: str, day: date) -> LoanStatus:
    [found] = [s for s in book.loans(day) if s.loan == loan]
    return found


def show_schedule(loan: Loan, first: int = 1) -> None:
    print(f"{'#':>4} {'due':<11}{'principal':>11}{'interest':>10}{'carried':>10}{'total':>10}")
    for p in loan.parts[first - 1 :]:
        carried = p.carried_interest_minor + p.carried_default_minor
        total = p.principal_minor + p.interest_minor + carried
        print(
            f"{p.number:>4} {p.due!s:<11}{baht(p.principal_minor):>11}"
            f"{baht(p.interest_minor):>10}{baht(carried):>10}{baht(total):>10}"
        )


def show_portfolio(book: Ledger, day: date) -> None:
    print(f"\nthe portfolio on {day}, after the month-end jobs")
    print(f"{'loan':<5}{'dpd':>4} {'bucket':<9}{'stage':>5}{'principal':>11}{'allowance':>11}")
    for s in book.loans(day):
        print(
            f"{s.loan:<5}{s.days_past_due:>4} {s.bucket:<9}{s.stage:>5}"
            f"{baht(s.principal_outstanding_minor):>11}{baht(s.allowance_minor):>11}"
            + (" restructured" if s.restructured else "")
        )
    print(f"{'bucket':<10}{'loans':>5}{'principal':>11}{'allowance':>11}")
    for row in ageing(book.loans(day)):
        print(
            f"{row.bucket:<10}{row.loans:>5}{baht(row.principal_minor):>11}"
            f"{baht(row.allowance_minor):>11}"
        )
    print()


clock = Clock(datetime(2026, 1, 5, 9, 0, tzinfo=BANGKOK))  # a Monday morning in Bangkok
with (
    tempfile.TemporaryDirectory() as directory,
    Ledger.open(Path(directory) / "loans.db", clock=clock) as book,
):
    chart = book.chart  # bank:lending, loans:principal, loans:allowance, income:loan_interest…
    assert all(isinstance(r, Accepted) for r in book.open_chart(loans=True))
    borrowers = {"L1": "ploy", "L2": "nok", "L3": "somchai", "L4": "dao"}
    capital = thb("100,000.00")  # the lender's own money: loans are not e-money
    setup: list[Command] = [
        OpenAccount(id="open:equity", account="equity:capital", type="equity", currency="THB"),
        PostEntry(
            id="capital",
            kind="capital",
            postings=[Debit(chart.loan_bank, capital), Credit("equity:capital", capital)],
        ),
        *(chart.open_wallet(f"wallet:{name}") for name in borrowers.values()),
    ]
    assert all(isinstance(r, Accepted) for r in book.submit_many(setup))

    # 09:00 Four monthly loans, the first installment due on 5 February. L1 is 10,000.00
    # at 28% a year over 6 months, with a 100.00 upfront fee earned over the term.
    terms = {"L1": ("10,000.00", 2_800, 6, "100.00"), "L2": ("20,000.00", 3_000, 6, "0.00")}
    terms |= {"L3": ("15,000.00", 2_800, 6, "0.00"), "L4": ("8,000.00", 2_500, 4, "0.00")}
    commands: dict[str, DisburseLoan] = {}
    for loan, (principal, rate, count, fee) in terms.items():
        wallet = f"wallet:{borrowers[loan]}"
        commands[loan] = DisburseLoan(
            id=f"disburse-{loan}",
            loan=loan,
            borrower=borrowers[loan],
            wallet=wallet,
            principal_minor=thb(principal),
            annual_rate_bps=rate,
            installments=count,
            first_due=date(2026, 2, 5),
            fee_minor=thb(fee),
        )
        accept(book, commands[loan])
        d = book.loan(loan).disbursed
        print(
            f"{loan} {borrowers[loan]}: {principal} at {rate / 100:.2f}%, fee {fee}, all-in "
            f"{d.all_in_rate_bps / 100:.2f}%, default interest {d.default_rate_bps / 100:.2f}%"
        )
        show_schedule(book.loan(loan))
        # The borrower cashes the loan out to its bank; repayments are topped up later.
        cash_out = book.balance(wallet).balance
        accept(book, Withdraw(id=f"cashout-{loan}", wallet=wallet, amount_minor=cash_out))
    l1 = book.loan("L1")
    assert sum(p.principal_minor for p in l1.parts) == thb("10,000.00")
    assert l1.parts[0].interest_minor == thb("233.33")  # 10,000.00 x 28% / 12, half up

    # The same loan with a 200.00 fee costs more than 33% a year all in; and Ploy owes
    # 10,000.00 already, so 95,000.00 more passes the 100,000.00 borrower limit.
    pricey = attrs.evolve(commands["L1"], id="d-L5", loan="L5", fee_minor=thb("200.00"))
    big = attrs.evolve(commands["L1"], id="d-L6", loan="L6", principal_minor=thb("95,000.00"))
    for command, code in [
        (pricey, RejectCode.LOAN_COST_ABOVE_CAP),
        (big, RejectCode.BORROWER_LIMIT_EXCEEDED),
    ]:
        rejected = book.submit(command)
        assert isinstance(rejected, Rejected) and rejected.code is code
        print(f"rejected {command.loan}: {rejected.code} - {rejected.detail}")

    # The year, day by day: Ploy and Nok pay each installment on its due date, but Nok
    # pays its second 20 days late; Somchai pays the first, then stops; Dao never pays.
    plan: dict[date, list[tuple[str, str]]] = defaultdict(list)
    for loan in ("L1", "L2"):
        for p in book.loan(loan).parts:
            late = (loan, p.number) == ("L2", 2)
            plan[date(2026, 3, 25) if late else p.due].append(("repay", loan))
    plan[date(2026, 2, 5)].append(("repay", "L3"))
    plan[date(2026, 6, 10)].append(("restructure", "L3"))
    plan[date(2026, 8, 4)].append(("write off", "L4"))  # 180 days past due
    plan[date(2026, 10, 15)].append(("recover", "L4"))
    plan[date(2026, 11, 16)].append(("recover", "L4"))

    def top_up(wallet: str, amount: int, command_id: str) -> None:
        if amount > 0:
            accept(book, TopUp(id=command_id, wallet=wallet, amount_minor=amount, channel="bank"))

    def repay(loan: str, day: date) -> LoanRepaid:
        """Top the wallet up as needed and pay what falls due today; a late payer sends a
        round 4,000.00: the loan takes what is due, the rest stays in the wallet."""
        wallet, command_id = f"wallet:{borrowers[loan]}", f"repay-{loan}-{day}"
        amount = thb("4,000.00")
        for p in book.loan(loan).live_parts:
            if p.due == day:
                amount = p.principal_minor + p.interest_minor
                amount += p.carried_interest_minor + p.carried_default_minor
        top_up(wallet, amount - book.balance(wallet).balance, f"top-up-{command_id}")
        accept(book, RepayLoan(id=command_id, loan=loan, amount_minor=amount))
        [*_, repaid] = written(book, command_id)
        assert isinstance(repaid, LoanRepaid)
        shares = "; ".join(
            f"#{a.number} {baht(a.interest_minor)} interest"
            + (f" + {baht(a.default_interest_minor)} default" if a.default_interest_minor else "")
            + f" + {baht(a.principal_minor)} principal"
            for a in repaid.allocations
        )
        print(f"{day} {loan} paid {baht(repaid.amount_minor)} of {baht(amount)}: {shares}")
        s = status(book, loan, day)
        if repaid.paid_off:
            print(f"{'':11}{loan} paid off")
        elif s.restructured:
            print(f"{'':11}{loan} stage {s.stage}, " + ("cured" if s.cured else "not cured yet"))
        return repaid

    day = date(2026, 1, 5)
    while day.year == 2026:
        clock.now = datetime.combine(day, time(10), BANGKOK)
        for what, loan in plan[day]:
            if what == "repay":
                repaid = repay(loan, day)
                if (loan, day) == ("L2", date(2026, 3, 25)):  # 3,209.27 x 33% x 20 / 365
                    assert repaid.allocations[0].default_interest_minor == thb("58.03")
            elif what == "restructure":  # 6 new installments, the first due on 10 July
                before = status(book, loan, day)
                again = RestructureLoan(
                    id=f"restructure-{loan}", loan=loan, installments=6, first_due=date(2026, 7, 10)
                )
                accept(book, again)
                after = status(book, loan, day)
                assert (before.stage, after.days_past_due, after.stage) == (3, 0, 3)
                print(
                    f"{day} {loan} restructured at {before.days_past_due} days past due, stage "
                    f"{before.stage}; now {after.days_past_due} past due, stage {after.stage}:"
                )
                new = book.loan(loan)
                show_schedule(new, first=new.first_restructured_number)
                for p in new.live_parts:
                    plan[p.due].append(("repay", loan))
            elif what == "write off":
                dpd = status(book, loan, day).days_past_due
                accept(book, WriteOffLoan(id=f"write-off-{loan}", loan=loan))
                [*_, off] = written(book, f"write-off-{loan}")
                assert isinstance(off, LoanWrittenOff)
                print(
                    f"{day} {loan} written off at {dpd} days past due: {baht(off.principal_minor)} "
                    f"principal, {baht(off.interest_minor)} interest, "
                    f"{baht(off.default_interest_minor)} default interest"
                )
            else:  # a collector pays 1,000.00 into the bank, later Dao 500.00 from her wallet
                from_bank, wallet = day.month == 10, f"wallet:{borrowers[loan]}"
                amount = thb("1,000.00") if from_bank else thb("500.00")
                top_up(wallet, 0 if from_bank else amount, f"top-up-{loan}-{day}")
                recover = RecoverLoan(
                    id=f"recover-{loan}-{day}", loan=loan, amount_minor=amount, from_bank=from_bank
                )
                accept(book, recover)
                source = "a collector, into the bank" if from_bank else wallet
                print(f"{day} {loan} recovered {baht(amount)} from {source}")
        if day.day == calendar.monthrange(day.year, day.month)[1]:
            # 23:00 The month-end jobs: accrue every loan through today, then true up
            # each loan's allowance to the rate of its stage.
            clock.now = datetime.combine(day, time(23), BANGKOK)
            accrued = book.submit(AccrueInterest(id=f"accrue-{day}", as_of=day))
            provisioned = book.submit(ProvisionLoans(id=f"provision-{day}", as_of=day))
            for result in (accrued, provisioned):
                assert isinstance(result, Accepted) or result.code is RejectCode.NOTHING_DUE
            events = [e for e in written(book, f"accrue-{day}") if isinstance(e, LoanAccrued)]
            interest = sum(line.interest_minor for e in events for line in e.lines)
            default = sum(line.default_interest_minor for e in events for line in e.lines)
            fees = sum(e.fee_minor for e in events)
            allowance = -book.balance(chart.loan_allowance).balance  # a contra-asset
            print(
                f"{day} month end: accrued {baht(interest)} interest, {baht(default)} default"
                f", {baht(fees)} fees; allowance {baht(allowance)}"
            )
            if day.month in (4, 6):
                show_portfolio(book, day)
        day += timedelta(days=1)

    # Somchai's restructured loan was cured by its third on-time installment (10 September).
    assert [status(book, "L3", date(2026, 9, d)).stage for d in (9, 10)] == [3, 1]
    final = {s.loan: s for s in book.loans()}
    assert [s.status for s in final.values()] == ["paid_off"] * 3 + ["written_off"]
    l4 = book.loan("L4")
    assert (l4.written_off_minor, l4.recovered_minor) == (thb("9,250.86"), thb("1,500.00"))

    print()
    balance = {a: book.balance(a).balance for a in chart.loan_accounts()}
    for account, amount in balance.items():
        print(f"{account:<34} {baht(amount):>10} THB")
    # Every loan is closed: the lender's cash is its capital plus the year's profit, no
    # allowance is held any more, and every wallet is empty again.
    income = [chart.loan_interest_income, chart.loan_default_income, chart.loan_fee_income]
    profit = sum(balance[a] for a in income) + balance[chart.loan_recoveries]
    profit -= balance[chart.ecl_expense]
    assert balance[chart.loan_allowance] == 0
    assert all(s.allowance_minor == 0 for s in final.values())
    assert balance[chart.loan_bank] == capital + profit
    assert balance[chart.loan_principal] == balance[chart.loan_interest_receivable] == 0
    assert balance[chart.loan_deferred_fees] == book.balance(chart.bank_trust).balance == 0

    report = verify(book)
    assert report.ok, report.findings
    print(f"\naudit: ok ({report.events_checked} events checked, head seq {report.head_seq})")
