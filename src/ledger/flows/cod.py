"""Cash on delivery: a courier collects cash at the door and remits it, the merchant's
money waits out the return window and is paid out net of fees, returns unwind.

The platform is an agent: only its commission (and return-to-origin fees) is revenue;
the order's cash is the merchant's, less shipping, which is the courier's.

Streams. An order is the stream ``order:<order>``; each step of it appends the order's
next version, so two commands racing on one order collide on (stream, version) and an
order's state machine can be neither skipped nor replayed out of order:

* version 1: ``CodOrderDelivered`` (cash taken) or ``CodOrderFailed`` (no cash; final);
* then, as they happen: ``CodOrderRemitted`` (the courier's cash is in), and on the
  merchant's side ``CodOrderReleased`` (pending → available) and ``CodOrderPaidOut``;
  ``CodOrderReturned`` at any of those stages, then ``CodBuyerRefunded``.

The order's fold and the rules of its stream are :mod:`ledger.state.cod` (``Order``,
``Stage`` and ``fold_order`` are still importable from here).

A remittance is also the stream ``remittance:<remittance>`` (its money event, once); a
merchant's payouts ``payouts:<merchant>`` and a courier's dispute resolutions
``disputes:<courier>``, one version each.

Postings (docs/flows/cod.md; *A* amount, *C* commission, *V* the VAT inside it, *S*
shipping, *F* the courier's COD fee, *N* = A - C - S the merchant's share):

* ``CodDelivered``: Dr courier COD receivable A / Cr merchant pending A; Dr merchant
  pending C + S / Cr commission income C - V, Cr VAT output V, Cr shipping payable S.
* ``CodRemitted`` (orders summed): Dr COD bank (deposited), Dr COD fee expense F, Dr
  shipping payable S, Dr dispute receivable (shortfall) / Cr COD receivable A.
* ``CodReleased``: Dr merchant pending N / Cr merchant available N, per order.
* ``PayoutMerchant``: Dr merchant available (all of it) / Cr merchant receivable (what
  it owes, at most that), Cr COD bank or merchant wallet (the rest); into a wallet also
  Dr bank trust / Cr COD bank (the rest), so the new e-money is safeguarded.
* ``CodReturned``: Dr merchant pending, available or receivable (by stage) N; Dr
  commission income C - V and VAT output V (or, without ``refund_commission``, Dr
  merchant receivable C) / Cr refunds payable A - S.
* ``CodRefunded``: Dr refunds payable A - S / Cr COD bank, or Cr buyer wallet and
  Dr bank trust / Cr COD bank.
* ``CodDeliveryFailed``: Dr merchant receivable R / Cr return-to-origin fee income
  R - V, Cr VAT output V (nothing without a fee).
* ``ResolveDispute``: Dr COD bank (recovered) or COD loss expense (written off) / Cr
  dispute receivable.
"""

from __future__ import annotations

from ledger.accounts import is_valid_id
from ledger.commands import Credit, Debit
from ledger.commands.cod import (
    DISPUTE_OUTCOMES,
    PAYOUT_DESTINATIONS,
    CodDelivered,
    CodDeliveryFailed,
    CodRefunded,
    CodReleased,
    CodRemitted,
    CodReturned,
    PayoutMerchant,
    ResolveDispute,
)
from ledger.errors import RejectCode
from ledger.events import (
    CodBuyerRefunded,
    CodOrderDelivered,
    CodOrderFailed,
    CodOrderPaidOut,
    CodOrderReleased,
    CodOrderRemitted,
    CodOrderReturned,
    CodRemittanceReceived,
    CourierDisputeResolved,
    Event,
    MerchantPaidOut,
    Posting,
)
from ledger.flows.base import (
    check_amount,
    check_as_of,
    check_choice,
    check_party,
    check_zero_or_amount,
    first_problem,
    legs,
    next_version,
    not_found,
    post,
    reject,
    status_rejection,
)
from ledger.flows.tiers import receiving_wallet
from ledger.results import Rejected
from ledger.state import NewEvent, State
from ledger.state.cod import Order, fold_order, order_stream
from ledger.state.cod import Stage as Stage
from ledger.times import from_us, span_us, to_us

ORDERS_PER_REMITTANCE_MAX = 1_000
"""At most this many orders in one remittance."""
RELEASES_MAX = 1_000
"""At most this many orders released by one ``CodReleased`` (the ones due longest first);
the rest wait for the next run."""


def remittance_stream(remittance: str) -> str:
    """The stream of a courier's remittance (one event: recorded once)."""
    return f"remittance:{remittance}"


def payouts_stream(merchant: str) -> str:
    """The stream of a merchant's payouts."""
    return f"payouts:{merchant}"


def disputes_stream(courier: str) -> str:
    """The stream of a courier's resolved shortfall disputes."""
    return f"disputes:{courier}"


def vat_inside(fee_minor: int, rate_bps: int) -> int:
    """The VAT included in ``fee_minor`` at ``rate_bps``: fee x rate / (10000 + rate),
    rounded half up to the minor unit (exact integer arithmetic). 5,000 satang at 7%
    holds 327 of VAT (327.10...)."""
    whole = 10_000 + rate_bps
    return (2 * fee_minor * rate_bps + whole) // (2 * whole)


def read_order(state: State, order: str) -> Order | None:
    """The order's state, or None if it has no events (or its id is malformed)."""
    if not is_valid_id(order):
        return None
    return fold_order(order, state.stream_events(order_stream(order)))


def _order_event(state: State, order: Order, event: Event) -> NewEvent:
    return NewEvent(order_stream(order.order), order.version + 1, event, state.now_us)


# --- delivery -------------------------------------------------------------------------


def decide_cod_delivered(command: CodDelivered, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (order, courier, merchant id), amount_invalid (the
    amount; commission, shipping or COD fee not 0 or an amount; commission and shipping
    not below the amount; shipping and COD fee above it), order_exists, then the entry's
    own rejections (account_not_found for a courier or merchant never opened, …)."""
    c = command
    problem = first_problem(
        check_party("order", c.order),
        check_party("courier", c.courier),
        check_party("merchant", c.merchant),
        check_amount("amount_minor", c.amount_minor),
        check_zero_or_amount("commission_minor", c.commission_minor),
        check_zero_or_amount("shipping_minor", c.shipping_minor),
        check_zero_or_amount("courier_fee_minor", c.courier_fee_minor),
    )
    if problem is not None:
        return problem
    if c.commission_minor + c.shipping_minor >= c.amount_minor:
        return reject(
            RejectCode.AMOUNT_INVALID,
            f"commission_minor {c.commission_minor} and shipping_minor {c.shipping_minor} "
            f"leave the merchant nothing of amount_minor {c.amount_minor}",
            "commission_minor",
        )
    if c.shipping_minor + c.courier_fee_minor > c.amount_minor:
        return reject(
            RejectCode.AMOUNT_INVALID,
            f"shipping_minor {c.shipping_minor} and courier_fee_minor {c.courier_fee_minor} "
            f"are more than the cash collected, {c.amount_minor}",
            "courier_fee_minor",
        )
    stream = order_stream(c.order)
    if state.stream_version(stream):
        return reject(
            RejectCode.ORDER_EXISTS, f"order {c.order} has a delivery outcome already", c.order
        )
    chart, cod = state.policy.chart, state.policy.cod
    vat = vat_inside(c.commission_minor, cod.vat_rate_bps)
    pending = chart.pending_payable(c.merchant)
    currency = chart.currency
    postings = post(
        legs(
            (Debit, chart.cod_receivable(c.courier), c.amount_minor, currency),
            (Credit, pending, c.amount_minor, currency),
            (Debit, pending, c.commission_minor + c.shipping_minor, currency),
            (Credit, chart.commission_income, c.commission_minor - vat, currency),
            (Credit, chart.vat_output, vat, currency),
            (Credit, chart.shipping_payable(c.courier), c.shipping_minor, currency),
        ),
        state,
    )
    if isinstance(postings, Rejected):
        return postings
    event = CodOrderDelivered(
        postings=postings,
        order=c.order,
        courier=c.courier,
        merchant=c.merchant,
        amount_minor=c.amount_minor,
        commission_minor=c.commission_minor,
        vat_minor=vat,
        shipping_minor=c.shipping_minor,
        courier_fee_minor=c.courier_fee_minor,
        releasable_at=from_us(state.now_us + span_us(cod.return_window)),
    )
    return [NewEvent(stream, 1, event, state.now_us)]


def decide_cod_delivery_failed(
    command: CodDeliveryFailed, state: State
) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (order, merchant or courier id), amount_invalid
    (the fee), field_invalid (a fee without a merchant), order_exists, account_not_found
    (a merchant or courier named whose COD accounts were never opened), then the entry's
    own rejections."""
    c = command
    problem = first_problem(
        check_party("order", c.order),
        check_party("merchant", c.merchant) if c.merchant is not None else None,
        check_party("courier", c.courier) if c.courier is not None else None,
        check_zero_or_amount("rto_fee_minor", c.rto_fee_minor),
    )
    if problem is not None:
        return problem
    if c.rto_fee_minor and c.merchant is None:
        return reject(
            RejectCode.FIELD_INVALID,
            "a return-to-origin fee is charged to a merchant: name it",
            "merchant",
        )
    stream = order_stream(c.order)
    if state.stream_version(stream):
        return reject(
            RejectCode.ORDER_EXISTS, f"order {c.order} has a delivery outcome already", c.order
        )
    chart = state.policy.chart
    named = [
        *([chart.owed_by(c.merchant)] if c.merchant is not None else []),
        *([chart.cod_receivable(c.courier)] if c.courier is not None else []),
    ]
    for account_id in named:
        if state.account(account_id) is None:
            return not_found(account_id, "account")
    vat = vat_inside(c.rto_fee_minor, state.policy.cod.vat_rate_bps)
    postings: tuple[Posting, ...] | Rejected = ()
    if c.merchant is not None and c.rto_fee_minor:
        postings = post(
            legs(
                (Debit, chart.owed_by(c.merchant), c.rto_fee_minor, chart.currency),
                (Credit, chart.rto_fee_income, c.rto_fee_minor - vat, chart.currency),
                (Credit, chart.vat_output, vat, chart.currency),
            ),
            state,
        )
    if isinstance(postings, Rejected):
        return postings
    event = CodOrderFailed(
        postings=postings,
        order=c.order,
        merchant=c.merchant,
        courier=c.courier,
        rto_fee_minor=c.rto_fee_minor,
        vat_minor=vat,
    )
    return [NewEvent(stream, 1, event, state.now_us)]


# --- the courier's cash ---------------------------------------------------------------


def decide_cod_remitted(command: CodRemitted, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (remittance or courier id; no orders, more than
    ORDERS_PER_REMITTANCE_MAX, an order named twice or malformed), amount_invalid (not 0
    or an amount), remittance_exists, then order by order order_not_found,
    order_not_delivered (its delivery failed), field_invalid (another courier's order),
    order_already_remitted; then remittance_exceeds_due (more than the orders' cash less
    shipping and COD fees), and the entry's own rejections."""
    c = command
    problem = first_problem(
        check_party("remittance", c.remittance),
        check_party("courier", c.courier),
        _order_list(c.orders),
        check_zero_or_amount("amount_minor", c.amount_minor),
    )
    if problem is not None:
        return problem
    stream = remittance_stream(c.remittance)
    if state.stream_version(stream):
        return reject(
            RejectCode.REMITTANCE_EXISTS,
            f"remittance {c.remittance} was recorded already",
            c.remittance,
        )
    orders: list[Order] = []
    for order_id in c.orders:
        order = read_order(state, order_id)
        if order is None:
            return reject(RejectCode.ORDER_NOT_FOUND, f"no order {order_id}", order_id)
        if order.delivered is None:
            return reject(
                RejectCode.ORDER_NOT_DELIVERED,
                f"order {order_id} was not delivered: no cash",
                order_id,
            )
        if order.delivered.courier != c.courier:
            return reject(
                RejectCode.FIELD_INVALID,
                f"order {order_id} was delivered by {order.delivered.courier}, not {c.courier}",
                order_id,
            )
        if order.remitted:
            return reject(
                RejectCode.ORDER_ALREADY_REMITTED,
                f"order {order_id} was remitted already",
                order_id,
            )
        orders.append(order)
    delivered = [o.delivered for o in orders if o.delivered is not None]
    cash = sum(d.amount_minor for d in delivered)
    shipping = sum(d.shipping_minor for d in delivered)
    fees = sum(d.courier_fee_minor for d in delivered)
    due = cash - shipping - fees
    if c.amount_minor > due:
        return reject(
            RejectCode.REMITTANCE_EXCEEDS_DUE,
            f"courier {c.courier} owes {due} for these orders, the remittance says "
            f"{c.amount_minor}",
            "amount_minor",
        )
    chart = state.policy.chart
    currency = chart.currency
    postings = post(
        legs(
            (Debit, chart.cod_bank, c.amount_minor, currency),
            (Debit, chart.cod_fee_expense, fees, currency),
            (Debit, chart.shipping_payable(c.courier), shipping, currency),
            (Debit, chart.dispute_receivable(c.courier), due - c.amount_minor, currency),
            (Credit, chart.cod_receivable(c.courier), cash, currency),
        ),
        state,
    )
    if isinstance(postings, Rejected):
        return postings
    received = CodRemittanceReceived(
        postings=postings,
        remittance=c.remittance,
        courier=c.courier,
        orders=c.orders,
        amount_minor=c.amount_minor,
        due_minor=due,
        shipping_minor=shipping,
        courier_fee_minor=fees,
        shortfall_minor=due - c.amount_minor,
    )
    return [
        NewEvent(stream, 1, received, state.now_us),
        *(
            _order_event(state, o, CodOrderRemitted(order=o.order, remittance=c.remittance))
            for o in orders
        ),
    ]


def _order_list(orders: tuple[str, ...]) -> Rejected | None:
    if not 1 <= len(orders) <= ORDERS_PER_REMITTANCE_MAX:
        return reject(
            RejectCode.FIELD_INVALID,
            f"a remittance names 1..{ORDERS_PER_REMITTANCE_MAX} orders, this one {len(orders)}",
            "orders",
        )
    if len(set(orders)) != len(orders):
        return reject(RejectCode.FIELD_INVALID, "a remittance names each order once", "orders")
    return first_problem(*(check_party("order", o) for o in orders))


def decide_resolve_dispute(command: ResolveDispute, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (courier id, outcome), amount_invalid, then the
    entry's own rejections (insufficient_funds: more than the dispute receivable holds;
    account_not_found: a courier never opened)."""
    c = command
    problem = first_problem(
        check_party("courier", c.courier),
        check_choice("outcome", c.outcome, DISPUTE_OUTCOMES),
        check_amount("amount_minor", c.amount_minor),
    )
    if problem is not None:
        return problem
    chart = state.policy.chart
    into = chart.cod_bank if c.outcome == "recovered" else chart.cod_loss_expense
    postings = post(
        [
            Debit(into, c.amount_minor, chart.currency),
            Credit(chart.dispute_receivable(c.courier), c.amount_minor, chart.currency),
        ],
        state,
    )
    if isinstance(postings, Rejected):
        return postings
    event = CourierDisputeResolved(
        postings=postings, courier=c.courier, amount_minor=c.amount_minor, outcome=c.outcome
    )
    stream = disputes_stream(c.courier)
    return [NewEvent(stream, next_version(state, stream), event, state.now_us)]


# --- the merchant's money -------------------------------------------------------------


def _open_orders(state: State, last_types: tuple[type, ...]) -> list[Order]:
    """The orders whose last event is one of ``last_types``, folded (one range scan of
    the order streams, then one read per candidate that has more than its delivery)."""
    found = []
    for stream, last in state.latest_events("order:").items():
        if isinstance(last, last_types):
            # a delivery is always version 1: an order whose last event it is has no other
            events = [last] if isinstance(last, CodOrderDelivered) else state.stream_events(stream)
            order = fold_order(stream.removeprefix("order:"), events)
            assert order is not None
            found.append(order)
    return found


def _usable(state: State, account_id: str) -> bool:
    found = state.account(account_id)
    return found is not None and status_rejection(found) is None


def decide_cod_released(command: CodReleased, state: State) -> list[NewEvent] | Rejected:
    """Release the orders whose return window ended at or before ``as_of``, not
    returned, still pending, and (with ``CodPolicy.release_after_remittance``) remitted:
    at most RELEASES_MAX of them, those due longest first. An order whose merchant's
    payables are frozen or closed waits for a later release; the others are released.

    Rejects: field_invalid (``as_of`` later than the ledger's clock), nothing_due (the
    detail counts the orders past their window that wait for their courier's cash, and
    those a frozen payable holds back, if any).
    """
    as_of_us = check_as_of(command.as_of, state, "a return window ends when its time has come")
    if isinstance(as_of_us, Rejected):
        return as_of_us
    chart, cod = state.policy.chart, state.policy.cod
    past_window = [
        order
        for order in _open_orders(state, (CodOrderDelivered, CodOrderRemitted))
        if order.delivered is not None
        and order.stage == "pending"
        and order.returned is None
        and to_us(order.delivered.releasable_at) <= as_of_us
    ]
    due = sorted(
        (o for o in past_window if o.remitted or not cod.release_after_remittance),
        key=lambda o: (o.delivered.releasable_at if o.delivered else None, o.order),
    )
    new: list[NewEvent] = []
    held = 0
    for order in due:
        if len(new) == RELEASES_MAX:
            break
        merchant = order.delivered.merchant if order.delivered else ""
        pending, available = chart.pending_payable(merchant), chart.available_payable(merchant)
        if not all(_usable(state, a) for a in (pending, available)):
            held += 1  # a frozen merchant's orders wait; the others are released
            continue
        share = order.merchant_share_minor
        postings = post(
            [Debit(pending, share, chart.currency), Credit(available, share, chart.currency)],
            state,
        )
        if isinstance(postings, Rejected):  # only a damaged store gets here
            return postings
        event = CodOrderReleased(
            postings=postings, order=order.order, merchant=merchant, amount_minor=share
        )
        new.append(_order_event(state, order, event))
    if not new:
        waiting = len(past_window) - len(due)
        return reject(
            RejectCode.NOTHING_DUE,
            f"no order to release as of {command.as_of.isoformat()}"
            + (
                f"; {waiting} order(s) past the window wait for their courier's cash"
                if waiting
                else ""
            )
            + (f"; {held} due order(s) wait for a frozen or closed payable" if held else ""),
        )
    return new


def decide_payout_merchant(command: PayoutMerchant, state: State) -> list[NewEvent] | Rejected:
    """Pay out the merchant's whole available payable, first netting what it owes.

    Rejects, in order: field_invalid (merchant id, ``to``), account_not_found (the
    merchant's COD accounts were never opened), nothing_due (nothing available), the
    merchant's wallet (account_not_found, field_invalid, account_frozen, account_closed,
    limit_exceeded) when ``to="wallet"`` and anything is left to pay after netting, then
    the entry's own rejections (insufficient_funds: the COD bank holds less than the
    payout, …).
    """
    c = command
    problem = first_problem(
        check_party("merchant", c.merchant),
        check_choice("to", c.to, PAYOUT_DESTINATIONS),
    )
    if problem is not None:
        return problem
    chart = state.policy.chart
    available_id, owed_id = chart.available_payable(c.merchant), chart.owed_by(c.merchant)
    for account_id in (available_id, owed_id):
        if state.account(account_id) is None:
            return not_found(account_id, "account")
    available = state.counters(available_id).available("credit")
    if available <= 0:
        return reject(
            RejectCode.NOTHING_DUE,
            f"merchant {c.merchant} has nothing available to pay out",
            available_id,
        )
    netted = min(available, max(0, state.counters(owed_id).balance("debit")))
    paid = _paid_out_of_cod_bank(
        state, chart.wallet_of(c.merchant) if c.to == "wallet" else None, available - netted
    )
    if isinstance(paid, Rejected):
        return paid
    postings = post(
        [
            Debit(available_id, available, chart.currency),
            *legs((Credit, owed_id, netted, chart.currency)),
            *paid,
        ],
        state,
    )
    if isinstance(postings, Rejected):
        return postings
    orders = [
        o
        for o in _open_orders(state, (CodOrderReleased, CodOrderRemitted))
        if o.delivered is not None
        and o.delivered.merchant == c.merchant
        and o.stage == "available"
        and o.returned is None
    ]
    event = MerchantPaidOut(
        postings=postings,
        merchant=c.merchant,
        to=c.to,
        available_minor=available,
        netted_minor=netted,
        paid_minor=available - netted,
        orders=tuple(o.order for o in orders),
    )
    stream = payouts_stream(c.merchant)
    return [
        NewEvent(stream, next_version(state, stream), event, state.now_us),
        *(_order_event(state, o, CodOrderPaidOut(order=o.order, payout=c.id)) for o in orders),
    ]


def _paid_out_of_cod_bank(
    state: State, wallet_id: str | None, amount_minor: int
) -> list[Debit | Credit] | Rejected:
    """The legs that pay ``amount_minor`` out of the COD bank: to the payee's bank (Cr COD
    bank), or into wallet ``wallet_id`` (Cr the wallet, and Dr bank trust / Cr COD bank:
    the cash backing the new e-money moves into safeguarding with it). No legs for 0.
    Rejects as :func:`ledger.flows.tiers.receiving_wallet` for the wallet."""
    chart = state.policy.chart
    if not amount_minor:
        return []
    if wallet_id is None:
        return [Credit(chart.cod_bank, amount_minor, chart.currency)]
    account = receiving_wallet(state, wallet_id, amount_minor)
    if isinstance(account, Rejected):
        return account
    return [
        Credit(account.id, amount_minor, chart.currency),
        Debit(chart.bank_trust, amount_minor, chart.currency),
        Credit(chart.cod_bank, amount_minor, chart.currency),
    ]


# --- returns --------------------------------------------------------------------------


def decide_cod_returned(command: CodReturned, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (order id), order_not_found, order_not_delivered
    (its delivery failed), order_already_returned, then the entry's own rejections."""
    problem = check_party("order", command.order)
    if problem is not None:
        return problem
    order = read_order(state, command.order)
    if order is None:
        return reject(RejectCode.ORDER_NOT_FOUND, f"no order {command.order}", command.order)
    d = order.delivered
    if d is None:
        return reject(
            RejectCode.ORDER_NOT_DELIVERED,
            f"order {command.order} was never delivered; nothing to return",
            command.order,
        )
    if order.returned is not None:
        return reject(
            RejectCode.ORDER_ALREADY_RETURNED,
            f"order {command.order} was returned already",
            command.order,
        )
    chart = state.policy.chart
    currency = chart.currency
    owed = chart.owed_by(d.merchant)
    source = {
        "pending": chart.pending_payable(d.merchant),
        "available": chart.available_payable(d.merchant),
        "paid_out": owed,
    }[order.stage]
    share, refund = order.merchant_share_minor, d.amount_minor - d.shipping_minor
    if command.refund_commission:
        taken_back = legs(
            (Debit, source, share, currency),
            (Debit, chart.commission_income, d.commission_minor - d.vat_minor, currency),
            (Debit, chart.vat_output, d.vat_minor, currency),
        )
    elif source == owed:
        taken_back = legs((Debit, owed, share + d.commission_minor, currency))
    else:
        taken_back = legs(
            (Debit, source, share, currency), (Debit, owed, d.commission_minor, currency)
        )
    postings = post([*taken_back, Credit(chart.refunds_payable, refund, currency)], state)
    if isinstance(postings, Rejected):
        return postings
    event = CodOrderReturned(
        postings=postings,
        order=order.order,
        merchant=d.merchant,
        stage=order.stage,
        refund_minor=refund,
        commission_refunded=command.refund_commission,
    )
    return [_order_event(state, order, event)]


def decide_cod_refunded(command: CodRefunded, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (order id), order_not_found, order_not_returned
    (never returned, or never delivered), order_already_refunded, the wallet
    (account_not_found, field_invalid, account_frozen, account_closed, limit_exceeded),
    then the entry's own rejections (insufficient_funds: the COD bank holds less than the
    refund, …)."""
    problem = check_party("order", command.order)
    if problem is not None:
        return problem
    order = read_order(state, command.order)
    if order is None:
        return reject(RejectCode.ORDER_NOT_FOUND, f"no order {command.order}", command.order)
    returned = order.returned
    if returned is None:
        return reject(
            RejectCode.ORDER_NOT_RETURNED,
            f"order {command.order} was not returned; no refund",
            command.order,
        )
    if order.refunded:
        return reject(
            RejectCode.ORDER_ALREADY_REFUNDED,
            f"order {command.order}'s buyer was refunded",
            command.order,
        )
    chart = state.policy.chart
    paid = _paid_out_of_cod_bank(state, command.wallet, returned.refund_minor)
    if isinstance(paid, Rejected):
        return paid
    postings = post(
        [Debit(chart.refunds_payable, returned.refund_minor, chart.currency), *paid], state
    )
    if isinstance(postings, Rejected):
        return postings
    event = CodBuyerRefunded(
        postings=postings,
        order=order.order,
        amount_minor=returned.refund_minor,
        wallet=command.wallet,
    )
    return [_order_event(state, order, event)]
