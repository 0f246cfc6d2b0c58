"""A throwaway PostgreSQL cluster, for the tests and the scaling benchmark: ``initdb``
into a temporary directory, started on a Unix socket in it (no TCP port), stopped and
removed at the end.

The server binaries come from the distribution's packages (``.ci/run`` installs
``postgresql`` when they are missing). As root (CI's containers), the cluster is run as
the ``postgres`` user, since PostgreSQL refuses to run as root. The tests run it with
``fsync=off`` (it is thrown away, and what they test on it is correctness under
concurrency, not durability); the benchmark with ``fsync=on``, as a server would run.

``SATANG_REQUIRE_POSTGRES=1`` (set by ``.ci/run``) makes a missing server a failure of
the tests; without it the PostgreSQL tests are skipped, with the reason in pytest's
summary.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

REQUIRED = os.environ.get("SATANG_REQUIRE_POSTGRES") == "1"
PORT = 5439
"""The socket's port number (the socket is in the cluster's own directory)."""


def binaries() -> Path | None:
    """The directory holding initdb and pg_ctl, or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_owner(argv: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *argv]
    return argv


@contextmanager
def cluster(*, fsync: bool = False, port: int = PORT) -> Iterator[str]:
    """Start a cluster; yield the DSN of its ``postgres`` database."""
    bin_dir = binaries()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server binaries (apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="satang-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    log = root / "server.log"
    subprocess.run(
        _as_owner(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
             "-E", "UTF8", "--locale=C.UTF-8"]
        ),
        check=True,
        capture_output=True,
    )  # fmt: skip
    options = (
        f"-k {root} -p {port} -c listen_addresses='' -c fsync={'on' if fsync else 'off'}"
        " -c max_connections=100 -c shared_buffers=128MB"
    )
    subprocess.run(
        _as_owner(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w",
             "start"]
        ),
        check=True,
        capture_output=True,
    )  # fmt: skip
    try:
        yield f"postgresql://postgres@/postgres?host={quote(str(root))}&port={port}"
    finally:
        subprocess.run(
            _as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


_serial = iter(range(1, 10**9))


def fresh_schema(dsn: str) -> str:
    """A new, empty schema in the cluster of ``dsn``; the DSN whose ``search_path`` is
    it (one ledger each)."""
    import psycopg

    name = f"t{os.getpid()}_{next(_serial)}_{time.monotonic_ns() % 10**6}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    joiner = "&" if "?" in dsn else "?"
    return f"{dsn}{joiner}options={quote(f'-csearch_path={name}')}"
