"""Cash in: wallet top-ups by bank, card, PromptPay, shop counter or agent, and agents
settling the cash they collected. Each top-up is the stream ``entry:<command id>``.

Postings (docs/flows/wallet.md):

* ``TopUp`` by bank, card or PromptPay: Dr bank trust (amount); Cr wallet (amount - fee),
  Cr fee income (fee).
* ``TopUp`` at a counter or agent: Dr the agent's receivable (amount); Cr wallet
  (amount - fee), Cr fee income (fee).
* ``SettleAgent``: Dr bank trust; Cr the agent's receivable.
"""

from __future__ import annotations

from ledger.commands import TOP_UP_CHANNELS, Credit, Debit, SettleAgent, TopUp
from ledger.errors import RejectCode
from ledger.events import AgentSettled, TopUpReceived
from ledger.flows.base import (
    asset,
    check_amount,
    check_choice,
    check_metadata,
    check_party,
    fee_problem,
    first_problem,
    legs,
    post,
    reject,
)
from ledger.flows.tiers import receiving_wallet
from ledger.results import Rejected
from ledger.state import NewEvent, State

AGENT_CHANNELS = ("counter", "agent")
"""Channels where an agent took the cash and owes it until it settles."""


def decide_top_up(command: TopUp, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (channel, a counter or agent top-up without
    funding account, metadata), amount_invalid, account_not_found / field_invalid (the
    funding account is not an asset, or not one the channel may use: an agent's
    receivable for counter and agent top-ups, a bank account otherwise),
    account_not_found / field_invalid / account_frozen / account_closed (the wallet),
    limit_exceeded (tier), then the entry's own rejections
    (:func:`ledger.flows.base.post`)."""
    problem = check_choice("channel", command.channel, TOP_UP_CHANNELS)
    if problem is not None:
        return problem
    funding = command.funding_account
    if funding is None:
        if command.channel in AGENT_CHANNELS:
            return reject(
                RejectCode.FIELD_INVALID,
                f"a {command.channel} top-up names the agent's receivable as funding_account",
                "funding_account",
            )
        funding = state.policy.chart.bank_trust
    problem = first_problem(
        check_metadata(command.metadata),
        fee_problem(command.amount_minor, command.fee_minor, inside=True),
    )
    if problem is not None:
        return problem
    problem = first_problem(
        asset(state, funding, "funding_account"), _channel_funding(command.channel, funding, state)
    )
    if problem is not None:
        return problem
    credited = command.amount_minor - command.fee_minor
    account = receiving_wallet(state, command.wallet, credited)
    if isinstance(account, Rejected):
        return account
    currency = account.currency
    postings = post(
        legs(
            (Debit, funding, command.amount_minor, currency),
            (Credit, account.id, credited, currency),
            (Credit, state.policy.chart.fee_income, command.fee_minor, currency),
        ),
        state,
    )
    if isinstance(postings, Rejected):
        return postings
    event = TopUpReceived(
        postings=postings,
        wallet=account.id,
        channel=command.channel,
        funding_account=funding,
        amount_minor=command.amount_minor,
        fee_minor=command.fee_minor,
        metadata=command.metadata,
    )
    return [NewEvent(f"entry:{command.id}", 1, event, state.now_us)]


def _channel_funding(channel: str, funding: str, state: State) -> Rejected | None:
    """A counter or agent top-up is funded by an agent's receivable; any other channel by
    an asset that is neither an agent's receivable, an FX position nor a COD or loan account
    (the COD bank, a courier's or merchant's receivable)."""
    chart = state.policy.chart
    agent = chart.agent_of(funding)
    if channel in AGENT_CHANNELS and agent is None:
        return reject(
            RejectCode.FIELD_INVALID,
            f"a {channel} top-up is funded by an agent's receivable "
            f"({chart.agent_receivable}), not {funding}",
            funding,
        )
    if channel not in AGENT_CHANNELS and (
        agent is not None or chart.fx_of(funding) is not None or chart.flow_account(funding)
    ):
        return reject(
            RejectCode.FIELD_INVALID,
            f"a {channel} top-up lands in a bank account, not {funding}",
            funding,
        )
    return None


def decide_settle_agent(command: SettleAgent, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (agent id), amount_invalid, then the entry's own
    rejections: account_not_found (no receivable for the agent), insufficient_funds
    (more than the agent owes), …"""
    problem = first_problem(
        check_party("agent", command.agent), check_amount("amount_minor", command.amount_minor)
    )
    if problem is not None:
        return problem
    chart = state.policy.chart
    postings = post(
        [
            Debit(chart.bank_trust, command.amount_minor),
            Credit(chart.agent(command.agent), command.amount_minor),
        ],
        state,
    )
    if isinstance(postings, Rejected):
        return postings
    event = AgentSettled(postings=postings, agent=command.agent, amount_minor=command.amount_minor)
    return [NewEvent(f"entry:{command.id}", 1, event, state.now_us)]
