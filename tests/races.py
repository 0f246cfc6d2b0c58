"""Two OS processes racing on one SQLite file: what the race tests share.

Each process opens the file itself, waits at a barrier so both start together, runs its
part and reports what ``submit`` answered, outside the library; the test compares those
answers with the log.
"""

from __future__ import annotations

import multiprocessing as mp
import random
import time
from pathlib import Path
from typing import Any

from ledger import Ledger


def open_racer(path: str, **kwargs: Any) -> Ledger:
    """A ledger on ``path`` that waits long for the write lock (the other racer holds it)."""
    return Ledger.open(path, busy_timeout_ms=30_000, **kwargs)


def race(target: Any, path: Path | str, args: tuple[Any, Any], **open_kwargs: Any) -> list[Any]:
    """Run ``target(book, name, arg)`` in two spawned processes ``a`` and ``b`` that start
    together; their reports as ``(name, report)``, by name."""
    ctx = mp.get_context("spawn")
    reports = ctx.Queue()
    start = ctx.Barrier(2)
    procs = [
        ctx.Process(
            target=_report, args=(target, str(path), name, start, reports, arg, open_kwargs)
        )
        for name, arg in zip(("a", "b"), args, strict=True)
    ]
    for p in procs:
        p.start()
    found = [reports.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    failures = [r for r in found if isinstance(r, str)]
    assert not failures, failures
    return sorted(found, key=lambda r: r[0])


def _report(
    target: Any,
    path: str,
    name: str,
    start: Any,
    reports: Any,
    arg: Any,
    open_kwargs: dict[str, Any],
) -> None:
    try:
        with open_racer(path, **open_kwargs) as book:
            start.wait(timeout=60)
            reports.put((name, target(book, name, arg)))
    except Exception as exc:  # reported to the test, which fails with it
        reports.put(f"process {name} failed: {exc!r}")


def pause(rng: random.Random) -> None:
    """A request gap of up to 1 ms, as a server would have: without it, SQLite's busy
    handler lets whichever process holds the lock take it again and again."""
    time.sleep(rng.random() / 1000)
