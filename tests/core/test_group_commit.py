"""Group commit: threads calling ``submit`` at once on one ``Ledger`` share a commit.

The leader of a group reads the ledger's clock inside its transaction; a clock that
blocks until the test opens its gate holds the first group open while the other callers
queue behind it, one at a time, so the second group is exactly the commands the test
queued, in the order it queued them. Each group is one transaction: its events share one
``recorded_at``, and the clock moves a second at every reading, so two groups never do.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import (
    Accepted,
    Credit,
    Debit,
    Ledger,
    LedgerClosed,
    LedgerError,
    OpenAccount,
    PostEntry,
    RejectCode,
    Rejected,
    StoreError,
)
from ledger.audit import verify
from ledger.errors import InvalidCommand
from ledger.groups import Groups
from ledger.results import Result

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class GatedClock:
    """A clock a second later at every reading; while its gate is shut, a reading waits
    for it to open (and says so through ``entered``)."""

    def __init__(self) -> None:
        self.now = T0
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        self.entered.set()
        assert self.gate.wait(timeout=30), "the test never opened the clock's gate"
        with self._lock:
            self.now += timedelta(seconds=1)
            return self.now


@pytest.fixture(params=["memory", "file", "postgres"])
def gated(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Ledger, GatedClock]]:
    """A ledger with a funded wallet U1 (100.00), a wallet U2 and the bank, on each
    backend, with a gated clock."""
    path: str | Path = {"memory": ":memory:", "file": tmp_path / "g.db"}.get(
        request.param
    ) or request.getfixturevalue("pg_dsn")
    clock = GatedClock()
    book = Ledger.open(path, clock=clock)
    book.submit_many(
        [
            OpenAccount(id="o-bank", account="bank:trust", type="asset", currency="THB"),
            *(
                OpenAccount(
                    id=f"o-{u}",
                    account=f"wallet:{u}",
                    type="liability",
                    currency="THB",
                    no_overdraft=True,
                )
                for u in ("U1", "U2")
            ),
            _move("fund", "bank:trust", "wallet:U1", 10_000),
        ]
    )
    try:
        yield book, clock
    finally:
        book.close()


def _move(cid: str, source: str, destination: str, amount: Any) -> PostEntry:
    return PostEntry(
        id=cid, kind="move", postings=[Debit(source, amount), Credit(destination, amount)]
    )


def _pay(cid: str, amount: int) -> PostEntry:
    """U1 pays U2."""
    return _move(cid, "wallet:U1", "wallet:U2", amount)


class Callers:
    """Threads that each submit one command, started one at a time: each is queued (or
    leading) before the next starts, so arrival order is the order of ``start``."""

    def __init__(self, book: Ledger) -> None:
        self.book = book
        self.answers: dict[str, Result | BaseException] = {}
        self.threads: list[threading.Thread] = []

    def start(self, command: PostEntry, *, key: str | None = None) -> None:
        key = key or command.id
        before = self.book._groups.waiting()

        def call() -> None:
            try:
                self.answers[key] = self.book.submit(command)
            except BaseException as exc:  # what this caller was told, checked by the test
                self.answers[key] = exc

        thread = threading.Thread(target=call)
        thread.start()
        self.threads.append(thread)
        _until(lambda: self.book._groups.waiting() > before, "the caller never queued")

    def lead(self, command: PostEntry, clock: GatedClock) -> None:
        """Start the first caller, and hold its group open at the clock."""
        clock.gate.clear()
        clock.entered.clear()
        thread = threading.Thread(
            target=lambda: self.answers.update({command.id: self._submit(command)})
        )
        thread.start()
        self.threads.append(thread)
        assert clock.entered.wait(timeout=30), "the leader never read the clock"

    def _submit(self, command: PostEntry) -> Result | BaseException:
        try:
            return self.book.submit(command)
        except BaseException as exc:
            return exc

    def finish(self, clock: GatedClock) -> dict[str, Result | BaseException]:
        clock.gate.set()
        for thread in self.threads:
            thread.join(timeout=60)
            assert not thread.is_alive()
        return self.answers


def _until(condition: Callable[[], bool], why: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, why
        time.sleep(0.001)


def _recorded(book: Ledger) -> dict[str, tuple[int, datetime]]:
    """Each command's last seq and the ``recorded_at`` of its events."""
    return {e.command_id: (e.seq, e.recorded_at) for e in book.events()}


def test_callers_queued_behind_a_group_are_decided_together_in_arrival_order(
    gated: tuple[Ledger, GatedClock],
) -> None:
    book, clock = gated
    callers = Callers(book)
    callers.lead(_pay("first", 100), clock)
    for n in range(1, 6):
        callers.start(_pay(f"next{n}", 100 * n))
    answers = callers.finish(clock)
    assert all(isinstance(a, Accepted) and not a.replayed for a in answers.values()), answers
    recorded = _recorded(book)
    seqs = [recorded[cid][0] for cid in ["first", *(f"next{n}" for n in range(1, 6))]]
    assert seqs == sorted(seqs) and len(set(seqs)) == 6  # seq order = arrival order
    times = {recorded[f"next{n}"][1] for n in range(1, 6)}
    assert len(times) == 1  # one transaction for the five that queued
    assert recorded["first"][1] not in times
    for n in range(1, 6):  # each answer is its own command's, as of its own event
        answer = answers[f"next{n}"]
        assert isinstance(answer, Accepted) and answer.seq == recorded[f"next{n}"][0]
        again = book.result(f"next{n}")
        assert again == attrs.evolve(answer, replayed=True)
        assert isinstance(again, Accepted) and again.balances == answer.balances
        u2 = next(b for b in answer.balances if b.account == "wallet:U2")
        assert u2.balance == 100 + sum(100 * k for k in range(1, n + 1))
    assert verify(book).ok


def test_a_refused_command_in_a_group_refuses_only_itself(
    gated: tuple[Ledger, GatedClock],
) -> None:
    book, clock = gated
    callers = Callers(book)
    callers.lead(_pay("first", 100), clock)
    callers.start(_pay("a", 1_000))
    callers.start(_pay("too-much", 1_000_000))
    callers.start(_pay("b", 2_000))
    answers = callers.finish(clock)
    refused = answers["too-much"]
    assert isinstance(refused, Rejected) and refused.code is RejectCode.INSUFFICIENT_FUNDS
    assert isinstance(answers["a"], Accepted) and isinstance(answers["b"], Accepted)
    assert answers["b"].seq == answers["a"].seq + 1  # the refusal appended nothing
    assert book.result("too-much") == Rejected(
        refused.code, refused.detail, "too-much", refused.subject, replayed=True
    )
    assert book.balance("wallet:U1").balance == 10_000 - 100 - 1_000 - 2_000


class _NotPlain(str):
    """A str subclass: not plain data, so the command's digest cannot be computed."""


class _Unknown(PostEntry):
    """A command no flow decides: deciding it raises, inside its group."""


def test_a_command_that_raises_while_its_group_decides_fails_only_its_own_caller(
    gated: tuple[Ledger, GatedClock],
) -> None:
    book, clock = gated
    callers = Callers(book)
    callers.lead(_pay("first", 100), clock)
    callers.start(_pay("a", 1_000))
    broken = _Unknown(
        id="broken", kind="move", postings=[Debit("wallet:U1", 5), Credit("wallet:U2", 5)]
    )
    callers.start(broken)
    callers.start(_pay("b", 2_000))
    answers = callers.finish(clock)
    assert isinstance(answers["broken"], InvalidCommand)
    assert "not a ledger command" in str(answers["broken"])
    assert isinstance(answers["a"], Accepted) and isinstance(answers["b"], Accepted)
    recorded = _recorded(book)
    assert "broken" not in recorded and book.result("broken") is None
    assert recorded["a"][1] == recorded["b"][1]  # decided again, together, without it
    assert answers["b"].seq == answers["a"].seq + 1
    assert verify(book).ok


def test_a_command_that_is_not_plain_data_is_refused_before_it_joins_a_group(
    gated: tuple[Ledger, GatedClock],
) -> None:
    book, clock = gated
    callers = Callers(book)
    callers.lead(_pay("first", 100), clock)
    callers.start(_pay("a", 1_000))
    broken = PostEntry(
        id="broken",
        kind="move",
        postings=[Debit("wallet:U1", 5), Credit("wallet:U2", 5)],
        memo=_NotPlain("memo"),
    )
    with pytest.raises(InvalidCommand, match="not plain data"):
        book.submit(broken)  # on this thread, while the first group is still open
    assert book._groups.waiting() == 1  # "a" alone waits
    answers = callers.finish(clock)
    assert isinstance(answers["a"], Accepted) and book.result("broken") is None


def test_a_retry_inside_one_group_is_answered_once_and_written_once(
    gated: tuple[Ledger, GatedClock],
) -> None:
    book, clock = gated
    callers = Callers(book)
    callers.lead(_pay("first", 100), clock)
    callers.start(_pay("twice", 700), key="twice-1")
    callers.start(_pay("twice", 700), key="twice-2")
    callers.start(_pay("twice", 900), key="changed")
    answers = callers.finish(clock)
    one, two, changed = answers["twice-1"], answers["twice-2"], answers["changed"]
    assert isinstance(one, Accepted) and not one.replayed
    assert isinstance(two, Accepted) and two.replayed and two.seq == one.seq
    assert isinstance(changed, Rejected) and changed.code is RejectCode.IDEMPOTENCY_CONFLICT
    assert [e.command_id for e in book.events()].count("twice") == 1
    assert book.balance("wallet:U1").balance == 10_000 - 100 - 700


def test_a_failed_commit_fails_every_caller_of_its_group_and_writes_nothing(
    gated: tuple[Ledger, GatedClock], monkeypatch: pytest.MonkeyPatch
) -> None:
    book, clock = gated
    store = book.store
    callers = Callers(book)
    callers.lead(_pay("first", 100), clock)
    for n in range(1, 4):
        callers.start(_pay(f"lost{n}", 100))
    commits = {"n": 0}
    real = store._commit  # type: ignore[attr-defined]

    def commit() -> None:
        commits["n"] += 1
        if commits["n"] == 2:  # the second group's
            raise StoreError("disk I/O error")
        real()

    monkeypatch.setattr(store, "_commit", commit)
    answers = callers.finish(clock)
    assert isinstance(answers["first"], Accepted)
    for n in range(1, 4):
        assert isinstance(answers[f"lost{n}"], StoreError), answers
        assert book.result(f"lost{n}") is None
    head = book.head()
    assert head[0] == answers["first"].seq
    retried = [book.submit(_pay(f"lost{n}", 100)) for n in range(1, 4)]
    assert all(isinstance(r, Accepted) and not r.replayed for r in retried)
    assert verify(book).ok


def test_a_write_inside_a_snapshot_of_the_same_ledger_is_refused(
    gated: tuple[Ledger, GatedClock],
) -> None:
    book, _ = gated
    with book.snapshot(), pytest.raises(LedgerError, match="inside a snapshot"):
        book.submit(_pay("in-snapshot", 100))
    assert book.result("in-snapshot") is None
    assert isinstance(book.submit(_pay("after", 100)), Accepted)


def test_callers_waiting_when_the_ledger_closes_are_told_so(
    gated: tuple[Ledger, GatedClock],
) -> None:
    book, clock = gated
    groups = book._groups
    real = groups._decide
    second, release = threading.Event(), threading.Event()
    calls = {"n": 0}

    def decide(group: list[Any]) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the group of the caller that waited: hold it, close, go on
            second.set()
            assert release.wait(timeout=30)
        real(group)

    groups._decide = decide  # type: ignore[method-assign]
    callers = Callers(book)
    callers.lead(_pay("first", 100), clock)
    callers.start(_pay("late", 100))
    clock.gate.set()
    assert second.wait(timeout=30), "the second group never started"
    book.close()
    release.set()
    answers = callers.finish(clock)
    assert isinstance(answers["first"], Accepted)
    assert isinstance(answers["late"], LedgerClosed)
    with pytest.raises(LedgerClosed):
        book.submit(_pay("closed", 1))


def test_each_caller_of_a_failed_group_raises_its_own_copy_of_the_error() -> None:
    """One error for a whole group: every caller raises a copy of its own (whose cause is
    the error), so no two threads raise, and lengthen, one traceback."""
    gate, entered = threading.Event(), threading.Event()
    failure = StoreError("disk I/O error")

    def decide(group: list[Any]) -> None:
        if len(group) == 1:
            entered.set()
            assert gate.wait(timeout=30)
            group[0].result = Accepted(group[0].command.id, 1)
            return
        for waiter in group:
            waiter.fail(failure, shared=True)

    groups = Groups(decide, wait_s=0.0)
    raised: dict[str, BaseException | Result] = {}
    call = _caller(groups, raised)

    threads = [threading.Thread(target=call, args=(f"c{n}",)) for n in range(5)]
    threads[0].start()
    assert entered.wait(timeout=30)
    for thread in threads[1:]:
        thread.start()
    _until(lambda: groups.waiting() == 4, "the callers never queued")
    gate.set()
    _join(threads)
    errors = [raised[f"c{n}"] for n in range(1, 5)]
    assert all(isinstance(e, StoreError) and str(e) == "disk I/O error" for e in errors)
    assert len({id(e) for e in errors}) == 4 and failure not in errors
    assert all(e.__cause__ is failure for e in errors)
    depths = [len(traceback.extract_tb(e.__traceback__)) for e in errors]
    assert max(depths) == min(depths)  # each its own traceback, none grown by the others


def test_an_interrupted_leader_raises_it_and_its_group_is_told_the_outcome_is_unknown() -> None:
    gate, entered = threading.Event(), threading.Event()
    decided: list[list[str]] = []

    def decide(group: list[Any]) -> None:
        decided.append([w.command.id for w in group])
        if len(decided) == 1:
            entered.set()
            assert gate.wait(timeout=30)
            group[0].result = Accepted(group[0].command.id, 1)
        elif len(decided) == 2:
            raise KeyboardInterrupt  # the leader of the second group, interrupted
        else:
            for waiter in group:
                waiter.result = Accepted(waiter.command.id, 1)

    groups = Groups(decide, wait_s=0.0)
    raised: dict[str, BaseException | Result] = {}
    call = _caller(groups, raised)

    threads = [threading.Thread(target=call, args=(f"c{n}",)) for n in range(4)]
    threads[0].start()
    assert entered.wait(timeout=30)
    for thread in threads[1:]:
        thread.start()
    _until(lambda: groups.waiting() == 3, "the callers never queued")
    gate.set()
    _join(threads)
    assert decided[1] == ["c1", "c2", "c3"]
    assert isinstance(raised["c1"], KeyboardInterrupt)  # the leader: what interrupted it
    for cid in ("c2", "c3"):
        assert isinstance(raised[cid], LedgerError) and "outcome is unknown" in str(raised[cid])
    assert isinstance(groups.submit(_pay("after", 1)), Accepted)  # the queue goes on


def test_a_caller_interrupted_while_it_waits_leaves_the_queue_and_holds_up_no_one() -> None:
    gate, entered = threading.Event(), threading.Event()
    decided: list[str] = []

    def decide(group: list[Any]) -> None:
        decided.extend(w.command.id for w in group)
        if len(decided) == 1:
            entered.set()
            assert gate.wait(timeout=30)
        for waiter in group:
            waiter.result = Accepted(waiter.command.id, 1)

    groups = Groups(decide, wait_s=0.0, event=_Interruptible)
    raised: dict[str, BaseException | Result] = {}
    call = _caller(groups, raised)

    first = threading.Thread(target=call, args=("first",))
    first.start()
    assert entered.wait(timeout=30)
    gone = threading.Thread(target=call, args=("gone",), name="interrupted")
    gone.start()
    gone.join(timeout=30)
    assert isinstance(raised["gone"], KeyboardInterrupt) and groups.waiting() == 0
    later = threading.Thread(target=call, args=("later",))
    later.start()
    _until(lambda: groups.waiting() == 1, "the later caller never queued")
    gate.set()
    _join([first, later])
    assert decided == ["first", "later"]  # the interrupted command was never decided
    assert isinstance(raised["later"], Accepted)


class _Interruptible(threading.Event):
    """What a queued caller waits on; in a thread named ``interrupted``, waiting raises
    ``KeyboardInterrupt``, as Ctrl-C does in a main thread."""

    def wait(self, timeout: float | None = None) -> bool:
        if threading.current_thread().name == "interrupted":
            raise KeyboardInterrupt
        return super().wait(timeout)


def test_a_caller_promoted_to_lead_and_interrupted_hands_the_lead_on() -> None:
    """Interrupted as it wakes to lead the next group: its command leaves the queue, never
    decided, and the next in the queue leads in its place."""
    decide, gate, entered, decided = _first_group_held()

    class InterruptedOnWaking(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            woke = super().wait(timeout)
            if threading.current_thread().name == "interrupted":
                raise KeyboardInterrupt
            return woke

    groups = Groups(decide, wait_s=0.0, event=InterruptedOnWaking)
    raised: dict[str, BaseException | Result] = {}
    call = _caller(groups, raised)
    first = threading.Thread(target=call, args=("first",))
    first.start()
    assert entered.wait(timeout=30)
    promoted = threading.Thread(target=call, args=("promoted",), name="interrupted")
    promoted.start()
    _until(lambda: groups.waiting() == 1, "the second caller never queued")
    behind = threading.Thread(target=call, args=("behind",))
    behind.start()
    _until(lambda: groups.waiting() == 2, "the third caller never queued")
    gate.set()  # the first group ends and promotes "promoted", which is interrupted
    _join([first, promoted, behind])
    assert isinstance(raised["promoted"], KeyboardInterrupt)
    assert decided == [["first"], ["behind"]]
    assert isinstance(raised["behind"], Accepted) and groups.waiting() == 0


def test_a_leader_interrupted_before_it_takes_its_group_lets_the_queue_go_on() -> None:
    """Interrupted while it waits for the callers of the group before (``GROUP_WAIT_S``):
    its command leaves the queue, and those queued behind it are decided."""
    decided: list[list[str]] = []
    waits = {"n": 0}

    def decide(group: list[Any]) -> None:
        decided.append([w.command.id for w in group])
        for waiter in group:
            waiter.result = Accepted(waiter.command.id, 1)

    groups = Groups(decide, wait_s=30.0)
    groups._expected = 3  # the group before had three callers: the next leader waits
    real_wait = groups._arrived.wait

    def wait(timeout: float | None = None) -> bool:
        waits["n"] += 1
        if threading.current_thread().name == "interrupted":
            raise KeyboardInterrupt
        return real_wait(timeout)

    groups._arrived.wait = wait  # type: ignore[method-assign]
    raised: dict[str, BaseException | Result] = {}
    leader = threading.Thread(target=_caller(groups, raised), args=("leader",), name="interrupted")
    leader.start()
    _join([leader])
    assert isinstance(raised["leader"], KeyboardInterrupt) and waits["n"] == 1
    assert groups.waiting() == 0 and decided == []
    groups._expected = 1
    assert isinstance(groups.submit(_pay("next", 1)), Accepted)
    assert decided == [["next"]]


def test_a_leader_waits_for_the_callers_of_the_group_before() -> None:
    """After a group of three, the next leader waits (up to ``GROUP_WAIT_S``) until
    three are queued, and takes them as one group."""
    decide, gate, entered, decided = _first_group_held()

    groups = Groups(decide, wait_s=30.0)
    groups._expected = 3
    raised: dict[str, BaseException | Result] = {}
    call = _caller(groups, raised)
    threads = [threading.Thread(target=call, args=(f"c{n}",)) for n in range(3)]
    threads[0].start()  # leads, and waits for two more before it takes its group
    _until(lambda: groups.waiting() == 1, "the leader never queued")
    threads[1].start()
    _until(lambda: groups.waiting() == 2, "the second caller never queued")
    threads[2].start()
    assert entered.wait(timeout=30), "the leader never took its group of three"
    gate.set()
    _join(threads)
    assert decided == [["c0", "c1", "c2"]]


def _first_group_held() -> tuple[
    Callable[[list[Any]], None], threading.Event, threading.Event, list[list[str]]
]:
    """A decider that accepts every command, holding the first group open (``entered``
    set) until ``gate`` is set; the ids of each group it decided, in order."""
    gate, entered = threading.Event(), threading.Event()
    decided: list[list[str]] = []

    def decide(group: list[Any]) -> None:
        decided.append([w.command.id for w in group])
        if len(decided) == 1:
            entered.set()
            assert gate.wait(timeout=30)
        for waiter in group:
            waiter.result = Accepted(waiter.command.id, 1)

    return decide, gate, entered, decided


def _caller(groups: Groups, answers: dict[str, BaseException | Result]) -> Callable[[str], None]:
    """A thread's body: submit a command of id ``cid`` and keep what it was told."""

    def call(cid: str) -> None:
        try:
            answers[cid] = groups.submit(_pay(cid, 1))
        except BaseException as exc:  # what this caller was told, checked by the test
            answers[cid] = exc

    return call


def _join(threads: list[threading.Thread]) -> None:
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), f"{thread.name} never finished"


def test_a_lone_caller_never_waits_for_a_group() -> None:
    """One thread: each submit is its own group, answered at once (no wait for others)."""
    decided: list[int] = []

    def decide(group: list[Any]) -> None:
        decided.append(len(group))
        for waiter in group:
            waiter.result = Accepted(waiter.command.id, 1)

    groups = Groups(decide, wait_s=30.0)
    waited = {"n": 0}
    real_wait = groups._arrived.wait

    def wait(timeout: float | None = None) -> bool:
        waited["n"] += 1
        return real_wait(timeout)

    groups._arrived.wait = wait  # type: ignore[method-assign]
    for n in range(20):
        groups.submit(_pay(f"alone{n}", 1))
    assert decided == [1] * 20
    assert waited["n"] == 0  # never waited for callers who are not there


def test_a_group_is_never_larger_than_its_bound() -> None:
    gate, entered = threading.Event(), threading.Event()
    sizes: list[int] = []

    def decide(group: list[Any]) -> None:
        entered.set()
        gate.wait(timeout=30)
        sizes.append(len(group))
        for waiter in group:
            waiter.result = Accepted(waiter.command.id, 1)

    groups = Groups(decide, group_max=3, wait_s=0.0)
    threads = [threading.Thread(target=groups.submit, args=(_pay(f"c{n}", 1),)) for n in range(10)]
    threads[0].start()
    assert entered.wait(timeout=30), "no leader"
    for thread in threads[1:]:
        thread.start()
    _until(lambda: groups.waiting() == 9, "the callers never queued")
    gate.set()
    for thread in threads:
        thread.join(timeout=30)
    assert sizes == [1, 3, 3, 3]


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    threads=st.integers(2, 12),
    amounts=st.lists(st.integers(1, 4_000), min_size=4, max_size=60),
)
def test_threads_never_overdraw_and_every_answer_is_what_the_log_says(
    tmp_path_factory: pytest.TempPathFactory, threads: int, amounts: list[int]
) -> None:
    """Threads race to spend one wallet through group commit: no answer disagrees with
    the log, nothing acknowledged is missing, nothing is written twice, and the wallet
    ends at what it was funded less what was accepted, never below zero (``verify``: the
    chain, history, balances and invariants)."""
    path = tmp_path_factory.mktemp("groups") / "race.db"
    with Ledger.open(path) as book:
        book.submit_many(
            [
                OpenAccount(id="o-bank", account="bank:trust", type="asset", currency="THB"),
                OpenAccount(
                    id="o-u1",
                    account="wallet:U1",
                    type="liability",
                    currency="THB",
                    no_overdraft=True,
                ),
                _move("fund", "bank:trust", "wallet:U1", 20_000),
            ]
        )
        answers: dict[str, Result] = {}
        spends: dict[str, int] = {}
        lock = threading.Lock()
        go = threading.Barrier(threads)

        def spend(t: int) -> None:
            go.wait(timeout=30)
            for n, amount in enumerate(amounts[t::threads]):
                cid = f"t{t}-{n}"
                spends[cid] = amount
                result = book.submit(_move(cid, "wallet:U1", "bank:trust", amount))
                with lock:
                    answers[cid] = result

        workers = [threading.Thread(target=spend, args=(t,)) for t in range(threads)]
        for worker in workers:
            worker.start()
        _join(workers)
        accepted = {cid for cid, r in answers.items() if isinstance(r, Accepted)}
        logged = [e.command_id for e in book.events() if e.command_id.startswith("t")]
        assert sorted(logged) == sorted(accepted)
        for cid, result in answers.items():
            assert book.result(cid) == attrs.evolve(result, replayed=True)
        spent = sum(spends[cid] for cid in accepted)
        assert book.balance("wallet:U1").balance == 20_000 - spent >= 0
        report = verify(book)
        assert report.ok, report.findings
