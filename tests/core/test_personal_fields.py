"""Every text field of every command and event is declared personal or structural
(ledger.personal): a new free-text field fails here until it says which it is."""

from __future__ import annotations

import typing

import attrs
import pytest

import ledger.commands as commands
from ledger.commands import Command
from ledger.events import EVENT_TYPES
from ledger.flows import DECIDERS
from ledger.personal import (
    LEGS,
    PERSONAL_COMMAND_FIELDS,
    PERSONAL_EVENT_FIELDS,
    STRUCTURAL_FIELDS,
    STRUCTURAL_TEXT,
    SUBJECT,
    TEXT_EVENTS,
)


def _text_fields(cls: type) -> list[str]:
    """The fields of a command or event class that hold text (str, a tuple or dict of it)."""
    hints = typing.get_type_hints(cls)
    names = (
        [a.name for a in attrs.fields(cls)] if attrs.has(cls) else list(cls.__struct_fields__)  # type: ignore[attr-defined]
    )
    return [n for n in names if "str" in str(hints[n])]


def _personal(cls: type) -> set[str]:
    table: dict[type, tuple[str, tuple[str, ...]]] = {
        **PERSONAL_COMMAND_FIELDS,
        **PERSONAL_EVENT_FIELDS,
    }
    return set(table[cls][1]) if cls in table else set()


CLASSES = [*DECIDERS, *EVENT_TYPES.values()]


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_text_field_is_declared_once(cls: type) -> None:
    for name in _text_fields(cls):
        declared = [
            name in _personal(cls),
            name in STRUCTURAL_FIELDS,
            (cls.__name__, name) in STRUCTURAL_TEXT,
        ]
        assert sum(declared) == 1, (
            f"{cls.__name__}.{name} holds text and is declared "
            f"{'neither personal nor structural' if not any(declared) else 'more than once'}: "
            "see ledger.personal"
        )


def test_a_field_declared_personal_exists_and_its_owner_names_an_account() -> None:
    for table in (PERSONAL_COMMAND_FIELDS, PERSONAL_EVENT_FIELDS):
        for cls, (owner, fields) in table.items():
            texts = _text_fields(cls)
            assert set(fields) <= set(texts), cls
            assert owner in (SUBJECT, LEGS) or owner in texts, (cls, owner)


def test_every_command_with_free_text_has_an_event_that_carries_it_sealed() -> None:
    """A command's personal fields reach the log in the event that declares the same."""
    assert set(TEXT_EVENTS) == set(PERSONAL_COMMAND_FIELDS)
    for cls, (owner, fields) in PERSONAL_COMMAND_FIELDS.items():
        assert PERSONAL_EVENT_FIELDS[TEXT_EVENTS[cls]][1] == fields, cls
        # the command names its owner as its event does (or by legs, or its subject)
        assert owner in (SUBJECT, LEGS) or owner in _text_fields(cls), (cls, owner)


def test_a_text_field_left_undeclared_is_caught() -> None:
    """The check above fails on a new command with an undeclared free-text field."""

    @attrs.frozen
    class Tip(Command):
        wallet: str = attrs.field(kw_only=True)
        note: str = attrs.field(default="", kw_only=True)

    undeclared = [
        n
        for n in _text_fields(Tip)
        if n not in _personal(Tip)
        and n not in STRUCTURAL_FIELDS
        and ("Tip", n) not in STRUCTURAL_TEXT
    ]
    assert undeclared == ["note"]
    assert commands.Pay in PERSONAL_COMMAND_FIELDS
