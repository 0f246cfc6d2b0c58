"""The two lanes of the suite and where its tests live.

`make test` runs every test (it is what CI runs), `make test-fast` every test not marked
``slow``; the whole fault suite is ``slow``, marked by tests/faults/conftest.py and nowhere
else. Each flow's tests have one home, tests/flows/<flow>/, named after its module in
src/ledger/flows; tests/core/ holds what is not one flow's; each read model's tests are
tests/projections/test_<module>.py and each backend's tests/backends/test_<backend>*.py."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
FAULTS = "tests/faults/"
OTHER = "tests/core/test_money.py"


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


FLOWS = ROOT / "src" / "ledger" / "flows"
"""The flow modules: src/ledger/flows/<name>.py."""

COVERS = {
    "wallet": {"topups", "payments", "transfers", "exchange", "holds", "tiers"},
    "loans": {"loans", "loan_schedule"},
}
"""The test folders that hold more than the flow module of their own name."""


def test_each_flow_has_one_test_home_named_after_it() -> None:
    # chart: only the old import path of ledger.chart, which moved beneath the flows
    modules = {p.stem for p in FLOWS.glob("*.py")} - {"__init__", "base", "chart"}
    homes = {p.name: p for p in (ROOT / "tests" / "flows").iterdir() if p.is_dir()}
    homes.pop("__pycache__", None)
    covered = {name: COVERS.get(name, {name}) for name in homes}
    for name, flows in covered.items():
        assert flows <= modules, f"tests/flows/{name}/ names no flow module: {flows - modules}"
        assert (homes[name] / "__init__.py").is_file(), f"tests/flows/{name}/ is not a package"
    every = [flow for flows in covered.values() for flow in flows]
    assert sorted(every) == sorted(set(every)), "a flow module with two test folders"
    assert set(every) == modules, "a flow module without a test folder"
    stray = sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "tests" / "flows").rglob("test_*.py")
        if p.parent.parent != ROOT / "tests" / "flows"
    )
    assert stray == [], "a test module outside tests/flows/<flow>/"


def test_no_test_module_is_left_in_the_old_unit_and_property_folders() -> None:
    for old in ("unit", "property"):
        assert list((ROOT / "tests" / old).glob("**/test_*.py")) == []


def _test_modules(folder: str) -> list[str]:
    """The names of the test modules in tests/<folder>/, without ``test_`` and ``.py``."""
    return sorted(p.stem.removeprefix("test_") for p in (ROOT / "tests" / folder).glob("test_*.py"))


def test_each_read_model_test_module_is_named_after_its_module() -> None:
    """tests/projections/test_<name>.py tests src/projections/<name>.py: one file per read
    model (balances as of and the trial balance are answered by projections.statements)."""
    modules = {p.stem for p in (ROOT / "src" / "projections").glob("*.py")}
    found = _test_modules("projections")
    assert [name for name in found if name not in modules] == []
    assert {"runner", "statements", "holds", "cod", "loans", "transactions"} <= set(found)


def test_each_backend_test_module_is_named_after_its_backend() -> None:
    """tests/backends/test_<backend>.py holds a backend's own tests, and
    test_<backend>_<topic>.py any more of them, for each store module in src/ledger/store."""
    backends = {"sqlite", "postgres"}
    assert {p.stem for p in (ROOT / "src" / "ledger" / "store").glob("*.py")} >= backends
    found = _test_modules("backends")
    assert [name for name in found if name.split("_")[0] not in backends] == []
    assert backends <= set(found)
