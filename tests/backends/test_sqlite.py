"""The store contract on SQLite: a real file (WAL, durable) and ``:memory:``."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger import Ledger
from tests.backends.contract import Clock, PersistentStoreContract, StoreContract


class TestSqliteFile(PersistentStoreContract):
    @pytest.fixture(autouse=True)
    def _dir(self, tmp_path: Path) -> None:
        self.path = tmp_path / "contract.db"

    def open_book(self, clock: Clock) -> Ledger:
        return Ledger.open(self.path, clock=clock)

    def reopen_book(self, book: Ledger, clock: Clock) -> Ledger:
        book.close()
        return Ledger.open(self.path, clock=clock)

    def test_append_only_triggers_refuse_raw_sql(self, book: Ledger) -> None:
        import sqlite3

        from tests.backends.contract import top_up

        book.submit(top_up("t1", "wallet:U1", 10))
        raw = sqlite3.connect(self.path)
        try:
            for sql in (
                "UPDATE events SET payload = x'00' WHERE seq = 1",
                "DELETE FROM events WHERE seq = 1",
                "UPDATE commands SET last_seq = 99",
                "DELETE FROM commands",
                "UPDATE account_postings SET amount_minor = 1",
                "DELETE FROM account_postings WHERE seq = 4",
            ):
                with pytest.raises(sqlite3.DatabaseError, match="append-only"):
                    raw.execute(sql)
        finally:
            raw.close()
        assert book.head()[0] == 4


class TestSqliteMemory(StoreContract):
    def open_book(self, clock: Clock) -> Ledger:
        return Ledger.open(":memory:", clock=clock)
