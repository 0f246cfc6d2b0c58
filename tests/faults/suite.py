"""What every fault test shares: how long it runs, and where it records its figures.

* ``pytest --long`` (tests/conftest.py), or ``SATANG_FAULT_LONG=1``, is the long mode:
  every test runs its long count of rounds (hours in all, not minutes). The option sets
  the variable, which reaches the spawned writers too.
* ``SATANG_FAULT_REPORT=FILE`` makes each test append one JSON line of its figures to
  FILE: rounds, what was lost (always 0 on a green run) and its own measurements.
  ``python -m tests.faults.report`` runs the suite with it set and prints the table of
  docs/reliability.md.
"""

from __future__ import annotations

import json
import os
from typing import Any

LONG = os.environ.get("SATANG_FAULT_LONG") == "1"


def scale(short: int, long: int) -> int:
    """``long`` in the long mode, else ``short``."""
    return long if LONG else short


def record(test: str, *, rounds: int, lost: int | None, **figures: Any) -> None:
    """Append this test's figures to ``$SATANG_FAULT_REPORT``, if it is set. ``lost``
    is what the test counted of acknowledged commands missing afterwards (it asserts it
    is 0, so a run with a loss fails first); None for a test with no acknowledgements."""
    path = os.environ.get("SATANG_FAULT_REPORT")
    if not path:
        return
    line = json.dumps({"test": test, "rounds": rounds, "lost": lost, **figures}, sort_keys=True)
    with open(path, "a", encoding="utf-8") as out:
        out.write(line + "\n")
