"""Old ledgers open, verify and rebuild forever: the frozen files in tests/frozen/.

Each frozen file was written by a past version of the code (tests/frozen/build.py) and is
never rewritten. Every test works on a copy, so opening (which may migrate) never touches
the file in the repo.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import msgspec
import pytest

from ledger import Ledger, StoreCorrupt, UnknownEventType
from ledger.audit import verify
from ledger.events import COMPACT_SCHEMA, EVENT_TYPES, decode_event, encode_event, event_json
from ledger.store.base import chain_hash
from ledger.store.sqlite import SCHEMA_VERSION
from ledger.times import to_us
from projections.balances import rebuild
from projections.base import digest
from projections.runner import Runner
from projections.statements import statement

FROZEN = Path(__file__).parent / "frozen"
FILES = sorted(FROZEN.glob("*.db"))


def _manifest(db: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(db.with_suffix(".json").read_text())
    return loaded


@pytest.fixture(params=FILES, ids=[f.name for f in FILES])
def frozen(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    original: Path = request.param
    copy = tmp_path / original.name
    shutil.copyfile(original, copy)
    return copy, _manifest(original)


def test_there_is_a_frozen_file_and_it_is_unchanged_by_the_tests() -> None:
    assert FILES, "tests/frozen/ must hold at least one frozen ledger"
    assert not list(FROZEN.glob("*.db-*")), "something opened a frozen file in place"
    for db in FILES:
        # immutable: read without a -wal or -shm file beside it, so the repo stays as it is
        with sqlite3.connect(f"{db.as_uri()}?mode=ro&immutable=1", uri=True) as conn:
            head = conn.execute("SELECT seq, hex(hash) FROM events ORDER BY seq DESC LIMIT 1")
            seq, digest_hex = head.fetchone()
        conn.close()
        manifest = _manifest(db)
        assert (seq, digest_hex.lower()) == (manifest["head_seq"], manifest["head_hash"])
        assert hashlib.sha256(db.read_bytes()).hexdigest() == manifest["sha256"], db.name
        assert manifest["store_schema"] <= SCHEMA_VERSION


def test_it_opens_and_its_chain_verifies_over_the_original_bytes(
    frozen: tuple[Path, dict[str, Any]],
) -> None:
    path, manifest = frozen
    with Ledger.open(path, create=False) as book:
        assert book.head() == (manifest["head_seq"], manifest["head_hash"])
        report = verify(book, anchor=(manifest["head_seq"], manifest["head_hash"]))
        assert report.ok, report.findings
        assert report.events_checked == manifest["head_seq"]
        decoded = {(r.type, r.schema) for r in book.events()}
        # the times and hash as stored, made into a datetime and hex on reading
        for r in book.events():
            assert (to_us(r.recorded_at), to_us(r.effective_at)) == (
                r.recorded_at_us,
                r.effective_at_us,
            )
            assert bytes.fromhex(r.hash) == r.hash_bytes and len(r.hash_bytes) == 32
        assert rebuild(book.events()) == {b.account: b for b in book.balances()}
    assert decoded == {(type_, schema) for type_, schema in manifest["event_schemas"]}
    with sqlite3.connect(path) as conn:
        applied = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()[0]
    conn.close()
    assert applied == SCHEMA_VERSION  # migrated in place if it was older


def test_it_rebuilds_to_the_same_read_models(
    frozen: tuple[Path, dict[str, Any]],
) -> None:
    """A read model at the version the file was frozen with rebuilds, from seq 1, to the
    very rows stored in the file; one whose version moved on is rebuilt when the file is
    caught up, and verify then compares it with a second rebuild."""
    path, manifest = frozen
    with Ledger.open(path, create=False) as book, Runner(book) as stored:
        checkpoints = stored.checkpoints()
        with Runner(book, ":memory:") as rebuilt:  # every projection from seq 1
            rebuilt.catch_up(until=manifest["head_seq"])
            for p in rebuilt.projections:
                frozen_at = manifest["projections"].get(p.name)
                if frozen_at is None or frozen_at["version"] != p.version:
                    continue  # a projection added or changed since: no frozen rows to match
                assert checkpoints[p.name].seq == manifest["head_seq"], p.name
                assert digest(stored.db, [p]) == frozen_at["digest"], p.name
                assert digest(rebuilt.db, [p]) == frozen_at["digest"], p.name
        stored.catch_up()
        assert verify(book).ok


def test_every_payload_is_what_the_codec_of_its_schema_makes_of_its_event() -> None:
    """Decoding then encoding gives the stored bytes back, in each file and each schema:
    canonical JSON for schema 1 (so ``event_json`` is what a schema 1 row holds), the
    compact encoding from schema 2. A field added since a row was written (rule 1: last
    in its class, with a default) comes back with its default: the row then holds every
    field but those, and they hold their defaults."""
    seen = set()
    for db in FILES:
        with sqlite3.connect(f"{db.as_uri()}?mode=ro&immutable=1", uri=True) as conn:
            rows = conn.execute("SELECT type, schema, payload FROM events").fetchall()
        conn.close()
        for type_, schema, payload in rows:
            event = decode_event(type_, schema, payload)
            compact = schema >= COMPACT_SCHEMA
            again = encode_event(event) if compact else event_json(event)
            seen.add(schema)
            if again == payload:
                continue
            defaults = {
                f.name: msgspec.to_builtins(
                    f.default if f.default is not msgspec.NODEFAULT else f.default_factory()
                )
                for f in msgspec.structs.fields(type(event))
                if f.default is not msgspec.NODEFAULT or f.default_factory is not msgspec.NODEFAULT
            }
            if compact:
                stored, now = msgspec.msgpack.decode(payload), msgspec.msgpack.decode(again)
                added = list(type(event).__struct_fields__)[len(stored) - 1 :]
                assert now[: len(stored)] == stored, (db.name, type_, schema)
                assert now[len(stored) :] == [defaults[f] for f in added], (db.name, type_)
            else:
                stored, now = msgspec.json.decode(payload), msgspec.json.decode(again)
                added = [f for f in now if f not in stored]
                assert {f: v for f, v in now.items() if f not in added} == stored, db.name
                assert all(now[f] == defaults[f] for f in added) and added, (db.name, type_)
    assert seen == {1, COMPACT_SCHEMA}


KEPT_POSTINGS = [
    f for f in FILES if _manifest(f)["projections"].get("statements", {}).get("version") == 1
]


@pytest.mark.parametrize("original", KEPT_POSTINGS, ids=[f.name for f in KEPT_POSTINGS])
def test_statements_read_from_the_history_are_the_lines_version_1_kept(
    original: Path, tmp_path: Path
) -> None:
    """The statements read model of version 1 kept a copy of every posting
    (``proj_postings``); version 2 reads the ledger's history instead. Every line of every
    account's statement, in log order, is the row version 1 stored in the frozen file, and
    once the file is caught up the copy is gone."""
    assert KEPT_POSTINGS, "the frozen files of 0.1.0 keep version 1's postings"
    path = tmp_path / original.name
    shutil.copyfile(original, path)
    with sqlite3.connect(path) as conn:
        kept: dict[str, list[tuple[object, ...]]] = {}
        for account, *line in conn.execute(
            "SELECT account, seq, leg, effective_at, recorded_at, type, command_id,"
            " counterparties, side, phase, amount_minor, signed_minor, balance_minor"
            " FROM proj_postings ORDER BY account, seq, leg"
        ):
            kept.setdefault(account, []).append(tuple(line))
    conn.close()
    assert kept
    with Ledger.open(path, create=False) as book, Runner(book) as runner:
        runner.catch_up()
        for account, lines in kept.items():
            page = statement(runner, account, limit=10_000)
            assert [
                (
                    line.seq,
                    line.leg,
                    to_us(line.effective_at),
                    to_us(line.recorded_at),
                    line.type,
                    line.command_id,
                    " ".join(line.counterparties),
                    line.side,
                    line.phase,
                    line.amount_minor,
                    line.signed_minor,
                    line.balance_minor,
                )
                for line in page.lines
            ] == lines, account
        tables = {name for (name,) in runner.db.execute("SELECT name FROM sqlite_master")}
    assert "proj_postings" not in tables and "proj_accounts" in tables


def test_every_event_type_at_its_current_schema_is_in_a_frozen_file() -> None:
    """A new event type or a new SCHEMA needs a new frozen file (tests/frozen/build.py), so
    that the next change is checked against logs this code wrote."""
    frozen_pairs = {
        (type_, schema) for db in FILES for type_, schema in _manifest(db)["event_schemas"]
    }
    current = {(type_, cls.SCHEMA) for type_, cls in EVENT_TYPES.items()}
    assert current - frozen_pairs == set()


def _append_raw(path: Path, type_: str, schema: int, payload: bytes) -> int:
    """Append a row with a valid hash chain, as a newer Satang would have written it."""
    with sqlite3.connect(path) as conn:
        seq, previous, recorded = conn.execute(
            "SELECT seq, hash, recorded_at FROM events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        row = (seq + 1, "points:C00001", 1, "newer-satang-1", type_, schema, recorded, recorded)
        hashed = chain_hash(previous, *row, payload)
        conn.execute(
            "INSERT INTO events VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*row, payload, hashed)
        )
    conn.close()
    return int(seq + 1)


@pytest.mark.parametrize(
    ("type_", "schema"),
    [("loyalty_points_awarded", 1), ("entry_posted", 99)],
    ids=["unknown type", "newer schema"],
)
def test_an_event_this_code_cannot_read_is_a_typed_error_never_skipped(
    frozen: tuple[Path, dict[str, Any]], type_: str, schema: int
) -> None:
    path, _ = frozen
    payload = b'{"type":"%s","points":100}' % type_.encode()
    seq = _append_raw(path, type_, schema, payload)
    with Ledger.open(path, create=False) as book:
        with pytest.raises(UnknownEventType) as raised:
            list(book.events(after=seq - 2))
        assert (raised.value.seq, raised.value.event_type, raised.value.schema) == (
            seq,
            type_,
            schema,
        )
        assert isinstance(raised.value, StoreCorrupt)
        found = verify(book).findings
        assert found[0].check == "readable" and found[0].seq == seq
        with Runner(book, ":memory:") as runner, pytest.raises(UnknownEventType):
            runner.catch_up()  # the read models stop there: never fold around it
