"""The backends the contention tests run on."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, Path | None]:
    """The ledger (a SQLite file, or a PostgreSQL schema) and where its read models go
    (the ledger's own file, or a SQLite file beside a PostgreSQL ledger)."""
    if request.param == "sqlite":
        return str(tmp_path / "hot.db"), None
    return request.getfixturevalue("pg_dsn"), tmp_path / "reads.db"
