"""``verify``'s ``subjects`` check: the subjects table and the key store against the log."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from ledger import (
    CloseAccount,
    EraseSubject,
    Ledger,
    MasterKey,
    OpenAccount,
    PayBill,
    RejectCode,
    Rejected,
    TopUp,
    Withdraw,
)
from ledger.audit import Finding, Report, verify
from ledger.chart import Chart
from ledger.keys import NAMES
from ledger.state.subjects import Subject
from tests.conftest import FakeClock, assert_accepted

KEY = MasterKey(bytes(range(32)))
CHART = Chart()
ERASED = "cust-gone"
"""The subject whose wallet is closed and who is then erased."""
LIVING = "cust-live"
"""The subject whose wallet stays open."""


class Built(NamedTuple):
    """A closed ledger file and what was saved while writing it."""

    path: Path
    erased_key: tuple[str, bytes]
    """The erased subject's key store row (key_id, wrapped), read before the erasure."""
    living_key: tuple[str, bytes]
    erased_seq: int


def _top_up(book: Ledger, id: str, wallet: str, amount_minor: int) -> None:
    assert_accepted(
        book,
        TopUp(
            id=id,
            wallet=wallet,
            amount_minor=amount_minor,
            channel="bank",
            funding_account=CHART.bank_trust,
        ),
    )


def _build(path: Path, clock: FakeClock, *, bill: bool = False) -> Built:
    with Ledger.open(path, clock=clock, master_key=KEY) as book:
        book.open_chart()
        assert_accepted(
            book, CHART.open_wallet("wallet:gone", subject=ERASED, metadata={"name": "Somchai"})
        )
        assert_accepted(
            book, CHART.open_wallet("wallet:live", subject=LIVING, metadata={"name": "Malee"})
        )
        _top_up(book, "fund-gone", "wallet:gone", 5_000)
        _top_up(book, "fund-live", "wallet:live", 9_000)
        if bill:
            assert_accepted(book, CHART.open_biller("B1"))
            assert_accepted(
                book,
                PayBill(
                    id="bill-1",
                    wallet="wallet:live",
                    biller="B1",
                    bill_reference="0812345678",
                    amount_minor=700,
                ),
            )
        assert_accepted(book, Withdraw(id="empty", wallet="wallet:gone", amount_minor=5_000))
        assert_accepted(book, CloseAccount(id="close", account="wallet:gone"))
        keys = {subject: (key_id, wrapped) for subject, key_id, wrapped in book.store.key_rows()}
        clock.advance(timedelta(days=366 * 5))
        erased = assert_accepted(book, EraseSubject(id="erase", subject=ERASED, reason="PDPA-1"))
        assert verify(book).ok
    return Built(path, keys[ERASED], keys[LIVING], erased.seq)


@pytest.fixture
def built(tmp_path: Path, clock: FakeClock) -> Built:
    return _build(tmp_path / "subjects.db", clock)


def _tamper(path: Path, sql: str, params: tuple[Any, ...] = ()) -> None:
    conn = sqlite3.connect(path)
    try:
        assert conn.execute(sql, params).rowcount == 1
        conn.commit()
    finally:
        conn.close()


def _rows(path: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def _verify(path: Path, master_key: MasterKey | None = None) -> Report:
    with Ledger.open(path, master_key=master_key) as book:
        return verify(book)


def _found(path: Path, master_key: MasterKey | None = None) -> list[Finding]:
    """The findings of a tampered file: there are some, all of the subjects check, and the
    report says the file cannot be trusted."""
    report = _verify(path, master_key)
    assert not report.ok
    assert report.exit_code == 1
    assert report.findings
    assert {f.check for f in report.findings} == {"subjects"}, report.findings
    return list(report.findings)


def _details(findings: list[Finding]) -> list[str]:
    return [f.detail for f in findings]


@pytest.mark.parametrize("master_key", [None, KEY], ids=["keyless", "with key"])
def test_a_sound_ledger_with_an_erased_subject_verifies_clean(
    built: Built, master_key: MasterKey | None
) -> None:
    report = _verify(built.path, master_key)
    assert report.ok and report.findings == () and report.exit_code == 0
    assert _rows(built.path, "SELECT subject FROM subject_keys ORDER BY subject") == [(LIVING,)]
    stored = _rows(built.path, "SELECT subject, erased_seq FROM subjects ORDER BY subject")
    assert stored == [(ERASED, built.erased_seq), (LIVING, None)]


@pytest.mark.parametrize("master_key", [None, KEY], ids=["keyless", "with key"])
def test_an_erased_subjects_key_put_back_is_found(
    built: Built, master_key: MasterKey | None
) -> None:
    key_id, wrapped = built.erased_key
    _tamper(
        built.path,
        "INSERT INTO subject_keys (subject, key_id, wrapped) VALUES (?, ?, ?)",
        (ERASED, key_id, wrapped),
    )
    found = _found(built.path, master_key)
    assert found == [
        Finding("subjects", built.erased_seq, f"{ERASED} was erased, its data key was not")
    ]


def test_a_living_subjects_key_deleted_is_found(built: Built) -> None:
    _tamper(built.path, "DELETE FROM subject_keys WHERE subject = ?", (LIVING,))
    found = _found(built.path)
    assert found == [Finding("subjects", 0, f"{LIVING} has no data key in the key store")]


@pytest.mark.parametrize(
    ("subject", "change"),
    [
        (LIVING, "open_accounts = 0"),
        (LIVING, "accounts = 2"),
        (LIVING, "accounts = 2, open_accounts = 2"),
        (LIVING, "last_closed_at = 1"),
        (ERASED, "accounts = 2"),
        (ERASED, "last_closed_at = last_closed_at + 1"),
        (ERASED, "last_closed_at = NULL"),
        (ERASED, "erased_seq = erased_seq - 1"),
    ],
)
def test_a_changed_subjects_row_is_found(built: Built, subject: str, change: str) -> None:
    before = _rows(built.path, f"SELECT * FROM subjects WHERE subject = '{subject}'")
    _tamper(built.path, f"UPDATE subjects SET {change} WHERE subject = ?", (subject,))
    assert _rows(built.path, f"SELECT * FROM subjects WHERE subject = '{subject}'") != before
    found = _found(built.path)
    assert len(found) == 1
    assert found[0].seq == 0
    assert found[0].detail.startswith(f"{subject}: stored Subject(id='{subject}'")
    assert "!= refolded Subject(" in found[0].detail


def test_an_erasure_taken_out_of_the_subjects_table_is_found(built: Built) -> None:
    _tamper(built.path, "UPDATE subjects SET erased_seq = NULL WHERE subject = ?", (ERASED,))
    found = _found(built.path)
    assert _details(found) == [
        f"{ERASED}: stored {Subject(ERASED, 1, 0, _closed_us(built), None)} != refolded "
        f"{Subject(ERASED, 1, 0, _closed_us(built), built.erased_seq)}"
    ]


def test_an_erasure_added_to_the_subjects_table_is_found(built: Built) -> None:
    _tamper(
        built.path,
        "UPDATE subjects SET erased_seq = ? WHERE subject = ?",
        (built.erased_seq, LIVING),
    )
    found = _found(built.path, KEY)
    assert _details(found) == [
        f"{LIVING}: stored {Subject(LIVING, 1, 1, None, built.erased_seq)} != refolded "
        f"{Subject(LIVING, 1, 1)}"
    ]


def _closed_us(built: Built) -> int:
    rows = _rows(built.path, f"SELECT last_closed_at FROM subjects WHERE subject = '{ERASED}'")
    (closed,) = rows[0]
    assert type(closed) is int
    return closed


def test_a_deleted_subjects_row_of_a_living_subject_is_found(built: Built) -> None:
    _tamper(built.path, "DELETE FROM subjects WHERE subject = ?", (LIVING,))
    found = _found(built.path)
    assert _details(found) == [
        f"{LIVING}: stored None != refolded {Subject(LIVING, 1, 1)}",
        f"the key store holds a key of {LIVING}, no subject",
    ]


def test_a_deleted_subjects_row_of_an_erased_subject_is_found(built: Built) -> None:
    closed = _closed_us(built)
    _tamper(built.path, "DELETE FROM subjects WHERE subject = ?", (ERASED,))
    found = _found(built.path)
    assert _details(found) == [
        f"{ERASED}: stored None != refolded {Subject(ERASED, 1, 0, closed, built.erased_seq)}"
    ]


@pytest.mark.parametrize(
    "row",
    [
        (1, 1, None, None),
        (1, 0, 1_717_243_200_000_000, None),
        (0, 0, 1_717_243_200_000_000, None),
        (0, 0, None, 3),
    ],
    ids=["an open account", "a closed account", "a close", "an erasure"],
)
@pytest.mark.parametrize("keyed", [False, True], ids=["no key", "with a key"])
def test_an_extra_subjects_row_that_is_not_all_zeros_is_found(
    built: Built, row: tuple[int, int, int | None, int | None], keyed: bool
) -> None:
    _tamper(
        built.path,
        "INSERT INTO subjects (subject, accounts, open_accounts, last_closed_at, erased_seq)"
        " VALUES ('ghost', ?, ?, ?, ?)",
        row,
    )
    if keyed:
        _tamper(
            built.path,
            "INSERT INTO subject_keys (subject, key_id, wrapped) VALUES ('ghost', ?, ?)",
            built.living_key,
        )
    found = _found(built.path)
    assert _details(found) == [f"ghost: stored {Subject('ghost', *row)}, the log names none"]


def test_an_extra_all_zero_subjects_row_without_a_key_is_found(built: Built) -> None:
    _tamper(
        built.path, "INSERT INTO subjects (subject, accounts, open_accounts) VALUES ('ghost', 0, 0)"
    )
    found = _found(built.path)
    assert _details(found) == [f"ghost: stored {Subject('ghost')}, the log names none"]


def test_an_extra_all_zero_subjects_row_with_a_key_is_allowed(built: Built) -> None:
    _tamper(
        built.path, "INSERT INTO subjects (subject, accounts, open_accounts) VALUES ('ghost', 0, 0)"
    )
    _tamper(
        built.path,
        "INSERT INTO subject_keys (subject, key_id, wrapped) VALUES ('ghost', ?, ?)",
        built.living_key,
    )
    assert _verify(built.path).ok


@pytest.mark.parametrize(
    "command",
    [
        # the id of an account that exists, with other attributes: an idempotency conflict
        CHART.open_wallet("wallet:live", subject="cust-new", metadata={"name": "Niran"}),
        OpenAccount(
            id="open-bad",
            account="wallet:bad",
            type="nonsense",
            currency="THB",
            subject="cust-new",
            metadata={"name": "Niran"},
        ),
    ],
    ids=["id conflict", "invalid type"],
)
def test_a_refused_open_for_a_new_subject_leaves_a_zero_keyed_subject_that_verifies(
    built: Built, command: OpenAccount
) -> None:
    with Ledger.open(built.path, master_key=KEY) as book:
        head = book.head()
        refused = book.submit(command)
        assert isinstance(refused, Rejected)
        assert refused.code in (RejectCode.IDEMPOTENCY_CONFLICT, RejectCode.ACCOUNT_TYPE_INVALID)
        assert book.head() == head
        assert book.store.subject("cust-new") == Subject("cust-new")
        assert "cust-new" in {subject for subject, _, _ in book.store.key_rows()}
        report = verify(book)
        assert report.ok and report.exit_code == 0
    assert _rows(built.path, "SELECT * FROM subjects WHERE subject = 'cust-new'") == [
        ("cust-new", 0, 0, None, None)
    ]
    assert _verify(built.path).ok
    # its key is what excuses the row the log does not name
    _tamper(built.path, "DELETE FROM subject_keys WHERE subject = 'cust-new'")
    found = _found(built.path)
    assert _details(found) == [f"cust-new: stored {Subject('cust-new')}, the log names none"]


@pytest.mark.parametrize("master_key", [None, KEY], ids=["keyless", "with key"])
def test_a_key_of_no_subject_is_found(built: Built, master_key: MasterKey | None) -> None:
    _tamper(
        built.path,
        "INSERT INTO subject_keys (subject, key_id, wrapped) VALUES ('ghost', ?, ?)",
        built.living_key,
    )
    found = _found(built.path, master_key)
    assert found == [Finding("subjects", 0, "the key store holds a key of ghost, no subject")]


def test_the_ledgers_names_key_is_not_a_subject(tmp_path: Path, clock: FakeClock) -> None:
    built = _build(tmp_path / "bills.db", clock, bill=True)
    keys = _rows(built.path, "SELECT subject FROM subject_keys ORDER BY subject")
    assert keys == [(NAMES,), (LIVING,)]
    assert _rows(built.path, "SELECT subject FROM subjects ORDER BY subject") == [
        (ERASED,),
        (LIVING,),
    ]
    for master_key in (None, KEY):
        report = _verify(built.path, master_key)
        assert report.ok and report.exit_code == 0, report.findings
    # its key makes no subjects row of its name allowed: no subject is named "#names"
    _tamper(
        built.path,
        "INSERT INTO subjects (subject, accounts, open_accounts) VALUES (?, 0, 0)",
        (NAMES,),
    )
    found = _found(built.path)
    assert _details(found) == [f"{NAMES}: stored {Subject(NAMES)}, the log names none"]


def test_the_names_key_deleted_while_a_bill_is_named_by_it_is_found(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Without it a second payment of the bill would be accepted under a new name."""
    built = _build(tmp_path / "bills.db", clock, bill=True)
    bill_seq = _rows(built.path, "SELECT seq FROM events WHERE command_id = 'bill-1'")[0][0]
    _tamper(built.path, "DELETE FROM subject_keys WHERE subject = ?", (NAMES,))
    found = _found(built.path)
    assert [(f.check, f.seq) for f in found] == [("subjects", bill_seq)]
    assert "names key is gone" in found[0].detail
