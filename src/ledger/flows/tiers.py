"""KYC tiers: limits as events, and the checks every wallet flow makes against them.

A tier is the stream ``tier:<name>`` (each ``DefineTier`` a new version, so an audit
sees which limits were in force when); ``AssignTier`` is an event on the wallet's own
stream ``account:<id>`` and sets the account's ``tier``.

Outflow limits count, for the wallet: the posted debits effective since the start of
the day (or month) in the ledger's time zone, plus every pending hold on it, plus the
command's own debit. ``max_balance_minor`` counts the balance plus pending inflows.
A breach is ``limit_exceeded`` with the limit named in ``detail``.
"""

from __future__ import annotations

from ledger.accounts import Account, AccountStatus, is_valid_id
from ledger.commands import AssignTier, DefineTier
from ledger.errors import RejectCode, shown
from ledger.events import TierAssigned, TierDefined
from ledger.flows.accounts import stream_of
from ledger.flows.base import check_amount, first_problem, next_version, reject, wallet
from ledger.results import Rejected
from ledger.state import NewEvent, State
from ledger.times import from_us, to_us


def tier_stream(tier: str) -> str:
    """The stream of a tier's definitions."""
    return f"tier:{tier}"


def decide_define_tier(command: DefineTier, state: State) -> list[NewEvent] | Rejected:
    """Rejects: field_invalid (tier name), amount_invalid (a limit)."""
    if not is_valid_id(command.tier):
        return reject(
            RejectCode.FIELD_INVALID,
            f"tier {shown(command.tier)} must be 1..128 of [A-Za-z0-9:_.-]",
            "tier",
        )
    limits = {
        "max_balance_minor": command.max_balance_minor,
        "per_transaction_max_minor": command.per_transaction_max_minor,
        "daily_outflow_max_minor": command.daily_outflow_max_minor,
        "monthly_outflow_max_minor": command.monthly_outflow_max_minor,
    }
    problem = first_problem(
        *(check_amount(name, value) for name, value in limits.items() if value is not None)
    )
    if problem is not None:
        return problem
    stream = tier_stream(command.tier)
    event = TierDefined(tier=command.tier, **limits)
    return [NewEvent(stream, next_version(state, stream), event, state.now_us)]


def decide_assign_tier(command: AssignTier, state: State) -> list[NewEvent] | Rejected:
    """Rejects: account_not_found, field_invalid (not a wallet), account_closed,
    tier_not_found."""
    account = wallet(state, command.wallet, usable=False)
    if isinstance(account, Rejected):
        return account
    if account.status is AccountStatus.CLOSED:
        return reject(RejectCode.ACCOUNT_CLOSED, f"{account.id} is closed", account.id)
    if not is_valid_id(command.tier) or tier_limits(state, command.tier) is None:
        return reject(
            RejectCode.TIER_NOT_FOUND,
            f"no tier {shown(command.tier)}; define it first",
            command.tier if is_valid_id(command.tier) else "tier",
        )
    stream = stream_of(account.id)
    event = TierAssigned(account=account.id, tier=command.tier)
    return [NewEvent(stream, next_version(state, stream), event, state.now_us)]


def tier_limits(state: State, tier: str) -> TierDefined | None:
    """The tier's limits in force now (its last definition), None if never defined."""
    events = state.stream_events(tier_stream(tier))
    last = events[-1] if events else None
    return last if isinstance(last, TierDefined) else None


def check_outflow(state: State, account: Account, amount_minor: int) -> Rejected | None:
    """limit_exceeded if debiting ``amount_minor`` from the wallet breaks its tier's
    per-transaction, daily or monthly outflow limit."""
    limits = tier_limits(state, account.tier) if account.tier is not None else None
    if limits is None:
        return None
    cap = limits.per_transaction_max_minor
    if cap is not None and amount_minor > cap:
        return _exceeded(account, "per_transaction_max_minor", cap, amount_minor)
    pending = state.counters(account.id).debits_pending
    day_start, month_start = period_starts(state)
    for name, cap, since in (
        ("daily_outflow_max_minor", limits.daily_outflow_max_minor, day_start),
        ("monthly_outflow_max_minor", limits.monthly_outflow_max_minor, month_start),
    ):
        if cap is None:
            continue
        total = state.posted_debits_since(account.id, since) + pending + amount_minor
        if total > cap:
            return _exceeded(account, name, cap, total)
    return None


def check_inflow(state: State, account: Account, amount_minor: int) -> Rejected | None:
    """limit_exceeded if crediting ``amount_minor`` takes the wallet above its tier's
    ``max_balance_minor`` (balance plus pending inflows)."""
    limits = tier_limits(state, account.tier) if account.tier is not None else None
    if limits is None or limits.max_balance_minor is None:
        return None
    after = state.counters(account.id).incoming(account.normal_side) + amount_minor
    if after > limits.max_balance_minor:
        return _exceeded(account, "max_balance_minor", limits.max_balance_minor, after)
    return None


def receiving_wallet(
    state: State, account_id: str, amount_minor: int, role: str = "wallet"
) -> Account | Rejected:
    """The wallet ``account_id`` if it may take ``amount_minor`` in: the wallet checks of
    :func:`ledger.flows.base.wallet`, then limit_exceeded by its tier's balance cap."""
    account = wallet(state, account_id, role)
    if isinstance(account, Rejected):
        return account
    limited = check_inflow(state, account, amount_minor)
    return account if limited is None else limited


def period_starts(state: State) -> tuple[int, int]:
    """Start of today and of this month in the ledger's time zone, UTC microseconds."""
    local = from_us(state.now_us).astimezone(state.policy.timezone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    return to_us(day), to_us(month)


def _exceeded(account: Account, limit: str, cap: int, would_be: int) -> Rejected:
    return reject(
        RejectCode.LIMIT_EXCEEDED,
        f"{limit}: tier {account.tier} allows {cap} for {account.id}, this would make {would_be}",
        account.id,
    )
