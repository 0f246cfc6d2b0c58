"""One direction of imports (docs/architecture.md): each module imports only from its own
layer or the layers beneath it, read from the source (every import statement, at module
level, inside a function or under ``TYPE_CHECKING``), so an import hidden in a function
body cannot bring a cycle back."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src"

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "foundation",
        (
            "ledger.accounts",
            "ledger.chart",
            "ledger.commands",
            "ledger.crashpoints",
            "ledger.errors",
            "ledger.events",
            "ledger.keys",
            "ledger.money",
            "ledger.personal",
            "ledger.personal_ids",
            "ledger.policy",
            "ledger.results",
            "ledger.times",
        ),
    ),
    ("state", ("ledger.state",)),
    ("flows", ("ledger.flows",)),
    ("store", ("ledger.store",)),
    ("book", ("ledger.book", "ledger.groups", "ledger")),
    ("projections", ("projections",)),
    (
        "application",
        (
            "ledger.audit",
            "ledger.bench",
            "ledger.cli",
            "ledger.demo",
            "ledger.export",
            "ledger.seal",
            "ledger.testing",
        ),
    ),
)
"""The layers from the ground up, each with the modules (and packages) it holds."""

RANK = {"foundation": 0, "state": 1, "flows": 2, "store": 2, "book": 3, "projections": 4}
RANK["application"] = 5
SIBLINGS = {frozenset({"flows", "store"})}
"""Layers of one rank that must not import each other: the decide functions never see
the store, and the store implements the state port without a flow."""
CORE = ("foundation", "state", "flows", "store", "book")


def layer_of(module: str) -> str | None:
    """The layer of ``module``: the most specific prefix any layer names."""
    best: tuple[int, str] | None = None
    for name, prefixes in LAYERS:
        for prefix in prefixes:
            inside = module == prefix or module.startswith(prefix + ".")
            if inside and (best is None or len(prefix) > best[0]):
                best = (len(prefix), name)
    return None if best is None else best[1]


def modules() -> dict[str, Path]:
    """Every module under src/, by dotted name."""
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = modules()


def imports(module: str, source: str | None = None) -> list[tuple[int, str]]:
    """Every module ``module`` imports (line, dotted name), wherever the statement is;
    ``from package import name`` counts as importing ``package.name`` when that is a
    module. ``source`` stands for the module's file when given."""
    path = MODULES.get(module, SRC / (module.replace(".", "/") + ".py"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    text = path.read_text() if source is None else source
    found = []
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.append((node.lineno, full if full in MODULES else base))
    return found


def crossings(sources: dict[str, str | None] | None = None) -> list[str]:
    """Every import that runs up the layers or across to a sibling, in every module of
    src/ (or in ``sources``: module name to its text, None to read its file)."""
    wrong = []
    for module, source in (sources or dict.fromkeys(MODULES)).items():
        mine = layer_of(module)
        assert mine is not None, f"{module} is in no layer: add it to LAYERS"
        for line, target in imports(module, source):
            theirs = layer_of(target)
            if theirs is None or theirs == mine:
                continue
            if RANK[theirs] > RANK[mine] or frozenset({mine, theirs}) in SIBLINGS:
                wrong.append(f"{module}:{line} ({mine}) imports {target} ({theirs})")
    return wrong


def test_every_import_runs_down_the_layers() -> None:
    assert crossings() == []


def test_the_core_never_imports_the_read_models() -> None:
    for module in MODULES:
        if layer_of(module) in CORE:
            for line, target in imports(module):
                assert layer_of(target) != "projections", f"{module}:{line} imports {target}"


def test_a_function_local_import_up_the_layers_is_caught() -> None:
    """The reader sees an import inside a function body as well as one at the top, and
    one under TYPE_CHECKING."""
    planted = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from ledger.book import Ledger\n"
        "def f():\n"
        "    from projections.runner import Runner\n"
        "    return Runner\n"
    )
    assert crossings({"ledger.state.planted": planted}) == [
        "ledger.state.planted:3 (state) imports ledger.book (book)",
        "ledger.state.planted:5 (state) imports projections.runner (projections)",
    ]


def test_the_names_ledger_loads_on_first_use_are_at_most_the_books() -> None:
    """``ledger.__getattr__`` imports by name (``importlib``), which no import statement
    shows: its table may name only the book's layer or below."""
    import ledger

    for name, module in ledger._ABOVE.items():
        assert RANK[layer_of(module) or "application"] <= RANK["book"], (name, module)


@pytest.mark.parametrize(
    ("module", "unwanted"),
    [
        ("ledger.store.sqlite", ("ledger.flows", "ledger.book", "projections")),
        ("ledger.store.postgres", ("ledger.flows", "ledger.book", "projections")),
        ("ledger.state.loans", ("ledger.flows", "ledger.store", "projections")),
        ("ledger.flows", ("ledger.store", "ledger.book", "projections")),
        ("ledger.book", ("projections", "ledger.audit", "ledger.cli")),
    ],
)
def test_importing_a_module_loads_nothing_above_it(module: str, unwanted: tuple[str, ...]) -> None:
    """At run time too, in a fresh interpreter: importing the SQLite store loads no flow
    (``ledger``'s own ``__init__`` loads the book only when ``Ledger`` is first used)."""
    script = (
        f"import sys, {module}\nprint(sorted(m for m in sys.modules if m.startswith({unwanted!r})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]", out
