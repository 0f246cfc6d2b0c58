"""The projection engine: checkpoints move with the rows, catch-up from anywhere folds each
event exactly once, a changed version rebuilds, a rebuild elsewhere equals incremental."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest

from ledger import Accepted, Credit, Debit, Ledger, OpenAccount, PostEntry
from ledger.errors import InvalidCommand, StoreError
from ledger.events import EventBase
from ledger.store.base import RecordedEvent
from ledger.times import ManualClock
from projections.base import Database, Projection, Table, money_events
from projections.holds import Holds
from projections.runner import ReadModelsStale, Runner, default_projections
from projections.statements import Statements

T0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
WALLETS = 20


def ticking(start: datetime = T0) -> ManualClock:
    """A clock from ``start`` that moves a second on every read."""
    return ManualClock(start, step=timedelta(seconds=1))


def _entries(first: int, count: int) -> list[PostEntry]:
    return [
        PostEntry(
            id=f"e{n}",
            kind="top_up",
            postings=[Debit("bank:trust", 100 + n), Credit(f"wallet:U{n % WALLETS}", 100 + n)],
        )
        for n in range(first, first + count)
    ]


def _fill(book: Ledger, entries: int) -> None:
    book.submit_many(
        [OpenAccount(id="o-bank", account="bank:trust", type="asset", currency="THB")]
        + [
            OpenAccount(id=f"o-{i}", account=f"wallet:U{i}", type="liability", currency="THB")
            for i in range(WALLETS)
        ]
    )
    for first in range(0, entries, 500):
        book.submit_many(_entries(first, min(500, entries - first)))


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "ledger.db"


@pytest.fixture
def book(path: Path) -> Iterator[Ledger]:
    with Ledger.open(path, clock=ticking()) as ledger:
        _fill(ledger, 1_200)
        yield ledger


def _rows(db: Database, table: str) -> int:
    return int(db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _debits(db: Database) -> int:
    """Every debit the statements read model has folded: a posting folded twice, or
    skipped, moves it off the ledger's own."""
    return int(db.execute("SELECT SUM(debits_posted) FROM proj_accounts").fetchone()[0])


def _ledger_debits(book: Ledger) -> int:
    return sum(b.debits_posted for b in book.balances())


def test_catch_up_folds_everything_and_moves_every_checkpoint(book: Ledger) -> None:
    with Runner(book, page_events=100) as runner:
        head = book.head()[0]
        assert runner.catch_up() == head
        assert {c.seq for c in runner.checkpoints().values()} == {head}
        assert _debits(runner.db) == _ledger_debits(book) == sum(100 + n for n in range(1_200))
        assert runner.catch_up() == 0, "a caught-up runner reads nothing"
        book.submit_many(_entries(5_000, 3))
        assert runner.catch_up() == 3
        assert _debits(runner.db) == _ledger_debits(book)


def test_the_read_models_live_in_the_ledger_file_by_default(book: Ledger, path: Path) -> None:
    with Runner(book) as runner:
        runner.catch_up()
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}
    assert {"proj_checkpoints", "proj_accounts", "events"} <= tables
    with Runner(book) as again:
        assert again.catch_up() == 0, "the checkpoints were kept in the file"


def test_a_memory_ledger_keeps_its_read_models_in_memory() -> None:
    with Ledger.open(":memory:", clock=ticking()) as book:
        _fill(book, 10)
        with Runner(book) as runner:
            assert runner.catch_up() == book.head()[0]


def _catch_up_in_another_process(path: str, page: int) -> int:
    with Ledger.open(path, create=False) as book, Runner(book, page_events=page) as runner:
        return runner.catch_up()


@pytest.mark.slow
def test_another_process_catches_up_the_same_file(book: Ledger, path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        folded = pool.apply(_catch_up_in_another_process, (str(path), 250))
    assert folded == book.head()[0]
    with Runner(book) as here:
        assert here.catch_up() == 0
        assert here.digest() == here.rebuild_into(":memory:").digest()


@pytest.mark.slow
def test_two_processes_catching_up_at_once_fold_each_event_exactly_once(
    book: Ledger, path: Path
) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = [pool.apply_async(_catch_up_in_another_process, (str(path), 7)) for _ in range(2)]
        read = [r.get(timeout=120) for r in results]
    assert sum(read) >= book.head()[0], "between them they read the whole log"
    with Runner(book) as runner:
        assert runner.catch_up() == 0
        assert _debits(runner.db) == _ledger_debits(book), "no posting folded twice"
        assert runner.digest() == runner.rebuild_into(":memory:").digest()


class Exploding(Projection):
    """Folds postings, and raises at one chosen seq: a crash in the middle of a page."""

    name = "exploding"
    version = 1
    handles: ClassVar[frozenset[type[EventBase]]] = money_events()
    tables = (Table("proj_exploding", {"seq": int, "leg": int}, pk=("seq", "leg")),)
    explode_at: ClassVar[int | None] = None

    def apply(self, db: Database, record: RecordedEvent) -> None:
        if record.seq == self.explode_at:
            raise RuntimeError(f"boom at {record.seq}")
        for leg, _ in enumerate(record.event.postings):  # type: ignore[union-attr]
            db.execute("INSERT INTO proj_exploding VALUES (?, ?)", (record.seq, leg))


def test_a_failure_mid_page_leaves_every_projection_at_its_last_checkpoint(
    book: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Exploding, "explode_at", 250)
    with Runner(book, ":memory:", projections=[Statements(), Exploding()], page_events=100) as r:
        with pytest.raises(RuntimeError, match="boom at 250"):
            r.catch_up()
        assert {c.seq for c in r.checkpoints().values()} == {200}
        legs = sum(
            len(e.event.postings) for e in book.events(limit=200) if e.type == "entry_posted"
        )
        assert _rows(r.db, "proj_exploding") == legs, "the rows stop where the checkpoint does"
        assert r.db.execute("SELECT MAX(last_seq) FROM proj_accounts").fetchone()[0] == 200
        monkeypatch.setattr(Exploding, "explode_at", None)
        r.catch_up()
        assert r.dump() == r.rebuild_into(":memory:").dump()


class HoldsV2(Holds):
    version = 2


def test_a_new_version_rebuilds_that_projection_and_leaves_the_others(book: Ledger) -> None:
    with Runner(book) as runner:
        runner.catch_up()
        # Mark both projections' tables, so we can see which one is rebuilt.
        runner.db.execute(
            "UPDATE proj_accounts SET metadata = 'marked' WHERE account = 'wallet:U1'"
        )
        runner.db.execute(
            "INSERT INTO proj_holds VALUES"
            " ('stale', 'w', 'd', 1, 'pending', 0, 0, 0, 0, NULL, 1, 1)"
        )
    others = [p for p in default_projections() if p.name != "holds"]
    with Runner(book, projections=[*others, HoldsV2()]) as runner:
        found = runner.checkpoints()
        assert found["holds"].version == 2 and found["holds"].seq == 0
        assert found["statements"].seq == book.head()[0]
        assert _rows(runner.db, "proj_holds") == 0, "holds was dropped and recreated"
        assert runner.db.execute(
            "SELECT COUNT(*) FROM proj_accounts WHERE metadata = 'marked'"
        ).fetchone() == (1,), "statements was left alone"
        assert runner.catch_up() == book.head()[0], "holds folds again from seq 1"


def test_a_dropped_table_rebuilds_its_projection(book: Ledger) -> None:
    with Runner(book) as runner:
        runner.catch_up()
        runner.db.execute("DROP TABLE proj_account_tiers")
    with Runner(book) as runner:
        assert runner.checkpoints()["statements"].seq == 0
        runner.catch_up()
        assert _debits(runner.db) == _ledger_debits(book)


def test_rebuild_folds_again_and_reports_progress(book: Ledger) -> None:
    with Runner(book, ":memory:", page_events=400) as runner:
        runner.catch_up()
        before = runner.dump()
        seen: list[tuple[int, int]] = []
        runner.rebuild(["statements"], progress=lambda done, total: seen.append((done, total)))
        head = book.head()[0]
        assert seen[-1] == (head, head) and len(seen) == -(-head // 400)
        assert [d for d, _ in seen] == sorted(d for d, _ in seen)
        assert runner.dump() == before
        with pytest.raises(InvalidCommand, match="no projection named"):
            runner.rebuild(["nope"])


def test_rebuilt_in_a_second_database_equals_incremental_page_by_page(
    book: Ledger, tmp_path: Path
) -> None:
    with Runner(book, tmp_path / "incremental.db", page_events=1) as incremental:
        for n in range(40):
            book.submit(_entries(9_000 + n, 1)[0])
            incremental.catch_up()
        other = incremental.rebuild_into(tmp_path / "rebuilt.db")
        assert other.checkpoints() == incremental.checkpoints()
        assert other.dump() == incremental.dump()
        assert other.digest() == incremental.digest()
        changed = other.db.execute(
            "UPDATE proj_accounts SET debits_posted = debits_posted + 1"
            " WHERE account = 'bank:trust'"
        )
        assert changed.rowcount == 1
        assert other.digest() != incremental.digest(), "the dump sees a changed amount"
        other.close()


def test_catch_up_until_a_seq_stops_there(book: Ledger) -> None:
    with Runner(book, ":memory:") as runner:
        assert runner.catch_up(until=100) == 100
        assert {c.seq for c in runner.checkpoints().values()} == {100}


@pytest.mark.parametrize(
    "kwargs",
    [{"page_events": 0}, {"page_events": True}, {"db": 42}, {"projections": [Statements()] * 2}],
    ids=["page-0", "page-bool", "db-int", "duplicate-name"],
)
def test_bad_arguments_are_typed_errors(book: Ledger, kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidCommand):
        Runner(book, **kwargs)  # type: ignore[arg-type]


def test_bad_catch_up_arguments_and_a_non_ledger_are_refused(book: Ledger) -> None:
    with pytest.raises(InvalidCommand):
        Runner("ledger.db")  # type: ignore[arg-type]
    with Runner(book, ":memory:") as runner:
        for until in (-1, 1.5, "3"):
            with pytest.raises(InvalidCommand):
                runner.catch_up(until=until)  # type: ignore[arg-type]
        assert {c.seq for c in runner.checkpoints().values()} == {0}


def test_a_reset_by_another_runner_while_a_page_is_in_flight_skips_nothing(
    book: Ledger, path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = tmp_path / "reads.db"
    with Runner(book, reads, page_events=100) as first:
        first.catch_up(until=50)
        with Ledger.open(path, create=False) as other_book, Runner(other_book, reads) as other:
            read_page = book.events
            fired = []

            def events_then_reset(*args: object, **kwargs: object) -> Iterator[RecordedEvent]:
                page = list(read_page(*args, **kwargs))  # type: ignore[arg-type]
                if not fired:  # between reading the page and folding it, another runner
                    fired.append(True)  # drops and recreates the statements projection
                    with other._write():
                        other._reset(next(p for p in other.projections if p.name == "statements"))
                return iter(page)

            monkeypatch.setattr(book, "events", events_then_reset)
            first.catch_up()
        assert fired
        assert {c.seq for c in first.checkpoints().values()} == {book.head()[0]}
        assert _debits(first.db) == _ledger_debits(book), "every posting, once"
        assert first.dump() == first.rebuild_into(":memory:").dump()


def test_read_models_of_another_ledger_are_refused(book: Ledger, tmp_path: Path) -> None:
    reads = tmp_path / "reads.db"
    with Runner(book, reads) as runner:
        runner.catch_up()
    with Ledger.open(tmp_path / "other.db", clock=ticking()) as other:
        _fill(other, 10)  # a shorter log, with other events
        with Runner(other, reads) as runner, pytest.raises(ReadModelsStale, match="no seq"):
            runner.catch_up()
        with Runner(other, reads) as runner:
            runner.rebuild()
            assert runner.checkpoints()["statements"].seq == other.head()[0]
    later = ticking(T0 + timedelta(hours=1))
    with Ledger.open(tmp_path / "third.db", clock=later) as third:
        _fill(third, 1_300)  # as long, but other events at that seq (recorded an hour on)
        with Runner(third, reads) as runner, pytest.raises(ReadModelsStale, match="another"):
            runner.catch_up()


def test_rebuild_into_resets_its_target_and_refuses_its_own_file(
    book: Ledger, path: Path, tmp_path: Path
) -> None:
    with Runner(book) as live:
        live.catch_up()
        with pytest.raises(InvalidCommand, match="another database"):
            live.rebuild_into(path)
        target = tmp_path / "target.db"
        with Runner(book, target) as stale:
            stale.catch_up()
            stale.db.execute(
                "UPDATE proj_accounts SET debits_posted = 1 WHERE account = 'bank:trust'"
            )
        rebuilt = live.rebuild_into(target)
        assert rebuilt.dump() == live.dump(), "the tampered target was folded afresh"
        rebuilt.close()


def test_a_runner_refuses_to_fold_a_version_it_does_not_know(book: Ledger) -> None:
    with Runner(book) as old:
        old.catch_up(until=100)
        others = [p for p in default_projections() if p.name != "holds"]
        with Runner(book, projections=[*others, HoldsV2()]):
            pass  # a newer deployment opened the file and rebuilt holds as version 2
        with pytest.raises(StoreError, match="holds in this database is version 2"):
            old.catch_up()


def test_reads_in_one_block_see_one_state_while_another_runner_folds(
    book: Ledger, tmp_path: Path, path: Path
) -> None:
    reads = tmp_path / "reads.db"
    with Runner(book, reads) as reader:
        reader.catch_up(until=200)
        with Ledger.open(path, create=False) as other_book, Runner(other_book, reads) as writer:
            with reader.reading():
                before = _debits(reader.db)
                writer.catch_up()
                assert _debits(reader.db) == before
            assert _debits(reader.db) == _ledger_debits(book) != before


def test_a_pinned_runner_stops_at_its_seq(book: Ledger) -> None:
    with Runner(book, ":memory:", until=120) as pinned:
        assert pinned.catch_up() == 120
        assert pinned.seq == 120
        assert pinned.catch_up(until=500) == 0
    with pytest.raises(InvalidCommand):
        Runner(book, ":memory:", until=-1)


def test_a_report_records_the_one_seq_its_figures_stand_at(
    book: Ledger, path: Path, tmp_path: Path
) -> None:
    """A statements-only runner sharing the file moves that projection ahead; a full
    runner's report catches the others up to it and records one log_seq, which a pinned
    runner reproduces."""
    from projections.reports.safeguarding import safeguarding

    reads = tmp_path / "reads.db"
    with Runner(book, reads) as full:
        full.catch_up(until=300)
        with Runner(book, reads, projections=[Statements()]) as ahead:
            ahead.catch_up(until=600)
        report = safeguarding(full, book.today())
        assert report.log_seq == book.head()[0]
        assert {c.seq for c in full.checkpoints().values()} == {report.log_seq}
        with Runner(book, ":memory:", until=report.log_seq) as pinned:
            assert safeguarding(pinned, book.today()).to_json() == report.to_json()


def test_a_pinned_runner_refuses_a_database_another_runner_folded_past_its_pin(
    book: Ledger, tmp_path: Path
) -> None:
    from projections.reports.safeguarding import safeguarding

    reads = tmp_path / "reads.db"
    with Runner(book, reads, until=100) as pinned:
        pinned.catch_up()
        with Runner(book, reads) as full:
            full.catch_up()
        with pytest.raises(InvalidCommand, match="past this runner's seq 100"):
            safeguarding(pinned, book.today())


def test_a_report_inside_a_reading_block_uses_that_snapshot(book: Ledger) -> None:
    from projections.reports.safeguarding import safeguarding

    with Runner(book, ":memory:") as runner:
        runner.catch_up(until=200)
        with runner.reading():
            report = safeguarding(runner, book.today())  # does not fold: reads what is there
            with pytest.raises(InvalidCommand, match="inside a reading"):
                runner.catch_up()
        assert report.log_seq == 200


def test_a_report_needs_the_projections_it_reads(book: Ledger) -> None:
    from projections.reports.activity import activity

    with Runner(book, ":memory:", projections=[Statements()]) as runner:
        day = book.today()
        with pytest.raises(InvalidCommand, match="transactions"):
            activity(runner, day, day)


def test_rebuild_into_its_own_database_object_is_refused(book: Ledger) -> None:
    with Runner(book, ":memory:") as runner:
        runner.catch_up()
        with pytest.raises(InvalidCommand, match="another database"):
            runner.rebuild_into(runner.db)
        assert runner.seq == book.head()[0]


def test_checkpoints_written_without_hashes_are_folded_again(book: Ledger, tmp_path: Path) -> None:
    reads = tmp_path / "old.db"
    with sqlite3.connect(reads) as conn:
        conn.execute("CREATE TABLE proj_checkpoints (name TEXT PRIMARY KEY, version INT, seq INT)")
        conn.execute("INSERT INTO proj_checkpoints VALUES ('statements', 1, 999)")
    with Runner(book, reads) as runner:
        assert runner.seq == 0
        assert runner.catch_up() == book.head()[0]


def test_a_page_folded_at_once_writes_what_event_by_event_does(tmp_path: Path) -> None:
    """Postings, freezes, tier assignments and openings interleaved on the same accounts
    inside one page: the page fold's rows (counters, last_seq, running balances) equal
    those of pages of one event."""
    from ledger import AssignTier, DefineTier, FreezeAccount, UnfreezeAccount

    with Ledger.open(tmp_path / "mixed.db", clock=ticking()) as book:
        _fill(book, 30)
        tier = DefineTier(
            id="tier",
            tier="basic",
            max_balance_minor=10**9,
            per_transaction_max_minor=None,
            daily_outflow_max_minor=None,
            monthly_outflow_max_minor=None,
        )
        assert isinstance(book.submit(tier), Accepted)
        for command in (
            FreezeAccount(id="f1", account="wallet:U9"),
            *_entries(100, 3),
            UnfreezeAccount(id="u1", account="wallet:U9"),
            OpenAccount(
                id="o-t", account="wallet:T", type="liability", currency="THB", no_overdraft=True
            ),
            PostEntry(
                id="t-1", kind="top_up", postings=[Debit("bank:trust", 5), Credit("wallet:T", 5)]
            ),
            AssignTier(id="a1", wallet="wallet:T", tier="basic"),
            *_entries(200, 25),
            OpenAccount(
                id="o-late",
                account="wallet:LATE",
                type="liability",
                currency="THB",
                no_overdraft=True,
            ),
            PostEntry(
                id="late-1",
                kind="top_up",
                postings=[Debit("bank:trust", 7), Credit("wallet:LATE", 7)],
            ),
            AssignTier(id="a2", wallet="wallet:LATE", tier="basic"),
        ):
            result = book.submit(command)
            assert isinstance(result, Accepted), result
        one_by_one = Runner(book, ":memory:", page_events=1)
        at_once = Runner(book, ":memory:", page_events=1_000)
        assert one_by_one.catch_up() == at_once.catch_up() == book.head()[0]
        assert one_by_one.dump() == at_once.dump()
        (last_seq,) = at_once.db.execute(
            "SELECT last_seq FROM proj_accounts WHERE account = 'wallet:LATE'"
        ).fetchone()
        assert last_seq == book.head()[0], "the tier assigned after its posting moved it"
        one_by_one.close()
        at_once.close()


def test_a_rebuild_without_secondary_indexes_folds_the_same_rows(tmp_path: Path) -> None:
    """``indexes=False`` (what ``verify`` rebuilds into): every flow's read models, the
    same rows as a rebuild with its indexes, and no index on any of their tables."""
    from ledger.demo import DemoSize, run_demo

    path = tmp_path / "day.db"
    size = DemoSize(
        customers=60, merchants=4, agents=3, couriers=2, cod_orders_per_day=12, loans=10
    )
    run_demo(path, seed=3, size=size, day=datetime(2026, 12, 1).date())
    with (
        Ledger.open(path, readonly=True) as book,
        Runner(book, ":memory:") as indexed,
        Runner(book, ":memory:", indexes=False) as bare,
    ):
        assert indexed.catch_up() == bare.catch_up() > 500
        assert bare.dump() == indexed.dump()
        index_sql = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        assert indexed.db.execute(index_sql).fetchone()[0] > 0
        assert bare.db.execute(index_sql).fetchone()[0] == 0
        with pytest.raises(InvalidCommand, match="indexes"):
            Runner(book, tmp_path / "reads.db", indexes=False)
        with pytest.raises(InvalidCommand, match="indexes"):
            Runner(book, ":memory:", indexes=0)  # type: ignore[arg-type]


def test_the_indexes_are_built_once_a_fresh_fold_is_done_and_a_cut_one_finishes(
    book: Ledger, tmp_path: Path
) -> None:
    """Tables made afresh fold without their secondary indexes, marked pending in
    ``proj_unindexed`` with the reset; they are built over the rows when the catch-up is
    done (or the runner closes). A fold cut short leaves the mark: ``verify`` does not
    count the indexes missing, and the next runner's catch-up builds them."""
    from ledger.audit import verify

    indexes = (
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        " AND tbl_name LIKE 'proj_%' ORDER BY name"
    )
    pending = "SELECT name FROM proj_unindexed ORDER BY name"
    with Runner(book) as runner:  # in the ledger's own file, which verify checks
        assert runner.db.execute(indexes).fetchall() == []  # made afresh, nothing folded
        assert len(runner.db.execute(pending).fetchall()) == len(runner.projections)
        runner.catch_up()
        made = runner.db.execute(indexes).fetchall()
        assert len(made) >= 5 and runner.db.execute(pending).fetchall() == []
        for (name,) in made:  # what a first fold cut short leaves
            runner.db.execute(f"DROP INDEX [{name}]")
        for p in runner.projections:
            runner.db.execute("INSERT INTO proj_unindexed VALUES (?)", (p.name,))
    assert verify(book).ok
    with Runner(book) as again:
        assert again.db.execute(indexes).fetchall() == []
        again.catch_up()
        assert again.db.execute(indexes).fetchall() == made
        assert again.db.execute(pending).fetchall() == []
    assert verify(book).ok
    other = tmp_path / "other.db"
    with Runner(book, other):  # closed before any catch-up
        pass
    conn = sqlite3.connect(other)
    try:
        assert conn.execute(indexes).fetchall() == made
    finally:
        conn.close()
