"""The backends the contention tests run on, and the ``slow`` mark on every test here.

The fault suite kills processes, cuts power and waits out contention: all of it is
``slow``, so ``make test-fast`` (``-m "not slow"``) leaves it out and ``make test`` runs it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
"""This folder: the tests collected from under it are the fault suite."""


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by mark
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``slow`` every test collected from this folder (the hook sees the whole
    session's items, so the others are left as they are)."""
    for item in items:
        if item.path.resolve().is_relative_to(HERE):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path | None]:
    """The ledger (a SQLite file, or a PostgreSQL schema) and where its read models go
    (the ledger's own file, or a SQLite file beside a PostgreSQL ledger)."""
    if request.param == "sqlite":
        return str(tmp_path / "hot.db"), None
    return request.getfixturevalue("pg_dsn"), tmp_path / "reads.db"
