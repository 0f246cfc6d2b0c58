"""``satang export``: JSON lines that are the log, CSV postings that sum to the balances,
and a beancount ledger that beancount itself accepts and whose balances equal ours."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import data
from click.testing import CliRunner

from ledger import Ledger
from ledger.accounts import AccountType
from ledger.cli import main
from ledger.export import beancount_name
from ledger.money import to_decimal
from tests.golden import cod_loans, wallet_day


@pytest.fixture(scope="module", params=["wallet_day", "cod_loans"])
def log(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("export") / f"{request.param}.db"
    {"wallet_day": wallet_day, "cod_loans": cod_loans}[request.param].build(path)
    return path


def _export(path: Path, fmt: str) -> str:
    result = CliRunner().invoke(main, ["export", "--db", str(path), "--format", fmt])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_beancount_accepts_the_ledger_and_its_balances_are_ours(log: Path) -> None:
    text = _export(log, "beancount")
    entries, errors, _ = loader.load_string(text)
    assert errors == [], [str(e.message) for e in errors[:5]]
    names = {e.meta["satang_id"]: e.account for e in entries if isinstance(e, data.Open)}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    transactions = 0
    for entry in entries:
        if isinstance(entry, data.Transaction):
            transactions += 1
            for posting in entry.postings:
                totals[posting.account] += posting.units.number
    with Ledger.open(log, create=False) as book:
        balances = book.balances()
        entries_with_posted_legs = sum(
            1
            for rec in book.events()
            if any(p.phase == "posted" for p in getattr(rec.event, "postings", ()))
        )
    assert set(names) == {b.account for b in balances}, "every account is opened"
    assert transactions == entries_with_posted_legs, "every entry is there"
    for b in balances:
        net = to_decimal(b.debits_posted - b.credits_posted, b.currency)
        assert totals[names[b.account]] == net, b.account


def test_the_jsonl_export_is_the_log_and_the_csv_sums_to_the_balances(log: Path) -> None:
    lines = _export(log, "jsonl").splitlines()
    with Ledger.open(log, create=False) as book:
        log_events = list(book.events())
        balances = {b.account: b for b in book.balances()}
    assert [json.loads(line)["hash"] for line in lines] == [r.hash for r in log_events]
    rows = list(csv.DictReader(io.StringIO(_export(log, "csv"))))
    sums: dict[tuple[str, str, str], int] = defaultdict(int)
    for row in rows:
        sums[row["account"], row["side"], row["phase"]] += int(row["amount_minor"])
    for account, b in balances.items():
        assert sums[account, "debit", "posted"] == b.debits_posted, account
        assert sums[account, "credit", "posted"] == b.credits_posted, account


def test_beancount_names_are_valid_and_distinct() -> None:
    assert beancount_name("wallet:U_1", AccountType.LIABILITY) == "Liabilities:Wallet:U-1"
    assert beancount_name("bank:scb.trust", AccountType.ASSET) == "Assets:Bank:Scb-trust"
    assert beancount_name("x:_odd", AccountType.EXPENSE) == "Expenses:X:X-odd"
    assert beancount_name("7eleven:cash", AccountType.ASSET) == "Assets:7eleven:Cash"
