"""Money at the edges: exact round trips for every currency; nothing else is an amount."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger import CURRENCIES, AmountError, Debit, format_amount, parse_amount
from ledger.money import AMOUNT_MAX_MINOR, amount_problem, check_amount
from ledger.testing import amounts, currencies, not_amounts


@given(currencies(), st.integers(-AMOUNT_MAX_MINOR, AMOUNT_MAX_MINOR), st.booleans())
def test_format_then_parse_is_exact(code: str, minor: int, grouping: bool) -> None:
    assert parse_amount(format_amount(minor, code, grouping=grouping), code) == minor


@given(currencies(), amounts())
def test_formatted_amount_has_the_currency_exponent(code: str, minor: int) -> None:
    text = format_amount(minor, code)
    exponent = CURRENCIES[code].exponent
    if exponent:
        assert len(text.rsplit(".", 1)[1]) == exponent
    else:
        assert "." not in text


@given(currencies(), amounts(max_value=10**12), st.integers(1, 3))
def test_more_decimals_than_the_currency_has_is_refused(code: str, minor: int, extra: int) -> None:
    text = format_amount(minor, code, grouping=False)
    text = text + ("" if "." in text else ".") + "0" * (extra - 1) + "1"
    with pytest.raises(AmountError):
        parse_amount(text, code)


@given(amounts())
def test_every_valid_amount_is_accepted(minor: int) -> None:
    assert amount_problem(minor) is None and check_amount(minor) == minor


@given(not_amounts())
def test_nothing_else_is_an_amount(value: object) -> None:
    assert amount_problem(value) is not None
    with pytest.raises(AmountError):
        check_amount(value)


@given(not_amounts().filter(lambda v: type(v) is not int))
def test_a_leg_refuses_a_non_int_amount_at_construction(value: object) -> None:
    with pytest.raises(AmountError, match="minor units"):
        Debit("wallet:U1", value)  # type: ignore[arg-type]
