"""Hypothesis strategies for Satang's public types: ids, amounts, currencies, accounts
and balanced entries, for property-testing your own flows."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal

from hypothesis import strategies as st

from ledger.accounts import AccountType
from ledger.commands import (
    Credit,
    Debit,
    OpenAccount,
    PostEntry,
)
from ledger.money import AMOUNT_MAX_MINOR, CURRENCIES

_ID_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:_.-"


def currencies() -> st.SearchStrategy[str]:
    """ISO 4217 codes the ledger accepts."""
    return st.sampled_from(sorted(CURRENCIES))


def amounts(max_value: int = AMOUNT_MAX_MINOR) -> st.SearchStrategy[int]:
    """Valid amounts in minor units, small ones more often than huge ones."""
    return st.one_of(
        st.integers(1, min(max_value, 1_000_000)),
        st.integers(1, max_value),
    )


def not_amounts() -> st.SearchStrategy[object]:
    """Values that must never be taken as amounts: wrong types and out-of-range ints."""
    return st.one_of(
        st.floats(allow_nan=True),
        st.booleans(),
        st.decimals(allow_nan=False, places=2).map(Decimal),
        st.text(max_size=10),
        st.integers(max_value=0),
        st.integers(min_value=AMOUNT_MAX_MINOR + 1),
    )


def account_ids(prefix: str = "") -> st.SearchStrategy[str]:
    """Valid account ids (1..128 of ``[A-Za-z0-9:_.-]``), optionally with a prefix."""
    return st.text(_ID_CHARS, min_size=1, max_size=128 - len(prefix)).map(lambda s: prefix + s)


command_ids = account_ids
"""Command ids follow the same rule as account ids."""


def account_types() -> st.SearchStrategy[str]:
    return st.sampled_from([t.value for t in AccountType])


@st.composite
def open_accounts(
    draw: st.DrawFn,
    account: st.SearchStrategy[str] | None = None,
    currency: st.SearchStrategy[str] | None = None,
) -> OpenAccount:
    """``OpenAccount`` commands with any type and policy."""
    account_id = draw(account if account is not None else account_ids())
    return OpenAccount(
        id=draw(command_ids("open-")),
        account=account_id,
        type=draw(account_types()),
        currency=draw(currency if currency is not None else currencies()),
        no_overdraft=draw(st.booleans()),
        max_balance_minor=draw(st.none() | amounts()),
    )


@st.composite
def balanced_entries(
    draw: st.DrawFn,
    accounts: Sequence[tuple[str, str]],
    max_amount: int = 10_000_000,
    id: st.SearchStrategy[str] | None = None,
) -> PostEntry:
    """A ``PostEntry`` balanced per currency over ``accounts`` (pairs of id and currency).

    Picks one or two currencies present among the accounts and, for each, splits one
    total into debit legs and credit legs that sum to it.
    """
    by_currency: dict[str, list[str]] = {}
    for account_id, code in accounts:
        by_currency.setdefault(code, []).append(account_id)
    usable = sorted(c for c, ids in by_currency.items() if ids)
    if not usable:
        raise ValueError("balanced_entries needs at least one account")
    chosen = draw(st.lists(st.sampled_from(usable), min_size=1, max_size=2, unique=True))
    legs: list[Debit | Credit] = []
    for code in chosen:
        names = by_currency[code]
        total = draw(st.integers(2, max_amount))
        debit_parts = _split(draw, total)
        credit_parts = _split(draw, total)
        legs += [Debit(draw(st.sampled_from(names)), a) for a in debit_parts]
        legs += [Credit(draw(st.sampled_from(names)), a) for a in credit_parts]
    legs = draw(st.permutations(legs))
    return PostEntry(
        id=draw(id if id is not None else command_ids("e-")),
        kind=draw(st.sampled_from(["adjustment", "top_up", "payment", "p2p"])),
        postings=legs,
    )


def _split(draw: st.DrawFn, total: int) -> list[int]:
    pieces = draw(st.integers(1, min(3, total)))
    cuts = (
        sorted(draw(st.sets(st.integers(1, total - 1), min_size=pieces - 1, max_size=pieces - 1)))
        if pieces > 1
        else []
    )
    bounds = [0, *cuts, total]
    return [b - a for a, b in itertools.pairwise(bounds)]
