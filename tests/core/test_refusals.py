"""The record of refusals: what a retry is answered with, kept like the log.

Refusals take no seq; they are numbered, hash-chained and append-only on their own, and
``verify`` finds a row changed, removed or inserted (a row removed from the end, against
an anchor from ``Ledger.refusals_head()``).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import attrs
import pytest

from ledger import Credit, Debit, Ledger, OpenAccount, PostEntry, RejectCode, Rejected
from ledger.audit import verify
from tests.tampering import tamper


def _spend(cid: str, amount: int) -> PostEntry:
    return PostEntry(
        id=cid, kind="spend", postings=[Debit("wallet:U1", amount), Credit("bank:trust", amount)]
    )


@pytest.fixture
def refused(tmp_path: Path) -> Path:
    """A ledger with a wallet of 5.00 and three payments refused for want of funds."""
    path = tmp_path / "refused.db"
    with Ledger.open(path) as book:
        book.submit_many(
            [
                OpenAccount(id="o1", account="bank:trust", type="asset", currency="THB"),
                OpenAccount(
                    id="o2",
                    account="wallet:U1",
                    type="liability",
                    currency="THB",
                    no_overdraft=True,
                ),
                PostEntry(
                    id="t1",
                    kind="top_up",
                    postings=[Debit("bank:trust", 500), Credit("wallet:U1", 500)],
                ),
            ]
        )
        for i in (1, 2, 3):
            result = book.submit(_spend(f"s{i}", 1_000 * i))
            assert isinstance(result, Rejected) and result.code is RejectCode.INSUFFICIENT_FUNDS
        assert verify(book).ok
    return path


def _findings(path: Path, anchor: tuple[int, str] | None = None) -> list[str]:
    with Ledger.open(path, create=False) as book:
        report = verify(book, refusals_anchor=anchor)
    return [f.detail for f in report.findings if f.check == "refusals"]


def test_a_clean_record_verifies_and_its_head_is_an_anchor(refused: Path) -> None:
    with Ledger.open(refused) as book:
        n, digest = book.refusals_head()
        assert n == 3 and len(digest) == 64
        assert verify(book, refusals_anchor=(n, digest)).ok
        rows = list(book.store.refusal_rows())
    assert [(r.n, r.command_id, r.head_seq) for r in rows] == [
        (1, "s1", 3),
        (2, "s2", 3),
        (3, "s3", 3),
    ]


def test_a_changed_refusal_is_found(refused: Path) -> None:
    tamper(refused, "UPDATE refusals SET code = 'account_frozen' WHERE n = 2")
    [finding] = _findings(refused)
    assert "refusal n 2 ('s2') does not chain" in finding


def test_a_refusal_removed_from_the_middle_is_found(refused: Path) -> None:
    tamper(refused, "DELETE FROM refusals WHERE n = 2")
    found = _findings(refused)
    assert any("follows n 1: a gap" in f for f in found)
    assert any("refusal n 3 ('s3') does not chain" in f for f in found)


def test_an_inserted_refusal_is_found(refused: Path) -> None:
    tamper(
        refused,
        "UPDATE refusals SET n = n + 100 WHERE n >= 2",  # make room, keeping the numbering
        "UPDATE refusals SET n = n - 99 WHERE n >= 100",
        "INSERT INTO refusals SELECT 2, 'forged', digest, code, subject, detail, recorded_at,"
        " head_seq, hash FROM refusals WHERE n = 1",
    )
    assert any("refusal n 2 ('forged') does not chain" in f for f in _findings(refused))


def test_a_refusal_removed_from_the_end_is_found_against_an_anchor(refused: Path) -> None:
    with Ledger.open(refused) as book:
        anchor = book.refusals_head()
    tamper(refused, "DELETE FROM refusals WHERE n = 3")
    assert _findings(refused) == []  # the chain alone cannot tell: like the log's tail
    [finding] = _findings(refused, anchor)
    assert "ends at n 2, before the anchor's n 3" in finding


def test_an_id_both_refused_and_accepted_is_found(refused: Path) -> None:
    tamper(refused, "UPDATE refusals SET command_id = 't1' WHERE n = 1")
    assert any("the id was accepted too" in f for f in _findings(refused))


def test_the_record_is_append_only(refused: Path) -> None:
    conn = sqlite3.connect(refused)
    try:
        for sql in (
            "UPDATE refusals SET detail = 'x' WHERE n = 1",
            "DELETE FROM refusals WHERE n = 3",
            "INSERT INTO refusals SELECT 5, 'x', digest, code, subject, detail, recorded_at,"
            " head_seq, hash FROM refusals WHERE n = 1",
            "INSERT OR REPLACE INTO refusals SELECT * FROM refusals WHERE n = 1",
        ):
            with pytest.raises(sqlite3.DatabaseError):
                conn.execute(sql)
    finally:
        conn.close()


def test_a_retry_after_reopening_gets_the_first_refusal(refused: Path) -> None:
    with Ledger.open(refused) as book:
        book.submit(
            PostEntry(
                id="t2",
                kind="top_up",
                postings=[Debit("bank:trust", 10_000), Credit("wallet:U1", 10_000)],
            )
        )
        first = book.result("s1")
        assert isinstance(first, Rejected) and first.replayed
        again = book.submit(_spend("s1", 1_000))
        assert again == first == attrs.evolve(first, replayed=True)
        assert book.balance("wallet:U1").balance == 10_500


def test_a_read_only_copy_of_an_older_file_reads_without_a_record(tmp_path: Path) -> None:
    """A 0.1.0 file opened read-only is not migrated: it has no record of refusals, and
    reads as having none; opened to write, it is migrated and starts one."""
    import shutil

    frozen = Path(__file__).parent.parent / "frozen" / "satang-0.1.0.db"
    folder = tmp_path / "received"
    folder.mkdir()
    copy = folder / "old.db"
    shutil.copyfile(frozen, copy)
    before = copy.read_bytes()
    copy.chmod(0o444)  # as an auditor receives it: read as immutable, nothing beside it
    folder.chmod(0o555)
    try:
        with Ledger.open(copy, readonly=True) as book:
            assert book.refusals_head() == (0, "0" * 64)
            assert book.result("no-such-id") is None
            assert book.recorded_timezone is None
            assert verify(book).ok
        assert copy.read_bytes() == before
        assert [p.name for p in folder.iterdir()] == ["old.db"]
    finally:
        folder.chmod(0o755)
        copy.chmod(0o644)
    with Ledger.open(copy) as book:
        assert book.store.has_refusals and verify(book).ok


def test_the_command_line_anchors_the_record_of_refusals(refused: Path) -> None:
    from click.testing import CliRunner

    from ledger.cli import main

    printed = CliRunner().invoke(main, ["head", "--db", str(refused), "--refusals"])
    assert printed.exit_code == 0, printed.output
    anchor = printed.output.strip()
    assert anchor.startswith("3:") and len(anchor) == 2 + 64
    ok = CliRunner().invoke(main, ["verify", "--db", str(refused), "--refusals-anchor", anchor])
    assert ok.exit_code == 0, ok.output
    tamper(refused, "DELETE FROM refusals WHERE n = 3")
    cut = CliRunner().invoke(main, ["verify", "--db", str(refused), "--refusals-anchor", anchor])
    assert cut.exit_code == 1 and "refusals" in cut.output, cut.output
