"""Satang's benchmarks: what ``satang bench`` runs (docs/performance.md).

* :mod:`benchmarks.workload`: the standard wallet mix, with Satang's own flow commands;
* :mod:`benchmarks.wallet`: the write path by batch size and durability, latencies,
  replay and ``verify``, reads as the log grows, and the peers on the same mix;
* :mod:`benchmarks.peers`: the raw floor and the ``eventsourcing`` library;
* :mod:`benchmarks.flows` and :mod:`benchmarks.reads`: the COD and loan flows at volume,
  and the read models.

Every figure is printed as it is measured, with the machine and versions first; each case
runs in a fresh process of its own (its peak memory is printed beside it). No test
asserts a time.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from benchmarks import flows, reads, wallet
from benchmarks.report import Figure, Out, isolated, machine
from ledger.store.sqlite import Durability

SUITES = ("wallet", "scale", "peers", "cod", "loans", "reads")
TIGERBEETLE_PYTHON_CLIENT = 40_000
"""TigerBeetle's best Python-client figure on this machine, transfers/s, as the issue
that set the targets quotes it (not measured here: TigerBeetle is not installed)."""


def run(
    out: Out = print,
    *,
    quick: bool = False,
    directory: str | None = None,
    suites: tuple[str, ...] = SUITES,
    events_max: int = 1_000_000,
) -> list[Figure]:
    """Run ``suites`` and print every figure; then the table of ratios, if the wallet and
    peers suites both ran."""
    for line in machine():
        out(line)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(dir=directory) as tmp:
        base = Path(tmp)
        if "wallet" in suites:
            out(f"workload: {wallet.WALLETS:,} wallets, {wallet.MERCHANTS} merchants, the mix")
            plan: list[tuple[int, int, Durability]] = [
                (1, 300 if quick else 2_000, "full"),
                (10, 2_000 if quick else 10_000, "full"),
                (100, 5_000 if quick else 50_000, "full"),
                (1_000, 10_000 if quick else 100_000, "full"),
                (8_190, 16_380 if quick else 163_800, "full"),
                (1_000, 10_000 if quick else 100_000, "normal"),
            ]
            for batch, total, durability in plan:
                path = base / f"write-{batch}-{durability}.db"
                figures += isolated(out, wallet.throughput, path, batch, total, durability)
            figures += isolated(
                out,
                wallet.latency,
                base / "latency.db",
                200 if quick else 2_000,
                5 if quick else 30,
            )
            figures += isolated(
                out, wallet.replay, base / "replay.db", 20_000 if quick else 200_000
            )
        if "scale" in suites:
            sizes = [n for n in (10_000, 100_000, 1_000_000, 10_000_000) if n <= events_max]
            for size in sizes[:2] if quick else sizes:
                path = base / f"scale-{size}.db"
                figures += isolated(out, wallet.reads_at, path, size, 500 if quick else 2_000)
        if "peers" in suites:
            count = 10_000 if quick else 100_000
            figures += isolated(out, wallet.peer_raw, base / "raw.db", count)
            figures += isolated(
                out, wallet.peer_eventsourcing, base / "es.db", 500 if quick else 3_000
            )
        if "cod" in suites:
            orders = 2_000 if quick else 20_000
            out(f"workload: {orders:,} COD orders, one courier, one merchant")
            figures += isolated(out, flows.cod_orders, base / "cod.db", orders)
        if "loans" in suites:
            count = 500 if quick else 2_000
            out(f"workload: {count:,} loans of 10,000.00 THB over 6 months, one per borrower")
            figures += isolated(out, flows.loan_book, base / "loans.db", count)
        if "reads" in suites:
            commands = 20_000 if quick else 100_000
            out(f"workload: the read models over {commands:,} commands of the mix")
            figures += isolated(out, reads.read_models, base / "reads.db", commands)
    for line in ratios(figures):
        out(line)
    return figures


def ratios(figures: list[Figure]) -> list[str]:
    """Satang against the peers and the targets, from figures of one run."""
    by = {f.name: f.value for f in figures}

    def get(name: str) -> float | None:
        return by.get(name)

    rows = []
    satang = get("submit_many batch=1,000 durability=full")
    floor = get("raw floor: batch=1,000 durable")
    es_rate = get("eventsourcing: one save per command")
    single = get("submit_many batch=1 durability=full")
    floor_single = get("raw floor: batch=1 durable")
    rebuild, floor_rebuild = get("replay: rebuild balances"), get("raw floor: rebuild balances")
    audit = get("replay: verify")
    if satang is not None:
        if floor:
            rows.append(("batch 1,000 vs the raw floor", satang / floor, 0.8))
        rows.append(
            ("batch 1,000 vs TigerBeetle's Python client", satang / TIGERBEETLE_PYTHON_CLIENT, 1.2)
        )
        if es_rate:
            rows.append(("batch 1,000 vs eventsourcing", satang / es_rate, 50.0))
    if single is not None and floor_single:
        rows.append(
            ("one submit vs the raw floor's one per transaction", single / floor_single, 1 / 1.2)
        )
    if rebuild is not None and floor_rebuild:
        rows.append(("replay vs the raw floor's rebuild", rebuild / floor_rebuild, 1.0))
    if audit is not None:
        rows.append(("verify vs 50,000 events/s", audit / 50_000, 1.0))
    if not rows:
        return []
    lines = ["", f"{'Satang / peer':<52} {'ratio':>8} {'target':>8}  met"]
    lines += [
        f"{name:<52} {value:>8.2f} {target:>8.2f}  {'yes' if value >= target else 'no'}"
        for name, value, target in rows
    ]
    return lines
