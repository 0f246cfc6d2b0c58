"""What a projection is: a name, a version, the event types it folds, the tables it owns.

A projection is a fold of the log into tables of its own. It never reads the store's
tables or another projection's, and keeps nothing in memory between events, so it can be
dropped and rebuilt at any time, in any database, and a rebuild equals the incrementally
kept one byte for byte (:func:`canonical_dump`). :class:`projections.runner.Runner`
creates the tables, feeds the events and keeps each projection's checkpoint in the same
transaction as its rows.
"""

from __future__ import annotations

import abc
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import attrs
import msgspec
import sqlite_utils

from ledger.events import EVENT_TYPES, EventBase, MoneyEvent
from ledger.store.base import RecordedEvent

Database = sqlite_utils.Database

_dump_encoder = msgspec.json.Encoder()


@attrs.frozen
class Table:
    """One table a projection owns: columns (name to Python type), primary key, indexes.

    Every table name starts with ``proj_`` so the read models can share a file with the
    log without colliding with the store's own tables.
    """

    name: str
    columns: dict[str, type]
    pk: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...] = ()
    nullable: frozenset[str] = frozenset()
    """Columns that may hold NULL; every other column is NOT NULL."""

    def create(self, db: Database) -> None:
        """Create the table with sqlite-utils, without its secondary indexes (the runner
        builds those with :meth:`create_indexes` once a first fold is done)."""
        if not self.name.startswith("proj_"):
            raise ValueError(f"projection tables are named proj_*, not {self.name!r}")
        db.table(self.name).create(
            self.columns,
            pk=self.pk if len(self.pk) > 1 else self.pk[0],
            not_null=[c for c in self.columns if c not in self.nullable],
        )

    def create_indexes(self, db: Database) -> None:
        """Create the table's secondary indexes that it does not have yet."""
        for columns in self.indexes:
            db.table(self.name).create_index(list(columns), if_not_exists=True)


class Projection(abc.ABC):
    """A read model folded from the log. Subclasses set the three class attributes and
    write :meth:`apply`; the runner calls it for each handled event, in seq order, inside
    the transaction that also moves the checkpoint."""

    name: ClassVar[str]
    version: ClassVar[int]
    """Raise it whenever the tables or what ``apply`` writes change: the runner then drops
    and rebuilds this projection from seq 1."""
    handles: ClassVar[frozenset[type[EventBase]]]
    tables: ClassVar[tuple[Table, ...]]
    retired: ClassVar[tuple[str, ...]] = ()
    """Tables an earlier version owned and this one does not: dropped with it, so a
    database folded by that version is left with none of them once rebuilt."""

    def create(self, db: Database) -> None:
        """Create the tables, without their secondary indexes (``apply`` writes and reads
        through primary keys; the indexes serve the read API's queries)."""
        for table in self.tables:
            table.create(db)

    def create_indexes(self, db: Database) -> None:
        """Create the tables' secondary indexes that they do not have yet."""
        for table in self.tables:
            table.create_indexes(db)

    def drop(self, db: Database) -> None:
        for name in (*(table.name for table in self.tables), *self.retired):
            db.execute(f"DROP TABLE IF EXISTS [{name}]")

    @abc.abstractmethod
    def apply(self, db: Database, record: RecordedEvent) -> None:
        """Fold one event of a handled type into the tables."""

    def apply_page(self, db: Database, records: Sequence[RecordedEvent]) -> None:
        """Fold a page of handled events, in seq order. The runner calls this; a
        projection may fold a page at once (fewer statements) if what it writes is
        exactly what folding the events one by one would."""
        for record in records:
            self.apply(db, record)


def money_events() -> frozenset[type[EventBase]]:
    """Every event type that carries postings."""
    return frozenset(cls for cls in EVENT_TYPES.values() if issubclass(cls, MoneyEvent))


def one(db: Database, sql: str, parameters: Iterable[Any] = ()) -> tuple[Any, ...] | None:
    """The first row of a query, None if there is none."""
    row: tuple[Any, ...] | None = db.execute(sql, tuple(parameters)).fetchone()
    return row


@contextmanager
def snapshot(db: Database) -> Iterator[None]:
    """Every read in the block sees one committed state of the read models, even while
    another runner commits pages (a report's several queries must agree). Inside a
    transaction already, the block joins it."""
    if db.conn.in_transaction:
        yield
        return
    db.execute("BEGIN")
    try:
        yield
    finally:
        db.execute("COMMIT")


def matching(**filters: object) -> tuple[str, list[object]]:
    """A WHERE clause (``column = ?`` for every filter that is not None, ``1`` if none)
    and its parameters: how the views filter their rows. Column names are the keyword
    names, never caller data."""
    given = {column: value for column, value in filters.items() if value is not None}
    clause = " AND ".join(f"[{column}] = ?" for column in given) or "1"
    return clause, list(given.values())


def canonical_dump(db: Database, projections: Iterable[Projection]) -> bytes:
    """Every row of every table of ``projections``, in primary-key order, as JSON lines
    headed by the table's name: equal bytes mean equal read models."""
    lines = []
    for projection in sorted(projections, key=lambda p: p.name):
        for table in sorted(projection.tables, key=lambda t: t.name):
            order = ", ".join(f"[{c}]" for c in table.pk)
            columns = ", ".join(f"[{c}]" for c in table.columns)
            lines.append(_dump_encoder.encode([projection.name, projection.version, table.name]))
            for row in db.execute(f"SELECT {columns} FROM [{table.name}] ORDER BY {order}"):
                lines.append(_dump_encoder.encode(list(row)))
    return b"\n".join(lines) + b"\n"


def digest(db: Database, projections: Iterable[Projection]) -> str:
    """SHA-256 (hex) of :func:`canonical_dump`."""
    return hashlib.sha256(canonical_dump(db, projections)).hexdigest()
