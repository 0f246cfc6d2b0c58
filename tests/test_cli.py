"""The ``satang`` verbs on a real file: output, JSON, exit codes, tampering found."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from ledger import Credit, Debit, Ledger, OpenAccount, PostEntry
from ledger.cli import main
from tests.tampering import changed_payload


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "cli.db"
    with Ledger.open(path) as book:
        book.submit_many(
            [
                OpenAccount(id="o1", account="bank:trust", type="asset", currency="THB"),
                OpenAccount(id="o2", account="wallet:U1", type="liability", currency="THB"),
                PostEntry(
                    id="t1",
                    kind="top_up",
                    postings=[Debit("bank:trust", 123_456), Credit("wallet:U1", 123_456)],
                ),
            ]
        )
    return path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_balance_text_json_and_as_of(db: Path) -> None:
    code, out = run("balance", "--db", str(db), "wallet:U1")
    assert code == 0 and "1,234.56 THB" in out
    code, out = run("balance", "--db", str(db), "wallet:U1", "--json")
    assert json.loads(out)["balance"] == 123_456
    code, out = run("balance", "--db", str(db), "wallet:U1", "--as-of", "2", "--json")
    assert json.loads(out)["balance"] == 0


def test_balance_of_an_unknown_account_fails_with_a_message(db: Path) -> None:
    code, out = run("balance", "--db", str(db), "wallet:nobody")
    assert code == 1 and "no account" in out


def test_events_are_json_lines(db: Path) -> None:
    code, out = run("events", "--db", str(db), "--after", "1")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and [x["seq"] for x in lines] == [2, 3]
    assert lines[1]["event"]["postings"][0]["amount_minor"] == 123_456


def test_head_matches_the_ledger(db: Path) -> None:
    code, out = run("head", "--db", str(db))
    with Ledger.open(db) as book:
        seq, digest = book.head()
    assert code == 0 and out.strip() == f"{seq}:{digest}"


def test_verify_is_clean_then_finds_tampering(db: Path) -> None:
    code, out = run("verify", "--db", str(db))
    assert code == 0 and out.strip().endswith("ok")
    raw = sqlite3.connect(db)
    raw.execute("DROP TRIGGER events_no_update")
    raw.execute(f"UPDATE events SET payload = {changed_payload(123456, 923456)} WHERE seq = 3")
    raw.commit()
    raw.close()
    code, out = run("verify", "--db", str(db), "--json")
    report = json.loads(out)
    assert code == 1
    checks = {(f["check"], f["seq"]) for f in report["findings"]}
    assert ("hash_chain", 3) in checks


def test_a_file_that_is_not_a_ledger_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"definitely not sqlite" * 100)
    code, out = run("head", "--db", str(junk))
    assert code == 1 and "not" in out


def test_verify_reports_a_row_of_the_wrong_type(db: Path) -> None:
    raw = sqlite3.connect(db)
    raw.execute("DROP TRIGGER events_no_update")
    raw.execute("UPDATE events SET payload = 'garbage' WHERE seq = 2")
    raw.commit()
    raw.close()
    code, out = run("verify", "--db", str(db))
    assert code == 1 and "FINDING readable at seq 2" in out


def test_read_verbs_never_create_or_change_a_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    code, out = run("head", "--db", str(missing))
    assert code == 2 and not missing.exists()  # click refuses a path that does not exist
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    code, out = run("head", "--db", str(empty))
    assert code == 1 and "holds no Satang ledger" in out
    assert empty.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


def test_bad_arguments_are_usage_errors(db: Path) -> None:
    assert run("events", "--db", str(db), "--after", "-5")[0] == 2
    assert run("balance", "--db", str(db), "wallet:U1", "--as-of", "\u0663")[0] == 2
    assert run("balance", "--db", str(db), "wallet:U1", "--as-of", "not-a-time")[0] == 2


def test_a_damaged_log_is_a_message_not_a_traceback(db: Path) -> None:
    raw = sqlite3.connect(db)
    raw.execute("DROP TRIGGER events_no_update")
    raw.execute("UPDATE events SET recorded_at = 'x' WHERE seq = 2")
    raw.commit()
    raw.close()
    result = CliRunner().invoke(main, ["events", "--db", str(db)])
    assert result.exit_code == 1 and "event seq 2 has columns of the wrong types" in result.output
    assert isinstance(result.exception, SystemExit)  # click's exit, not a traceback
    code, out = run("verify", "--db", str(db))
    assert code == 1 and "FINDING readable at seq 2" in out


def test_read_verbs_leave_a_ledger_byte_for_byte_unchanged(db: Path) -> None:
    before = db.read_bytes()
    for args in (
        ["head"],
        ["events"],
        ["balance", "wallet:U1"],
        ["verify"],
    ):
        code, _ = run(args[0], "--db", str(db), *args[1:])
        assert code == 0, args
    assert db.read_bytes() == before


def test_verify_with_an_anchor(db: Path) -> None:
    code, out = run("head", "--db", str(db))
    anchor = out.strip()
    assert run("verify", "--db", str(db), "--anchor", anchor)[0] == 0
    seq, digest = anchor.split(":")
    code, out = run("verify", "--db", str(db), "--anchor", f"{int(seq) + 1}:{digest}")
    assert code == 1 and f"FINDING anchor at seq {int(seq) + 1}" in out
    assert run("verify", "--db", str(db), "--anchor", "nonsense")[0] == 2


def test_replay_materialises_the_read_models_at_a_seq_or_a_time(db: Path, tmp_path: Path) -> None:
    out = tmp_path / "at-2.db"
    code, text = run("replay", "--db", str(db), "--until", "2", "--out", str(out))
    assert code == 0 and "seq 1..2 of 3" in text
    with sqlite3.connect(out) as conn:
        assert {s for (s,) in conn.execute("SELECT seq FROM proj_checkpoints")} == {2}
        rows = conn.execute("SELECT account, credits_posted FROM proj_accounts").fetchall()
    assert sorted(rows) == [("bank:trust", 0), ("wallet:U1", 0)]  # opened, the top-up not yet
    with Ledger.open(db) as book:
        last = list(book.events())[-1]
    at_time = tmp_path / "at-time.db"
    when = last.recorded_at.isoformat()
    assert run("replay", "--db", str(db), "--until", when, "--out", str(at_time))[0] == 0
    with sqlite3.connect(at_time) as conn:
        (credits,) = conn.execute(
            "SELECT credits_posted FROM proj_accounts WHERE account = 'wallet:U1'"
        ).fetchone()
    assert credits == 123_456
    assert run("replay", "--db", str(db), "--until", "2", "--out", str(out))[0] == 2  # exists
    assert run("replay", "--db", str(db), "--until", "9", "--out", str(tmp_path / "x.db"))[0] == 2
    naive = last.recorded_at.replace(tzinfo=None).isoformat()
    assert run("replay", "--db", str(db), "--until", naive, "--out", str(tmp_path / "y.db"))[0] == 2


def test_statement_prints_lines_with_running_balances(db: Path) -> None:
    code, out = run("statement", "--db", str(db), "wallet:U1", "--reads", ":memory:")
    assert code == 0
    (line,) = out.splitlines()
    assert line.split()[0] == "3" and line.split()[-2:] == ["1,234.56", "1,234.56"]
    code, out = run("statement", "--db", str(db), "bank:trust", "--json", "--reads", ":memory:")
    record = json.loads(out)
    assert (record["seq"], record["signed_minor"], record["balance_minor"]) == (3, 123_456, 123_456)
    result = CliRunner().invoke(
        main, ["statement", "--db", str(db), "wallet:U1", "--limit", "1", "--after", "0:0:0"]
    )
    assert result.exit_code == 0 and result.stdout.startswith("       3")
    assert run("statement", "--db", str(db), "wallet:NOPE", "--reads", ":memory:")[0] == 1
    assert run("statement", "--db", str(db), "wallet:U1", "--after", "x")[0] == 2


def test_a_long_verify_shows_progress(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ledger.cli

    monkeypatch.setattr(ledger.cli, "PROGRESS_FROM_EVENTS", 1)
    result = CliRunner().invoke(main, ["verify", "--db", str(db)])
    assert result.exit_code == 0
    assert "verifying the log" in result.stderr and "verifying" not in result.stdout


def test_events_tail_and_filters(db: Path) -> None:
    def seqs(*args: str) -> list[int]:
        code, out = run("events", "--db", str(db), *args)
        assert code == 0
        return [json.loads(line)["seq"] for line in out.splitlines()]

    assert seqs() == [1, 2, 3]
    assert seqs("--tail", "2") == [2, 3]
    assert seqs("--type", "account_opened") == [1, 2]
    assert seqs("--type", "account_opened", "--type", "entry_posted") == [1, 2, 3]
    assert seqs("--type", "account_opened", "--limit", "1") == [1]
    assert seqs("--stream", "entry:") == [3]
    assert seqs("--command", "o2") == [2]
    assert seqs("--after", "1", "--tail", "3") == [2, 3]
    assert run("events", "--db", str(db), "--type", "nope")[0] == 2


def test_the_bench_verb_offers_every_suite_there_is() -> None:
    """The CLI names the suites without importing the benchmarks (a slow import): it must
    name exactly the ones ``satang bench`` runs."""
    from ledger.bench import SUITES

    option = next(p for p in main.commands["bench"].params if p.name == "suite")
    assert isinstance(option.type, click.Choice)
    assert list(option.type.choices) == ["all", *SUITES]
