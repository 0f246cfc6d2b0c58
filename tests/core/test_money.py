"""Money at the edges: the currency table, exact parsing/formatting, amount checks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger import AMOUNT_MAX_MINOR, CURRENCIES, AmountError, UnknownCurrency
from ledger.errors import InvalidCommand, LedgerError
from ledger.money import (
    amount_problem,
    check_amount,
    currency,
    format_amount,
    parse_amount,
    to_decimal,
)

# ISO 4217 minor units, written down independently of the library's table.
ISO_4217_EXPONENTS = {
    "THB": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "JPY": 0,
    "CNY": 2,
    "SGD": 2,
    "MYR": 2,
    "IDR": 2,
    "VND": 0,
    "PHP": 2,
    "INR": 2,
    "KRW": 0,
    "HKD": 2,
    "KWD": 3,
    "BHD": 3,
    "AUD": 2,
    "CHF": 2,
    "TWD": 2,
}


# --- the currency table ----------------------------------------------------------------


@pytest.mark.parametrize(("code", "exponent"), sorted(ISO_4217_EXPONENTS.items()))
def test_currency_table_has_the_iso_4217_exponent(code: str, exponent: int) -> None:
    assert code in CURRENCIES
    assert CURRENCIES[code].code == code
    assert CURRENCIES[code].exponent == exponent
    assert currency(code) is CURRENCIES[code]


def test_every_table_entry_is_keyed_by_its_own_three_letter_code() -> None:
    for code, cur in CURRENCIES.items():
        assert cur.code == code
        assert len(code) == 3 and code.isascii() and code.isupper()
        assert cur.exponent in (0, 2, 3)
        assert cur.name


@pytest.mark.parametrize("code", ["XYZ", "thb", "", "THBX", "BTC"])
def test_unknown_currency_code_raises_unknown_currency(code: str) -> None:
    with pytest.raises(UnknownCurrency, match="ISO 4217"):
        currency(code)


def test_unknown_currency_is_a_value_error_and_a_ledger_error() -> None:
    with pytest.raises(ValueError):
        currency("XYZ")
    with pytest.raises(LedgerError):
        currency("XYZ")


def test_a_non_str_currency_code_is_unknown() -> None:
    with pytest.raises(UnknownCurrency):
        currency(764)  # type: ignore[arg-type]


# --- parse_amount ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code", "minor"),
    [
        ("1,234.56", "THB", 123_456),
        ("1234.56", "THB", 123_456),
        ("0.01", "THB", 1),
        ("0.5", "THB", 50),
        ("12", "THB", 1_200),
        ("1,234,567.89", "USD", 123_456_789),
        ("1,234", "JPY", 1_234),
        ("1234", "JPY", 1_234),
        ("1.234", "KWD", 1_234),
        ("1.2", "KWD", 1_200),
        ("1,000.001", "KWD", 1_000_001),
        ("500,000", "VND", 500_000),
        ("-1.50", "THB", -150),
        ("  7.00  ", "THB", 700),
        ("0", "THB", 0),
    ],
)
def test_parse_amount_is_exact(text: str, code: str, minor: int) -> None:
    assert parse_amount(text, code) == minor
    assert type(parse_amount(text, code)) is int


@pytest.mark.parametrize(
    ("minor", "code", "text"),
    [
        (123_456, "THB", "1,234.56"),
        (1, "THB", "0.01"),
        (100, "THB", "1.00"),
        (0, "THB", "0.00"),
        (-150, "THB", "-1.50"),
        (1_234, "JPY", "1,234"),
        (7, "JPY", "7"),
        (1_234, "KWD", "1.234"),
        (5, "KWD", "0.005"),
        (1_000_000_001, "KWD", "1,000,000.001"),
        (AMOUNT_MAX_MINOR, "THB", "92,233,720,368,547,758.07"),
    ],
)
def test_format_amount_and_parse_amount_round_trip(minor: int, code: str, text: str) -> None:
    assert format_amount(minor, code) == text
    assert parse_amount(text, code) == minor


def test_format_amount_without_grouping() -> None:
    assert format_amount(123_456_789, "THB", grouping=False) == "1234567.89"
    assert parse_amount(format_amount(123_456_789, "THB", grouping=False), "THB") == 123_456_789


@pytest.mark.parametrize("code", sorted(ISO_4217_EXPONENTS))
@pytest.mark.parametrize("minor", [1, 9, 10, 99, 100, 101, 123_456, 10**15 + 7, AMOUNT_MAX_MINOR])
def test_round_trip_in_every_currency(code: str, minor: int) -> None:
    assert parse_amount(format_amount(minor, code), code) == minor
    assert parse_amount(format_amount(minor, code, grouping=False), code) == minor


def test_to_decimal_is_exact_in_major_units() -> None:
    assert to_decimal(123_456, "THB") == Decimal("1234.56")
    assert to_decimal(1_234, "KWD") == Decimal("1.234")
    assert to_decimal(1_234, "JPY") == Decimal("1234")


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("1.005", "THB"),  # three decimals in a two-decimal currency: never rounded
        ("0.001", "USD"),
        ("1.5", "JPY"),
        ("1.01", "JPY"),
        ("1.2345", "KWD"),
    ],
)
def test_parse_amount_refuses_more_decimals_than_the_currency_has(text: str, code: str) -> None:
    with pytest.raises(AmountError, match="decimal places"):
        parse_amount(text, code)


@pytest.mark.parametrize(
    "text",
    [
        "1,23.00",
        "12,34",
        "1,2345",
        ",123",
        "123,",
        "1,,234",
        "1234,567",
    ],
)
def test_parse_amount_refuses_malformed_grouping(text: str) -> None:
    with pytest.raises(AmountError):
        parse_amount(text, "THB")


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "abc",
        "12abc",
        "1.2.3",
        "1e5",
        "1E2",
        ".5",
        "1.",
        "--1",
        "+1",
        "1 000",
        "NaN",
        "Infinity",
        "0x10",
        "1_000",
        "฿100",
        "100 THB",
    ],
)
def test_parse_amount_refuses_garbage(text: str) -> None:
    with pytest.raises(AmountError):
        parse_amount(text, "THB")


@pytest.mark.parametrize(
    "text",
    ["\u0661\u0662\u0663", "\uff11\uff12\uff13", "\u0e51\u0e52\u0e53"],
    ids=["arabic-indic", "fullwidth", "thai"],
)
def test_parse_amount_refuses_non_ascii_digits(text: str) -> None:
    with pytest.raises(AmountError):
        parse_amount(text, "THB")


@pytest.mark.parametrize("value", [1.5, 150, None, b"1.50", Decimal("1.50")])
def test_parse_amount_takes_only_str(value: object) -> None:
    with pytest.raises(AmountError):
        parse_amount(value, "THB")  # type: ignore[arg-type]


def test_parse_amount_unknown_currency() -> None:
    with pytest.raises(UnknownCurrency):
        parse_amount("1.00", "XYZ")
    with pytest.raises(UnknownCurrency):
        parse_amount("1.00", "thb")


def test_parse_amount_at_and_beyond_the_largest_amount() -> None:
    assert parse_amount("92233720368547758.07", "THB") == AMOUNT_MAX_MINOR
    assert parse_amount("9223372036854775807", "JPY") == AMOUNT_MAX_MINOR
    with pytest.raises(AmountError, match="largest"):
        parse_amount("92233720368547758.08", "THB")
    with pytest.raises(AmountError, match="largest"):
        parse_amount("9223372036854775808", "JPY")
    with pytest.raises(AmountError, match="largest"):
        parse_amount("-92233720368547758.08", "THB")
    with pytest.raises(AmountError):
        parse_amount("1" + "0" * 40, "THB")


@pytest.mark.parametrize("value", [1.5, True, Decimal("1.5"), "150", None])
def test_format_amount_takes_only_int(value: object) -> None:
    with pytest.raises(AmountError):
        format_amount(value, "THB")  # type: ignore[arg-type]


def test_format_amount_unknown_currency() -> None:
    with pytest.raises(UnknownCurrency):
        format_amount(100, "XYZ")


# --- amount_problem / check_amount ---------------------------------------------

NOT_AMOUNTS = [
    pytest.param(1.0, id="float"),
    pytest.param(100.5, id="float-fraction"),
    pytest.param(True, id="True"),
    pytest.param(False, id="False"),
    pytest.param(Decimal("100"), id="Decimal"),
    pytest.param("100", id="str"),
    pytest.param(None, id="None"),
    pytest.param(0, id="zero"),
    pytest.param(-1, id="negative"),
    pytest.param(-(2**63), id="very-negative"),
    pytest.param(2**63, id="2**63"),
    pytest.param(2**100, id="huge"),
]


@pytest.mark.parametrize("value", NOT_AMOUNTS)
def test_amount_problem_names_what_is_wrong(value: object) -> None:
    problem = amount_problem(value)
    assert isinstance(problem, str) and problem


@pytest.mark.parametrize("value", NOT_AMOUNTS)
def test_check_amount_raises_amount_error(value: object) -> None:
    with pytest.raises(AmountError):
        check_amount(value)


@pytest.mark.parametrize("value", [1, 100, 123_456, AMOUNT_MAX_MINOR])
def test_valid_amounts(value: int) -> None:
    assert amount_problem(value) is None
    assert check_amount(value) == value


def test_amount_max_is_sqlite_integer_max() -> None:
    assert AMOUNT_MAX_MINOR == 2**63 - 1


def test_amount_error_is_an_invalid_command_and_a_value_error() -> None:
    with pytest.raises(InvalidCommand):
        check_amount(1.5)
    with pytest.raises(ValueError):
        check_amount(0)
    with pytest.raises(TypeError):
        check_amount("1")


@pytest.mark.parametrize(
    ("text", "code", "minor"),
    [("1.500", "THB", 150), ("1.000", "THB", 100), ("7.00", "JPY", 7), ("0.1000", "KWD", 100)],
)
def test_parse_amount_takes_trailing_zeros_as_exact(text: str, code: str, minor: int) -> None:
    assert parse_amount(text, code) == minor


def test_parse_amount_refuses_a_very_long_string_quickly() -> None:
    with pytest.raises(AmountError, match="too long"):
        parse_amount("9" * 5_000, "THB")
