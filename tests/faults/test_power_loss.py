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
import time
from pathlib import Path

import pytest

from ledger import Ledger
from ledger.audit import verify
from ledger.bench.workload import prepare, wallet_mix
from tests.faults.suite import record, scale

CUTS = scale(40, 5_000)
TORN = scale(20, 2_000)
PAGE = 4096


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
    started = time.perf_counter()
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
    assert len(heads) > min(CUTS, 30) // 4  # the cuts landed at many transaction boundaries
    record(
        "power_loss[wal_cut]",
        rounds=CUTS,
        lost=None,
        distinct_heads=len(heads),
        wal_bytes=len(wal),
        seconds=round(time.perf_counter() - started, 1),
    )


def test_a_checkpoint_torn_by_a_power_cut_is_finished_from_the_wal(
    written: tuple[Path, dict[int, str]], tmp_path: Path
) -> None:
    """Power lost while a checkpoint copies the WAL into the file: some of the file's pages
    are new, some old, in any order the disk wrote them; the WAL is still whole (SQLite
    empties it only after the file is synced). Opening must redo the checkpoint from the
    WAL: the whole log, verified, every time."""
    started = time.perf_counter()
    image, hashes = written
    wal = Path(f"{image}-wal").read_bytes()
    done = _copy(image, tmp_path / "checkpointed.db", wal)
    raw = sqlite3.connect(done)
    assert raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()[0] == 0
    new = done.read_bytes()  # the file after the checkpoint, read while the WAL is kept
    raw.close()
    old = image.read_bytes()
    assert len(new) > len(old) and new[: PAGE * 2] != old[: PAGE * 2]
    pages = len(new) // PAGE
    rng = random.Random(4)
    for n in range(TORN):
        written_pages = set(rng.sample(range(pages), rng.randrange(1, pages)))
        torn = b"".join(
            (new if i in written_pages or i * PAGE >= len(old) else old)[i * PAGE : (i + 1) * PAGE]
            for i in range(pages)
        )
        path = tmp_path / f"torn-{n}.db"
        path.write_bytes(torn)
        Path(f"{path}-wal").write_bytes(wal)
        with sqlite3.connect(path) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",), n
        conn.close()
        with Ledger.open(path, create=False) as book:
            assert book.head() == (max(hashes), hashes[max(hashes)]), n
            assert verify(book, anchor=(max(hashes), hashes[max(hashes)])).ok, n
    record(
        "power_loss[torn_checkpoint]",
        rounds=TORN,
        lost=None,
        file_pages=pages,
        seconds=round(time.perf_counter() - started, 1),
    )
