"""Money at the edges: currencies, amount checks, exact parsing and formatting.

Inside the ledger an amount is a Python ``int`` of minor units (satang for THB) and
nothing else: ``float`` loses cents, ``bool`` is an ``int`` by accident, ``Decimal`` and
``str`` belong to the edges, where :func:`parse_amount` and :func:`format_amount` convert
exactly, refusing anything that would round.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

import attrs

from ledger.errors import AmountError, UnknownCurrency, shown

AMOUNT_MAX_MINOR = 2**63 - 1
"""The largest amount a posting, or any balance field, may hold (SQLite's INTEGER limit)."""


@attrs.frozen
class Currency:
    """An ISO 4217 currency: its alphabetic code and how many minor-unit digits it has."""

    code: str
    exponent: int
    name: str


_TABLE: tuple[tuple[str, int, str], ...] = (
    ("THB", 2, "Thai baht"),
    ("USD", 2, "US dollar"),
    ("EUR", 2, "Euro"),
    ("GBP", 2, "Pound sterling"),
    ("JPY", 0, "Japanese yen"),
    ("CNY", 2, "Renminbi"),
    ("SGD", 2, "Singapore dollar"),
    ("MYR", 2, "Malaysian ringgit"),
    ("IDR", 2, "Indonesian rupiah"),
    ("VND", 0, "Vietnamese dong"),
    ("PHP", 2, "Philippine peso"),
    ("INR", 2, "Indian rupee"),
    ("KRW", 0, "South Korean won"),
    ("HKD", 2, "Hong Kong dollar"),
    ("KWD", 3, "Kuwaiti dinar"),
    ("BHD", 3, "Bahraini dinar"),
    ("LAK", 2, "Lao kip"),
    ("KHR", 2, "Cambodian riel"),
    ("MMK", 2, "Myanmar kyat"),
    ("AUD", 2, "Australian dollar"),
    ("CHF", 2, "Swiss franc"),
    ("TWD", 2, "New Taiwan dollar"),
)

CURRENCIES: dict[str, Currency] = {code: Currency(code, exp, name) for code, exp, name in _TABLE}
"""Every currency the ledger accepts, by code. An account holds exactly one of them."""


def currency(code: str) -> Currency:
    """Return the currency for an ISO 4217 code; raise :class:`UnknownCurrency` if unknown."""
    found = CURRENCIES.get(code) if isinstance(code, str) else None
    if found is None:
        raise UnknownCurrency(
            f"unknown currency {shown(code)}: use an ISO 4217 code from ledger.CURRENCIES"
        )
    return found


def amount_problem(value: object) -> str | None:
    """Say what is wrong with ``value`` as an amount in minor units, or None if nothing."""
    if type(value) is not int:
        return f"an amount is an int of minor units, not {type(value).__name__} ({shown(value)})"
    if value <= 0:
        return f"an amount must be positive, got {shown(value)}"
    if value > AMOUNT_MAX_MINOR:
        return f"an amount must be at most 2**63-1 minor units, got {shown(value)}"
    return None


def check_amount(value: object) -> int:
    """Return ``value`` if it is a valid amount, else raise :class:`AmountError`."""
    problem = amount_problem(value)
    if problem is not None:
        raise AmountError(problem)
    assert isinstance(value, int)
    return value


_TEXT_MAX = 64
_NUMBER = re.compile(r"^(-)?(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?$", re.ASCII)


def parse_amount(text: str, code: str) -> int:
    """Parse a decimal string such as ``"1,234.56"`` in currency ``code`` into minor units.

    Exact or nothing: a fraction finer than the currency's minor unit (``"1.005"`` THB) is
    an :class:`AmountError`, never a rounding; trailing zeros (``"1.500"``) are exact.
    Grouping commas must be in groups of three.
    A sign is allowed here (for display round-trips); commands still refuse negatives.
    """
    cur = currency(code)
    if not isinstance(text, str):
        raise AmountError(f"parse_amount takes a str, not {type(text).__name__}")
    if len(text) > _TEXT_MAX:
        raise AmountError(f"{shown(text)} is too long to be an amount")
    match = _NUMBER.fullmatch(text.strip())
    if match is None:
        raise AmountError(f"{shown(text)} is not a decimal amount such as '1,234.56'")
    sign, whole, fraction = match.groups()
    fraction = (fraction or "").rstrip("0")  # "1.500" is 1.50: trailing zeros are exact
    if len(fraction) > cur.exponent:
        raise AmountError(
            f"{shown(text)} has {len(fraction)} decimal places; {cur.code} has {cur.exponent}"
        )
    scale: int = 10**cur.exponent
    minor = int(whole.replace(",", "")) * scale + int(fraction.ljust(cur.exponent, "0") or "0")
    if abs(minor) > AMOUNT_MAX_MINOR:
        raise AmountError(f"{shown(text)} is beyond the largest amount (2**63-1 minor units)")
    return -minor if sign else minor


def format_amount(amount_minor: int, code: str, *, grouping: bool = True) -> str:
    """Format minor units as a decimal string: ``format_amount(123456, "THB") == "1,234.56"``."""
    cur = currency(code)
    if type(amount_minor) is not int:
        raise AmountError(f"format_amount takes an int of minor units, not {shown(amount_minor)}")
    sign = "-" if amount_minor < 0 else ""
    whole, fraction = divmod(abs(amount_minor), 10**cur.exponent)
    text = f"{whole:,}" if grouping else str(whole)
    if cur.exponent:
        text += "." + str(fraction).rjust(cur.exponent, "0")
    return sign + text


def to_decimal(amount_minor: int, code: str) -> Decimal:
    """Minor units as an exact ``Decimal`` in major units, for display and exports."""
    cur = currency(code)
    try:
        value: Decimal = Decimal(amount_minor).scaleb(-cur.exponent)
    except InvalidOperation as exc:  # pragma: no cover - Decimal accepts any int
        raise AmountError(str(exc)) from exc
    return value
