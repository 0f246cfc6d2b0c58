"""The event decoder under a coverage-guided fuzzer, for a bounded time: only its typed
error (``StoreCorrupt``) may come out, and what decodes round-trips.

The seed corpus is every distinct row of the frozen ledgers (tests/frozen: every event
type, real payloads), plus a few rows near the decoder's limits that real ones
never reach: a payload nested almost as deep as Python's recursion limit, in an unknown
field and under an older schema (the untyped path of the upcasters), very long text,
ints past 64 bits, in both encodings. A dictionary of the events' field names, JSON's
and MessagePack's tokens helps the mutations. The fuzzer (tests/faults/fuzz_decoder.py)
runs in a subprocess for ``scale(10, 3600)`` seconds; atheris exits non-zero and writes a
``crash-*`` file on any other exception (or a failed round trip), and the test then prints
that input.
"""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import msgspec

from ledger.events import COMPACT_SCHEMA, EVENT_TYPES
from tests.faults.fuzz_decoder import decode_input, encode_input, event_names
from tests.faults.suite import record, scale

ROOT = Path(__file__).parent.parent.parent
FROZEN = sorted((ROOT / "tests" / "frozen").glob("*.db"))
SECONDS = scale(10, 3_600)
MIN_EXECUTIONS = 1_000
"""Proof the fuzzer ran at all (it runs tens of thousands of inputs a second), not a speed."""


def _frozen_rows() -> list[tuple[str, int, bytes]]:
    rows: set[tuple[str, int, bytes]] = set()
    for frozen in FROZEN:
        raw = sqlite3.connect(f"file:{frozen}?mode=ro&immutable=1", uri=True)
        try:
            found = raw.execute("SELECT DISTINCT type, schema, payload FROM events").fetchall()
        finally:
            raw.close()
        rows.update((type_, schema, bytes(payload)) for type_, schema, payload in found)
    return sorted(rows)


def _edge_seeds(names: list[str], rows: list[tuple[str, int, bytes]]) -> list[bytes]:
    """Inputs near the limits: deep nesting (just under the recursion limit), long text,
    huge ints, in real payloads of a few types, in both encodings (the JSON of schema 1,
    the MessagePack arrays of the compact schema)."""
    depth = sys.getrecursionlimit() - 100
    nested = b"[" * depth + b"]" * depth
    packed = b"\x91" * depth + b"\x90"  # as deep in MessagePack
    seeds = []
    for type_, schema, payload in rows[:: max(1, len(rows) // 16)]:
        own = 128 + schema
        if schema < COMPACT_SCHEMA:
            body = payload.rstrip(b"}")
            seeds += [
                encode_input(names, type_, body + b',"zz":' + nested + b"}", own),
                encode_input(names, type_, nested, schema_byte=128),  # schema 0: untyped decode
                encode_input(names, type_, body + b',"zz":"' + b"x" * 4_000 + b'"}', own),
                encode_input(
                    names, type_, re.sub(rb":\d+", b":18446744073709551616", payload), own
                ),
            ]
        else:
            head, rest = payload[:1], payload[1:]
            seeds += [
                encode_input(names, type_, head + rest + packed, own),  # one more, deep, field
                encode_input(names, type_, packed, own),
                encode_input(names, type_, payload + msgspec.msgpack.encode("x" * 4_000), own),
                encode_input(names, type_, payload.replace(b"\xcd", b"\xcf\xff\xff\xff"), own),
            ]
    return seeds


def _dictionary(path: Path) -> None:
    """libFuzzer's -dict file: each event's tag and field names, JSON's tokens."""
    words = {"true", "false", "null", "[]", "{}", '"type":', "2026-12-01T03:00:00Z", "\\u0000"}
    words |= {"9223372036854775807", "18446744073709551616", "-1", "\\ud800"}
    for tag, cls in EVENT_TYPES.items():
        words.add(f'"{tag}"')
        words |= {f'"{field}":' for field in cls.__struct_fields__}
    escaped = [w.replace("\\", "\\\\").replace('"', '\\"') for w in sorted(words)]
    # MessagePack's tokens, in libFuzzer's \xNN escapes: arrays, nil, the widest ints
    packed = ["\\x90", "\\x91", "\\xdc\\x00\\x10", "\\xc0", "\\xc3", "\\xcf" + "\\xff" * 8]
    packed += ["\\xd3\\x80" + "\\x00" * 7, "\\xd9\\xff"]
    path.write_text("".join(f'"{w}"\n' for w in [*escaped, *packed]), encoding="ascii")


def _crash_report(names: list[str], artifacts: Path, output: str) -> str:
    """The Python exception atheris caught, and each input it wrote, as a decode call."""
    _, marker, uncaught = output.partition("=== Uncaught Python exception: ===")
    lines = [marker + uncaught.partition("\nINFO:")[0] if marker else output[-3_000:]]
    for crash in sorted(artifacts.glob("crash-*")) + sorted(artifacts.glob("timeout-*")):
        type_, schema, payload = decode_input(names, crash.read_bytes())
        if schema is None:
            schema = EVENT_TYPES[type_].SCHEMA if type_ in EVENT_TYPES else 1
        shown = repr(payload[:300]) + ("..." if len(payload) > 300 else "")
        lines.append(
            f"{crash.name}: decode_event({type_!r}, {schema}, {shown}) ({len(payload)} bytes)"
            f"\nreplay: python -m tests.faults.fuzz_decoder {crash}"
        )
    return "\n".join(lines)


def test_the_decoder_refuses_any_bytes_with_store_corrupt_only(tmp_path: Path) -> None:
    names = event_names()
    rows = _frozen_rows()
    assert {type_ for type_, _, _ in rows} == set(EVENT_TYPES), "a type has no real seed"
    corpus, artifacts = tmp_path / "corpus", tmp_path / "artifacts"
    corpus.mkdir()
    artifacts.mkdir()
    assert {s for _, s, _ in rows} == {1, COMPACT_SCHEMA}, "a seed of each encoding"
    seeds = [encode_input(names, t, p, 128 + s) for t, s, p in rows] + _edge_seeds(names, rows)
    for n, seed in enumerate(seeds):
        (corpus / f"seed-{n:04d}").write_bytes(seed)
    _dictionary(tmp_path / "events.dict")

    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.faults.fuzz_decoder",
            str(corpus),
            f"-max_total_time={SECONDS}",
            "-max_len=8192",
            "-keep_seed=1",
            "-timeout=10",
            "-rss_limit_mb=2048",
            f"-dict={tmp_path / 'events.dict'}",
            "-print_final_stats=1",
            f"-artifact_prefix={artifacts}/",
            f"-seed={os.environ.get('SATANG_FAULT_SEED', '9')}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SECONDS + 300,
    )
    seconds = time.perf_counter() - started
    assert done.returncode == 0, _crash_report(names, artifacts, done.stdout + done.stderr)

    executed = re.search(r"stat::number_of_executed_units:\s*(\d+)", done.stderr)
    final = re.search(r"#(\d+)\s+DONE\s+cov: (\d+)", done.stderr)
    assert executed and final, f"no final stats from libFuzzer:\n{done.stderr[-2_000:]}"
    executions, coverage = int(executed.group(1)), int(final.group(2))
    record(
        "fuzz_decoder",
        rounds=executions,
        lost=None,
        seconds=round(seconds, 1),
        seeds=len(seeds),
        corpus=len(list(corpus.iterdir())),
        coverage=coverage,
    )
    assert executions >= MIN_EXECUTIONS, f"only {executions} inputs in {seconds:.0f} s"
