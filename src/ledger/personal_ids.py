"""Personal identifiers in account ids: Thai mobile numbers and Thai national ID numbers.

An account id is written into the log forever, unencrypted, so under the PDPA it must not
be personal data such as a phone number or a national ID. An operator maps their external
identifiers to opaque ids instead. These checks find such an identifier in an id.
"""

from __future__ import annotations

import re
from collections.abc import Collection

_SEPARATORS = str.maketrans("", "", "-._")
"""Drops the separators an id may hold between digits: ``-``, ``.`` and ``_``."""

_MOBILE = re.compile(r"(?:0|0066|66)[689][0-9]{8}")
"""A Thai mobile number without separators: domestic, or international without ``+``."""

_NATIONAL_ID = re.compile(r"[1-8][0-9]{12}")
"""Thirteen digits, the first 1 to 8: the shape of a Thai national ID number."""

_SHORTEST = 10
"""The fewest digits either kind has (a domestic mobile number)."""

_LONGEST = 13
"""The most digits either kind has (a national ID, or ``0066`` and a mobile number)."""

_MOBILE_REASON = "a Thai mobile number"
"""What ``personal_id_reason`` names a mobile number."""

_NATIONAL_ID_REASON = "a Thai national ID number"
"""What ``personal_id_reason`` names a national ID number."""


def _digits(text: str) -> str | None:
    """``text`` without separators if what is left could be either kind, else None."""
    if len(text) < _SHORTEST:
        return None
    digits = text.translate(_SEPARATORS)
    if not _SHORTEST <= len(digits) <= _LONGEST:
        return None
    return digits


def _mobile(digits: str) -> bool:
    """Whether ``digits`` (separators removed) is a Thai mobile number."""
    return _MOBILE.fullmatch(digits) is not None


def _national_id(digits: str) -> bool:
    """Whether ``digits`` (separators removed) is a national ID with a valid check digit."""
    if _NATIONAL_ID.fullmatch(digits) is None:
        return False
    total = sum(int(digits[i]) * (13 - i) for i in range(12))
    return (11 - total % 11) % 10 == int(digits[12])


def is_thai_mobile(text: str) -> bool:
    """Whether ``text`` is a Thai mobile number once ``-``, ``.`` and ``_`` are removed.

    The domestic form is 10 digits starting ``06``, ``08`` or ``09``. The international
    form is ``66`` or ``0066`` followed by the domestic number without its ``0``. A
    landline, or 10 digits starting with any other prefix, is not a mobile number.
    """
    digits = _digits(text)
    return digits is not None and _mobile(digits)


def is_thai_national_id(text: str) -> bool:
    """Whether ``text`` is a Thai national ID number once ``-``, ``.`` and ``_`` are removed.

    That is 13 digits, the first 1 to 8, the last the check digit of the other twelve:
    ``(11 - sum(digit[i] * (13 - i) for i in 0..11) % 11) % 10``.
    """
    digits = _digits(text)
    return digits is not None and _national_id(digits)


def personal_id_part(account_id: str, allowed: Collection[str] = frozenset()) -> str | None:
    """The first ``:``-separated part of ``account_id`` that is a Thai mobile number or a
    Thai national ID number, or None if no part is.

    ``allowed`` lists known false positives: a part equal to one of them is skipped, and so
    is the whole id if it is one of them. A part with fewer than 10 characters is skipped
    without further work.
    """
    if len(account_id) < _SHORTEST or account_id in allowed:
        return None
    for part in account_id.split(":"):
        digits = _digits(part)
        if digits is None or part in allowed:
            continue
        if _mobile(digits) or _national_id(digits):
            return part
    return None


def personal_id_reason(part: str) -> str:
    """The kind of personal identifier ``part`` is, for a refusal message.

    ``part`` is one ``personal_id_part`` returned. Only the kind is named, never the
    digits. A part that is neither kind raises ``ValueError``.
    """
    digits = _digits(part)
    if digits is not None:
        if _mobile(digits):
            return _MOBILE_REASON
        if _national_id(digits):
            return _NATIONAL_ID_REASON
    raise ValueError("not a Thai mobile number or national ID number")


_NUMBER_IN_TEXT = re.compile(r"\+?[0-9][0-9\-. _]{8,20}[0-9]")
"""A run of digits, perhaps with separators and a leading ``+``, long enough to be a
mobile number or a national ID (candidates: :func:`personal_numbers` checks them)."""
_NUMBER_SEPARATORS = str.maketrans("", "", "-._ +")


def _numbers_in(run: str) -> list[str]:
    """The personal numbers of one run: the whole run, else each of its pieces between
    spaces (two numbers side by side)."""
    found = []
    for piece in (run, *run.split(" ")) if " " in run else (run,):
        digits = piece.translate(_NUMBER_SEPARATORS)
        if _mobile(digits) or _national_id(digits):
            found.append(digits)
            if piece is run:
                break
    return found


def _is_personal_number(run: str) -> bool:
    return bool(_numbers_in(run))


def personal_numbers(text: str) -> set[str]:
    """The Thai mobile numbers and national ID numbers written anywhere in ``text`` (a
    refusal's detail, a malformed id), each as its digits: ``+66 81 234 5678`` and
    ``081-234-5678`` are found, not only an id's ``:``-separated part."""
    return {number for run in _NUMBER_IN_TEXT.findall(text) for number in _numbers_in(run)}


def mask_personal_numbers(text: str) -> str:
    """``text`` with every mobile number or national ID in it (:func:`personal_numbers`)
    written ``[number]``."""
    return _NUMBER_IN_TEXT.sub(
        lambda m: "[number]" if _is_personal_number(m.group()) else m.group(), text
    )
