"""Two OS processes race on the wallet flows' own state in one SQLite file.

* Holds: both processes try to capture *and* release every pending hold, in different
  orders. A hold ends exactly once (its stream's version 2), so for each hold exactly one
  of the four commands is accepted, and the money posted is what that one command says.
* Refunds: both processes refund one payment in many pieces at once, and both send some
  of the same refund ids. Each refund decides on the running refunded total (the
  payment stream's versions), so the total never passes the payment, and a refund id
  sent by both posts once.

Each process reports what ``submit`` answered, outside the library; the test compares
those answers with the log.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ledger import (
    Accepted,
    CaptureHold,
    Ledger,
    Pay,
    PlaceHold,
    Refund,
    RejectCode,
    Rejected,
    ReleaseHold,
    TopUp,
)
from ledger.audit import verify
from ledger.events import HoldCaptured, HoldPlaced, HoldReleased, PaymentMade, Refunded
from tests.races import open_racer, pause, race

pytestmark = pytest.mark.slow  # processes racing on one file: `make test` runs them

WALLET = "wallet:racer"
MERCHANT = "M1"
HOLDS = 60
HOLD_MINOR = 10_000
PAYMENT_MINOR = 100_000
PAYMENT_FEE_MINOR = 1_750
OWN_REFUNDS = 40
SHARED_REFUNDS = 12


def _setup(path: Path) -> Ledger:
    book = Ledger.open(path)
    chart = book.chart
    results = book.open_chart()
    results += book.submit_many([chart.open_wallet(WALLET), chart.open_merchant(MERCHANT)])
    results.append(
        book.submit(TopUp(id="fund", wallet=WALLET, amount_minor=10_000_000, channel="bank"))
    )
    assert all(isinstance(r, Accepted) for r in results), results
    return book


# --- holds ----------------------------------------------------------------------------


def _partial(hold: str) -> int:
    """What process b captures of a hold (a captures it whole): a little less, per hold."""
    return HOLD_MINOR - 1 - int(hold.removeprefix("hold:").removeprefix("h"))


def _end_holds(book: Ledger, name: str, seed: int) -> list[tuple[str, str, str, str]]:
    """Try to capture and release every hold; (hold, command id, what, outcome) for each."""
    rng = random.Random(seed)
    order = list(range(HOLDS))
    if name == "b":
        rng.shuffle(order)
    answers = []
    for i in order:
        hold = f"h{i}"
        capture = CaptureHold(
            id=f"{name}-cap-{hold}",
            hold=hold,
            amount_minor=None if name == "a" else _partial(hold),
        )
        release = ReleaseHold(id=f"{name}-rel-{hold}", hold=hold)
        pair = [capture, release] if (name == "a") == (i % 2 == 0) else [release, capture]
        for command in pair:
            result = book.submit(command)
            what = "capture" if isinstance(command, CaptureHold) else "release"
            outcome = "accepted" if isinstance(result, Accepted) else str(result.code)
            answers.append((hold, command.id, what, outcome))
            pause(rng)
    return answers


def test_a_hold_ends_once_when_two_processes_capture_and_release_it(tmp_path: Path) -> None:
    path = tmp_path / "holds.db"
    with _setup(path) as book:
        expires_at = datetime.now(UTC) + timedelta(days=1)
        placed = book.submit_many(
            PlaceHold(
                id=f"place-h{i}",
                hold=f"h{i}",
                wallet=WALLET,
                destination=book.chart.merchant(MERCHANT),
                amount_minor=HOLD_MINOR,
                expires_at=expires_at,
            )
            for i in range(HOLDS)
        )
        assert all(isinstance(r, Accepted) for r in placed), placed
        before = book.balance(WALLET)
        assert before.debits_pending == HOLDS * HOLD_MINOR

    reports = race(_end_holds, path, (1, 2))
    answers = [answer for _, report in reports for answer in report]
    assert len(answers) == 2 * 2 * HOLDS
    accepted: dict[str, list[tuple[str, str]]] = {}
    for hold, command_id, what, outcome in answers:
        if outcome == "accepted":
            accepted.setdefault(hold, []).append((command_id, what))
        else:
            assert outcome == RejectCode.HOLD_NOT_PENDING, (hold, command_id, outcome)
    # Exactly one of the four commands aimed at each hold was accepted: never a capture
    # and a release of one hold, never two captures.
    assert sorted(accepted) == sorted(f"h{i}" for i in range(HOLDS))
    assert all(len(winners) == 1 for winners in accepted.values()), accepted
    kinds = {what for [(_, what)] in accepted.values()}
    winners = {command_id[0] for [(command_id, _)] in accepted.values()}
    assert kinds == {"capture", "release"} and winners == {"a", "b"}, "no real race happened"

    with open_racer(str(path)) as book:
        captured_minor = 0
        final_by: dict[str, str] = {}
        for rec in book.events():
            if rec.stream.startswith("hold:"):
                if rec.version == 1:
                    assert isinstance(rec.event, HoldPlaced)
                    continue
                assert rec.version == 2, f"{rec.stream} has a version {rec.version}"
                assert rec.stream not in final_by
                final_by[rec.stream] = rec.command_id
                assert isinstance(rec.event, HoldCaptured | HoldReleased)
                if isinstance(rec.event, HoldCaptured):
                    captured_minor += rec.event.amount_minor
                    asked = HOLD_MINOR if rec.command_id.startswith("a") else _partial(rec.stream)
                    assert rec.event.amount_minor == asked
                    assert rec.event.released_minor == HOLD_MINOR - asked
        # Every hold has exactly one final event, written by the command that was told so.
        assert final_by == {f"hold:{h}": winners[0][0] for h, winners in accepted.items()}
        wallet = book.balance(WALLET)
        merchant = book.balance(book.chart.merchant(MERCHANT))
        assert wallet.debits_posted - before.debits_posted == captured_minor > 0
        assert merchant.credits_posted == captured_minor
        assert (wallet.debits_pending, wallet.credits_pending) == (0, 0)
        assert (merchant.debits_pending, merchant.credits_pending) == (0, 0)
        assert wallet.available == wallet.balance == before.balance - captured_minor
        report = verify(book)
        assert report.ok, report.findings


# --- refunds --------------------------------------------------------------------------


def _refunds(book: Ledger, name: str, seed: int) -> list[tuple[str, int | None, str, int, bool]]:
    """Refund the payment in pieces, some ids shared with the other process, each sent
    twice; (id, amount, outcome, seq, replayed) for every answer."""
    rng = random.Random(seed)
    shared_rng = random.Random(99)  # both processes draw the same shared refunds
    commands = [
        Refund(id=f"{name}-{i}", payment="pay", amount_minor=rng.randrange(500, 5_000))
        for i in range(OWN_REFUNDS)
    ]
    commands += [
        Refund(id=f"shared-{i}", payment="pay", amount_minor=shared_rng.randrange(500, 5_000))
        for i in range(SHARED_REFUNDS)
    ]
    rng.shuffle(commands)
    commands.append(Refund(id="shared-rest", payment="pay"))  # all that is left
    answers = []
    for command in commands:
        for _ in range(2):  # every refund is retried, as a client after a timeout would
            result = book.submit(command)
            if isinstance(result, Accepted):
                answers.append(
                    (command.id, command.amount_minor, "accepted", result.seq, result.replayed)
                )
            else:
                assert isinstance(result, Rejected)
                answers.append((command.id, command.amount_minor, str(result.code), 0, False))
            pause(rng)
    return answers


def test_concurrent_refunds_never_exceed_the_payment_and_post_each_id_once(
    tmp_path: Path,
) -> None:
    # Every round checks every invariant; a round in which one process happened to finish
    # before the other started proves nothing about the race, so it is run again.
    for attempt in range(3):
        if _refund_round(tmp_path / f"refunds-{attempt}.db"):
            return
    pytest.fail("no real race happened in three rounds: both processes never posted refunds")


def _refund_round(path: Path) -> bool:
    """One race of two refunding processes, every invariant asserted; True if both
    processes posted refunds of their own (the race was real)."""
    with _setup(path) as book:
        paid = book.submit(
            Pay(
                id="pay",
                wallet=WALLET,
                merchant=MERCHANT,
                amount_minor=PAYMENT_MINOR,
                fee_minor=PAYMENT_FEE_MINOR,
            )
        )
        assert isinstance(paid, Accepted)
        payable = book.chart.merchant(MERCHANT)
        before = {a: book.balance(a).balance for a in (WALLET, payable, book.chart.fee_income)}

    reports = race(_refunds, path, (1, 2))
    answers = [answer for _, report in reports for answer in report]
    outcomes: dict[str, set[str]] = {}
    seqs: dict[str, set[int]] = {}
    posted: list[tuple[str, int | None]] = []  # (id, amount) of answers that wrote
    for refund_id, amount_minor, outcome, seq, replayed in answers:
        assert outcome in ("accepted", RejectCode.REFUND_EXCEEDS_ORIGINAL), outcome
        outcomes.setdefault(refund_id, set()).add(outcome)
        if outcome == "accepted":
            seqs.setdefault(refund_id, set()).add(seq)
            if not replayed:
                posted.append((refund_id, amount_minor))
    # However often and by whom an id was sent, it got one answer: accepted at one log
    # position, written by exactly one of the calls (the others replays), or rejected.
    assert all(len(found) == 1 for found in outcomes.values()), outcomes
    assert all(len(found) == 1 for found in seqs.values()), seqs
    assert sorted(refund_id for refund_id, _ in posted) == sorted(seqs)
    shared = [a for a in answers if a[0].startswith("shared-") and a[2] == "accepted"]
    assert len(shared) >= 4 and len(shared) % 4 == 0, "two processes x two calls each"
    raced = {refund_id[0] for refund_id, _ in posted} >= {"a", "b"}

    with open_racer(str(path)) as book:
        history = [rec for rec in book.events() if rec.stream == "payment:pay"]
        assert [rec.version for rec in history] == list(range(1, len(history) + 1))
        assert isinstance(history[0].event, PaymentMade)
        refunds = [rec.event for rec in history[1:]]
        assert all(isinstance(e, Refunded) for e in refunds)
        by_id = {rec.command_id: rec.event for rec in history[1:]}
        assert len(by_id) == len(refunds), "a refund id posted twice"
        assert sorted(by_id) == sorted(seqs)  # and every accepted one did post
        total_minor = sum(e.amount_minor for e in refunds if isinstance(e, Refunded))
        fee_minor = sum(e.fee_minor for e in refunds if isinstance(e, Refunded))
        # What the processes were told was accepted is what the log holds, satang for satang.
        accepted_minor = 0
        for refund_id, amount_minor in posted:
            event = by_id[refund_id]
            assert isinstance(event, Refunded)
            assert amount_minor is None or event.amount_minor == amount_minor
            accepted_minor += event.amount_minor
        assert accepted_minor == total_minor
        running = 0
        for e in refunds:  # in log order: never more than the payment at any point
            assert isinstance(e, Refunded)
            running += e.amount_minor
            assert running <= PAYMENT_MINOR
        assert total_minor == PAYMENT_MINOR  # the last "rest" refund took what was left
        assert fee_minor == PAYMENT_FEE_MINOR  # the running total returns the fee exactly
        # The wallet got every accepted satang back; the merchant's payable gave all of
        # it but the fee share, which fee income gave.
        after = {a: book.balance(a).balance for a in before}
        assert after[WALLET] - before[WALLET] == accepted_minor
        assert before[payable] - after[payable] == accepted_minor - fee_minor
        assert before[book.chart.fee_income] - after[book.chart.fee_income] == fee_minor
        report = verify(book)
        assert report.ok, report.findings
    return raced
