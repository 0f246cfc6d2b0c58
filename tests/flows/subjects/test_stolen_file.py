"""A stolen ledger file, read-model file or export reveals no customer's personal data."""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import (
    Accepted,
    CloseAccount,
    Command,
    Credit,
    Debit,
    EraseSubject,
    FreezeAccount,
    Ledger,
    MasterKey,
    Pay,
    PayBill,
    PostEntry,
    Rejected,
    Reverse,
    TopUp,
    Transfer,
    UnfreezeAccount,
    Withdraw,
)
from ledger.accounts import AccountStatus
from ledger.audit import verify
from ledger.chart import Chart
from ledger.events import Event
from ledger.export import EXPORTERS
from ledger.keys import ERASED, is_sealed, token_subject
from ledger.personal import PERSONAL_COMMAND_FIELDS, PERSONAL_EVENT_FIELDS
from projections.runner import Runner
from tests.conftest import FakeClock, assert_accepted

KEY = MasterKey(bytes(range(32)))
CHART = Chart()
LEDGER_FILE = "ledger.db"
READ_FILE = "read.db"
MERCHANT = "M1"
BILLER = "B1"
FUNDING_MAX = 60_000
"""Top-ups and moves are drawn up to this, so some moves run out of funds (refused)."""

# --- personal values ----------------------------------------------------------------------

_FIRST = ["Somchai", "Malee", "Somsak", "Pranee", "Niran", "Kanya", "Wichai", "Sudarat"]
_LAST = ["Jaidee", "Srisuk", "Rattanakorn", "Wongsawat", "Chaiyaporn", "Boonmee"]
_THAI_NAMES = ["สมชาย ใจดี", "มาลี ศรีสุข", "สมศักดิ์ รัตนากร", "ประณี วงศ์สวัสดิ์"]
_THAI_LETTERS = [chr(c) for c in range(0x0E01, 0x0E2F)]  # ก..ฮ

tokens = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=8, max_size=8).map(
    lambda s: "pv" + s
)
"""A random mark in every value: nothing else in the files can match it by accident."""


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text("0123456789", min_size=n, max_size=n)


names = st.builds(
    lambda f, la, t: f"{f} {la} {t}", st.sampled_from(_FIRST), st.sampled_from(_LAST), tokens
)
phones = st.builds(
    lambda p, n, t: f"tel {p}{n} {t}", st.sampled_from(["06", "08", "09"]), _digits(8), tokens
)
national_ids = st.builds(lambda n, t: f"id {n} {t}", _digits(13), tokens)
emails = st.builds(
    lambda t, d: f"{t}@{d}", tokens, st.sampled_from(["example.co.th", "mail.example.com"])
)
thai = st.builds(
    lambda w, n, t: f"{n} {w} {t}",
    st.text(st.sampled_from(_THAI_LETTERS), min_size=4, max_size=10),
    st.sampled_from(_THAI_NAMES),
    tokens,
)
addresses = st.builds(lambda h, t: f"{h} ถนนสุขุมวิท กรุงเทพฯ {t}", _digits(3), tokens)
personal_values = st.one_of(names, phones, national_ids, emails, thai, addresses)
"""Realistic, greppable personal text: at most 64 characters, printable, no spaces at
either end (so every one is also a valid bill reference)."""


def needles(value: str) -> set[bytes]:
    """What a leak of ``value`` looks like in a file: its UTF-8 bytes, those of every part
    of it of 8 bytes or more (the random mark, a phone number, the Thai text), and the
    same text as JSON escapes it (``ensure_ascii``, either case of hex)."""
    parts = {value, *(p for p in value.split(" ") if len(p.encode()) >= 8)}
    found: set[bytes] = set()
    for part in parts:
        found.add(part.encode())
        escaped = json.dumps(part)[1:-1]
        found.add(escaped.encode())
        found.add(
            re.sub(r"\\u[0-9a-f]{4}", lambda m: m[0][:2] + m[0][2:].upper(), escaped).encode()
        )
    return found


# --- a scenario: customers, their wallets, and commands carrying personal text ------------

Op = tuple[Any, ...]


@attrs.frozen
class Scenario:
    pool: list[str]
    """Every personal value used; ops name them by index (so a value may recur)."""
    customers: int
    metadata: list[dict[str, int]]
    fundings: list[tuple[int, int, int]]
    """(amount, payer-name value, bank-ref value) per customer."""
    ops: list[Op]

    def value(self, n: int) -> str:
        return self.pool[n % len(self.pool)]


def _op(pool_size: int, customers: int) -> st.SearchStrategy[Op]:
    who = st.integers(0, customers - 1)
    text = st.integers(0, pool_size - 1)
    amount = st.integers(1, FUNDING_MAX)
    return st.one_of(
        st.tuples(st.just("pay"), who, amount, text),
        st.tuples(st.just("bill"), who, amount, text),
        st.tuples(st.just("transfer"), who, who, amount, text),
        st.tuples(st.just("freeze"), who, text),
        st.tuples(st.just("unfreeze"), who, text),
        st.tuples(st.just("post"), who, st.booleans(), amount, text, text),
        st.tuples(st.just("reverse"), st.integers(0, 14), text),
        # a wallet opened again (refused: it exists), with new personal metadata
        st.tuples(st.just("reopen"), who, text),
        # the same id again: identical (a replay), or its personal text changed (a conflict)
        st.tuples(st.just("again"), st.integers(0, 30), st.one_of(st.none(), text)),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    pool = draw(st.lists(personal_values, min_size=4, max_size=10))
    customers = draw(st.integers(2, 4))
    text = st.integers(0, len(pool) - 1)
    keys = st.sampled_from(["name", "phone", "national_id", "email", "address"])
    metadata = [draw(st.dictionaries(keys, text, min_size=1, max_size=3)) for _ in range(customers)]
    fundings = [draw(st.tuples(st.integers(1, FUNDING_MAX), text, text)) for _ in range(customers)]
    ops = draw(st.lists(_op(len(pool), customers), min_size=1, max_size=14))
    return Scenario(pool, customers, metadata, fundings, ops)


def wallet(n: int) -> str:
    return f"wallet:C{n + 1}"


def subject(n: int) -> str:
    return f"cust-{n + 1}"


def _with_text(command: Command, text: str) -> Command:
    """``command`` with each personal field (text or metadata values) set to ``text``."""
    changes: dict[str, Any] = {}
    for name in PERSONAL_COMMAND_FIELDS[type(command)][1]:
        old = getattr(command, name)
        changes[name] = {k: text for k in old} if isinstance(old, dict) else text
    return attrs.evolve(command, **changes)


def commands(s: Scenario) -> Iterator[Command]:
    """The scenario's commands after its setup, in order (some will be refused)."""
    sent: list[Command] = []
    for k, op in enumerate(s.ops):
        cid = f"op-{k}"
        command: Command
        match op:
            case ("pay", w, amount, t):
                command = Pay(
                    id=cid,
                    wallet=wallet(w),
                    merchant=MERCHANT,
                    amount_minor=amount,
                    reference=s.value(t),
                )
            case ("bill", w, amount, t):
                command = PayBill(
                    id=cid,
                    wallet=wallet(w),
                    biller=BILLER,
                    bill_reference=s.value(t),
                    amount_minor=amount,
                )
            case ("transfer", w, to, amount, t):
                command = Transfer(
                    id=cid,
                    source=wallet(w),
                    destination=wallet(to),
                    amount_minor=amount,
                    memo=s.value(t),
                )
            case ("freeze", w, t):
                command = FreezeAccount(id=cid, account=wallet(w), reason=s.value(t))
            case ("unfreeze", w, t):
                command = UnfreezeAccount(id=cid, account=wallet(w), reason=s.value(t))
            case ("post", w, inward, amount, t, u):
                legs = (Debit(CHART.bank_trust, amount), Credit(wallet(w), amount))
                if not inward:
                    legs = (Debit(wallet(w), amount), Credit(CHART.bank_trust, amount))
                command = PostEntry(
                    id=cid,
                    kind="adjustment",
                    postings=list(legs),
                    memo=s.value(t),
                    metadata={"note": s.value(u), "ticket": s.value(t + 1)},
                )
            case ("reverse", n, t):
                command = Reverse(id=cid, entry_id=f"op-{n}", memo=s.value(t))
            case ("reopen", w, t):
                again = CHART.open_wallet(
                    wallet(w), subject=subject(w), metadata={"name": s.value(t)}
                )
                command = attrs.evolve(again, id=cid)
            case ("again", n, t):
                if not sent:
                    continue
                earlier = sent[n % len(sent)]
                command = earlier if t is None else _with_text(earlier, s.value(t))
            case _:
                raise AssertionError(op)
        sent.append(command)
        yield command


def build(book: Ledger, s: Scenario) -> list[Command]:
    """The chart, a merchant, a biller, each customer's wallet (its own subject, personal
    metadata) funded by a top-up carrying personal metadata; then the scenario's commands.
    The commands accepted, in order."""
    book.open_chart()
    assert_accepted(book, CHART.open_merchant(MERCHANT))
    assert_accepted(book, CHART.open_biller(BILLER))
    for n in range(s.customers):
        metadata = {k: s.value(t) for k, t in s.metadata[n].items()}
        assert_accepted(book, CHART.open_wallet(wallet(n), subject=subject(n), metadata=metadata))
        amount, payer, ref = s.fundings[n]
        top_up = TopUp(
            id=f"fund-{n}",
            wallet=wallet(n),
            amount_minor=amount,
            channel="bank",
            funding_account=CHART.bank_trust,
            metadata={"payer_name": s.value(payer), "bank_ref": s.value(ref), "tier": "basic"},
        )
        assert_accepted(book, top_up)
    accepted = []
    for command in commands(s):
        result = book.submit(command)
        assert isinstance(result, (Accepted, Rejected)), result
        if isinstance(result, Accepted) and not result.replayed:
            accepted.append(command)
    return accepted


# --- what is in the files -----------------------------------------------------------------


def write_exports(book: Ledger, directory: Path) -> None:
    for name, export in EXPORTERS.items():
        with open(directory / f"export.{name}", "w", encoding="utf-8") as file:
            for chunk in export(book):
                file.write(chunk)


def leaks(directory: Path, values: list[str]) -> list[tuple[str, str, bytes]]:
    """Every (file, value, bytes) such that a needle of the value is in the file's raw
    bytes: every file in ``directory`` (the ledger and its -wal and -shm, the read models
    and theirs, the exports, anything else written there)."""
    found = []
    for path in sorted(directory.iterdir()):
        if not path.is_file():
            continue
        data = path.read_bytes()
        for value in values:
            for needle in needles(value):
                if needle in data:
                    found.append((path.name, value, needle))
    return found


def files(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()}


def sealed_values(book: Ledger) -> Iterator[str]:
    """Every sealed value in the log (events' personal fields) and in the accounts'
    metadata."""
    for rec in book.events():
        yield from _sealed_in(rec.event)
    for balance in book.balances():
        for value in book.account(balance.account).metadata.values():
            if is_sealed(value):
                yield value


def _sealed_in(event: Event) -> Iterator[str]:
    declared = PERSONAL_EVENT_FIELDS.get(type(event))
    for name in declared[1] if declared else ():
        value = getattr(event, name)
        for text in value.values() if isinstance(value, dict) else [value]:
            if is_sealed(text):
                yield text


EXPORT_FILES = tuple(f"export.{name}" for name in EXPORTERS)


def contents(directory: Path, prefix: str) -> bytes:
    """The bytes of every file in ``directory`` whose name starts with ``prefix``."""
    return b"".join(
        p.read_bytes() for p in sorted(directory.iterdir()) if p.name.startswith(prefix)
    )


def assert_ciphertext_in_files(directory: Path) -> None:
    """The sealed text did reach the ledger's files and the read models' (as stored, and
    inside JSON, where ESC is escaped): the scan reads where the text would be."""
    sealed = b"\x1bS1:cust-1:"
    in_json = b"\\u001bS1:cust-1:"
    ledger = contents(directory, LEDGER_FILE)
    assert sealed in ledger and in_json in ledger  # events; accounts.metadata
    assert in_json in contents(directory, READ_FILE)  # proj_accounts.metadata
    assert in_json in (directory / "export.jsonl").read_bytes()


def check_sealed(book: Ledger, s: Scenario, accepted: list[Command]) -> None:
    """The personal text is in the ledger, sealed: each customer's metadata opens to what
    was written, and every value an accepted command carried opens from some sealed one."""
    for n in range(s.customers):
        stored = book.account(wallet(n)).metadata
        assert stored["wallet_type"] == "consumer"  # structural: in the clear
        for key, t in s.metadata[n].items():
            assert token_subject(stored[key]) == subject(n)
            assert book.reveal(stored[key]) == s.value(t)
    opened = {book.reveal(v) for v in sealed_values(book)}
    for command in accepted:
        for name in PERSONAL_COMMAND_FIELDS[type(command)][1]:
            value = getattr(command, name)
            assert set(value.values() if isinstance(value, dict) else [value]) <= opened


def read_models(book: Ledger, directory: Path) -> None:
    with Runner(book, directory / READ_FILE) as runner:
        runner.catch_up()


# --- the tests ----------------------------------------------------------------------------

SETTINGS = settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@SETTINGS
@given(scenarios())
def test_a_stolen_file_reveals_no_personal_data(s: Scenario) -> None:
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        book = Ledger.open(directory / LEDGER_FILE, clock=FakeClock(), master_key=KEY)
        try:
            accepted = build(book, s)
            check_sealed(book, s, accepted)
            with Runner(book, directory / READ_FILE) as runner:
                runner.catch_up()
                write_exports(book, directory)
                # everything open: the log is in the ledger's WAL, the read models in theirs
                assert {LEDGER_FILE, f"{LEDGER_FILE}-wal", READ_FILE} <= files(directory)
                assert set(EXPORT_FILES) <= files(directory)
                assert_ciphertext_in_files(directory)
                assert leaks(directory, s.pool) == []
            assert leaks(directory, s.pool) == []
        finally:
            book.close()
        # closed: the WAL checkpointed into the file
        assert_ciphertext_in_files(directory)
        assert leaks(directory, s.pool) == []


def _empty_and_close(book: Ledger, n: int, reason: str) -> None:
    account = wallet(n)
    if book.account(account).status is AccountStatus.FROZEN:
        assert_accepted(book, UnfreezeAccount(id=f"thaw-{account}", account=account, reason=reason))
    available = book.balance(account).available
    if available:
        withdraw = Withdraw(id=f"empty-{account}", wallet=account, amount_minor=available)
        assert_accepted(book, withdraw)
    assert_accepted(book, CloseAccount(id=f"close-{account}", account=account))


@settings(SETTINGS, max_examples=6)
@given(scenarios(), personal_values)
def test_after_an_erasure_the_text_is_gone_and_the_books_still_verify(
    s: Scenario, late: str
) -> None:
    values = [*s.pool, late]
    clock = FakeClock()
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        with Ledger.open(directory / LEDGER_FILE, clock=clock, master_key=KEY) as book:
            build(book, s)
            read_models(book, directory)
            _empty_and_close(book, 0, s.value(0))
            balances = book.balances()
            clock.advance(timedelta(days=366 * 5))
            assert_accepted(book, EraseSubject(id="erase", subject="cust-1", reason="PDPA-REQ-1"))
            # a later command of the erased customer's, refused, carrying new text
            refused = book.submit(
                Pay(id="late", wallet=wallet(0), merchant=MERCHANT, amount_minor=1, reference=late)
            )
            assert isinstance(refused, Rejected) and late not in refused.detail
            sealed = list(sealed_values(book))
            erased = [v for v in sealed if token_subject(v) == "cust-1"]
            assert erased, "the erased customer had sealed text"
            assert {book.reveal(v) for v in erased} == {ERASED}
            assert all(book.reveal(v) in s.pool for v in sealed if v not in erased)
            assert book.subject("cust-1").erased
            assert book.balances() == balances
            assert verify(book).ok
            read_models(book, directory)
            write_exports(book, directory)
            assert leaks(directory, values) == []
        assert leaks(directory, values) == []


def test_the_scan_finds_text_stored_in_the_clear() -> None:
    """Text of an account of no subject is stored as written: the scan finds it, in the
    ledger file, the read models and the JSON export (so its finding nothing above means
    something)."""
    plain = ["Somchai Jaidee pvzz00plain", "tel 0812345678 pvzz01plain", "มาลี ศรีสุข กขคง pvzz02"]
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        with Ledger.open(directory / LEDGER_FILE, clock=FakeClock(), master_key=KEY) as book:
            book.open_chart()
            assert_accepted(book, CHART.open_merchant(MERCHANT))
            float_wallet = CHART.open_wallet(
                "wallet:FLOAT", subject=None, metadata={"note": plain[0], "thai": plain[2]}
            )
            assert_accepted(book, float_wallet)
            top_up = TopUp(
                id="f",
                wallet="wallet:FLOAT",
                amount_minor=500,
                channel="bank",
                funding_account=CHART.bank_trust,
                metadata={"payer_name": plain[1]},
            )
            assert_accepted(book, top_up)
            pay = Pay(
                id="p",
                wallet="wallet:FLOAT",
                merchant=MERCHANT,
                amount_minor=5,
                reference=plain[1],
            )
            assert_accepted(book, pay)
            read_models(book, directory)
            write_exports(book, directory)
            open_leaks = leaks(directory, plain)
        closed_leaks = leaks(directory, plain)
    for found in (open_leaks, closed_leaks):
        where = {(f, v) for f, v, _ in found}
        assert {v for f, v in where if f.startswith(LEDGER_FILE)} == set(plain), found
        assert {v for f, v in where if f.startswith(READ_FILE)} == {plain[0], plain[2]}, found
        assert {v for f, v in where if f == "export.jsonl"} == set(plain), found
        # the JSON export escapes Thai script (ensure_ascii): found by its escaped needle
        thai_in_json = {n for f, v, n in found if f == "export.jsonl" and v == plain[2]}
        assert thai_in_json and all(n.startswith(b"\\u0e") for n in thai_in_json), found
