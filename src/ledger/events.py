"""Events: the one tagged union of everything the log stores.

Each event is a frozen msgspec ``Struct`` with an explicit tag (stored in the ``type``
column and inside the payload as ``"type"``). A money event carries its explicit,
balanced postings: replay folds postings, it never re-runs posting rules, so changing a
rule can never rewrite history.

Schema evolution (docs/schema-evolution.md): a new field gets a default; a field's type
never changes; a breaking change is a new ``SCHEMA`` number plus an upcaster in
:data:`UPCASTERS` that rewrites the old payload before decoding, so old logs keep decoding.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

import msgspec


class Posting(msgspec.Struct, frozen=True, kw_only=True):
    """One leg of an entry as stored: the account, side, amount and the account's currency."""

    account: str
    side: Literal["debit", "credit"]
    amount_minor: int
    currency: str


class EventBase(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base of every stored event. ``SCHEMA`` is the payload's schema version."""

    SCHEMA: ClassVar[int] = 1


class MoneyEvent(EventBase, frozen=True, kw_only=True):
    """An event that moves money: it carries the balanced postings replay will fold."""

    postings: tuple[Posting, ...]


# --- accounts -------------------------------------------------------------------------


class AccountOpened(EventBase, frozen=True, kw_only=True, tag="account_opened"):
    account: str
    account_type: str
    currency: str
    no_overdraft: bool = False
    max_balance_minor: int | None = None
    metadata: dict[str, str] = {}


class AccountFrozen(EventBase, frozen=True, kw_only=True, tag="account_frozen"):
    account: str
    reason: str = ""


class AccountUnfrozen(EventBase, frozen=True, kw_only=True, tag="account_unfrozen"):
    account: str
    reason: str = ""


class AccountClosed(EventBase, frozen=True, kw_only=True, tag="account_closed"):
    account: str


# --- journal entries ------------------------------------------------------------------


class EntryPosted(MoneyEvent, frozen=True, kw_only=True, tag="entry_posted"):
    """A journal entry of explicit legs (``PostEntry``)."""

    entry_id: str
    kind: str
    memo: str = ""
    metadata: dict[str, str] = {}


class EntryReversed(MoneyEvent, frozen=True, kw_only=True, tag="entry_reversed"):
    """The exact mirror of the entry that command ``reverses`` wrote (``Reverse``)."""

    entry_id: str
    reverses: str
    memo: str = ""


Event = (
    AccountOpened | AccountFrozen | AccountUnfrozen | AccountClosed | EntryPosted | EntryReversed
)
"""The one union of stored events; a new event type is added here and nowhere else."""

EVENT_TYPES: dict[str, type[EventBase]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (
        AccountOpened,
        AccountFrozen,
        AccountUnfrozen,
        AccountClosed,
        EntryPosted,
        EntryReversed,
    )
}

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""``(type, old_schema) -> function`` rewriting an old payload to the next schema."""

_encoder = msgspec.json.Encoder(order="deterministic")
_decoder: msgspec.json.Decoder[Event] = msgspec.json.Decoder(Event)


def encode_event(event: EventBase) -> bytes:
    """The canonical JSON of an event: fields in declared order, dict keys sorted."""
    return _encoder.encode(event)


def decode_event(type_: str, schema: int, payload: bytes) -> Event:
    """Decode a stored payload, upcasting it first if it was written under an older schema."""
    cls = EVENT_TYPES.get(type_)
    if cls is None:
        raise msgspec.ValidationError(f"unknown event type {type_!r}")
    if schema != cls.SCHEMA:
        data = msgspec.json.decode(payload)
        while schema < cls.SCHEMA:
            upcast = UPCASTERS.get((type_, schema))
            if upcast is None:
                raise msgspec.ValidationError(
                    f"no upcaster for event {type_!r} from schema {schema}"
                )
            data = upcast(data)
            schema += 1
        if schema != cls.SCHEMA:
            raise msgspec.ValidationError(
                f"event {type_!r} has schema {schema}, newer than this code's {cls.SCHEMA}"
            )
        payload = msgspec.json.encode(data)
    return _decoder.decode(payload)
