"""Personal ids in account ids: Thai mobile numbers and national IDs are found, nothing else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.personal_ids import (
    is_thai_mobile,
    is_thai_national_id,
    personal_id_part,
    personal_id_reason,
)


def check_digit(twelve: str) -> str:
    """The check digit of the first twelve digits of a Thai national ID."""
    total = sum(int(digit) * (13 - i) for i, digit in enumerate(twelve))
    return str((11 - total % 11) % 10)


def national_id(twelve: str) -> str:
    """``twelve`` followed by its valid check digit."""
    return twelve + check_digit(twelve)


def wrong_check(twelve: str, shift: int) -> str:
    """``twelve`` followed by a check digit that is off by ``shift`` (1 to 9)."""
    return twelve + str((int(check_digit(twelve)) + shift) % 10)


def dashed(thirteen: str) -> str:
    """A national ID written in the ``1-2345-67890-12-3`` style."""
    return "-".join((thirteen[0], thirteen[1:5], thirteen[5:10], thirteen[10:12], thirteen[12]))


VALID_ID = national_id("110170020703")
OTHER_ID = national_id("350990012345")

MOBILES = ["0812345678", "081-234-5678", "66812345678", "0066812345678", "0912345678", "0612345678"]
MOBILES += ["081.234.5678", "081_234_5678", "66-81-234-5678", "0066_9_1234_5678"]

NOT_PERSONAL = [
    "021234567",
    "0212345678",
    "0712345678",
    "0112345678",
    "0512345678",
    "12345",
    "U1001",
    "merchant",
    "",
    "08123x5678",
    "0812345678x",
    "081234567",
    "08123456789",
    "6681234567",
    "66212345678",
    "006681234567",
    "0066212345678",
    "+66812345678",
    wrong_check("110170020703", 1),
    VALID_ID + "0",
    "0" + VALID_ID[1:],
    "9" + VALID_ID[1:],
    "0812345678".translate({ord("0") + d: 0xFF10 + d for d in range(10)}),
]

twelve_digits = st.from_regex(r"[1-8][0-9]{11}", fullmatch=True)


def test_the_check_digit_helper_matches_a_known_id() -> None:
    assert national_id("110170020703") == "1101700207030"
    assert national_id("123456789012") == "1234567890121"


@pytest.mark.parametrize("text", MOBILES)
def test_known_mobile_numbers_are_found(text: str) -> None:
    assert is_thai_mobile(text)
    assert not is_thai_national_id(text)
    assert personal_id_reason(text) == "a Thai mobile number"


@pytest.mark.parametrize("text", [VALID_ID, OTHER_ID, dashed(VALID_ID), dashed(OTHER_ID)])
def test_known_national_ids_are_found(text: str) -> None:
    assert is_thai_national_id(text)
    assert not is_thai_mobile(text)
    assert personal_id_reason(text) == "a Thai national ID number"


def test_a_dashed_id_has_the_expected_shape() -> None:
    assert dashed("1234567890121") == "1-2345-67890-12-1"
    assert is_thai_national_id("1-2345-67890-12-1")
    assert not is_thai_national_id("1-2345-67890-12-2")


@pytest.mark.parametrize("text", NOT_PERSONAL)
def test_other_texts_are_neither(text: str) -> None:
    assert not is_thai_mobile(text)
    assert not is_thai_national_id(text)
    assert personal_id_part(f"wallet:{text}") is None
    with pytest.raises(ValueError):
        personal_id_reason(text)


@given(twelve_digits)
def test_every_id_with_a_valid_check_digit_is_found(twelve: str) -> None:
    thirteen = national_id(twelve)
    assert is_thai_national_id(thirteen)
    assert is_thai_national_id(dashed(thirteen))
    assert personal_id_part(f"cust:{thirteen}:main") == thirteen


@given(twelve_digits, st.integers(1, 9))
def test_no_id_with_a_wrong_check_digit_is_found(twelve: str, shift: int) -> None:
    thirteen = wrong_check(twelve, shift)
    assert not is_thai_national_id(thirteen)
    assert not is_thai_national_id(dashed(thirteen))
    assert personal_id_part(f"cust:{thirteen}:main") is None


@given(st.from_regex(r"0[09][0-9]{11}|9[0-9]{12}", fullmatch=True))
def test_thirteen_digits_starting_0_or_9_are_no_id(thirteen: str) -> None:
    assert not is_thai_national_id(thirteen)


@given(
    st.sampled_from(["0", "66", "0066"]),
    st.sampled_from("689"),
    st.from_regex(r"[0-9]{8}", fullmatch=True),
)
def test_every_mobile_number_is_found(prefix: str, operator: str, rest: str) -> None:
    number = prefix + operator + rest
    assert is_thai_mobile(number)
    assert personal_id_part(f"wallet:{number}") == number


@given(st.sampled_from("0123457"), st.from_regex(r"[0-9]{8}", fullmatch=True))
def test_other_ten_digit_prefixes_are_no_mobile(second: str, rest: str) -> None:
    assert not is_thai_mobile("0" + second + rest)


def test_the_part_holding_a_mobile_number_is_returned() -> None:
    assert personal_id_part("wallet:0812345678") == "0812345678"
    assert personal_id_part("wallet:081-234-5678:main") == "081-234-5678"
    assert personal_id_part("0812345678") == "0812345678"


def test_an_ordinary_id_has_no_personal_part() -> None:
    for account_id in ("wallet:U1001", "merchant:shop-42", "assets:bank:kbank", "x" * 128):
        assert personal_id_part(account_id) is None


def test_the_part_holding_a_national_id_is_returned() -> None:
    assert personal_id_part(f"cust:{VALID_ID}:main") == VALID_ID
    assert personal_id_part(f"cust:{dashed(VALID_ID)}") == dashed(VALID_ID)


def test_digits_spread_over_parts_are_no_personal_part() -> None:
    assert personal_id_part("wallet:081:234:5678") is None
    assert personal_id_part(f"cust:{VALID_ID[:6]}:{VALID_ID[6:]}") is None


def test_the_first_personal_part_is_returned() -> None:
    assert personal_id_part(f"cust:{VALID_ID}:0812345678") == VALID_ID
    assert personal_id_part(f"cust:0812345678:{VALID_ID}") == "0812345678"
    assert personal_id_part("a:0912345678:0812345678") == "0912345678"


def test_an_allowed_part_is_skipped() -> None:
    assert personal_id_part("wallet:0812345678", allowed={"0812345678"}) is None
    assert personal_id_part("wallet:0812345678", allowed=["0812345678"]) is None
    assert personal_id_part("wallet:0812345678", allowed={"0912345678"}) == "0812345678"
    assert personal_id_part("wallet:0812345678", allowed={"wallet"}) == "0812345678"


def test_an_allowed_part_does_not_hide_the_next_one() -> None:
    account_id = f"cust:0812345678:{VALID_ID}"
    assert personal_id_part(account_id, allowed={"0812345678"}) == VALID_ID
    assert personal_id_part(account_id, allowed={"0812345678", VALID_ID}) is None


def test_an_allowed_whole_id_is_skipped() -> None:
    account_id = f"cust:{VALID_ID}:main"
    assert personal_id_part(account_id, allowed=frozenset({account_id})) is None
    assert personal_id_part(account_id, allowed=frozenset({"cust:" + VALID_ID})) == VALID_ID


def test_the_reason_never_echoes_the_digits() -> None:
    for part in (*MOBILES, VALID_ID, dashed(VALID_ID)):
        reason = personal_id_reason(part)
        assert not any(char.isdigit() for char in reason)


letter_parts = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=1)


@given(st.lists(letter_parts, min_size=1, max_size=8))
def test_ids_of_letters_only_never_match(parts: list[str]) -> None:
    account_id = ":".join(parts)[:128]
    assert personal_id_part(account_id) is None


@given(st.lists(st.from_regex(r"[A-Za-z0-9_.\-]{1,12}", fullmatch=True), min_size=1, max_size=8))
def test_a_found_part_is_one_of_the_parts(parts: list[str]) -> None:
    account_id = ":".join(parts)
    found = personal_id_part(account_id)
    if found is not None:
        assert found in parts
        assert is_thai_mobile(found) or is_thai_national_id(found)
        assert personal_id_part(account_id, allowed={found}) != found
