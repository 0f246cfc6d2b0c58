"""Wallet to wallet (P2P) and wallet to the user's bank (cash-out). Each is the stream
``entry:<command id>``.

Postings (docs/flows/wallet.md):

* ``Transfer``: Dr source wallet; Cr destination wallet (one currency).
* ``Withdraw``: Dr wallet (amount + fee); Cr bank trust (amount), Cr fee income (fee).
"""

from __future__ import annotations

from ledger.commands import Credit, Debit, Transfer, Withdraw
from ledger.errors import RejectCode
from ledger.events import Transferred, Withdrawn
from ledger.flows.base import (
    check_amount,
    check_text,
    fee_problem,
    first_problem,
    legs,
    post,
    reject,
    wallet,
)
from ledger.flows.tiers import check_inflow, check_outflow
from ledger.results import Rejected
from ledger.state import NewEvent, State


def decide_transfer(command: Transfer, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (memo, one wallet on both sides), amount_invalid,
    account_not_found / field_invalid (either wallet), currency_mismatch,
    limit_exceeded (the source's outflow, the destination's balance), then the entry's
    own rejections (insufficient_funds, a frozen wallet, …)."""
    problem = first_problem(
        check_text("memo", command.memo),
        reject(
            RejectCode.FIELD_INVALID, "source and destination are the same wallet", "destination"
        )
        if command.source == command.destination
        else None,
        check_amount("amount_minor", command.amount_minor),
    )
    if problem is not None:
        return problem
    source = wallet(state, command.source, "source")
    if isinstance(source, Rejected):
        return source
    destination = wallet(state, command.destination, "destination")
    if isinstance(destination, Rejected):
        return destination
    if source.currency != destination.currency:
        return reject(
            RejectCode.CURRENCY_MISMATCH,
            f"{source.id} holds {source.currency}, {destination.id} {destination.currency}; "
            "move value across currencies with Exchange",
            destination.id,
        )
    problem = first_problem(
        check_outflow(state, source, command.amount_minor),
        check_inflow(state, destination, command.amount_minor),
    )
    if problem is not None:
        return problem
    postings = post(
        [Debit(source.id, command.amount_minor), Credit(destination.id, command.amount_minor)],
        state,
    )
    if isinstance(postings, Rejected):
        return postings
    event = Transferred(
        postings=postings,
        source=source.id,
        destination=destination.id,
        amount_minor=command.amount_minor,
        memo=command.memo,
    )
    return [NewEvent(f"entry:{command.id}", 1, event, state.now_us)]


def decide_withdraw(command: Withdraw, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: amount_invalid (amount, fee, or their sum too large),
    account_not_found / field_invalid (the wallet), limit_exceeded, then the entry's own
    rejections (insufficient_funds in the wallet or the bank account, …)."""
    problem = fee_problem(command.amount_minor, command.fee_minor, inside=False)
    if problem is not None:
        return problem
    debited = command.amount_minor + command.fee_minor
    problem = check_amount("amount_minor + fee_minor", debited)
    if problem is not None:
        return problem
    account = wallet(state, command.wallet)
    if isinstance(account, Rejected):
        return account
    limited = check_outflow(state, account, debited)
    if limited is not None:
        return limited
    chart = state.policy.chart
    currency = account.currency
    postings = post(
        legs(
            (Debit, account.id, debited, currency),
            (Credit, chart.bank_trust, command.amount_minor, currency),
            (Credit, chart.fee_income, command.fee_minor, currency),
        ),
        state,
    )
    if isinstance(postings, Rejected):
        return postings
    event = Withdrawn(
        postings=postings,
        wallet=account.id,
        amount_minor=command.amount_minor,
        fee_minor=command.fee_minor,
    )
    return [NewEvent(f"entry:{command.id}", 1, event, state.now_us)]
