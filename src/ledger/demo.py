"""``satang demo``: a seeded, realistic day of an e-wallet, then its reports and an audit.

The story, in the ledger's time zone (Bangkok by default), for day ``D``:

* **Four months before D**: the platform opens its chart (trust bank, fees, COD and
  lending accounts), its convenience-store counters and cash agents, merchants, billers,
  couriers, COD merchants and every customer's wallet, puts every wallet on a KYC tier
  (two traders on ``business``, everyone else on ``basic``) and pays capital into the
  lending and COD banks. The first cohort of micro-loans is disbursed,
  due a month later; it is never repaid (three months past due on D).
* **Two months before D**: a second cohort, due a month before D; half of it is repaid on
  time (those whose wallets hold enough), half is not.
* **A month before D**: every customer tops up by bank; the third cohort of loans, due on
  D.
* **D-9 to D-1**: couriers deliver COD parcels and remit each evening (one comes 100.00
  short on D-2). **D-4**: bookings are held in twenty wallets and never taken up.
* **D**, from midnight to midnight, in ten-minute ticks with a lunch and an evening peak:
  the bookings expire; top-ups at counters and agents, by bank, PromptPay and card;
  merchant payments with a fee; P2P transfers; bill payments; withdrawals; authorisation
  holds, most captured and some released; refunds of the day's payments; COD deliveries
  (a few fail), three returns refunded to the buyer, evening remittances (one courier
  remits 100.00 short), the release of orders past their return window and the
  merchants' payouts; the shortfall of D-2 recovered; loan repayments (most of the third
  cohort pays on its due date, a few of the second pay part, late) and new loans; a
  trader pays 150,000.00 in cash in at a counter, another splits 294,000.00 across three
  counters and compliance freezes that wallet; agents settle their counters' cash at
  21:00 (one does not); the nightly interest accrual and provisioning.

Overdrafts are not prevented by the generator: a payment larger than a wallet holds is
rejected by the ledger, as in production, and counted. Everything is drawn from one
``random.Random(seed)``, so a seed gives the same log, byte for byte, on every machine.
"""

from __future__ import annotations

import calendar
import random
import time
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import attrs

from ledger.book import Ledger
from ledger.commands import (
    AccrueInterest,
    AssignTier,
    CaptureHold,
    CodDelivered,
    CodDeliveryFailed,
    CodRefunded,
    CodReleased,
    CodRemitted,
    CodReturned,
    Command,
    Credit,
    Debit,
    DefineTier,
    DisburseLoan,
    ExpireHolds,
    FreezeAccount,
    OpenAccount,
    Pay,
    PayBill,
    PayoutMerchant,
    PlaceHold,
    PostEntry,
    ProvisionLoans,
    Refund,
    ReleaseHold,
    RepayLoan,
    ResolveDispute,
    SettleAgent,
    TopUp,
    Transfer,
    Withdraw,
)
from ledger.results import Accepted, Rejected
from ledger.times import ManualClock

TICK = timedelta(minutes=10)
BATCH = 500
"""Commands per ``submit_many``: one durable transaction each."""

HOURLY_WEIGHT = (1, 1, 1, 1, 1, 2, 4, 7, 9, 9, 9, 11, 14, 12, 9, 8, 9, 11, 14, 15, 13, 9, 5, 2)
"""How busy each hour of the day is, relative to the others (lunch and evening peaks)."""

BILLERS = ("MEA", "PEA", "MWA", "TRUE", "AIS")

DEMO_MARK = "satang-demo:capital"
"""The command id of the demo's paid-in capital: a ledger holding it was written by the
demo, so ``satang demo --overwrite`` may replace it (and nothing else)."""


@attrs.frozen
class DemoSize:
    """How big the demo's platform is. The defaults are a small city's wallet on a
    weekday: about 17,000 commands on the day itself. The story needs at least 40
    customers (twenty of them hold the expiring bookings), three counters (the split cash)
    and no more loans than half the customers."""

    customers: int = attrs.field(default=5_000, validator=attrs.validators.ge(40))
    merchants: int = attrs.field(default=80, validator=attrs.validators.ge(1))
    agents: int = attrs.field(default=40, validator=attrs.validators.ge(3))
    couriers: int = attrs.field(default=6, validator=attrs.validators.ge(1))
    cod_merchants: int = attrs.field(default=12, validator=attrs.validators.ge(1))
    cod_orders_per_day: int = attrs.field(default=600, validator=attrs.validators.ge(10))
    loans: int = attrs.field(default=400, validator=attrs.validators.ge(10))

    def __attrs_post_init__(self) -> None:
        if self.loans > self.customers // 2:
            raise ValueError(
                f"{self.loans} loans for {self.customers} customers: at most one loan for "
                "every two customers"
            )

    @property
    def activity(self) -> int:
        """Customer-initiated operations on the day: three per customer."""
        return 3 * self.customers


@attrs.define
class DemoOutcome:
    """What the demo did: commands by kind, accepted and rejected, and how long it took."""

    day: date
    history: Counter[str] = attrs.field(factory=Counter)
    """Commands accepted before the day (the accounts, the loans, the COD week), by kind."""
    submitted: Counter[str] = attrs.field(factory=Counter)
    """Commands of the day, by kind."""
    accepted: Counter[str] = attrs.field(factory=Counter)
    rejected: Counter[str] = attrs.field(factory=Counter)
    """Commands of the day rejected, by rejection code."""
    seconds: float = 0.0


Progress = Callable[[datetime, int, int], None]
"""Called after each tick of the day with the clock, the ticks done and the ticks of the
day."""


def day_ticks(day: date, zone: ZoneInfo) -> list[datetime]:
    """The day's ticks in local time, ten minutes apart in real time from local midnight
    to the next: 144 on most days, fewer or more on a daylight-saving change."""
    start = datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)
    following = day + timedelta(days=1)
    end = datetime(following.year, following.month, following.day, tzinfo=zone).astimezone(UTC)
    count = (end - start) // TICK
    return [(start + n * TICK).astimezone(zone) for n in range(count)]


def run_demo(
    path: str | Path,
    *,
    seed: int = 1,
    size: DemoSize | None = None,
    day: date = date(2026, 12, 1),
    timezone: str = "Asia/Bangkok",
    progress: Progress | None = None,
) -> DemoOutcome:
    """Write the story above for ``day`` into a new SQLite ledger at ``path``."""
    if Path(path).exists() and Path(path).stat().st_size:
        raise FileExistsError(f"{path} exists; the demo writes a new ledger")
    zone = ZoneInfo(timezone)
    start = months_before(day, 4)
    clock = ManualClock(datetime(start.year, start.month, start.day, tzinfo=zone))
    started = time.perf_counter()
    with Ledger.open(path, clock=clock, timezone=timezone) as book:
        story = _Story(book, clock, random.Random(seed), size or DemoSize(), day, zone)
        story.history()
        story.the_day(progress)
    story.outcome.seconds = time.perf_counter() - started
    return story.outcome


def months_before(day: date, months: int) -> date:
    """The same day of the month ``months`` months earlier (later if negative), or the
    month's last day if it is shorter: the loans' monthly due dates."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _kind(command: Command) -> str:
    name = type(command).__name__
    if isinstance(command, TopUp):
        return f"{name} ({command.channel})"
    return name


class _Story:
    def __init__(
        self,
        book: Ledger,
        clock: ManualClock,
        rng: random.Random,
        size: DemoSize,
        day: date,
        zone: ZoneInfo,
    ) -> None:
        self.book, self.clock, self.rng, self.size = book, clock, rng, size
        self.day, self.zone = day, zone
        self.chart = book.chart
        self.outcome = DemoOutcome(day=day)
        self.customers = [f"wallet:C{n:05}" for n in range(1, size.customers + 1)]
        self.merchants = [f"M{n:03}" for n in range(1, size.merchants + 1)]
        self.agents = [f"A{n:03}" for n in range(1, size.agents + 1)]
        self.couriers = [f"K{n}" for n in range(1, size.couriers + 1)]
        self.cod_merchants = [f"S{n:02}" for n in range(1, size.cod_merchants + 1)]
        self.payments: list[tuple[str, int]] = []
        """Accepted payments of the day: (command id, amount)."""
        self.holds: list[tuple[datetime, str, int]] = []
        """Holds placed and not yet settled: (settle at, hold, amount)."""
        self.delivered: dict[tuple[date, str], list[tuple[str, int]]] = {}
        """Orders delivered: (day, courier) -> [(order, what the courier owes)]."""
        self.counter_cash: Counter[str] = Counter()
        """Cash each agent took over the counter today."""
        self.serial = 0

    # --- the machinery -----------------------------------------------------------------

    def at(self, day: date, hour: int = 0, minute: int = 0) -> datetime:
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.zone)

    def next_id(self, prefix: str) -> str:
        self.serial += 1
        return f"{prefix}-{self.serial:07}"

    def submit(self, when: datetime, commands: Sequence[Command]) -> list[Accepted | Rejected]:
        """Submit ``commands`` at ``when`` (the clock never goes back), in durable batches;
        count them by kind and rejection code."""
        if when.astimezone(UTC) > self.clock.now.astimezone(UTC):
            self.clock.now = when
        results: list[Accepted | Rejected] = []
        for start in range(0, len(commands), BATCH):
            results += self.book.submit_many(commands[start : start + BATCH])
        out = self.outcome
        for command, result in zip(commands, results, strict=True):
            kind = _kind(command)
            if when.astimezone(UTC) < self.at(self.day).astimezone(UTC):
                out.history[kind] += isinstance(result, Accepted)
                continue
            out.submitted[kind] += 1
            if isinstance(result, Accepted):
                out.accepted[kind] += 1
            else:
                out.rejected[result.code] += 1
        return results

    def accept(self, when: datetime, commands: Sequence[Command]) -> None:
        """Submit commands the story needs to succeed (its set-up and its schedule)."""
        for command, result in zip(commands, self.submit(when, commands), strict=True):
            if not isinstance(result, Accepted):
                raise RuntimeError(f"demo: {command!r} was rejected: {result}")

    def amount(self, low: int, high: int) -> int:
        """A whole-baht amount between ``low`` and ``high`` baht, log-uniform (small ones
        are common, large ones rare), in satang."""
        baht: float = low * (high / low) ** self.rng.random()
        return round(baht) * 100

    # --- before the day ----------------------------------------------------------------

    def history(self) -> None:
        chart, day, size = self.chart, self.day, self.size
        opened = self.at(months_before(day, 4), 8)
        self.clock.now = opened
        for result in self.book.open_chart(cod=True, loans=True):
            if not isinstance(result, Accepted):
                raise RuntimeError(f"demo: the chart did not open: {result}")
        accounts: list[Command] = [
            *(chart.open_agent(a) for a in self.agents),
            *(chart.open_merchant(m) for m in self.merchants),
            *(chart.open_biller(b) for b in BILLERS),
            *(c for k in self.couriers for c in chart.open_courier(k)),
            *(c for m in self.cod_merchants for c in chart.open_cod_merchant(m)),
            *(chart.open_wallet(w) for w in self.customers),
            OpenAccount(
                id="open:equity:capital", account="equity:capital", type="equity", currency="THB"
            ),
        ]
        capital_lending = size.loans * 1_500_000
        capital_cod = size.cod_orders_per_day * 100_000
        accounts.append(
            PostEntry(
                id=DEMO_MARK,
                kind="capital",
                postings=[
                    Debit(chart.loan_bank, capital_lending),
                    Debit(chart.cod_bank, capital_cod),
                    Credit("equity:capital", capital_lending + capital_cod),
                ],
                memo="paid-in capital",
            )
        )
        self.accept(opened, accounts)
        self.accept(
            opened,
            [
                DefineTier(
                    id="tier-basic",
                    tier="basic",
                    max_balance_minor=10_000_000,
                    per_transaction_max_minor=None,
                    daily_outflow_max_minor=10_000_000,
                    monthly_outflow_max_minor=None,
                ),
                DefineTier(
                    id="tier-business",
                    tier="business",
                    max_balance_minor=None,
                    per_transaction_max_minor=None,
                    daily_outflow_max_minor=None,
                    monthly_outflow_max_minor=None,
                ),
                *(
                    AssignTier(
                        id=f"tier-{w.removeprefix('wallet:')}",
                        wallet=w,
                        tier="business" if n in (1, 2) else "basic",
                    )
                    for n, w in enumerate(self.customers)
                ),
            ],
        )
        borrowers = self.rng.sample(self.customers, size.loans)
        first, second = size.loans // 20, size.loans // 10
        self.cohorts = (
            borrowers[:first],
            borrowers[first : first + second],
            borrowers[first + second :],
        )
        self.disburse(self.at(months_before(day, 4), 10), self.cohorts[0], months_before(day, 3))
        self.disburse(self.at(months_before(day, 2), 10), self.cohorts[1], months_before(day, 1))
        self.accept(
            self.at(months_before(day, 1), 9),
            [
                TopUp(
                    id=f"opening-{w.removeprefix('wallet:')}",
                    wallet=w,
                    amount_minor=self.amount(200, 20_000),
                    channel="bank",
                )
                for w in self.customers
            ],
        )
        on_time = self.cohorts[1][: len(self.cohorts[1]) // 2]
        self.submit(  # a borrower whose wallet is short is rejected, and is late
            self.at(months_before(day, 1), 9, 30),
            [self.repayment(w, "in full") for w in on_time],
        )
        self.disburse(self.at(months_before(day, 1), 10), self.cohorts[2], day)
        for back in range(9, 0, -1):
            past = day - timedelta(days=back)
            orders = [self.delivery(past) for _ in range(size.cod_orders_per_day)]
            self.accept(self.at(past, 17), orders)
            short = self.couriers[-1] if back == 2 else None
            self.accept(self.at(past, 19), self.remittances(past, short=short))
        held = self.at(day - timedelta(days=4), 20)
        self.accept(  # bookings never taken up: the nightly job expires them on D
            held,
            [
                PlaceHold(
                    id=f"place-booking-{n}",
                    hold=f"booking-{n}",
                    wallet=wallet,
                    destination=self.chart.merchant(self.merchants[0]),
                    amount_minor=15_000,
                    expires_at=held + timedelta(days=3),
                )
                for n, wallet in enumerate(self.customers[10:30])
            ],
        )

    def loan_of(self, wallet: str) -> str:
        return f"L-{wallet.removeprefix('wallet:')}"

    def disburse(self, when: datetime, wallets: Sequence[str], due: date) -> None:
        commands: list[Command] = [
            DisburseLoan(
                id=f"disburse-{self.loan_of(w)}-{when.date()}",
                loan=self.loan_of(w) if due <= self.day else f"{self.loan_of(w)}-2",
                borrower=w.removeprefix("wallet:"),
                wallet=w,
                principal_minor=self.amount(1_000, 20_000),
                annual_rate_bps=self.rng.choice((1_500, 2_000, 2_500, 2_800)),
                installments=1,
                first_due=due,
            )
            for w in wallets
        ]
        self.accept(when, commands)

    def repayment(self, wallet: str, how: str) -> RepayLoan:
        """Repay the loan of ``wallet``: its first installment ``in full``, or ``part`` of
        its principal."""
        loan = self.book.loan(self.loan_of(wallet))
        part = loan.parts[0]
        amount = (
            part.principal_minor + part.interest_minor
            if how == "in full"
            else part.principal_minor // 2
        )
        return RepayLoan(id=self.next_id("repay"), loan=loan.loan, amount_minor=amount)

    def delivery(self, day: date) -> Command:
        courier = self.rng.choice(self.couriers)
        order = self.next_id("order")
        merchant = self.rng.choice(self.cod_merchants)
        if self.rng.random() < 0.04:  # nobody home, refused at the door
            return CodDeliveryFailed(
                id=f"fail-{order}",
                order=order,
                courier=courier,
                merchant=merchant,
                rto_fee_minor=3_000,
            )
        cash = self.amount(150, 5_000)
        commission, shipping, fee = cash * 5 // 100, 4_000, 1_000
        self.delivered.setdefault((day, courier), []).append((order, cash - shipping - fee))
        return CodDelivered(
            id=f"deliver-{order}",
            order=order,
            courier=courier,
            merchant=merchant,
            amount_minor=cash,
            commission_minor=commission,
            shipping_minor=shipping,
            courier_fee_minor=fee,
        )

    def remittances(self, day: date, short: str | None) -> list[Command]:
        """Each courier's remittance for the orders it delivered on ``day``; ``short``
        remits 100.00 less than it owes."""
        commands: list[Command] = []
        for courier in self.couriers:
            orders = self.delivered.get((day, courier), [])
            if orders:
                owed = sum(amount for _, amount in orders)
                commands.append(
                    CodRemitted(
                        id=f"remit-{courier}-{day}",
                        remittance=f"{courier}-{day}",
                        courier=courier,
                        orders=[order for order, _ in orders],
                        amount_minor=owed - (10_000 if courier == short else 0),
                    )
                )
        return commands

    # --- the day -----------------------------------------------------------------------

    def the_day(self, progress: Progress | None) -> None:
        rng, day = self.rng, self.day
        times = day_ticks(day, self.zone)
        ticks = len(times)
        weights = [HOURLY_WEIGHT[t.hour] for t in times]
        per_tick = Counter(rng.choices(range(ticks), weights=weights, k=self.size.activity))
        open_hours = [n for n, t in enumerate(times) if 9 <= t.hour < 18]
        cod_ticks = Counter(rng.choices(open_hours, k=self.size.cod_orders_per_day))
        repaying = [w for w in self.cohorts[2] if rng.random() < 0.8]
        waking = [n for n, t in enumerate(times) if 8 <= t.hour < 22]
        repay_ticks = Counter(rng.choices(waking, k=len(repaying)))
        late = self.cohorts[1][len(self.cohorts[1]) // 2 :][:3]
        returned = self.delivered.get((day - timedelta(days=3), self.couriers[0]), [])[:3]
        new_loans = rng.sample(
            [w for w in self.customers if w not in set(self.cohorts[2])], self.size.loans // 20
        )
        for tick, when in enumerate(times):
            commands: list[Command] = [self.settled_hold(hold) for hold in self.due_holds(when)]
            commands += [self.activity(when) for _ in range(per_tick[tick])]
            commands += [self.delivery(day) for _ in range(cod_ticks[tick])]
            commands += [
                self.repayment(repaying.pop(), "in full") for _ in range(repay_ticks[tick])
            ]
            if when.hour == 12 and when.minute == 0:
                commands += [self.repayment(w, "part") for w in late]
                commands += [o for order, _ in returned for o in self.returned(order)]
            if when.hour == 10 and when.minute == 0:  # the short of two days ago, repaid
                commands.append(
                    ResolveDispute(
                        id=f"dispute-{self.couriers[-1]}-{day}",
                        courier=self.couriers[-1],
                        amount_minor=10_000,
                        outcome="recovered",
                    )
                )
            if when.hour == 11 and when.minute == 0:
                commands += self.cash_stories()
            if when.hour == 15 and when.minute == 0:  # compliance reviews the split cash
                commands.append(
                    FreezeAccount(
                        id=f"freeze-{self.customers[2]}",
                        account=self.customers[2],
                        reason="structuring under review",
                    )
                )
            if when.hour == 14 and when.minute == 0:
                self.disburse(when, new_loans, months_before(day, -1))
            if when.hour == 19 and when.minute == 0:
                commands += self.remittances(day, short=self.couriers[-1])
            if when.hour == 20 and when.minute == 0:
                commands.append(CodReleased(id=f"release-{day}", as_of=when))
            if when.hour == 20 and when.minute == 30:
                commands += [
                    PayoutMerchant(id=f"payout-{m}-{day}", merchant=m) for m in self.cod_merchants
                ]
            if when.hour == 21 and when.minute == 0:
                commands += [
                    SettleAgent(id=f"settle-{a}-{day}", agent=a, amount_minor=cash)
                    for a, cash in sorted(self.counter_cash.items())[1:]  # the first one is late
                ]
            if when.hour == 0 and when.minute == 10:
                commands.append(ExpireHolds(id=f"expire-{day}", as_of=when))
            if when.hour == 23 and when.minute == 0:
                commands.append(AccrueInterest(id=f"accrue-{day}", as_of=day))
            if when.hour == 23 and when.minute == 10:
                commands.append(ProvisionLoans(id=f"provision-{day}", as_of=day))
            results = self.submit(when, commands)
            self.remember(commands, results, when)
            if progress is not None:
                progress(when, tick + 1, ticks)
        self.clock.now = self.at(day, 23, 59)

    def cash_stories(self) -> list[Command]:
        """What the AML report is for: a trader pays 150,000.00 in cash in at one counter
        (over the 100,000.00 threshold), and another splits 294,000.00 into three payments
        at three counters, each just under it."""
        trader, splitter = self.customers[1], self.customers[2]
        big = [(trader, self.agents[0], 15_000_000)]
        split = [(splitter, agent, 9_800_000) for agent in self.agents[:3]]
        return [
            TopUp(
                id=self.next_id("topup"),
                wallet=wallet,
                amount_minor=amount,
                channel="counter",
                funding_account=self.chart.agent(agent),
                fee_minor=1_500,
            )
            for wallet, agent, amount in big + split
        ]

    def returned(self, order: str) -> list[Command]:
        return [
            CodReturned(id=f"return-{order}", order=order),
            CodRefunded(id=f"refund-{order}", order=order),
        ]

    def due_holds(self, when: datetime) -> list[tuple[datetime, str, int]]:
        """The holds whose ride or stay ends by ``when``, taken off the open list."""
        due = [h for h in self.holds if h[0] <= when]
        self.holds = [h for h in self.holds if h[0] > when]
        return due

    def settled_hold(self, held: tuple[datetime, str, int]) -> Command:
        _, hold, amount = held
        if self.rng.random() < 0.2:  # the ride was cancelled, the room not taken
            return ReleaseHold(id=f"release-{hold}", hold=hold)
        final = amount if self.rng.random() < 0.6 else amount * self.rng.randint(60, 99) // 100
        return CaptureHold(id=f"capture-{hold}", hold=hold, amount_minor=final)

    def activity(self, when: datetime) -> Command:
        """One customer's operation, drawn from the day's mix."""
        rng, chart = self.rng, self.chart
        wallet = rng.choice(self.customers)
        roll = rng.random()
        if roll < 0.18:
            channel = rng.choices(("counter", "bank", "promptpay", "card"), (45, 25, 20, 10))[0]
            amount = self.amount(100, 5_000)
            if channel == "counter":
                agent = rng.choice(self.agents)
                return TopUp(
                    id=self.next_id("topup"),
                    wallet=wallet,
                    amount_minor=amount,
                    channel="counter",
                    funding_account=chart.agent(agent),
                    fee_minor=1_500,
                )
            fee = amount * 2 // 100 if channel == "card" else 0
            return TopUp(
                id=self.next_id("topup"),
                wallet=wallet,
                amount_minor=amount,
                channel=channel,
                fee_minor=fee,
            )
        if roll < 0.58:
            amount = self.amount(20, 3_000)
            return Pay(
                id=self.next_id("pay"),
                wallet=wallet,
                merchant=rng.choice(self.merchants),
                amount_minor=amount,
                fee_minor=amount * 15 // 1_000,
            )
        if roll < 0.60 and self.payments:
            payment, paid = self.payments.pop(rng.randrange(len(self.payments)))
            part = paid if rng.random() < 0.5 else paid * rng.randint(10, 90) // 100
            return Refund(id=f"refund-{payment}", payment=payment, amount_minor=part or paid)
        if roll < 0.75:
            friend = rng.choice(self.customers[:-1])
            return Transfer(
                id=self.next_id("p2p"),
                source=wallet,
                destination=friend if friend != wallet else self.customers[-1],
                amount_minor=self.amount(20, 5_000),
            )
        if roll < 0.83:
            return PayBill(
                id=self.next_id("bill"),
                wallet=wallet,
                biller=rng.choice(BILLERS),
                bill_reference=f"INV-{rng.randrange(10**8):08}",
                amount_minor=self.amount(100, 3_000),
                fee_minor=1_000 if rng.random() < 0.3 else 0,
            )
        if roll < 0.89:
            return Withdraw(
                id=self.next_id("withdraw"),
                wallet=wallet,
                amount_minor=self.amount(500, 10_000),
                fee_minor=rng.choice((0, 0, 1_000)),
            )
        hold = self.next_id("hold")
        return PlaceHold(
            id=f"place-{hold}",
            hold=hold,
            wallet=wallet,
            destination=chart.merchant(rng.choice(self.merchants)),
            amount_minor=self.amount(50, 3_000),
            expires_at=when + timedelta(days=3),
        )

    def remember(
        self, commands: Sequence[Command], results: Sequence[Accepted | Rejected], when: datetime
    ) -> None:
        """Keep what later ticks act on: payments to refund, holds to settle, counter cash."""
        for command, result in zip(commands, results, strict=True):
            if not isinstance(result, Accepted):
                continue
            if isinstance(command, Pay):
                self.payments.append((command.id, command.amount_minor))
            elif isinstance(command, PlaceHold):
                settle = when + timedelta(minutes=self.rng.randint(20, 240))
                self.holds.append((settle, command.hold, command.amount_minor))
            elif isinstance(command, TopUp) and command.funding_account is not None:
                agent = self.chart.agent_of(command.funding_account)
                if agent is not None:
                    self.counter_cash[agent] += command.amount_minor
