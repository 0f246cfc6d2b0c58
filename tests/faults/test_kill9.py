"""A writer that dies hard: nothing acknowledged is lost, nothing is written twice, and
the file is whole.

Each round starts a writer (tests/faults/writer.py) that prints a command's id only
after ``submit`` returned ``Accepted``, and folds the read models and checkpoints the WAL
as it goes. It dies in one of two ways:

* **kill -9**: SIGKILL at a random moment once it is writing;
* **crash points**: a test-only hook (:mod:`ledger.crashpoints`) makes it ``os._exit`` at
  one point of the write path (before insert, before commit, after commit before the
  acknowledgement, mid-projection, mid-checkpoint), the n-th time it gets there.

Then the ledger is reopened and checked: SQLite's integrity check passes; ``verify``
finds nothing (the hash chain, balances, history, idempotency index, the invariants,
and the read models kept in the file equal a rebuild at their checkpoint); every
acknowledged id is in the log exactly once; and the command that was in flight, retried
with the same id, is then in the log exactly once. Rounds run in two lanes (two files)
at once, one per core. ``SATANG_FAULT_LONG=1`` runs thousands of rounds.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ledger import Accepted, Ledger
from ledger.audit import verify
from ledger.bench.workload import prepare
from ledger.crashpoints import POINTS
from tests.faults.suite import record, scale
from tests.faults.writer import CRASH_EXIT, MERCHANTS, WALLETS, stream

KILL_ROUNDS = int(os.environ.get("SATANG_FAULT_ROUNDS", scale(100, 5_000)))
CRASH_ROUNDS = scale(12, 400)
"""Rounds per crash point."""
RESET_EVERY = 6
"""Rounds on one file before it starts again from the prepared copy (keeps verify quick)."""
LANES = 2
ROOT = Path(__file__).parent.parent.parent
SEED = int(os.environ.get("SATANG_FAULT_SEED", "9"))


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kill9") / "prepared.db"
    with Ledger.open(path) as book:
        prepare(book, WALLETS, MERCHANTS)
    return path


def _logged_ids(path: Path) -> Counter[str]:
    with sqlite3.connect(path) as conn:
        rows = conn.execute("SELECT command_id FROM commands").fetchall()
    conn.close()
    return Counter(cid for (cid,) in rows)


Stop = Callable[[subprocess.Popen[str], random.Random], str]
"""Ends a writer; returns what it read of the writer's output."""


def _kill_at_random(writer: subprocess.Popen[str], rng: random.Random) -> str:
    """SIGKILL a moment after the writer's first answer."""
    assert writer.stdout is not None
    first = writer.stdout.readline()  # it is writing (or it died early, and is gone)
    time.sleep(rng.uniform(0, 0.25))
    writer.send_signal(signal.SIGKILL)
    return first


def _let_it_crash(writer: subprocess.Popen[str], rng: random.Random) -> str:
    """The crash-point hook ends it; kill it only if it never got there."""
    try:
        writer.wait(timeout=60)
    except subprocess.TimeoutExpired:
        writer.kill()
    return ""


def _rounds(
    prepared: Path,
    path: Path,
    rounds: int,
    rng: random.Random,
    args: Callable[[int], list[str]],
    stop: Stop,
) -> Counter[str]:
    """Run ``rounds`` writers on ``path`` (reset from ``prepared`` every RESET_EVERY
    rounds), stop each with ``stop``, and check the file after each; the counts seen."""
    acknowledged: set[str] = set()
    seen = Counter[str]()
    for round_ in range(rounds):
        if round_ % RESET_EVERY == 0:
            for stale in path.parent.glob(path.name + "*"):
                stale.unlink()
            shutil.copyfile(prepared, path)
            acknowledged.clear()
        first = round_
        argv = args(round_)
        threads = int(argv[1]) if argv[:1] == ["threads"] else 0
        writer = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.writer", str(path), str(first), *argv],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        head = stop(writer, rng)
        rest, _ = writer.communicate()
        out = head + rest
        whole = out.split("\n")[:-1]  # a last line without its newline was cut by the kill
        answers = [line.split(" ", 1) for line in whole]
        crashed = [n for n, (word, _) in enumerate(answers) if word == "crash"]
        ids = [cid for word, cid in answers if word == "A"]
        seen["acknowledged"] += len(ids)
        seen["died_writing"] += bool(ids)
        seen["crashed_at_point"] += bool(crashed) and writer.returncode == CRASH_EXIT
        # a checkpoint that returned after the hook fired: the exit came later than it
        seen["checkpoint_finished"] += bool(crashed) and any(
            word == "C" for word, _ in answers[crashed[0] :]
        )
        acknowledged.update(ids)
        answered = [cid for word, cid in answers if word in ("A", "R")]
        by_thread: dict[int | None, int] = (
            {t: sum(cid.startswith(f"k{first}-t{t}-") for cid in answered) for t in range(threads)}
            if threads
            else {None: len(answered)}
        )
        _check(path, acknowledged, round_, first, by_thread, seen)
    return seen


def _check(
    path: Path,
    acknowledged: set[str],
    round_: int,
    first: int,
    answered: dict[int | None, int],
    seen: Counter[str],
) -> None:
    """The file after round ``round_``, whose writer answered ``answered[t]`` commands of
    the stream of each of its threads ``t`` (``None``: a writer of one thread) before it
    died."""
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",), round_
    conn.close()
    logged = _logged_ids(path)
    lost = acknowledged - set(logged)
    seen["lost"] += len(lost)
    assert not lost, f"round {round_}: acknowledged but lost: {sorted(lost)[:3]}"
    assert all(n == 1 for n in logged.values()), f"round {round_}: a command logged twice"
    with Ledger.open(path, create=False) as book:
        report = verify(book)
        assert report.ok, (round_, report.findings)
        # the command after the last one answered (of each thread) may have been in
        # flight: retried with the same id, it is then in the log exactly once
        retried = []
        for thread, count in answered.items():
            command = next(itertools.islice(stream(first, book.today(), thread), count, None))
            retried.append((command, command.id in logged, book.submit(command)))
    after = _logged_ids(path)
    assert all(n == 1 for n in after.values())
    with sqlite3.connect(path) as conn:  # a commit shared by commands of several threads
        seen["grouped"] += conn.execute(
            "SELECT COUNT(*) FROM (SELECT recorded_at FROM events WHERE command_id LIKE 'k%-t%'"
            " GROUP BY recorded_at HAVING COUNT(DISTINCT command_id) > 1)"
        ).fetchone()[0]
    conn.close()
    for command, was_logged, result in retried:
        seen["in_flight_not_logged"] += not was_logged
        if isinstance(result, Accepted):
            assert after[command.id] == 1
            assert result.replayed == was_logged, f"round {round_}: {command.id} decided twice"
            seen["in_flight_committed"] += was_logged
            acknowledged.add(command.id)
        else:
            assert after[command.id] == 0


def _lanes(
    prepared: Path, tmp_path: Path, rounds: int, args: Callable[[int], list[str]], stop: Stop
) -> Counter[str]:
    per_lane = -(-rounds // LANES)
    with ThreadPoolExecutor(LANES) as pool:
        futures = [
            pool.submit(
                _rounds,
                prepared,
                tmp_path / f"lane{lane}.db",
                per_lane,
                random.Random(SEED * 100 + lane),
                args,
                stop,
            )
            for lane in range(LANES)
        ]
        counts = [f.result() for f in futures]
    return sum(counts, Counter())


def test_a_writer_killed_at_random_loses_nothing_it_acknowledged(
    prepared: Path, tmp_path: Path
) -> None:
    started = time.perf_counter()
    seen = _lanes(prepared, tmp_path, KILL_ROUNDS, lambda _: [], _kill_at_random)
    rounds = LANES * -(-KILL_ROUNDS // LANES)
    assert seen["died_writing"] >= rounds * 0.9, seen  # the kills really landed mid-write
    assert seen["in_flight_committed"] >= 1, seen  # some died between commit and the ack
    record(
        "kill9",
        rounds=rounds,
        lost=seen["lost"],
        acknowledged=seen["acknowledged"],
        in_flight_committed=seen["in_flight_committed"],
        seconds=round(time.perf_counter() - started, 1),
    )


@pytest.mark.parametrize("point", POINTS)
def test_a_writer_that_dies_at_each_point_of_the_write_path_loses_nothing(
    prepared: Path, tmp_path: Path, point: str
) -> None:
    started = time.perf_counter()
    rng = random.Random(f"{SEED}-{point}")
    # the n-th time: early in the writer's life, or deep into it. Folds and checkpoints
    # come every 40 and 150 commands, so those points are reached less often.
    most = {"mid_projection": 30, "mid_checkpoint": 2}.get(point, 300)
    delays = [0, 0, 1, 3, 10] if point == "mid_checkpoint" else [0]

    def args(_: int) -> list[str]:
        return ["crash", point, str(rng.randint(1, most)), str(rng.choice(delays))]

    seen = _lanes(prepared, tmp_path, CRASH_ROUNDS, args, _let_it_crash)
    rounds = LANES * -(-CRASH_ROUNDS // LANES)
    assert seen["crashed_at_point"] == rounds, f"only {seen} of {rounds} died at {point}"
    if point == "mid_checkpoint":  # most exits land before the checkpoint has returned
        assert seen["checkpoint_finished"] <= rounds // 2, seen
    if point == "after_commit":  # committed, never acknowledged (unless it was rejected)
        assert seen["in_flight_committed"] >= rounds // 2, seen
    if point in ("before_insert", "before_commit"):
        assert seen["in_flight_committed"] == 0, seen  # never committed
    record(
        f"crash_point[{point}]",
        rounds=rounds,
        lost=seen["lost"],
        acknowledged=seen["acknowledged"],
        in_flight_committed=seen["in_flight_committed"],
        **(
            {"checkpoint_finished": seen["checkpoint_finished"]}
            if point == "mid_checkpoint"
            else {}
        ),
        seconds=round(time.perf_counter() - started, 1),
    )


GROUP_THREADS = 8
"""Threads of a writer that commits in groups (group commit)."""
GROUP_ROUNDS = scale(8, 200)


def test_a_writer_of_many_threads_killed_at_random_loses_nothing_it_acknowledged(
    prepared: Path, tmp_path: Path
) -> None:
    started = time.perf_counter()
    argv = ["threads", str(GROUP_THREADS)]
    seen = _lanes(prepared, tmp_path, GROUP_ROUNDS, lambda _: argv, _kill_at_random)
    rounds = LANES * -(-GROUP_ROUNDS // LANES)
    assert seen["died_writing"] >= rounds * 0.9, seen
    assert seen["grouped"] >= 1, seen  # the threads' commands really shared commits
    record(
        "kill9_threads",
        rounds=rounds,
        lost=seen["lost"],
        acknowledged=seen["acknowledged"],
        in_flight_committed=seen["in_flight_committed"],
        seconds=round(time.perf_counter() - started, 1),
    )


@pytest.mark.parametrize("point", ["before_insert", "before_commit", "after_commit"])
def test_a_writer_of_many_threads_that_dies_inside_a_group_loses_nothing(
    prepared: Path, tmp_path: Path, point: str
) -> None:
    """A group decided and not committed (before_insert, before_commit) answers none of its
    callers: each of their commands, retried, is decided then, once. One committed and not
    yet answered (after_commit) is in the log: the retries are replays."""
    started = time.perf_counter()
    rng = random.Random(f"{SEED}-threads-{point}")

    def args(_: int) -> list[str]:
        return ["threads", str(GROUP_THREADS), "crash", point, str(rng.randint(1, 60)), "0"]

    seen = _lanes(prepared, tmp_path, GROUP_ROUNDS, args, _let_it_crash)
    rounds = LANES * -(-GROUP_ROUNDS // LANES)
    assert seen["crashed_at_point"] == rounds, f"only {seen} of {rounds} died at {point}"
    assert seen["grouped"] >= 1, seen
    # a thread has one command in flight: the crashed group's callers' are theirs, not
    # logged before a commit, logged after it (others may be in a group committed just
    # before, not yet answered, or queued for the next)
    if point == "after_commit":
        assert seen["in_flight_committed"] >= rounds, seen
    else:
        assert seen["in_flight_not_logged"] >= rounds, seen
    record(
        f"crash_point_threads[{point}]",
        rounds=rounds,
        lost=seen["lost"],
        acknowledged=seen["acknowledged"],
        in_flight_committed=seen["in_flight_committed"],
        seconds=round(time.perf_counter() - started, 1),
    )


def test_the_check_catches_a_writer_that_acknowledges_before_it_is_durable(
    prepared: Path, tmp_path: Path
) -> None:
    with pytest.raises(AssertionError, match="acknowledged but lost"):
        _rounds(
            prepared,
            tmp_path / "early.db",
            20,
            random.Random(SEED),
            lambda _: ["early"],
            _kill_at_random,
        )
