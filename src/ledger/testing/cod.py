"""The cash-on-delivery stateful machine: deliveries, failed deliveries, remittances
(short ones too), releases, payouts, returns at every stage, refunds and disputes
against a plain model (:class:`CodModel`), on a clock the machine moves itself."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import attrs
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import initialize, invariant, precondition, rule

from ledger.book import Ledger
from ledger.chart import Chart
from ledger.commands import (
    CodDelivered,
    CodDeliveryFailed,
    CodRefunded,
    CodReleased,
    CodRemitted,
    CodReturned,
    Command,
    Credit,
    Debit,
    FreezeAccount,
    OpenAccount,
    PayoutMerchant,
    PostEntry,
    ResolveDispute,
    UnfreezeAccount,
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
    MerchantPaidOut,
)
from ledger.policy import CodPolicy
from ledger.results import Accepted, Rejected, Result
from ledger.testing.machine import RetryingMachine
from ledger.testing.models import Refused, refuse_if
from ledger.times import ManualClock, to_us

COURIERS = ["K1", "K2", "K9"]
"""K9's accounts are never opened."""
MERCHANTS = ["M1", "M2", "M9"]
"""M9's accounts are never opened."""
ORDERS = [f"O{i}" for i in range(12)]
FAILING = ORDERS[-3:]
"""Most failed deliveries are of these, so that most orders get delivered."""
BUYER = "wallet:buyer"
CAPITAL_MINOR = 200_000
WEEK = timedelta(days=7)
_CHART = Chart()


def _vat(fee: int, rate_bps: int) -> int:
    """The VAT inside the fee, rounded half up — written out again with fractions."""
    exact = Fraction(fee * rate_bps, 10_000 + rate_bps)
    whole = int(exact)
    return whole + 1 if exact - whole >= Fraction(1, 2) else whole


@attrs.define
class CodOrder:
    """An order in :class:`CodModel`."""

    courier: str | None
    merchant: str | None
    amount: int = 0
    commission: int = 0
    vat: int = 0
    shipping: int = 0
    fee: int = 0
    releasable_us: int = 0
    failed: bool = False
    remitted: bool = False
    stage: str = "pending"
    returned: bool = False
    refunded: bool = False

    @property
    def share(self) -> int:
        return self.amount - self.commission - self.shipping

    @property
    def refund(self) -> int:
        return self.amount - self.shipping


@attrs.define
class CodModel:
    """A plain re-statement of docs/flows/cod.md: what the ledger must answer, each
    account's net debit (debits - credits), each order's state, each courier's shortfalls."""

    opened: set[str] = attrs.field(factory=set)
    net: Counter[str] = attrs.field(factory=Counter)
    orders: dict[str, CodOrder] = attrs.field(factory=dict)
    remittances: set[str] = attrs.field(factory=set)
    shortfalls: Counter[str] = attrs.field(factory=Counter)
    frozen: set[str] = attrs.field(factory=set)
    events: int = 0
    policy: CodPolicy = attrs.field(factory=CodPolicy)

    def balance(self, account: str) -> int:
        """Normal-side balance: assets and expenses debit, the rest credit."""
        kind = account.split(":")[0]
        debit_normal = kind in ("bank", "expense") or account.endswith("receivable")
        return self.net[account] if debit_normal else -self.net[account]

    def _post(self, legs: list[tuple[str, int]]) -> None:
        """Check legs (+ debit, - credit; zeros dropped) as post() does, then apply them."""
        legs = [(a, n) for a, n in legs if n]
        for account, _ in legs:
            refuse_if(account not in self.opened, RejectCode.ACCOUNT_NOT_FOUND)
            refuse_if(account in self.frozen, RejectCode.ACCOUNT_FROZEN)
        after = Counter(self.net)
        for account, n in legs:
            after[account] += n
        guarded = [
            _CHART.bank_trust,
            _CHART.cod_bank,
            *(a for a, _ in legs if a.endswith("receivable")),
        ]
        for account in guarded:
            if account in after and after[account] < min(0, self.net[account]):
                raise Refused(RejectCode.INSUFFICIENT_FUNDS)
        self.net = after

    def _paid_out(self, wallet: str | None, amount: int) -> list[tuple[str, int]]:
        """Out of the COD bank: to a bank, or into a wallet with the cash moved into the
        safeguarded bank trust beside it. A wallet is checked only if anything is paid."""
        if not amount:
            return []
        if wallet is None:
            return [(_CHART.cod_bank, -amount)]
        refuse_if(wallet in self.frozen, RejectCode.ACCOUNT_FROZEN)
        return [(wallet, -amount), (_CHART.bank_trust, amount), (_CHART.cod_bank, -amount)]

    def submit(self, command: Command, now_us: int) -> RejectCode | int:
        """Apply ``command`` if the ledger must accept it (the number of events it
        writes), or the code it must reject it with (the model unchanged)."""
        saved = attrs.evolve(
            self,
            net=Counter(self.net),
            orders={k: attrs.evolve(v) for k, v in self.orders.items()},
            remittances=set(self.remittances),
            shortfalls=Counter(self.shortfalls),
        )
        try:
            written = self._decide(command, now_us)
        except Refused as refused:
            self.net, self.orders = saved.net, saved.orders
            self.remittances, self.shortfalls = saved.remittances, saved.shortfalls
            return refused.code
        self.events += written
        return written

    def _decide(self, c: Command, now_us: int) -> int:
        ch = _CHART
        if isinstance(c, CodDelivered):
            refuse_if(c.commission_minor + c.shipping_minor >= c.amount_minor, _AMOUNT)
            refuse_if(c.shipping_minor + c.courier_fee_minor > c.amount_minor, _AMOUNT)
            refuse_if(c.order in self.orders, RejectCode.ORDER_EXISTS)
            vat = _vat(c.commission_minor, self.policy.vat_rate_bps)
            pending = ch.pending_payable(c.merchant)
            self._post(
                [
                    (ch.cod_receivable(c.courier), c.amount_minor),
                    (pending, -c.amount_minor),
                    (pending, c.commission_minor + c.shipping_minor),
                    (ch.commission_income, -(c.commission_minor - vat)),
                    (ch.vat_output, -vat),
                    (ch.shipping_payable(c.courier), -c.shipping_minor),
                ]
            )
            self.orders[c.order] = CodOrder(
                c.courier,
                c.merchant,
                c.amount_minor,
                c.commission_minor,
                vat,
                c.shipping_minor,
                c.courier_fee_minor,
                now_us + int(self.policy.return_window.total_seconds()) * 1_000_000,
            )
            return 1
        if isinstance(c, CodDeliveryFailed):
            refuse_if(bool(c.rto_fee_minor) and c.merchant is None, RejectCode.FIELD_INVALID)
            refuse_if(c.order in self.orders, RejectCode.ORDER_EXISTS)
            named = [ch.owed_by(c.merchant)] if c.merchant is not None else []
            refuse_if(any(a not in self.opened for a in named), RejectCode.ACCOUNT_NOT_FOUND)
            if c.rto_fee_minor and c.merchant is not None:
                vat = _vat(c.rto_fee_minor, self.policy.vat_rate_bps)
                self._post(
                    [
                        (ch.owed_by(c.merchant), c.rto_fee_minor),
                        (ch.rto_fee_income, -(c.rto_fee_minor - vat)),
                        (ch.vat_output, -vat),
                    ]
                )
            self.orders[c.order] = CodOrder(c.courier, c.merchant, failed=True)
            return 1
        if isinstance(c, CodRemitted):
            refuse_if(not c.orders, RejectCode.FIELD_INVALID)
            refuse_if(c.remittance in self.remittances, RejectCode.REMITTANCE_EXISTS)
            batch = []
            for order_id in c.orders:
                order = self.orders.get(order_id)
                refuse_if(order is None, RejectCode.ORDER_NOT_FOUND)
                assert order is not None
                refuse_if(order.failed, RejectCode.ORDER_NOT_DELIVERED)
                refuse_if(order.courier != c.courier, RejectCode.FIELD_INVALID)
                refuse_if(order.remitted, RejectCode.ORDER_ALREADY_REMITTED)
                batch.append(order)
            cash = sum(o.amount for o in batch)
            shipping = sum(o.shipping for o in batch)
            fees = sum(o.fee for o in batch)
            due = cash - shipping - fees
            refuse_if(c.amount_minor > due, RejectCode.REMITTANCE_EXCEEDS_DUE)
            self._post(
                [
                    (ch.cod_bank, c.amount_minor),
                    (ch.cod_fee_expense, fees),
                    (ch.shipping_payable(c.courier), shipping),
                    (ch.dispute_receivable(c.courier), due - c.amount_minor),
                    (ch.cod_receivable(c.courier), -cash),
                ]
            )
            for order in batch:
                order.remitted = True
            self.remittances.add(c.remittance)
            self.shortfalls[c.courier] += due - c.amount_minor
            return 1 + len(batch)
        if isinstance(c, ResolveDispute):
            into = ch.cod_bank if c.outcome == "recovered" else ch.cod_loss_expense
            self._post(
                [(into, c.amount_minor), (ch.dispute_receivable(c.courier), -c.amount_minor)]
            )
            self.shortfalls[c.courier] -= c.amount_minor
            return 1
        if isinstance(c, CodReleased):
            refuse_if(to_us(c.as_of) > now_us, RejectCode.FIELD_INVALID)
            due_orders = [
                o
                for _, o in sorted(self.orders.items())
                if not o.failed
                and not o.returned
                and o.stage == "pending"
                and (o.remitted or not self.policy.release_after_remittance)
                and o.releasable_us <= to_us(c.as_of)
            ]
            refuse_if(not due_orders, RejectCode.NOTHING_DUE)
            for o in due_orders:
                assert o.merchant is not None
                self._post(
                    [
                        (ch.pending_payable(o.merchant), o.share),
                        (ch.available_payable(o.merchant), -o.share),
                    ]
                )
                o.stage = "available"
            return len(due_orders)
        if isinstance(c, PayoutMerchant):
            refuse_if(c.to not in ("bank", "wallet"), RejectCode.FIELD_INVALID)
            available_id = ch.available_payable(c.merchant)
            refuse_if(available_id not in self.opened, RejectCode.ACCOUNT_NOT_FOUND)
            available = self.balance(available_id)
            refuse_if(available <= 0, RejectCode.NOTHING_DUE)
            owed_id = ch.owed_by(c.merchant)
            netted = min(available, max(0, self.balance(owed_id)))
            wallet = ch.wallet_of(c.merchant) if c.to == "wallet" else None
            self._post(
                [
                    (available_id, available),
                    (owed_id, -netted),
                    *self._paid_out(wallet, available - netted),
                ]
            )
            paid = [
                o
                for o in self.orders.values()
                if o.merchant == c.merchant and o.stage == "available" and not o.returned
            ]
            for o in paid:
                o.stage = "paid_out"
            return 1 + len(paid)
        if isinstance(c, CodReturned):
            order = self.orders.get(c.order)
            refuse_if(order is None, RejectCode.ORDER_NOT_FOUND)
            assert order is not None
            refuse_if(order.failed, RejectCode.ORDER_NOT_DELIVERED)
            refuse_if(order.returned, RejectCode.ORDER_ALREADY_RETURNED)
            assert order.merchant is not None
            m = order.merchant
            source = {
                "pending": ch.pending_payable(m),
                "available": ch.available_payable(m),
                "paid_out": ch.owed_by(m),
            }[order.stage]
            if c.refund_commission:
                taken = [
                    (source, order.share),
                    (ch.commission_income, order.commission - order.vat),
                    (ch.vat_output, order.vat),
                ]
            else:
                taken = [(source, order.share), (ch.owed_by(m), order.commission)]
            self._post([*taken, (ch.refunds_payable, -order.refund)])
            order.returned = True
            return 1
        if isinstance(c, CodRefunded):
            order = self.orders.get(c.order)
            refuse_if(order is None, RejectCode.ORDER_NOT_FOUND)
            assert order is not None
            refuse_if(not order.returned, RejectCode.ORDER_NOT_RETURNED)
            refuse_if(order.refunded, RejectCode.ORDER_ALREADY_REFUNDED)
            self._post(
                [(ch.refunds_payable, order.refund), *self._paid_out(c.wallet, order.refund)]
            )
            order.refunded = True
            return 1
        if isinstance(c, FreezeAccount):
            refuse_if(c.account in self.frozen, RejectCode.ACCOUNT_FROZEN)
            self.frozen.add(c.account)
            return 1
        if isinstance(c, UnfreezeAccount):
            refuse_if(c.account not in self.frozen, RejectCode.ACCOUNT_NOT_FROZEN)
            self.frozen.discard(c.account)
            return 1
        raise AssertionError(f"the COD model does not know {c!r}")


_AMOUNT = RejectCode.AMOUNT_INVALID

# --- the machine ----------------------------------------------------------------------

_START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
_order = st.sampled_from(ORDERS)
_courier = st.sampled_from([*COURIERS[:2] * 6, COURIERS[2]])
_merchant = st.sampled_from([*MERCHANTS[:2] * 6, MERCHANTS[2]])
_cash = st.integers(1, 30).map(lambda k: k * 5_000)
_fee = st.sampled_from([0, 0, 500, 1_000, 2_750])


class CodMachine(RetryingMachine):
    """Random COD lifecycles against :class:`CodModel`, with every invariant of
    docs/flows/cod.md checked after each step; returns at every stage, short remittances,
    retries, a frozen merchant wallet and accounts never opened included. Set ``policy``
    in a subclass to run it under other COD rules."""

    policy = CodPolicy()

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(_START)
        self.book = self.open_ledger(self.clock)
        self.model = CodModel(policy=self.policy)

    def open_ledger(self, clock: ManualClock) -> Ledger:
        """The ledger under test; override to run the machine on another store (opened
        with ``self.policy``)."""
        return Ledger.open(":memory:", clock=clock, cod=self.policy)

    def _submit(self, command: Command) -> Result:
        before = self.book.head()[0]
        expected = self.model.submit(command, self.clock.now_us)
        result = self.book.submit(command)
        event(f"{type(command).__name__}: {getattr(result, 'code', 'accepted')}")
        if isinstance(expected, RejectCode):
            assert isinstance(result, Rejected), (command, result, expected)
            assert result.code is expected, (command, result, expected)
            assert self.book.head()[0] == before, "a rejected command appended"
            self._refused(command, result)
        else:
            assert isinstance(result, Accepted) and not result.replayed, (command, result)
            assert result.seq == before + expected, (command, result, expected)
            self.accepted.append((command, result.seq))
        return result

    @initialize()
    def open_books(self) -> None:
        ch = _CHART
        commands: list[Command] = [
            *ch.system_accounts(cod=True),
            *(c for k in COURIERS[:2] for c in ch.open_courier(k)),
            *(c for m in MERCHANTS[:2] for c in ch.open_cod_merchant(m)),
            ch.open_wallet(BUYER),
            OpenAccount(id="open:equity", account="equity:capital", type="equity", currency="THB"),
        ]
        results = self.book.submit_many(commands)
        assert all(isinstance(r, Accepted) for r in results), results
        self.model.opened = {c.account for c in commands if isinstance(c, OpenAccount)}
        self.model.events = len(commands)
        capital = PostEntry(
            id="capital",
            kind="capital",
            postings=[Debit(ch.cod_bank, CAPITAL_MINOR), Credit("equity:capital", CAPITAL_MINOR)],
        )
        assert isinstance(self.book.submit(capital), Accepted)
        self.model.net[ch.cod_bank] += CAPITAL_MINOR
        self.model.net["equity:capital"] -= CAPITAL_MINOR
        self.model.events += 1

    @initialize(
        first=st.lists(
            st.tuples(st.sampled_from(COURIERS[:2]), st.sampled_from(MERCHANTS[:2]), _cash),
            min_size=1,
            max_size=4,
        )
    )
    def first_deliveries(self, first: list[tuple[str, str, int]]) -> None:
        """A few orders out for delivery from the start, so every run has material."""
        for i, (courier, merchant, amount) in enumerate(first):
            self.deliver(ORDERS[i], courier, merchant, amount * 2, 1_000, 4_000, 500)

    def _pick(self, data: st.DataObject, wanted: list[str], label: str) -> str:
        """Mostly an order from ``wanted`` (the ones a step makes sense for), sometimes
        any order at all, known or not."""
        if wanted and data.draw(st.integers(0, 4), f"{label} wanted") > 0:
            return data.draw(st.sampled_from(sorted(wanted)), label)
        return data.draw(_order, label)

    @rule(by=st.sampled_from([timedelta(hours=5), timedelta(days=1), timedelta(days=3), WEEK]))
    def advance_clock(self, by: timedelta) -> None:
        self.clock.advance(by)

    @rule(
        order=st.sampled_from([o for o in ORDERS if o not in FAILING]),
        courier=_courier,
        merchant=_merchant,
        amount=_cash,
        commission=_fee,
        shipping=st.sampled_from([0, 4_000, 4_000, 9_000]),
        fee=_fee,
    )
    def deliver(
        self, order: str, courier: str, merchant: str, amount: int, commission: int,
        shipping: int, fee: int,
    ) -> None:  # fmt: skip
        self._submit(
            CodDelivered(
                id=self._next_id("deliver"),
                order=order,
                courier=courier,
                merchant=merchant,
                amount_minor=amount,
                commission_minor=commission,
                shipping_minor=shipping,
                courier_fee_minor=fee,
            )
        )

    @rule(
        order=st.sampled_from([*FAILING * 3, *ORDERS]),
        fee=st.sampled_from([0, 0, 3_000]),
        merchant=st.none() | _merchant,
    )
    def fail_delivery(self, order: str, fee: int, merchant: str | None) -> None:
        self._submit(
            CodDeliveryFailed(
                id=self._next_id("failed"), order=order, rto_fee_minor=fee, merchant=merchant
            )
        )

    @rule(
        data=st.data(),
        short=st.sampled_from([0, 0, 0, 1, 2_500, -1, None]),
        reuse=st.sampled_from([False] * 9 + [True]),
    )
    def remit(self, data: st.DataObject, short: int | None, reuse: bool) -> None:
        """Remit some orders: ``short`` 0 exactly, > 0 short by that, -1 one over, None
        nothing at all. Mostly a courier's own outstanding orders; sometimes any."""
        outstanding = {
            o: v
            for o, v in self.model.orders.items()
            if not v.failed and not v.remitted and v.courier is not None
        }
        couriers = sorted({v.courier for v in outstanding.values() if v.courier})
        if couriers and data.draw(st.integers(0, 4), "own orders") > 0:
            courier = data.draw(st.sampled_from(couriers), "courier")
            own = sorted(o for o, v in outstanding.items() if v.courier == courier)
            orders = data.draw(
                st.lists(st.sampled_from(own), min_size=1, max_size=4, unique=True), "orders"
            )
        else:
            courier = data.draw(_courier, "courier")
            orders = data.draw(st.lists(_order, max_size=4, unique=True), "orders")
        known = [self.model.orders[o] for o in orders if o in self.model.orders]
        due = sum(o.amount - o.shipping - o.fee for o in known if not o.failed)
        amount = 0 if short is None else max(0, due - short)
        remittance = (
            sorted(self.model.remittances)[0]
            if reuse and self.model.remittances
            else self._next_id("R")
        )
        self._submit(
            CodRemitted(
                id=self._next_id("remit"),
                remittance=remittance,
                courier=courier,
                orders=orders,
                amount_minor=amount,
            )
        )

    @rule(
        upto=st.sampled_from(["remitted", "released", "paid_out"]),
        short=st.sampled_from([0, 0, 1_000]),
        to=st.sampled_from(["bank", "wallet"]),
    )
    def carry_orders_through(self, upto: str, short: int, to: str) -> None:
        """Every step an outstanding order needs, in order, as a day's operations would
        run them: each courier remits (``short`` less than due), a return window passes
        and orders are released, merchants are paid out. Each step is an ordinary
        submit, checked against the model like any other."""
        for courier in COURIERS[:2]:
            own = sorted(
                o
                for o, v in self.model.orders.items()
                if v.courier == courier and not v.failed and not v.remitted
            )
            if own:
                due = sum(
                    v.amount - v.shipping - v.fee for v in (self.model.orders[o] for o in own)
                )
                self._submit(
                    CodRemitted(
                        id=self._next_id("remit"),
                        remittance=self._next_id("R"),
                        courier=courier,
                        orders=own,
                        amount_minor=max(0, due - short),
                    )
                )
        if upto == "remitted":
            return
        self.clock.advance(WEEK)
        self._submit(CodReleased(id=self._next_id("release"), as_of=self.clock.now))
        if upto == "paid_out":
            for merchant in MERCHANTS[:2]:
                self._submit(PayoutMerchant(id=self._next_id("payout"), merchant=merchant, to=to))

    @precondition(lambda self: not self.policy.release_after_remittance)
    @rule(data=st.data())
    def return_an_order_released_before_its_cash(self, data: st.DataObject) -> None:
        """Only where orders are released before their cash is in: after a release,
        return a released but unremitted order, then remit it and pay its merchant out.
        Its last event is the remittance again, and the payout must still leave it out."""
        self.clock.advance(WEEK)
        self._submit(CodReleased(id=self._next_id("release"), as_of=self.clock.now))
        candidates = sorted(
            o
            for o, v in self.model.orders.items()
            if not v.failed and not v.returned and not v.remitted and v.stage == "available"
        )
        if not candidates:
            return
        order = data.draw(st.sampled_from(candidates), "order")
        v = self.model.orders[order]
        assert v.courier is not None and v.merchant is not None
        self._submit(CodReturned(id=self._next_id("return"), order=order))
        self._submit(
            CodRemitted(
                id=self._next_id("remit"),
                remittance=self._next_id("R"),
                courier=v.courier,
                orders=[order],
                amount_minor=v.amount - v.shipping - v.fee,
            )
        )
        self._submit(PayoutMerchant(id=self._next_id("payout"), merchant=v.merchant))

    @rule(
        data=st.data(),
        part=st.sampled_from([1, 2, 3]),
        outcome=st.sampled_from(["recovered", "written_off"]),
    )
    def resolve_dispute(self, data: st.DataObject, part: int, outcome: str) -> None:
        """Resolve all, half or one more than a courier's open shortfall (mostly of a
        courier that has one)."""
        short = [k for k in COURIERS[:2] if self.model.shortfalls[k]]
        if short and data.draw(st.integers(0, 3), "courier with a shortfall") > 0:
            courier = data.draw(st.sampled_from(short), "courier")
        else:
            courier = data.draw(_courier, "courier")
        open_minor = self.model.shortfalls[courier]
        amount = {1: open_minor, 2: open_minor // 2, 3: open_minor + 1}[part] or 1
        self._submit(
            ResolveDispute(
                id=self._next_id("dispute"), courier=courier, amount_minor=amount, outcome=outcome
            )
        )

    @rule(
        wait=st.sampled_from([timedelta(0), WEEK]),
        back=st.sampled_from([timedelta(0), timedelta(0), timedelta(days=2), timedelta(-1)]),
    )
    def release(self, wait: timedelta, back: timedelta) -> None:
        """Release as of now (or ``back`` before it; a negative ``back`` is the future),
        after waiting out a return window or not."""
        self.clock.advance(wait)
        as_of = self.clock.now - back
        self._submit(CodReleased(id=self._next_id("release"), as_of=as_of))

    @rule(
        data=st.data(),
        to=st.sampled_from(["bank", "wallet", "wallet", "bank", "cash"]),
    )
    def payout(self, data: st.DataObject, to: str) -> None:
        paid = [m for m in MERCHANTS[:2] if self.model.balance(_CHART.available_payable(m))]
        if paid and data.draw(st.integers(0, 3), "merchant with money") > 0:
            merchant = data.draw(st.sampled_from(paid), "merchant")
        else:
            merchant = data.draw(_merchant, "merchant")
        self._submit(PayoutMerchant(id=self._next_id("payout"), merchant=merchant, to=to))

    @rule(data=st.data(), refund_commission=st.booleans())
    def return_order(self, data: st.DataObject, refund_commission: bool) -> None:
        wanted = [o for o, v in self.model.orders.items() if not v.failed and not v.returned]
        order = self._pick(data, wanted, "order")
        if order in wanted:
            event(f"CodReturned at {self.model.orders[order].stage}")
        self._submit(
            CodReturned(
                id=self._next_id("return"), order=order, refund_commission=refund_commission
            )
        )

    @rule(data=st.data(), to_wallet=st.booleans())
    def refund_buyer(self, data: st.DataObject, to_wallet: bool) -> None:
        wanted = [o for o, v in self.model.orders.items() if v.returned and not v.refunded]
        order = self._pick(data, wanted, "order")
        wallet = BUYER if to_wallet else None
        self._submit(CodRefunded(id=self._next_id("refund"), order=order, wallet=wallet))

    @rule(freeze=st.booleans())
    def freeze_merchant_wallet(self, freeze: bool) -> None:
        account = _CHART.wallet_of("M1")
        command = (FreezeAccount if freeze else UnfreezeAccount)(
            id=self._next_id("status"), account=account
        )
        self._submit(command)

    # --- invariants -------------------------------------------------------------------

    def _balance(self, account: str) -> int:
        return self.book.balance(account).balance if account in self.model.opened else 0

    @invariant()
    def balances_match_model(self) -> None:
        for account in sorted(self.model.opened):
            b = self.book.balance(account)
            assert b.debits_posted - b.credits_posted == self.model.net[account], account
            assert (b.debits_pending, b.credits_pending) == (0, 0), account

    @invariant()
    def courier_receivables_follow_the_orders(self) -> None:
        """COD receivable == delivered-not-remitted cash (what went to disputes left it);
        dispute receivable == shortfalls less resolutions; shipping payable == shipping
        of delivered-not-remitted orders."""
        for courier in COURIERS[:2]:
            out = [
                o
                for o in self.model.orders.values()
                if o.courier == courier and not o.failed and not o.remitted
            ]
            assert self._balance(_CHART.cod_receivable(courier)) == sum(o.amount for o in out)
            assert self._balance(_CHART.shipping_payable(courier)) == sum(o.shipping for o in out)
            dispute = self._balance(_CHART.dispute_receivable(courier))
            assert dispute == self.model.shortfalls[courier] >= 0

    @invariant()
    def merchant_payables_follow_the_orders(self) -> None:
        for merchant in MERCHANTS[:2]:
            mine = [
                o
                for o in self.model.orders.values()
                if o.merchant == merchant and not o.failed and not o.returned
            ]
            for stage, account in (
                ("pending", _CHART.pending_payable(merchant)),
                ("available", _CHART.available_payable(merchant)),
            ):
                expected = sum(o.share for o in mine if o.stage == stage)
                assert self._balance(account) == expected >= 0, account
            assert self._balance(_CHART.owed_by(merchant)) >= 0
        owed = sum(o.refund for o in self.model.orders.values() if o.returned and not o.refunded)
        assert self._balance(_CHART.refunds_payable) == owed

    @invariant()
    def the_log_keeps_every_order_moving_forward(self) -> None:
        """Read from the log alone: each order stream starts with its delivery outcome and
        takes each later step at most once, in an order the state machine allows; no
        order is ever in two payouts."""
        streams: dict[str, list[object]] = {}
        paid: Counter[str] = Counter()
        for rec in self.book.events():
            if rec.stream.startswith("order:"):
                versions = streams.setdefault(rec.stream, [])
                assert rec.version == len(versions) + 1, rec
                versions.append(rec.event)
            if isinstance(rec.event, MerchantPaidOut):
                paid.update(rec.event.orders)
        assert all(n == 1 for n in paid.values()), paid
        for stream, events in streams.items():
            kinds = [type(e) for e in events]
            assert kinds[0] in (CodOrderDelivered, CodOrderFailed), stream
            if kinds[0] is CodOrderFailed:
                assert len(kinds) == 1, stream
            counts = Counter(kinds)
            assert all(n == 1 for n in counts.values()), (stream, kinds)
            if CodOrderPaidOut in counts:
                assert kinds.index(CodOrderReleased) < kinds.index(CodOrderPaidOut), kinds
                assert paid[stream.removeprefix("order:")] == 1
            if CodOrderReturned in kinds:
                returned_at = kinds.index(CodOrderReturned)
                assert CodOrderReleased not in kinds[returned_at:], kinds
                assert CodOrderPaidOut not in kinds[returned_at:], kinds
            if CodBuyerRefunded in kinds:
                assert kinds.index(CodOrderReturned) < kinds.index(CodBuyerRefunded), kinds
            if CodOrderReleased in kinds and self.policy.release_after_remittance:
                assert kinds.index(CodOrderRemitted) < kinds.index(CodOrderReleased), kinds
        model_paid = {o for o, v in self.model.orders.items() if v.stage == "paid_out"}
        assert set(paid) == model_paid

    @invariant()
    def wallets_are_safeguarded(self) -> None:
        """COD money becomes e-money only with its cash moved into the bank trust: the
        trust holds exactly what the wallets hold (COD is all that moves money here)."""
        wallets = [BUYER, *(_CHART.wallet_of(m) for m in MERCHANTS[:2])]
        trust = self._balance(_CHART.bank_trust)
        assert trust == sum(self._balance(w) for w in wallets) >= 0

    @invariant()
    def every_currency_sums_to_zero(self) -> None:
        assert sum(self.model.net.values()) == 0
        total = sum(b.debits_posted - b.credits_posted for b in self.book.balances())
        assert total == 0

    @invariant()
    def log_grows_only_by_accepted_commands(self) -> None:
        assert self.book.head()[0] == self.model.events
