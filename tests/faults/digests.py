"""The determinism check the fault tests share: a ledger's read models, rebuilt from seq
1 into a fresh database, have one canonical SHA-256 in this process, in processes with
other hash seeds and time zones, and equal to the read models folded incrementally in
the ledger's own file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ledger import Ledger
from projections.runner import Runner

ELSEWHERE = (("0", "UTC"), ("12345", "America/New_York"), ("987", "Asia/Tokyo"))
"""(PYTHONHASHSEED, TZ) of the other processes."""
DIGEST = (
    "from ledger import Ledger; from projections.runner import Runner; import sys\n"
    "with Ledger.open(sys.argv[1], create=False) as book, Runner(book, ':memory:') as r:\n"
    "    r.catch_up(); print(r.digest())\n"
)


def digest_in(path: Path | str, env: dict[str, str]) -> str:
    """The rebuilt read models' digest, computed in a new process with ``env`` added."""
    done = subprocess.run(
        [sys.executable, "-c", DIGEST, str(path)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def assert_one_digest(path: Path | str, reads: Path | None = None) -> str:
    """Assert the incremental digest of the read models of ``path`` (in its own file, or
    in ``reads``) and every rebuilt one agree; return it."""
    with Ledger.open(path, create=False) as book:
        with Runner(book, reads) as incremental:  # folded page by page
            incremental.catch_up()
            folded = incremental.digest()
        with Runner(book, ":memory:") as rebuilt:
            rebuilt.catch_up()
            here = rebuilt.digest()
    assert here == folded and len(here) == 64, (here, folded)
    elsewhere = {digest_in(path, {"PYTHONHASHSEED": s, "TZ": z}) for s, z in ELSEWHERE}
    assert elsewhere == {here}, elsewhere
    return here
