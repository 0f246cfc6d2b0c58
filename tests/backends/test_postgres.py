"""The store contract on PostgreSQL (a throwaway cluster: tests/pg.py), unchanged, plus
what only a server shows: triggers refusing raw SQL from another connection, and the
write lock that keeps ``seq`` in commit order when writers overlap."""

from __future__ import annotations

import threading

import psycopg
import pytest

from ledger import Accepted, Ledger
from tests.backends.contract import Clock, PersistentStoreContract, top_up


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
