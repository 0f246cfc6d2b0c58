"""Clock faults: a writer's clock that jumps back, jumps forward and freezes.

Two writers share one file: one on a faulty clock, one on a sound one (another server).
They submit top-ups, payments, backdated entries with and without ``backdated=True``,
retries of earlier commands and period closes, and every answer is recorded outside the
library. Afterwards the log must show: ``seq`` gapless and the order of truth;
``recorded_at`` never going back along it, whatever the clocks said; no entry accepted
more than the grace before its writer's now unless it said ``backdated=True``; nothing
effective at or before a period closed before it was recorded; every retry answered
with its first result; every rejection appending nothing; ``verify`` clean.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest

from ledger import (
    Accepted,
    ClosePeriod,
    Command,
    Credit,
    Debit,
    Ledger,
    OpenAccount,
    PostEntry,
    RejectCode,
    Rejected,
)
from ledger.audit import verify
from ledger.events import PeriodClosed
from ledger.policy import Policy
from ledger.times import ManualClock, to_us
from tests.faults.suite import record, scale

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
GRACE = Policy().backdate_grace
STEPS = scale(5_000, 500_000)
WALLETS = [f"wallet:c{n}" for n in range(6)]


# Not a plain ManualClock: jumping and freezing on its own is the fault this suite injects.
class FaultyClock(ManualClock):
    """A server's clock off the true one (``truth``): now and then it jumps back by up
    to two days or forward by up to three, freezes for a stretch of ticks, or is set
    right again (NTP). The ledger reads it once per transaction; the test ticks it
    before each submit, so it knows what that transaction saw."""

    def __init__(self, truth: ManualClock, rng: random.Random) -> None:
        super().__init__(truth.now)
        self._truth = truth
        self._rng = rng
        self._offset = timedelta(0)
        self._frozen_for = 0
        self.moves = {"back": 0, "forward": 0, "freeze": 0, "set_right": 0}

    def tick(self) -> None:
        rng = self._rng
        if self._frozen_for:
            self._frozen_for -= 1
            return
        roll = rng.random()
        if roll < 0.03:
            self._offset -= timedelta(seconds=rng.randrange(1, 2 * 86_400))
            self.moves["back"] += 1
        elif roll < 0.05:
            self._offset += timedelta(seconds=rng.randrange(1, 3 * 86_400))
            self.moves["forward"] += 1
        elif roll < 0.08:
            self._frozen_for = rng.randrange(2, 40)
            self.moves["freeze"] += 1
        elif roll < 0.10:
            self._offset = timedelta(0)
            self.moves["set_right"] += 1
        self.now = self._truth.now + self._offset


def _open_chart(path: Path) -> None:
    with Ledger.open(path, clock=lambda: T0) as book:
        book.submit_many(
            [
                OpenAccount(id="o-bank", account="bank:trust", type="asset", currency="THB"),
                OpenAccount(id="o-m", account="merchant:m", type="liability", currency="THB"),
                *(
                    OpenAccount(
                        id=f"o-{w}", account=w, type="liability", currency="THB", no_overdraft=True
                    )
                    for w in WALLETS
                ),
            ]
        )


def _command(
    rng: random.Random, n: int, now: datetime, closed: datetime | None, *, closes: bool
) -> Command:
    """One command of the mix; ``now`` is the submitting writer's clock."""
    wallet = rng.choice(WALLETS)
    amount = rng.randrange(100, 50_000)
    roll = rng.random()
    if roll < 0.03 and closes:
        # the operator closes the books at some point of the recent past (now and then,
        # by mistake, of the future)
        return ClosePeriod(id=f"close-{n}", through=now - timedelta(hours=rng.randrange(-2, 6)))
    legs = (
        [Debit("bank:trust", amount), Credit(wallet, amount)]
        if roll < 0.5
        else [Debit(wallet, amount), Credit("merchant:m", amount)]
    )
    if roll < 0.8:
        return PostEntry(id=f"e-{n}", kind="mix", postings=legs)
    # an explicit effective time: within the grace, backdated by up to 10 days, or just
    # before or after the last close
    if closed is not None and rng.random() < 0.3:
        when = closed + timedelta(seconds=rng.randrange(-600, 600))
    else:
        when = now - timedelta(seconds=rng.choice([0, 30, 59, 61, 3_600, 864_000]))
    backdated = rng.random() < 0.5
    return PostEntry(
        id=f"b-{n}", kind="late", postings=legs, effective_at=when, backdated=backdated
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_a_jumping_freezing_clock_never_reorders_the_log(tmp_path: Path, seed: int) -> None:
    started = time.perf_counter()
    rng = random.Random(seed)
    path = tmp_path / "clock.db"
    _open_chart(path)
    sound = ManualClock(T0)
    faulty = FaultyClock(sound, rng)
    submitted: dict[str, tuple[Command, datetime, Accepted | Rejected]] = {}
    rejected = 0
    closed: datetime | None = None
    with Ledger.open(path, clock=faulty) as a, Ledger.open(path, clock=sound) as b:
        for n in range(STEPS):
            sound.advance(timedelta(seconds=rng.randrange(0, 60)))
            book, clock = (a, faulty) if rng.random() < 0.6 else (b, sound)
            if submitted and rng.random() < 0.05:  # a retry, after the clocks have moved
                faulty.tick()
                command, _, first = submitted[rng.choice(list(submitted))]
                again = book.submit(command)
                if isinstance(first, Accepted):
                    assert isinstance(again, Accepted) and again.seq == first.seq, command.id
                continue
            if clock is faulty:
                faulty.tick()
            seen = clock.now  # what this writer's transaction will read
            command = _command(rng, n, seen, closed, closes=clock is sound)
            head = book.head()
            result = book.submit(command)
            submitted[command.id] = (command, seen, result)
            if isinstance(result, Rejected):
                rejected += 1
                assert book.head() == head, f"{command.id} was rejected but wrote"
            elif isinstance(command, ClosePeriod):
                closed = command.through

        # --- the log, walked in seq order ------------------------------------------------
        last_recorded = datetime.min.replace(tzinfo=UTC)
        closed_us = 0
        seqs = []
        for rec in a.events():
            seqs.append(rec.seq)
            assert rec.recorded_at >= last_recorded, f"recorded_at went back at seq {rec.seq}"
            last_recorded = rec.recorded_at
            if not isinstance(rec.event, PeriodClosed):
                assert to_us(rec.effective_at) > closed_us, (
                    f"seq {rec.seq} is effective {rec.effective_at} inside a closed period"
                )
            else:
                closed_us = to_us(rec.event.through)
            command, seen, _ = submitted.get(rec.command_id, (None, None, None))
            if isinstance(command, PostEntry) and command.effective_at is not None:
                assert seen is not None
                if command.effective_at < seen - GRACE:
                    assert command.backdated, f"{command.id} backdated without the flag"
        assert seqs == list(range(1, len(seqs) + 1)), "seq is not gapless"
        logged = {rec.command_id for rec in a.events()}
        accepted = {cid for cid, (_, _, r) in submitted.items() if isinstance(r, Accepted)}
        lost = accepted - logged
        assert not lost, f"accepted but not in the log: {sorted(lost)[:3]}"
        report = verify(a)
        assert report.ok, report.findings

    codes = [r.code for _, _, r in submitted.values() if isinstance(r, Rejected)]
    # every fault was really exercised, and each rule really refused something
    assert min(faulty.moves.values()) >= 5, faulty.moves
    for code in (RejectCode.EFFECTIVE_AT_INVALID, RejectCode.PERIOD_CLOSED):
        assert code in codes, f"nothing was refused {code.value}"
    assert sum(isinstance(r, Accepted) for _, _, r in submitted.values()) > STEPS // 3
    record(
        f"clock[{seed}]",
        rounds=len(submitted),
        lost=len(lost),
        jumps_back=faulty.moves["back"],
        jumps_forward=faulty.moves["forward"],
        freezes=faulty.moves["freeze"],
        rejected=rejected,
        period_closed=codes.count(RejectCode.PERIOD_CLOSED),
        seconds=round(time.perf_counter() - started, 1),
    )


def test_a_backdated_entry_needs_the_flag_and_stays_out_of_a_closed_period(
    tmp_path: Path,
) -> None:
    clock = ManualClock(T0)
    path = tmp_path / "close.db"
    _open_chart(path)
    legs = [Debit("bank:trust", 500), Credit("wallet:c0", 500)]
    with Ledger.open(path, clock=clock) as book:
        yesterday = T0 - timedelta(days=1)
        plain = book.submit(PostEntry(id="late", kind="k", postings=legs, effective_at=yesterday))
        assert isinstance(plain, Rejected) and plain.code == RejectCode.EFFECTIVE_AT_INVALID
        assert "backdated=True" in plain.detail
        skew = PostEntry(id="skew", kind="k", postings=legs, effective_at=T0 - GRACE)
        assert isinstance(book.submit(skew), Accepted)  # within the grace: no flag needed
        flagged = PostEntry(
            id="late2", kind="k", postings=legs, effective_at=yesterday, backdated=True
        )
        assert isinstance(book.submit(flagged), Accepted)
        no_time = PostEntry(id="odd", kind="k", postings=legs, backdated=True)
        odd = book.submit(no_time)
        assert isinstance(odd, Rejected) and odd.code == RejectCode.FIELD_INVALID

        close = ClosePeriod(id="close-oct", through=datetime(2026, 10, 31, 17, tzinfo=UTC))
        assert isinstance(book.submit(close), Accepted)
        head = book.head()
        inside = PostEntry(
            id="oct", kind="k", postings=legs, effective_at=close.through, backdated=True
        )
        refused = book.submit(inside)
        assert isinstance(refused, Rejected) and refused.code == RejectCode.PERIOD_CLOSED
        after = attrs.evolve(
            inside, id="nov", effective_at=close.through + timedelta(microseconds=1)
        )
        assert isinstance(book.submit(after), Accepted)

        # periods close forward only, and only the past
        again = book.submit(ClosePeriod(id="close-again", through=close.through))
        assert isinstance(again, Rejected) and again.code == RejectCode.PERIOD_CLOSED
        future = book.submit(ClosePeriod(id="close-future", through=T0 + timedelta(hours=1)))
        assert isinstance(future, Rejected) and future.code == RejectCode.EFFECTIVE_AT_INVALID
        skew = Policy().future_limit  # what another server's clock may still call now
        present = book.submit(ClosePeriod(id="close-now", through=T0 - skew / 2))
        assert isinstance(present, Rejected) and present.code == RejectCode.EFFECTIVE_AT_INVALID

        # a writer whose clock jumped back behind the close cannot post into it either
        clock.now = close.through - timedelta(hours=1)
        behind = book.submit(PostEntry(id="behind", kind="k", postings=legs))
        assert isinstance(behind, Rejected) and behind.code == RejectCode.PERIOD_CLOSED
        assert book.head()[0] == head[0] + 1  # only "nov" was written since the close

    # another process sees the close too (it is read from the log, not kept in memory)
    with Ledger.open(path, clock=lambda: T0) as other:
        late = other.submit(attrs.evolve(inside, id="oct-2"))
        assert isinstance(late, Rejected) and late.code == RejectCode.PERIOD_CLOSED
