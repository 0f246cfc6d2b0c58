"""A refusal never echoes a caller's value whole: every command, sent with a
1,000,000-character id, account id, kind, memo, reference, or order, hold or loan id,
comes back with a detail (or an exception message) of at most 300 characters."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest

from ledger import (
    Accepted,
    AccrueInterest,
    AssignTier,
    CaptureHold,
    CloseAccount,
    ClosePeriod,
    CodDelivered,
    CodDeliveryFailed,
    CodRefunded,
    CodReleased,
    CodRemitted,
    CodReturned,
    Command,
    Credit,
    Debit,
    DefineTier,
    DisburseLoan,
    EraseSubject,
    Exchange,
    ExpireHolds,
    FreezeAccount,
    InvalidCommand,
    Ledger,
    LedgerError,
    OpenAccount,
    Pay,
    PayBill,
    PayoutMerchant,
    PlaceHold,
    PostEntry,
    ProvisionLoans,
    RecoverLoan,
    Refund,
    Rejected,
    ReleaseHold,
    RepayLoan,
    ResolveDispute,
    RestructureLoan,
    Reverse,
    SettleAgent,
    TopUp,
    Transfer,
    UnfreezeAccount,
    Withdraw,
    WriteOffLoan,
)
from ledger.chart import Chart
from ledger.flows import DECIDERS
from ledger.money import format_amount, parse_amount
from ledger.policy import CodPolicy, LoanPolicy
from tests.conftest import FakeClock

BKK = ZoneInfo("Asia/Bangkok")
NOW = datetime.combine(date(2026, 1, 15), time(12), BKK)
HUGE = "x" * 1_000_000
"""A million characters: what a caller might send in any text field."""
DETAIL_MAX = 300
"""The longest detail or message a refusal may carry, whatever its input."""

LATER = NOW + timedelta(hours=1)
# One command of every type, each valid as far as its text fields go.
COMMANDS: dict[type[Command], Callable[[], Command]] = {
    OpenAccount: lambda: OpenAccount(
        id="c", account="a:1", type="asset", currency="THB", metadata={"k": "v"}
    ),
    FreezeAccount: lambda: FreezeAccount(id="c", account="wallet:U1", reason="why"),
    UnfreezeAccount: lambda: UnfreezeAccount(id="c", account="wallet:U1", reason="why"),
    CloseAccount: lambda: CloseAccount(id="c", account="wallet:U1"),
    PostEntry: lambda: PostEntry(
        id="c",
        kind="adjustment",
        postings=[Debit("bank:trust", 1), Credit("wallet:U1", 1)],
        memo="memo",
        metadata={"k": "v"},
    ),
    Reverse: lambda: Reverse(id="c", entry_id="e1", memo="memo"),
    ClosePeriod: lambda: ClosePeriod(id="c", through=NOW - timedelta(days=1), memo="memo"),
    TopUp: lambda: TopUp(
        id="c",
        wallet="wallet:U1",
        amount_minor=100,
        channel="bank",
        funding_account="bank:trust",
        metadata={"k": "v"},
    ),
    SettleAgent: lambda: SettleAgent(id="c", agent="A1", amount_minor=1),
    Pay: lambda: Pay(id="c", wallet="wallet:U1", merchant="M1", amount_minor=1, reference="r"),
    PayBill: lambda: PayBill(
        id="c", wallet="wallet:U1", biller="B1", bill_reference="INV-1", amount_minor=1
    ),
    Refund: lambda: Refund(id="c", payment="p1"),
    Transfer: lambda: Transfer(
        id="c", source="wallet:U1", destination="wallet:U2", amount_minor=1, memo="memo"
    ),
    Withdraw: lambda: Withdraw(id="c", wallet="wallet:U1", amount_minor=1),
    Exchange: lambda: Exchange(
        id="c",
        source="wallet:U1",
        destination="wallet:U3:usd",
        sell_amount_minor=100,
        buy_amount_minor=3,
    ),
    PlaceHold: lambda: PlaceHold(
        id="c",
        hold="h1",
        wallet="wallet:U1",
        destination="merchant:M1:payable",
        amount_minor=1,
        expires_at=LATER,
    ),
    CaptureHold: lambda: CaptureHold(id="c", hold="h1"),
    ReleaseHold: lambda: ReleaseHold(id="c", hold="h1"),
    ExpireHolds: lambda: ExpireHolds(id="c", as_of=NOW),
    DefineTier: lambda: DefineTier(
        id="c",
        tier="basic",
        max_balance_minor=None,
        per_transaction_max_minor=None,
        daily_outflow_max_minor=None,
        monthly_outflow_max_minor=None,
    ),
    AssignTier: lambda: AssignTier(id="c", wallet="wallet:U1", tier="basic"),
    CodDelivered: lambda: CodDelivered(
        id="c",
        order="O3",
        courier="K1",
        merchant="M1",
        amount_minor=100_000,
        commission_minor=5_000,
        shipping_minor=4_000,
    ),
    CodDeliveryFailed: lambda: CodDeliveryFailed(id="c", order="O2", merchant="M1", courier="K1"),
    CodRemitted: lambda: CodRemitted(
        id="c", remittance="R1", courier="K1", orders=["O1"], amount_minor=1
    ),
    ResolveDispute: lambda: ResolveDispute(
        id="c", courier="K1", amount_minor=1, outcome="recovered"
    ),
    CodReleased: lambda: CodReleased(id="c", as_of=NOW),
    PayoutMerchant: lambda: PayoutMerchant(id="c", merchant="M1", to="bank"),
    CodReturned: lambda: CodReturned(id="c", order="O1"),
    CodRefunded: lambda: CodRefunded(id="c", order="O1", wallet="wallet:U1"),
    DisburseLoan: lambda: DisburseLoan(
        id="c",
        loan="L2",
        borrower="U1",
        wallet="wallet:U1",
        principal_minor=1_000_000,
        annual_rate_bps=2_800,
        installments=6,
        first_due=date(2026, 2, 15),
        frequency="monthly",
    ),
    AccrueInterest: lambda: AccrueInterest(id="c", as_of=NOW.date()),
    RepayLoan: lambda: RepayLoan(id="c", loan="L1", amount_minor=1, wallet="wallet:U1"),
    ProvisionLoans: lambda: ProvisionLoans(id="c", as_of=NOW.date()),
    WriteOffLoan: lambda: WriteOffLoan(id="c", loan="L1"),
    RecoverLoan: lambda: RecoverLoan(id="c", loan="L1", amount_minor=1),
    RestructureLoan: lambda: RestructureLoan(
        id="c", loan="L1", installments=3, first_due=date(2026, 2, 15)
    ),
    EraseSubject: lambda: EraseSubject(id="c", subject="S1", reason="ticket-1"),
}


def _huge_variants(command: Command) -> Iterator[tuple[str, Command]]:
    """``command`` with each of its text fields (and a posting's account, an order of a
    remittance, a metadata key and value) in turn a million characters long."""
    for field in attrs.fields(type(command)):
        value = getattr(command, field.name)
        if isinstance(value, str):
            yield field.name, attrs.evolve(command, **{field.name: HUGE})
        elif field.name == "postings":
            legs = [Debit(HUGE, 1), Credit("wallet:U1", 1)]
            yield "postings[0].account", attrs.evolve(command, postings=legs)
        elif field.name == "orders":
            yield "orders[0]", attrs.evolve(command, orders=[HUGE])
        elif field.name == "metadata":
            yield "metadata key", attrs.evolve(command, metadata={HUGE: "v"})
            yield "metadata value", attrs.evolve(command, metadata={"k": HUGE})


CASES = [
    pytest.param(kind, name, id=f"{kind.__name__}.{name}")
    for kind, build in COMMANDS.items()
    for name, _ in _huge_variants(build())
]


@pytest.fixture(scope="module")
def ledger() -> Iterator[Ledger]:
    """Every flow's accounts open (wallets, merchant, biller, agent, FX, COD, loans), with
    money in the lender's bank; order O1 delivered and returned, so its refund reads the
    wallet; loan L1 disbursed six weeks ago, so an installment is due and a repayment
    reads the wallet; the clock at noon on 15 January 2026 in Bangkok."""
    clock = FakeClock(NOW - timedelta(days=45))
    book = Ledger.open(":memory:", clock=clock)
    chart = book.chart
    results = book.open_chart(("USD",), cod=True, loans=True)
    results += book.submit_many(
        [
            chart.open_wallet("wallet:U1"),
            chart.open_wallet("wallet:U2"),
            chart.open_wallet("wallet:U3:usd", "USD"),
            chart.open_merchant("M1"),
            chart.open_biller("B1"),
            chart.open_agent("A1"),
            *chart.open_courier("K1"),
            *chart.open_cod_merchant("M1"),
            OpenAccount(id="open:equity", account="equity:capital", type="equity", currency="THB"),
            PostEntry(
                id="capital",
                kind="capital",
                postings=[
                    Debit(chart.loan_bank, 100_000_000),
                    Credit("equity:capital", 100_000_000),
                ],
            ),
        ]
    )
    results += book.submit_many(
        [
            attrs.evolve(COMMANDS[CodDelivered](), id="deliver-O1", order="O1"),
            CodReturned(id="return-O1", order="O1"),
            attrs.evolve(
                COMMANDS[DisburseLoan](), id="disburse-L1", loan="L1", first_due=date(2026, 1, 1)
            ),
        ]
    )
    assert all(isinstance(r, Accepted) for r in results), results
    clock.now = NOW
    try:
        yield book
    finally:
        book.close()


_IDS = itertools.count(1)


def test_every_command_type_is_covered() -> None:
    assert set(COMMANDS) == set(DECIDERS)


@pytest.mark.parametrize("kind,name", CASES)
def test_a_million_character_field_comes_back_cut(
    ledger: Ledger, kind: type[Command], name: str
) -> None:
    base = attrs.evolve(COMMANDS[kind](), id=f"echo-{next(_IDS)}")
    [command] = [c for n, c in _huge_variants(base) if n == name]
    try:
        result: Any = ledger.submit(command)
    except LedgerError as exc:
        message = str(exc)
        assert len(message) <= DETAIL_MAX, f"{len(message)} characters: {message[:400]}"
        return
    assert isinstance(result, Rejected), result
    assert len(result.detail) <= DETAIL_MAX, (
        f"{result.code}: {len(result.detail)} characters: {result.detail[:400]}"
    )
    assert len(result.subject) <= 128, f"{result.code}: subject of {len(result.subject)}"


@pytest.mark.parametrize(
    "build",
    [
        lambda: OpenAccount(id="c", account=HUGE.encode(), type="asset", currency="THB"),
        lambda: PostEntry(id="c", kind="k", postings=HUGE),
        lambda: PostEntry(id="c", kind="k", postings=[HUGE]),
        lambda: PostEntry(id="c", kind="k", postings=[], metadata={"k": HUGE.encode()}),
        lambda: CodRemitted(
            id="c", remittance="R", courier="K1", orders=[HUGE.encode()], amount_minor=1
        ),
        lambda: Pay(id="c", wallet="wallet:U1", merchant="M1", amount_minor=HUGE),
        lambda: ClosePeriod(id="c", through=HUGE),
        lambda: RestructureLoan(id="c", loan="L1", installments=3, first_due=HUGE),
        lambda: RestructureLoan(id="c", loan="L1", installments=HUGE, first_due=NOW.date()),
        lambda: Chart(bank_trust=HUGE.encode()),
        lambda: CodPolicy(vat_rate_bps=HUGE),
        lambda: LoanPolicy(annual_cap_bps=HUGE),
        lambda: parse_amount("1" * 1_000_000 + "x", "THB"),
        lambda: format_amount(HUGE, "THB"),  # type: ignore[arg-type]
        lambda: parse_amount("1", HUGE),
    ],
    ids=lambda build: "",
)
def test_an_exception_about_a_huge_value_is_cut(build: Callable[[], object]) -> None:
    with pytest.raises(LedgerError) as raised:
        build()
    assert len(str(raised.value)) <= DETAIL_MAX, str(raised.value)[:400]


def test_an_amount_of_five_thousand_digits_is_refused_in_a_few_words(ledger: Ledger) -> None:
    """An int too large even to write out (Python refuses past 4,300 digits) is refused
    with a typed error in a few words, not a ValueError from writing it out."""
    pay = Pay(id="huge-amount", wallet="wallet:U1", merchant="M1", amount_minor=10**5_000)
    with pytest.raises(InvalidCommand) as raised:
        ledger.submit(pay)
    assert len(str(raised.value)) <= DETAIL_MAX
    assert "too large" in str(raised.value)
