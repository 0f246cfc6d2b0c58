"""The ledger's own time zone on the command line: verbs read days in the zone the ledger
recorded; another ``--timezone`` is honoured with a line saying so; a file that records
no zone (written before zones were stored) is refused where days matter, until
``satang timezone --set`` records one, and read as before everywhere else."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from ledger import Ledger
from ledger.cli import main
from ledger.commands import TopUp
from ledger.times import ManualClock

FROZEN = Path(__file__).parent / "frozen" / "satang-0.1.0.db"
BANGKOK = ZoneInfo("Asia/Bangkok")
MISMATCH = "times in UTC; this ledger's zone is Asia/Bangkok"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def early(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Bangkok ledger with one top-up at 05:00 on 2 March in Bangkok: still 1 March in
    UTC (22:00)."""
    path = tmp_path_factory.mktemp("zone") / "early.db"
    clock = ManualClock(datetime(2026, 3, 2, 4, 0, tzinfo=BANGKOK))
    with Ledger.open(path, clock=clock, timezone="Asia/Bangkok") as book:
        book.open_chart()
        book.submit(book.chart.open_wallet("wallet:U1"))
        clock.advance(timedelta(hours=1))
        book.submit(TopUp(id="dawn", wallet="wallet:U1", amount_minor=70_000, channel="bank"))
    return path


@pytest.fixture
def old(tmp_path: Path) -> Path:
    """A copy of a file written before zones were recorded (the original is never opened)."""
    copy = tmp_path / "old.db"
    shutil.copyfile(FROZEN, copy)
    return copy


def _top_ups(report_json: str) -> int:
    document = json.loads(report_json)
    return sum(
        row["count"]
        for row in document["sections"]["transactions"]
        if row["category"] == "top_up" and row["channel"] is None  # all channels
    )


def test_timezone_prints_the_recorded_zone(early: Path, tmp_path: Path) -> None:
    assert run("timezone", "--db", str(early)) == (0, "Asia/Bangkok\n", "")
    london = tmp_path / "london.db"
    with Ledger.open(london, timezone="Europe/London"):
        pass
    assert run("timezone", "--db", str(london))[1] == "Europe/London\n"


def test_a_report_in_another_zone_says_so_and_moves_the_days(early: Path) -> None:
    db = str(early)
    day = ("--date", "2026-03-02", "--reads", ":memory:")
    code, own, err = run("report", "activity", "--db", db, *day, "--format", "json")
    assert code == 0 and err == ""
    assert json.loads(own)["parameters"]["timezone"] == "Asia/Bangkok" and _top_ups(own) == 1
    code, utc, err = run(
        "report", "activity", "--db", db, *day, "--format", "json", "--timezone", "UTC"
    )
    assert code == 0 and err == f"{MISMATCH}\n"  # the JSON document names its zone itself
    assert json.loads(utc)["parameters"]["timezone"] == "UTC" and _top_ups(utc) == 0
    code, utc, _ = run(
        "report", "activity", "--db", db, "--date", "2026-03-01", "--reads", ":memory:",
        "--format", "json", "--timezone", "UTC",
    )  # fmt: skip
    assert _top_ups(utc) == 1, "at 22:00 UTC on 1 March"
    code, table, _ = run("report", "activity", "--db", db, *day, "--timezone", "UTC")
    assert code == 0 and table.splitlines()[0] == MISMATCH
    code, text, _ = run(
        "report", "activity", "--db", db, *day, "--format", "csv", "--timezone", "UTC"
    )
    assert code == 0 and text.splitlines()[0] == f"# {MISMATCH}"
    code, table, _ = run("report", "activity", "--db", db, *day, "--timezone", "Asia/Bangkok")
    assert code == 0 and "times in" not in table, "the ledger's own zone needs no note"


def test_a_statement_shows_times_in_the_zone(early: Path) -> None:
    db = str(early)
    code, out, _ = run("statement", "--db", db, "wallet:U1", "--reads", ":memory:")
    assert code == 0 and "2026-03-02T05:00:00+07:00" in out and "times in" not in out
    code, out, _ = run(
        "statement", "--db", db, "wallet:U1", "--reads", ":memory:", "--timezone", "UTC"
    )
    first, line = out.splitlines()
    assert first == MISMATCH and "2026-03-01T22:00:00+00:00" in line
    code, out, _ = run("statement", "--db", db, "wallet:U1", "--reads", ":memory:", "--json")
    assert json.loads(out)["effective_at"] == "2026-03-01T22:00:00+00:00"


def test_a_beancount_export_dates_by_the_zone(early: Path) -> None:
    db = str(early)
    code, own, _ = run("export", "--db", db, "--format", "beancount")
    assert code == 0 and "2026-03-02 * " in own and not own.startswith(";")
    code, utc, _ = run("export", "--db", db, "--format", "beancount", "--timezone", "UTC")
    assert code == 0 and utc.splitlines()[0] == f"; {MISMATCH}"
    assert "2026-03-01 * " in utc and "2026-03-02 * " not in utc


def test_a_file_without_a_zone_is_refused_where_days_matter(old: Path) -> None:
    db = str(old)
    for args in (
        ["report", "activity", "--db", db, "--date", "2026-11-01", "--reads", ":memory:"],
        ["statement", "--db", db, "wallet:C00001", "--reads", ":memory:"],
        ["export", "--db", db, "--format", "beancount"],
    ):
        code, out, err = run(*args)
        assert code == 2 and out == "", args
        (line,) = err.splitlines()
        assert "records no time zone" in line and "--timezone" in line, line
        assert "satang timezone --set ZONE --db" in line and len(line) < 300


def test_a_file_without_a_zone_reads_where_days_do_not_matter(old: Path) -> None:
    db = str(old)
    code, out, _ = run("timezone", "--db", db)
    assert code == 0 and out.startswith("none recorded")
    for args in (
        ["head", "--db", db],
        ["verify", "--db", db],
        ["balance", "--db", db, "wallet:C00001"],
        ["events", "--db", db, "--limit", "3"],
        ["result", "opening-C00001", "--db", db],
        ["statement", "--db", db, "wallet:C00001", "--json", "--reads", ":memory:"],
        ["export", "--db", db, "--format", "jsonl"],
        ["export", "--db", db, "--format", "csv"],
    ):
        code, out, err = run(*args)
        assert code == 0 and out, (args, out[-500:], err)


def test_a_zone_given_reads_a_file_without_one(old: Path) -> None:
    db = str(old)
    code, out, _ = run(
        "report", "activity", "--db", db, "--date", "2026-11-01", "--reads", ":memory:",
        "--timezone", "Asia/Bangkok",
    )  # fmt: skip
    assert code == 0
    assert out.splitlines()[0] == "times in Asia/Bangkok; this ledger records no zone"


def test_timezone_set_records_the_zone_once(old: Path) -> None:
    db = str(old)
    code, out, _ = run("timezone", "--db", db, "--set", "Asia/Bangkok")
    assert code == 0 and out == "Asia/Bangkok (recorded)\n"
    assert run("timezone", "--db", db) == (0, "Asia/Bangkok\n", "")
    assert run("timezone", "--db", db, "--set", "Asia/Bangkok") == (0, "Asia/Bangkok\n", "")
    code, out, err = run("timezone", "--db", db, "--set", "Europe/London")
    assert code == 1 and out == "" and "Asia/Bangkok" in err and len(err.splitlines()) == 1
    with Ledger.open(old, create=False, readonly=True) as book:
        assert book.recorded_timezone == "Asia/Bangkok"
    code, out, _ = run(
        "report", "activity", "--db", db, "--date", "2026-11-01", "--reads", ":memory:"
    )
    assert code == 0 and "times in" not in out


def test_an_unknown_zone_is_a_usage_error(early: Path) -> None:
    for args in (
        ["timezone", "--db", str(early), "--set", "Mars/Olympus"],
        ["report", "activity", "--db", str(early), "--date", "2026-03-02", "--timezone", "Nope"],
    ):
        code, _, err = run(*args)
        assert code == 2 and "unknown time zone" in err


def test_the_frozen_file_itself_is_never_written() -> None:
    manifest = json.loads(FROZEN.with_suffix(".json").read_text())
    assert hashlib.sha256(FROZEN.read_bytes()).hexdigest() == manifest["sha256"]
