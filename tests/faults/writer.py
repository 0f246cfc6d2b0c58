"""A writer to kill: ``python -m tests.faults.writer DB FIRST [early | crash POINT N MS]``.

Submits commands of the standard mix to the ledger in DB, one ``submit`` at a time,
numbered from FIRST, and prints ``A id`` only after ``submit`` returned ``Accepted``
(``R id`` after a rejection), flushed at once, so the parent knows every acknowledged
command and which one was in flight; it runs until it is killed. Every ``FOLD_EVERY``
commands it catches the read models in the same file up, and every ``CHECKPOINT_EVERY``
it checkpoints the WAL into the file.

* ``early`` is a deliberately wrong writer that prints an id *before* ``submit``: the
  test must catch it losing an acknowledged command.
* ``threads K [crash POINT N MS]``: K threads share the ``Ledger``, each submitting its
  own stream (:func:`stream`, ids ``k<FIRST>-t<T>-<n>``) one command at a time, so their
  commands are decided in groups (group commit); no folds or checkpoints.
* ``crash POINT N MS`` installs a crash-point hook (:mod:`ledger.crashpoints`) that ends
  the process with ``os._exit`` the N-th time POINT is reached, MS milliseconds later
  (0: at once; a later exit lands inside what follows the point, e.g. SQLite's copying
  of the WAL after ``mid_checkpoint``). Before dying it prints ``crash POINT``; after
  each checkpoint returns it prints ``C checkpointed``.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading
from collections.abc import Iterator
from typing import Any

from ledger import Accepted, Command, Ledger, crashpoints
from ledger.bench.workload import wallet_mix
from projections.runner import Runner

WALLETS, MERCHANTS = 50, 5
FOLD_EVERY = 40
CHECKPOINT_EVERY = 150
CRASH_EXIT = 70


def _say(line: str) -> None:
    """One line in one ``write`` (``print`` makes one per argument, and a kill between
    them, with ``PYTHONUNBUFFERED`` set, would leave half a line)."""
    os.write(1, f"{line}\n".encode())


def _crash_at(point: str, nth: int, delay_ms: int) -> None:
    seen = 0

    def hook(reached: str) -> None:
        nonlocal seen
        if reached != point:
            return
        seen += 1
        if seen != nth:
            return
        _say(f"crash {point}")
        if delay_ms:
            threading.Timer(delay_ms / 1000, os._exit, (CRASH_EXIT,)).start()
        else:
            os._exit(CRASH_EXIT)

    crashpoints.install(hook)


def stream(first: int, today: Any, thread: int | None = None) -> Iterator[Command]:
    """The commands a writer numbered ``first`` submits (of one of its threads)."""
    if thread is None:
        return wallet_mix(first, WALLETS, MERCHANTS, today, prefix=f"k{first}-")
    return wallet_mix(first * 100 + thread, WALLETS, MERCHANTS, today, f"k{first}-t{thread}-")


def _threads(path: str, first: int, count: int) -> None:
    with Ledger.open(path, create=False) as book:
        today = book.today()

        def write(t: int) -> None:
            for command in stream(first, today, t):
                answer = "A" if isinstance(book.submit(command), Accepted) else "R"
                _say(f"{answer} {command.id}")

        workers = [threading.Thread(target=write, args=(t,), daemon=True) for t in range(count)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()


def main(path: str, first: int, mode: list[str]) -> None:
    threads = int(mode[1]) if mode[:1] == ["threads"] else 0
    mode = mode[2:] if threads else mode
    if threads:
        if mode[:1] == ["crash"]:
            _crash_at(mode[1], int(mode[2]), int(mode[3]))
        _threads(path, first, threads)
        return
    early = mode == ["early"]
    if mode[:1] == ["crash"]:
        _crash_at(mode[1], int(mode[2]), int(mode[3]))
    with Ledger.open(path, create=False) as book, Runner(book) as runner:
        commands = stream(first, book.today())
        for n, command in enumerate(itertools.islice(commands, 1_000_000), start=1):
            if early:
                _say(f"A {command.id}")
                book.submit(command)
            else:
                answer = "A" if isinstance(book.submit(command), Accepted) else "R"
                _say(f"{answer} {command.id}")
            if n % FOLD_EVERY == 0:
                runner.catch_up()
            if n % CHECKPOINT_EVERY == 0:
                book.store.checkpoint()  # type: ignore[attr-defined]
                _say("C checkpointed")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3:])
