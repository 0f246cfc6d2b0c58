"""Stored events decode forever: old schemas are upcast, unknown or newer ones refused."""

from __future__ import annotations

from typing import Any

import pytest

from ledger import Credit, Debit, Ledger, OpenAccount, PostEntry, StoreCorrupt, UnknownEventType
from ledger.events import UPCASTERS, EntryPosted, Posting, decode_event, encode_event

POSTINGS = (
    Posting(account="a", side="debit", amount_minor=5, currency="THB"),
    Posting(account="b", side="credit", amount_minor=5, currency="THB"),
)


def test_encoding_is_canonical_and_round_trips() -> None:
    event = EntryPosted(
        entry_id="e", kind="k", postings=POSTINGS, memo="m", metadata={"z": "1", "a": "2"}
    )
    payload = encode_event(event)
    assert payload.index(b'"a"') < payload.index(b'"z"')  # dict keys sorted
    assert payload.startswith(b'{"type":"entry_posted"')
    assert decode_event("entry_posted", 1, payload) == event


def _schema_two(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the code moved EntryPosted to schema 2, whose memos are upper case."""

    def upcast(data: dict[str, Any]) -> dict[str, Any]:
        return {**data, "memo": data.get("memo", "").upper()}

    monkeypatch.setattr(EntryPosted, "SCHEMA", 2)
    monkeypatch.setitem(UPCASTERS, ("entry_posted", 1), upcast)


def test_an_old_payload_is_upcast_before_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    old = encode_event(EntryPosted(entry_id="e", kind="k", postings=POSTINGS, memo="paid"))
    _schema_two(monkeypatch)
    assert decode_event("entry_posted", 1, old).memo == "PAID"
    assert decode_event("entry_posted", 2, old).memo == "paid"  # already current: as stored


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
        _schema_two(monkeypatch)
        (rec,) = list(book.events(after=2))
        assert rec.schema == 1 and isinstance(rec.event, EntryPosted) and rec.event.memo == "X"


def test_a_missing_upcaster_or_a_newer_schema_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload = encode_event(EntryPosted(entry_id="e", kind="k", postings=POSTINGS))
    with pytest.raises(UnknownEventType, match="newer than this code") as newer:
        decode_event("entry_posted", 7, payload)
    assert (newer.value.event_type, newer.value.schema) == ("entry_posted", 7)
    with pytest.raises(UnknownEventType, match="unknown event type") as unknown:
        decode_event("entry_teleported", 1, payload)
    assert unknown.value.event_type == "entry_teleported"
    monkeypatch.setattr(EntryPosted, "SCHEMA", 3)
    with pytest.raises(UnknownEventType, match="no upcaster"):
        decode_event("entry_posted", 1, payload)
    with pytest.raises(StoreCorrupt, match="does not decode"):  # a payload of the wrong shape
        decode_event("entry_posted", 3, b'{"type":"entry_posted","entry_id":5}')
    with pytest.raises(StoreCorrupt, match="holds a 'entry_posted'"):  # the row's type lies
        decode_event("account_frozen", 1, payload)
