"""What every benchmark shares: a figure, how it is printed, the machine it ran on,
percentiles, and peak memory measured in a process of its own."""

from __future__ import annotations

import concurrent.futures
import contextlib
import multiprocessing
import os
import platform
import resource
import sqlite3
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import attrs

Out = Callable[[str], None]


@attrs.frozen
class Figure:
    """One measured figure: ``value`` in ``unit``, with what it was measured over."""

    name: str
    value: float
    unit: str
    note: str = ""
    peak_mib: float | None = None
    """Peak resident memory while it was measured (everything resident then counts, the
    commands the case built before the clock started too), when known."""
    p99: float | None = None
    """The 99th percentile, for a figure whose value is a median."""


def machine() -> list[str]:
    """What the figures were measured on: CPU, cores, Python, SQLite, packages."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = ", ".join(
        f"{name} {version(name)}"
        for name in ("satang", "msgspec", "attrs", "sqlite-utils", "eventsourcing")
    )
    return [
        f"machine: {cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        f"python {platform.python_version()}, sqlite {sqlite3.sqlite_version}, {versions}",
    ]


def version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "?"


def printed(out: Callable[[str], None], f: Figure) -> Figure:
    value = f"{f.value:>12,.2f}" if f.value < 100 else f"{f.value:>12,.0f}"
    out(f"{f.name:<45} {value} {f.unit}  ({f.note})")
    return f


def percentiles(took: list[float]) -> tuple[float, float, float]:
    """p50, p99 and the maximum of ``took``."""
    took = sorted(took)
    return took[len(took) // 2], took[min(len(took) - 1, int(len(took) * 0.99))], took[-1]


def reset_peak() -> None:
    """Start this process's peak resident memory again from what is resident now (Linux:
    ``/proc/self/clear_refs``), so the next :func:`peak_rss_mib` is one figure's own."""
    with contextlib.suppress(OSError):  # not Linux: the peak stays the process's
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mib() -> float:
    """This process's peak resident memory since the last :func:`reset_peak` (or since it
    started), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def children_peak_mib() -> float:
    """The peak resident memory of the largest child process this one has waited for
    (``verify``'s second process), in MiB; 0 if none."""
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def measured(figure: Figure) -> Figure:
    """``figure`` with the peak resident memory since the last :func:`reset_peak`."""
    return attrs.evolve(figure, peak_mib=peak_rss_mib())


def _child(
    case: Callable[..., list[Figure]], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[list[Figure], float]:
    figures = case(*args, out=lambda line: None, **kwargs)
    return figures, peak_rss_mib()


def isolated(
    out: Out, case: Callable[..., list[Figure]], *args: Any, **kwargs: Any
) -> list[Figure]:
    """Run ``case(*args, out=..., **kwargs)`` in a fresh process (spawned, so nothing of
    this one is inherited), print its figures here with the child's peak memory, and
    return them."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        figures, peak = pool.submit(_child, case, args, kwargs).result()
    figures = [f if f.peak_mib is not None else attrs.evolve(f, peak_mib=peak) for f in figures]
    for f in figures:
        printed(out, attrs.evolve(f, note=f"{f.note}, peak {f.peak_mib:,.0f} MiB"))
    return figures
