"""An atheris (libFuzzer) target on the event decoder: any bytes at all, read as a stored
row's type, schema and payload, are decoded, or refused with ``StoreCorrupt`` (or its
``UnknownEventType``) and nothing else; and an event that decodes re-encodes, by the codec
of its row's schema, to a payload that decodes to an equal event.

Run it (tests/faults/test_fuzz_decoder.py does, seeded from real events)::

    python -m tests.faults.fuzz_decoder CORPUS_DIR -max_total_time=60 -print_final_stats=1

or give it a crash file to replay that one input. An input is ``[type, schema, payload…]``:
the first byte picks an event type (every tag of ``EVENT_TYPES`` in order, then a few
names no event has), the second the schema (0: the type's own ``SCHEMA``, else
``byte - 128``), the rest is the payload.

Coverage guides the search: ``ledger`` is imported under ``atheris.instrument_imports()``.
msgspec's decoder is C, which atheris cannot instrument, so on its own libFuzzer would
see only the few branches of ``decode_event``. The target therefore also passes each
outcome through small instrumented if-chains — the event type with the first field the
decoder complained about, and the kind of complaint — so an input that fails at a new
field of some type, or in a new way, is new coverage and is kept.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from typing import Any

UNKNOWN_TYPES = ("", "unknown", "Account_Opened", "account_opened\x00", "EntryPosted")
"""Type names that are no event's: the decoder must say UnknownEventType."""
COMPLAINTS = (
    "Expected",
    "Object missing required field",
    "Object contains unknown field",
    "Input data was truncated",
    "JSON is malformed",
    "Invalid",
    "Integer value out of range",
    "Duplicate",
    "Unexpected",
    "Invalid RFC3339",
    "Invalid enum value",
    "a ",  # decode_event's own: "a 'x' row holds a 'y'"
    "no upcaster",
)
"""How msgspec (and decode_event) word a refusal, for the feedback chains."""
_FIELD = re.compile(r"`\$\.(\w+)")


def event_names() -> list[str]:
    """The type names an input's first byte chooses from: every event tag, in order, then
    :data:`UNKNOWN_TYPES`."""
    from ledger.events import EVENT_TYPES

    return [*sorted(EVENT_TYPES), *UNKNOWN_TYPES]


def encode_input(names: list[str], type_: str, payload: bytes, schema_byte: int = 0) -> bytes:
    """The fuzzer input that stands for a stored row (a seed of the corpus)."""
    return bytes([names.index(type_), schema_byte]) + payload


def decode_input(names: list[str], data: bytes) -> tuple[str, int | None, bytes]:
    """An input as (type, schema, payload); schema None means the type's own."""
    type_ = names[data[0] % len(names)] if data else names[0]
    schema_byte = data[1] if len(data) > 1 else 0
    return type_, None if schema_byte == 0 else schema_byte - 128, data[2:]


def _chain(name: str, words: list[str], test: str) -> Callable[[str], None]:
    """A function of one if per word (``test`` is the condition, on ``key`` and ``word``):
    instrumented, each word it matches is a branch of its own for libFuzzer."""
    lines = [f"def {name}(key):"]
    lines += [f"    if {test.format(word=repr(word))}:\n        return" for word in words]
    lines.append("    return")
    namespace: dict[str, Any] = {}
    exec(compile("\n".join(lines), f"<fuzz {name}>", "exec"), namespace)
    function: Callable[[str], None] = namespace[name]
    return function


def make_target(
    names: list[str], instrument: Callable[[Any], Any] = lambda f: f
) -> Callable[[bytes], None]:
    """The function libFuzzer calls with each input; ``instrument`` is
    ``atheris.instrument_func`` when fuzzing."""
    from ledger.errors import StoreCorrupt, UnknownEventType
    from ledger.events import COMPACT_SCHEMA, EVENT_TYPES, decode_event, encode_event, event_json

    fields = {
        tag: instrument(
            _chain(f"fields_{n}", ["", "<ok>", *cls.__struct_fields__], "key == {word}")
        )
        for n, (tag, cls) in enumerate(sorted(EVENT_TYPES.items()))
    }
    complaints = instrument(_chain("complaints", list(COMPLAINTS), "key.startswith({word})"))

    def test_one_input(data: bytes) -> None:
        type_, schema, payload = decode_input(names, data)
        cls = EVENT_TYPES.get(type_)
        if schema is None:
            schema = cls.SCHEMA if cls is not None else 1
        try:
            event = decode_event(type_, schema, payload)
        except UnknownEventType:
            return
        except StoreCorrupt as exc:  # the one refusal allowed
            detail = str(exc).partition("does not decode: ")[2] or str(exc)
            where = _FIELD.search(detail)
            fields[type_](where.group(1) if where else "")
            complaints(detail)
            return
        if cls is None or type(event) is not cls:
            raise AssertionError(f"a {type_!r} row decoded to {event!r}")
        fields[type_]("<ok>")
        # re-encoded by the codec of the row's own schema (a schema 1 row's ints are JSON's,
        # unbounded; the compact encoding holds 64 bits), it decodes to the same event
        compact = schema >= COMPACT_SCHEMA
        payload = encode_event(event) if compact else event_json(event)
        again: Any = decode_event(type_, cls.SCHEMA if compact else schema, payload)
        if again != event:
            raise AssertionError(f"{event!r} re-encoded decodes to {again!r}")

    return test_one_input


def main() -> None:
    import atheris

    with atheris.instrument_imports(include=["ledger"]):
        import ledger.events  # noqa: F401  (instrumented here; make_target uses it)

    atheris.Setup(sys.argv, make_target(event_names(), atheris.instrument_func))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
