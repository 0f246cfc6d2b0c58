"""Every script in examples/ runs to completion (its asserts are the story's facts), and
what a docs page shows it printing is what it prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("[0-9]*.py"))
_PRINTS = re.compile(
    r"\[`examples/([0-9][\w.]*\.py)`\]\([^)]*\) prints:\s*```text\n(.*?)^```", re.S | re.M
)


def _run(script: Path, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env=None if env is None else {**os.environ, **env},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_there_are_examples() -> None:
    assert EXAMPLES


def _env(script: Path, request: pytest.FixtureRequest) -> dict[str, str] | None:
    """The PostgreSQL example runs on the session's cluster (tests/conftest.py)."""
    if "postgres" not in script.name:
        return None
    return {"SATANG_DSN": request.getfixturevalue("postgres")}


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    _run(script, tmp_path, _env(script, request))
    assert list(tmp_path.iterdir()) == [], "an example left files behind"


SHOWN = [
    (page, name, text)
    for page in sorted((ROOT / "docs").rglob("*.md"))
    for name, text in _PRINTS.findall(page.read_text())
]


def test_some_page_shows_an_example_printing() -> None:
    assert SHOWN


@pytest.mark.parametrize("page,name,text", SHOWN, ids=lambda v: getattr(v, "name", str(v)[:12]))
def test_a_page_shows_what_its_example_prints(
    page: Path, name: str, text: str, tmp_path: Path
) -> None:
    assert _run(ROOT / "examples" / name, tmp_path) == text, f"{page.name} shows old output"
