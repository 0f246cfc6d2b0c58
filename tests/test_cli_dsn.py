"""Ledgers on PostgreSQL named by a keyword DSN (``host=... dbname=...``) on the command
line, as by a URL; no password in any line the verbs print."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from ledger import Ledger
from ledger.cli import main
from tests.golden import wallet_day

SECRET = "hunter2-secret"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert SECRET not in result.output + result.stderr, "a password was printed"
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def keyword_dsn(pg_dsn: str) -> str:
    """The test's schema as a keyword DSN, with a password (the cluster trusts anyone)."""
    return make_conninfo(pg_dsn, password=f"{SECRET} x")


def test_a_keyword_dsn_names_a_ledger_on_postgresql(keyword_dsn: str, tmp_path: Path) -> None:
    assert "password='hunter2-secret x'" in keyword_dsn
    source = tmp_path / "wallet.db"
    wallet_day.build(source)
    code, out, err = run("migrate", "--from", str(source), "--to", keyword_dsn)
    assert code == 0, err
    assert "copied 47 events" in out and "password=***" in out
    with Ledger.open(source, create=False, readonly=True) as book:
        seq, digest = book.head()
    assert run("head", "--db", keyword_dsn) == (0, f"{seq}:{digest}\n", "")
    assert run("timezone", "--db", keyword_dsn) == (0, "Asia/Bangkok\n", "")
    code, out, _ = run("balance", "--db", keyword_dsn, "wallet:ploy", "--json")
    assert code == 0 and '"account": "wallet:ploy"' in out
    code, out, err = run(
        "report", "activity", "--db", keyword_dsn, "--date", "2026-03-02", "--format", "json"
    )
    assert code == 0 and '"report": "activity"' in out, err


def test_errors_on_a_keyword_dsn_never_show_its_password(keyword_dsn: str) -> None:
    parts = conninfo_to_dict(keyword_dsn)
    wrong = make_conninfo(**{**parts, "dbname": "no_such_database"})
    code, out, err = run("head", "--db", wrong)
    (line,) = err.splitlines()
    assert code == 1 and out == "" and "password=***" in line and "cannot connect" in line
    empty = make_conninfo(keyword_dsn, options="-csearch_path=no_such_schema")
    code, _, err = run("head", "--db", empty)
    assert code == 1 and "password=***" in err


@pytest.mark.parametrize(
    "dsn",
    [
        f"host=127.0.0.1 port=1 dbname=x user=u password={SECRET}",
        f"host=127.0.0.1 port=1 password='{SECRET} with blanks'",
        f"postgresql://u:{SECRET}@127.0.0.1:1/x",
        f"postgresql://u@127.0.0.1:1/x?password={SECRET}",
        f"host=127.0.0.1 password={SECRET} with blanks",  # libpq would refuse it
        f"host=127.0.0.1 colour=blue password={SECRET}",
        f"postgresql://u:{SECRET}@with-an-at@127.0.0.1:1/x",  # libpq would split it at the @
        f"postgresql://u:{SECRET}/slash@127.0.0.1:1/x",
    ],
)
def test_no_password_in_any_message(dsn: str) -> None:
    for args in (["head", "--db", dsn], ["verify", "--db", dsn], ["timezone", "--db", dsn]):
        code, out, err = run(*args)
        assert code in (1, 2) and out == ""
        (line,) = err.splitlines()
        assert "***" in line
