"""Two OS processes race on the same COD orders in one SQLite file.

Both processes, in different orders, try to remit every order (each in a remittance of
its own), return every order, and now and then release orders and pay the merchant out.
Each step of an order is the order stream's next version, so whatever the interleaving:
every order is remitted exactly once and returned exactly once, no order is paid out
twice, the courier owes nothing at the end, and the log says what the processes were told.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger import (
    Accepted,
    CodDelivered,
    CodPolicy,
    CodReleased,
    CodRemitted,
    CodReturned,
    Ledger,
    PayoutMerchant,
    RejectCode,
)
from ledger.audit import verify
from ledger.events import CodOrderPaidOut, MerchantPaidOut
from ledger.state.cod import fold_order
from tests.races import open_racer, pause, race

pytestmark = pytest.mark.slow  # processes racing on one file: `make test` runs them

ORDERS = 40
AMOUNT_MINOR = 100_000
SHARE_MINOR = 100_000 - 5_000 - 4_000
DUE_MINOR = 100_000 - 4_000 - 1_000
NO_WINDOW = CodPolicy(return_window=timedelta(0))
"""Orders are releasable at once, so releases and payouts race with the rest."""


def _setup(path: Path) -> None:
    with Ledger.open(path, cod=NO_WINDOW) as book:
        chart = book.chart
        results = book.open_chart(cod=True)
        results += book.submit_many([*chart.open_courier("K1"), *chart.open_cod_merchant("M1")])
        results += book.submit_many(
            CodDelivered(
                id=f"deliver-O{i}",
                order=f"O{i}",
                courier="K1",
                merchant="M1",
                amount_minor=AMOUNT_MINOR,
                commission_minor=5_000,
                shipping_minor=4_000,
                courier_fee_minor=1_000,
            )
            for i in range(ORDERS)
        )
        assert all(isinstance(r, Accepted) for r in results), results


def _work(book: Ledger, name: str, seed: int) -> list[tuple[str, str, str]]:
    """(command id, what, outcome) for every command this process sent."""
    rng = random.Random(seed)
    orders = [f"O{i}" for i in range(ORDERS)]
    random.Random(7).shuffle(orders)
    if name == "b":  # from the other end: they meet in the middle, however fast each is
        orders.reverse()
    answers = []
    for n, order in enumerate(orders):
        remit = CodRemitted(
            id=f"{name}-remit-{order}",
            remittance=f"{name}-{order}",
            courier="K1",
            orders=[order],
            amount_minor=DUE_MINOR,
        )
        ret = CodReturned(id=f"{name}-return-{order}", order=order, refund_commission=name == "a")
        steps = [remit, ret] if rng.random() < 0.5 else [ret, remit]
        if n % 5 == 4:
            steps += [
                CodReleased(id=f"{name}-release-{n}", as_of=datetime.now(UTC)),
                PayoutMerchant(id=f"{name}-payout-{n}", merchant="M1"),
            ]
        for command in steps:
            result = book.submit(command)
            outcome = "accepted" if isinstance(result, Accepted) else str(result.code)
            if isinstance(result, Accepted):
                assert not result.replayed
            answers.append((command.id, type(command).__name__, outcome))
            pause(rng)
    return answers


def test_two_processes_never_take_an_order_through_a_step_twice(tmp_path: Path) -> None:
    # A run proves the most when both processes won steps (they really interleaved); on a
    # loaded machine one may be starved until the other is done, so up to three runs
    # are made to see that, and every run must keep every other check.
    runs: list[bool] = []
    while len(runs) < 3 and not any(runs):
        runs.append(_race_once(tmp_path / f"cod-{len(runs)}.db"))
    assert runs[-1], f"no real race happened in {len(runs)} runs"


def _race_once(path: Path) -> bool:
    """One race on a fresh file, checked; True if both processes won steps of both kinds."""
    _setup(path)
    reports = race(_work, path, (1, 2), cod=NO_WINDOW)
    answers = [answer for _, report in reports for answer in report]
    by_what: dict[str, list[tuple[str, str]]] = {}
    for command_id, what, outcome in answers:
        by_what.setdefault(what, []).append((command_id, outcome))
    allowed = {
        "CodRemitted": {"accepted", RejectCode.ORDER_ALREADY_REMITTED},
        "CodReturned": {"accepted", RejectCode.ORDER_ALREADY_RETURNED},
        "CodReleased": {"accepted", RejectCode.NOTHING_DUE},
        "PayoutMerchant": {"accepted", RejectCode.NOTHING_DUE},
    }
    for what, found in by_what.items():
        assert {outcome for _, outcome in found} <= allowed[what], (what, found)
    # one remittance and one return accepted per order, won by both processes in turn
    winners = set()
    for what in ("CodRemitted", "CodReturned"):
        won = [cid for cid, outcome in by_what[what] if outcome == "accepted"]
        assert sorted(cid.split("-", 2)[2] for cid in won) == sorted(f"O{i}" for i in range(ORDERS))
        winners.add(frozenset(cid[0] for cid in won))
    told = {cid for cid, _, outcome in answers if outcome == "accepted"}

    with open_racer(str(path)) as book:
        streams: dict[str, list[object]] = {}
        written: set[str] = set()
        paid_out: list[str] = []
        for rec in book.events():
            if rec.command_id.split("-")[0] in ("a", "b"):
                written.add(rec.command_id)
            if rec.stream.startswith("order:"):
                assert rec.version == len(streams.setdefault(rec.stream, [])) + 1, rec
                streams[rec.stream].append(rec.event)
            if isinstance(rec.event, MerchantPaidOut):
                paid_out += rec.event.orders
            if isinstance(rec.event, CodOrderPaidOut):
                assert rec.event.order in paid_out
        assert written == told, "the log holds exactly what the processes were told"
        assert len(paid_out) == len(set(paid_out)), "an order was paid out twice"
        orders = [fold_order(s.removeprefix("order:"), e) for s, e in streams.items()]
        assert all(o is not None and o.remitted and o.returned for o in orders)
        chart = book.chart
        assert book.balance(chart.cod_receivable("K1")).balance == 0
        assert book.balance(chart.dispute_receivable("K1")).balance == 0
        assert book.balance(chart.shipping_payable("K1")).balance == 0
        assert book.balance(chart.refunds_payable).balance == ORDERS * (AMOUNT_MINOR - 4_000)
        # every order was returned: what the merchant was paid for any order it now owes
        paid_minor = sum(
            rec.event.available_minor
            for rec in book.events()
            if isinstance(rec.event, MerchantPaidOut)
        )
        assert paid_minor == len(paid_out) * SHARE_MINOR
        assert book.balance(chart.pending_payable("M1")).balance == 0
        assert book.balance(chart.available_payable("M1")).balance == 0
        report = verify(book)
        assert report.ok, report.findings
    return winners == {frozenset("ab")}
