"""The benchmark's machinery runs and measures what it says (no time is asserted)."""

from __future__ import annotations

import itertools
from pathlib import Path

from ledger import Accepted, Ledger
from ledger.bench import _throughput, machine, setup_commands, wallet_mix


def test_machine_line_names_python_and_sqlite() -> None:
    lines = machine()
    assert "python" in lines[1] and "sqlite" in lines[1] and "satang" in lines[1]


def test_the_mix_is_seeded_and_funded_wallets_accept_it(tmp_path: Path) -> None:
    first = list(itertools.islice(wallet_mix(7, 50, 5), 200))
    again = list(itertools.islice(wallet_mix(7, 50, 5), 200))
    other = list(itertools.islice(wallet_mix(8, 50, 5), 200))
    assert first == again != other
    assert {c.kind for c in first} == {"top_up", "payment", "p2p", "withdrawal"}
    with Ledger.open(tmp_path / "b.db") as book:
        assert all(isinstance(r, Accepted) for r in book.submit_many(setup_commands(50, 5)))
        stream = wallet_mix(1, 50, 5)
        results = book.submit_many([next(stream) for _ in range(500)])
    assert sum(isinstance(r, Accepted) for r in results) >= 450


def test_throughput_reports_submitted_and_accepted_rates(tmp_path: Path) -> None:
    submitted, accepted = _throughput(tmp_path / "t.db", 10, 200, "normal", 50, 5)
    assert 1 < accepted <= submitted  # rates per second, not shares
