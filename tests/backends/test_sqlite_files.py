"""The files Satang makes are its owner's alone, and a read-only copy opens and stays as it
was: what an operator and an auditor expect of a ledger on disk."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import Credit, Debit, Ledger, OpenAccount, PostEntry, StoreError
from ledger.audit import verify
from projections.runner import Runner


@pytest.fixture(params=[0o022, 0o000, 0o077, 0o277])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _fill(book: Ledger) -> None:
    book.submit_many(
        [
            OpenAccount(id="o1", account="bank:trust", type="asset", currency="THB"),
            OpenAccount(
                id="o2", account="wallet:U1", type="liability", currency="THB", no_overdraft=True
            ),
            PostEntry(
                id="t1",
                kind="top_up",
                postings=[Debit("bank:trust", 5_000), Credit("wallet:U1", 5_000)],
            ),
        ]
    )


def test_every_file_of_a_new_ledger_is_private(tmp_path: Path, umask: int) -> None:
    path = tmp_path / "wallet.db"
    with Ledger.open(path) as book:
        _fill(book)
        with Runner(book, tmp_path / "reads.db") as runner:
            runner.catch_up()
            names = sorted(p.name for p in tmp_path.iterdir())
            assert "wallet.db-wal" in names and "wallet.db-shm" in names and "reads.db" in names
            for p in tmp_path.iterdir():
                assert _mode(p) == 0o600, (p.name, oct(_mode(p)), oct(umask))


def test_the_demo_and_a_replay_are_private(tmp_path: Path, umask: int) -> None:
    from click.testing import CliRunner

    from ledger.cli import main

    demo = tmp_path / "demo.db"
    small = ["--customers", "40", "--merchants", "2", "--agents", "3", "--couriers", "1"]
    small += ["--cod-orders", "10", "--loans", "10"]
    done = CliRunner().invoke(main, ["demo", "--db", str(demo), *small])
    assert done.exit_code == 0, done.output
    out = tmp_path / "replayed.db"
    done = CliRunner().invoke(
        main, ["replay", "--db", str(demo), "--until", "5", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert {p.name for p in tmp_path.iterdir()} >= {"demo.db", "replayed.db"}
    for p in tmp_path.iterdir():
        assert _mode(p) == 0o600, (p.name, oct(_mode(p)))


def _read_only_copy(tmp_path: Path) -> tuple[Path, Path]:
    source = tmp_path / "live.db"
    with Ledger.open(source) as book:
        _fill(book)
        book.store.checkpoint()  # type: ignore[attr-defined]
    folder = tmp_path / "received"
    folder.mkdir()
    copy = folder / "ledger.db"
    shutil.copyfile(source, copy)
    copy.chmod(0o444)
    folder.chmod(0o555)
    return folder, copy


def test_a_read_only_copy_opens_and_is_left_byte_identical(tmp_path: Path) -> None:
    folder, copy = _read_only_copy(tmp_path)
    before = hashlib.sha256(copy.read_bytes()).hexdigest()
    try:
        with Ledger.open(copy, readonly=True) as book:
            assert book.head()[0] == 3
            assert book.balance("wallet:U1").balance == 5_000
            assert [r.command_id for r in book.events()] == ["o1", "o2", "t1"]
            assert book.recorded_timezone == "Asia/Bangkok"
            assert verify(book).ok
            with Runner(book) as runner:  # read models in memory: nothing beside the file
                runner.catch_up()
                assert runner.seq == 3
            with pytest.raises(StoreError, match="read-only"):
                book.submit(OpenAccount(id="o3", account="x:y", type="asset", currency="THB"))
        assert sorted(p.name for p in folder.iterdir()) == ["ledger.db"]
        assert hashlib.sha256(copy.read_bytes()).hexdigest() == before
    finally:
        folder.chmod(0o755)


def test_a_live_ledger_read_only_sees_every_commit(tmp_path: Path) -> None:
    """``readonly=True`` on a file a writer has open reads through its WAL, so it sees
    what the writer committed, and blocks nothing."""
    path = tmp_path / "live.db"
    with Ledger.open(path) as writer:
        _fill(writer)
        with Ledger.open(path, readonly=True) as reader:
            assert reader.head() == writer.head()
            writer.submit(
                PostEntry(
                    id="t2",
                    kind="top_up",
                    postings=[Debit("bank:trust", 1), Credit("wallet:U1", 1)],
                )
            )
            assert reader.head() == writer.head()
            assert reader.balance("wallet:U1").balance == 5_001


def test_a_read_only_copy_with_a_wal_but_no_shm_is_refused_clearly(tmp_path: Path) -> None:
    folder = tmp_path / "received"
    folder.mkdir()
    copy = folder / "ledger.db"
    with Ledger.open(tmp_path / "live.db") as book:
        _fill(book)
        shutil.copyfile(tmp_path / "live.db", copy)
        shutil.copyfile(tmp_path / "live.db-wal", folder / "ledger.db-wal")
    copy.chmod(0o444)
    folder.chmod(0o555)
    try:
        with pytest.raises(StoreError, match="-wal"):
            Ledger.open(copy, readonly=True)
    finally:
        folder.chmod(0o755)
