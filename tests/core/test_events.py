"""Stored events decode forever: old schemas are upcast, unknown or newer ones refused."""

from __future__ import annotations

from typing import Any, ClassVar

import msgspec
import pytest

from ledger import Credit, Debit, Ledger, OpenAccount, PostEntry, StoreCorrupt, UnknownEventType
from ledger.events import (
    COMPACT_SCHEMA,
    EVENT_TYPES,
    SCHEMA_2_CLASSES,
    UPCASTERS,
    AccountFrozen,
    EntryPosted,
    EventBase,
    Posting,
    decode_event,
    encode_event,
    event_json,
)

POSTINGS = (
    Posting(account="a", side="debit", amount_minor=5, currency="THB"),
    Posting(account="b", side="credit", amount_minor=5, currency="THB"),
)


def test_encoding_is_compact_canonical_and_round_trips() -> None:
    event = EntryPosted(
        entry_id="e", kind="k", postings=POSTINGS, memo="m", metadata={"z": "1", "a": "2"}
    )
    payload = encode_event(event)
    assert EntryPosted.SCHEMA == COMPACT_SCHEMA == 2
    assert msgspec.msgpack.decode(payload)[0] == "entry_posted"  # an array, its tag first
    assert b"amount_minor" not in payload and b"entry_id" not in payload  # no field names
    assert payload.index(b"\xa1a") < payload.index(b"\xa1z")  # dict keys sorted
    assert decode_event("entry_posted", 2, payload) == event
    assert encode_event(decode_event("entry_posted", 2, payload)) == payload
    shown = event_json(event)  # the JSON of schema 1, as the exports print it
    assert shown.startswith(b'{"type":"entry_posted","postings":[{"account":"a"')
    assert shown.index(b'"a":"2"') < shown.index(b'"z":"1"')
    assert decode_event("entry_posted", 1, shown) == event  # and a schema 1 row decodes


def _schema_three(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the code moved EntryPosted to schema 3, whose memos are upper case: an
    upcaster from schema 2 takes the compact array (the tag, then the fields in order)."""
    memo = 1 + EntryPosted.__struct_fields__.index("memo")

    def upcast(data: list[Any]) -> list[Any]:
        return [*data[:memo], data[memo].upper(), *data[memo + 1 :]]

    monkeypatch.setattr(EntryPosted, "SCHEMA", 3)
    monkeypatch.setitem(UPCASTERS, ("entry_posted", 2), upcast)


def test_an_old_payload_is_upcast_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    event = EntryPosted(entry_id="e", kind="k", postings=POSTINGS, memo="paid")
    compact, json_ = encode_event(event), event_json(event)
    _schema_three(monkeypatch)
    assert decode_event("entry_posted", 2, compact).memo == "PAID"
    assert decode_event("entry_posted", 1, json_).memo == "PAID"  # 1 -> 2 -> 3
    assert decode_event("entry_posted", 3, compact).memo == "paid"  # current: as stored


def test_a_stored_log_is_read_through_the_upcasters(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Ledger.open(":memory:") as book:
        book.submit_many(
            [
                OpenAccount(id="o1", account="a", type="asset", currency="THB"),
                OpenAccount(id="o2", account="b", type="liability", currency="THB"),
                PostEntry(id="e", kind="k", postings=[Debit("a", 5), Credit("b", 5)], memo="x"),
            ]
        )
        _schema_three(monkeypatch)
        (rec,) = list(book.events(after=2))
        assert rec.schema == 2 and isinstance(rec.event, EntryPosted) and rec.event.memo == "X"


def test_every_schema_1_type_moves_to_schema_2_by_its_encoding_alone() -> None:
    assert {key for key in UPCASTERS if key[1] == 1} == {(t, 1) for t in EVENT_TYPES}
    assert all(cls.SCHEMA == COMPACT_SCHEMA for cls in EVENT_TYPES.values())


def test_a_missing_upcaster_or_a_newer_schema_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    event = EntryPosted(entry_id="e", kind="k", postings=POSTINGS)
    payload, json_ = encode_event(event), event_json(event)
    with pytest.raises(UnknownEventType, match="newer than this code") as newer:
        decode_event("entry_posted", 7, payload)
    assert (newer.value.event_type, newer.value.schema) == ("entry_posted", 7)
    for schema in (0, -1):  # no schema before 1: refused, never read as JSON
        with pytest.raises(UnknownEventType, match="no upcaster"):
            decode_event("entry_posted", schema, json_)
    with pytest.raises(UnknownEventType, match="unknown event type") as unknown:
        decode_event("entry_teleported", 1, payload)
    assert unknown.value.event_type == "entry_teleported"
    monkeypatch.setattr(EntryPosted, "SCHEMA", 3)
    with pytest.raises(UnknownEventType, match="no upcaster"):
        decode_event("entry_posted", 2, payload)
    with pytest.raises(UnknownEventType, match="no upcaster"):
        decode_event("entry_posted", 1, json_)
    with pytest.raises(StoreCorrupt, match="does not decode"):  # a payload of the wrong shape
        decode_event("entry_posted", 3, msgspec.msgpack.encode(["entry_posted", 5]))
    with pytest.raises(StoreCorrupt, match="does not decode"):  # JSON where MessagePack goes
        decode_event("entry_posted", 3, json_)
    with pytest.raises(StoreCorrupt, match="Invalid value 'entry_posted'"):  # the type lies
        decode_event("account_frozen", 2, payload)
    with pytest.raises(StoreCorrupt, match="holds a 'entry_posted'"):
        decode_event("account_frozen", 1, json_)


class AccountFrozenThree(EventBase, frozen=True, kw_only=True, tag="account_frozen"):
    """What a schema 3 of ``account_frozen`` could be: free-text ``reason`` split into a
    code and a note (docs/schema-evolution.md's example)."""

    SCHEMA: ClassVar[int] = 3
    account: str
    reason_code: str
    note: str = ""


def test_a_field_changing_schema_still_reads_every_older_row(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A type whose fields change at schema 3 keeps its schema 2 class in
    ``SCHEMA_2_CLASSES``: its schema 1 rows (JSON objects of the old fields) and its
    schema 2 rows (arrays of them) both come up through the upcaster from 2."""
    old = AccountFrozen(account="wallet:w", reason="court order")
    json_, compact = event_json(old), encode_event(old)

    def split(data: list[Any]) -> list[Any]:
        tag, account, reason = data
        return [tag, account, "other", reason]

    monkeypatch.setitem(EVENT_TYPES, "account_frozen", AccountFrozenThree)
    monkeypatch.setitem(SCHEMA_2_CLASSES, "account_frozen", AccountFrozen)
    monkeypatch.setitem(UPCASTERS, ("account_frozen", 2), split)
    wanted = AccountFrozenThree(account="wallet:w", reason_code="other", note="court order")
    assert decode_event("account_frozen", 1, json_) == wanted
    assert decode_event("account_frozen", 2, compact) == wanted
    now = encode_event(wanted)
    assert decode_event("account_frozen", 3, now) == wanted
    with pytest.raises(StoreCorrupt, match="does not decode"):  # an array the upcaster
        decode_event("account_frozen", 2, msgspec.msgpack.encode(["account_frozen"]))  # can't
    monkeypatch.delitem(SCHEMA_2_CLASSES, "account_frozen")
    with pytest.raises(StoreCorrupt, match="does not decode"):  # without the old class, the
        decode_event("account_frozen", 1, json_)  # old fields do not make the new ones


@pytest.mark.parametrize(
    "damage, error, message",
    [
        ("UPDATE events SET payload = x'c1' WHERE seq = 2", StoreCorrupt, "seq 2 does not decode"),
        ("UPDATE events SET payload = 'text' WHERE seq = 2", StoreCorrupt, "seq 2 has columns"),
        ("UPDATE events SET type = 'teleported' WHERE seq = 2", UnknownEventType, "seq 2 cannot"),
        ("UPDATE events SET schema = 9 WHERE seq = 2", UnknownEventType, "seq 2 cannot"),
    ],
)
def test_a_damaged_row_is_a_typed_error_naming_its_seq(
    tmp_path: Any, damage: str, error: type[Exception], message: str
) -> None:
    """Reading the log (``Ledger.events``, a replay, the audit's walk) fails on a damaged
    row with a typed error naming it: never a row skipped, never a raw decoder error."""
    import sqlite3

    from ledger.audit import verify
    from projections.balances import rebuild

    path = tmp_path / "damaged.db"
    with Ledger.open(path) as book:
        book.submit_many(
            [
                OpenAccount(id="o1", account="bank:trust", type="asset", currency="THB"),
                OpenAccount(id="o2", account="wallet:U1", type="liability", currency="THB"),
                PostEntry(
                    id="t", kind="k", postings=[Debit("bank:trust", 5), Credit("wallet:U1", 5)]
                ),
            ]
        )
    raw = sqlite3.connect(path)
    raw.execute("DROP TRIGGER events_no_update")
    raw.execute(damage)
    raw.commit()
    raw.close()
    with Ledger.open(path) as book:
        with pytest.raises(error, match=message) as raised:
            list(book.events())
        assert getattr(raised.value, "seq", 2) == 2
        with pytest.raises(error, match=message):
            rebuild(book.events())
        report = verify(book)  # the audit names the row that does not read, at its seq
        assert ("readable", 2) in {(f.check, f.seq) for f in report.findings}
