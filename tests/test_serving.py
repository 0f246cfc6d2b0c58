"""A wallet service's shape on one SQLite file: two processes, each with three writer
threads and a thread folding the read models into the ledger's own file, for 8 seconds.

Before the lock hierarchy (docs/durability.md), a fold held SQLite's write lock while it
waited for the ``Ledger``'s thread lock, which a writer held while it waited for SQLite's:
writers stalled for up to the busy timeout and got ``StoreBusy``. Here no call may fail,
both processes keep writing, their shares stay near fair, and the file verifies.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.audit import verify
from ledger.bench.serving import run_processes
from projections.runner import Runner

SECONDS = 8.0


@pytest.mark.slow
def test_two_serving_processes_on_one_file_never_stall(tmp_path: Path) -> None:
    path = str(tmp_path / "served.db")
    results = run_processes(path, processes=2, threads=3, seconds=SECONDS)
    assert [r.error for r in results] == ["", ""]
    assert [r.busy for r in results] == [0, 0], results
    total = sum(r.submits for r in results)
    for r in results:
        assert r.folds > 0, r
        # kept writing: never a stretch near the busy timeout (5 s) without an answer
        assert r.longest_gap_s < 2.0, r
        # a fair share is half; the bar is a third of it, this asks for a fifth so
        # a loaded CI machine does not make it flaky (docs/serving.md has the measured)
        assert r.submits >= total / 2 / 5, results
    with Ledger.open(path) as book:
        report = verify(book)
        assert report.ok, report.findings
        with Runner(book) as runner, Runner(book, ":memory:") as fresh:
            runner.catch_up()
            fresh.catch_up()
            assert runner.digest() == fresh.digest()  # folded by two processes == rebuilt


@pytest.mark.slow
def test_an_operator_reading_the_live_file_never_fails_a_writer(tmp_path: Path) -> None:
    """``satang statement`` and ``satang report`` run again and again against a file a
    serving process writes to: they fold the read models kept in that file a page at a
    time, so the writers never wait long and never fail, and the verbs always answer."""
    path = str(tmp_path / "live.db")
    answers: list[tuple[int, str]] = []

    def operator() -> None:
        verbs = [
            ["statement", "wallet:U1", "--db", path, "--limit", "5"],
            ["report", "activity", "--db", path, "--date", "2026-12-01"],
            ["balance", "wallet:U2", "--db", path],
            ["events", "--db", path, "--limit", "3"],
        ]
        end = time.monotonic() + SECONDS - 2
        while time.monotonic() < end:
            for verb in verbs:
                done = subprocess.run(
                    [sys.executable, "-m", "ledger.cli", *verb],
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                answers.append((done.returncode, done.stderr))

    results = run_processes(path, 1, threads=3, seconds=SECONDS, while_running=operator)
    assert [r.error for r in results] == [""]
    assert results[0].busy == 0, results
    assert results[0].longest_gap_s < 2.0, results
    assert len(answers) >= 4
    assert [a for a in answers if a[0] != 0] == []
