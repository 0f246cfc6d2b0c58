"""The docs are part of the feature: their code runs and their tables match the code."""

from __future__ import annotations

import html
import importlib
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from textwrap import dedent
from typing import Any

import click
import pytest
from click.testing import CliRunner
from griffe import ModulesCollection

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


# --- the API reference (docs/api/*.md): the built site, read as a reader sees it ---------

API_PAGES = sorted(
    p.relative_to(ROOT / "docs").with_suffix("") for p in (ROOT / "docs" / "api").glob("*.md")
)
_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|data|mod|attr|exc|obj|const):")
_TAG = re.compile(r"<[^>]+>")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The documentation site, built as `make docs` builds it (strict) into a temp dir."""
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return out


def _page(site: Path, page: Path) -> str:
    return (site / page / "index.html").read_text()


def _text(markup: str) -> str:
    """What a reader sees: the tags gone, entities decoded, runs of white space as one."""
    return " ".join(html.unescape(_TAG.sub("", markup)).split())


def _entry(markup: str, path: str) -> str:
    """The HTML of the reference's entry for class ``path``, up to the next class."""
    start = markup.index(f'id="{path}"')
    end = markup.find('<div class="doc doc-object doc-class">', start)
    return markup[start : end if end != -1 else len(markup)]


@pytest.mark.slow  # builds the site
def test_the_api_reference_shows_no_sphinx_role_as_text(site: Path) -> None:
    assert {str(p) for p in API_PAGES} >= {"api/ledger", "api/projections"}
    for page in API_PAGES:
        text = _text(_page(site, page))
        assert 'class="doc doc-heading"' in _page(site, page), f"{page}: no entries"
        raw = [text[max(0, m.start() - 40) : m.end() + 40] for m in _ROLE.finditer(text)]
        assert not raw, f"{page} shows Sphinx roles as text: {raw[:5]}"


@pytest.mark.slow  # builds the site
def test_a_role_in_a_docstring_links_to_the_entry_it_names(site: Path) -> None:
    from ledger.commands.payments import Pay

    assert ":class:`Refund`" in (Pay.__doc__ or "")  # an unqualified name, resolved
    pay = _entry(_page(site, Path("api/ledger")), "ledger.commands.payments.Pay")
    link = r'<a [^>]*href="#ledger\.commands\.payments\.Refund"[^>]*><code>Refund</code></a>'
    assert re.search(link, pay)


@pytest.mark.slow  # builds the site
def test_a_role_naming_an_object_of_the_other_page_links_across(site: Path) -> None:
    from projections.runner import Runner

    assert ":class:`StoreBusy`" in (Runner.consistent.__doc__ or "")
    runner = _entry(_page(site, Path("api/projections")), "projections.runner.Runner")
    assert re.search(r'<a [^>]*href="\.\./ledger/#ledger\.errors\.StoreBusy"', runner)


def _documented_attrs_classes(page: str, packages: tuple[str, ...]) -> list[type]:
    """The attrs classes that docs/api/``page`` documents, alone or with their module."""
    import attrs

    text = (ROOT / "docs" / "api" / page).read_text()
    found = []
    for name in re.findall(r"^::: (\S+)$", text, re.M):
        if not name.startswith(packages):
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:  # a class of a module: ::: package.module.Class
            parent, _, attr = name.rpartition(".")
            candidates = [getattr(importlib.import_module(parent), attr)]
        else:
            candidates = [v for v in vars(module).values() if getattr(v, "__module__", "") == name]
        found += [c for c in candidates if isinstance(c, type) and attrs.has(c)]
    return found


@pytest.mark.slow  # builds the site
def test_each_command_and_result_entry_shows_every_field_with_its_type(site: Path) -> None:
    import attrs

    from ledger.commands.topups import TopUp

    markup = _page(site, Path("api/ledger"))
    classes = _documented_attrs_classes("ledger.md", ("ledger.commands.", "ledger.results"))
    assert TopUp in classes and len(classes) > 30
    for cls in classes:
        path = f"{cls.__module__}.{cls.__qualname__}"
        entry = _entry(markup, path)
        shown = _text(entry)
        for field in attrs.fields(cls):
            if not field.init:
                continue
            typed = f"{field.alias}: {' '.join(str(field.type).split())}"
            assert typed in shown, f"{path}: `{typed}` is not in its entry"
            if field.inherited:
                continue
            # its own entry, with its type, docstring or not
            assert f'id="{path}.{field.name}"' in entry, f"{path}.{field.name} has no entry"
    top_up = _text(_entry(markup, "ledger.commands.topups.TopUp"))
    assert "TopUp( id: str, *, wallet: str, amount_minor: int," in top_up
    assert "fee_minor: int = 0" in top_up


# --- the griffe extensions behind it (docs/_hooks/griffe_reference.py), on a small package --

_DEMO = {
    "refdemo_a/__init__.py": '''
        """A: :class:`Thing`, :func:`~refdemo_a.tools.helper`, :mod:`refdemo_b`."""
        from refdemo_a.things import Thing
        ''',
    "refdemo_a/tools.py": '''
        def helper() -> None:
            """Help."""
        ''',
    "refdemo_a/things.py": '''
        """Things."""
        from __future__ import annotations

        import attrs
        import msgspec

        from refdemo_a.tools import helper


        @attrs.frozen
        class Base:
            """Base."""

            id: str


        @attrs.frozen
        class Thing(Base):
            """Made by :func:`helper`, checked by :meth:`Thing.check`, else :class:`Missing`;
            :class:`the other <refdemo_b.Other>`, :class:`!Thing`, :attr:`size`."""

            size: int = attrs.field(kw_only=True)
            tags: list[str] = attrs.field(factory=list, kw_only=True)
            _secret: str = attrs.field(default="s", kw_only=True)

            def check(self) -> bool:
                """Its own :meth:`check`."""
                return True


        class Event(msgspec.Struct, frozen=True, kw_only=True):
            """See :class:`Other`, which only refdemo_b has."""

            amount_minor: int
            note: str = ""
        ''',
    "refdemo_b/__init__.py": '''
        class Other:
            """Other."""
        ''',
}


@pytest.fixture
def demo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ModulesCollection]:
    """refdemo_a and refdemo_b loaded by griffe with the reference's extensions, configured
    as mkdocs.yml configures them for ledger and projections."""
    from griffe import GriffeLoader, Parser, load_extensions

    for name, source in _DEMO.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(dedent(source).lstrip())
    monkeypatch.syspath_prepend(str(tmp_path))
    hook = str(ROOT / "docs" / "_hooks" / "griffe_reference.py")
    loader = GriffeLoader(
        extensions=load_extensions(
            f"{hook}:Fields", {f"{hook}:SphinxRoles": {"packages": ["refdemo_a", "refdemo_b"]}}
        ),
        search_paths=[tmp_path],
        docstring_parser=Parser.sphinx,
    )
    loader.load("refdemo_a")
    yield loader.modules_collection
    for module in [m for m in sys.modules if m.startswith("refdemo_")]:
        del sys.modules[module]


def _link(path: str, title: str) -> str:
    return f'<autoref identifier="{path}" optional>`{title}`</autoref>'


def test_roles_resolve_in_the_docstrings_scope_and_unknown_names_stay_code(
    demo: ModulesCollection,
) -> None:
    thing = demo["refdemo_a.things.Thing"].docstring.value
    assert _link("refdemo_a.tools.helper", "helper()") in thing  # an import of the module
    assert _link("refdemo_a.things.Thing.check", "Thing.check()") in thing
    assert _link("refdemo_b.Other", "the other") in thing  # an explicit title
    assert _link("refdemo_a.things.Thing.size", "size") in thing
    assert "else `Missing`;" in thing  # nothing of that name: code, no link
    assert ", `Thing`," in thing  # `!` asks for no link
    assert ":class:" not in thing and ":meth:" not in thing and ":attr:" not in thing
    assert _link("refdemo_a.things.Thing.check", "check()") in (
        demo["refdemo_a.things.Thing.check"].docstring.value
    )


def test_roles_resolve_through_reexports_and_across_the_packages(demo: ModulesCollection) -> None:
    package = demo["refdemo_a"].docstring.value
    assert _link("refdemo_a.things.Thing", "Thing") in package  # re-exported: its own path
    assert _link("refdemo_a.tools.helper", "helper()") in package  # `~`: the last name
    assert _link("refdemo_b", "refdemo_b") in package
    # not in scope, but the one object of that name in the packages (loaded on demand)
    event = demo["refdemo_a.things.Event"].docstring.value
    assert _link("refdemo_b.Other", "Other") in event


def _signature(function: Any) -> list[tuple[str, str, str | None, Any]]:
    return [
        (p.name, p.kind.value, str(p.annotation) if p.annotation else None, p.default)
        for p in function.parameters
    ]


def test_attrs_classes_and_structs_get_the_init_python_generates(demo: ModulesCollection) -> None:
    thing = demo["refdemo_a.things.Thing"]
    assert _signature(thing.members["__init__"]) == [
        ("self", "positional or keyword", None, None),
        ("id", "positional or keyword", "str", None),  # inherited from Base
        ("size", "keyword-only", "int", None),
        ("tags", "keyword-only", "list[str]", "list()"),
        ("secret", "keyword-only", "str", '"s"'),  # attrs drops the underscore
    ]
    # the field's entry: its default, not the `attrs.field(...)` call
    assert thing.members["tags"].value == "list()"
    assert thing.members["size"].value is None
    assert "instance-attribute" in thing.members["size"].labels
    event = demo["refdemo_a.things.Event"]
    assert _signature(event.members["__init__"]) == [
        ("self", "positional or keyword", None, None),
        ("amount_minor", "keyword-only", "int", None),
        ("note", "keyword-only", "str", '""'),
    ]
    assert "__init__" not in demo["refdemo_b.Other"].members  # not attrs, not a struct
