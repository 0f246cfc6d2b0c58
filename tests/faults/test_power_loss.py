"""Power loss: the WAL cut at any offset opens to a chain-valid prefix of the log.

A ledger is written in durable batches while its WAL is left unfolded (the last
transactions live only in ``-wal``). Copies of the database and its WAL are then cut at
random offsets, as a power cut during the WAL's append would leave them. Each copy must
open cleanly, pass SQLite's integrity check and ``verify``, and hold a prefix of the
original log: the same hash at its head as the original had at that seq. ``verify`` with
the original head as the anchor reports a copy cut shorter than it.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from benchmarks.workload import prepare, wallet_mix
from ledger import Ledger
from ledger.audit import verify

CUTS = 40


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[int, str]]:
    """A ledger whose last 30 batches are in its WAL only, kept open while it is copied,
    and the hash of every seq it holds."""
    path = tmp_path_factory.mktemp("power") / "ledger.db"
    with Ledger.open(path) as book:
        prepare(book, 50, 5)
    raw = sqlite3.connect(path)  # fold the set-up into the file; the rest stays in the WAL
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    book = Ledger.open(path)
    stream = wallet_mix(5, 50, 5, book.today())
    for _ in range(30):
        book.submit_many([next(stream) for _ in range(20)])
    hashes = {r.seq: r.hash for r in book.events()}
    copy = path.with_name("image.db")
    shutil.copyfile(path, copy)  # what the disk holds: the file, and the WAL beside it
    shutil.copyfile(Path(f"{path}-wal"), Path(f"{copy}-wal"))
    book.close()
    return copy, hashes


def _copy(image: Path, to: Path, wal: bytes) -> Path:
    """A copy of the image with ``wal`` as its WAL (opening a ledger folds its WAL into the
    file, so every test works on a copy)."""
    shutil.copyfile(image, to)
    Path(f"{to}-wal").write_bytes(wal)
    return to


def test_the_uncut_image_holds_the_whole_log(
    written: tuple[Path, dict[int, str]], tmp_path: Path
) -> None:
    image, hashes = written
    wal = Path(f"{image}-wal").read_bytes()
    assert len(wal) > 100_000  # the batches are in the WAL
    with Ledger.open(_copy(image, tmp_path / "whole.db", wal), create=False) as book:
        assert book.head() == (max(hashes), hashes[max(hashes)])
        assert verify(book, anchor=(max(hashes), hashes[max(hashes)])).ok


def test_a_wal_cut_anywhere_opens_to_a_chain_valid_prefix(
    written: tuple[Path, dict[int, str]], tmp_path: Path
) -> None:
    image, hashes = written
    wal = Path(f"{image}-wal").read_bytes()
    rng = random.Random(3)
    heads = set()
    for n in range(CUTS):
        cut = _copy(image, tmp_path / f"cut-{n}.db", wal[: rng.randrange(len(wal))])
        with sqlite3.connect(cut) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        conn.close()
        with Ledger.open(cut, create=False) as book:
            seq, digest = book.head()
            assert hashes[seq] == digest  # a prefix of the original log
            assert verify(book).ok
            anchored = verify(book, anchor=(max(hashes), hashes[max(hashes)]))
            if seq < max(hashes):
                assert [f.check for f in anchored.findings] == ["anchor"]
            else:
                assert anchored.ok
        heads.add(seq)
    assert len(heads) > CUTS // 4  # the cuts landed at many transaction boundaries
