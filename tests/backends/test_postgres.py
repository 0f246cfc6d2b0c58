"""The store contract on PostgreSQL (a throwaway cluster: src/ledger/bench/pgcluster.py),
unchanged, plus what only a server shows: triggers refusing raw SQL from another connection, and the
write lock that keeps ``seq`` in commit order when writers overlap."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from click.testing import CliRunner

from ledger import Accepted, Ledger, StoreBusy, StoreError
from ledger.audit import verify
from ledger.cli import main
from ledger.demo import DemoSize, run_demo
from projections.runner import Runner
from tests.backends.contract import Clock, PersistentStoreContract, chart, top_up


class TestPostgres(PersistentStoreContract):
    @pytest.fixture(autouse=True)
    def _schema(self, pg_dsn: str) -> None:
        self.dsn = pg_dsn

    def open_book(self, clock: Clock) -> Ledger:
        return Ledger.open(self.dsn, clock=clock)

    def reopen_book(self, book: Ledger, clock: Clock) -> Ledger:
        book.close()
        return Ledger.open(self.dsn, clock=clock)

    def test_append_only_triggers_refuse_raw_sql(self, book: Ledger) -> None:
        book.submit(top_up("t1", "wallet:U1", 10))
        with psycopg.connect(self.dsn, autocommit=True) as raw:
            for sql in (
                "UPDATE events SET payload = '\\x00' WHERE seq = 1",
                "DELETE FROM events WHERE seq = 1",
                "TRUNCATE events CASCADE",
                "UPDATE commands SET last_seq = 99",
                "DELETE FROM commands",
                "TRUNCATE commands",
                "UPDATE account_postings SET amount_minor = 1",
                "DELETE FROM account_postings WHERE seq = 4",
                "INSERT INTO events SELECT seq + 10, stream, version + 1, command_id, type,"
                " schema, recorded_at, effective_at, payload, hash FROM events WHERE seq = 4",
            ):
                with pytest.raises(psycopg.errors.RaiseException, match=r"append-only|gapless"):
                    raw.execute(sql)
        assert book.head()[0] == 4

    def test_two_writers_commit_in_seq_order(self, book: Ledger, clock: Clock) -> None:
        """Two connections write at once; every event a third one reads is the next seq."""
        other = Ledger.open(self.dsn, clock=clock)
        seen: list[int] = []
        done = threading.Event()

        def write(ledger: Ledger, name: str) -> None:
            for i in range(150):
                assert isinstance(ledger.submit(top_up(f"{name}{i}", "wallet:U1", 1)), Accepted)

        def read() -> None:
            with Ledger.open(self.dsn, clock=clock) as reader:
                last = 0
                while not done.is_set() or last < book.head()[0]:
                    for rec in reader.events(after=last):
                        seen.append(rec.seq)
                        last = rec.seq

        threads = [
            threading.Thread(target=write, args=(book, "a")),
            threading.Thread(target=write, args=(other, "b")),
        ]
        reader = threading.Thread(target=read)
        reader.start()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        done.set()
        reader.join()
        other.close()
        assert seen == list(range(1, 304)), "a reader saw a seq skip or go back"


# --- a demo day migrated from SQLite: the same chain, read models and reports ---------

SMALL = DemoSize(customers=80, merchants=4, agents=3, couriers=2, cod_orders_per_day=12, loans=15)
DAY = date(2026, 12, 1)


@pytest.fixture(scope="module")
def demo_day(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("migrate") / "day.db"
    run_demo(path, seed=5, size=SMALL, day=DAY)
    return path


@pytest.fixture
def migrated(demo_day: Path, pg_dsn: str) -> str:
    """The demo day, migrated into a new schema with ``satang migrate``."""
    result = CliRunner().invoke(main, ["migrate", "--from", str(demo_day), "--to", pg_dsn])
    assert result.exit_code == 0, result.output
    assert "copied" in result.output and result.output.rstrip().endswith("ok")
    return pg_dsn


def test_a_migrated_log_verifies_on_postgres_with_the_same_head(
    demo_day: Path, migrated: str
) -> None:
    with Ledger.open(demo_day, create=False) as lite, Ledger.open(migrated) as pg:
        assert pg.head() == lite.head() and pg.head()[0] > 1_000
        assert [r.hash for r in pg.events()] == [r.hash for r in lite.events()]
        assert pg.balances() == lite.balances()
        report = verify(pg, anchor=lite.head())
        assert report.ok, report.findings
        # as-of reads: by seq and by effective time, the same on both backends
        middle = lite.head()[0] // 2
        when = next(iter(lite.events(after=middle - 1, limit=1))).effective_at
        for account in [b.account for b in lite.balances()][::7]:
            assert pg.balance(account, as_of=middle) == lite.balance(account, as_of=middle)
            assert pg.balance(account, as_of=when) == lite.balance(account, as_of=when)


def test_migrate_refuses_a_schema_that_holds_a_ledger(demo_day: Path, migrated: str) -> None:
    again = CliRunner().invoke(main, ["migrate", "--from", str(demo_day), "--to", migrated])
    assert again.exit_code == 1 and "holds a ledger already" in again.output
    with Ledger.open(migrated) as pg, Ledger.open(demo_day, create=False) as lite:
        assert pg.head() == lite.head()  # nothing was copied twice


def test_verify_on_postgres_names_a_row_changed_behind_the_triggers(migrated: str) -> None:
    with psycopg.connect(migrated, autocommit=True) as raw:
        raw.execute("ALTER TABLE events DISABLE TRIGGER events_append_only")
        raw.execute("UPDATE events SET recorded_at = recorded_at + 1 WHERE seq = 500")
    with Ledger.open(migrated) as pg:
        findings = {(f.check, f.seq) for f in verify(pg).findings}
        assert ("hash_chain", 500) in findings and ("schema", 0) in findings
    with psycopg.connect(migrated, autocommit=True) as raw:
        raw.execute("ALTER TABLE events ENABLE TRIGGER events_append_only")
        raw.execute("UPDATE ledger_head SET seq = seq - 1")
    with Ledger.open(migrated) as pg:
        [finding] = [f for f in verify(pg).findings if f.check == "schema"]
        assert "ledger_head says" in finding.detail


def test_verify_on_postgres_names_a_history_or_index_row_changed_at_its_seq(
    migrated: str,
) -> None:
    """The multiset checks of the history and the index read PostgreSQL's rows too: a
    row changed by a value Python's hash of an int cannot tell apart is named at its seq."""
    with Ledger.open(migrated) as pg:
        assert verify(pg).ok
        row = next(r for r in pg.store.posting_rows() if r.seq >= 500)
        [(command_id, first, _)] = [c for c in pg.store.command_rows() if c[1] <= 600 <= c[2]]
    with psycopg.connect(migrated, autocommit=True) as raw:
        for table in ("account_postings", "commands"):
            raw.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
        raw.execute(
            "UPDATE account_postings SET amount_minor = amount_minor + %s"
            " WHERE seq = %s AND leg = %s",
            (2**61 - 1, row.seq, row.leg),
        )
        raw.execute(
            "UPDATE commands SET last_seq = last_seq + 1 WHERE command_id = %s", (command_id,)
        )
    with Ledger.open(migrated) as pg:
        findings = {(f.check, f.seq) for f in verify(pg).findings}
    assert ("balance_history", row.seq) in findings and ("commands_index", first) in findings


@pytest.mark.slow  # a projector in another process
def test_read_models_fold_from_postgres_in_another_process_and_equal_sqlites(
    demo_day: Path, migrated: str, tmp_path: Path
) -> None:
    """A projector in another process folds the PostgreSQL log into a SQLite file of read
    models; its digest equals the read models of the same log in SQLite, a rebuild gives
    it again, and a report reads the same off either."""
    reads = tmp_path / "reads.db"
    folded = subprocess.run(
        [sys.executable, "-c", FOLD, migrated, str(reads)], capture_output=True, text=True
    )
    assert folded.returncode == 0, folded.stderr
    with Ledger.open(demo_day, create=False) as lite, Runner(lite, ":memory:") as there:
        there.catch_up()
        expected, head = there.digest(), lite.head()[0]
    assert folded.stdout.split() == [expected, str(head)]
    with Ledger.open(migrated) as pg, Runner(pg, reads) as here:
        assert here.catch_up() == 0 and here.digest() == expected  # caught up already
        here.rebuild()
        assert here.digest() == expected
    args = ["report", "safeguarding", "--date", DAY.isoformat(), "--format", "json"]
    on_pg = CliRunner().invoke(main, [*args, "--db", migrated, "--reads", str(reads)])
    on_lite = CliRunner().invoke(main, [*args, "--db", str(demo_day), "--reads", ":memory:"])
    assert on_pg.exit_code == on_lite.exit_code == 0, on_pg.output
    assert json.loads(on_pg.output) == json.loads(on_lite.output)


FOLD = (
    "import sys\n"
    "from ledger import Ledger\n"
    "from projections.runner import Runner\n"
    "with Ledger.open(sys.argv[1], create=False) as book, Runner(book, sys.argv[2]) as r:\n"
    "    r.catch_up(); print(r.digest(), r.seq)\n"
)


# --- what a server adds: schemas, isolation defaults, lost connections, lock waits -----


def test_a_ledger_in_a_later_schema_of_the_search_path_is_not_this_one(pg_dsn: str) -> None:
    with Ledger.open(pg_dsn) as first:
        assert all(isinstance(r, Accepted) for r in first.submit_many(chart()))
        first_head = first.head()
    with psycopg.connect(pg_dsn, autocommit=True) as raw:
        schema = raw.execute("SELECT current_schema()").fetchone()[0]
        raw.execute(f"CREATE SCHEMA {schema}_b")
    before = pg_dsn.rsplit("options=", 1)[0]
    both = f"{before}options={quote(f'-csearch_path={schema}_b,{schema}')}"
    with Ledger.open(both) as second:
        assert second.head()[0] == 0  # a new ledger in the first schema of the path
        assert all(isinstance(r, Accepted) for r in second.submit_many(chart()))
    with Ledger.open(pg_dsn) as first:
        assert first.head() == first_head  # the other ledger was not written to


def test_writers_see_each_others_commits_whatever_the_default_isolation(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as raw:
        database = raw.execute("SELECT current_database()").fetchone()[0]
        raw.execute(f"ALTER DATABASE {database} SET default_transaction_isolation = 'serializable'")
    try:
        books = [Ledger.open(pg_dsn, busy_timeout_ms=30_000) for _ in range(3)]
        assert all(isinstance(r, Accepted) for r in books[0].submit_many(chart()))
        answers: list[object] = []

        def write(book: Ledger, name: str) -> None:
            for i in range(60):
                answers.append(book.submit(top_up(f"{name}{i}", "wallet:U1", 1)))

        threads = [threading.Thread(target=write, args=(b, f"w{n}-")) for n, b in enumerate(books)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(answers) == 180 and all(isinstance(a, Accepted) for a in answers)
        assert books[0].balance("wallet:U1").balance == 180
    finally:
        for b in books:
            b.close()
        with psycopg.connect(pg_dsn, autocommit=True) as raw:
            raw.execute(f"ALTER DATABASE {database} RESET default_transaction_isolation")


def test_a_lost_connection_is_a_store_error_and_the_next_call_reconnects(pg_dsn: str) -> None:
    """A server restart or failover ends the session: the call in flight gets a typed
    error (its transaction rolled back by the server), and the next call reconnects."""
    with Ledger.open(pg_dsn) as book:
        assert all(isinstance(r, Accepted) for r in book.submit_many(chart()))
        for n, call in enumerate(
            (lambda n: book.submit(top_up(f"t{n}", "wallet:U1", 5)), lambda n: book.head())
        ):
            pid = book.store._conn.info.backend_pid  # type: ignore[attr-defined]
            with psycopg.connect(pg_dsn, autocommit=True) as raw:
                raw.execute("SELECT pg_terminate_backend(%s)", (pid,))
            with pytest.raises(StoreError):
                call(n)
            assert isinstance(book.submit(top_up(f"again{n}", "wallet:U1", 5)), Accepted)
        assert book.balance("wallet:U1").balance == 10 and book.head()[0] == 5


def test_a_zero_busy_timeout_fails_at_once_as_on_sqlite(pg_dsn: str) -> None:
    with Ledger.open(pg_dsn) as book:
        assert all(isinstance(r, Accepted) for r in book.submit_many(chart()))
    with psycopg.connect(pg_dsn) as holder, Ledger.open(pg_dsn, busy_timeout_ms=0) as book:
        holder.execute("SELECT 1 FROM ledger_head FOR UPDATE")  # another writer's lock
        started = time.perf_counter()
        with pytest.raises(StoreBusy):
            book.submit(top_up("t1", "wallet:U1", 5))
        assert time.perf_counter() - started < 5  # not waiting for ever


def test_a_file_from_before_refusals_were_recorded_migrates(tmp_path: Path, pg_dsn: str) -> None:
    """A 0.1.0 file (schema 2: no record of refusals, no recorded zone) is read as it is,
    unmigrated, and copied whole; the copy verifies with the source's head as anchor."""
    import shutil

    frozen = Path(__file__).parent.parent / "frozen" / "satang-0.1.0.db"
    copy = tmp_path / "old.db"
    shutil.copyfile(frozen, copy)
    before = copy.read_bytes()
    result = CliRunner().invoke(main, ["migrate", "--from", str(copy), "--to", pg_dsn])
    assert result.exit_code == 0, result.output
    assert copy.read_bytes() == before
    with Ledger.open(copy, readonly=True) as lite, Ledger.open(pg_dsn) as pg:
        assert pg.head() == lite.head()
        assert verify(pg, anchor=lite.head()).ok
