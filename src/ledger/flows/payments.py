"""Paying merchants and billers, and refunds.

A payment is the stream ``payment:<command id>``: the ``Pay`` is version 1 and each
``Refund`` of it the next version, so two refunds of one payment can never both decide
on the same "already refunded" total (the second would collide on (stream, version)).
A bill is the stream ``bill:<biller>/<bill reference>``, which is what makes "paid once"
a fact of the log; a bill payment that was reversed (the biller refused it) no longer
counts, so the bill can be paid again. A customer's bill reference is personal data
(docs/personal-data.md): paid from a wallet with a subject, the bill is the stream
``bill:<biller>/#<keyed name>`` (``State.keyed_name``), and a payment looks in both.

Postings (docs/flows/wallet.md):

* ``Pay``: Dr wallet (amount); Cr merchant payable (amount - fee), Cr fee income (fee).
* ``PayBill``: Dr wallet (amount); Cr biller payable (amount - fee), Cr fee income (fee).
* ``Refund``: Dr merchant payable (refund - fee part), Dr fee income (fee part);
  Cr wallet (refund).

The fee part of a refund is proportional, rounded half up on the *running total*: after
refunds totalling R of a payment A with fee F, exactly round(F x R / A) of the fee has
come back. So partial refunds never return more fee than was charged, and refunding
the whole payment, in any number of pieces, returns exactly F.
"""

from __future__ import annotations

from ledger.accounts import Account, is_valid_id
from ledger.commands import Credit, Debit, Pay, PayBill, Refund
from ledger.errors import RejectCode, shown
from ledger.events import BillPaid, PaymentMade, Posting, Refunded
from ledger.flows.base import (
    check_amount,
    check_party,
    check_text,
    fee_problem,
    first_problem,
    id_subject,
    legs,
    next_version,
    post,
    reject,
    wallet,
)
from ledger.flows.journal import reversal_stream
from ledger.flows.tiers import check_outflow
from ledger.results import Rejected
from ledger.state import NewEvent, State

BILL_REFERENCE_MAX = 64
"""A bill reference is 1..64 printable characters, without spaces at either end (what the
biller printed on the bill; taken exactly, so "INV-1" and "inv-1" are two bills)."""


def bill_reference_ok(reference: str) -> bool:
    """True for 1..BILL_REFERENCE_MAX printable characters without spaces at either end."""
    return (
        0 < len(reference) <= BILL_REFERENCE_MAX
        and reference.isprintable()
        and reference == reference.strip()
    )


def payment_stream(payment_id: str) -> str:
    """The stream of a payment: the ``Pay``, then its refunds."""
    return f"payment:{payment_id}"


def bill_stream(biller: str, bill_reference: str) -> str:
    """``bill:<biller>/<reference>``: a biller id has no ``/``, so no two bills share one."""
    return f"bill:{biller}/{bill_reference}"


def decide_pay(command: Pay, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (merchant id, reference), amount_invalid,
    account_not_found / field_invalid (the wallet), limit_exceeded (tier), then the
    entry's own rejections (insufficient_funds, a merchant without a payable, …)."""
    problem = first_problem(
        check_party("merchant", command.merchant),
        check_text("reference", command.reference),
        fee_problem(command.amount_minor, command.fee_minor, inside=True),
    )
    if problem is not None:
        return problem
    paid = _paid_into(state, command, state.policy.chart.merchant(command.merchant))
    if isinstance(paid, Rejected):
        return paid
    account, postings = paid
    event = PaymentMade(
        postings=postings,
        wallet=account.id,
        merchant=command.merchant,
        amount_minor=command.amount_minor,
        fee_minor=command.fee_minor,
        reference=command.reference,
    )
    return [NewEvent(payment_stream(command.id), 1, event, state.now_us)]


def decide_pay_bill(command: PayBill, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: field_invalid (biller, bill reference), amount_invalid,
    bill_already_paid (an earlier payment not reversed, unless this one and every earlier
    one are partial), account_not_found / field_invalid (the wallet), limit_exceeded,
    then the entry's own rejections."""
    problem = first_problem(
        check_party("biller", command.biller),
        None
        if bill_reference_ok(command.bill_reference)
        else reject(
            RejectCode.FIELD_INVALID,
            f"bill_reference must be 1..{BILL_REFERENCE_MAX} printable characters without "
            "spaces at either end",
            "bill_reference",
        ),
        fee_problem(command.amount_minor, command.fee_minor, inside=True),
    )
    if problem is not None:
        return problem
    wallet = state.account(command.wallet) if isinstance(command.wallet, str) else None
    personal = wallet is not None and wallet.subject is not None
    plain = bill_stream(command.biller, command.bill_reference)
    name = state.keyed_name(f"{command.biller}/{command.bill_reference}", create=personal)
    keyed = None if name is None else bill_stream(command.biller, f"#{name}")
    earlier = [
        e
        for stream in (plain, keyed)
        if stream is not None
        for e in state.stream_events(stream)
        if isinstance(e, BillPaid) and not state.stream_version(reversal_stream(e.entry_id))
    ]
    if earlier and not (command.partial and all(e.partial for e in earlier)):
        return reject(
            RejectCode.BILL_ALREADY_PAID,
            f"this bill of {command.biller} was paid already ({len(earlier)} payment(s)); a "
            "further payment must be partial, after partial ones only",
            "bill_reference",
        )
    # a customer's bill reference is personal: its stream is named by a keyed digest of it
    stream = keyed if personal and keyed is not None else plain
    paid = _paid_into(state, command, state.policy.chart.biller(command.biller))
    if isinstance(paid, Rejected):
        return paid
    account, postings = paid
    event = BillPaid(
        postings=postings,
        entry_id=command.id,
        wallet=account.id,
        biller=command.biller,
        bill_reference=command.bill_reference,
        amount_minor=command.amount_minor,
        fee_minor=command.fee_minor,
        partial=command.partial,
    )
    return [NewEvent(stream, next_version(state, stream), event, state.now_us)]


def _paid_into(
    state: State, command: Pay | PayBill, payable: str
) -> tuple[Account, tuple[Posting, ...]] | Rejected:
    """The paying wallet (checked, then its tier outflow) and the postings of a payment
    into ``payable`` net of the fee: Dr wallet amount; Cr payable amount - fee; Cr fee
    income fee."""
    account = wallet(state, command.wallet)
    if isinstance(account, Rejected):
        return account
    limited = check_outflow(state, account, command.amount_minor)
    if limited is not None:
        return limited
    currency = account.currency
    postings = post(
        legs(
            (Debit, account.id, command.amount_minor, currency),
            (Credit, payable, command.amount_minor - command.fee_minor, currency),
            (Credit, state.policy.chart.fee_income, command.fee_minor, currency),
        ),
        state,
    )
    return postings if isinstance(postings, Rejected) else (account, postings)


def decide_refund(command: Refund, state: State) -> list[NewEvent] | Rejected:
    """Rejects, in order: payment_not_found, amount_invalid, refund_exceeds_original,
    then the entry's own rejections (a frozen wallet, …)."""
    stream = payment_stream(command.payment)
    history = state.stream_events(stream) if is_valid_id(command.payment) else []
    original = history[0] if history else None
    if not isinstance(original, PaymentMade):
        return reject(
            RejectCode.PAYMENT_NOT_FOUND,
            f"no payment {shown(command.payment)} to refund",
            id_subject(command.payment, "payment"),
        )
    refunded = sum(e.amount_minor for e in history if isinstance(e, Refunded))
    fee_back = sum(e.fee_minor for e in history if isinstance(e, Refunded))
    left = original.amount_minor - refunded
    amount = left if command.amount_minor is None else command.amount_minor
    if command.amount_minor is not None:
        problem = check_amount("amount_minor", command.amount_minor)
        if problem is not None:
            return problem
    if amount > left or left == 0:
        return reject(
            RejectCode.REFUND_EXCEEDS_ORIGINAL,
            f"payment {command.payment} of {original.amount_minor} has {left} left to "
            f"refund, this refund asks for {amount}",
            command.payment if command.amount_minor is None else "amount_minor",
        )
    fee = fee_share(original.fee_minor, refunded + amount, original.amount_minor) - fee_back
    # The accounts come from the payment's own postings (wallet, merchant payable, fee
    # income, in the order decide_pay writes them), not from today's chart.
    wallet_leg, payable_leg, *fee_leg = original.postings
    fee_account = fee_leg[0].account if fee_leg else state.policy.chart.fee_income
    currency = wallet_leg.currency
    postings = post(
        legs(
            (Debit, payable_leg.account, amount - fee, currency),
            (Debit, fee_account, fee, currency),
            (Credit, wallet_leg.account, amount, currency),
        ),
        state,
    )
    if isinstance(postings, Rejected):
        return postings
    event = Refunded(
        postings=postings,
        payment=command.payment,
        wallet=original.wallet,
        merchant=original.merchant,
        amount_minor=amount,
        fee_minor=fee,
    )
    return [NewEvent(stream, next_version(state, stream), event, state.now_us)]


def fee_share(fee_minor: int, refunded_minor: int, amount_minor: int) -> int:
    """The fee returned once ``refunded_minor`` of ``amount_minor`` is refunded: fee x
    refunded / amount, rounded half up (exact integer arithmetic)."""
    return (2 * fee_minor * refunded_minor + amount_minor) // (2 * amount_minor)
