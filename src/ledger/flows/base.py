"""What every decide function shares: the state it reads, what it returns, posting rules.

A decide function is pure: ``decide(command, state) -> list[NewEvent] | Rejected``. It
reads accounts, balances and streams through :class:`~ledger.state.port.State` (the store
answers from inside its write transaction), writes nothing, and either proposes events
(:class:`~ledger.state.port.NewEvent`) or rejects. ``Policy``, ``CodPolicy``, ``LoanPolicy``
(now :mod:`ledger.policy`) and ``NewEvent`` are still importable from here.
:func:`post` is the one place where legs become balanced, policy-checked postings; every
flow that moves money goes through it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from ledger.accounts import Account, AccountStatus, AccountType, Phase, is_valid_id
from ledger.commands import Credit, Debit
from ledger.errors import RejectCode, shown
from ledger.events import Event, MoneyEvent, Posting
from ledger.keys import TOKEN_PREFIX
from ledger.money import AMOUNT_MAX_MINOR, amount_problem
from ledger.policy import RETURN_WINDOW_MAX as RETURN_WINDOW_MAX
from ledger.policy import CodPolicy as CodPolicy
from ledger.policy import LoanPolicy as LoanPolicy
from ledger.policy import Policy as Policy
from ledger.results import Rejected
from ledger.state import NewEvent as NewEvent
from ledger.state import State
from ledger.times import span_us, to_us

POSTINGS_MAX = 128
"""At most this many legs in one entry."""
TEXT_MAX_LENGTH = 1_000
"""Longest memo, reason or metadata value, in characters."""
METADATA_KEYS_MAX = 32
"""At most this many metadata keys on one command."""
_KIND = re.compile(r"^[a-z][a-z0-9_.\-]{0,63}$")
_METADATA_KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def reject(code: RejectCode, detail: str, subject: str = "") -> Rejected:
    """A refusal: ``code``, a ``detail`` sentence for logs, and its ``subject`` — the
    account id, the command's field, or the hold, order, loan or payment id that failed,
    where one did (docs/errors.md). A detail echoes a caller's value only through
    :func:`ledger.errors.shown`, and a subject is never a caller's malformed id (see
    :func:`id_subject`), so neither grows with the input."""
    return Rejected(code=code, detail=detail, subject=subject)


def id_subject(value: str, field: str) -> str:
    """The subject of a refusal about an id the command gave in ``field``: the id itself
    when it is a well-formed id (at most 128 characters), else the field's name — a
    malformed id is never echoed whole."""
    return value if is_valid_id(value) else field


def not_found(account_id: str, field: str) -> Rejected:
    """account_not_found for ``account_id`` (given in ``field``; a malformed id is not
    found either)."""
    return reject(
        RejectCode.ACCOUNT_NOT_FOUND,
        f"no account {shown(account_id)}",
        id_subject(account_id, field),
    )


def check_text(name: str, value: str) -> Rejected | None:
    """field_invalid (subject ``name``) if the text is longer than TEXT_MAX_LENGTH, or
    starts as a sealed value does (:data:`ledger.keys.TOKEN_PREFIX`)."""
    if len(value) > TEXT_MAX_LENGTH:
        return reject(
            RejectCode.FIELD_INVALID,
            f"{name} is longer than {TEXT_MAX_LENGTH} ({len(value)} characters)",
            name,
        )
    if value.startswith(TOKEN_PREFIX):
        return reject(RejectCode.FIELD_INVALID, f"{name} starts as a sealed value does", name)
    return None


def check_kind(kind: str) -> Rejected | None:
    """field_invalid (subject ``kind``) unless ``kind`` is 1..64 of [a-z0-9_.-] starting
    with a letter."""
    if _KIND.fullmatch(kind) is None:
        return reject(
            RejectCode.FIELD_INVALID,
            f"kind {shown(kind)} must be 1..64 of [a-z0-9_.-], starting with a letter",
            "kind",
        )
    return None


def check_metadata(metadata: dict[str, str]) -> Rejected | None:
    """field_invalid (subject ``metadata``): too many keys, a malformed key, a value
    longer than TEXT_MAX_LENGTH."""
    if len(metadata) > METADATA_KEYS_MAX:
        return reject(
            RejectCode.FIELD_INVALID,
            f"metadata has more than {METADATA_KEYS_MAX} keys ({len(metadata)})",
            "metadata",
        )
    for key, value in metadata.items():
        if _METADATA_KEY.fullmatch(key) is None:
            return reject(
                RejectCode.FIELD_INVALID,
                f"metadata key {shown(key)} is not 1..64 of [A-Za-z0-9_.-]",
                "metadata",
            )
        if len(value) > TEXT_MAX_LENGTH:
            return reject(
                RejectCode.FIELD_INVALID,
                f"metadata[{shown(key)}] is longer than {TEXT_MAX_LENGTH}",
                "metadata",
            )
        if value.startswith(TOKEN_PREFIX):
            return reject(
                RejectCode.FIELD_INVALID,
                f"metadata[{shown(key)}] starts as a sealed value does",
                "metadata",
            )
    return None


def first_problem(*checks: Rejected | None) -> Rejected | None:
    """The first rejection among already-computed checks, in the order given."""
    return next((c for c in checks if c is not None), None)


def effective_time(
    when: datetime | None, state: State, *, backdated: bool = False
) -> int | Rejected:
    """``effective_at`` in UTC microseconds (now if None), within the backdating policy:
    more than ``backdate_grace`` before now only with ``backdated``, never more than
    ``backdate_limit``, and never inside a closed period."""
    if when is None:
        if backdated:
            return reject(
                RejectCode.FIELD_INVALID, "backdated=True needs an effective_at", "effective_at"
            )
        return state.now_us
    when_us = to_us(when)
    policy = state.policy
    earliest = state.now_us - span_us(policy.backdate_limit)
    latest = state.now_us + span_us(policy.future_limit)
    if not earliest <= when_us <= latest:
        return reject(
            RejectCode.EFFECTIVE_AT_INVALID,
            f"effective_at {when.isoformat()} is outside the policy window "
            f"(at most {policy.backdate_limit} back, {policy.future_limit} ahead)",
            "effective_at",
        )
    if when_us < state.now_us - span_us(policy.backdate_grace) and not backdated:
        return reject(
            RejectCode.EFFECTIVE_AT_INVALID,
            f"effective_at {when.isoformat()} is more than {policy.backdate_grace} before "
            "now: a backdated entry must say so with backdated=True",
            "effective_at",
        )
    return when_us


def post(
    legs: Sequence[Debit | Credit], state: State, phases: Sequence[Phase] | None = None
) -> tuple[Posting, ...] | Rejected:
    """Turn legs into postings, checking every rule an entry must keep.

    ``phases`` (one per leg, all ``posted`` by default) lets the hold flows reserve
    (``pending``) and free (``released``) funds; a leg that only frees a reservation skips
    the status checks (a frozen account's holds may still end; a closed account has none),
    every other leg does not.

    Rejects, in this order: postings_invalid (fewer than 2 or more than POSTINGS_MAX legs),
    amount_invalid (any leg); then leg by leg account_not_found, account_frozen,
    account_closed, currency_mismatch; then unbalanced (per currency and phase), overflow,
    insufficient_funds (``no_overdraft``, counting pending), limit_exceeded
    (``max_balance_minor``, counting pending inflows).

    Each account is looked up once (its attributes and counters together) and its four
    counters moved once, by the sum of its legs, in plain ints: addition is all there is.
    """
    count = len(legs)
    if phases is None:
        if not 2 <= count <= POSTINGS_MAX:
            return _count_problem(count)
        phases = _POSTED[count]
    else:
        assert len(phases) == count, "one phase per leg"
        if not 2 <= count <= POSTINGS_MAX:
            return _count_problem(count)
    for leg in legs:
        amount = leg.amount_minor
        if type(amount) is not int or not 0 < amount <= AMOUNT_MAX_MINOR:
            return reject(
                RejectCode.AMOUNT_INVALID,
                f"{shown(leg.account)}: {amount_problem(amount)}",
                id_subject(leg.account, "postings"),
            )
    holding = state.holding
    # account id -> [account, counters before, debits posted, credits posted, debits
    # pending, credits pending moved by this entry]
    moved: dict[str, list[Any]] = {}
    net: dict[tuple[str, str], int] = {}
    postings = []
    for leg, phase in zip(legs, phases, strict=True):
        account_id = leg.account
        entry = moved.get(account_id)
        if entry is None:
            found = holding(account_id)
            if found is None:
                return not_found(account_id, "postings")
            entry = moved[account_id] = [found[0], found[1], 0, 0, 0, 0]
        account = entry[0]
        if phase != "released" and account.status is not AccountStatus.OPEN:
            blocked = status_rejection(account)
            if blocked is not None:
                return blocked
        currency = account.currency
        if leg.currency is not None and leg.currency != currency:
            return reject(
                RejectCode.CURRENCY_MISMATCH,
                f"{account_id} holds {currency}, the posting says {shown(leg.currency)}",
                account_id,
            )
        amount, side = leg.amount_minor, leg.side
        debit = side == "debit"
        key = (currency, phase)
        net[key] = net.get(key, 0) + (amount if debit else -amount)
        if phase == "posted":
            entry[2 if debit else 3] += amount
        else:
            entry[4 if debit else 5] += amount if phase == "pending" else -amount
        postings.append(
            Posting(
                account=account_id, side=side, amount_minor=amount, currency=currency, phase=phase
            )
        )
    if any(net.values()):
        for (code, kind), difference in sorted(net.items()):
            if difference:
                what = "" if kind == "posted" else f" {kind}"
                return reject(
                    RejectCode.UNBALANCED,
                    f"{code}{what} debits and credits differ by {abs(difference)} minor units",
                    "postings",
                )
    after = {}
    for account_id, (_, c, dp, cp, dq, cq) in moved.items():
        dp += c.debits_posted
        cp += c.credits_posted
        dq += c.debits_pending
        cq += c.credits_pending
        if not (
            0 <= dp <= AMOUNT_MAX_MINOR
            and 0 <= cp <= AMOUNT_MAX_MINOR
            and 0 <= dq <= AMOUNT_MAX_MINOR
            and 0 <= cq <= AMOUNT_MAX_MINOR
        ):
            return reject(
                RejectCode.OVERFLOW, f"{account_id} would pass 2**63-1 minor units", account_id
            )
        after[account_id] = (dp, cp, dq, cq)
    for account_id, (account, c, *_) in moved.items():
        if not account.no_overdraft:
            continue
        dp, cp, dq, cq = after[account_id]
        # what the owner may still spend: the posted balance less pending outflows
        if account.type.normal_side == "debit":
            was, now = c.available("debit"), dp - cp - cq
        else:
            was, now = c.available("credit"), cp - dp - dq
        if now < min(0, was):
            return reject(
                RejectCode.INSUFFICIENT_FUNDS,
                f"{account_id} has {was} available, the entry needs {was - now}",
                account_id,
            )
    for account_id, (account, c, *_) in moved.items():
        cap = account.max_balance_minor
        if cap is None:
            continue
        dp, cp, dq, cq = after[account_id]
        # the posted balance plus pending inflows
        if account.type.normal_side == "debit":
            was, incoming = c.incoming("debit"), dp - cp + dq
        else:
            was, incoming = c.incoming("credit"), cp - dp + cq
        if incoming > max(cap, was):
            return reject(
                RejectCode.LIMIT_EXCEEDED,
                f"{account_id} would hold {incoming}, above its cap of {cap}",
                account_id,
            )
    return tuple(postings)


def _count_problem(count: int) -> Rejected:
    return reject(
        RejectCode.POSTINGS_INVALID,
        f"an entry has 2..{POSTINGS_MAX} postings, this one has {count}",
        "postings",
    )


_POSTED_LEG: tuple[Phase] = ("posted",)
_POSTED: tuple[tuple[Phase, ...], ...] = tuple(_POSTED_LEG * n for n in range(POSTINGS_MAX + 1))
"""Every leg posted, for each count of legs."""


def status_rejection(account: Account) -> Rejected | None:
    """account_frozen or account_closed for an account that may not take postings."""
    if account.status is AccountStatus.FROZEN:
        return reject(RejectCode.ACCOUNT_FROZEN, f"{account.id} is frozen", account.id)
    if account.status is AccountStatus.CLOSED:
        return reject(RejectCode.ACCOUNT_CLOSED, f"{account.id} is closed", account.id)
    return None


def asset(state: State, account_id: str, role: str) -> Rejected | None:
    """account_not_found or field_invalid unless ``account_id`` is an asset account."""
    found = _typed(
        state,
        account_id,
        role,
        AccountType.ASSET,
        "cash arrives in an asset (a bank account, an agent's receivable)",
    )
    return found if isinstance(found, Rejected) else None


def _typed(
    state: State, account_id: str, role: str, kind: AccountType, why: str
) -> Account | Rejected:
    """The account if it exists and is of type ``kind``: account_not_found, field_invalid
    (subject: the account id)."""
    found = state.account(account_id)
    if found is None:
        return not_found(account_id, role)
    if found.type is not kind:
        return reject(
            RejectCode.FIELD_INVALID,
            f"{role} {account_id} is a {found.type} account; {why}",
            account_id,
        )
    return found


def check_party(role: str, party: str) -> Rejected | None:
    """field_invalid (subject: the field ``role``) unless ``party`` (a merchant, biller,
    agent, order or loan id) is a valid id."""
    if is_valid_id(party):
        return None
    return reject(
        RejectCode.FIELD_INVALID,
        f"{role} {shown(party)} must be 1..128 of [A-Za-z0-9:_.-]",
        role,
    )


def check_choice(name: str, value: str, choices: Sequence[str]) -> Rejected | None:
    """field_invalid (subject ``name``) unless ``value`` is one of ``choices``."""
    if value in choices:
        return None
    return reject(
        RejectCode.FIELD_INVALID,
        f"{name} {shown(value)} is not one of {', '.join(choices)}",
        name,
    )


def next_version(state: State, stream: str) -> int:
    """The version the next event of ``stream`` takes."""
    return state.stream_version(stream) + 1


def check_amount(name: str, value: int) -> Rejected | None:
    """amount_invalid (subject ``name``) unless ``value`` is an amount (1..2**63-1 minor
    units)."""
    problem = amount_problem(value)
    if problem is None:
        return None
    return reject(RejectCode.AMOUNT_INVALID, f"{name}: {problem}", name)


def check_zero_or_amount(name: str, value: int) -> Rejected | None:
    """amount_invalid unless ``value`` is 0 or an amount (a fee, a deposit that may be nil)."""
    return None if value == 0 else check_amount(name, value)


def check_as_of(as_of: datetime, state: State, why: str) -> int | Rejected:
    """``as_of`` in UTC microseconds; field_invalid (subject ``as_of``) if it is later
    than the ledger's clock (a periodic command acts on what is due by now, ``why`` says
    what would go wrong)."""
    as_of_us = to_us(as_of)
    if as_of_us > state.now_us:
        return reject(
            RejectCode.FIELD_INVALID, f"as_of {as_of.isoformat()} is later than now; {why}", "as_of"
        )
    return as_of_us


def fee_problem(amount_minor: int, fee_minor: int, *, inside: bool) -> Rejected | None:
    """amount_invalid unless ``amount_minor`` is an amount and ``fee_minor`` is 0 or an
    amount; a fee taken ``inside`` the amount must leave something of it."""
    problem = first_problem(
        check_amount("amount_minor", amount_minor),
        check_zero_or_amount("fee_minor", fee_minor),
    )
    if problem is not None:
        return problem
    if inside and fee_minor >= amount_minor:
        return reject(
            RejectCode.AMOUNT_INVALID,
            f"fee_minor {fee_minor} must be less than amount_minor {amount_minor}",
            "fee_minor",
        )
    return None


def wallet(
    state: State, account_id: str, role: str = "wallet", *, usable: bool = True
) -> Account | Rejected:
    """The account ``account_id`` if it is a wallet — a liability account that may never
    go below zero (``no_overdraft``), as ``Chart.open_wallet`` opens them: account_not_found
    if it was never opened, field_invalid if it is some other kind of account (a merchant
    payable, a bank account, a COD or loan account such as the deferred loan fees), and
    (when it is to take postings, ``usable``) account_frozen or account_closed — before
    any limit is looked at."""
    found = state.account(account_id)
    if found is None:
        return not_found(account_id, role)
    if (
        found.type is not AccountType.LIABILITY
        or not found.no_overdraft
        or state.policy.chart.flow_account(account_id)
    ):
        return reject(
            RejectCode.FIELD_INVALID,
            f"{role} {account_id} is not a wallet (a liability account with no_overdraft)",
            account_id,
        )
    blocked = status_rejection(found) if usable else None
    return found if blocked is None else blocked


def payee(state: State, account_id: str, role: str = "destination") -> Account | Rejected:
    """The account ``account_id`` if it may be paid into: a liability (a wallet, a
    merchant's payable) that is open and not one of the COD flows' own accounts.
    account_not_found, field_invalid (another type, a COD or loan account), account_frozen,
    account_closed."""
    found = _typed(
        state,
        account_id,
        role,
        AccountType.LIABILITY,
        "value is paid into a liability (a wallet, a merchant's payable)",
    )
    if isinstance(found, Rejected):
        return found
    if state.policy.chart.flow_account(account_id):
        return reject(
            RejectCode.FIELD_INVALID,
            f"{role} {account_id} is a COD or loan account; only its own flow moves its money",
            account_id,
        )
    blocked = status_rejection(found)
    return found if blocked is None else blocked


def legs(*items: tuple[type[Debit] | type[Credit], str, int, str]) -> list[Debit | Credit]:
    """Legs from (Debit or Credit, account, amount, currency), dropping zero amounts (a
    fee of 0 is no leg at all)."""
    return [built(side, account, n, currency) for side, account, n, currency in items if n]


def mirror(postings: Iterable[Posting]) -> list[Debit | Credit]:
    """The legs that undo ``postings`` exactly: every debit a credit and back."""
    return [
        built(Credit if p.side == "debit" else Debit, p.account, p.amount_minor, p.currency)
        for p in postings
    ]


def built(
    side: type[Debit] | type[Credit], account: str, amount_minor: int, currency: str | None
) -> Debit | Credit:
    """A leg a flow builds from values it already holds checked — an account id from the
    chart or the state, an amount it computed or took from a checked command, a currency
    an account holds — equal to ``side(account, amount_minor, currency)`` without running
    the field validators a caller's leg goes through again. :func:`post` checks every
    leg's amount and account all the same."""
    leg = object.__new__(side)
    object.__setattr__(leg, "account", account)
    object.__setattr__(leg, "amount_minor", amount_minor)
    object.__setattr__(leg, "currency", currency)
    object.__setattr__(leg, "side", "debit" if side is Debit else "credit")
    return leg


def money_events(events: Iterable[Event]) -> list[MoneyEvent]:
    """The events among ``events`` that move money (carry postings)."""
    return [e for e in events if isinstance(e, MoneyEvent)]
