"""``satang report`` on the golden logs: every report in every format, the exit status on
a finding, usage errors, the read models kept where asked."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from ledger import Credit, Debit, Ledger, OpenAccount, PostEntry
from ledger.cli import main
from projections.reports import REPORTS
from tests.golden import cod_loans, wallet_day

ARGS = {
    "safeguarding": ("--date", "2026-03-03"),
    "activity": ("--from", "2026-03-02", "--to", "2026-03-03"),
    "aml": ("--from", "2026-03-02", "--to", "2026-03-04"),
    "loan-portfolio": ("--date", "2026-05-12"),
    "cod": ("--date", "2026-05-12"),
}
LOG = {
    "safeguarding": "wallet",
    "activity": "wallet",
    "aml": "wallet",
    "loan-portfolio": "cod_loans",
    "cod": "cod_loans",
}


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("golden")
    wallet_day.build(where / "wallet.db")
    cod_loans.build(where / "cod_loans.db")
    return {"wallet": where / "wallet.db", "cod_loans": where / "cod_loans.db"}


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_every_report_is_offered() -> None:
    assert sorted(ARGS) == sorted(REPORTS)


@pytest.mark.parametrize("name", sorted(ARGS))
def test_each_report_in_each_format(name: str, logs: dict[str, Path], tmp_path: Path) -> None:
    reads = str(tmp_path / "reads.db")
    db = str(logs[LOG[name]])
    code, table, _ = run("report", name, "--db", db, *ARGS[name], "--reads", reads)
    assert code == 0, table
    assert table.splitlines()[0] and "(none)" not in table.splitlines()[0]
    code, text, _ = run(
        "report", name, "--db", db, *ARGS[name], "--reads", reads, "--format", "json"
    )
    assert code == 0
    document = json.loads(text)
    assert document["report"] == name and document["ok"] is True
    assert document["sections"], "a report has sections"
    code, text, _ = run(
        "report", name, "--db", db, *ARGS[name], "--reads", reads, "--format", "csv"
    )
    assert code == 0
    blocks = text.split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [f"# section: {s}" for s in document["sections"]]
    for block, (section, records) in zip(blocks, document["sections"].items(), strict=True):
        rows = list(csv.DictReader(io.StringIO(block.split("\n", 1)[1])))
        assert len(rows) == len(records), section
        if records:
            assert list(rows[0]) == list(records[0])


def test_read_models_go_into_the_ledger_file_unless_told_otherwise(
    logs: dict[str, Path], tmp_path: Path
) -> None:
    copy = tmp_path / "copy.db"
    copy.write_bytes(logs["wallet"].read_bytes())

    def tables() -> set[str]:
        with sqlite3.connect(copy) as conn:
            return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}

    before = tables()
    assert not any(t.startswith("proj_") for t in before)
    assert (
        run("report", "cod", "--db", str(copy), "--date", "2026-03-03", "--reads", ":memory:")[0]
        == 0
    )
    assert tables() == before, "--reads :memory: leaves the ledger file as it was"
    assert run("report", "cod", "--db", str(copy), "--date", "2026-03-03")[0] == 0
    assert "proj_checkpoints" in tables()


def test_a_safeguarding_shortfall_exits_1_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "short.db"
    with Ledger.open(path) as book:
        chart = book.chart
        book.open_chart()
        book.submit_many(
            [
                chart.open_wallet("wallet:U1"),
                OpenAccount(id="o-eq", account="equity:owner", type="equity", currency="THB"),
                # Credited to a wallet without the cash reaching the trust account.
                PostEntry(
                    id="bad",
                    kind="adjustment",
                    postings=[Debit("equity:owner", 12_345), Credit("wallet:U1", 12_345)],
                ),
            ]
        )
        day = book.today().isoformat()
    code, out, _ = run("report", "safeguarding", "--db", str(path), "--date", day)
    assert code == 1
    assert "123.45" in out and "!!" in out
    code, out, err = run(
        "report", "safeguarding", "--db", str(path), "--date", day, "--format", "json"
    )
    assert code == 1 and json.loads(out)["ok"] is False
    assert "FINDING" in err


@pytest.mark.parametrize(
    "args",
    [
        ("safeguarding",),
        ("safeguarding", "--from", "2026-03-01", "--to", "2026-03-02"),
        ("activity", "--from", "2026-03-01"),
        ("activity", "--date", "2026-03-01", "--to", "2026-03-02"),
        ("cod", "--date", "2026-13-01"),
        ("cod", "--date", "2026-03-01", "--equity", "10.00"),
        ("safeguarding", "--date", "2026-03-01", "--equity", "ten"),
        ("nope", "--date", "2026-03-01"),
        ("cod", "--date", "2026-03-01", "--format", "xml"),
    ],
    ids=lambda a: " ".join(a),
)
def test_usage_errors_exit_2(args: tuple[str, ...], logs: dict[str, Path]) -> None:
    name, *rest = args
    code, _, _ = run("report", name, "--db", str(logs["wallet"]), *rest, "--reads", ":memory:")
    assert code == 2


def test_a_period_backwards_is_a_one_line_error(logs: dict[str, Path]) -> None:
    code, _, err = run(
        "report",
        "activity",
        "--db",
        str(logs["wallet"]),
        "--from",
        "2026-03-03",
        "--to",
        "2026-03-02",
        "--reads",
        ":memory:",
    )
    assert code == 1 and "Error:" in err


def test_a_long_catch_up_shows_progress(
    logs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ledger.cli

    monkeypatch.setattr(ledger.cli, "PROGRESS_FROM_EVENTS", 1)
    code, out, err = run(
        "report", "cod", "--db", str(logs["wallet"]), "--date", "2026-03-03", "--reads", ":memory:"
    )
    assert code == 0
    assert "folding the log into the read models" in err
    assert "folding" not in out


def test_known_at_gives_the_report_as_filed(logs: dict[str, Path]) -> None:
    db = str(logs["wallet"])
    code, out, _ = run(
        "report",
        "safeguarding",
        "--db",
        db,
        "--date",
        "2026-03-02",
        "--known-at",
        "34",
        "--format",
        "json",
    )
    filed = json.loads(out)
    assert code == 0 and filed["log_seq"] == 34
    assert filed["sections"]["check"][0]["trust_minor"] == 15_750_000
    code, out, _ = run(
        "report",
        "safeguarding",
        "--db",
        db,
        "--date",
        "2026-03-02",
        "--reads",
        ":memory:",
        "--format",
        "json",
    )
    assert json.loads(out)["sections"]["check"][0]["trust_minor"] == 15_850_000


def test_known_at_past_the_head_and_stale_read_models_are_clear_errors(
    logs: dict[str, Path], tmp_path: Path
) -> None:
    db = str(logs["wallet"])
    code, _, err = run("report", "cod", "--db", db, "--date", "2026-03-03", "--known-at", "999")
    assert code == 2 and "the log ends at seq 47" in err
    reads = str(tmp_path / "reads.db")
    assert run("report", "cod", "--db", db, "--date", "2026-03-03", "--reads", reads)[0] == 0
    other = str(logs["cod_loans"])
    code, _, err = run("report", "cod", "--db", other, "--date", "2026-03-03", "--reads", reads)
    assert code == 1 and "another ledger" in err and "--reads :memory:" in err
