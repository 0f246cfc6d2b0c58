"""Fixtures every test directory shares: a throwaway PostgreSQL cluster
(src/ledger/bench/pgcluster.py), started once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ledger.bench import pgcluster as pg


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--long",
        action="store_true",
        help="the fault suite's long mode (tests/faults: hours); SATANG_FAULT_LONG=1",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--long"):  # read by tests/faults/suite.py and the writers it spawns
        os.environ["SATANG_FAULT_LONG"] = "1"


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The DSN of a PostgreSQL cluster started for this test session."""
    if pg.binaries() is None:
        reason = "no PostgreSQL server binaries here (apt-get install postgresql)"
        if pg.REQUIRED:
            pytest.fail(f"{reason}, and SATANG_REQUIRE_POSTGRES=1")
        pytest.skip(f"{reason}; SATANG_REQUIRE_POSTGRES=1 makes this a failure")
    with pg.cluster() as dsn:
        yield dsn


@pytest.fixture
def pg_dsn(postgres: str) -> str:
    """A DSN whose search_path is a new, empty schema: one ledger per test."""
    return pg.fresh_schema(postgres)
