"""MkDocs hook: the docs link to files of the repository (examples, the README, the
changelog, sources); the site carries a copy of each under ``repo/``.

Links are checked, not trusted: a link to a repository file that does not exist is a
warning, which ``mkdocs build --strict`` turns into a failure, like any broken link
between pages. Pages of the site are left to MkDocs' own link validation.
"""

from __future__ import annotations

import logging
import posixpath
import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

log = logging.getLogger("mkdocs.hooks.repo_links")

LINK = re.compile(r"\]\(([^)\s#]+)(#[^)\s]*)?\)")
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
PREFIX = "repo"


def _prose(markdown: str) -> str:
    """The page without its fenced code blocks (a link written inside one is text)."""
    return FENCE.sub("", markdown)


def _outside(page_uri: str, target: str) -> str | None:
    """The repository path ``target`` names from page ``page_uri`` if it leaves docs/."""
    if "://" in target or target.startswith(("mailto:", "/")):
        return None
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(page_uri), target))
    return joined[3:] if joined.startswith("../") else None


def _root(config: Any) -> Path:
    return Path(config["docs_dir"]).parent


def on_files(files: Files, config: Any) -> Files:
    root = _root(config)
    wanted: set[str] = set()
    for page in files.documentation_pages():
        for match in LINK.finditer(_prose(Path(page.abs_src_path or "").read_text())):
            path = _outside(page.src_uri, match.group(1))
            if path is None:
                continue
            if path.startswith("../") or not (root / path).is_file():
                log.warning("%s links to %s, which is not in the repository", page.src_uri, path)
                continue
            wanted.add(path)
    for path in sorted(wanted):
        # a copy as it is (README.md as text, not rendered as a page of its own)
        files.append(
            File.generated(
                config,
                f"{PREFIX}/{path}.txt" if path.endswith(".md") else f"{PREFIX}/{path}",
                abs_src_path=str(root / path),
            )
        )
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    def relink(match: re.Match[str]) -> str:
        path = _outside(page.file.src_uri, match.group(1))
        if path is None or path.startswith("../"):
            return match.group(0)
        copy = f"{PREFIX}/{path}.txt" if path.endswith(".md") else f"{PREFIX}/{path}"
        relative = posixpath.relpath(copy, posixpath.dirname(page.file.src_uri) or ".")
        return f"]({relative}{match.group(2) or ''})"

    def prose(part: str) -> str:
        return LINK.sub(relink, part)

    # rewrite outside the code fences only
    out, at = [], 0
    for fence in FENCE.finditer(markdown):
        out += [prose(markdown[at : fence.start()]), fence.group(0)]
        at = fence.end()
    return "".join([*out, prose(markdown[at:])])
