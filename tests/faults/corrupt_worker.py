"""Damage copies of a ledger file and say what Satang makes of each:
``python -m tests.faults.corrupt_worker ORIGINAL CASES SCRATCH``.

CASES is a JSON file of damages (``{"case": n, "kind": "flip", "offset": o, "bit": b}``,
``{"kind": "zero", "page": p}`` or ``{"kind": "truncate", "length": n}``). Each is made on
a fresh copy of ORIGINAL in the SCRATCH directory, and one JSON line is printed (flushed)
per case, so the parent knows how far a worker got if SQLite or the interpreter dies:

* what the damage did to the file, seen without Satang: whether a plain SQLite reading
  of every table (``rows``) still equals the original's, and whether SQLite's own
  ``PRAGMA integrity_check`` passes;
* what Satang made of it: ``typed`` (opening or ``verify`` raised a ``LedgerError``,
  named), ``finding`` (``verify`` reported, with the checks that fired), ``unchanged``
  (``verify`` is clean, and so are the rows, SQLite's check and every balance), or the
  two failures: ``silent`` (``verify`` is clean, but a row, the file or a balance is not:
  the reason is given) and ``untyped`` (another exception escaped, named).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

from ledger import Ledger, LedgerError
from ledger.audit import verify

Dump = dict[str, list[str]]

_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
FORM_ONLY: dict[str, dict[str, Callable[[Any], Any]]] = {
    # sha256 of the accepted command, which the log does not hold (only its events): no
    # check can derive it again; verify checks its form, 32 bytes
    "commands": {"digest": lambda v: "32 bytes" if type(v) is bytes and len(v) == 32 else v},
    # the wall-clock time each migration ran: nothing derives it; verify checks its form
    "schema_migrations": {
        "applied_at": lambda v: "a time" if type(v) is str and _TIMESTAMP.fullmatch(v) else v
    },
    # a read model whose checkpoint names another projection or version is dropped and
    # rebuilt from seq 1 the next time a Runner opens the file: nothing wrong is served,
    # and verify cannot tell it from read models folded by another version of the code
    "proj_checkpoints": {"name": lambda v: "-", "version": lambda v: "-"},
}
"""Columns compared by their form only, not their value: what no check can derive."""


def rows(path: Path) -> Dump:
    """Every row of every table, the schema first, read as the bytes stand (``immutable``:
    no lock, no WAL, nothing written): rowid tables by rowid (a scan of the table itself,
    not of an index), tables without rowid by their primary key. Values as ``repr``, so an
    integer turned into a float of the same value is a change too."""
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
    conn.text_factory = _text
    try:
        schema = conn.execute(
            "SELECT type, name, tbl_name, rootpage, sql FROM sqlite_master ORDER BY rowid"
        ).fetchall()
        dump: Dump = {"sqlite_master": [repr(r) for r in schema]}
        for kind, name, *_ in schema:
            if kind != "table":
                continue
            try:
                cursor = conn.execute(f"SELECT rowid, * FROM [{name}] ORDER BY rowid")
            except sqlite3.OperationalError as exc:
                if "rowid" not in str(exc):
                    raise
                info = sorted(conn.execute(f"PRAGMA table_info([{name}])"), key=lambda r: r[5])
                order = ", ".join(f"[{r[1]}]" for r in info if r[5])
                cursor = conn.execute(f"SELECT * FROM [{name}] ORDER BY {order}")
            found = cursor.fetchall()
            forms = FORM_ONLY.get(name)
            if forms is not None:
                column_forms = [forms.get(d[0], _as_is) for d in cursor.description]
                found = [tuple(f(v) for f, v in zip(column_forms, r, strict=True)) for r in found]
            dump[name] = [repr(r) for r in found]
        return dump
    finally:
        conn.close()


def _as_is(value: Any) -> Any:
    return value


def _text(raw: bytes) -> str:
    """TEXT as stored, even when it is not UTF-8 (a flipped bit in a character): the
    bytes that do not decode are kept as surrogates, so they compare unequal."""
    return raw.decode("utf-8", "surrogateescape")


def sqlite_says_ok(path: Path) -> bool:
    """SQLite's own full check of the file (b-trees, indexes against their tables)."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?immutable=1", uri=True)
        try:
            return conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        finally:
            conn.close()
    except (sqlite3.Error, UnicodeDecodeError):
        return False


class Reference:
    """What the undamaged file holds: its rows, and the balances a caller reads from it
    (now, as of a seq half way along the log, and as of that event's effective time)."""

    def __init__(self, original: Path, scratch: Path) -> None:
        copy = scratch / "reference.db"
        copy.write_bytes(original.read_bytes())
        self.rows = rows(copy)
        with Ledger.open(copy, create=False) as book:
            self.mid_seq = book.head()[0] // 2
            self.mid_time = next(book.events(after=self.mid_seq - 1, limit=1)).effective_at
            self.accounts = [b.account for b in book.balances()]
            self.balances = self.read(book)

    def read(self, book: Ledger) -> list[str]:
        """Every account's balance by three reads, and the whole table of balances."""
        found = [repr(b) for b in book.balances()]
        for account in self.accounts:
            for as_of in (None, self.mid_seq, self.mid_time):
                found.append(repr(book.balance(account, as_of=as_of)))
        return found


def damage(data: bytes, case: dict[str, Any]) -> bytes:
    """The file with one case's damage done."""
    kind = case["kind"]
    if kind == "flip":
        changed = bytearray(data)
        changed[case["offset"]] ^= 1 << case["bit"]
        return bytes(changed)
    if kind == "zero":
        size = int.from_bytes(data[16:18], "big")
        start = case["page"] * size
        return data[:start] + bytes(size) + data[start + size :]
    if kind == "truncate":
        return data[: case["length"]]
    raise ValueError(f"no such damage {kind!r}")


def _first_difference(mine: Dump | None, reference: Dump) -> str | None:
    if mine is None:
        return "unreadable"
    for table in sorted(set(mine) | set(reference)):
        if mine.get(table) != reference.get(table):
            return table
    return None


def _first(found: list[str] | str, expected: list[str]) -> str:
    """The first balance read that differs, or the error that stopped the reads."""
    if isinstance(found, str):
        return found
    pairs = zip(found, expected, strict=False)
    return next((f"{a}, not {b}" for a, b in pairs if a != b), "another number of accounts")


def judge(path: Path, reference: Reference, processes: int | None = None) -> dict[str, Any]:
    """What SQLite and Satang make of the damaged file at ``path`` (``verify`` with
    ``processes``)."""
    try:
        dump: Dump | None = rows(path)
    except (sqlite3.Error, UnicodeDecodeError):  # the latter: an error naming damaged text
        dump = None
    table = _first_difference(dump, reference.rows)
    result: dict[str, Any] = {"table": table, "sqlite_ok": sqlite_says_ok(path)}
    try:
        with Ledger.open(path, create=False) as book:
            report = verify(book, processes=processes)
            if report.ok:
                try:
                    balances: list[str] | str = reference.read(book)
                except LedgerError as exc:  # verify passed a ledger its reads then refuse
                    balances = f"{type(exc).__name__}: {exc}"
    except LedgerError as exc:
        return {**result, "outcome": "typed", "error": type(exc).__name__}
    except Exception as exc:
        return {**result, "outcome": "untyped", "error": f"{type(exc).__name__}: {exc}"}
    if not report.ok:
        return {
            **result,
            "outcome": "finding",
            "checks": sorted({f.check for f in report.findings}),
        }
    wrong = [
        what
        for what, bad in (
            (f"rows of {table} differ", table is not None),
            ("SQLite's integrity_check fails", not result["sqlite_ok"]),
            (
                f"a balance differs: {_first(balances, reference.balances)}",
                balances != reference.balances,
            ),
        )
        if bad
    ]
    if wrong:
        return {**result, "outcome": "silent", "error": "; ".join(wrong)}
    return {**result, "outcome": "unchanged"}


def run(
    original: Path, cases: list[dict[str, Any]], scratch: Path, processes: int | None = None
) -> Iterator[dict[str, Any]]:
    reference = Reference(original, scratch)
    data = original.read_bytes()
    path = scratch / "damaged.db"
    for case in cases:
        for suffix in ("", "-wal", "-shm"):
            with suppress(FileNotFoundError):
                os.remove(f"{path}{suffix}")
        path.write_bytes(damage(data, case))
        yield {**case, **judge(path, reference, processes)}


def main(original: str, cases: str, scratch: str, processes: str = "") -> None:
    todo = json.loads(Path(cases).read_text())
    asked = int(processes) if processes else None
    for result in run(Path(original), todo, Path(scratch), asked):
        print(json.dumps(result, sort_keys=True), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:5])
