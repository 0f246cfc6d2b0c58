"""Commands check their types at construction and have one canonical byte form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from ledger import (
    AmountError,
    CloseAccount,
    Credit,
    Debit,
    FreezeAccount,
    InvalidCommand,
    OpenAccount,
    PostEntry,
    Reverse,
    UnfreezeAccount,
)
from ledger.commands import canonical_bytes

LEGS = [Debit("bank:trust", 100), Credit("wallet:U1", 100)]
BANGKOK = timezone(timedelta(hours=7))


@pytest.mark.parametrize("leg", [Debit, Credit])
@pytest.mark.parametrize(
    "amount",
    [1.0, 100.5, True, False, Decimal("100"), "100", None, 100j],
    ids=["float", "float-fraction", "True", "False", "Decimal", "str", "None", "complex"],
)
def test_leg_amount_of_the_wrong_type_raises_amount_error(leg: type, amount: object) -> None:
    with pytest.raises(AmountError, match="int of minor units"):
        leg("wallet:U1", amount)


@pytest.mark.parametrize("leg", [Debit, Credit])
def test_amount_error_is_an_invalid_command(leg: type) -> None:
    with pytest.raises(InvalidCommand):
        leg("wallet:U1", 1.5)


@pytest.mark.parametrize("leg", [Debit, Credit])
def test_leg_values_are_not_judged_at_construction(leg: type) -> None:
    # Zero, negative and too-large ints are values: decide rejects them (amount_invalid).
    for amount in (0, -5, 2**63):
        assert leg("wallet:U1", amount).amount_minor == amount


@pytest.mark.parametrize("leg", [Debit, Credit])
def test_leg_account_and_currency_must_be_str(leg: type) -> None:
    with pytest.raises(InvalidCommand):
        leg(123, 100)
    with pytest.raises(InvalidCommand):
        leg(None, 100)
    with pytest.raises(InvalidCommand):
        leg("wallet:U1", 100, currency=764)
    assert leg("wallet:U1", 100, currency="THB").currency == "THB"
    assert leg("wallet:U1", 100).currency is None


def test_debit_and_credit_know_their_side() -> None:
    assert Debit("a", 1).side == "debit"
    assert Credit("a", 1).side == "credit"


@pytest.mark.parametrize("bad_id", [1, None, b"e-1", 1.5])
def test_a_non_str_command_id_raises_invalid_command(bad_id: object) -> None:
    with pytest.raises(InvalidCommand, match="id"):
        PostEntry(id=bad_id, kind="adjustment", postings=LEGS)  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand):
        OpenAccount(id=bad_id, account="a", type="asset", currency="THB")  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand):
        Reverse(id=bad_id, entry_id="e-1")  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand):
        FreezeAccount(id=bad_id, account="a")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "postings",
    [
        [Debit("a", 1), ("b", 1)],
        [Debit("a", 1), {"account": "b", "amount_minor": 1}],
        [Debit("a", 1), None],
        [Debit("a", 1), 1],
    ],
)
def test_a_posting_that_is_not_a_debit_or_credit_raises_invalid_command(postings: list) -> None:
    with pytest.raises(InvalidCommand, match="Debit or a Credit"):
        PostEntry(id="e-1", kind="adjustment", postings=postings)


@pytest.mark.parametrize(
    "postings",
    ["Debit(a, 1) Credit(b, 1)", b"ab", None, 5, (leg for leg in LEGS), {Debit("a", 1)}],
    ids=["str", "bytes", "None", "int", "generator", "set"],
)
def test_postings_that_are_not_a_list_raise_invalid_command(postings: object) -> None:
    with pytest.raises(InvalidCommand, match="list of Debit/Credit"):
        PostEntry(id="e-1", kind="adjustment", postings=postings)  # type: ignore[arg-type]


def test_postings_become_a_tuple() -> None:
    command = PostEntry(id="e-1", kind="adjustment", postings=LEGS)
    assert command.postings == tuple(LEGS)
    assert isinstance(command.postings, tuple)


@pytest.mark.parametrize(
    "metadata",
    [{"k": 1}, {1: "v"}, {"k": None}, {"k": b"v"}, "k=v", ["k", "v"], None],
)
def test_non_str_metadata_raises_invalid_command(metadata: object) -> None:
    with pytest.raises(InvalidCommand, match="metadata"):
        PostEntry(id="e-1", kind="adjustment", postings=LEGS, metadata=metadata)  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand, match="metadata"):
        OpenAccount(
            id="o-1",
            account="a",
            type="asset",
            currency="THB",
            metadata=metadata,  # type: ignore[arg-type]
        )


def test_metadata_is_copied() -> None:
    source = {"order": "O42"}
    command = PostEntry(id="e-1", kind="adjustment", postings=LEGS, metadata=source)
    source["order"] = "changed"
    assert command.metadata == {"order": "O42"}


def test_naive_effective_at_raises_invalid_command() -> None:
    with pytest.raises(InvalidCommand, match="timezone-aware"):
        PostEntry(
            id="e-1",
            kind="adjustment",
            postings=LEGS,
            effective_at=datetime(2024, 6, 1, 12, 0),
        )


@pytest.mark.parametrize("when", ["2024-06-01T12:00:00Z", 1_717_243_200, 1.5])
def test_effective_at_that_is_not_a_datetime_raises_invalid_command(when: object) -> None:
    with pytest.raises(InvalidCommand):
        PostEntry(id="e-1", kind="adjustment", postings=LEGS, effective_at=when)  # type: ignore[arg-type]


def test_aware_effective_at_is_kept() -> None:
    when = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    assert PostEntry(id="e", kind="k", postings=LEGS, effective_at=when).effective_at == when


@pytest.mark.parametrize(
    ("field", "value"),
    [("kind", 1), ("memo", None), ("kind", None), ("memo", 5)],
)
def test_post_entry_text_fields_must_be_str(field: str, value: object) -> None:
    kwargs: dict[str, object] = {"id": "e-1", "kind": "adjustment", "postings": LEGS}
    kwargs[field] = value
    with pytest.raises(InvalidCommand):
        PostEntry(**kwargs)  # type: ignore[arg-type]


def test_open_account_field_types() -> None:
    base = {"id": "o-1", "account": "a", "type": "asset", "currency": "THB"}
    with pytest.raises(InvalidCommand):
        OpenAccount(**{**base, "no_overdraft": 1})  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand):
        OpenAccount(**{**base, "no_overdraft": "yes"})  # type: ignore[arg-type]
    with pytest.raises(AmountError):
        OpenAccount(**{**base, "max_balance_minor": 1.5})  # type: ignore[arg-type]
    with pytest.raises(AmountError):
        OpenAccount(**{**base, "max_balance_minor": True})  # type: ignore[arg-type]
    with pytest.raises(AmountError):
        OpenAccount(**{**base, "max_balance_minor": Decimal("10")})  # type: ignore[arg-type]
    for field in ("account", "type", "currency"):
        with pytest.raises(InvalidCommand):
            OpenAccount(**{**base, field: 1})  # type: ignore[arg-type]
    assert OpenAccount(**base, max_balance_minor=None).max_balance_minor is None  # type: ignore[arg-type]


def test_account_lifecycle_commands_need_str_fields() -> None:
    with pytest.raises(InvalidCommand):
        FreezeAccount(id="f", account=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand):
        FreezeAccount(id="f", account="a", reason=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand):
        UnfreezeAccount(id="u", account=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand):
        CloseAccount(id="c", account=b"a")  # type: ignore[arg-type]
    with pytest.raises(InvalidCommand):
        Reverse(id="r", entry_id=7)  # type: ignore[arg-type]


def test_commands_are_frozen() -> None:
    command = PostEntry(id="e-1", kind="adjustment", postings=LEGS)
    with pytest.raises(AttributeError):
        command.kind = "other"  # type: ignore[misc]


# --- canonical bytes ----------------------------------------------------------------------


def _entry(**overrides: object) -> PostEntry:
    kwargs: dict[str, object] = {
        "id": "e-1",
        "kind": "adjustment",
        "postings": [Debit("bank:trust", 100), Credit("wallet:U1", 100)],
        "memo": "m",
        "metadata": {"a": "1", "b": "2"},
    }
    kwargs.update(overrides)
    return PostEntry(**kwargs)  # type: ignore[arg-type]


def test_equal_commands_have_equal_canonical_bytes() -> None:
    a, b = _entry(), _entry()
    assert a == b and a is not b
    assert canonical_bytes(a) == canonical_bytes(b)
    assert isinstance(canonical_bytes(a), bytes)


def test_canonical_bytes_ignore_metadata_insertion_order_and_list_vs_tuple() -> None:
    a = _entry(metadata={"a": "1", "b": "2"})
    b = _entry(metadata={"b": "2", "a": "1"})
    c = _entry(postings=(Debit("bank:trust", 100), Credit("wallet:U1", 100)))
    assert canonical_bytes(a) == canonical_bytes(b) == canonical_bytes(c)


def test_debit_and_credit_of_the_same_account_and_amount_differ() -> None:
    debit = _entry(postings=[Debit("x", 100), Debit("y", 100)])
    credit = _entry(postings=[Debit("x", 100), Credit("y", 100)])
    assert debit != credit
    assert canonical_bytes(debit) != canonical_bytes(credit)


@pytest.mark.parametrize(
    "override",
    [
        {"id": "e-2"},
        {"kind": "top_up"},
        {"memo": "other"},
        {"metadata": {"a": "1"}},
        {"postings": [Debit("bank:trust", 101), Credit("wallet:U1", 101)]},
        {"postings": [Debit("bank:trust", 100, "THB"), Credit("wallet:U1", 100)]},
        {"postings": [Credit("wallet:U1", 100), Debit("bank:trust", 100)]},
        {"effective_at": datetime(2024, 6, 1, tzinfo=UTC)},
    ],
)
def test_any_change_of_content_changes_canonical_bytes(override: dict[str, object]) -> None:
    assert canonical_bytes(_entry(**override)) != canonical_bytes(_entry())


def test_commands_of_different_types_with_the_same_fields_differ() -> None:
    freeze = FreezeAccount(id="x", account="wallet:U1")
    unfreeze = UnfreezeAccount(id="x", account="wallet:U1")
    assert canonical_bytes(freeze) != canonical_bytes(unfreeze)


def test_equal_effective_at_instants_in_other_time_zones_have_equal_bytes() -> None:
    # Aware datetimes compare by instant, so these two commands are equal; the canonical
    # form ("equal commands, equal bytes") must not depend on the zone the caller used.
    utc = _entry(effective_at=datetime(2024, 6, 1, 5, 0, tzinfo=UTC))
    bangkok = _entry(effective_at=datetime(2024, 6, 1, 12, 0, tzinfo=BANGKOK))
    assert utc == bangkok
    assert canonical_bytes(utc) == canonical_bytes(bangkok)
