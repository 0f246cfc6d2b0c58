"""Events: the one tagged union of everything the log stores.

Each event is a frozen msgspec ``Struct`` with an explicit tag (stored in the ``type``
column and inside the payload, first). Payloads of schema 1 are canonical JSON; from
schema 2 on they are the compact encoding, a MessagePack array of the tag and the fields
in declared order (:func:`encode_event`; :func:`event_json` gives any event as the JSON
of schema 1). A money event carries its explicit,
balanced postings: replay folds postings, it never re-runs posting rules, so changing a
rule can never rewrite history.

Schema evolution (docs/schema-evolution.md): a new field gets a default; a field's type
never changes; a breaking change is a new ``SCHEMA`` number plus an upcaster in
:data:`UPCASTERS` that rewrites the old payload before decoding, so old logs keep decoding.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, ClassVar, Literal

import msgspec

from ledger.errors import StoreCorrupt, UnknownEventType


class Posting(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, array_like=True, gc=False
):
    """One leg of an entry as stored: the account, side, amount and the account's currency.

    ``phase`` says which counters it moves (:data:`ledger.accounts.Phase`): ``posted`` (the
    default, and left out of the payload), ``pending`` (a hold reserving funds) or
    ``released`` (the reservation taken off again). An entry balances per currency within
    each phase.
    """

    account: str
    side: Literal["debit", "credit"]
    amount_minor: int
    currency: str
    phase: Literal["posted", "pending", "released"] = "posted"


class EventBase(
    msgspec.Struct, frozen=True, kw_only=True, tag_field="type", array_like=True, gc=False
):
    """Base of every stored event. ``SCHEMA`` is the payload's schema version: 1 is
    canonical JSON (an object of named fields), 2 and later the compact encoding (a
    MessagePack array: the tag, then every field in declared order).

    Events and their postings are values that never refer back to anything holding them,
    so they are not tracked by Python's cycle collector (``gc=False``): a replay or an
    audit makes millions, and a collector walking them all again and again cost more than
    the fold itself."""

    SCHEMA: ClassVar[int] = 2


class MoneyEvent(EventBase, frozen=True, kw_only=True):
    """An event that moves money: it carries the balanced postings replay will fold.

    ``REVERSIBLE`` is False for events whose flow keeps its own state (a payment's
    refunds, a hold's phases): undoing them goes through that flow (``Refund``,
    ``ReleaseHold``), never through a blind ``Reverse``.
    """

    REVERSIBLE: ClassVar[bool] = True
    postings: tuple[Posting, ...]


# --- accounts -------------------------------------------------------------------------


class AccountOpened(EventBase, frozen=True, kw_only=True, tag="account_opened"):
    """An account opened, with the attributes it keeps (``ledger.state.accounts.opened``)."""

    account: str
    account_type: str
    currency: str
    no_overdraft: bool = False
    max_balance_minor: int | None = None
    metadata: dict[str, str] = {}
    subject: str | None = None
    """The customer the account belongs to (docs/personal-data.md); None for a system
    account. Its personal metadata values are sealed under that subject's data key."""


class AccountFrozen(EventBase, frozen=True, kw_only=True, tag="account_frozen"):
    """An account frozen: it takes no postings until unfrozen."""

    account: str
    reason: str = ""


class AccountUnfrozen(EventBase, frozen=True, kw_only=True, tag="account_unfrozen"):
    """A frozen account open again."""

    account: str
    reason: str = ""


class AccountClosed(EventBase, frozen=True, kw_only=True, tag="account_closed"):
    """An account closed at zero: it takes no postings again."""

    account: str


# --- journal entries ------------------------------------------------------------------


class SubjectErased(EventBase, frozen=True, kw_only=True, tag="subject_erased"):
    """A subject's data key was destroyed (``EraseSubject``): every personal value sealed
    under it is unreadable for good. ``reason`` is the operator's reference for the
    erasure (a request or ticket number), not personal data."""

    subject: str
    reason: str = ""


class EntryPosted(MoneyEvent, frozen=True, kw_only=True, tag="entry_posted"):
    """A journal entry of explicit legs (``PostEntry``)."""

    entry_id: str
    kind: str
    memo: str = ""
    metadata: dict[str, str] = {}


class EntryReversed(MoneyEvent, frozen=True, kw_only=True, tag="entry_reversed"):
    """The exact mirror of the entry that command ``reverses`` wrote (``Reverse``)."""

    entry_id: str
    reverses: str
    memo: str = ""


class PeriodClosed(EventBase, frozen=True, kw_only=True, tag="period_closed"):
    """The books are closed through ``through``: nothing may be effective at or before it."""

    through: datetime
    memo: str = ""


# --- wallet flows ---------------------------------------------------------------------


class TopUpReceived(MoneyEvent, frozen=True, kw_only=True, tag="top_up_received"):
    """Cash in: ``amount_minor`` arrived through ``channel`` into ``funding_account``; the
    wallet got it less ``fee_minor``."""

    wallet: str
    channel: str
    funding_account: str
    amount_minor: int
    fee_minor: int = 0
    metadata: dict[str, str] = {}


class AgentSettled(MoneyEvent, frozen=True, kw_only=True, tag="agent_settled"):
    """An agent handed over cash it had collected at its counter."""

    agent: str
    amount_minor: int


class PaymentMade(MoneyEvent, frozen=True, kw_only=True, tag="payment_made"):
    """A wallet paid a merchant; ``fee_minor`` of it is the merchant discount fee."""

    REVERSIBLE: ClassVar[bool] = False
    wallet: str
    merchant: str
    amount_minor: int
    fee_minor: int = 0
    reference: str = ""


class Refunded(MoneyEvent, frozen=True, kw_only=True, tag="refunded"):
    """Part or all of payment ``payment`` went back to the wallet; ``fee_minor`` of it is
    the fee returned by the fee income account."""

    REVERSIBLE: ClassVar[bool] = False
    payment: str
    wallet: str
    merchant: str
    amount_minor: int
    fee_minor: int = 0


class BillPaid(MoneyEvent, frozen=True, kw_only=True, tag="bill_paid"):
    """A wallet paid bill ``bill_reference`` of ``biller``; ``entry_id`` is the paying
    command's id (what a ``Reverse`` names, should the biller refuse the payment)."""

    wallet: str
    biller: str
    bill_reference: str
    amount_minor: int
    fee_minor: int = 0
    partial: bool = False
    entry_id: str = ""


class Transferred(MoneyEvent, frozen=True, kw_only=True, tag="transferred"):
    """P2P: one wallet paid another of the same currency."""

    source: str
    destination: str
    amount_minor: int
    memo: str = ""


class Withdrawn(MoneyEvent, frozen=True, kw_only=True, tag="withdrawn"):
    """Cash out to the user's bank: ``amount_minor`` left, plus ``fee_minor`` kept as fee."""

    wallet: str
    amount_minor: int
    fee_minor: int = 0


class Exchanged(MoneyEvent, frozen=True, kw_only=True, tag="exchanged"):
    """Value moved across currencies through each currency's FX position account.

    ``rate`` is units of ``buy_currency`` per unit of ``sell_currency``, exactly as the
    two amounts give it (a decimal string, for the record and the FX position report).
    """

    source: str
    destination: str
    sell_currency: str
    sell_amount_minor: int
    buy_currency: str
    buy_amount_minor: int
    rate: str


class HoldPlaced(MoneyEvent, frozen=True, kw_only=True, tag="hold_placed"):
    """Funds reserved (pending postings): nothing is posted until the hold is captured."""

    REVERSIBLE: ClassVar[bool] = False
    hold: str
    wallet: str
    destination: str
    amount_minor: int
    expires_at: datetime


class HoldCaptured(MoneyEvent, frozen=True, kw_only=True, tag="hold_captured"):
    """The hold ended by posting ``amount_minor``; the rest, ``released_minor``, is free."""

    REVERSIBLE: ClassVar[bool] = False
    hold: str
    amount_minor: int
    released_minor: int = 0


class HoldReleased(MoneyEvent, frozen=True, kw_only=True, tag="hold_released"):
    """The hold ended without posting: all ``amount_minor`` is free again."""

    REVERSIBLE: ClassVar[bool] = False
    hold: str
    amount_minor: int


class HoldExpired(MoneyEvent, frozen=True, kw_only=True, tag="hold_expired"):
    """The hold passed ``expires_at`` uncaptured: all ``amount_minor`` is free again."""

    REVERSIBLE: ClassVar[bool] = False
    hold: str
    amount_minor: int


# --- KYC tiers ------------------------------------------------------------------------


class TierDefined(EventBase, frozen=True, kw_only=True, tag="tier_defined"):
    """The limits of a KYC tier from this event on (None: no limit of that kind)."""

    tier: str
    max_balance_minor: int | None
    per_transaction_max_minor: int | None
    daily_outflow_max_minor: int | None
    monthly_outflow_max_minor: int | None


class TierAssigned(EventBase, frozen=True, kw_only=True, tag="tier_assigned"):
    """``account`` is held to ``tier``'s limits from this event on."""

    account: str
    tier: str


# --- cash on delivery -----------------------------------------------------------------


class CodOrderDelivered(MoneyEvent, frozen=True, kw_only=True, tag="cod_delivered"):
    """The courier took ``amount_minor`` in cash at the door; the merchant's pending
    payable got it less the commission (``vat_minor`` of it is VAT) and shipping.

    ``releasable_at`` is when the return window ends: the COD policy in force at
    delivery, recorded so that a later change of policy never moves it.
    """

    REVERSIBLE: ClassVar[bool] = False
    order: str
    courier: str
    merchant: str
    amount_minor: int
    commission_minor: int
    vat_minor: int
    shipping_minor: int
    courier_fee_minor: int = 0
    releasable_at: datetime


class CodOrderFailed(MoneyEvent, frozen=True, kw_only=True, tag="cod_delivery_failed"):
    """The order went back to the merchant undelivered; no cash moved. A return-to-origin
    fee, if any, is owed by the merchant (``vat_minor`` of it is VAT)."""

    REVERSIBLE: ClassVar[bool] = False
    order: str
    merchant: str | None = None
    courier: str | None = None
    rto_fee_minor: int = 0
    vat_minor: int = 0


class CodRemittanceReceived(MoneyEvent, frozen=True, kw_only=True, tag="cod_remittance_received"):
    """A courier deposited ``amount_minor`` for ``orders``. Of their cash it kept
    ``shipping_minor`` and ``courier_fee_minor``; ``shortfall_minor`` went to its dispute
    receivable (``due_minor`` is what it should have deposited)."""

    REVERSIBLE: ClassVar[bool] = False
    remittance: str
    courier: str
    orders: tuple[str, ...]
    amount_minor: int
    due_minor: int
    shipping_minor: int = 0
    courier_fee_minor: int = 0
    shortfall_minor: int = 0


class CodOrderRemitted(EventBase, frozen=True, kw_only=True, tag="cod_order_remitted"):
    """The order's cash came in with remittance ``remittance`` (its money is there)."""

    order: str
    remittance: str


class CodOrderReleased(MoneyEvent, frozen=True, kw_only=True, tag="cod_order_released"):
    """The return window ended: the merchant's ``amount_minor`` moved to available."""

    REVERSIBLE: ClassVar[bool] = False
    order: str
    merchant: str
    amount_minor: int


class MerchantPaidOut(MoneyEvent, frozen=True, kw_only=True, tag="merchant_paid_out"):
    """All ``available_minor`` of a merchant left its available payable: ``netted_minor``
    against what it owed, ``paid_minor`` to ``to`` (its ``bank`` or its ``wallet``)."""

    REVERSIBLE: ClassVar[bool] = False
    merchant: str
    to: str
    available_minor: int
    netted_minor: int = 0
    paid_minor: int
    orders: tuple[str, ...] = ()


class CodOrderPaidOut(EventBase, frozen=True, kw_only=True, tag="cod_order_paid_out"):
    """The order's money reached the merchant with payout ``payout`` (a command id)."""

    order: str
    payout: str


class CodOrderReturned(MoneyEvent, frozen=True, kw_only=True, tag="cod_order_returned"):
    """The buyer returned the order at ``stage`` (``pending``, ``available`` or
    ``paid_out``: where the merchant's share was); ``refund_minor`` is owed to the buyer.
    ``commission_refunded`` says whether the platform gave back its commission."""

    REVERSIBLE: ClassVar[bool] = False
    order: str
    merchant: str
    stage: str
    refund_minor: int
    commission_refunded: bool = True


class CodBuyerRefunded(MoneyEvent, frozen=True, kw_only=True, tag="cod_buyer_refunded"):
    """The buyer got ``amount_minor`` back, into ``wallet`` or (None) to its bank."""

    REVERSIBLE: ClassVar[bool] = False
    order: str
    amount_minor: int
    wallet: str | None = None


class CourierDisputeResolved(MoneyEvent, frozen=True, kw_only=True, tag="courier_dispute_resolved"):
    """``amount_minor`` of a courier's shortfall ended: ``recovered`` or ``written_off``."""

    REVERSIBLE: ClassVar[bool] = False
    courier: str
    amount_minor: int
    outcome: str


# --- micro-loans ----------------------------------------------------------------------


class LoanInstallment(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, array_like=True
):
    """One installment of a schedule: due on ``due``, ``principal_minor`` plus
    ``interest_minor`` (recognised evenly over the days of its period). The first of a
    restructured schedule also carries interest and default interest accrued under the
    old one, due with it."""

    number: int
    due: date
    principal_minor: int
    interest_minor: int
    carried_interest_minor: int = 0
    carried_default_minor: int = 0


class AccrualLine(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, array_like=True, gc=False
):
    """What one accrual recognised on installment ``number``. ``default_basis`` is the
    installment's running sum, over its overdue days, of unpaid principal x default rate
    (basis points): default interest accrued to date is ``default_basis // 3_650_000``,
    so no fraction of a satang is ever lost between accruals."""

    number: int
    interest_minor: int = 0
    default_interest_minor: int = 0
    default_basis: int = 0


class Allocation(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, array_like=True, gc=False
):
    """What one repayment paid on installment ``number``, in the order it was taken."""

    number: int
    interest_minor: int = 0
    default_interest_minor: int = 0
    principal_minor: int = 0


class LoanDisbursed(MoneyEvent, frozen=True, kw_only=True, tag="loan_disbursed"):
    """``principal_minor`` lent into ``wallet`` on day ``on``, less the upfront fee
    ``fee_minor``, to be repaid by ``schedule``. The policy that applied is recorded:
    the cap and the all-in rate the loan was checked against, the borrower limit and
    what the borrower already owed, the default interest rate, and the days past due
    after which it is in stage 2 and 3."""

    REVERSIBLE: ClassVar[bool] = False
    loan: str
    borrower: str
    wallet: str
    principal_minor: int
    fee_minor: int = 0
    annual_rate_bps: int
    default_rate_bps: int
    frequency: str
    on: date
    schedule: tuple[LoanInstallment, ...]
    all_in_rate_bps: int
    cap_bps: int
    borrower_limit_minor: int
    borrower_owed_minor: int = 0
    stage_2_after_days: int = 30
    stage_3_after_days: int = 90


class BorrowerLoanAdded(EventBase, frozen=True, kw_only=True, tag="borrower_loan_added"):
    """Loan ``loan`` is the borrower's (stream ``borrower:<borrower>``): what the limit
    counts, and what two disbursements to one borrower collide on."""

    borrower: str
    loan: str
    principal_minor: int


class LoanAccrued(MoneyEvent, frozen=True, kw_only=True, tag="loan_accrued"):
    """Interest, default interest and fee recognised through day ``through`` (on day
    ``on``): ``lines`` per installment, ``fee_minor`` of the upfront fee."""

    REVERSIBLE: ClassVar[bool] = False
    loan: str
    on: date
    through: date
    lines: tuple[AccrualLine, ...] = ()
    fee_minor: int = 0


class LoanRepaid(MoneyEvent, frozen=True, kw_only=True, tag="loan_repaid"):
    """``amount_minor`` of ``requested_minor`` taken from ``wallet`` on day ``on``,
    allocated by ``allocations``; ``paid_off`` if nothing is left to pay, and then
    ``fee_minor`` (the fee not yet earned) is earned and ``allowance_released_minor``
    (the loan's allowance) released."""

    REVERSIBLE: ClassVar[bool] = False
    loan: str
    wallet: str
    on: date
    requested_minor: int
    amount_minor: int
    allocations: tuple[Allocation, ...]
    paid_off: bool = False
    fee_minor: int = 0
    allowance_released_minor: int = 0


class LoanProvisioned(MoneyEvent, frozen=True, kw_only=True, tag="loan_provisioned"):
    """The loan's allowance trued up to ``allowance_minor`` = ``exposure_minor`` x
    ``rate_bps`` (its stage's rate) as of ``as_of``, when it was ``days_past_due``."""

    REVERSIBLE: ClassVar[bool] = False
    loan: str
    on: date
    as_of: date
    days_past_due: int
    stage: int
    exposure_minor: int
    rate_bps: int
    allowance_minor: int


class LoanRestructured(EventBase, frozen=True, kw_only=True, tag="loan_restructured"):
    """The loan's unpaid installments were replaced by ``schedule`` on day ``on``; it was
    in ``stage`` then, and stays at least there until ``cure_payments`` consecutive
    installments of the new schedule are paid on time."""

    loan: str
    on: date
    stage: int
    cure_payments: int
    schedule: tuple[LoanInstallment, ...]


class LoanWrittenOff(MoneyEvent, frozen=True, kw_only=True, tag="loan_written_off"):
    """The loan's principal, interest and default interest receivable were written off
    against the allowance on day ``on`` (topped up or released to match first)."""

    REVERSIBLE: ClassVar[bool] = False
    loan: str
    on: date
    principal_minor: int
    interest_minor: int = 0
    default_interest_minor: int = 0
    allowance_used_minor: int
    fee_minor: int = 0


class LoanRecovered(MoneyEvent, frozen=True, kw_only=True, tag="loan_recovered"):
    """``amount_minor`` recovered on a written-off loan, from its wallet or to the bank."""

    REVERSIBLE: ClassVar[bool] = False
    loan: str
    on: date
    amount_minor: int
    from_bank: bool = False


Event = (
    AccountOpened
    | AccountFrozen
    | AccountUnfrozen
    | AccountClosed
    | SubjectErased
    | EntryPosted
    | EntryReversed
    | PeriodClosed
    | TopUpReceived
    | AgentSettled
    | PaymentMade
    | Refunded
    | BillPaid
    | Transferred
    | Withdrawn
    | Exchanged
    | HoldPlaced
    | HoldCaptured
    | HoldReleased
    | HoldExpired
    | TierDefined
    | TierAssigned
    | CodOrderDelivered
    | CodOrderFailed
    | CodRemittanceReceived
    | CodOrderRemitted
    | CodOrderReleased
    | MerchantPaidOut
    | CodOrderPaidOut
    | CodOrderReturned
    | CodBuyerRefunded
    | CourierDisputeResolved
    | LoanDisbursed
    | BorrowerLoanAdded
    | LoanAccrued
    | LoanRepaid
    | LoanProvisioned
    | LoanRestructured
    | LoanWrittenOff
    | LoanRecovered
)
"""The one union of stored events; a new event type is added here and in EVENT_TYPES."""

EVENT_TYPES: dict[str, type[EventBase]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (
        AccountOpened,
        AccountFrozen,
        AccountUnfrozen,
        AccountClosed,
        SubjectErased,
        EntryPosted,
        EntryReversed,
        PeriodClosed,
        TopUpReceived,
        AgentSettled,
        PaymentMade,
        Refunded,
        BillPaid,
        Transferred,
        Withdrawn,
        Exchanged,
        HoldPlaced,
        HoldCaptured,
        HoldReleased,
        HoldExpired,
        TierDefined,
        TierAssigned,
        CodOrderDelivered,
        CodOrderFailed,
        CodRemittanceReceived,
        CodOrderRemitted,
        CodOrderReleased,
        MerchantPaidOut,
        CodOrderPaidOut,
        CodOrderReturned,
        CodBuyerRefunded,
        CourierDisputeResolved,
        LoanDisbursed,
        BorrowerLoanAdded,
        LoanAccrued,
        LoanRepaid,
        LoanProvisioned,
        LoanRestructured,
        LoanWrittenOff,
        LoanRecovered,
    )
}

Upcaster = Callable[[Any], Any]
"""Rewrites an old payload, decoded to plain data, into the next schema's plain data. A
schema 1 payload is an object (``dict``) of named fields; from schema 2 on, a payload is
the compact array (``list``: the tag, then every field in declared order), and an
upcaster from schema 2 or later takes and gives that array."""

COMPACT_SCHEMA = 2
"""The first schema whose payloads are the compact encoding. Every event type moved to it
together; the fields did not change, only the bytes that carry them."""


SCHEMA_2_CLASSES: dict[str, type[EventBase]] = {}
"""The class an event type had at schema 2, for a type whose class has since changed its
fields (a new ``SCHEMA`` with an upcaster from 2): keep a copy of the old class here, by
tag, and its schema 1 rows still decode, through it (they carry schema 2's fields, by
name). A type not named here is its class in :data:`EVENT_TYPES`."""


def _schema_2_class(type_: Any) -> type[EventBase]:
    found = SCHEMA_2_CLASSES.get(type_) or EVENT_TYPES.get(type_)
    if found is None:
        raise ValueError(f"no event type {type_!r}")
    return found


def _same_fields(data: Any) -> Any:
    """Schema 1 to 2, for every event type: the same fields, the object of schema 1 made
    the compact array of schema 2 (read by the class the type had at schema 2)."""
    if not isinstance(data, dict):
        raise ValueError(f"a schema 1 payload is a JSON object, not {type(data).__name__}")
    cls = _schema_2_class(data.get("type"))
    event = msgspec.convert(msgspec.convert(data, _twin(cls)), cls, from_attributes=True)
    return msgspec.to_builtins(event)


UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""``(type, old_schema) -> function`` rewriting an old payload to the next schema."""


# --- the canonical JSON of schema 1 -------------------------------------------------------
#
# Schema 1 payloads are JSON objects. The event classes are array-like now, so each one
# has a twin made from its own fields, object-shaped as the classes were then: schema 1
# payloads decode through the twins (of the class a type had at schema 2:
# ``SCHEMA_2_CLASSES``), and ``event_json`` gives any event in that JSON shape (what
# ``satang events`` and the exports print for a compact row).

_TWINS: dict[type[msgspec.Struct], type[msgspec.Struct]] = {}
_CANONICAL: dict[type[msgspec.Struct], type[msgspec.Struct]] = {}


def _twin_type(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        return _twin(annotation)
    origin = typing.get_origin(annotation)
    if origin is tuple:
        args = tuple(a if a is Ellipsis else _twin_type(a) for a in typing.get_args(annotation))
        return tuple.__class_getitem__(args)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(_twin_type(a) for a in typing.get_args(annotation))]  # noqa: UP007
    return annotation


def _twin(cls: type[msgspec.Struct]) -> type[msgspec.Struct]:
    found = _TWINS.get(cls)
    if found is not None:
        return found
    config = cls.__struct_config__
    fields: list[tuple[str, Any, Any]] = []
    for f in msgspec.structs.fields(cls):
        if f.default_factory is not msgspec.NODEFAULT:
            default: Any = msgspec.field(default_factory=f.default_factory)
        elif f.default is not msgspec.NODEFAULT:
            default = f.default
        else:
            default = msgspec.field()
        fields.append((f.name, _twin_type(f.type), default))
    twin = msgspec.defstruct(
        cls.__name__,
        fields,
        module=__name__,
        tag_field=config.tag_field,
        tag=config.tag,
        omit_defaults=config.omit_defaults,
        frozen=True,
        kw_only=True,
    )
    _TWINS[cls] = twin
    _CANONICAL[twin] = cls
    return twin


def _convert(value: msgspec.Struct, to: dict[type[msgspec.Struct], type[msgspec.Struct]]) -> Any:
    """An event as its twin, or a twin as its event: the same fields, read by name."""
    return msgspec.convert(value, to[type(value)], from_attributes=True)


_json_encoder = msgspec.json.Encoder(order="deterministic")
_compact_encoder = msgspec.msgpack.Encoder(order="deterministic")


def event_json(event: EventBase) -> bytes:
    """The event as canonical JSON, the encoding of schema 1: an object, its ``"type"``
    first, then its fields in declared order, dict keys sorted. For a schema 1 row it is
    the stored payload, byte for byte, as long as no field was added to its class since
    (one added later comes out with its default)."""
    return _json_encoder.encode(_convert(event, _TWINS))


def encode_event(event: EventBase) -> bytes:
    """The payload of a new event, at its class's ``SCHEMA``: the compact encoding, a
    MessagePack array of the tag and every field in declared order, dict keys sorted (a
    field added later goes at the end of its class, with a default)."""
    return _compact_encoder.encode(event)


def decode_event(type_: str, schema: int, payload: bytes) -> Event:
    """Decode a stored payload, upcasting it first if it was written under an older schema.

    Raises :class:`ledger.errors.UnknownEventType` for a type or schema this code cannot
    read, and :class:`ledger.errors.StoreCorrupt` for a payload that is not the shape its
    type says (any bytes at all: the decoder is fuzzed, tests/faults/fuzz_decoder.py).
    """
    cls = EVENT_TYPES.get(type_)
    if cls is None:
        raise UnknownEventType(f"unknown event type {type_!r}", type_, schema)
    if schema > cls.SCHEMA:
        raise UnknownEventType(
            f"event {type_!r} has schema {schema}, newer than this code's {cls.SCHEMA}",
            type_,
            schema,
        )
    try:
        if schema == cls.SCHEMA:
            event: Any = _compact_decoder(cls).decode(payload)
        elif (
            schema == 1
            and cls.SCHEMA == COMPACT_SCHEMA
            and UPCASTERS.get((type_, 1)) is _same_fields
            and type_ not in SCHEMA_2_CLASSES
        ):
            # a schema 1 row, nothing to upcast but the encoding: straight through its twin
            event = _convert(_json_decoder.decode(payload), _CANONICAL)
        else:
            data: Any = (
                msgspec.json.decode(payload)
                if schema < COMPACT_SCHEMA
                else msgspec.msgpack.decode(payload)
            )
            at = schema
            while at < cls.SCHEMA:
                upcast = UPCASTERS.get((type_, at))
                if upcast is None:
                    raise UnknownEventType(
                        f"no upcaster for event {type_!r} from schema {at}", type_, schema
                    )
                data = upcast(data)
                at += 1
            event = msgspec.convert(data, cls)
    except (
        msgspec.MsgspecError,
        ValueError,
        TypeError,
        LookupError,
        AttributeError,
        OverflowError,
        RecursionError,
    ) as exc:  # RecursionError: a payload nested deeper than the interpreter allows;
        # LookupError, AttributeError: an upcaster of the arrays given an array too short
        raise StoreCorrupt(f"event {type_!r} (schema {schema}) does not decode: {exc}") from exc
    found: Event = event
    if type(found) is not cls:
        raise StoreCorrupt(f"a {type_!r} row holds a {type(found).__struct_config__.tag!r}")
    return found


for _type in EVENT_TYPES:
    UPCASTERS[(_type, 1)] = _same_fields
_JsonEvent: Any = typing.Union[tuple(_twin(cls) for cls in EVENT_TYPES.values())]  # noqa: UP007
"""The union of the schema 1 twins, decoded by their ``"type"``."""
_COMPACT_DECODERS: dict[type[EventBase], msgspec.msgpack.Decoder[Any]] = {}


def _compact_decoder(cls: type[EventBase]) -> msgspec.msgpack.Decoder[Any]:
    """The decoder of one event class's compact payloads (its tag first, checked)."""
    found = _COMPACT_DECODERS.get(cls)
    if found is None:
        found = _COMPACT_DECODERS[cls] = msgspec.msgpack.Decoder(cls)
    return found


_json_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(_JsonEvent)
