"""Hostile input over the whole public API: a ``Rejected`` or a ``LedgerError``, never any
other exception, and nothing written unless something was accepted.

A wallet backend passes user input straight into commands, so any value a caller can hand
Satang is fair game: floats (NaN, infinities, -0.0) and bools where ints go, ints past 64
bits, zero and negative amounts, NUL bytes, lone surrogates and very long text in ids,
accounts, memos and metadata, unknown currencies, one account on both sides, naive
datetimes and instants at the calendar's edges (years 1 and 9999, offsets of ±23:59),
tzinfos that give no offset, wrong containers, None, str and int subclasses. Hypothesis
builds every command class in ``ledger.__all__`` from a mix of such values and valid ones
(the accounts, orders, holds and loans of a small ledger with history, so that some
examples get deep into the decide functions) and submits it alone, in ``submit_many`` and
in a linked batch; it calls the read methods and ``Ledger.open`` the same way. For each
example:

* building a command raises a ``LedgerError`` (``InvalidCommand``) or gives a command;
* submitting it returns ``Rejected`` or ``Accepted`` (one per command, with its id), or
  raises a ``LedgerError``; any other exception fails the test;
* unless something new was accepted, the events, commands and postings tables, the
  accounts table and the head are exactly as they were; when something was, the head is
  its last seq, and ``verify`` finds nothing once the test's examples are done.

The last tests pin the hostile values found so far as plain cases (tzinfos that give no
offset, clocks at the calendar's edge, time zone names that are directories of the tz
database), so that every run checks them whatever Hypothesis draws.

Each test records its figures once (``SATANG_FAULT_REPORT``): examples, and how many were
refused when built, rejected, raised, accepted, and how many distinct reject codes they
reached. The decoder has its own fuzzer: tests/faults/fuzz_decoder.py, run by
tests/faults/test_fuzz_decoder.py.
"""

from __future__ import annotations

import hashlib
import itertools
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import ledger
from ledger import (
    AMOUNT_MAX_MINOR,
    CURRENCIES,
    Accepted,
    Account,
    AccrueInterest,
    AssignTier,
    Balance,
    CaptureHold,
    Chart,
    CloseAccount,
    ClosePeriod,
    CodDelivered,
    CodDeliveryFailed,
    CodPolicy,
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
    LoanPolicy,
    OpenAccount,
    Pay,
    PayBill,
    PayoutMerchant,
    PlaceHold,
    PostEntry,
    ProvisionLoans,
    RecordedEvent,
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
from ledger.accounts import AccountType
from ledger.audit import verify
from ledger.commands import (
    DISPUTE_OUTCOMES,
    LOAN_FREQUENCIES,
    PAYOUT_DESTINATIONS,
    TOP_UP_CHANNELS,
)
from ledger.demo import months_before
from ledger.state.loans import Loan
from ledger.times import ManualClock
from tests.faults.suite import record, scale

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
"""The ledger's clock, fixed: 10:00 in Bangkok on 2026-12-01."""
TODAY = date(2026, 12, 1)
EXAMPLES = scale(60, 4_000)
"""Examples per command class; the batch, read and open tests take more (they are
cheaper, or have more to combine). The short mode runs the file in about half a minute."""

# --- the ledger every test starts from -------------------------------------------------

WALLETS = ["wallet:U1", "wallet:U2", "wallet:U3", "wallet:U4"]
FROZEN, CLOSED, USD_WALLET, MERCHANT_WALLET = (
    "wallet:F1",
    "wallet:C1",
    "wallet:X1",
    "merchant:S1:wallet",
)
CHART = Chart()
SYSTEM = [c.account for c in CHART.system_accounts(["USD"], cod=True, loans=True)]
ACCOUNTS = [
    *WALLETS,
    FROZEN,
    CLOSED,
    USD_WALLET,
    MERCHANT_WALLET,
    *SYSTEM,
    "merchant:M1:payable",
    "merchant:M2:payable",
    "biller:B1:payable",
    "agent:A1:receivable",
    "courier:K1:cod_receivable",
    "merchant:S1:payable_pending",
    "equity:capital",
    "wallet:NOPE",  # never opened
]
MERCHANTS, BILLERS, AGENTS, COURIERS = ["M1", "M2", "S1", "M404"], ["B1", "B404"], ["A1"], ["K1"]
ORDERS = ["O1", "O2", "O3", "O4", "O404"]  # remitted, delivered, returned, failed, none
HOLDS = ["H1", "H2", "H404"]
LOANS = ["L1", "L2", "L404"]  # active, written off, none
TIERS = ["basic", "gold"]
USED_IDS = ["fund-wallet:U1", "pay-1", "capital", "entry-1", "loan-1", "cod-1", "hold-1"]
"""Ids of commands in the log: a new command under one is an idempotency conflict."""


def _history(book: Ledger) -> list[Command]:
    """Accounts of every kind and one or two of everything the flows keep state for."""
    ch = book.chart
    due = months_before(TODAY, -1)
    return [
        *[ch.open_wallet(w) for w in [*WALLETS, FROZEN, CLOSED]],
        ch.open_wallet(USD_WALLET, "USD"),
        ch.open_merchant("M1"),
        ch.open_merchant("M2", "USD"),
        ch.open_biller("B1"),
        ch.open_agent("A1"),
        *ch.open_courier("K1"),
        *ch.open_cod_merchant("S1"),
        OpenAccount(id="open:equity", account="equity:capital", type="equity", currency="THB"),
        PostEntry(
            id="capital",
            kind="capital",
            postings=[
                Debit(ch.loan_bank, 10**12),
                Debit(ch.cod_bank, 10**12),
                Credit("equity:capital", 2 * 10**12),
            ],
        ),
        *[
            TopUp(id=f"fund-{w}", wallet=w, amount_minor=1_000_000, channel="bank")
            for w in [*WALLETS, FROZEN]
        ],
        TopUp(
            id="agent-top-up",
            wallet="wallet:U2",
            amount_minor=50_000,
            channel="agent",
            funding_account="agent:A1:receivable",
        ),
        FreezeAccount(id="freeze-F1", account=FROZEN, reason="kyc"),
        CloseAccount(id="close-C1", account=CLOSED),
        Exchange(
            id="fx-1",
            source="wallet:U1",
            destination=USD_WALLET,
            sell_amount_minor=36_000,
            buy_amount_minor=1_000,
        ),
        Pay(id="pay-1", wallet="wallet:U1", merchant="M1", amount_minor=20_000, fee_minor=300),
        PayBill(
            id="bill-1",
            wallet="wallet:U1",
            biller="B1",
            bill_reference="INV-1",
            amount_minor=5_000,
            partial=True,
        ),
        Transfer(id="p2p-1", source="wallet:U1", destination="wallet:U2", amount_minor=7_000),
        Withdraw(id="out-1", wallet="wallet:U3", amount_minor=10_000, fee_minor=100),
        *[
            PlaceHold(
                id=f"hold-{n}",
                hold=f"H{n}",
                wallet=WALLETS[n - 1],
                destination="merchant:M1:payable",
                amount_minor=3_000,
                expires_at=NOW + timedelta(hours=n),
            )
            for n in (1, 2)
        ],
        DefineTier(
            id="tier-basic",
            tier="basic",
            max_balance_minor=5_000_000,
            per_transaction_max_minor=500_000,
            daily_outflow_max_minor=1_000_000,
            monthly_outflow_max_minor=None,
        ),
        AssignTier(id="tier-U4", wallet="wallet:U4", tier="basic"),
        PostEntry(
            id="entry-1",
            kind="adjustment",
            postings=[Debit("bank:trust", 500), Credit("equity:capital", 500)],
        ),
        *[
            CodDelivered(
                id=f"cod-{n}",
                order=f"O{n}",
                courier="K1",
                merchant="S1",
                amount_minor=10_000 * (n + 2),
                commission_minor=500 * (n + 2),
                shipping_minor=4_000,
                courier_fee_minor=1_000,
            )
            for n in (1, 2, 3)
        ],
        CodRemitted(id="rem-1", remittance="R1", courier="K1", orders=["O1"], amount_minor=25_000),
        CodReturned(id="ret-3", order="O3"),
        CodDeliveryFailed(id="fail-4", order="O4", rto_fee_minor=2_000, merchant="S1"),
        DisburseLoan(
            id="loan-1",
            loan="L1",
            borrower="U3",
            wallet="wallet:U3",
            principal_minor=100_000,
            annual_rate_bps=2_500,
            installments=3,
            first_due=due,
            fee_minor=1_000,
        ),
        DisburseLoan(
            id="loan-2",
            loan="L2",
            borrower="U4",
            wallet="wallet:U4",
            principal_minor=50_000,
            annual_rate_bps=2_000,
            installments=1,
            first_due=due,
        ),
        WriteOffLoan(id="wo-2", loan="L2"),
    ]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "prepared.db"
    with Ledger.open(path, clock=ManualClock(NOW)) as book:
        assert book.today() == TODAY
        results = book.open_chart(["USD"], cod=True, loans=True)
        results += book.submit_many(_history(book))
        assert all(isinstance(r, Accepted) for r in results), [
            r for r in results if isinstance(r, Rejected)
        ]
    return path


class Probe:
    """The ledger under test, on a copy of the prepared file, and a read-only connection
    to that file to see what a call changed."""

    def __init__(self, prepared: Path, path: Path) -> None:
        shutil.copyfile(prepared, path)
        self.path = path
        self.book = Ledger.open(path, clock=ManualClock(NOW), create=False)
        self.raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)

    def fingerprint(self) -> tuple[object, ...]:
        """Row counts of the log's tables, a digest of the accounts table, and the head."""
        counts = [
            self.raw.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for table in ("events", "commands", "account_postings")
        ]
        accounts = self.raw.execute("SELECT * FROM accounts ORDER BY id").fetchall()
        digest = hashlib.sha256(repr(accounts).encode()).hexdigest()
        return (*counts, digest, self.book.head())

    def commands_logged(self) -> int:
        return int(self.raw.execute("SELECT count(*) FROM commands").fetchone()[0])

    def close(self) -> None:
        """Close both, after checking the file is whole and the ledger verifies."""
        assert self.raw.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        report = verify(self.book)
        assert report.ok, report.findings
        self.raw.close()
        self.book.close()


@pytest.fixture
def probe(prepared: Path, tmp_path: Path) -> Iterator[Probe]:
    opened = Probe(prepared, tmp_path / "ledger.db")
    yield opened
    opened.close()


# --- what each test counts, recorded once per test ------------------------------------


@attrs.define
class Tally:
    outcomes: Counter[str] = attrs.field(factory=Counter)
    codes: set[str] = attrs.field(factory=set)
    seconds: float = 0.0


TALLIES: dict[str, Tally] = {}


@pytest.fixture(scope="module", autouse=True)
def _record_figures() -> Iterator[None]:
    yield
    for test, tally in sorted(TALLIES.items()):
        record(
            test,
            rounds=tally.outcomes.total(),
            lost=None,
            codes=len(tally.codes),
            seconds=round(tally.seconds, 1),
            **dict(sorted(tally.outcomes.items())),
        )


# --- hostile values -------------------------------------------------------------------


class Sneaky(str):
    """A str subclass: it passes ``isinstance(x, str)`` but is not plain data."""


class Count(int):
    """An int subclass: ``isinstance(x, int)`` but not an int."""


class NoOffset(tzinfo):
    """A tzinfo whose datetimes are naive by Python's own rule: utcoffset() is None."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None

    def dst(self, dt: datetime | None) -> timedelta | None:
        return None

    def tzname(self, dt: datetime | None) -> str | None:
        return None


class Opaque:
    """An object of no type the API knows."""

    def __repr__(self) -> str:
        return "Opaque()"


EDGE_OFFSET = timedelta(hours=23, minutes=59)
OFFSETS = st.timedeltas(min_value=-EDGE_OFFSET, max_value=EDGE_OFFSET).map(timezone)
ZONES = st.sampled_from(
    [
        UTC,
        ZoneInfo("Asia/Bangkok"),
        ZoneInfo("Pacific/Kiritimati"),  # +14
        ZoneInfo("Etc/GMT+12"),  # -12
        ZoneInfo("America/New_York"),  # gaps and folds
    ]
)
ODD_TZ = st.sampled_from([tzinfo(), NoOffset()])
"""A bare tzinfo (its utcoffset raises NotImplementedError) and one that gives no offset."""

FLOATS = st.one_of(
    st.floats(),
    st.sampled_from([0.0, -0.0, float("nan"), float("inf"), float("-inf"), 1.5, 1e308, 5e-324]),
)
HUGE_INTS = st.sampled_from(
    [2**63 - 1, 2**63, 2**64, 10**40, -(2**63), -(2**63) - 1, -(10**40), -1, 0]
)
OTHER_NUMBERS = st.sampled_from(
    [Decimal("1"), Decimal("NaN"), Decimal("-0"), Fraction(1, 3), 1j, Count(5)]
)
CONTAINERS = st.one_of(
    st.lists(st.integers(), max_size=3),
    st.tuples(st.text(max_size=3)),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.frozensets(st.integers(), max_size=2),
    st.sampled_from([[], (), {}, set(), b"", bytearray(b"x"), range(3), MappingProxyType({})]),
)
NAIVE = st.datetimes()
AWARE = st.datetimes(timezones=st.one_of(OFFSETS, ZONES))
EDGE_DATETIMES = st.sampled_from(
    [
        datetime.min.replace(tzinfo=UTC),
        datetime.max.replace(tzinfo=UTC),
        datetime.min.replace(tzinfo=timezone(EDGE_OFFSET)),
        datetime.max.replace(tzinfo=timezone(-EDGE_OFFSET)),
        datetime(1, 1, 1, tzinfo=timezone(-EDGE_OFFSET)),
        datetime(9999, 12, 31, 23, 59, 59, 999_999, tzinfo=timezone(EDGE_OFFSET)),
        datetime(2026, 3, 8, 2, 30, tzinfo=ZoneInfo("America/New_York")),  # does not exist
        datetime(2026, 11, 1, 1, 30, fold=1, tzinfo=ZoneInfo("America/New_York")),
        NOW.replace(tzinfo=None),
    ]
)
ODD_DATETIMES = st.builds(lambda when, tz: when.replace(tzinfo=tz), NAIVE, ODD_TZ)

ANYTHING = st.one_of(
    st.none(),
    st.booleans(),
    FLOATS,
    HUGE_INTS,
    st.integers(),
    st.binary(max_size=8),
    OTHER_NUMBERS,
    CONTAINERS,
    st.just(Opaque()),
    st.dates(),
    NAIVE,
    AWARE,
    st.timedeltas(),
    st.just(Debit("wallet:U1", 1)),
)
"""Values of the wrong type anywhere."""
HASHABLE = st.one_of(
    st.none(), st.booleans(), FLOATS, HUGE_INTS, st.binary(max_size=4), st.dates(), OTHER_NUMBERS
)
"""Wrong values that can be dict keys."""

LONG_TEXT = st.sampled_from([129, 1_000, 100_000]).flatmap(
    lambda n: st.sampled_from(["x" * n, "\x00" * n, "wallet:" + "9" * n])
)
WEIRD_TEXT = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "\x00",
            "wallet:U1\x00",
            "\x00wallet:U1",
            "\ud800",
            "wallet:\udfff",
            "U1\ud800\udc00",  # a surrogate pair, as two code points
            "\u202ewallet:U1",  # right-to-left override
            "\uff57allet:U1",  # fullwidth w
            "wallet:U1\n",
            "wallet: U1",
            "WALLET:U1",
            "wallet:U1 ",
            "wallet:*",
            "wallet:%",
            "' OR 1=1 --",
            "\U0001f4b8",
            "x" * 128,
        ]
    ),
    LONG_TEXT,
    st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3),
    st.text(max_size=12),
    st.builds(Sneaky, st.sampled_from(["wallet:U1", "M1", "O2", "L1", "H1", "THB", "hx-1"])),
)
"""Text no id, account or memo should take as it is."""


# --- how each field of each command is drawn ------------------------------------------


@attrs.frozen
class Field:
    """How one field is drawn: ``valid`` values, of the right type though the ledger may
    still refuse them (a frozen wallet, an unknown order), and ``hostile`` ones."""

    valid: st.SearchStrategy[Any]
    hostile: st.SearchStrategy[Any]


_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.-"
FRESH_IDS = st.text(_ID_CHARS, min_size=1, max_size=12).map("hx-".__add__)


def text(*pool: str, fresh: bool = False) -> Field:
    """A text field whose valid values are ``pool`` (and new ids, with ``fresh``)."""
    valid = st.sampled_from(pool)
    return Field(valid | FRESH_IDS if fresh else valid, WEIRD_TEXT | ANYTHING)


def optional_text(*pool: str) -> Field:
    return Field(st.none() | st.sampled_from(pool), WEIRD_TEXT | ANYTHING)


ID = Field(FRESH_IDS | st.sampled_from(USED_IDS), WEIRD_TEXT | ANYTHING)
WALLET = text(*WALLETS, FROZEN, CLOSED, USD_WALLET, MERCHANT_WALLET, "bank:trust", "wallet:NOPE")
ACCOUNT = text(*ACCOUNTS, fresh=True)
MEMO = Field(st.sampled_from(["", "lunch", "x" * 500]), WEIRD_TEXT | ANYTHING)
CURRENCY = Field(
    st.sampled_from(["THB", "USD", *sorted(CURRENCIES)[:3], "XXX", "ZZZ", "thb", "THB "]),
    WEIRD_TEXT | ANYTHING,
)

AMOUNTS = st.one_of(
    st.integers(0, 100_000),
    st.sampled_from([1, 10**12, AMOUNT_MAX_MINOR - 1, AMOUNT_MAX_MINOR]),
)
BAD_AMOUNTS = st.one_of(
    HUGE_INTS,
    st.integers(max_value=0),
    st.integers(min_value=AMOUNT_MAX_MINOR + 1),
    st.booleans(),
    FLOATS,
    OTHER_NUMBERS,
    st.sampled_from(["100", "1.00", "", None, Count(1_000)]),
)
AMOUNT = Field(AMOUNTS, BAD_AMOUNTS | ANYTHING)
OPTIONAL_AMOUNT = Field(st.none() | AMOUNTS, BAD_AMOUNTS | ANYTHING)
COUNT = Field(
    st.integers(0, 200) | st.sampled_from([2_500, 10_000, 10_001]),
    st.one_of(HUGE_INTS, st.booleans(), FLOATS, st.sampled_from(["3", Count(3), None])) | ANYTHING,
)
FLAG = Field(st.booleans(), st.sampled_from([0, 1, "true", "", None, 1.0, Count(1)]) | ANYTHING)

INSTANTS = st.sampled_from(
    [
        NOW,
        NOW + timedelta(hours=1),
        NOW + timedelta(days=1),
        NOW + timedelta(days=400),
        NOW - timedelta(seconds=1),
        NOW - timedelta(days=1),
        NOW - timedelta(days=400),
        NOW.astimezone(ZoneInfo("Asia/Bangkok")) + timedelta(days=2),
        NOW.astimezone(timezone(-EDGE_OFFSET)),
    ]
)
BAD_INSTANTS = st.one_of(
    EDGE_DATETIMES,
    AWARE,
    ODD_DATETIMES,
    NAIVE,
    st.dates(),
    st.sampled_from([NOW.isoformat(), NOW.timestamp(), int(NOW.timestamp()), None]),
)
INSTANT = Field(INSTANTS, BAD_INSTANTS | ANYTHING)
OPTIONAL_INSTANT = Field(st.none() | INSTANTS, BAD_INSTANTS | ANYTHING)

DAYS = st.sampled_from(
    [
        TODAY,
        TODAY - timedelta(days=1),
        TODAY + timedelta(days=1),
        TODAY + timedelta(days=7),
        TODAY + timedelta(days=14),
        months_before(TODAY, -1),
        months_before(TODAY, -2),
        months_before(TODAY, -3),
        months_before(TODAY, 1),
    ]
)
BAD_DAYS = st.one_of(
    st.dates(),
    st.datetimes(),
    AWARE,
    st.sampled_from([date.min, date.max, "2026-12-01", 20261201, TODAY.toordinal(), None]),
)
DAY = Field(DAYS, BAD_DAYS | ANYTHING)

METADATA = Field(
    st.one_of(
        st.just({}),
        st.dictionaries(
            st.text(_ID_CHARS, min_size=1, max_size=8), st.text("abc XYZ-", max_size=8), max_size=3
        ),
    ),
    st.one_of(
        st.dictionaries(WEIRD_TEXT | HASHABLE, WEIRD_TEXT | ANYTHING, max_size=3),
        st.sampled_from(
            [
                {1: "a"},
                {"a": 1},
                {"a": None},
                {"\ud800": "x"},
                {"x": "\udfff"},
                {"": ""},
                {"k\x00": "v\x00"},
                [("a", "b")],
                "a=b",
                MappingProxyType({"a": "b"}),
                {f"k{i}": "v" for i in range(1_000)},
                {"k": "v" * 100_000},
                {Sneaky("k"): "v"},
                {"k": Sneaky("v")},
            ]
        ),
        ANYTHING,
    ),
)


@attrs.frozen
class Build:
    """A constructor call made when the example runs (a command, a leg, a policy): the
    constructor's refusal is part of what is tested."""

    make: Callable[..., Any]
    kwargs: Mapping[str, Any]

    def __call__(self) -> Any:
        return self.make(**{name: materialise(value) for name, value in self.kwargs.items()})


def materialise(value: Any) -> Any:
    """``value`` with every ``Build`` in it (at the top, or in a list) called."""
    if isinstance(value, Build):
        return value()
    if type(value) is list:
        return [materialise(item) for item in value]
    return value


def _leg(side: type[Debit | Credit], account: object, amount: object, currency: object) -> Build:
    kwargs = {"account": account, "amount_minor": amount}
    if currency is not _NO_CURRENCY:
        kwargs["currency"] = currency
    return Build(side, kwargs)


_NO_CURRENCY = object()
LEG_CURRENCY = st.sampled_from([_NO_CURRENCY, None, "THB", "USD", "XXX"]) | CURRENCY.hostile
LEGS = st.builds(
    _leg,
    st.sampled_from([Debit, Credit]),
    ACCOUNT.valid | ACCOUNT.hostile,
    AMOUNT.valid | AMOUNT.hostile,
    LEG_CURRENCY,
)


@st.composite
def balanced_pair(draw: st.DrawFn) -> list[Build]:
    """A debit and a credit of one amount: different accounts or the same, one currency or
    two. Some are accepted, most get deep into the entry's checks."""
    amount = draw(AMOUNTS)
    debit, credit = draw(ACCOUNT.valid), draw(st.sampled_from([*ACCOUNTS, "wallet:U1"]))
    if draw(st.booleans()):
        credit = debit  # one account on both sides
    return [_leg(Debit, debit, amount, _NO_CURRENCY), _leg(Credit, credit, amount, _NO_CURRENCY)]


OVERFLOWING = [
    _leg(Debit, "bank:trust", AMOUNT_MAX_MINOR, _NO_CURRENCY),
    _leg(Debit, "bank:trust", AMOUNT_MAX_MINOR, _NO_CURRENCY),
    _leg(Credit, "wallet:U1", AMOUNT_MAX_MINOR, _NO_CURRENCY),
    _leg(Credit, "wallet:U1", AMOUNT_MAX_MINOR, _NO_CURRENCY),
]
MANY_LEGS = [_leg(Debit, "bank:trust", 1, "THB")] * 1_000 + [
    _leg(Credit, "equity:capital", 1, "THB")
] * 1_000
POSTINGS = Field(
    st.one_of(balanced_pair(), st.lists(LEGS, max_size=6)),
    st.one_of(
        st.sampled_from([OVERFLOWING, MANY_LEGS, [], "", b"", None, 5]),
        st.lists(ANYTHING | LEGS, min_size=1, max_size=3),
        st.just([{"account": "bank:trust", "amount_minor": 1, "side": "debit"}]),
        ANYTHING,
    ),
)
ORDER_LIST = Field(
    st.lists(st.sampled_from(ORDERS), min_size=1, max_size=3),
    st.one_of(
        st.lists(WEIRD_TEXT | ANYTHING | st.sampled_from(ORDERS), max_size=4),
        st.sampled_from(
            [
                [],
                ["O2", "O2"],
                "O2",
                b"O2",
                frozenset({"O2"}),
                ("O2",),
                {"O2": 1},
                [f"O{i}" for i in range(5_000)],
            ]
        ),
        ANYTHING,
    ),
)


def choice(*pool: str) -> Field:
    """A field with a few valid words, and near misses of them among the valid draws."""
    near = [p.upper() for p in pool] + [p + " " for p in pool] + ["other"]
    return Field(st.sampled_from(pool) | st.sampled_from(near), WEIRD_TEXT | ANYTHING)


SPECS: dict[type[Command], dict[str, Field]] = {
    OpenAccount: {
        "id": ID,
        "account": ACCOUNT,
        "type": choice(*[t.value for t in AccountType]),
        "currency": CURRENCY,
        "no_overdraft": FLAG,
        "max_balance_minor": OPTIONAL_AMOUNT,
        "metadata": METADATA,
        "subject": optional_text("C1", "C2", "0812345678"),
    },
    FreezeAccount: {"id": ID, "account": ACCOUNT, "reason": MEMO},
    UnfreezeAccount: {"id": ID, "account": ACCOUNT, "reason": MEMO},
    CloseAccount: {"id": ID, "account": ACCOUNT},
    PostEntry: {
        "id": ID,
        "kind": choice("adjustment", "top_up", "payment", "p2p"),
        "postings": POSTINGS,
        "memo": MEMO,
        "metadata": METADATA,
        "effective_at": OPTIONAL_INSTANT,
        "backdated": FLAG,
    },
    ClosePeriod: {"id": ID, "through": INSTANT, "memo": MEMO},
    Reverse: {
        "id": ID,
        "entry_id": text("entry-1", "capital", "p2p-1", "pay-1", "hold-1", "fx-1", "nope"),
        "memo": MEMO,
    },
    TopUp: {
        "id": ID,
        "wallet": WALLET,
        "amount_minor": AMOUNT,
        "channel": choice(*TOP_UP_CHANNELS),
        "funding_account": optional_text(*ACCOUNTS),
        "fee_minor": AMOUNT,
        "metadata": METADATA,
    },
    SettleAgent: {"id": ID, "agent": text(*AGENTS, "A404", *MERCHANTS), "amount_minor": AMOUNT},
    Pay: {
        "id": ID,
        "wallet": WALLET,
        "merchant": text(*MERCHANTS),
        "amount_minor": AMOUNT,
        "fee_minor": AMOUNT,
        "reference": MEMO,
    },
    PayBill: {
        "id": ID,
        "wallet": WALLET,
        "biller": text(*BILLERS, *MERCHANTS),
        "bill_reference": text("INV-1", "INV-2", fresh=True),
        "amount_minor": AMOUNT,
        "fee_minor": AMOUNT,
        "partial": FLAG,
    },
    Refund: {
        "id": ID,
        "payment": text("pay-1", "p2p-1", "bill-1", "nope"),
        "amount_minor": OPTIONAL_AMOUNT,
    },
    Transfer: {
        "id": ID,
        "source": WALLET,
        "destination": WALLET,
        "amount_minor": AMOUNT,
        "memo": MEMO,
    },
    Withdraw: {"id": ID, "wallet": WALLET, "amount_minor": AMOUNT, "fee_minor": AMOUNT},
    Exchange: {
        "id": ID,
        "source": WALLET,
        "destination": WALLET,
        "sell_amount_minor": AMOUNT,
        "buy_amount_minor": AMOUNT,
    },
    PlaceHold: {
        "id": ID,
        "hold": text(*HOLDS, fresh=True),
        "wallet": WALLET,
        "destination": ACCOUNT,
        "amount_minor": AMOUNT,
        "expires_at": INSTANT,
    },
    CaptureHold: {"id": ID, "hold": text(*HOLDS), "amount_minor": OPTIONAL_AMOUNT},
    ReleaseHold: {"id": ID, "hold": text(*HOLDS)},
    ExpireHolds: {"id": ID, "as_of": INSTANT},
    DefineTier: {
        "id": ID,
        "tier": text(*TIERS, fresh=True),
        "max_balance_minor": OPTIONAL_AMOUNT,
        "per_transaction_max_minor": OPTIONAL_AMOUNT,
        "daily_outflow_max_minor": OPTIONAL_AMOUNT,
        "monthly_outflow_max_minor": OPTIONAL_AMOUNT,
    },
    AssignTier: {"id": ID, "wallet": WALLET, "tier": text(*TIERS)},
    CodDelivered: {
        "id": ID,
        "order": text(*ORDERS, fresh=True),
        "courier": text(*COURIERS, "K404", "S1"),
        "merchant": text(*MERCHANTS, "K1"),
        "amount_minor": AMOUNT,
        "commission_minor": AMOUNT,
        "shipping_minor": AMOUNT,
        "courier_fee_minor": AMOUNT,
    },
    CodRemitted: {
        "id": ID,
        "remittance": text("R1", fresh=True),
        "courier": text(*COURIERS, "K404"),
        "orders": ORDER_LIST,
        "amount_minor": AMOUNT,
    },
    CodReleased: {"id": ID, "as_of": INSTANT},
    PayoutMerchant: {"id": ID, "merchant": text(*MERCHANTS), "to": choice(*PAYOUT_DESTINATIONS)},
    CodReturned: {"id": ID, "order": text(*ORDERS), "refund_commission": FLAG},
    CodRefunded: {"id": ID, "order": text(*ORDERS), "wallet": optional_text(*WALLETS, FROZEN)},
    CodDeliveryFailed: {
        "id": ID,
        "order": text(*ORDERS, fresh=True),
        "rto_fee_minor": AMOUNT,
        "merchant": optional_text(*MERCHANTS),
        "courier": optional_text(*COURIERS, "K404"),
    },
    ResolveDispute: {
        "id": ID,
        "courier": text(*COURIERS, "K404"),
        "amount_minor": AMOUNT,
        "outcome": choice(*DISPUTE_OUTCOMES),
    },
    DisburseLoan: {
        "id": ID,
        "loan": text(*LOANS, fresh=True),
        "borrower": text("U1", "U3", "U4", fresh=True),
        "wallet": WALLET,
        "principal_minor": AMOUNT,
        "annual_rate_bps": COUNT,
        "installments": COUNT,
        "first_due": DAY,
        "frequency": choice(*LOAN_FREQUENCIES),
        "fee_minor": AMOUNT,
    },
    AccrueInterest: {"id": ID, "as_of": DAY},
    RepayLoan: {
        "id": ID,
        "loan": text(*LOANS),
        "amount_minor": AMOUNT,
        "wallet": optional_text(*WALLETS, FROZEN),
    },
    ProvisionLoans: {"id": ID, "as_of": DAY},
    WriteOffLoan: {"id": ID, "loan": text(*LOANS)},
    RecoverLoan: {"id": ID, "loan": text(*LOANS), "amount_minor": AMOUNT, "from_bank": FLAG},
    RestructureLoan: {"id": ID, "loan": text(*LOANS), "installments": COUNT, "first_due": DAY},
    EraseSubject: {"id": ID, "subject": text("C1", "nobody", "0812345678"), "reason": MEMO},
}
SAME_ACCOUNT: dict[type[Command], tuple[str, str]] = {
    Transfer: ("source", "destination"),
    Exchange: ("source", "destination"),
    PlaceHold: ("wallet", "destination"),
    TopUp: ("wallet", "funding_account"),
    CodDelivered: ("courier", "merchant"),
}
"""Fields an example may give one value: the same account (or party) on both sides."""
COMMANDS = sorted(
    (
        value
        for name in ledger.__all__
        if isinstance(value := getattr(ledger, name), type)
        and issubclass(value, Command)
        and value is not Command
    ),
    key=lambda cls: cls.__name__,
)
CUSTOM = {cls: type(f"Custom{cls.__name__}", (cls,), {}) for cls in COMMANDS}
"""A subclass of each command: built like it, but no command the ledger knows."""


@st.composite
def recipes(draw: st.DrawFn, cls: type[Command]) -> Build:
    """A ``cls`` to build: up to three fields hostile, the rest valid or left out."""
    spec = SPECS[cls]
    defaults = {f.name for f in attrs.fields(cls) if f.default is not attrs.NOTHING}
    hostile = draw(st.sets(st.sampled_from(sorted(spec)), max_size=3))
    kwargs: dict[str, Any] = {}
    for name, field in spec.items():
        if name in hostile:
            kwargs[name] = draw(field.hostile)
        elif name not in defaults or draw(st.booleans()):
            kwargs[name] = draw(field.valid)
    pair = SAME_ACCOUNT.get(cls)
    if pair is not None and pair[0] in kwargs and draw(st.integers(0, 3)) == 3:
        kwargs[pair[1]] = kwargs[pair[0]]
    make = CUSTOM[cls] if draw(st.integers(0, 29)) == 29 else cls  # shrinks to cls
    return Build(make, kwargs)


_companions = itertools.count()


def companion() -> Build:
    """A well-formed top-up under a new id: accepted alone, so a batch it is in shows
    whether the batch was written, rolled back, or half written."""
    return Build(
        TopUp,
        {
            "id": f"ok-{next(_companions)}",
            "wallet": "wallet:U2",
            "amount_minor": 100,
            "channel": "bank",
        },
    )


NOT_COMMANDS = st.sampled_from(
    [None, "TopUp", {"id": "x"}, Debit("wallet:U1", 1), 5, Opaque(), Accepted("x", 1)]
)
"""Things that are not commands, where a command goes in a batch."""


# --- the checks each example makes ----------------------------------------------------


def submit_and_check(probe: Probe, items: list[Any], mode: str, tally: Tally) -> None:
    """Build ``items`` and submit them (``mode``: submit, many or linked); check the answer
    and what changed in the file."""
    book = probe.book
    before, logged = probe.fingerprint(), probe.commands_logged()
    try:
        commands = [materialise(item) for item in items]
    except LedgerError as exc:
        note(f"refused when built: {exc!r}")
        tally.outcomes["refused"] += 1
        return
    note(f"commands: {commands!r}")
    try:
        if mode == "submit":
            results = [book.submit(commands[0])]
        else:
            results = book.submit_many(commands, linked=mode == "linked")
    except LedgerError as exc:
        note(f"raised: {exc!r}")
        assert probe.fingerprint() == before, f"{type(exc).__name__} raised, yet rows changed"
        tally.outcomes["raised"] += 1
        return
    assert len(results) == len(commands), "one result per command"
    for command, result in zip(commands, results, strict=True):
        assert isinstance(result, Accepted | Rejected), f"not a Result: {result!r}"
        assert result.id == command.id, f"result {result!r} for command id {command.id!r}"
        if isinstance(result, Rejected):
            tally.codes.add(result.code.value)
    new = [r for r in results if isinstance(r, Accepted) and not r.replayed]
    if mode == "linked" and any(isinstance(r, Rejected) for r in results):
        assert not new, f"a linked batch with a rejection wrote some of it: {results!r}"
    if not new:
        assert probe.fingerprint() == before, (
            f"nothing new was accepted, yet rows changed: {results}"
        )
    else:
        assert book.head()[0] == max(r.seq for r in new), "the head is the last accepted seq"
        assert probe.commands_logged() == logged + len(new), "one index row per new command"
    tally.outcomes[_outcome(results)] += 1


def _outcome(results: list[Accepted | Rejected]) -> str:
    """What the example's hostile commands got (the well-formed companions, ids ``ok-``,
    aside)."""
    own = [r for r in results if not r.id.startswith("ok-")]
    if not own:
        return "companions only"
    if any(isinstance(r, Accepted) and not r.replayed for r in own):
        return "accepted"
    return "rejected" if any(isinstance(r, Rejected) for r in own) else "replayed"


def _tally(test: str) -> Tally:
    return TALLIES.setdefault(test, Tally())


SHORT = settings(
    max_examples=EXAMPLES,
    print_blob=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- the tests ------------------------------------------------------------------------


def test_every_public_command_has_a_hostile_spec_of_its_fields() -> None:
    assert set(SPECS) == set(COMMANDS), "a command without a spec here is never fuzzed"
    for cls, spec in SPECS.items():
        fields = {f.name for f in attrs.fields(cls) if f.init}
        assert set(spec) == fields, f"{cls.__name__}: spec {sorted(spec)} != fields {fields}"


@pytest.mark.parametrize("cls", COMMANDS, ids=lambda cls: cls.__name__)
def test_a_hostile_command_gets_a_rejection_or_a_ledger_error_and_writes_nothing(
    cls: type[Command], probe: Probe
) -> None:
    tally = _tally("hostile_commands")
    started = time.perf_counter()

    @SHORT
    @given(
        recipe=recipes(cls),
        mode=st.sampled_from(["submit", "many", "linked"]),
        before=st.booleans(),
        after=st.booleans(),
    )
    def run(recipe: Build, mode: str, before: bool, after: bool) -> None:
        items: list[Any] = [recipe]
        if mode != "submit":
            items = [companion()] * before + items + [companion()] * after
        submit_and_check(probe, items, mode, tally)

    try:
        run()
    finally:
        tally.seconds += time.perf_counter() - started


@st.composite
def batches(draw: st.DrawFn) -> list[Any]:
    """One to four commands of any classes, well-formed top-ups and non-commands mixed in."""
    size = draw(st.integers(1, 4))
    items: list[Any] = []
    for _ in range(size):
        kind = draw(st.integers(0, 9))
        if kind == 0:
            items.append(draw(NOT_COMMANDS))
        elif kind <= 2:
            items.append(companion())
        else:
            items.append(draw(st.sampled_from(COMMANDS).flatmap(recipes)))
    return items


@pytest.mark.parametrize("mode", ["many", "linked"])
def test_a_batch_of_hostile_commands_is_answered_command_by_command_or_not_at_all(
    mode: str, probe: Probe
) -> None:
    tally = _tally("hostile_batches")
    started = time.perf_counter()

    @settings(SHORT, max_examples=scale(150, 8_000))
    @given(items=batches())
    def run(items: list[Any]) -> None:
        submit_and_check(probe, items, mode, tally)

    try:
        run()
        for container in (None, 5, Opaque(), "TopUp", b"x", [[companion()()]]):
            with pytest.raises(LedgerError):
                probe.book.submit_many(container)  # type: ignore[arg-type]
    finally:
        tally.seconds += time.perf_counter() - started


ACCOUNT_ARG = ACCOUNT.valid | WEIRD_TEXT | ANYTHING
SEQS = st.integers(0, 200) | HUGE_INTS
READS: dict[str, st.SearchStrategy[tuple[tuple[Any, ...], dict[str, Any]]]] = {
    "account": st.tuples(st.tuples(ACCOUNT_ARG), st.just({})),
    "balance": st.tuples(
        st.tuples(ACCOUNT_ARG),
        st.fixed_dictionaries(
            {}, optional={"as_of": st.one_of(SEQS, INSTANTS, BAD_INSTANTS, DAYS, ANYTHING)}
        ),
    ),
    "events": st.tuples(
        st.just(()),
        st.fixed_dictionaries(
            {},
            optional={
                "after": st.one_of(SEQS, ANYTHING),
                "limit": st.one_of(st.none(), st.integers(0, 50), HUGE_INTS, ANYTHING),
            },
        ),
    ),
    "loan": st.tuples(
        st.tuples(st.sampled_from(LOANS) | WEIRD_TEXT | ANYTHING),
        st.fixed_dictionaries({}, optional={"as_of": st.none() | DAYS | BAD_DAYS | ANYTHING}),
    ),
    "loans": st.tuples(
        st.just(()),
        st.fixed_dictionaries({}, optional={"as_of": st.none() | DAYS | BAD_DAYS | ANYTHING}),
    ),
    "head": st.just(((), {})),
    "balances": st.just(((), {})),
    "today": st.just(((), {})),
}
ANSWERS: dict[str, Callable[[Any], bool]] = {
    "account": lambda a: isinstance(a, Account),
    "balance": lambda b: isinstance(b, Balance),
    "events": lambda es: all(isinstance(e, RecordedEvent) for e in es),
    "loan": lambda loan: isinstance(loan, Loan),
    "loans": lambda ls: isinstance(ls, list),
    "head": lambda h: isinstance(h, tuple) and len(h) == 2,
    "balances": lambda bs: all(isinstance(b, Balance) for b in bs),
    "today": lambda d: type(d) is date,
}


def test_the_read_methods_answer_hostile_arguments_with_a_ledger_error_and_write_nothing(
    probe: Probe,
) -> None:
    tally = _tally("hostile_reads")
    started = time.perf_counter()

    @settings(SHORT, max_examples=scale(400, 20_000))
    @given(
        call=st.sampled_from(sorted(READS)).flatmap(
            lambda name: st.tuples(st.just(name), READS[name])
        ),
        in_snapshot=st.booleans(),
    )
    def run(call: tuple[str, tuple[tuple[Any, ...], dict[str, Any]]], in_snapshot: bool) -> None:
        name, (args, kwargs) = call
        before = probe.fingerprint()
        try:
            if in_snapshot:
                with probe.book.snapshot():
                    answer = getattr(probe.book, name)(*args, **kwargs)
                    if name == "events":
                        answer = list(itertools.islice(answer, 2_000))
            else:
                answer = getattr(probe.book, name)(*args, **kwargs)
                if name == "events":
                    answer = list(itertools.islice(answer, 2_000))
        except LedgerError as exc:
            note(f"raised: {exc!r}")
            tally.outcomes["raised"] += 1
        else:
            assert ANSWERS[name](answer), f"{name} answered {answer!r}"
            tally.outcomes["answered"] += 1
        assert probe.fingerprint() == before, f"a read ({name}) changed the file"

    try:
        run()
    finally:
        tally.seconds += time.perf_counter() - started


def _clock_of(value: object) -> Callable[[], object]:
    return lambda: value


CLOCKS = st.one_of(
    st.sampled_from([ManualClock(NOW), ManualClock(NOW + timedelta(days=1))]),
    st.one_of(
        EDGE_DATETIMES, AWARE, ODD_DATETIMES, NAIVE, st.dates(), st.none(), FLOATS, ANYTHING
    ).map(_clock_of),
)
"""Clocks, most of them returning what no clock should: the clock is the caller's too."""
OPEN_ARGS: dict[str, Field] = {
    "clock": Field(st.sampled_from([ManualClock(NOW), None]), CLOCKS | ANYTHING),
    "durability": Field(
        st.sampled_from(["full", "normal"]),
        st.sampled_from(["off", "FULL", "", "full\x00", None, 1]) | WEIRD_TEXT | ANYTHING,
    ),
    "busy_timeout_ms": Field(st.sampled_from([0, 1, 5_000]), BAD_AMOUNTS | ANYTHING),
    "backdate_limit": Field(
        st.sampled_from([None, timedelta(0), timedelta(days=1), timedelta(days=3_650)]),
        st.one_of(
            st.timedeltas(),
            st.sampled_from([timedelta.max, timedelta.min, -timedelta(days=1), 5, "1d"]),
            ANYTHING,
        ),
    ),
    "create": Field(st.booleans(), st.sampled_from(["no", None, 0, 1.5]) | ANYTHING),
    "chart": Field(
        st.sampled_from([None, Chart()]),
        st.one_of(
            st.builds(
                lambda name, value: Build(Chart, {name: value}),
                st.sampled_from(["currency", "bank_trust", "fee_income", "merchant_payable"]),
                st.sampled_from(["wallet:U1", "XXX", "USD", "m:{merchant}:{merchant}", "{}"])
                | WEIRD_TEXT
                | ANYTHING,
            ),
            ANYTHING,
        ),
    ),
    "timezone": Field(
        st.sampled_from(["Asia/Bangkok", "UTC", "America/New_York", ZoneInfo("Pacific/Kiritimati")])
        | OFFSETS,
        st.one_of(
            st.sampled_from(
                [
                    "",
                    "Nowhere/City",
                    "../../etc/passwd",
                    "/etc/localtime",
                    "Asia/Bangkok\x00",
                    "Asia/Bangkok\ud800",
                    "America",  # a directory of the tz database
                    "Etc",
                    "x" * 256,  # longer than a file name may be
                    tzinfo(),
                    NoOffset(),
                ]
            ),
            WEIRD_TEXT,
            ANYTHING,
        ),
    ),
    "cod": Field(
        st.sampled_from([None, CodPolicy()]),
        st.one_of(
            st.builds(
                lambda window, rate: Build(
                    CodPolicy, {"return_window": window, "vat_rate_bps": rate}
                ),
                st.timedeltas() | ANYTHING,
                COUNT.valid | COUNT.hostile,
            ),
            ANYTHING,
        ),
    ),
    "loans": Field(
        st.sampled_from([None, LoanPolicy()]),
        st.one_of(
            st.builds(
                lambda name, value: Build(LoanPolicy, {name: value}),
                st.sampled_from(
                    ["borrower_limit_minor", "annual_cap_bps", "cure_payments", "provision_bps"]
                ),
                COUNT.valid | COUNT.hostile | st.tuples(COUNT.valid, COUNT.valid, COUNT.valid),
            ),
            ANYTHING,
        ),
    ),
}


@st.composite
def open_kwargs(draw: st.DrawFn) -> dict[str, Any]:
    hostile = draw(st.sets(st.sampled_from(sorted(OPEN_ARGS)), min_size=1, max_size=2))
    kwargs: dict[str, Any] = {}
    for name, field in OPEN_ARGS.items():
        if name in hostile:
            kwargs[name] = draw(field.hostile)
        elif draw(st.booleans()):
            kwargs[name] = draw(field.valid)
    return kwargs


def _use(book: Ledger) -> list[object]:
    """What a freshly opened ledger is asked first: the day, a top-up, a payment under a
    tier, a backdated entry, an accrual, a read."""
    answers: list[object] = [book.today()]
    answers += book.submit_many(
        [
            materialise(companion()),
            Pay(
                id=f"ok-pay-{next(_companions)}", wallet="wallet:U4", merchant="M1", amount_minor=1
            ),
            PostEntry(
                id=f"ok-entry-{next(_companions)}",
                kind="adjustment",
                postings=[Debit("bank:trust", 1), Credit("equity:capital", 1)],
                effective_at=NOW - timedelta(days=1),
            ),
        ]
    )
    answers.append(book.submit(AccrueInterest(id=f"ok-acc-{next(_companions)}", as_of=TODAY)))
    answers.append(book.balance("wallet:U4"))
    answers.append(book.loans())
    return answers


def test_opening_with_hostile_arguments_is_a_ledger_error_or_a_ledger_that_works(
    probe: Probe,
) -> None:
    tally = _tally("hostile_open")
    started = time.perf_counter()

    @settings(SHORT, max_examples=scale(200, 8_000))
    @given(kwargs=open_kwargs())
    def run(kwargs: dict[str, Any]) -> None:
        before = probe.fingerprint()
        try:
            values = {name: materialise(value) for name, value in kwargs.items()}
        except LedgerError:
            tally.outcomes["refused"] += 1
            return
        try:
            book = Ledger.open(probe.path, **values)
        except LedgerError as exc:
            note(f"open raised: {exc!r}")
            assert probe.fingerprint() == before, "a refused open changed the file"
            tally.outcomes["raised"] += 1
            return
        try:
            answers = _use(book)
        except LedgerError as exc:
            note(f"use raised: {exc!r}")
            tally.outcomes["raised in use"] += 1
        else:
            note(f"answers: {answers!r}")
            tally.outcomes["opened"] += 1
        finally:
            book.close()

    try:
        run()
    finally:
        tally.seconds += time.perf_counter() - started


# --- hostile values found so far, pinned ----------------------------------------------

BARE = datetime(2026, 12, 2, tzinfo=tzinfo())
"""Aware by ``.tzinfo is not None``, but its tzinfo's utcoffset raises NotImplementedError."""
OFFSETLESS = datetime(2026, 12, 2, tzinfo=NoOffset())
"""Naive by Python's rule (utcoffset() is None), though ``.tzinfo`` is set."""


def _hold(expires_at: datetime) -> Command:
    return PlaceHold(
        id="pin-hold",
        hold="H9",
        wallet="wallet:U1",
        destination="merchant:M1:payable",
        amount_minor=1,
        expires_at=expires_at,
    )


def _entry(effective_at: datetime) -> Command:
    return PostEntry(
        id="pin-entry",
        kind="adjustment",
        postings=[Debit("bank:trust", 1), Credit("equity:capital", 1)],
        effective_at=effective_at,
    )


PINNED_COMMANDS: dict[str, Callable[[], Command]] = {
    "PlaceHold.expires_at, bare tzinfo": lambda: _hold(BARE),
    "PlaceHold.expires_at, tzinfo with no offset": lambda: _hold(OFFSETLESS),
    "PostEntry.effective_at, bare tzinfo": lambda: _entry(BARE),
    "PostEntry.effective_at, tzinfo with no offset": lambda: _entry(OFFSETLESS),
    "ExpireHolds.as_of, bare tzinfo": lambda: ExpireHolds(id="pin-x", as_of=BARE),
    "ExpireHolds.as_of, tzinfo with no offset": lambda: ExpireHolds(id="pin-x", as_of=OFFSETLESS),
    "CodReleased.as_of, bare tzinfo": lambda: CodReleased(id="pin-r", as_of=BARE),
    "CodReleased.as_of, tzinfo with no offset": lambda: CodReleased(id="pin-r", as_of=OFFSETLESS),
}


@pytest.mark.parametrize("build", PINNED_COMMANDS.values(), ids=PINNED_COMMANDS.keys())
def test_a_datetime_whose_tzinfo_gives_no_offset_is_refused_when_the_command_is_built(
    build: Callable[[], Command],
) -> None:
    # a naive datetime is refused; one whose tzinfo gives no offset is naive too, and
    # must not be read in the machine's local time zone (nor raise NotImplementedError)
    with pytest.raises(InvalidCommand):
        build()


@pytest.mark.parametrize("as_of", [BARE, OFFSETLESS], ids=["bare tzinfo", "no offset"])
def test_balance_as_of_a_datetime_whose_tzinfo_gives_no_offset_is_invalid(
    probe: Probe, as_of: datetime
) -> None:
    with pytest.raises(InvalidCommand):
        probe.book.balance("wallet:U1", as_of=as_of)


ODD_CLOCKS = {
    "bare tzinfo": BARE,
    "tzinfo with no offset": OFFSETLESS,
    "9999-12-31T23:59:59.999999Z": datetime.max.replace(tzinfo=UTC),
    "0001-01-01T00:00+23:59": datetime.min.replace(tzinfo=timezone(EDGE_OFFSET)),
    "9999-12-31T23:00-23:59": datetime(9999, 12, 31, 23, tzinfo=timezone(-EDGE_OFFSET)),
}


@pytest.mark.parametrize("now", ODD_CLOCKS.values(), ids=ODD_CLOCKS.keys())
def test_a_clock_at_the_edge_of_the_calendar_or_without_offset_gets_ledger_errors(
    probe: Probe, now: datetime
) -> None:
    # the clock is the caller's too: a naive one is already a LedgerError
    book = Ledger.open(probe.path, clock=_clock_of(now), create=False)
    calls: dict[str, Callable[[], object]] = {
        "today": book.today,
        "loans": book.loans,
        "Pay": lambda: book.submit(
            Pay(id="pin-pay", wallet="wallet:U4", merchant="M1", amount_minor=1)
        ),
        "AccrueInterest": lambda: book.submit(AccrueInterest(id="pin-accrue", as_of=TODAY)),
    }
    untyped = {}
    try:
        for name, call in calls.items():
            try:
                call()
            except LedgerError:
                pass
            except Exception as exc:
                untyped[name] = repr(exc)
    finally:
        book.close()
    assert not untyped, f"exceptions that are not LedgerErrors: {untyped}"


@pytest.mark.parametrize("name", ["America", "Etc", "x" * 256], ids=["region", "Etc", "long"])
def test_a_time_zone_name_that_names_no_zone_file_is_invalid(tmp_path: Path, name: str) -> None:
    # ZoneInfo raises IsADirectoryError or OSError (not ZoneInfoNotFoundError) for these
    with pytest.raises(InvalidCommand):
        Ledger.open(tmp_path / "tz.db", timezone=name)
