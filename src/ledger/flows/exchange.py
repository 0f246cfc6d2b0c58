"""Value across currencies: a Thai wallet paying a merchant abroad, a merchant abroad
collecting from a Thai wallet. The stream is ``entry:<command id>``.

Postings (docs/flows/wallet.md), each currency balanced on its own through its FX
position account (the chart's ``fx_position``):

* ``Exchange``: Dr source (sell amount), Cr FX position of the sell currency (sell
  amount); Dr FX position of the buy currency (buy amount), Cr destination (buy amount).

The FX position accounts' balances are the platform's open position per currency; the
``Exchanged`` events (both amounts and the rate) are what an FX position report reads.
"""

from __future__ import annotations

from decimal import Context, Decimal

from ledger.commands import Credit, Debit, Exchange
from ledger.errors import RejectCode
from ledger.events import Exchanged
from ledger.flows.base import check_amount, first_problem, payee, post, reject, wallet
from ledger.flows.tiers import check_inflow, check_outflow
from ledger.money import CURRENCIES
from ledger.results import Rejected
from ledger.state import NewEvent, State

RATE_DIGITS = 12
"""Significant digits of the recorded rate (the amounts themselves are exact)."""


def decide_exchange(command: Exchange, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: amount_invalid; account_not_found / field_invalid /
    account_frozen / account_closed for the source (a wallet: value leaves from a
    customer's money, never from a bank or a payable) and then for the destination (a
    liability: a wallet or a merchant's payable); field_invalid (both sides in one
    currency); limit_exceeded (a tiered wallet on either side); then the entry's own
    rejections (account_not_found for an FX position not opened, insufficient_funds, …)."""
    problem = first_problem(
        check_amount("sell_amount_minor", command.sell_amount_minor),
        check_amount("buy_amount_minor", command.buy_amount_minor),
    )
    if problem is not None:
        return problem
    source = wallet(state, command.source, "source")
    if isinstance(source, Rejected):
        return source
    destination = payee(state, command.destination)
    if isinstance(destination, Rejected):
        return destination
    if source.currency == destination.currency:
        return reject(
            RejectCode.FIELD_INVALID,
            f"both sides hold {source.currency}; within one currency use Transfer or Pay",
            destination.id,
        )
    problem = first_problem(
        check_outflow(state, source, command.sell_amount_minor),
        check_inflow(state, destination, command.buy_amount_minor),
    )
    if problem is not None:
        return problem
    chart = state.policy.chart
    sell, buy = source.currency, destination.currency
    postings = post(
        [
            Debit(source.id, command.sell_amount_minor, sell),
            Credit(chart.fx(sell), command.sell_amount_minor, sell),
            Debit(chart.fx(buy), command.buy_amount_minor, buy),
            Credit(destination.id, command.buy_amount_minor, buy),
        ],
        state,
    )
    if isinstance(postings, Rejected):
        return postings
    event = Exchanged(
        postings=postings,
        source=source.id,
        destination=destination.id,
        sell_currency=sell,
        sell_amount_minor=command.sell_amount_minor,
        buy_currency=buy,
        buy_amount_minor=command.buy_amount_minor,
        rate=rate(sell, command.sell_amount_minor, buy, command.buy_amount_minor),
    )
    return [NewEvent(f"entry:{command.id}", 1, event, state.now_us)]


def rate(sell: str, sell_minor: int, buy: str, buy_minor: int) -> str:
    """Units of ``buy`` per unit of ``sell``, to RATE_DIGITS significant digits."""
    context = Context(prec=RATE_DIGITS)
    sold = Decimal(sell_minor).scaleb(-CURRENCIES[sell].exponent)
    bought = Decimal(buy_minor).scaleb(-CURRENCIES[buy].exponent)
    return format(context.divide(bought, sold).normalize(context), "f")
