"""Every verb that reads works on an auditor's copy of a ledger: a 0444 file in a 0555
folder. None writes a byte to the file or the folder, and each opens the ledger read-only.

The tests run as root, which writes through any mode bits, so the file's hash and the
folder's listing alone would not show a verb that opened the file for writing and wrote
nothing; every ``Ledger.open`` the verbs make is watched too: it must ask for
``readonly=True``, and the ledger it returns must refuse a write.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ledger import Ledger, LedgerError
from ledger.cli import main
from projections.reports import REPORTS

DAY = "2026-12-01"
SMALL_DEMO = [
    "--customers", "40", "--merchants", "1", "--agents", "3", "--couriers", "1",
    "--cod-orders", "10", "--loans", "10", "--date", DAY,
]  # fmt: skip


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo day: wallets, payments, transfers, COD orders, loans, refusals."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    made = CliRunner().invoke(main, ["demo", "--db", str(path), *SMALL_DEMO])
    assert made.exit_code == 0, made.output[-2000:]
    with Ledger.open(path, create=False) as book:
        book.store.checkpoint()  # the whole log in the file itself, as a copy is made
    return path


@pytest.fixture
def copy(original: Path, tmp_path: Path) -> Iterator[Path]:
    """The ledger as an auditor receives it: the file 0444, its folder 0555."""
    folder = tmp_path / "received"
    folder.mkdir()
    path = folder / "ledger.db"
    shutil.copyfile(original, path)
    path.chmod(0o444)
    folder.chmod(0o555)
    try:
        yield path
    finally:
        folder.chmod(0o755)
        path.chmod(0o644)


def listing(folder: Path) -> list[tuple[str, int, int, int]]:
    return sorted(
        (p.name, p.stat().st_size, p.stat().st_mode, p.stat().st_mtime_ns) for p in folder.iterdir()
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every ``Ledger.open`` made while the test runs: its arguments, and whether the
    ledger it returned refused a write (it must, on a read-only opening)."""
    calls: list[dict[str, Any]] = []
    real = Ledger.open.__func__  # type: ignore[attr-defined]

    def watched(cls: type[Ledger], path: Any, **kwargs: Any) -> Ledger:
        book: Ledger = real(cls, path, **kwargs)
        refused = False
        try:
            book.submit(book.chart.open_wallet("wallet:probe-readonly"))
        except LedgerError:
            refused = True
        calls.append({"path": os.fspath(path), **kwargs, "refused_a_write": refused})
        return book

    monkeypatch.setattr(Ledger, "open", classmethod(watched))
    return calls


def read_verbs(db: str, command_id: str, reads_elsewhere: str) -> list[list[str]]:
    """Each read verb, with the options that change how it reads."""
    verbs = [
        ["head", "--db", db],
        ["verify", "--db", db],
        ["verify", "--db", db, "--json"],
        ["balance", "--db", db, "wallet:C00001"],
        ["balance", "--db", db, "wallet:C00001", "--as-of", "100", "--json"],
        ["events", "--db", db, "--tail", "50"],
        ["result", command_id, "--db", db],
        ["result", command_id, "--db", db, "--json"],
        ["statement", "--db", db, "wallet:C00001"],
        ["statement", "--db", db, "wallet:C00001", "--json", "--reads", ":memory:"],
        ["statement", "--db", db, "wallet:C00001", "--reads", reads_elsewhere],
        ["timezone", "--db", db],
    ]
    verbs += [["export", "--db", db, "--format", fmt] for fmt in ("jsonl", "csv", "beancount")]
    for name, spec in REPORTS.items():
        when = ["--date", DAY] if spec.period == "day" else ["--from", DAY, "--to", DAY]
        verbs.append(["report", name, "--db", db, *when])
        verbs.append(["report", name, "--db", db, *when, "--format", "json", "--reads", ":memory:"])
    verbs.append(["report", "cod", "--db", db, "--date", DAY, "--reads", reads_elsewhere])
    return verbs


def test_every_read_verb_reads_a_read_only_copy_and_writes_nothing(
    copy: Path, tmp_path: Path, opened: list[dict[str, Any]]
) -> None:
    folder = copy.parent
    with Ledger.open(copy, create=False, readonly=True) as book:
        command_id = next(iter(book.events(after=100))).command_id
    opened.clear()
    before, digest = listing(folder), sha256(copy)
    covered = set()
    for args in read_verbs(str(copy), command_id, str(tmp_path / "reads.db")):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, (args, result.output[-1000:])
        assert result.stdout, args
        covered.add(args[0])
        assert listing(folder) == before, args
        assert sha256(copy) == digest, args
    assert covered == {"head", "verify", "balance", "events", "export", "result"} | {
        "statement",
        "report",
        "timezone",
    }
    assert opened, "the verbs open the ledger through Ledger.open"
    for call in opened:
        assert call["readonly"] is True and call["create"] is False, call
        assert call["refused_a_write"], call


def test_statement_and_report_fold_in_memory_and_say_so(copy: Path) -> None:
    db = str(copy)
    for args in (
        ["statement", "--db", db, "wallet:C00001"],
        ["report", "cod", "--db", db, "--date", DAY],
    ):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, result.output
        assert result.stderr.startswith("the ledger file is read-only: its read models are")
    # told where to keep them, they go there, and nothing is said
    result = CliRunner().invoke(
        main, ["report", "cod", "--db", db, "--date", DAY, "--reads", ":memory:"]
    )
    assert result.exit_code == 0 and result.stderr == ""


def test_a_writable_ledger_keeps_its_read_models_in_its_own_file(
    original: Path, tmp_path: Path
) -> None:
    """The default for a ledger file that may be written is unchanged: its own file."""
    path = tmp_path / "mine.db"
    shutil.copyfile(original, path)
    result = CliRunner().invoke(main, ["report", "cod", "--db", str(path), "--date", DAY])
    assert result.exit_code == 0 and result.stderr == ""
    import sqlite3

    with sqlite3.connect(path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    assert "proj_checkpoints" in tables


def test_recording_a_zone_in_a_read_only_copy_is_refused(copy: Path) -> None:
    before, digest = listing(copy.parent), sha256(copy)
    result = CliRunner().invoke(main, ["timezone", "--db", str(copy), "--set", "Asia/Bangkok"])
    assert result.exit_code == 1
    (line,) = result.stderr.splitlines()
    assert "read-only" in line
    assert listing(copy.parent) == before and sha256(copy) == digest


def test_the_copy_is_really_read_only(copy: Path) -> None:
    """What the fixture makes is what an auditor gets (so the test above means it)."""
    assert stat.S_IMODE(copy.stat().st_mode) == 0o444
    assert stat.S_IMODE(copy.parent.stat().st_mode) == 0o555
    assert [p.name for p in copy.parent.iterdir()] == ["ledger.db"]
