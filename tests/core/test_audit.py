"""``ledger.audit.verify``: quiet on a sound ledger, even one being written to; loud on
every kind of tampering with the log, the index or the inline projection."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import msgspec
import pytest

from ledger import (
    Accepted,
    ClosePeriod,
    Credit,
    Debit,
    FreezeAccount,
    Ledger,
    OpenAccount,
    PostEntry,
    audit,
)
from ledger.audit import CHECKS, verify
from ledger.errors import InvalidCommand, StoreError
from ledger.store.base import chain_hash
from ledger.times import to_us
from tests.conftest import FakeClock, top_up
from tests.tampering import changed_payload, tamper


@pytest.fixture(autouse=True, params=[1, 2], ids=["one process", "two processes"])
def processes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> int:
    """Every test runs twice: every check in the walk's process, and ``integrity``,
    ``states`` and ``projections`` of a file in a second one beside it (what ``verify``
    does by default from ``PARALLEL_FROM`` events): the findings must not differ."""
    parallel = request.param == 2
    monkeypatch.setattr(audit, "PARALLEL_FROM", 0 if parallel else 2**62)
    monkeypatch.setattr(audit.os, "cpu_count", lambda: 2)
    return int(request.param)


@pytest.fixture
def db(tmp_path: Path, clock: FakeClock) -> Iterator[Path]:
    path = tmp_path / "audit.db"
    with Ledger.open(path, clock=clock) as book:
        book.submit_many(
            [
                OpenAccount(id="o1", account="bank:trust", type="asset", currency="THB"),
                OpenAccount(
                    id="o2", account="wallet:w", type="liability", currency="THB", no_overdraft=True
                ),
                OpenAccount(id="o3", account="wallet:f", type="liability", currency="THB"),
            ]
        )
        top_up(book, "t1", "wallet:w", 10_000)
        top_up(book, "t2", "wallet:f", 500)
        book.submit(FreezeAccount(id="fr", account="wallet:f"))
        assert verify(book).ok
    yield path


def _checks(db: Path) -> set[tuple[str, int]]:
    with Ledger.open(db) as book:
        report = verify(book)
    assert {f.check for f in report.findings} <= set(CHECKS)
    return {(f.check, f.seq) for f in report.findings}


def test_a_sound_ledger_has_no_findings(db: Path) -> None:
    assert _checks(db) == set()
    with Ledger.open(db) as book:
        assert verify(book).exit_code == 0


def test_a_policy_flipped_in_the_accounts_table_is_found(db: Path) -> None:
    tamper(db, "UPDATE accounts SET no_overdraft = 0 WHERE id = 'wallet:w'")
    found = _checks(db)
    assert ("accounts_rebuild", 0) in found
    assert found == {("accounts_rebuild", 0)}


def test_a_status_flipped_in_the_accounts_table_is_found(db: Path) -> None:
    tamper(db, "UPDATE accounts SET status = 'open' WHERE id = 'wallet:f'")
    found = _checks(db)
    assert ("accounts_rebuild", 0) in found
    assert found == {("accounts_rebuild", 0)}


def test_a_counter_changed_in_the_accounts_table_is_found(db: Path) -> None:
    tamper(db, "UPDATE accounts SET credits_posted = credits_posted + 1 WHERE id = 'wallet:w'")
    assert _checks(db) == {("accounts_rebuild", 0)}


def test_a_deleted_last_event_is_found_by_the_index_and_the_projection(db: Path) -> None:
    tamper(db, "DELETE FROM events WHERE seq = 6")
    found = _checks(db)
    assert ("commands_index", 6) in found
    assert ("accounts_rebuild", 0) in found
    assert found == {("commands_index", 6), ("accounts_rebuild", 0)}


def test_a_deleted_index_row_is_found(db: Path) -> None:
    tamper(db, "DELETE FROM commands WHERE command_id = 't1'")
    found = _checks(db)
    assert ("commands_index", 4) in found
    assert found == {("commands_index", 4)}


def test_an_edited_history_row_is_found(db: Path) -> None:
    tamper(db, "UPDATE account_postings SET credits_posted = 1 WHERE seq = 4 AND leg = 1")
    found = _checks(db)
    assert ("balance_history", 4) in found
    assert found == {("balance_history", 4)}


def test_a_posting_to_an_account_never_opened_is_a_finding_not_a_crash(db: Path) -> None:
    tamper(
        db,
        "UPDATE events SET payload = CAST(replace(payload, 'wallet:w', 'wallet:x') AS BLOB)"
        " WHERE seq = 4",
    )
    found = _checks(db)
    assert ("hash_chain", 4) in found and ("refold", 4) in found
    # the history row of seq 4 names wallet:w, the log now wallet:x
    assert found == {("hash_chain", 4), ("refold", 4), ("balance_history", 4)}


def test_a_recorded_at_moved_back_is_found(db: Path) -> None:
    tamper(db, "UPDATE events SET recorded_at = recorded_at - 1000000 WHERE seq = 5")
    found = _checks(db)
    assert ("recorded_order", 5) in found and ("hash_chain", 5) in found
    assert found == {("recorded_order", 5), ("hash_chain", 5)}


def test_verify_is_clean_while_another_connection_writes(db: Path) -> None:
    stop, started = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            with Ledger.open(db) as writer:
                i = 0
                while not stop.is_set():
                    if i == 1:
                        started.set()
                    i += 1
                    writer.submit_many(
                        [
                            PostEntry(
                                id=f"w{i}-{j}",
                                kind="top_up",
                                postings=[Debit("bank:trust", 1), Credit("wallet:w", 1)],
                            )
                            for j in range(50)
                        ]
                    )
        except BaseException as exc:  # reported below
            errors.append(exc)

    thread = threading.Thread(target=write)
    thread.start()
    try:
        assert started.wait(timeout=30)
        with Ledger.open(db) as auditor:
            reports = [verify(auditor) for _ in range(8)]
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert [r.findings for r in reports] == [()] * 8
    assert reports[-1].events_checked > reports[0].events_checked > 6  # the log really grew


def test_verify_on_a_ledger_shared_with_a_writing_thread(db: Path) -> None:
    with Ledger.open(db) as book:
        stop = threading.Event()

        def write() -> None:
            i = 0
            while not stop.is_set():
                i += 1
                top_up(book, f"s{i}", "wallet:w", 1)

        thread = threading.Thread(target=write)
        thread.start()
        try:
            reports = [verify(book) for _ in range(5)]
        finally:
            stop.set()
            thread.join()
        assert all(r.ok for r in reports), [r.findings for r in reports]


def test_damaged_history_rows_are_findings_not_a_crash(db: Path) -> None:
    tamper(
        db,
        "UPDATE account_postings SET debits_posted = -5 WHERE seq = 4 AND leg = 0",
        "UPDATE accounts SET status = 'open' WHERE id = 'wallet:f'",
    )
    found = _checks(db)
    # the row reads, and is not the row the log says it must be: a finding at its seq;
    # the walk goes on, so the account edited beside it is found too
    assert found == {("balance_history", 4), ("accounts_rebuild", 0)}


@pytest.mark.parametrize(
    "stored",
    [
        "'{real}a'",  # text that is no integer
        "{real}.5",  # a fraction
        "x'05'",  # a blob
        "9223372036854775807",  # an integer, but not the one the log says
    ],
)
def test_a_history_counter_of_another_type_is_a_finding_at_its_seq(db: Path, stored: str) -> None:
    """A counter stored as text, a fraction, a blob or another integer (SQLite keeps what
    it is given, where it is not the integer in another form) is not the integer the log
    says: a finding at its seq."""
    with Ledger.open(db) as book:
        row = next(r for r in book.store.posting_rows() if r.seq == 4 and r.leg == 0)
    tamper(
        db,
        f"UPDATE account_postings SET debits_posted = {stored.format(real=row.debits_posted)}"
        " WHERE seq = 4 AND leg = 0",
    )
    assert _checks(db) == {("balance_history", 4)}


HASHED_ALIKE = 2**61 - 1
"""Python hashes an int as its value modulo this: 500 and 500 + HASHED_ALIKE alike."""


def test_values_python_hashes_alike_are_told_apart(db: Path) -> None:
    """The multiset checks digest each row's encoding, not its values' own hashes."""
    tamper(
        db,
        f"UPDATE account_postings SET amount_minor = amount_minor + {HASHED_ALIKE}"
        " WHERE seq = 4 AND leg = 1",
        f"UPDATE commands SET last_seq = last_seq + {HASHED_ALIKE} WHERE command_id = 't2'",
    )
    assert _checks(db) == {("balance_history", 4), ("commands_index", 5)}


@pytest.mark.parametrize("keyed", [True, False], ids=["key secret", "PYTHONHASHSEED set"])
def test_without_a_secret_hash_key_every_row_is_compared(
    db: Path, monkeypatch: pytest.MonkeyPatch, keyed: bool
) -> None:
    """Where anyone could know the process's hash key, the history is read in seq order
    and compared row by row, as it is to name a row that differs."""
    from ledger.store.sql import SqlStore

    monkeypatch.setattr(audit, "ROW_DIGESTS_KEYED", keyed)
    reads = []
    posting_rows = SqlStore.posting_rows

    def counted(store: SqlStore) -> object:
        reads.append(1)
        return posting_rows(store)

    monkeypatch.setattr(SqlStore, "posting_rows", counted)
    assert _checks(db) == set()
    assert len(reads) == (0 if keyed else 1)
    tamper(db, "UPDATE account_postings SET debits_posted = 7 WHERE seq = 4 AND leg = 0")
    assert _checks(db) == {("balance_history", 4)}


def test_an_edited_amount_in_the_history_is_found(db: Path) -> None:
    tamper(db, "UPDATE account_postings SET amount_minor = 999 WHERE seq = 4 AND leg = 1")
    found = _checks(db)
    assert ("balance_history", 4) in found
    assert found == {("balance_history", 4)}


def test_one_finding_does_not_hide_the_others(db: Path) -> None:
    tamper(
        db,
        "UPDATE account_postings SET credits_posted = 1 WHERE seq = 4 AND leg = 1",
        "UPDATE accounts SET status = 'open' WHERE id = 'wallet:f'",
        "DELETE FROM commands WHERE command_id = 't2'",
    )
    pairs = _checks(db)
    found = {check for check, _ in pairs}
    assert {"balance_history", "accounts_rebuild", "commands_index"} <= found
    assert pairs == {("balance_history", 4), ("accounts_rebuild", 0), ("commands_index", 5)}
    with Ledger.open(db) as book:  # in the order found: the walk's, then the whole fold's
        ordered = [(f.check, f.seq) for f in verify(book).findings]
    assert ordered == [("balance_history", 4), ("commands_index", 5), ("accounts_rebuild", 0)]


def test_a_refusal_that_does_not_read_leaves_the_index_checked_first(db: Path) -> None:
    with Ledger.open(db) as book:
        refused = book.submit(  # wallet:f is frozen
            PostEntry(
                id="t-frozen",
                kind="top_up",
                postings=[Debit("bank:trust", 100), Credit("wallet:f", 100)],
            )
        )
        assert not isinstance(refused, Accepted)
    tamper(
        db,
        "UPDATE refusals SET code = x'35' WHERE command_id = 't-frozen'",
        "DELETE FROM commands WHERE command_id = 't1'",
    )
    with Ledger.open(db) as book:
        ordered = [(f.check, f.seq) for f in verify(book).findings]
    assert ordered == [("commands_index", 4), ("readable", 0)]


@pytest.mark.parametrize("seq", ["{head} + 1", "'4'"], ids=["past the head", "a text seq"])
def test_a_history_row_added_beyond_the_log_is_found(db: Path, seq: str) -> None:
    """A row no posting of the log gives (here one the append-only triggers let in: an
    INSERT), even where its seq is past the head or no integer, is a finding: it would
    move ``balance(as_of=time)``."""
    with Ledger.open(db) as book:
        head = book.head()[0]
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(
            "INSERT INTO account_postings VALUES"
            f" ('wallet:w', {seq.format(head=head)}, 0, 'credit', 2, 0, 0, 2, 0, 0, 'posted')"
        )
    conn.close()
    checks = _checks(db)
    assert {check for check, _ in checks} == {"balance_history"}, checks


def test_a_history_row_past_the_last_posting_that_does_not_read_is_never_clean(db: Path) -> None:
    with Ledger.open(db) as book:
        head = book.head()[0]
    conn = sqlite3.connect(db)
    with conn:  # an account that is no UTF-8 text: the row does not read
        conn.execute(
            "INSERT INTO account_postings VALUES"
            f" (CAST(x'ff' AS TEXT), {head + 1}, 0, 'credit', 2, 0, 0, 2, 0, 0, 'posted')"
        )
    conn.close()
    with Ledger.open(db) as book:
        try:
            report = verify(book)
        except StoreError as exc:  # SQLite cannot decode the row: said so, typed
            assert "UTF-8" in str(exc)
            return
    assert not report.ok, "a row that does not read is never a clean report"


def test_an_event_two_processes_cannot_carry_back_is_found_as_in_one(db: Path) -> None:
    """An event whose schema this code cannot read, in a stream ``states`` reads: the walk
    stops there (``readable``), and the second process's error in reading the same
    stream (whose exception does not unpickle as it is) is not needed, so not raised."""
    tamper(db, "UPDATE events SET schema = 9 WHERE seq = 4")
    assert _checks(db) == {("readable", 4)}


def test_a_relative_path_is_the_file_opened_after_a_chdir(
    db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(db.parent)
    with Ledger.open(db.name) as book:
        monkeypatch.chdir(tmp_path.parent)
        assert verify(book, processes=2).ok


def test_without_a_python_to_start_the_default_runs_in_one_process(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "PARALLEL_FROM", 0)
    monkeypatch.setattr(audit.sys, "executable", "")
    with Ledger.open(db) as book:
        assert verify(book).ok  # processes=None: every check here
        with pytest.raises(StoreError, match="no Python"):
            verify(book, processes=2)


def test_the_second_process_checks_it_reads_the_walks_log(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It is told the head the walk began at and its hash, and refuses another log."""
    real = audit._Side.__init__

    def wrong_hash(side: object, path: str, policy: object, head: int, _: str) -> None:
        real(side, path, policy, head, "0" * 64)  # type: ignore[arg-type]

    monkeypatch.setattr(audit._Side, "__init__", wrong_hash)
    with Ledger.open(db) as book, pytest.raises(StoreError, match="another file"):
        verify(book, processes=2)


def test_a_write_inside_a_snapshot_is_refused_and_the_snapshot_holds(db: Path) -> None:
    from ledger import LedgerError

    with Ledger.open(db) as book, Ledger.open(db) as other:
        with book.snapshot():
            head = book.head()
            with pytest.raises(LedgerError, match="inside a snapshot"):
                top_up(book, "in-snap", "wallet:w", 1)
            with pytest.raises(LedgerError, match="does not nest"):
                verify(book)
            top_up(other, "outside", "wallet:w", 1)
            assert book.head() == head  # still the snapshot's view
        assert book.head()[0] == head[0] + 1
        assert verify(book).ok


# --- anchors, read models, safeguarding ----------------------------------------------


def test_an_anchor_proves_the_log_up_to_it(db: Path) -> None:
    from ledger.audit import parse_anchor

    with Ledger.open(db) as book:
        seq, digest = book.head()
        assert verify(book, anchor=(seq, digest)).ok
        assert verify(book, anchor=(2, next(iter(book.events(after=1, limit=1))).hash)).ok
        cut = verify(book, anchor=(seq + 5, digest))
        assert {(f.check, f.seq) for f in cut.findings} == {("anchor", seq + 1)}
        assert "cut short" in cut.findings[0].detail
        rewritten = verify(book, anchor=(2, "0" * 64))
        assert {(f.check, f.seq) for f in rewritten.findings} == {("anchor", 2)}
        for bad in ((0, digest), ("3", digest), (3, 7)):
            with pytest.raises(InvalidCommand):
                verify(book, anchor=bad)  # type: ignore[arg-type]
    assert parse_anchor(f"{seq}:{digest}") == (seq, digest)
    for text in ("", "3", "0:" + digest, f"3:{digest[:-1]}", f"x:{digest}", f"3:{digest.upper()}"):
        with pytest.raises(ValueError):
            parse_anchor(text)


def _with_read_models(db: Path) -> None:
    from projections.runner import Runner

    with Ledger.open(db) as book, Runner(book) as runner:
        runner.catch_up()


def test_live_read_models_equal_to_a_rebuild_are_no_finding(db: Path) -> None:
    _with_read_models(db)
    assert _checks(db) == set()


def test_a_changed_read_model_row_is_found_with_its_seq(db: Path) -> None:
    _with_read_models(db)
    tamper(db, "UPDATE proj_accounts SET debits_posted = 1 WHERE account = 'bank:trust'")
    assert _checks(db) == {("projections", 5)}


def test_a_deleted_and_an_added_read_model_row_are_found(db: Path) -> None:
    _with_read_models(db)
    tamper(db, "DELETE FROM proj_accounts WHERE account = 'wallet:w'")
    found = _checks(db)
    assert ("projections", 4) in found
    assert found == {("projections", 4)}
    _with_read_models(db)  # still at the head: nothing to fold, the gap stays
    tamper(
        db,
        "INSERT INTO proj_transactions VALUES"
        " (99, 0, 'x', 'top_up', NULL, 'wallet:w', '', NULL, 0, 1, 0, 'THB')",
    )
    found = _checks(db)
    assert ("projections", 99) in found
    assert found == {("projections", 4), ("projections", 99)}


def test_read_models_of_another_log_are_found(db: Path) -> None:
    _with_read_models(db)
    tamper(db, "UPDATE proj_checkpoints SET hash = '" + "ab" * 32 + "' WHERE name = 'holds'")
    found = _checks(db)
    assert found and {check for check, _ in found} == {"projections"}
    assert found == {("projections", 6)}  # the head the checkpoint claims to have folded


def test_wallets_not_covered_by_the_trust_account_are_found(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "short.db") as book:
        chart = book.chart
        book.open_chart()
        book.submit_many(
            [
                chart.open_wallet("wallet:U1"),
                OpenAccount(id="o-eq", account="equity:owner", type="equity", currency="THB"),
                PostEntry(
                    id="bad",
                    kind="adjustment",
                    postings=[Debit("equity:owner", 12_345), Credit("wallet:U1", 12_345)],
                ),
            ]
        )
        report = verify(book)
    assert [(f.check, f.seq) for f in report.findings] == [("safeguarded", 0)]
    assert "short by 12345" in report.findings[0].detail
    # the books are whole and say the money is short: a business finding, exit status 3
    assert report.business_findings == report.findings and report.integrity_findings == ()
    assert report.exit_code == 3


def _append_unchecked(
    book: Ledger, command_id: str, stream: str, version: int, event: object
) -> int:
    """Append an event with a valid hash chain but no decide function: what a buggy flow
    or a forged write through the store would leave."""
    from ledger.state import NewEvent

    now_us = 1_800_000_000_000_000
    with book.store.transaction(now_us, book.policy) as tx:
        return tx.append(command_id, bytes(32), [NewEvent(stream, version, event, now_us)])  # type: ignore[arg-type]


def test_streams_in_illegal_states_are_found(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from ledger import PlaceHold, ReleaseHold
    from ledger.events import CodOrderPaidOut, HoldReleased, LoanRecovered

    with Ledger.open(tmp_path / "states.db", clock=FakeClock()) as book:
        chart = book.chart
        book.open_chart()
        book.submit_many([chart.open_wallet("wallet:U1"), chart.open_merchant("M1")])
        top_up(book, "t1", "wallet:U1", 10_000)
        expires = datetime(2030, 1, 1, tzinfo=UTC)
        hold = PlaceHold(
            id="h",
            hold="H1",
            wallet="wallet:U1",
            destination=chart.merchant("M1"),
            amount_minor=1_000,
            expires_at=expires,
        )
        book.submit(hold)
        book.submit(ReleaseHold(id="r", hold="H1"))
        assert verify(book).ok
        twice = _append_unchecked(
            book, "forged-1", "hold:H1", 3, HoldReleased(postings=(), hold="H1", amount_minor=1)
        )
        early = _append_unchecked(
            book, "forged-2", "order:O9", 1, CodOrderPaidOut(order="O9", payout="P1")
        )
        orphan = _append_unchecked(
            book,
            "forged-3",
            "loan:L9",
            1,
            LoanRecovered(postings=(), loan="L9", on=datetime(2026, 1, 1).date(), amount_minor=1),
        )
        found = {(f.check, f.seq) for f in verify(book).findings}
    assert found == {("states", twice), ("states", early), ("states", orphan)}


def test_a_stream_broken_after_its_start_is_named_at_the_event_at_fault(tmp_path: Path) -> None:
    """The rules live beside each fold (ledger.state); the audit names the seq of the
    event that broke one, not the stream's first."""
    from ledger.events import CodOrderFailed, CodOrderReleased

    with Ledger.open(tmp_path / "states.db", clock=FakeClock()) as book:
        _append_unchecked(book, "f-1", "order:O1", 1, CodOrderFailed(postings=(), order="O1"))
        released = _append_unchecked(
            book,
            "f-2",
            "order:O1",
            2,
            CodOrderReleased(postings=(), order="O1", merchant="M1", amount_minor=1),
        )
        again = _append_unchecked(
            book,
            "f-3",
            "order:O1",
            3,
            CodOrderReleased(postings=(), order="O1", merchant="M1", amount_minor=1),
        )
        found = [(f.check, f.seq) for f in verify(book).findings]
    assert found == [("states", again)] and again == released + 1


def test_a_bug_in_a_fold_is_raised_not_reported_as_a_finding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a damaged log (FoldError) is a finding; our own bug surfaces as itself."""
    from datetime import UTC, datetime

    from ledger import PlaceHold

    with Ledger.open(tmp_path / "bug.db", clock=FakeClock()) as book:
        chart = book.chart
        book.open_chart()
        book.submit_many([chart.open_wallet("wallet:U1"), chart.open_merchant("M1")])
        top_up(book, "t1", "wallet:U1", 10_000)
        book.submit(
            PlaceHold(
                id="h",
                hold="H1",
                wallet="wallet:U1",
                destination=chart.merchant("M1"),
                amount_minor=1_000,
                expires_at=datetime(2030, 1, 1, tzinfo=UTC),
            )
        )
        assert verify(book).ok

        def buggy(hold: str, events: object) -> None:
            raise KeyError("a bug in the fold")

        monkeypatch.setattr(audit, "fold_hold", buggy)
        with pytest.raises(KeyError, match="a bug in the fold"):
            verify(book, processes=1)  # the fold is patched in this process only


def test_a_bug_in_the_second_process_is_handed_back(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the second process runs, run here: a check that raises is written back in
    place of its findings, for the walk's process to raise if it needs that check."""
    import io
    import pickle
    import sys

    def buggy(book: Ledger, head: int) -> None:
        raise KeyError("a bug in the fold")

    with Ledger.open(db) as book:
        policy, (head, head_hash) = book.policy, book.head()
    monkeypatch.setattr(audit, "_states", buggy)
    asked = io.TextIOWrapper(io.BytesIO(pickle.dumps((str(db), policy, head, head_hash))))
    answer = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "stdin", asked)
    monkeypatch.setattr(sys, "stdout", answer)
    audit.side_main()
    answers = io.BytesIO(answer.buffer.getvalue())
    integrity, states, projections = (pickle.load(answers) for _ in range(3))
    assert audit._unpacked(integrity) == [] and audit._unpacked(projections) == []
    with pytest.raises(KeyError, match="a bug in the fold"):
        audit._unpacked(states)
    assert answers.read() == b""  # three answers, nothing more


def test_a_second_process_that_fails_is_an_error_not_a_clean_report(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit.sys, "executable", "/bin/false")
    with Ledger.open(db) as book, pytest.raises(StoreError, match="second process failed"):
        verify(book, processes=2)
    monkeypatch.setattr(audit.sys, "executable", str(db.parent / "no-such-python"))
    with Ledger.open(db) as book, pytest.raises(StoreError, match="cannot start"):
        verify(book, processes=2)


def test_what_the_walk_does_not_need_is_not_waited_for(
    db: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A damaged log: ``states`` and ``projections`` are not needed, so once the second
    process has answered ``integrity`` it is stopped, not waited for. Here a stand-in
    answers ``integrity`` at once and would only then mark that it was let finish."""
    import pickle
    import stat

    finished = tmp_path / "finished"
    integrity = tmp_path / "integrity.pickle"
    integrity.write_bytes(pickle.dumps(pickle.dumps([])))  # no integrity finding
    stand_in = tmp_path / "python"
    stand_in.write_text(f"#!/bin/sh\ncat '{integrity}'\nsleep 5\ntouch '{finished}'\n")
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IEXEC)
    tamper(db, "UPDATE events SET recorded_at = recorded_at - 1000000 WHERE seq = 5")
    monkeypatch.setattr(audit.sys, "executable", str(stand_in))
    with Ledger.open(db) as book:
        found = {(f.check, f.seq) for f in verify(book, processes=2).findings}
    assert found == {("recorded_order", 5), ("hash_chain", 5)}
    assert not finished.exists()


@pytest.mark.parametrize("processes", [0, 3, True, 2.0, "2"])
def test_processes_is_one_or_two(db: Path, processes: object) -> None:
    with Ledger.open(db) as book, pytest.raises(InvalidCommand, match="processes"):
        verify(book, processes=processes)  # type: ignore[arg-type]


def test_verify_reports_progress(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ledger.audit

    monkeypatch.setattr(ledger.audit, "PROGRESS_EVERY", 2)
    seen: list[tuple[int, int]] = []
    with Ledger.open(db) as book:
        head = book.head()[0]
        assert verify(book, progress=lambda done, total: seen.append((done, total))).ok
    assert seen[-1] == (head, head)
    assert [d for d, _ in seen[:-1]] == list(range(2, head + 1, 2))


def test_damaged_read_models_are_a_finding_not_a_crash(db: Path) -> None:
    _with_read_models(db)
    tamper(db, "ALTER TABLE proj_holds RENAME TO proj_holds_gone")
    found = _checks(db)
    assert ("projections", 0) in found
    assert found == {("projections", 0), ("schema", 0)}  # the table is gone from the schema too


def test_read_models_in_a_file_whose_name_needs_quoting(tmp_path: Path, db: Path) -> None:
    odd = tmp_path / "a #1?.db"
    odd.write_bytes(db.read_bytes())
    _with_read_models(odd)
    tamper(odd, "UPDATE proj_accounts SET debits_posted = 1 WHERE account = 'bank:trust'")
    assert _checks(odd) == {("projections", 5)}


TAMPERING: dict[str, tuple[str, int, set[tuple[str, int]]]] = {
    # how: (the SQL, the first seq it breaks, every (check, seq) verify names)
    "an amount": (
        f"UPDATE events SET payload = {changed_payload(10000, 10001)} WHERE seq = 4",
        4,
        {("hash_chain", 4), ("balance_history", 4), ("accounts_rebuild", 0)},
    ),
    "an account": (
        "UPDATE events SET payload = CAST(replace(payload, 'wallet:f', 'wallet:w') AS BLOB)"
        " WHERE seq = 5",
        5,
        {("hash_chain", 5), ("balance_history", 5), ("accounts_rebuild", 0)},
    ),
    "a recorded time": (
        "UPDATE events SET recorded_at = recorded_at + 1 WHERE seq = 3",
        3,
        {("hash_chain", 3), ("recorded_order", 4)},  # seq 4 is now recorded before seq 3
    ),
    "an effective time": (
        "UPDATE events SET effective_at = effective_at - 1 WHERE seq = 4",
        4,
        {("hash_chain", 4), ("balance_history", 4)},
    ),
    "a stream": ("UPDATE events SET stream = 'entry:other' WHERE seq = 4", 4, {("hash_chain", 4)}),
    "a command id": (
        "UPDATE events SET command_id = 'other' WHERE seq = 2",
        2,
        {("hash_chain", 2), ("commands_index", 2)},
    ),
    "a deleted row": (
        "DELETE FROM events WHERE seq = 3",
        3,
        # wallet:f was opened at seq 3: its top-up (5) and freeze (6) no longer fold
        {("gapless", 3), ("hash_chain", 4), ("refold", 5), ("refold", 6)},
    ),
    "two rows swapped": (
        "UPDATE events SET seq = 100 WHERE seq = 4;"
        "UPDATE events SET seq = 4 WHERE seq = 5;"
        "UPDATE events SET seq = 5 WHERE seq = 100",
        4,
        {
            ("hash_chain", 4),
            ("hash_chain", 5),
            ("hash_chain", 6),
            ("balance_history", 4),
            ("commands_index", 4),
            ("commands_index", 5),
        },
    ),
    "a hash": (
        "UPDATE events SET hash = zeroblob(32) WHERE seq = 2",
        2,
        {("hash_chain", 2), ("hash_chain", 3)},  # seq 3 chains to the hash seq 2 had
    ),
}


@pytest.mark.parametrize("how", sorted(TAMPERING))
def test_every_kind_of_tampering_is_named_at_its_first_bad_seq(db: Path, how: str) -> None:
    """With the triggers dropped, raw SQL changes one thing in the log; verify finds it and
    its earliest finding is the seq that was changed (or the first one missing)."""
    sql, first_bad, named = TAMPERING[how]
    tamper(db, *sql.split(";"))
    with Ledger.open(db) as book:
        report = verify(book)
    assert not report.ok
    tied = [f.seq for f in report.findings if f.seq]
    assert min(tied) == first_bad, report.findings
    assert report.integrity_findings and report.exit_code == 1  # never taken for a shortfall
    assert {(f.check, f.seq) for f in report.findings} == named


def _payload_of(db: Path, command_id: str) -> tuple[int, bytes]:
    with Ledger.open(db) as book:  # closing the last connection folds the WAL into the file
        found = next(r for r in book.events() if r.command_id == command_id)
    return found.seq, found.payload


def test_a_byte_changed_in_the_file_itself_is_found_at_its_seq(db: Path) -> None:
    """No SQL at all: the bytes of one leg's amount changed in the database file."""
    seq, payload = _payload_of(db, "t2")
    data = bytearray(db.read_bytes())
    at = data.find(payload)
    assert at >= 0 and data.find(payload, at + 1) == -1
    amount, changed = msgspec.msgpack.encode(500), msgspec.msgpack.encode(900)
    leg = at + payload.index(amount)
    data[leg : leg + len(amount)] = changed
    db.write_bytes(bytes(data))
    found = _checks(db)
    assert ("hash_chain", seq) in found
    assert min(s for _, s in found if s) == seq, found  # seq 0: findings of the whole ledger
    # one leg's 500 became 900: the chain, the entry's balance and the history break at
    # that seq; the accounts and the zero sum over the whole ledger (seq 0)
    assert found == {
        ("hash_chain", seq),
        ("entry_balances", seq),
        ("balance_history", seq),
        ("accounts_rebuild", 0),
        ("zero_sum", 0),
    }


def test_a_zeroed_page_under_the_log_is_a_typed_error_or_a_finding_never_ok(db: Path) -> None:
    seq, payload = _payload_of(db, "t2")
    data = bytearray(db.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    page = data.find(payload) // page_size
    data[page * page_size : (page + 1) * page_size] = bytes(page_size)
    db.write_bytes(bytes(data))
    try:
        with Ledger.open(db) as book:
            report = verify(book)
    except StoreError as exc:  # the file cannot even be opened as a ledger: said so, typed
        assert str(exc)
        return
    assert not report.ok
    assert min(f.seq for f in report.findings) <= seq


def test_an_entry_slipped_into_a_closed_period_is_found(db: Path, clock: FakeClock) -> None:
    with Ledger.open(db, clock=clock) as book:
        through = clock() - timedelta(hours=1)
        assert isinstance(book.submit(ClosePeriod(id="close", through=through)), Accepted)
        top_up(book, "t3", "wallet:w", 100)
        seq = book.head()[0]
    # rewrite t3 as if it were effective inside the closed period, hash chain and all
    raw = sqlite3.connect(db)
    row = raw.execute("SELECT * FROM events WHERE seq = ?", (seq,)).fetchone()
    previous = raw.execute("SELECT hash FROM events WHERE seq = ?", (seq - 1,)).fetchone()[0]
    effective = to_us(through) - 1
    digest = chain_hash(previous, *row[:7], effective, row[8])
    raw.close()
    tamper(
        db,
        f"UPDATE events SET effective_at = {effective}, hash = x'{digest.hex()}' WHERE seq = {seq}",
        f"UPDATE account_postings SET effective_at = {effective} WHERE seq = {seq}",
    )
    found = _checks(db)
    assert ("periods", seq) in found
    assert found == {("periods", seq)}  # the hash was recomputed: only the period rule sees it
