"""A writer to kill: ``python -m tests.faults.writer DB FIRST [early]``.

Submits commands of the standard mix to the ledger in DB, one ``submit`` at a time,
numbered from FIRST, and prints each command's id only after ``submit`` returned
``Accepted`` (flushed at once), so the parent knows every acknowledged command; it runs
until it is killed. With ``early`` it is a deliberately wrong writer that prints an id
before ``submit``: the test must catch it losing an acknowledged command.
"""

from __future__ import annotations

import itertools
import sys
from datetime import date

from benchmarks.workload import wallet_mix
from ledger import Accepted, Ledger

WALLETS, MERCHANTS = 50, 5


def main(path: str, first: int, early: bool = False) -> None:
    with Ledger.open(path, create=False) as book:
        stream = wallet_mix(first, WALLETS, MERCHANTS, date.today(), prefix=f"k{first}-")
        for command in itertools.islice(stream, 1_000_000):
            if early:
                print(command.id, flush=True)
                book.submit(command)
            elif isinstance(book.submit(command), Accepted):
                print(command.id, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), early=sys.argv[3:] == ["early"])
