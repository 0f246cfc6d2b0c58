"""The docs are part of the feature: their code runs and their tables match the code."""

from __future__ import annotations

import re
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ledger import RejectCode
from ledger.cli import main
from ledger.errors import RejectCategory

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


def test_reject_code_table_gives_each_code_its_category() -> None:
    text = (ROOT / "docs" / "errors.md").read_text()
    rows = re.findall(r"^\| `([a-z_]+)` \| ([a-z_]+) \|", text, re.M)
    assert rows == [(code.value, code.category.value) for code in RejectCode]


def test_the_category_table_lists_every_category_in_order() -> None:
    text = (ROOT / "docs" / "errors.md").read_text()
    listed = re.findall(r"^\| ([a-z_]+) \| [A-Z]", text, re.M)
    assert listed == [category.value for category in RejectCategory]


def test_every_cli_command_is_documented() -> None:
    text = "\n".join(p.read_text() for p in PAGES)
    for name in main.commands:
        assert f"satang {name}" in text, f"`satang {name}` is not in README.md or docs/"


def _cli_rows() -> dict[str, tuple[str, str]]:
    """docs/cli.md's table: verb -> (its synopsis, the whole row)."""
    rows = {}
    text = (ROOT / "docs" / "cli.md").read_text()
    for match in re.finditer(r"^\| `satang ([^`]+)` \|.*$", text, re.M):
        verb = match.group(1).split()[0]
        assert verb not in rows, f"docs/cli.md has two rows for satang {verb}"
        rows[verb] = (match.group(1), match.group(0))
    return rows


def test_the_cli_reference_has_a_row_for_every_command_and_no_other() -> None:
    assert set(_cli_rows()) == set(main.commands)


@pytest.mark.parametrize("verb", sorted(main.commands))
def test_the_cli_reference_row_matches_satang_help(verb: str) -> None:
    """Every option `satang VERB --help` lists is in the row's synopsis and no other;
    every argument is; every choice of an option or argument is in the row."""
    synopsis, row = _cli_rows()[verb]
    shown = CliRunner().invoke(main, [verb, "--help"])
    assert shown.exit_code == 0, shown.output
    helped = set(re.findall(r"^\s+(--[a-z][a-z-]*)", shown.output, re.M)) - {"--help"}
    documented = set(re.findall(r"--[a-z][a-z-]*", synopsis))
    assert documented == helped, (
        f"satang {verb}: docs {sorted(documented)}, --help {sorted(helped)}"
    )
    command = main.commands[verb]
    for param in command.params:
        if isinstance(param, click.Argument):
            assert param.human_readable_name in synopsis, f"{verb}: {param.human_readable_name}"
        if isinstance(param.type, click.Choice):
            for choice in param.type.choices:
                assert str(choice) in row, f"satang {verb}: choice {choice!r} is not documented"


def test_docs_link_to_existing_pages() -> None:
    for page in PAGES:
        for target in re.findall(r"\]\(([^)#:]+\.md)", page.read_text()):
            assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
