"""The docs are part of the feature: their code runs and their tables match the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ledger import RejectCode
from ledger.cli import main

ROOT = Path(__file__).parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def _blocks() -> list[tuple[str, int, str]]:
    found = []
    for page in PAGES:
        for i, match in enumerate(_BLOCK.finditer(page.read_text())):
            found.append((page.name, i, match.group(1)))
    return found


def test_docs_have_code() -> None:
    assert len(_blocks()) >= 5


@pytest.mark.parametrize("page,index,code", _blocks(), ids=lambda v: str(v)[:20])
def test_python_blocks_run(page: str, index: int, code: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"{page}[{index}]", "exec"), {"__name__": "__docs__"})


def test_reject_code_table_lists_every_code_in_order() -> None:
    text = (ROOT / "docs" / "errors.md").read_text()
    listed = re.findall(r"^\| `([a-z_]+)` \|", text, re.M)
    assert listed == [code.value for code in RejectCode]


def test_every_cli_command_is_documented() -> None:
    text = "\n".join(p.read_text() for p in PAGES)
    for name in main.commands:
        assert f"satang {name}" in text, f"`satang {name}` is not in README.md or docs/"


def test_docs_link_to_existing_pages() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+\.md)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
