"""Corruption: single-bit flips, zeroed pages and truncations of a ledger file are each
reported, as a typed error or a finding of ``verify``, or they alter no row at all; none
yields a wrong balance silently, and none hangs or crashes the interpreter.

The ledger is small but real: the standard mix (src/ledger/bench/workload.py), with every read
model folded into the same file, closed cleanly so the file holds everything (no WAL).
Seeded damages (``SATANG_FAULT_SEED``) are each made on a fresh copy by worker processes
(tests/faults/corrupt_worker.py) in batches: a segfault or a hang is a failed batch that
names its case, never a dead pytest. For each case the worker reads the damaged file
with plain SQLite too, and a case ``verify`` calls clean passes only if every row of
every table (the schema first), SQLite's own integrity check and every balance (now, as
of a seq and as of a time) equal the original's. The few values no check can derive
again are compared by their form only (``corrupt_worker.FORM_ONLY`` says why for each).
Any exception but a ``LedgerError`` out of ``Ledger.open``, ``verify`` or ``balance`` is
a failure too. The long mode (``SATANG_FAULT_LONG=1``) makes 20,000 flips and zeroes
every page.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger import Credit, Debit, Ledger, OpenAccount, PostEntry
from ledger.audit import CHECKS, verify
from ledger.bench.workload import prepare, wallet_mix
from ledger.errors import StoreCorrupt
from ledger.store.sqlite import MIGRATIONS
from ledger.times import ManualClock
from projections.runner import Runner
from tests.faults import corrupt_worker
from tests.faults.suite import record, scale
from tests.tampering import tamper

ROOT = Path(__file__).parent.parent.parent
SEED = int(os.environ.get("SATANG_FAULT_SEED", "9"))
WALLETS, MERCHANTS, COMMANDS = 20, 3, 200
FLIPS = scale(300, 20_000)
ZEROED_PAGES = scale(60, 0)
"""Pages zeroed at random in the short mode; the long mode zeroes every page."""
TRUNCATIONS = scale(30, 300)
BATCH = 60
"""Cases per worker process."""
BATCH_TIMEOUT_S = 180
"""A batch takes a few seconds; one that runs this long is hung."""
WORKERS = 2


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A few hundred commands of the mix and every read model in one file, closed."""
    path = tmp_path_factory.mktemp("corruption") / "original.db"
    # a clock that moves 1.5 s a read, from a fixed start: the same file every run
    clock = ManualClock(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), step=timedelta(seconds=1.5))
    with Ledger.open(path, clock=clock) as book:
        prepare(book, WALLETS, MERCHANTS)
        stream = wallet_mix(SEED, WALLETS, MERCHANTS, book.today())
        for _ in range(COMMANDS // 20):
            book.submit_many([next(stream) for _ in range(20)])
        with Runner(book) as runner:
            runner.catch_up()
        assert verify(book).ok
    assert not Path(f"{path}-wal").exists(), "the WAL was not folded into the file on close"
    assert 100_000 < path.stat().st_size < 1_500_000
    with sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True) as conn:
        assert conn.execute("PRAGMA freelist_count").fetchone() == (0,)  # every page in use
    conn.close()
    return path


def _cases(size: int, page_size: int) -> list[dict[str, Any]]:
    rng = random.Random(SEED)
    pages = size // page_size
    cases: list[dict[str, Any]] = [
        {"kind": "flip", "offset": rng.randrange(size), "bit": rng.randrange(8)}
        for _ in range(FLIPS)
    ]
    zeroed = range(pages) if not ZEROED_PAGES else sorted(rng.sample(range(pages), ZEROED_PAGES))
    cases += [{"kind": "zero", "page": page} for page in zeroed]
    cases += [{"kind": "truncate", "length": rng.randrange(size)} for _ in range(TRUNCATIONS)]
    return [{"case": n, **case} for n, case in enumerate(cases)]


def _run_batch(
    original: Path, batch: list[dict[str, Any]], scratch: Path, processes: int | None = None
) -> dict[str, Any]:
    """One worker over ``batch`` (``verify`` with ``processes``): its results, and what
    went wrong with the worker itself (a crash or a hang, with the case it was on)."""
    scratch.mkdir()
    todo = scratch / "cases.json"
    todo.write_text(json.dumps(batch))
    command = [sys.executable, "-m", "tests.faults.corrupt_worker", str(original), str(todo)]
    try:
        done = subprocess.run(
            [*command, str(scratch), "" if processes is None else str(processes)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=BATCH_TIMEOUT_S,
        )
        out, err, problem = done.stdout, done.stderr, None
        if done.returncode != 0:
            problem = f"the worker exited with {done.returncode}"
    except subprocess.TimeoutExpired as exc:
        out, err = _text(exc.stdout), _text(exc.stderr)
        problem = f"the worker hung for {BATCH_TIMEOUT_S} s"
    results = [json.loads(line) for line in out.splitlines()]
    if problem is None and len(results) != len(batch):
        problem = f"the worker printed {len(results)} results for {len(batch)} cases"
    if problem is not None:
        on = batch[len(results)] if len(results) < len(batch) else None
        problem = f"{problem} on case {on}: {err[-2_000:]}"
    return {"results": results, "problem": problem}


def _text(captured: bytes | str | None) -> str:
    """What a timed-out child printed (bytes, whatever ``text=True`` said)."""
    return captured.decode(errors="replace") if isinstance(captured, bytes) else captured or ""


def _run(original: Path, cases: list[dict[str, Any]], scratch: Path) -> list[dict[str, Any]]:
    batches = [cases[i : i + BATCH] for i in range(0, len(cases), BATCH)]
    with ThreadPoolExecutor(WORKERS) as pool:
        done = list(
            pool.map(
                lambda n: _run_batch(original, batches[n], scratch / f"batch-{n}"),
                range(len(batches)),
            )
        )
    problems = [d["problem"] for d in done if d["problem"]]
    assert not problems, "a worker crashed or hung:\n" + "\n".join(problems)
    return [result for d in done for result in d["results"]]


def _tally(counts: Counter[str]) -> str:
    """``StoreCorrupt 62 / StoreError 4``: one cell of the report's table."""
    return " / ".join(f"{name} {n}" for name, n in counts.most_common())


def _where(case: dict[str, Any]) -> str:
    if case["kind"] == "flip":
        return f"bit {case['bit']} of byte {case['offset']}"
    if case["kind"] == "zero":
        return f"page {case['page']} zeroed"
    return f"cut to {case['length']} bytes"


def test_every_damage_is_a_typed_error_a_finding_or_alters_no_row(
    original: Path, tmp_path: Path
) -> None:
    """Hundreds of damages, seeded; any silent or untyped outcome fails, named."""
    started = time.monotonic()
    data = original.read_bytes()
    page_size = int.from_bytes(data[16:18], "big")
    cases = _cases(len(data), page_size)
    results = _run(original, cases, tmp_path)
    seconds = time.monotonic() - started
    assert [r["case"] for r in results] == [c["case"] for c in cases]

    failures = [r for r in results if r["outcome"] in ("silent", "untyped")]
    assert not failures, f"{len(failures)} of {len(results)} damages went wrong:\n" + "\n".join(
        f"{_where(r)}: {r['outcome']}: {r['error']}" for r in failures[:20]
    )

    kinds = ("flip", "zero", "truncate")
    by_kind = {kind: [r for r in results if r["kind"] == kind] for kind in kinds}
    outcomes = Counter(r["outcome"] for r in results)
    flips = Counter(r["outcome"] for r in by_kind["flip"])
    altered = [r for r in by_kind["flip"] if r["table"] is not None or not r["sqlite_ok"]]
    # the damage really lands: most flips alter a row or the file's structure, and every
    # one of those is caught; some land where nothing reads (the free space inside a page,
    # unused bytes of the header), so the oracle is not "everything is reported"
    assert len(altered) >= 0.5 * FLIPS, f"only {len(altered)} of {FLIPS} flips altered a row"
    assert all(r["outcome"] in ("typed", "finding") for r in altered)
    assert flips["typed"] > 0 and flips["finding"] > 0 and flips["unchanged"] > 0, flips
    assert flips["typed"] + flips["finding"] + flips["unchanged"] == FLIPS, flips
    # every page is in use (the fixture checks the file has no free pages), so zeroing
    # any is caught; a truncation loses pages, so it always is
    for kind in ("zero", "truncate"):
        missed = [_where(r) for r in by_kind[kind] if r["outcome"] == "unchanged"]
        assert not missed, f"damage reported by nothing: {missed}"
    fired = Counter(check for r in results for check in r.get("checks", ()))
    assert set(fired) <= set(CHECKS)
    assert fired["integrity"] > 0 and fired["projections"] > 0  # the read models are hit too
    record(
        "corruption",
        rounds=len(results),
        lost=len(failures),
        flips=len(by_kind["flip"]),
        zeroed_pages=len(by_kind["zero"]),
        truncations=len(by_kind["truncate"]),
        typed_errors=outcomes["typed"],
        findings=outcomes["finding"],
        unchanged=outcomes["unchanged"],
        flips_altering_a_row=len(altered),
        caught_with_rows_intact=sum(
            r["outcome"] in ("typed", "finding") and r["table"] is None and r["sqlite_ok"]
            for r in results
        ),
        errors=_tally(Counter(r["error"] for r in results if r["outcome"] == "typed")),
        checks=_tally(fired),
        seconds=round(seconds, 1),
    )


SPLIT_SAMPLE = 40
"""Damages run with ``verify`` in one process and in two (``processes=2``)."""


def test_verify_in_two_processes_makes_the_same_of_every_damage(
    original: Path, tmp_path: Path
) -> None:
    """A seeded sample of the damages above, each judged with every check in one process
    and with ``integrity``, ``states`` and ``projections`` in a second one (what a file of
    ``PARALLEL_FROM`` events or more gets): the same outcome and the same checks."""
    data = original.read_bytes()
    cases = _cases(len(data), int.from_bytes(data[16:18], "big"))
    sample = random.Random(SEED).sample(cases, SPLIT_SAMPLE)
    judged = {}
    for processes in (1, 2):
        done = _run_batch(original, sample, tmp_path / f"split-{processes}", processes)
        assert done["problem"] is None, done["problem"]
        judged[processes] = [
            (r["case"], r["outcome"], r.get("checks"), r.get("error")) for r in done["results"]
        ]
    assert judged[1] == judged[2]
    outcomes = Counter(outcome for _, outcome, _, _ in judged[2])
    assert outcomes["finding"] > 0 and outcomes["typed"] > 0, outcomes  # the sample bites


# --- the checks the flips called for ---------------------------------------------------


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Path]:
    """A ledger of a few entries with its read models, closed: every index fits a page."""
    path = tmp_path / "small.db"
    with Ledger.open(path) as book:
        book.submit_many(
            [
                OpenAccount(id="o1", account="bank:trust", type="asset", currency="THB"),
                OpenAccount(id="o2", account="wallet:w", type="liability", currency="THB"),
            ]
            + [
                PostEntry(
                    id=f"entry-number-{n}",
                    kind="top_up",
                    postings=[Debit("bank:trust", 100 + n), Credit("wallet:w", 100 + n)],
                )
                for n in range(5)
            ]
        )
        with Runner(book) as runner:
            runner.catch_up()
        assert verify(book).ok
    yield path


def _findings(path: Path) -> set[str]:
    with Ledger.open(path, create=False) as book:
        return {f.check for f in verify(book).findings}


def test_a_damaged_index_that_no_read_of_the_walk_uses_is_an_integrity_finding(
    small: Path,
) -> None:
    """An account changed in a key of the history's ``(account, effective_at)`` index:
    every table reads as before, but ``balance(as_of=time)`` of that account (which reads
    through it) goes wrong. SQLite's own check finds it."""
    rows = corrupt_worker.rows(small)
    with sqlite3.connect(small) as conn:
        leaves = [
            page
            for (page,) in conn.execute(
                "SELECT pageno FROM dbstat WHERE name = 'account_postings_effective'"
                " AND pagetype = 'leaf' ORDER BY pageno"
            )
        ]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    data = bytearray(small.read_bytes())
    page = slice((leaves[0] - 1) * page_size, leaves[0] * page_size)
    at = data[page].find(b"wallet:")
    assert at > 0, "no wallet's key on the index's first leaf"
    data[page.start + at + len(b"wallet:")] ^= 0x01  # one letter of the account id
    small.write_bytes(bytes(data))
    assert corrupt_worker.rows(small) == rows  # no table row changed
    assert _findings(small) == {"integrity"}


def test_a_changed_schema_is_found(small: Path) -> None:
    index = "CREATE INDEX account_postings_effective ON account_postings (account, effective_at)"
    tamper(small, "DROP INDEX account_postings_effective")
    assert _findings(small) == {"schema"}  # reads through it become scans: slow, not wrong
    tamper(small, index)
    assert _findings(small) == set()
    conn = sqlite3.connect(small)
    conn.execute("DROP TRIGGER events_no_update")  # an UPDATE of the log is not refused
    conn.execute("CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN SELECT 1; END")
    conn.commit()
    conn.close()
    assert _findings(small) == {"schema"}


def test_a_damaged_migration_record_is_found(small: Path) -> None:
    version, name, _ = MIGRATIONS[-1]
    tamper(small, f"UPDATE schema_migrations SET name = 'holds' WHERE version = {version}")
    assert _findings(small) == {"schema"}
    tamper(small, f"UPDATE schema_migrations SET name = '{name}' WHERE version = {version}")
    assert _findings(small) == set()
    tamper(small, "UPDATE schema_migrations SET applied_at = 'yesterday' WHERE version = 1")
    assert _findings(small) == {"schema"}


def test_a_read_model_index_dropped_is_found(small: Path) -> None:
    tamper(small, "DROP INDEX idx_proj_transactions_effective_at")
    assert _findings(small) == {"schema"}


def test_rows_the_store_keeps_beside_its_interface_are_checked(small: Path) -> None:
    tamper(small, "UPDATE accounts SET opened_seq = 7 WHERE id = 'wallet:w'")
    assert _findings(small) == {"accounts_rebuild"}
    tamper(small, "UPDATE accounts SET opened_seq = 2 WHERE id = 'wallet:w'")
    assert _findings(small) == set()
    tamper(small, "UPDATE accounts SET metadata = CAST(metadata AS BLOB)")  # it reads the same
    assert _findings(small) == {"accounts_rebuild"}
    tamper(small, "UPDATE accounts SET metadata = CAST(metadata AS TEXT)")
    tamper(small, "UPDATE commands SET digest = substr(digest, 2) WHERE command_id = 'o1'")
    assert _findings(small) == {"commands_index"}


def test_a_read_model_checkpoint_past_the_log_is_found(small: Path) -> None:
    tamper(small, "UPDATE proj_checkpoints SET seq = 1000 WHERE name = 'holds'")
    assert _findings(small) == {"projections"}


def test_a_damaged_name_in_the_schema_is_a_typed_error(tmp_path: Path) -> None:
    path = tmp_path / "name.db"
    Ledger.open(path).close()
    data = bytearray(path.read_bytes())
    at = data.find(b"tableaccount_postings") + len(b"table")
    data[at + 1] ^= 0x80  # "account_postings" in sqlite_master: "a\xe3count_postings"
    path.write_bytes(bytes(data))
    with pytest.raises(StoreCorrupt):
        Ledger.open(path, create=False)


def test_the_oracle_sees_a_row_change(original: Path, tmp_path: Path) -> None:
    """The worker's reading of the file does see a changed amount (else every case would
    pass as unchanged)."""
    copy = tmp_path / "copy.db"
    shutil.copyfile(original, copy)
    before = corrupt_worker.rows(copy)
    tamper(
        copy,
        "UPDATE account_postings SET amount_minor = amount_minor + 1"
        " WHERE seq = (SELECT MAX(seq) FROM account_postings)",
    )
    after = corrupt_worker.rows(copy)
    changed = {t for t in before if before[t] != after.get(t)}
    assert changed == {"account_postings", "sqlite_master"}  # the triggers, made again
