"""The two lanes of the suite: `make test` runs every test (it is what CI runs), `make
test-fast` every test not marked ``slow``; the whole fault suite is ``slow``, marked by
tests/faults/conftest.py and nowhere else."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
FAULTS = "tests/faults/"
OTHER = "tests/unit/test_money.py"


def _collected(*args: str) -> list[str]:
    """The test ids pytest collects with ``args`` (a session of its own, in the root)."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode in (0, 5), done.stdout + done.stderr  # 5: every test deselected
    return [line for line in done.stdout.splitlines() if "::" in line]


def test_every_fault_test_is_slow_and_no_other_test_is_marked_by_its_hook() -> None:
    every = _collected(FAULTS, OTHER)
    slow = _collected("-m", "slow", FAULTS, OTHER)
    fast = _collected("-m", "not slow", FAULTS, OTHER)
    assert any(t.startswith(FAULTS) for t in every) and any(t.startswith(OTHER) for t in every)
    assert slow == [t for t in every if t.startswith(FAULTS)]
    assert fast == [t for t in every if t.startswith(OTHER)]


def _recipe(target: str) -> list[str]:
    """The command lines of a Makefile target."""
    text = (ROOT / "Makefile").read_text()
    match = re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", text, re.M)
    assert match, f"no `{target}` target in the Makefile"
    return [line.strip() for line in match.group(1).splitlines()]


def test_make_test_runs_everything_and_test_fast_leaves_out_the_slow_tests() -> None:
    [full] = [line for line in _recipe("test") if "pytest" in line]
    assert " -m " not in f"{full} " and " -k " not in f"{full} "
    [fast] = [line for line in _recipe("test-fast") if "pytest" in line]
    assert fast == full + ' -m "not slow"'
