"""The wallet flows' stateful machine: top-ups, payments, bills, refunds, P2P,
withdrawals, exchange, holds and KYC tiers against a plain model (:class:`WalletModel`),
on a clock the machine moves itself."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

import attrs
from hypothesis import strategies as st
from hypothesis.stateful import (
    initialize,
    invariant,
    precondition,
    rule,
)

from ledger.accounts import Balance
from ledger.book import Ledger
from ledger.chart import Chart
from ledger.commands import (
    TOP_UP_CHANNELS,
    AssignTier,
    CaptureHold,
    Command,
    DefineTier,
    Exchange,
    ExpireHolds,
    FreezeAccount,
    OpenAccount,
    Pay,
    PayBill,
    PlaceHold,
    Refund,
    ReleaseHold,
    Reverse,
    SettleAgent,
    TopUp,
    Transfer,
    UnfreezeAccount,
    Withdraw,
)
from ledger.errors import RejectCode
from ledger.events import (
    Event,
    HoldCaptured,
    HoldExpired,
    HoldPlaced,
    HoldReleased,
    PaymentMade,
    Refunded,
)
from ledger.money import AMOUNT_MAX_MINOR
from ledger.results import Accepted, Rejected, Result
from ledger.testing.machine import AuditedMachine
from ledger.testing.models import Refused, refuse, refuse_if
from ledger.times import ManualClock, to_us

# --- the wallet flows -----------------------------------------------------------------


_DAY_US = 86_400_000_000
_BANGKOK_US = 7 * 3_600_000_000
"""Asia/Bangkok is UTC+7 all year (no daylight saving): the model's business day."""


def _bangkok_day_and_month(now_us: int) -> tuple[int, int]:
    """Start of the Bangkok day and month holding ``now_us``, as UTC microseconds."""
    local = now_us + _BANGKOK_US
    day = local - local % _DAY_US
    day_of_month = (date(1970, 1, 1) + timedelta(days=day // _DAY_US)).day
    return day - _BANGKOK_US, day - (day_of_month - 1) * _DAY_US - _BANGKOK_US


def _half_up(numerator: int, denominator: int) -> int:
    return math.floor(Fraction(numerator, denominator) + Fraction(1, 2))


WalletLeg = tuple[str, str, int, str, str | None]
"""A leg the model expects: account, side, amount, phase, the currency the flow names."""


@attrs.define
class WalletAccount:
    """An account in :class:`WalletModel`: its attributes and the four counters."""

    opened: OpenAccount
    status: str = "open"
    tier: str | None = None
    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def currency(self) -> str:
        return self.opened.currency

    @property
    def credit_normal(self) -> bool:
        return self.opened.type in ("liability", "equity", "income")

    @property
    def balance(self) -> int:
        posted = self.credits_posted - self.debits_posted
        return posted if self.credit_normal else -posted

    @property
    def available(self) -> int:
        out = self.debits_pending if self.credit_normal else self.credits_pending
        return self.balance - out

    @property
    def incoming(self) -> int:
        return self.balance + (self.credits_pending if self.credit_normal else self.debits_pending)

    def move(self, side: str, amount: int, phase: str) -> None:
        n = {"posted": amount, "pending": amount, "released": -amount}[phase]
        prefix = "debits_" if side == "debit" else "credits_"
        name = prefix + ("posted" if phase == "posted" else "pending")
        setattr(self, name, getattr(self, name) + n)


@attrs.define
class WalletPayment:
    wallet: str
    merchant: str
    currency: str
    amount: int
    fee: int
    refunded: int = 0
    fee_back: int = 0


@attrs.define
class WalletHold:
    wallet: str
    destination: str
    amount: int
    expires_us: int
    state: str = "pending"
    """pending, captured, released or expired."""


@attrs.frozen
class WalletPlan:
    """What the model expects an accepted command to do: its legs, how many events it
    appends, and what else it changes in the model."""

    legs: list[WalletLeg]
    events: int = 1
    effect: Callable[[], None] | None = None


@attrs.define
class WalletModel:
    """The wallet flows re-stated plainly from their documentation: which command is
    accepted, with which legs, and the exact code of every rejection.

    Balances are four ints per account; posted debits are kept with their time so the
    daily and monthly tier windows (Asia/Bangkok, UTC+7) are summed by hand. The machine's
    amounts stay far below 2**63 and its accounts have no ``max_balance_minor`` of their
    own, so ``overflow`` and an account's own cap are not modelled.
    """

    chart: Chart = attrs.field(factory=Chart)
    accounts: dict[str, WalletAccount] = attrs.field(factory=dict)
    accepted: dict[str, tuple[Command, int]] = attrs.field(factory=dict)
    debits: list[tuple[int, str, int]] = attrs.field(factory=list)
    payments: dict[str, WalletPayment] = attrs.field(factory=dict)
    bills: dict[tuple[str, str], list[tuple[str, bool]]] = attrs.field(factory=dict)
    """Per (biller, reference): each payment's command id and ``partial`` flag."""
    entries: dict[str, tuple[bool, list[WalletLeg]]] = attrs.field(factory=dict)
    """Per command that moved money: whether ``Reverse`` may undo it, and its legs."""
    reversed: set[str] = attrs.field(factory=set)
    holds: dict[str, WalletHold] = attrs.field(factory=dict)
    tiers: dict[str, tuple[int | None, int | None, int | None, int | None]] = attrs.field(
        factory=dict
    )
    events: int = 0

    def decide(self, command: Command, now_us: int) -> RejectCode | WalletPlan:
        """The code the ledger must reject ``command`` with at ``now_us``, or what it
        does when accepted."""
        decider = _WALLET_DECIDERS.get(type(command))
        if decider is None:
            raise AssertionError(f"the wallet model does not know {command!r}")
        try:
            return decider(self, command, now_us)
        except Refused as refused:
            return refused.code

    def apply(self, command: Command, plan: WalletPlan, seq: int, now_us: int) -> None:
        """Record an accepted command's effect."""
        self.accepted[command.id] = (command, seq)
        self.events += plan.events
        for account, side, n, phase, _ in plan.legs:
            self.accounts[account].move(side, n, phase)
            if side == "debit" and phase == "posted":
                self.debits.append((now_us, account, n))
        if plan.legs:
            self.entries[command.id] = (isinstance(command, _REVERSIBLE), plan.legs)
        if plan.effect is not None:
            plan.effect()

    # --- shared rules -----------------------------------------------------------------

    def _post(
        self,
        legs: list[WalletLeg],
        effect: Callable[[], None] | None = None,
        events: int = 1,
    ) -> WalletPlan:
        legs = [leg for leg in legs if leg[2]]  # a fee of 0 is no leg
        for account, _, _, phase, code in legs:
            found = self.accounts.get(account)
            if found is None:
                refuse(RejectCode.ACCOUNT_NOT_FOUND)
            if phase != "released":  # freeing a reservation is allowed on a frozen account
                refuse_if(found.status == "frozen", RejectCode.ACCOUNT_FROZEN)
                refuse_if(found.status == "closed", RejectCode.ACCOUNT_CLOSED)
            refuse_if(code is not None and code != found.currency, RejectCode.CURRENCY_MISMATCH)
        after = {leg[0]: attrs.evolve(self.accounts[leg[0]]) for leg in legs}
        for account, side, n, phase, _ in legs:
            after[account].move(side, n, phase)
        for account, acc in after.items():
            was = self.accounts[account].available
            refuse_if(
                acc.opened.no_overdraft and acc.available < min(0, was),
                RejectCode.INSUFFICIENT_FUNDS,
            )
        return WalletPlan(legs, events, effect)

    @staticmethod
    def _amount(value: int) -> None:
        refuse_if(not 0 < value <= AMOUNT_MAX_MINOR, RejectCode.AMOUNT_INVALID)

    def _fee(self, amount: int, fee: int, *, inside: bool) -> None:
        self._amount(amount)
        if fee:
            self._amount(fee)
        refuse_if(inside and fee >= amount, RejectCode.AMOUNT_INVALID)

    def _wallet(self, account: str, *, usable: bool = True) -> WalletAccount:
        """A wallet is a no_overdraft liability; one that is to take postings must be
        open — all checked before any limit."""
        found = self.accounts.get(account)
        if found is None:
            refuse(RejectCode.ACCOUNT_NOT_FOUND)
        refuse_if(
            found.opened.type != "liability" or not found.opened.no_overdraft,
            RejectCode.FIELD_INVALID,
        )
        if usable:
            refuse_if(found.status == "frozen", RejectCode.ACCOUNT_FROZEN)
            refuse_if(found.status == "closed", RejectCode.ACCOUNT_CLOSED)
        return found

    def _limits(
        self, account: WalletAccount
    ) -> tuple[int | None, int | None, int | None, int | None] | None:
        return None if account.tier is None else self.tiers.get(account.tier)

    def _outflow(self, account_id: str, amount: int, now_us: int) -> None:
        """Per-transaction, then daily, then monthly: posted debits in the window, plus
        pending holds, plus this one."""
        limits = self._limits(self.accounts[account_id])
        if limits is None:
            return
        _, per_transaction, daily, monthly = limits
        refuse_if(
            per_transaction is not None and amount > per_transaction, RejectCode.LIMIT_EXCEEDED
        )
        day, month = _bangkok_day_and_month(now_us)
        pending = self.accounts[account_id].debits_pending
        for cap, since in ((daily, day), (monthly, month)):
            if cap is None:
                continue
            spent = sum(n for at, a, n in self.debits if a == account_id and at >= since)
            refuse_if(spent + pending + amount > cap, RejectCode.LIMIT_EXCEEDED)

    def _inflow(self, account_id: str, amount: int) -> None:
        account = self.accounts[account_id]
        limits = self._limits(account)
        if limits is None or limits[0] is None:
            return
        refuse_if(account.incoming + amount > limits[0], RejectCode.LIMIT_EXCEEDED)

    # --- one method per command -------------------------------------------------------

    def _open(self, c: OpenAccount, now_us: int) -> WalletPlan:
        existing = self.accounts.get(c.account)
        if existing is not None:
            refuse_if(existing.status == "closed", RejectCode.ACCOUNT_CLOSED)
            same = attrs.evolve(existing.opened, id=c.id) == c
            refuse(RejectCode.ACCOUNT_EXISTS if same else RejectCode.ACCOUNT_EXISTS_DIFFERENT)

        def effect() -> None:
            self.accounts[c.account] = WalletAccount(c)

        return WalletPlan([], 1, effect)

    def _freeze(self, c: FreezeAccount | UnfreezeAccount, now_us: int) -> WalletPlan:
        found = self.accounts.get(c.account)
        if found is None:
            refuse(RejectCode.ACCOUNT_NOT_FOUND)
        refuse_if(found.status == "closed", RejectCode.ACCOUNT_CLOSED)
        freeze = isinstance(c, FreezeAccount)
        if freeze:
            refuse_if(found.status == "frozen", RejectCode.ACCOUNT_FROZEN)
        else:
            refuse_if(found.status != "frozen", RejectCode.ACCOUNT_NOT_FROZEN)

        def effect() -> None:
            found.status = "frozen" if freeze else "open"

        return WalletPlan([], 1, effect)

    def _top_up(self, c: TopUp, now_us: int) -> WalletPlan:
        refuse_if(c.channel not in TOP_UP_CHANNELS, RejectCode.FIELD_INVALID)
        funding = c.funding_account
        if funding is None:
            refuse_if(c.channel in ("counter", "agent"), RejectCode.FIELD_INVALID)
            funding = self.chart.bank_trust
        self._fee(c.amount_minor, c.fee_minor, inside=True)
        source = self.accounts.get(funding)
        if source is None:
            refuse(RejectCode.ACCOUNT_NOT_FOUND)
        refuse_if(source.opened.type != "asset", RejectCode.FIELD_INVALID)
        at_agent = funding.startswith("agent:") and funding.endswith(":receivable")
        if c.channel in ("counter", "agent"):
            refuse_if(not at_agent, RejectCode.FIELD_INVALID)
        else:
            refuse_if(at_agent or funding.startswith("fx:"), RejectCode.FIELD_INVALID)
        currency = self._wallet(c.wallet).currency
        credited = c.amount_minor - c.fee_minor
        self._inflow(c.wallet, credited)
        return self._post(
            [
                (funding, "debit", c.amount_minor, "posted", currency),
                (c.wallet, "credit", credited, "posted", currency),
                (self.chart.fee_income, "credit", c.fee_minor, "posted", currency),
            ]
        )

    def _settle_agent(self, c: SettleAgent, now_us: int) -> WalletPlan:
        self._amount(c.amount_minor)
        return self._post(
            [
                (self.chart.bank_trust, "debit", c.amount_minor, "posted", None),
                (self.chart.agent(c.agent), "credit", c.amount_minor, "posted", None),
            ]
        )

    def _pay(self, c: Pay, now_us: int) -> WalletPlan:
        self._fee(c.amount_minor, c.fee_minor, inside=True)
        currency = self._wallet(c.wallet).currency
        self._outflow(c.wallet, c.amount_minor, now_us)

        def effect() -> None:
            self.payments[c.id] = WalletPayment(
                c.wallet, c.merchant, currency, c.amount_minor, c.fee_minor
            )

        merchant = self.chart.merchant(c.merchant)
        return self._post(
            [
                (c.wallet, "debit", c.amount_minor, "posted", currency),
                (merchant, "credit", c.amount_minor - c.fee_minor, "posted", currency),
                (self.chart.fee_income, "credit", c.fee_minor, "posted", currency),
            ],
            effect,
        )

    def _pay_bill(self, c: PayBill, now_us: int) -> WalletPlan:
        self._fee(c.amount_minor, c.fee_minor, inside=True)
        earlier = [
            partial
            for entry, partial in self.bills.get((c.biller, c.bill_reference), [])
            if entry not in self.reversed  # the biller refused it: it no longer counts
        ]
        refuse_if(bool(earlier) and not (c.partial and all(earlier)), RejectCode.BILL_ALREADY_PAID)
        currency = self._wallet(c.wallet).currency
        self._outflow(c.wallet, c.amount_minor, now_us)

        def effect() -> None:
            self.bills.setdefault((c.biller, c.bill_reference), []).append((c.id, c.partial))

        biller = self.chart.biller(c.biller)
        return self._post(
            [
                (c.wallet, "debit", c.amount_minor, "posted", currency),
                (biller, "credit", c.amount_minor - c.fee_minor, "posted", currency),
                (self.chart.fee_income, "credit", c.fee_minor, "posted", currency),
            ],
            effect,
        )

    def _refund(self, c: Refund, now_us: int) -> WalletPlan:
        payment = self.payments.get(c.payment)
        if payment is None:
            refuse(RejectCode.PAYMENT_NOT_FOUND)
        left = payment.amount - payment.refunded
        amount = left if c.amount_minor is None else c.amount_minor
        if c.amount_minor is not None:
            self._amount(c.amount_minor)
        refuse_if(amount > left or left == 0, RejectCode.REFUND_EXCEEDS_ORIGINAL)
        # the fee back is rounded half up on the running total, never per refund
        fee_total = _half_up(payment.fee * (payment.refunded + amount), payment.amount)
        fee = fee_total - payment.fee_back

        def effect() -> None:
            payment.refunded += amount
            payment.fee_back += fee

        code = payment.currency
        return self._post(
            [
                (self.chart.merchant(payment.merchant), "debit", amount - fee, "posted", code),
                (self.chart.fee_income, "debit", fee, "posted", code),
                (payment.wallet, "credit", amount, "posted", code),
            ],
            effect,
        )

    def _transfer(self, c: Transfer, now_us: int) -> WalletPlan:
        refuse_if(c.source == c.destination, RejectCode.FIELD_INVALID)
        self._amount(c.amount_minor)
        source, destination = self._wallet(c.source), self._wallet(c.destination)
        refuse_if(source.currency != destination.currency, RejectCode.CURRENCY_MISMATCH)
        self._outflow(c.source, c.amount_minor, now_us)
        self._inflow(c.destination, c.amount_minor)
        return self._post(
            [
                (c.source, "debit", c.amount_minor, "posted", None),
                (c.destination, "credit", c.amount_minor, "posted", None),
            ]
        )

    def _withdraw(self, c: Withdraw, now_us: int) -> WalletPlan:
        self._fee(c.amount_minor, c.fee_minor, inside=False)
        debited = c.amount_minor + c.fee_minor
        self._amount(debited)
        currency = self._wallet(c.wallet).currency
        self._outflow(c.wallet, debited, now_us)
        return self._post(
            [
                (c.wallet, "debit", debited, "posted", currency),
                (self.chart.bank_trust, "credit", c.amount_minor, "posted", currency),
                (self.chart.fee_income, "credit", c.fee_minor, "posted", currency),
            ]
        )

    def _exchange(self, c: Exchange, now_us: int) -> WalletPlan:
        self._amount(c.sell_amount_minor)
        self._amount(c.buy_amount_minor)
        source = self._wallet(c.source)  # value leaves from a customer's money only
        destination = self.accounts.get(c.destination)
        if destination is None:
            refuse(RejectCode.ACCOUNT_NOT_FOUND)
        refuse_if(destination.opened.type != "liability", RejectCode.FIELD_INVALID)
        refuse_if(destination.status == "frozen", RejectCode.ACCOUNT_FROZEN)
        refuse_if(destination.status == "closed", RejectCode.ACCOUNT_CLOSED)
        sell, buy = source.currency, destination.currency
        refuse_if(sell == buy, RejectCode.FIELD_INVALID)
        self._outflow(c.source, c.sell_amount_minor, now_us)
        self._inflow(c.destination, c.buy_amount_minor)
        return self._post(
            [
                (c.source, "debit", c.sell_amount_minor, "posted", sell),
                (self.chart.fx(sell), "credit", c.sell_amount_minor, "posted", sell),
                (self.chart.fx(buy), "debit", c.buy_amount_minor, "posted", buy),
                (c.destination, "credit", c.buy_amount_minor, "posted", buy),
            ]
        )

    def _place_hold(self, c: PlaceHold, now_us: int) -> WalletPlan:
        expires_us = to_us(c.expires_at)
        refuse_if(expires_us <= now_us, RejectCode.FIELD_INVALID)
        self._amount(c.amount_minor)
        refuse_if(c.destination == c.wallet, RejectCode.FIELD_INVALID)
        refuse_if(c.hold in self.holds, RejectCode.HOLD_EXISTS)
        currency = self._wallet(c.wallet).currency
        self._outflow(c.wallet, c.amount_minor, now_us)
        destination = self.accounts.get(c.destination)
        if destination is not None:  # open, and a tiered destination's cap counts the hold
            refuse_if(destination.status == "frozen", RejectCode.ACCOUNT_FROZEN)
            refuse_if(destination.status == "closed", RejectCode.ACCOUNT_CLOSED)
            self._inflow(c.destination, c.amount_minor)

        def effect() -> None:
            self.holds[c.hold] = WalletHold(c.wallet, c.destination, c.amount_minor, expires_us)

        return self._post(
            [
                (c.wallet, "debit", c.amount_minor, "pending", None),
                (c.destination, "credit", c.amount_minor, "pending", currency),
            ],
            effect,
        )

    def _release_legs(self, hold: WalletHold) -> list[WalletLeg]:
        return [
            (hold.wallet, "debit", hold.amount, "released", None),
            (hold.destination, "credit", hold.amount, "released", None),
        ]

    def _capture_hold(self, c: CaptureHold, now_us: int) -> WalletPlan:
        hold = self.holds.get(c.hold)
        if hold is None:
            refuse(RejectCode.HOLD_NOT_FOUND)
        refuse_if(hold.state == "expired", RejectCode.HOLD_EXPIRED)
        refuse_if(hold.state != "pending", RejectCode.HOLD_NOT_PENDING)
        refuse_if(now_us >= hold.expires_us, RejectCode.HOLD_EXPIRED)
        amount = hold.amount if c.amount_minor is None else c.amount_minor
        self._amount(amount)
        refuse_if(amount > hold.amount, RejectCode.CAPTURE_EXCEEDS_HOLD)

        def effect() -> None:
            hold.state = "captured"

        return self._post(
            [
                *self._release_legs(hold),
                (hold.wallet, "debit", amount, "posted", None),
                (hold.destination, "credit", amount, "posted", None),
            ],
            effect,
        )

    def _release_hold(self, c: ReleaseHold, now_us: int) -> WalletPlan:
        hold = self.holds.get(c.hold)
        if hold is None:
            refuse(RejectCode.HOLD_NOT_FOUND)
        refuse_if(hold.state != "pending", RejectCode.HOLD_NOT_PENDING)

        def effect() -> None:
            hold.state = "released"

        return self._post(self._release_legs(hold), effect)

    def _expire_holds(self, c: ExpireHolds, now_us: int) -> WalletPlan:
        as_of_us = to_us(c.as_of)
        refuse_if(as_of_us > now_us, RejectCode.FIELD_INVALID)
        due = [
            hold
            for _, hold in sorted(self.holds.items())
            if hold.state == "pending" and hold.expires_us <= as_of_us
        ]
        refuse_if(not due, RejectCode.NOTHING_DUE)

        def effect() -> None:
            for hold in due:
                hold.state = "expired"

        return self._post(
            [leg for hold in due for leg in self._release_legs(hold)], effect, len(due)
        )

    def _reverse(self, c: Reverse, now_us: int) -> WalletPlan:
        """Payments, refunds and holds keep flow state, so only their own flows undo
        them; anything else is mirrored, with no tier check."""
        entry = self.entries.get(c.entry_id)
        if entry is None:
            refuse(RejectCode.ENTRY_NOT_FOUND)
        reversible, legs = entry
        refuse_if(not reversible, RejectCode.ENTRY_NOT_REVERSIBLE)
        refuse_if(c.entry_id in self.reversed, RejectCode.ENTRY_ALREADY_REVERSED)

        def effect() -> None:
            self.reversed.add(c.entry_id)

        flip = {"debit": "credit", "credit": "debit"}
        return self._post(
            [(a, flip[side], n, "posted", self.accounts[a].currency) for a, side, n, _, _ in legs],
            effect,
        )

    def _define_tier(self, c: DefineTier, now_us: int) -> WalletPlan:
        limits = (
            c.max_balance_minor,
            c.per_transaction_max_minor,
            c.daily_outflow_max_minor,
            c.monthly_outflow_max_minor,
        )
        for value in limits:
            if value is not None:
                self._amount(value)

        def effect() -> None:
            self.tiers[c.tier] = limits

        return WalletPlan([], 1, effect)

    def _assign_tier(self, c: AssignTier, now_us: int) -> WalletPlan:
        found = self._wallet(c.wallet, usable=False)
        refuse_if(found.status == "closed", RejectCode.ACCOUNT_CLOSED)
        refuse_if(c.tier not in self.tiers, RejectCode.TIER_NOT_FOUND)

        def effect() -> None:
            found.tier = c.tier

        return WalletPlan([], 1, effect)


_WALLET_DECIDERS: dict[type[Command], Callable[[WalletModel, Any, int], WalletPlan]] = {
    OpenAccount: WalletModel._open,
    FreezeAccount: WalletModel._freeze,
    UnfreezeAccount: WalletModel._freeze,
    TopUp: WalletModel._top_up,
    SettleAgent: WalletModel._settle_agent,
    Pay: WalletModel._pay,
    PayBill: WalletModel._pay_bill,
    Refund: WalletModel._refund,
    Transfer: WalletModel._transfer,
    Withdraw: WalletModel._withdraw,
    Exchange: WalletModel._exchange,
    PlaceHold: WalletModel._place_hold,
    CaptureHold: WalletModel._capture_hold,
    ReleaseHold: WalletModel._release_hold,
    ExpireHolds: WalletModel._expire_holds,
    DefineTier: WalletModel._define_tier,
    AssignTier: WalletModel._assign_tier,
    Reverse: WalletModel._reverse,
}
_REVERSIBLE = (TopUp, SettleAgent, PayBill, Transfer, Withdraw, Exchange, Reverse)
"""Commands whose entry ``Reverse`` mirrors; the rest keep flow state of their own."""


# --- the wallet machine ---------------------------------------------------------------

_WALLETS = [f"wallet:W{i}" for i in range(4)]
_USD_WALLET = "wallet:U0"
_SOME_WALLET = st.sampled_from(
    [*_WALLETS * 4, _USD_WALLET, "wallet:ghost", "merchant:M1:payable"]  # the last: no wallet
)
_THB_WALLET = st.sampled_from(_WALLETS)
_MERCHANT = st.sampled_from(["M1", "M1", "M1", "M2", "M2", "M9"])  # M9 has no payable
_BILLER = st.sampled_from(["B1", "B1", "B1", "B9"])  # B9 has no payable
_HOLD_DESTINATIONS = [
    "merchant:M1:payable",
    "merchant:M1:payable",
    "merchant:M1:payable",
    "merchant:M2:payable",
    "merchant:M2:payable",
    _WALLETS[1],  # field_invalid when it is the hold's own wallet
    "merchant:M9:payable",  # never opened
    _USD_WALLET,  # another currency
]
_STARTS = [
    datetime(2025, 1, 31, 16, 30, tzinfo=UTC),  # 23:30 in Bangkok on the last of the month
    datetime(2024, 2, 28, 16, 59, tzinfo=UTC),  # a minute before a leap day starts there
    datetime(2025, 6, 15, 3, 0, tzinfo=UTC),
]
_pick = st.sampled_from([0, 0, 1]) | st.integers(0, 1_000)
"""An index into what the model knows: mostly the first (each rule puts the latest, or
the most useful, first), now and then any."""
_money = st.integers(0, 9).flatmap(
    lambda k: st.integers(1, 2_000_000) if k == 0 else st.integers(1, 60_000)
)
_MINUTE = timedelta(minutes=1)
_EXPIRY = [_MINUTE, _MINUTE, 5 * _MINUTE, 60 * _MINUTE, timedelta(days=2)]
"""How long after now a hold expires."""
_WAIT = st.sampled_from(["no", "no", "1min", "2h", "before", "at", "after"])
"""How long to wait before a hold is captured, released or swept (see ``_wait``)."""
_fee = st.sampled_from([0, 0, 0, 1, 7, 150]) | st.integers(0, 3_000)
_limit = st.sampled_from([None, None, 20_000, 50_000, 150_000])
_Cap = tuple[int | None, int | None, int | None, int | None]


class WalletMachine(AuditedMachine):
    """Random wallet-flow commands against a ledger on a hand-moved clock, checked
    against :class:`WalletModel` after every step.

    Invariants: every currency sums to zero (posted and pending); no ``no_overdraft``
    account is below zero counting holds; ``available`` is the balance less pending
    outflows; every account's four counters, status and tier equal the model's; refunds
    of a payment never pass it (nor their fee parts its fee, and a full refund returns
    all of it); every hold stream is a ``HoldPlaced`` at version 1 and at most one final
    event at version 2, in the state the model says; the log grows only by accepted
    commands, a rejection leaves ``head()`` as it was, and a retry is answered from the
    idempotency index. At the end the audit refolds the log and must agree.
    """

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(_STARTS[0])
        self.book = self.open_ledger(self.clock)
        self.model = WalletModel(chart=self.book.chart)
        self._pay_ids: list[str] = []
        self._log_seq = 0
        self._log_payments: dict[str, tuple[int, int]] = {}
        self._log_refunds: dict[str, tuple[int, int]] = {}
        self._log_holds: dict[str, list[tuple[int, type[Event]]]] = {}
        self._read_at: tuple[int, str] | None = None
        self._read: list[Balance] = []

    def open_ledger(self, clock: ManualClock) -> Ledger:
        """The ledger under test, on ``clock``; override for another store."""
        return Ledger.open(":memory:", clock=clock, timezone="Asia/Bangkok")

    def _submit(self, command: Command) -> Result:
        now_us = self.clock.now_us
        expected = self.model.decide(command, now_us)
        before = self.book.head()
        result = self.book.submit(command)
        if isinstance(expected, RejectCode):
            assert isinstance(result, Rejected), (command, result, expected)
            assert result.code is expected, (command, result, expected)
            assert self.book.head() == before, "a rejected command appended"
            self._refused(command, result)
        else:
            assert isinstance(result, Accepted) and not result.replayed, (command, result)
            assert result.seq == before[0] + expected.events, (command, result, expected)
            self.model.apply(command, expected, result.seq, now_us)
        return result

    # --- setting up -------------------------------------------------------------------

    @initialize(
        start=st.sampled_from(_STARTS),
        funds=st.lists(st.integers(0, 400_000), min_size=len(_WALLETS), max_size=len(_WALLETS)),
        limits=st.tuples(_limit, _limit, _limit, _limit),
        tiered=st.lists(st.sampled_from(_WALLETS), max_size=2, unique=True),
        payments=st.lists(
            st.tuples(st.sampled_from(_WALLETS), st.integers(1, 40_000), _fee), max_size=3
        ),
        holds=st.lists(
            st.tuples(st.sampled_from(_WALLETS), st.integers(1, 40_000), st.sampled_from(_EXPIRY)),
            max_size=3,
        ),
    )
    def open_books(
        self,
        start: datetime,
        funds: list[int],
        limits: _Cap,
        tiered: list[str],
        payments: list[tuple[str, int, int]],
        holds: list[tuple[str, int, timedelta]],
    ) -> None:
        """The chart with an FX position for USD, four THB wallets and a USD one, an
        agent, two merchants and a biller; the THB wallets topped up by bank; tier
        ``basic`` defined and held to by some wallets; a few payments and holds, so that
        refunds and captures have something to work on from the first step."""
        self.clock.now = start
        chart = self.book.chart
        results = self.book.open_chart(["USD"])
        for command, result in zip(chart.system_accounts(["USD"]), results, strict=True):
            plan = self.model.decide(command, self.clock.now_us)
            assert isinstance(plan, WalletPlan) and isinstance(result, Accepted), result
            self.model.apply(command, plan, result.seq, self.clock.now_us)
        for command in [
            *(chart.open_wallet(w) for w in _WALLETS),
            chart.open_wallet(_USD_WALLET, "USD"),
            chart.open_agent("A1"),
            chart.open_merchant("M1"),
            chart.open_merchant("M2"),
            chart.open_biller("B1"),
        ]:
            self._submit(command)
        for wallet_id, amount in zip(_WALLETS, funds, strict=True):
            if amount:
                self.top_up(wallet_id, amount, ("bank", None), 0)
        self.define_tier("basic", limits)
        for wallet_id in tiered:
            self.assign_tier(wallet_id, "basic")
        for wallet_id, amount, fee in payments:
            self.pay(wallet_id, "M1", amount, fee)
        for wallet_id, amount, expires_in in holds:
            self.place_hold(9, wallet_id, "merchant:M2:payable", amount, expires_in)

    # --- the rules --------------------------------------------------------------------

    @rule(
        by=st.sampled_from(
            [
                timedelta(minutes=1),
                timedelta(minutes=5),
                timedelta(hours=1),
                timedelta(hours=6),
                timedelta(days=1),
                timedelta(days=11),
                timedelta(days=31),
            ]
        )
    )
    def advance_clock(self, by: timedelta) -> None:
        """Time passes: holds come due, daily and monthly windows roll over."""
        self.clock.advance(by)

    @rule(
        wallet=_SOME_WALLET,
        amount=_money,
        how=st.sampled_from(
            [
                ("bank", None),
                ("bank", None),
                ("card", None),
                ("counter", "agent:A1:receivable"),
                ("counter", "agent:A1:receivable"),
                ("counter", None),  # field_invalid: a counter names its agent
                ("counter", "agent:A9:receivable"),  # never opened
                ("bank", _WALLETS[2]),  # field_invalid: not an asset
                ("counter", "bank:trust"),  # field_invalid: a counter's cash is an agent's
                ("bank", "agent:A1:receivable"),  # field_invalid: a bank top-up is a bank's
                ("promptpay", "fx:THB:position"),  # field_invalid: not a bank account
            ]
        ),
        fee=_fee,
    )
    def top_up(self, wallet: str, amount: int, how: tuple[str, str | None], fee: int) -> None:
        """By bank or card, or at agent A1's counter; now and then a counter top-up
        naming no agent or one never opened, or funded from a wallet."""
        channel, funding = how
        self._submit(
            TopUp(
                id=self._next_id("topup"),
                wallet=wallet,
                amount_minor=amount,
                channel=channel,
                funding_account=funding,
                fee_minor=fee,
            )
        )

    @rule(
        agent=st.sampled_from(["A1", "A1", "A1", "A9"]),
        how=st.sampled_from(["part", "part", "all", "over"]),
        amount=_money,
    )
    def settle_agent(self, agent: str, how: str, amount: int) -> None:
        """The agent hands over part of the cash it owes, all of it, or more."""
        owed = self.model.accounts[self.book.chart.agent("A1")].balance
        asked = {"part": 1 + amount % max(owed, 1), "all": max(owed, 1), "over": owed + 1}[how]
        self._submit(SettleAgent(id=self._next_id("settle"), agent=agent, amount_minor=asked))

    @rule(wallet=_SOME_WALLET, merchant=_MERCHANT, amount=_money, fee=_fee)
    def pay(self, wallet: str, merchant: str, amount: int, fee: int) -> None:
        command = Pay(
            id=self._next_id("pay"),
            wallet=wallet,
            merchant=merchant,
            amount_minor=amount,
            fee_minor=fee,
        )
        self._pay_ids.append(command.id)
        self._submit(command)

    @precondition(lambda self: bool(self._pay_ids))
    @rule(
        pick=_pick,
        how=st.sampled_from(["rest", "part", "part", "part", "left", "over", "other"]),
        amount=st.integers(1, 60_000),
    )
    def refund(self, pick: int, how: str, amount: int) -> None:
        """Refund a payment: all that is left (None), a part of it, exactly what is left,
        or one more than that; or refund a payment that was rejected or never made."""
        made = list(self.model.payments)
        if how == "other" or not made:
            others = [i for i in self._pay_ids if i not in self.model.payments]
            others += ["pay-never", *[i for i in self.model.accepted if i not in made][-1:]]
            payment = others[pick % len(others)]
            asked: int | None = amount
        else:
            payment = made[-1 - pick % len(made)]
            known = self.model.payments[payment]
            left = known.amount - known.refunded
            asked = {
                "rest": None,
                "part": 1 + amount % max(left, 1),
                "left": max(left, 1),
                "over": left + 1,
            }[how]
        self._submit(Refund(id=self._next_id("refund"), payment=payment, amount_minor=asked))

    @rule(
        wallet=_SOME_WALLET,
        biller=_BILLER,
        reference=st.sampled_from([f"bill-{i}" for i in range(6)]),
        amount=_money,
        fee=_fee,
        partial=st.sampled_from([True, True, False]),
    )
    def pay_bill(
        self, wallet: str, biller: str, reference: str, amount: int, fee: int, partial: bool
    ) -> None:
        self._submit(
            PayBill(
                id=self._next_id("bill"),
                wallet=wallet,
                biller=biller,
                bill_reference=reference,
                amount_minor=amount,
                fee_minor=fee,
                partial=partial,
            )
        )

    @rule(source=_SOME_WALLET, destination=_SOME_WALLET, amount=_money)
    def transfer(self, source: str, destination: str, amount: int) -> None:
        self._submit(
            Transfer(
                id=self._next_id("p2p"), source=source, destination=destination, amount_minor=amount
            )
        )

    @rule(wallet=_SOME_WALLET, amount=_money, fee=_fee)
    def withdraw(self, wallet: str, amount: int, fee: int) -> None:
        self._submit(
            Withdraw(
                id=self._next_id("withdraw"), wallet=wallet, amount_minor=amount, fee_minor=fee
            )
        )

    @rule(
        thb=_THB_WALLET,
        to_usd=st.booleans(),
        sell=st.integers(1, 100_000),
        buy=st.integers(1, 100_000),
        twist=st.sampled_from([None] * 8 + ["merchant:M1:payable", "bank:trust", "fx:USD"]),
    )
    def exchange(self, thb: str, to_usd: bool, sell: int, buy: int, twist: str | None) -> None:
        """Between a THB wallet and the USD one; now and then from a merchant payable or
        the bank (only a wallet gives), or into an FX position (only a liability takes)."""
        source, destination = (thb, _USD_WALLET) if to_usd else (_USD_WALLET, thb)
        if twist == "fx:USD":
            destination = "fx:USD:position"
        elif twist is not None:
            source = twist
        self._submit(
            Exchange(
                id=self._next_id("fx"),
                source=source,
                destination=destination,
                sell_amount_minor=sell,
                buy_amount_minor=buy,
            )
        )

    @rule(
        reuse=st.integers(0, 9),
        wallet=_SOME_WALLET,
        destination=st.sampled_from(_HOLD_DESTINATIONS),
        amount=st.integers(1, 40_000),
        expires_in=st.sampled_from([timedelta(0), *_EXPIRY]),  # 0: not after now
    )
    def place_hold(
        self, reuse: int, wallet: str, destination: str, amount: int, expires_in: timedelta
    ) -> None:
        """A new hold id, or now and then one that exists (hold_exists)."""
        known = list(self.model.holds)
        hold = known[-1] if known and not reuse else f"H{len(known)}"
        self._submit(
            PlaceHold(
                id=self._next_id("hold"),
                hold=hold,
                wallet=wallet,
                destination=destination,
                amount_minor=amount,
                expires_at=self.clock.now + expires_in,
            )
        )

    def _some_hold(self, pick: int) -> str:
        """A hold the model knows, pending ones (the latest) first, or one never placed."""
        latest = list(reversed(self.model.holds.items()))
        known = [h for h, hold in latest if hold.state == "pending"]
        known += [h for h, hold in latest if hold.state != "pending"]
        return [*known, "H-never"][pick % (len(known) + 1)]

    def _wait(self, wait: str, hold: str | None) -> None:
        """Let time pass: not at all, a little, or up to a hold's expiry — a microsecond
        before it, exactly to it, or a minute past it — when that is still ahead."""
        if wait in ("no", "1min", "2h"):
            self.clock.advance({"no": timedelta(0), "1min": _MINUTE, "2h": 120 * _MINUTE}[wait])
            return
        known = self.model.holds.get(hold) if hold is not None else None
        if known is None:
            return
        offset = {"before": -1, "at": 0, "after": 60_000_000}[wait]
        target_us = known.expires_us + offset
        if target_us > self.clock.now_us:
            self.clock.advance(timedelta(microseconds=target_us - self.clock.now_us))

    @precondition(lambda self: bool(self.model.holds))
    @rule(
        action=st.sampled_from(["capture", "capture", "release", "expire"]),
        pick=_pick,
        wait=_WAIT,
        how=st.sampled_from(["all", "part", "part", "exact", "over"]),
        amount=st.integers(1, 60_000),
        shift=st.sampled_from(
            [
                timedelta(0),
                timedelta(0),
                timedelta(hours=-2),
                timedelta(microseconds=1),  # later than the clock: field_invalid
            ]
        ),
    )
    def end_hold(
        self, action: str, pick: int, wait: str, how: str, amount: int, shift: timedelta
    ) -> None:
        """After a wait, end a hold: capture all of it (None), a part, exactly its amount
        or one more; release it; or sweep expired holds as of now, earlier, or a
        microsecond later than the ledger's clock (field_invalid)."""
        hold = self._some_hold(pick)
        self._wait(wait, hold)
        cid = self._next_id(action)
        if action == "release":
            self._submit(ReleaseHold(id=cid, hold=hold))
        elif action == "expire":
            self._submit(ExpireHolds(id=cid, as_of=self.clock.now + shift))
        else:
            known = self.model.holds.get(hold)
            held = known.amount if known is not None else amount
            asked = {"all": None, "part": 1 + amount % held, "exact": held, "over": held + 1}
            self._submit(CaptureHold(id=cid, hold=hold, amount_minor=asked[how]))

    @rule(pick=_pick, other=st.sampled_from([False, False, False, True]))
    def reverse(self, pick: int, other: bool) -> None:
        """Reverse an entry a wallet flow wrote (payments, refunds and holds are not
        reversible), or a command that wrote none, or nothing at all."""
        entries = list(self.model.entries)
        if other or not entries:
            ids = [i for i in self.model.accepted if i not in self.model.entries][-3:]
            entries = [*ids, "never-written"]
        entry = entries[-1 - pick % len(entries)]
        self._submit(Reverse(id=self._next_id("reverse"), entry_id=entry))

    @rule(
        tier=st.sampled_from(["basic", "plus"]),
        limits=st.tuples(_limit, _limit, _limit, _limit),
    )
    def define_tier(self, tier: str, limits: _Cap) -> None:
        max_balance, per_transaction, daily, monthly = limits
        self._submit(
            DefineTier(
                id=self._next_id("tier"),
                tier=tier,
                max_balance_minor=max_balance,
                per_transaction_max_minor=per_transaction,
                daily_outflow_max_minor=daily,
                monthly_outflow_max_minor=monthly,
            )
        )

    @rule(wallet=_SOME_WALLET, tier=st.sampled_from(["basic", "basic", "plus", "gold"]))
    def assign_tier(self, wallet: str, tier: str) -> None:
        self._submit(AssignTier(id=self._next_id("assign"), wallet=wallet, tier=tier))

    @rule(
        account=st.sampled_from([*_WALLETS, _WALLETS[0], "merchant:M1:payable"]),
        freeze=st.sampled_from([True, False, False]),
    )
    def freeze_or_unfreeze(self, account: str, freeze: bool) -> None:
        cls = FreezeAccount if freeze else UnfreezeAccount
        self._submit(cls(id=self._next_id("freeze" if freeze else "unfreeze"), account=account))

    @precondition(lambda self: bool(self.model.accepted))
    @rule(pick=_pick, conflict=st.sampled_from([False, False, True]))
    def resend(self, pick: int, conflict: bool) -> None:
        """An accepted command sent again, later: the same seq and nothing new written.
        Or its id reused for other content: idempotency_conflict, nothing written."""
        ids = list(self.model.accepted)
        command, seq = self.model.accepted[ids[-1 - pick % len(ids)]]
        before = self.book.head()
        if conflict:
            result = self.book.submit(ReleaseHold(id=command.id, hold="H-other"))
            assert isinstance(result, Rejected), result
            assert result.code is RejectCode.IDEMPOTENCY_CONFLICT, result
        else:
            result = self.book.submit(command)
            assert result == Accepted(command.id, seq, replayed=True), (command, result)
        assert self.book.head() == before

    @rule(
        items=st.lists(
            st.tuples(
                st.sampled_from(
                    ["pay", "refund", "bill", "p2p", "topup", "hold", "capture", "release"]
                ),
                _SOME_WALLET,
                _THB_WALLET,
                _money,
            ),
            min_size=1,
            max_size=4,
        ),
        linked=st.booleans(),
    )
    def batch(self, items: list[tuple[str, str, str, int]], linked: bool) -> None:
        """Several commands in one transaction, linked (all or nothing) or not. Later ones
        may read what earlier ones wrote: a refund of a payment made in the batch, the
        capture or release of a hold placed in it, a second payment of one bill."""
        commands: list[Command] = []
        pays = list(self.model.payments)[-1:]
        holds = list(self.model.holds)[-1:]
        for kind, wallet, other, amount in items:
            cid = self._next_id(f"batch-{kind}")
            if kind == "pay":
                self._pay_ids.append(cid)
                pays.append(cid)
                commands.append(
                    Pay(id=cid, wallet=wallet, merchant="M1", amount_minor=amount, fee_minor=3)
                )
            elif kind == "refund":
                payment = pays[-1] if pays else "pay-never"
                commands.append(Refund(id=cid, payment=payment, amount_minor=1 + amount % 40))
            elif kind == "bill":
                commands.append(
                    PayBill(
                        id=cid,
                        wallet=wallet,
                        biller="B1",
                        bill_reference="bill-0",
                        amount_minor=amount,
                        partial=amount % 4 != 0,
                    )
                )
            elif kind == "p2p":
                commands.append(
                    Transfer(id=cid, source=wallet, destination=other, amount_minor=amount)
                )
            elif kind == "topup":
                commands.append(TopUp(id=cid, wallet=wallet, amount_minor=amount, channel="bank"))
            elif kind == "hold":
                holds.append(f"HB{cid}")
                commands.append(
                    PlaceHold(
                        id=cid,
                        hold=holds[-1],
                        wallet=wallet,
                        destination="merchant:M2:payable",
                        amount_minor=amount,
                        expires_at=self.clock.now + timedelta(hours=1),
                    )
                )
            else:
                hold = holds[-1] if holds else "H-never"
                ends: dict[str, Command] = {
                    "capture": CaptureHold(id=cid, hold=hold, amount_minor=1 + amount % 500),
                    "release": ReleaseHold(id=cid, hold=hold),
                }
                commands.append(ends[kind])
        now_us = self.clock.now_us
        before = self.book.head()
        results = self.book.submit_many(commands, linked=linked)
        assert len(results) == len(commands)
        if not linked:
            for command, result in zip(commands, results, strict=True):
                self._check_one(command, self.model.decide(command, now_us), result, now_us)
            return
        trial = copy.deepcopy(self.model)
        codes: list[RejectCode | None] = []
        for command in commands:
            plan = trial.decide(command, now_us)
            if isinstance(plan, RejectCode):
                codes.append(plan)
                break
            codes.append(None)
            trial.apply(command, plan, 0, now_us)
        if all(code is None for code in codes):
            for command, result in zip(commands, results, strict=True):
                self._check_one(command, self.model.decide(command, now_us), result, now_us)
            return
        assert self.book.head() == before, "a failed linked batch appended"
        failing = len(codes) - 1
        for i, result in enumerate(results):
            want = codes[failing] if i == failing else RejectCode.LINKED_COMMAND_FAILED
            assert isinstance(result, Rejected) and result.code is want, (i, result, want)

    def _check_one(
        self, command: Command, expected: RejectCode | WalletPlan, result: Result, now_us: int
    ) -> None:
        if isinstance(expected, RejectCode):
            assert isinstance(result, Rejected) and result.code is expected, (
                command,
                result,
                expected,
            )
        else:
            assert isinstance(result, Accepted) and not result.replayed, (command, result)
            self.model.apply(command, expected, result.seq, now_us)

    # --- invariants -------------------------------------------------------------------

    def _balances(self) -> list[Balance]:
        """``book.balances()``, read again only when the log has grown."""
        head = self.book.head()
        if self._read_at != head:
            self._read_at, self._read = head, self.book.balances()
        return self._read

    @invariant()
    def balances_match_model(self) -> None:
        inline = {account.id: (account, c) for account, c in self.book.store.accounts()}
        assert set(inline) == set(self.model.accounts)
        for account_id, (account, c) in inline.items():
            mine = self.model.accounts[account_id]
            assert (
                c.debits_posted,
                c.credits_posted,
                c.debits_pending,
                c.credits_pending,
            ) == (
                mine.debits_posted,
                mine.credits_posted,
                mine.debits_pending,
                mine.credits_pending,
            ), (account_id, c, mine)
            assert (str(account.status), account.tier) == (mine.status, mine.tier), account

    @invariant()
    def every_currency_sums_to_zero(self) -> None:
        posted: dict[str, int] = {}
        pending: dict[str, int] = {}
        for b in self._balances():
            posted[b.currency] = posted.get(b.currency, 0) + b.debits_posted - b.credits_posted
            pending[b.currency] = pending.get(b.currency, 0) + b.debits_pending - b.credits_pending
        assert set(posted.values()) <= {0}, posted
        assert set(pending.values()) <= {0}, pending

    @invariant()
    def available_is_balance_less_pending_outflows(self) -> None:
        for b in self._balances():
            mine = self.model.accounts[b.account]
            if mine.credit_normal:
                assert b.balance == b.credits_posted - b.debits_posted, b
                assert b.available == b.balance - b.debits_pending, b
            else:
                assert b.balance == b.debits_posted - b.credits_posted, b
                assert b.available == b.balance - b.credits_pending, b
            assert (b.balance, b.available) == (mine.balance, mine.available), b
            if mine.opened.no_overdraft:
                assert b.available >= 0, b

    @invariant()
    def the_log_keeps_refunds_and_holds(self) -> None:
        """Read the new events: refunds never pass their payment (nor their fee parts its
        fee; all of it once fully refunded), every hold stream is one placement and at
        most one final event, and both are as the model says."""
        for rec in self.book.events(after=self._log_seq):
            self._log_seq = rec.seq
            event = rec.event
            if isinstance(event, PaymentMade):
                assert rec.stream == f"payment:{rec.command_id}", rec
                self._log_payments[rec.command_id] = (event.amount_minor, event.fee_minor)
            elif isinstance(event, Refunded):
                amount, fee = self._log_refunds.get(event.payment, (0, 0))
                self._log_refunds[event.payment] = (
                    amount + event.amount_minor,
                    fee + event.fee_minor,
                )
            elif isinstance(event, HoldPlaced | HoldCaptured | HoldReleased | HoldExpired):
                assert rec.stream == f"hold:{event.hold}", rec
                self._log_holds.setdefault(event.hold, []).append((rec.version, type(event)))
        for payment, (refunded, fee_back) in self._log_refunds.items():
            paid, fee = self._log_payments[payment]
            assert refunded <= paid and fee_back <= fee, (payment, refunded, fee_back)
            assert fee_back == fee or refunded < paid, (payment, refunded, fee_back)
            mine = self.model.payments[payment]
            assert (refunded, fee_back) == (mine.refunded, mine.fee_back), payment
        final = {HoldCaptured: "captured", HoldReleased: "released", HoldExpired: "expired"}
        states = {}
        for hold, history in self._log_holds.items():
            assert history[0] == (1, HoldPlaced), (hold, history)
            assert len(history) <= 2, (hold, history)
            if len(history) == 2:
                assert history[1][0] == 2 and history[1][1] in final, (hold, history)
            states[hold] = final[history[1][1]] if len(history) == 2 else "pending"
        assert states == {h: hold.state for h, hold in self.model.holds.items()}

    @invariant()
    def log_grows_only_by_accepted_commands(self) -> None:
        assert self.book.head()[0] == self.model.events
